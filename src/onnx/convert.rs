//! Conversion of each supported ONNX operator into float graph operators.

use zkinfer_circuits::builder::Conv2d;

use super::shapes;
use super::{Constant, Importer, NodeRef, Value};
use crate::error::ImportError;
use crate::graph::{BinaryOp, FloatOp, Function, LinearGeometry, Tabulated, ValueId};

type Result<T> = std::result::Result<T, ImportError>;

impl Importer {
    /// Converts one node.
    pub(crate) fn node(&mut self, node: &NodeRef) -> Result<()> {
        if node.op == "Constant" {
            let attribute = node
                .attributes
                .first()
                .ok_or_else(|| node.error("has no value"))?;
            let out = node
                .outputs
                .first()
                .ok_or_else(|| node.error("has no output"))?;
            let value = Constant::from_attribute(attribute, out).map_err(|e| node.error(e))?;
            self.set_const(out, value);
            return Ok(());
        }
        let inputs: Vec<Option<Value>> = node
            .inputs
            .iter()
            .map(|name| {
                if name.is_empty() {
                    Ok(None)
                } else {
                    self.value(node, name).map(Some)
                }
            })
            .collect::<Result<_>>()?;
        if node.outputs.is_empty() {
            return Err(node.error("has no output"));
        }
        let first_act = inputs.iter().flatten().find_map(|v| match v {
            Value::Act(id) => Some(*id),
            Value::Const(_) => None,
        });
        let Some(x) = first_act else {
            return self.fold(node, &inputs);
        };
        match node.op.as_str() {
            "Identity" | "Dropout" => {
                self.alias(&node.outputs[0], x);
                Ok(())
            }
            "Flatten" => {
                let shape = self.shape(x).to_vec();
                let axis = normalise_axis(node.int("axis").unwrap_or(1), shape.len() + 1)
                    .map_err(|e| node.error(e))?;
                let (outer, inner) = shape.split_at(axis);
                self.reshape(
                    node,
                    x,
                    vec![outer.iter().product(), inner.iter().product()],
                )
            }
            "Reshape" => {
                let target = self
                    .constant(node, &node.inputs[1], "the target shape")?
                    .ints();
                let shape = shapes::reshape(self.shape(x), &target).map_err(|e| node.error(e))?;
                self.reshape(node, x, shape)
            }
            "Squeeze" | "Unsqueeze" => {
                let axes = self
                    .axes(node, 1)?
                    .ok_or_else(|| node.error("axes are required"))?;
                let shape = squeeze(self.shape(x), &axes, node.op == "Unsqueeze")
                    .map_err(|e| node.error(e))?;
                self.reshape(node, x, shape)
            }
            "Transpose" => {
                let rank = self.shape(x).len();
                let perm: Vec<usize> = node.ints("perm").map_or_else(
                    || (0..rank).rev().collect(),
                    |p| p.iter().map(|&v| v as usize).collect(),
                );
                let (shape, sources) =
                    shapes::transpose(self.shape(x), &perm).map_err(|e| node.error(e))?;
                let op = FloatOp::Gather {
                    sources: sources.into_iter().map(|s| (0, s)).collect(),
                };
                self.push(node, op, vec![x], shape);
                Ok(())
            }
            "Slice" => self.slice(node, x),
            "Concat" => self.concat(node, &inputs),
            "Gemm" => self.gemm(node, x, &inputs),
            "MatMul" => self.matmul(node, &inputs),
            "Conv" => self.conv(node, x, &inputs),
            "BatchNormalization" => self.batch_norm(node, x),
            "MaxPool" => {
                let conv = self.window(node, x, true)?;
                let shape = self.nchw_output(x, &conv);
                self.push(node, FloatOp::MaxPool(conv), vec![x], shape);
                Ok(())
            }
            "AveragePool" | "GlobalAveragePool" => {
                let conv = self.window(node, x, node.op == "AveragePool")?;
                let pads = conv.pads.iter().any(|&p| p > 0);
                if pads && node.int("count_include_pad").unwrap_or(0) == 0 {
                    return Err(
                        node.error("padding that is excluded from the average is not supported")
                    );
                }
                let area = (conv.kernel.0 * conv.kernel.1) as f32;
                let channels = conv.in_channels;
                let op = FloatOp::Linear {
                    weights: vec![1.0 / area; channels * conv.kernel.0 * conv.kernel.1],
                    bias: vec![0.0; channels],
                    channels,
                    geometry: LinearGeometry::Conv(conv),
                    structural: true,
                };
                let shape = self.nchw_output(x, &conv);
                self.push(node, op, vec![x], shape);
                Ok(())
            }
            "ReduceMean" | "ReduceSum" => {
                let axes = self
                    .axes(node, 1)?
                    .unwrap_or_else(|| (0..self.shape(x).len() as i64).collect());
                let keepdims = node.int("keepdims").unwrap_or(1) != 0;
                let (shape, groups) =
                    shapes::reduce(self.shape(x), &axes, keepdims).map_err(|e| node.error(e))?;
                let taps = groups.first().map_or(0, Vec::len);
                let weight = if node.op == "ReduceMean" {
                    1.0 / taps as f32
                } else {
                    1.0
                };
                let channels = groups.len();
                let op = FloatOp::Linear {
                    weights: vec![weight; channels * taps],
                    bias: vec![0.0; channels],
                    channels,
                    geometry: LinearGeometry::Groups {
                        gather: groups.concat(),
                    },
                    structural: true,
                };
                self.push(node, op, vec![x], shape);
                Ok(())
            }
            "Add" | "Sub" | "Mul" | "Div" => self.arithmetic(node, &inputs),
            "Pow" => {
                let exponent = self.constant(node, &node.inputs[1], "the exponent")?;
                if exponent.single() != Some(2.0) {
                    return Err(node.error("only the exponent 2 is supported"));
                }
                let len = self.tensor_len(x) as u32;
                let op = FloatOp::Binary {
                    op: BinaryOp::Mul,
                    a: (0..len).collect(),
                    b: (0..len).collect(),
                };
                let shape = self.shape(x).to_vec();
                self.push(node, op, vec![x, x], shape);
                Ok(())
            }
            "Sqrt" => Err(node
                .error("a square root is only supported inside the layer-normalisation pattern")),
            "Relu" => self.unary(node, x, FloatOp::Relu),
            "Sigmoid" => self.unary(
                node,
                x,
                FloatOp::Function(Tabulated::plain(Function::Sigmoid)),
            ),
            "Tanh" => self.unary(node, x, FloatOp::Function(Tabulated::plain(Function::Tanh))),
            "Erf" => self.unary(node, x, FloatOp::Function(Tabulated::plain(Function::Erf))),
            "Exp" => self.unary(node, x, FloatOp::Function(Tabulated::plain(Function::Exp))),
            "LeakyRelu" => self.unary(
                node,
                x,
                FloatOp::LeakyRelu {
                    alpha: node.float("alpha").unwrap_or(0.01),
                },
            ),
            "Clip" => {
                let bound = |i: usize, attr: &str, default: f32| -> Result<f32> {
                    match node.inputs.get(i).filter(|n| !n.is_empty()) {
                        Some(name) => self
                            .constant(node, name, "a clip bound")?
                            .single()
                            .map(|v| v as f32)
                            .ok_or_else(|| node.error("clip bounds must be scalars")),
                        None => Ok(node.float(attr).unwrap_or(default)),
                    }
                };
                let (lo, hi) = (
                    bound(1, "min", f32::NEG_INFINITY)?,
                    bound(2, "max", f32::INFINITY)?,
                );
                self.unary(node, x, FloatOp::Clip { lo, hi })
            }
            "Softmax" => {
                let shape = self.shape(x).to_vec();
                let axis = normalise_axis(node.int("axis").unwrap_or(-1), shape.len())
                    .map_err(|e| node.error(e))?;
                if axis + 1 != shape.len() {
                    return Err(node.error("only softmax over the last axis is supported"));
                }
                self.unary(node, x, FloatOp::Softmax { row: shape[axis] })
            }
            "LayerNormalization" => self.layer_norm(node, x),
            other => Err(node.error(format!("operator {other} is not supported"))),
        }
    }

    fn tensor_len(&self, id: ValueId) -> usize {
        self.shape(id).iter().product()
    }

    fn unary(&mut self, node: &NodeRef, x: ValueId, op: FloatOp) -> Result<()> {
        let shape = self.shape(x).to_vec();
        self.push(node, op, vec![x], shape);
        Ok(())
    }

    /// A reshape: the data does not move.
    fn reshape(&mut self, node: &NodeRef, x: ValueId, shape: Vec<usize>) -> Result<()> {
        let len = self.tensor_len(x) as u32;
        let op = FloatOp::Gather {
            sources: (0..len).map(|i| (0, i)).collect(),
        };
        self.push(node, op, vec![x], shape);
        Ok(())
    }

    /// Axes from an attribute (opset ≤ 12) or the input `index` (opset ≥ 13).
    fn axes(&self, node: &NodeRef, index: usize) -> Result<Option<Vec<i64>>> {
        if let Some(axes) = node.ints("axes") {
            return Ok(Some(axes));
        }
        match node.inputs.get(index).filter(|n| !n.is_empty()) {
            Some(name) => Ok(Some(self.constant(node, name, "the axes")?.ints())),
            None => Ok(None),
        }
    }

    /// Folds a node whose inputs are all constants.
    fn fold(&mut self, node: &NodeRef, inputs: &[Option<Value>]) -> Result<()> {
        let c = |i: usize| -> Result<&Constant> {
            match inputs.get(i) {
                Some(Some(Value::Const(c))) => Ok(c),
                _ => Err(node.error(format!("input {i} is missing"))),
            }
        };
        let e = |msg: String| node.error(msg);
        let out = match node.op.as_str() {
            "Identity" | "Dropout" => c(0)?.clone(),
            "Reshape" => Constant {
                shape: shapes::reshape(&c(0)?.shape, &c(1)?.ints()).map_err(e)?,
                values: c(0)?.values.clone(),
            },
            "Flatten" => {
                let s = &c(0)?.shape;
                let axis = normalise_axis(node.int("axis").unwrap_or(1), s.len() + 1).map_err(e)?;
                Constant {
                    shape: vec![s[..axis].iter().product(), s[axis..].iter().product()],
                    values: c(0)?.values.clone(),
                }
            }
            "Squeeze" | "Unsqueeze" => {
                let axes = self
                    .axes(node, 1)?
                    .ok_or_else(|| node.error("axes are required"))?;
                Constant {
                    shape: squeeze(&c(0)?.shape, &axes, node.op == "Unsqueeze").map_err(e)?,
                    values: c(0)?.values.clone(),
                }
            }
            "Transpose" => {
                let s = &c(0)?.shape;
                let perm: Vec<usize> = node.ints("perm").map_or_else(
                    || (0..s.len()).rev().collect(),
                    |p| p.iter().map(|&v| v as usize).collect(),
                );
                let (shape, sources) = shapes::transpose(s, &perm).map_err(e)?;
                c(0)?.gather(shape, &sources)
            }
            "Add" => c(0)?.zip(c(1)?, |a, b| a + b).map_err(e)?,
            "Sub" => c(0)?.zip(c(1)?, |a, b| a - b).map_err(e)?,
            "Mul" => c(0)?.zip(c(1)?, |a, b| a * b).map_err(e)?,
            "Div" => c(0)?.zip(c(1)?, |a, b| a / b).map_err(e)?,
            "Pow" => c(0)?.zip(c(1)?, f64::powf).map_err(e)?,
            "Sqrt" => Constant {
                shape: c(0)?.shape.clone(),
                values: c(0)?.values.iter().map(|v| v.sqrt()).collect(),
            },
            _ => return Err(node.error("computes on constants only; fold it before export")),
        };
        if out.values.iter().any(|v| !v.is_finite()) {
            return Err(node.error("folding its constants gives a non-finite value"));
        }
        self.set_const(&node.outputs[0], out);
        Ok(())
    }

    fn slice(&mut self, node: &NodeRef, x: ValueId) -> Result<()> {
        let get = |i: usize| -> Result<Option<Vec<i64>>> {
            match node.inputs.get(i).filter(|n| !n.is_empty()) {
                Some(name) => Ok(Some(self.constant(node, name, "slice parameters")?.ints())),
                None => Ok(None),
            }
        };
        let (starts, ends) = (
            get(1)?.ok_or_else(|| node.error("starts are required"))?,
            get(2)?.ok_or_else(|| node.error("ends are required"))?,
        );
        let axes = get(3)?.unwrap_or_else(|| (0..starts.len() as i64).collect());
        let steps = get(4)?.unwrap_or_default();
        let (shape, sources) = shapes::slice(self.shape(x), &starts, &ends, &axes, &steps)
            .map_err(|e| node.error(e))?;
        let op = FloatOp::Gather {
            sources: sources.into_iter().map(|s| (0, s)).collect(),
        };
        self.push(node, op, vec![x], shape);
        Ok(())
    }

    fn concat(&mut self, node: &NodeRef, inputs: &[Option<Value>]) -> Result<()> {
        let ids: Vec<ValueId> = inputs
            .iter()
            .flatten()
            .map(|v| match v {
                Value::Act(id) => Ok(*id),
                Value::Const(_) => {
                    Err(node.error("concatenating constants with activations is not supported"))
                }
            })
            .collect::<Result<_>>()?;
        let input_shapes: Vec<Vec<usize>> = ids.iter().map(|&i| self.shape(i).to_vec()).collect();
        let axis = node
            .int("axis")
            .ok_or_else(|| node.error("axis is required"))?;
        let gathered = shapes::concat(&input_shapes, axis).map_err(|e| node.error(e))?;
        self.push(
            node,
            FloatOp::Gather {
                sources: gathered.sources,
            },
            ids,
            gathered.shape,
        );
        Ok(())
    }

    fn gemm(&mut self, node: &NodeRef, x: ValueId, inputs: &[Option<Value>]) -> Result<()> {
        if !matches!(inputs.first(), Some(Some(Value::Act(_)))) {
            return Err(node.error("expects the activation as its first operand (A)"));
        }
        let alpha = f64::from(node.float("alpha").unwrap_or(1.0));
        let beta = f64::from(node.float("beta").unwrap_or(1.0));
        let trans_a = node.int("transA").unwrap_or(0) != 0;
        let trans_b = node.int("transB").unwrap_or(0) != 0;
        let n = match (trans_a, self.shape(x)) {
            (false, [1, n]) | (true, [n, 1]) => *n,
            (_, other) => {
                return Err(node.error(format!(
                    "expects A of shape {}, got {other:?}",
                    if trans_a {
                        "[n, 1] (transA = 1)"
                    } else {
                        "[1, n]"
                    }
                )))
            }
        };
        let b = self.constant(node, &node.inputs[1], "B")?;
        let [rows, cols] = b.shape[..] else {
            return Err(node.error(format!("B must be a matrix, got shape {:?}", b.shape)));
        };
        let (k, m) = if trans_b { (cols, rows) } else { (rows, cols) };
        if k != n {
            return Err(node.error(format!(
                "B has shape {:?}, which does not take {n} inputs",
                b.shape
            )));
        }
        let weights = (0..m)
            .flat_map(|j| (0..n).map(move |i| (j, i)))
            .map(|(j, i)| {
                (alpha
                    * if trans_b {
                        b.values[j * cols + i]
                    } else {
                        b.values[i * cols + j]
                    }) as f32
            })
            .collect();
        let bias = match node.inputs.get(2).filter(|n| !n.is_empty()) {
            Some(name) => {
                let c = self.constant(node, name, "C")?;
                c.broadcast_to(&[1, m])
                    .map_err(|e| node.error(format!("C: {e}")))?
                    .iter()
                    .map(|&v| (beta * v) as f32)
                    .collect()
            }
            None => vec![0.0; m],
        };
        let op = FloatOp::Linear {
            weights,
            bias,
            channels: m,
            geometry: LinearGeometry::Rows { positions: 1 },
            structural: false,
        };
        self.push(node, op, vec![x], vec![1, m]);
        Ok(())
    }

    fn matmul(&mut self, node: &NodeRef, inputs: &[Option<Value>]) -> Result<()> {
        match (&inputs[0], &inputs[1]) {
            (Some(Value::Act(a)), Some(Value::Act(b))) => {
                let m =
                    shapes::matmul(self.shape(*a), self.shape(*b)).map_err(|e| node.error(e))?;
                let shape = m.shape;
                self.push(
                    node,
                    FloatOp::MatMul {
                        terms: m.terms,
                        scale: 1.0,
                        a: m.a,
                        b: m.b,
                    },
                    vec![*a, *b],
                    shape,
                );
                Ok(())
            }
            (Some(Value::Act(x)), Some(Value::Const(w))) => {
                let shape = self.shape(*x).to_vec();
                let [rows, cols] = w.shape[..] else {
                    return Err(node.error(format!(
                        "the constant operand must be a matrix, got shape {:?}",
                        w.shape
                    )));
                };
                let k = *shape.last().unwrap_or(&0);
                if k != rows {
                    return Err(node.error(format!(
                        "weight shape {:?} does not take {k} inputs",
                        w.shape
                    )));
                }
                let positions = shape.iter().product::<usize>() / k.max(1);
                let weights = (0..cols)
                    .flat_map(|j| (0..rows).map(move |i| (j, i)))
                    .map(|(j, i)| w.values[i * cols + j] as f32)
                    .collect();
                let mut out = shape.clone();
                *out.last_mut().unwrap_or(&mut 0) = cols;
                let op = FloatOp::Linear {
                    weights,
                    bias: vec![0.0; cols],
                    channels: cols,
                    geometry: LinearGeometry::Rows { positions },
                    structural: false,
                };
                self.push(node, op, vec![*x], out);
                Ok(())
            }
            _ => Err(node.error("a constant on the left of a MatMul is not supported")),
        }
    }

    fn conv(&mut self, node: &NodeRef, x: ValueId, inputs: &[Option<Value>]) -> Result<()> {
        if !matches!(inputs.first(), Some(Some(Value::Act(_)))) {
            return Err(node.error("expects the activation as its first input"));
        }
        let w = self.constant(node, &node.inputs[1], "the weight")?;
        let [out_channels, per_group, kh, kw] = w.shape[..] else {
            return Err(node.error(format!(
                "only 2-D convolutions are supported (weight shape {:?})",
                w.shape
            )));
        };
        let mut conv = self.window(node, x, false)?;
        conv.kernel = (kh, kw);
        conv.groups = node.int("group").unwrap_or(1) as usize;
        if conv.groups == 0
            || conv.in_channels != per_group * conv.groups
            || out_channels % conv.groups != 0
        {
            return Err(node.error("weight shape and group count do not match the input"));
        }
        self.check_window(node, &conv)?;
        let bias = match node.inputs.get(2).filter(|n| !n.is_empty()) {
            Some(name) => self.constant(node, name, "the bias")?.floats(),
            None => vec![0.0; out_channels],
        };
        if bias.len() != out_channels {
            return Err(node.error("the bias does not have one value per output channel"));
        }
        let op = FloatOp::Linear {
            weights: w.floats(),
            bias,
            channels: out_channels,
            geometry: LinearGeometry::Conv(conv),
            structural: false,
        };
        let (oh, ow) = conv.output();
        self.push(node, op, vec![x], vec![1, out_channels, oh, ow]);
        Ok(())
    }

    /// The window of a convolution or pooling node over an NCHW input (`kernel_shape` is read
    /// from the attributes when `kernel` is set; GlobalAveragePool covers the whole image).
    fn window(&self, node: &NodeRef, x: ValueId, kernel: bool) -> Result<Conv2d> {
        let [1, c, h, w] = self.shape(x)[..] else {
            return Err(node.error(format!(
                "expects an NCHW input with batch 1, got {:?}",
                self.shape(x)
            )));
        };
        if node
            .attr("auto_pad")
            .is_some_and(|a| !a.s.is_empty() && a.s != b"NOTSET")
        {
            return Err(node.error("auto_pad is not supported; export with explicit pads"));
        }
        if node.int("ceil_mode").unwrap_or(0) != 0 {
            return Err(node.error("ceil_mode = 1 is not supported"));
        }
        let pair = |name: &str, default: usize| -> Result<(usize, usize)> {
            match node.ints(name).as_deref() {
                None => Ok((default, default)),
                Some(&[a, b]) if a > 0 && b > 0 => Ok((a as usize, b as usize)),
                Some(other) => Err(node.error(format!("{name} {other:?} is not a positive pair"))),
            }
        };
        let kernel = if node.op == "GlobalAveragePool" {
            (h, w)
        } else if kernel {
            pair("kernel_shape", 0).and_then(|k| {
                if k.0 == 0 {
                    Err(node.error("kernel_shape is required"))
                } else {
                    Ok(k)
                }
            })?
        } else {
            (1, 1)
        };
        let pads = match node.ints("pads").as_deref() {
            None => [0; 4],
            Some(&[t, l, b, r]) if [t, l, b, r].iter().all(|&p| p >= 0) => {
                [t as usize, l as usize, b as usize, r as usize]
            }
            Some(other) => return Err(node.error(format!("pads {other:?} are not supported"))),
        };
        let conv = Conv2d {
            in_channels: c,
            input: (h, w),
            kernel,
            stride: pair("strides", 1)?,
            pads,
            dilation: pair("dilations", 1)?,
            groups: c,
        };
        if node.op != "Conv" {
            self.check_window(node, &conv)?;
        }
        Ok(conv)
    }

    fn check_window(&self, node: &NodeRef, conv: &Conv2d) -> Result<()> {
        let fits = |size: usize, pad: usize, k: usize, d: usize| size + pad > d * (k - 1);
        if !fits(
            conv.input.0,
            conv.pads[0] + conv.pads[2],
            conv.kernel.0,
            conv.dilation.0,
        ) || !fits(
            conv.input.1,
            conv.pads[1] + conv.pads[3],
            conv.kernel.1,
            conv.dilation.1,
        ) {
            return Err(node.error(format!(
                "kernel {:?} does not fit the input {:?}",
                conv.kernel, conv.input
            )));
        }
        Ok(())
    }

    fn nchw_output(&self, x: ValueId, conv: &Conv2d) -> Vec<usize> {
        let (oh, ow) = conv.output();
        vec![1, self.shape(x)[1], oh, ow]
    }

    fn batch_norm(&mut self, node: &NodeRef, x: ValueId) -> Result<()> {
        let get = |i: usize, what: &str| -> Result<Vec<f64>> {
            Ok(self
                .constant(
                    node,
                    node.inputs
                        .get(i)
                        .ok_or_else(|| node.error(format!("{what} is missing")))?,
                    what,
                )?
                .values)
        };
        let (gamma, beta, mean, var) = (
            get(1, "scale")?,
            get(2, "bias")?,
            get(3, "mean")?,
            get(4, "variance")?,
        );
        let eps = f64::from(node.float("epsilon").unwrap_or(1e-5));
        let shape = self.shape(x).to_vec();
        let channels = *shape
            .get(1)
            .ok_or_else(|| node.error("expects a channel axis"))?;
        if [&gamma, &beta, &mean, &var]
            .iter()
            .any(|v| v.len() != channels)
        {
            return Err(node.error("parameters do not have one value per channel"));
        }
        let scale: Vec<f64> = gamma
            .iter()
            .zip(&var)
            .map(|(g, v)| g / (v + eps).sqrt())
            .collect();
        let shift: Vec<f64> = beta
            .iter()
            .zip(&mean)
            .zip(&scale)
            .map(|((b, m), s)| b - m * s)
            .collect();
        // Fold into the producing convolution or dense layer when nothing else reads its output.
        if let Some(producer) = self.sole_producer(x) {
            if let FloatOp::Linear {
                weights,
                bias,
                channels: c,
                structural,
                ..
            } = &mut producer.op
            {
                if *c == channels {
                    // The normalisation's trained scale and shift are now part of the weights.
                    *structural = false;
                    let taps = weights.len() / channels;
                    for ch in 0..channels {
                        for w in &mut weights[ch * taps..(ch + 1) * taps] {
                            *w = (f64::from(*w) * scale[ch]) as f32;
                        }
                        bias[ch] = (f64::from(bias[ch]) * scale[ch] + shift[ch]) as f32;
                    }
                    self.alias(&node.outputs[0], x);
                    return Ok(());
                }
            }
        }
        let inner: usize = shape[2..].iter().product();
        let per_element = |v: &[f64]| -> Vec<f32> {
            v.iter()
                .flat_map(|&c| std::iter::repeat_n(c as f32, inner))
                .collect()
        };
        self.push(
            node,
            FloatOp::Affine {
                scale: per_element(&scale),
                offset: per_element(&shift),
            },
            vec![x],
            shape,
        );
        Ok(())
    }

    fn arithmetic(&mut self, node: &NodeRef, inputs: &[Option<Value>]) -> Result<()> {
        let (Some(lhs), Some(rhs)) = (&inputs[0], inputs.get(1).and_then(Option::as_ref)) else {
            return Err(node.error("expects two operands"));
        };
        match (lhs, rhs) {
            (Value::Act(a), Value::Act(b)) => {
                let op = match node.op.as_str() {
                    "Add" => BinaryOp::Add,
                    "Sub" => BinaryOp::Sub,
                    "Mul" => BinaryOp::Mul,
                    _ => return Err(node.error("dividing by an activation is only supported inside the layer-normalisation pattern")),
                };
                let map =
                    shapes::broadcast(self.shape(*a), self.shape(*b)).map_err(|e| node.error(e))?;
                self.push(
                    node,
                    FloatOp::Binary {
                        op,
                        a: map.a,
                        b: map.b,
                    },
                    vec![*a, *b],
                    map.shape,
                );
                Ok(())
            }
            (Value::Act(x), Value::Const(c)) | (Value::Const(c), Value::Act(x)) => {
                let x = *x;
                let const_first = matches!(lhs, Value::Const(_));
                let shape = self.shape(x).to_vec();
                let values = c.broadcast_to(&shape).map_err(|e| node.error(e))?;
                if node.op == "Add" && self.fold_bias(node, x, &values)? {
                    return Ok(());
                }
                let n = values.len();
                let (scale, offset): (Vec<f64>, Vec<f64>) = match (node.op.as_str(), const_first) {
                    ("Add", _) => (vec![1.0; n], values),
                    ("Sub", false) => (vec![1.0; n], values.iter().map(|v| -v).collect()),
                    ("Sub", true) => (vec![-1.0; n], values),
                    ("Mul", _) => (values, vec![0.0; n]),
                    ("Div", false) => (values.iter().map(|v| 1.0 / v).collect(), vec![0.0; n]),
                    _ => {
                        return Err(
                            node.error("dividing a constant by an activation is not supported")
                        )
                    }
                };
                if scale.iter().any(|v| !v.is_finite()) {
                    return Err(node.error("division by zero"));
                }
                let op = FloatOp::Affine {
                    scale: scale.iter().map(|&v| v as f32).collect(),
                    offset: offset.iter().map(|&v| v as f32).collect(),
                };
                self.push(node, op, vec![x], shape);
                Ok(())
            }
            (Value::Const(_), Value::Const(_)) => unreachable!("constant-only nodes are folded"),
        }
    }

    /// Adds a constant into the bias of the linear node producing `x`, if that node has no
    /// other reader and the constant (`values`, broadcast to `x`) is the same at every position.
    fn fold_bias(&mut self, node: &NodeRef, x: ValueId, values: &[f64]) -> Result<bool> {
        let Some(producer) = self.sole_producer(x) else {
            return Ok(false);
        };
        let FloatOp::Linear {
            bias,
            channels,
            geometry,
            structural,
            ..
        } = &mut producer.op
        else {
            return Ok(false);
        };
        let channels = *channels;
        let per_channel: Vec<f64> = match geometry {
            LinearGeometry::Rows { .. } => values[..channels].to_vec(),
            LinearGeometry::Conv(_) | LinearGeometry::Groups { .. } => {
                let positions = values.len() / channels;
                (0..channels).map(|c| values[c * positions]).collect()
            }
        };
        let uniform = values.iter().enumerate().all(|(i, &v)| {
            let c = match geometry {
                LinearGeometry::Rows { .. } => i % channels,
                _ => i / (values.len() / channels),
            };
            v == per_channel[c]
        });
        if !uniform {
            return Ok(false);
        }
        for (b, v) in bias.iter_mut().zip(per_channel) {
            *b = (f64::from(*b) + v) as f32;
        }
        // The added constant is a trained bias, now part of the operator's parameters.
        *structural = false;
        self.alias(&node.outputs[0], x);
        Ok(true)
    }

    fn layer_norm(&mut self, node: &NodeRef, x: ValueId) -> Result<()> {
        let shape = self.shape(x).to_vec();
        let axis = normalise_axis(node.int("axis").unwrap_or(-1), shape.len())
            .map_err(|e| node.error(e))?;
        if axis + 1 != shape.len() {
            return Err(node.error("only normalisation over the last axis is supported"));
        }
        let row = shape[axis];
        let param = |i: usize, default: f32| -> Result<Vec<f32>> {
            match node.inputs.get(i).filter(|n| !n.is_empty()) {
                Some(name) => {
                    let c = self.constant(node, name, "scale and bias")?;
                    c.broadcast_to(&[row])
                        .map(|v| v.iter().map(|&x| x as f32).collect())
                        .map_err(|e| node.error(e))
                }
                None => Ok(vec![default; row]),
            }
        };
        let op = FloatOp::LayerNorm {
            gamma: param(1, 1.0)?,
            beta: param(2, 0.0)?,
            epsilon: node.float("epsilon").unwrap_or(1e-5),
        };
        self.push(node, op, vec![x], shape);
        Ok(())
    }
}

/// Resolves a possibly negative axis for a tensor of `rank` dimensions.
fn normalise_axis(axis: i64, rank: usize) -> std::result::Result<usize, String> {
    let rank = rank as i64;
    let a = if axis < 0 { axis + rank } else { axis };
    if (0..rank).contains(&a) {
        Ok(a as usize)
    } else {
        Err(format!("axis {axis} is out of range for rank {rank}"))
    }
}

/// Shape after removing (or inserting) size-1 axes.
fn squeeze(shape: &[usize], axes: &[i64], insert: bool) -> std::result::Result<Vec<usize>, String> {
    if insert {
        let rank = shape.len() + axes.len();
        let mut axes: Vec<usize> = axes
            .iter()
            .map(|&a| normalise_axis(a, rank))
            .collect::<std::result::Result<_, _>>()?;
        axes.sort_unstable();
        let mut out = shape.to_vec();
        for a in axes {
            out.insert(a, 1);
        }
        Ok(out)
    } else {
        let axes: Vec<usize> = axes
            .iter()
            .map(|&a| normalise_axis(a, shape.len()))
            .collect::<std::result::Result<_, _>>()?;
        if axes.iter().any(|&a| shape[a] != 1) {
            return Err(format!("cannot squeeze axes {axes:?} of shape {shape:?}"));
        }
        Ok(shape
            .iter()
            .enumerate()
            .filter(|(i, _)| !axes.contains(i))
            .map(|(_, &d)| d)
            .collect())
    }
}
