//! Lowering of each float operator to integer operators, with its scales.
//!
//! Conventions: `(t, s)` is an integer tensor `t` holding `round(value · 2^s)`. Every rescale
//! rounds to nearest (ties up) and shifts by at most 12 bits; when a shift would be larger, the
//! constant's precision is lowered instead. A ReLU that directly follows a dense layer, a
//! convolution, an affine or an add/sub/mul (and is the only reader of its output) is fused into
//! that operator's rescale unit.

use std::collections::HashMap;

use zkinfer_circuits::arith::MAX_SHIFT;
use zkinfer_circuits::builder::NetworkBuilder;
use zkinfer_circuits::ops::GatherOp;
use zkinfer_circuits::{LinearOp, Network, Op, ProductOp, TensorId, UnitKind, UnitMode, UnitOp};

use super::{quantize_value, scale_for, QuantizeOptions};
use crate::error::QuantizeError;
use crate::graph::{BinaryOp, FloatNode, FloatOp, Graph, LinearGeometry};

/// The result of lowering.
pub struct Lowered {
    pub network: Network,
    pub input_scale: i32,
    pub output_scale: i32,
    pub scales: Vec<(String, i32)>,
    pub warnings: Vec<String>,
}

/// Lowers `graph` given the magnitude of every tensor.
pub fn lower(
    graph: &Graph,
    ranges: &[f64],
    options: QuantizeOptions,
) -> Result<Lowered, QuantizeError> {
    let input = graph.input();
    let (builder, x) = NetworkBuilder::new(&input.name, input.shape.clone());
    let mut lowering = Lowering {
        graph,
        ranges,
        options,
        b: builder,
        map: vec![None; graph.tensors.len()],
        fused: vec![false; graph.nodes.len()],
        absorbed: vec![false; graph.nodes.len()],
        readers: vec![Vec::new(); graph.tensors.len()],
        warnings: Vec::new(),
    };
    let input_scale = lowering.act_scale(ranges[0]);
    lowering.map[0] = Some((x, input_scale));
    lowering.plan_relu_fusion();
    for (i, node) in graph.nodes.iter().enumerate() {
        lowering.node(i, node)?;
    }
    let (mut output, output_scale) =
        lowering.map[graph.output].ok_or_else(|| QuantizeError::Range {
            layer: graph.output().name.clone(),
            problem: "the output is never computed".into(),
        })?;
    // Public outputs must be cells; an output that only rearranges input values goes through an
    // identity unit.
    let partial = lowering.b.clone().finish(output);
    let len = graph.output().len();
    if (0..len).any(|i| partial.is_input_copy(output, i)) {
        let name = format!("{}/copy", graph.output().name);
        output = lowering.push_unit(
            &name,
            UnitOp::elementwise(len, rescale_kind(0, false)),
            vec![output],
            graph.output().shape.clone(),
        );
    }
    let scales = graph
        .tensors
        .iter()
        .zip(&lowering.map)
        .filter_map(|(t, m)| m.map(|(_, s)| (t.name.clone(), s)))
        .collect();
    for ((tensor, &range), mapped) in graph.tensors.iter().zip(ranges).zip(&lowering.map) {
        if range == 0.0 && mapped.is_some() {
            lowering.warnings.push(format!(
                "tensor '{}' is always 0 on the calibration data; its scale is arbitrary",
                tensor.name
            ));
        }
    }
    Ok(Lowered {
        network: lowering.b.finish(output),
        input_scale,
        output_scale,
        scales,
        warnings: lowering.warnings,
    })
}

/// Lowering state.
pub(super) struct Lowering<'a> {
    pub graph: &'a Graph,
    pub ranges: &'a [f64],
    pub options: QuantizeOptions,
    pub b: NetworkBuilder,
    /// Per float tensor: its integer tensor and scale.
    pub map: Vec<Option<(TensorId, i32)>>,
    /// Per float node: a ReLU is fused into its rescale.
    fused: Vec<bool>,
    /// Per float node: a ReLU absorbed by its producer.
    absorbed: Vec<bool>,
    /// Per float tensor: the nodes reading it.
    readers: Vec<Vec<usize>>,
    /// Precision the quantiser had to give up, tensor by tensor.
    pub warnings: Vec<String>,
}

/// A rescale by `shift` with an optional ReLU.
pub(super) fn rescale_kind(shift: u32, relu: bool) -> UnitKind {
    UnitKind::rescale(shift, relu)
}

impl Lowering<'_> {
    /// The activation scale for a tensor of magnitude `range`.
    pub fn act_scale(&self, range: f64) -> i32 {
        scale_for(range, self.options.activation_bits)
    }

    /// The weight scale for constants of magnitude `range`.
    pub fn weight_scale(&self, range: f64) -> i32 {
        scale_for(range, self.options.weight_bits)
    }

    pub fn error(&self, node: &FloatNode, problem: impl Into<String>) -> QuantizeError {
        QuantizeError::Range {
            layer: node.name.clone(),
            problem: problem.into(),
        }
    }

    /// The integer form of float tensor `id`.
    pub fn input(&self, node: &FloatNode, i: usize) -> Result<(TensorId, i32), QuantizeError> {
        self.map[node.inputs[i]]
            .ok_or_else(|| self.error(node, format!("input {i} was not lowered")))
    }

    pub fn shape_of(&self, node: &FloatNode) -> Vec<usize> {
        self.graph.tensors[node.output].shape.clone()
    }

    pub fn push_unit(
        &mut self,
        name: &str,
        op: UnitOp,
        inputs: Vec<TensorId>,
        shape: Vec<usize>,
    ) -> TensorId {
        self.b.push(name, Op::Unit(op), inputs, shape)
    }

    /// Marks ReLUs whose producer can absorb them.
    fn plan_relu_fusion(&mut self) {
        let mut readers = vec![0usize; self.graph.tensors.len()];
        for (n, node) in self.graph.nodes.iter().enumerate() {
            for &i in &node.inputs {
                readers[i] += 1;
                self.readers[i].push(n);
            }
        }
        readers[self.graph.output] += 1;
        let producer: HashMap<usize, usize> = self
            .graph
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.output, i))
            .collect();
        for (i, node) in self.graph.nodes.iter().enumerate() {
            if node.op != FloatOp::Relu || readers[node.inputs[0]] != 1 {
                continue;
            }
            if let Some(&p) = producer.get(&node.inputs[0]) {
                let fusable = matches!(
                    self.graph.nodes[p].op,
                    FloatOp::Linear { .. } | FloatOp::Affine { .. } | FloatOp::Binary { .. }
                );
                if fusable {
                    self.fused[p] = true;
                    self.absorbed[i] = true;
                }
            }
        }
    }

    fn node(&mut self, index: usize, node: &FloatNode) -> Result<(), QuantizeError> {
        if self.absorbed[index] {
            self.map[node.output] = self.map[node.inputs[0]];
            return Ok(());
        }
        let relu = self.fused[index];
        let range = self.ranges[node.output];
        let out = match &node.op {
            FloatOp::Linear {
                weights,
                bias,
                channels,
                geometry,
                ..
            } => self.linear(node, weights, bias, *channels, geometry, relu)?,
            FloatOp::Relu => {
                let (x, s) = self.input(node, 0)?;
                let len = self.graph.tensors[node.output].len();
                let y = self.push_unit(
                    &node.name,
                    UnitOp::elementwise(len, rescale_kind(0, true)),
                    vec![x],
                    self.shape_of(node),
                );
                (y, s)
            }
            FloatOp::Clip { lo, hi } => self.clip(node, f64::from(*lo), f64::from(*hi))?,
            FloatOp::LeakyRelu { alpha } => self.leaky_relu(node, f64::from(*alpha))?,
            FloatOp::Binary { op, a, b } => self.binary(node, *op, a, b, range, relu)?,
            FloatOp::Affine { scale, offset } => self.affine(node, scale, offset, range, relu)?,
            FloatOp::MaxPool(conv) => {
                let (x, s) = self.input(node, 0)?;
                let (oh, ow) = conv.output();
                let gather = conv.gather();
                let taps = conv.taps();
                let groups: Vec<Vec<u32>> = (0..conv.in_channels * oh * ow)
                    .map(|o| {
                        gather[o * taps..(o + 1) * taps]
                            .iter()
                            .flatten()
                            .copied()
                            .collect()
                    })
                    .collect();
                let y = self.max_tree(&node.name, x, groups, self.shape_of(node))?;
                (y, s)
            }
            FloatOp::MatMul { terms, scale, a, b } => {
                self.matmul(node, *terms, f64::from(*scale), a, b, range, relu)?
            }
            FloatOp::Softmax { row } => self.softmax(node, *row, range)?,
            FloatOp::LayerNorm {
                gamma,
                beta,
                epsilon,
            } => self.layer_norm(node, gamma, beta, f64::from(*epsilon), range)?,
            FloatOp::Function(t) => self.function(node, *t, range)?,
            FloatOp::Gather { sources } => self.gather(node, sources)?,
        };
        self.map[node.output] = Some(out);
        Ok(())
    }

    /// Records that `what` of `node` keep `lost` fewer bits than asked, when it matters.
    fn note_lost_bits(&mut self, node: &FloatNode, what: &str, lost: i32) {
        let kept = self.options.weight_bits as i32 - lost;
        if kept < 8 {
            self.warnings.push(format!(
                "node '{}': {what} keep only {kept} bits of precision, because their scale and the \
                 input and output scales differ by more than one 12-bit rescale can absorb",
                node.name
            ));
        }
    }

    /// The shift from `product_scale` to the activation scale of `range` (never finer than the
    /// product, never more than 12 bits): `(shift, output scale)`.
    pub fn shift_to(&self, product_scale: i32, range: f64) -> (u32, i32) {
        let s_y = self
            .act_scale(range)
            .min(product_scale)
            .max(product_scale - MAX_SHIFT as i32);
        ((product_scale - s_y) as u32, s_y)
    }

    fn linear(
        &mut self,
        node: &FloatNode,
        weights: &[f32],
        bias: &[f32],
        channels: usize,
        geometry: &LinearGeometry,
        relu: bool,
    ) -> Result<(TensorId, i32), QuantizeError> {
        let (x, s_x) = self.input(node, 0)?;
        let range = self.ranges[node.output];
        let structural = matches!(
            node.op,
            FloatOp::Linear {
                structural: true,
                ..
            }
        );
        if let Some(m) = self.exact_sum(node, weights, bias, relu) {
            // A plain sum feeding only linear layers needs no rescale: its integer value is the
            // sum itself, at scale s_x + m.
            let op = linear_op(
                vec![1; weights.len()],
                vec![0; channels],
                channels,
                geometry,
                structural,
            );
            let acc = self.b.push(
                &format!("{}/sum", node.name),
                Op::Linear(op),
                vec![x],
                self.shape_of(node),
            );
            return Ok((acc, s_x + m));
        }
        let max_w = weights
            .iter()
            .fold(0.0f64, |m, w| m.max(f64::from(w.abs())));
        let mut s_w = self.weight_scale(max_w);
        let s_target = self.act_scale(range);
        if s_x + s_w - s_target > MAX_SHIFT as i32 {
            let lost = s_x + s_w - s_target - MAX_SHIFT as i32;
            s_w -= lost;
            self.note_lost_bits(node, "weights", lost);
        }
        let (shift, s_y) = self.shift_to(s_x + s_w, range);
        let product_scale = s_x + s_w;
        let w: Vec<i64> = weights
            .iter()
            .map(|&v| quantize_value(f64::from(v), s_w))
            .collect();
        let b: Vec<i64> = bias
            .iter()
            .map(|&v| quantize_value(f64::from(v), product_scale))
            .collect();
        if let Some(v) = bias
            .iter()
            .find(|v| f64::from(v.abs()) * 2f64.powi(product_scale) >= 2f64.powi(50))
        {
            return Err(self.error(
                node,
                format!("bias {v} is too large for the product scale 2^{product_scale}"),
            ));
        }
        let op = linear_op(w, b, channels, geometry, structural);
        let shape = self.shape_of(node);
        let len = op.len();
        let acc = self.b.push(
            &format!("{}/sum", node.name),
            Op::Linear(op),
            vec![x],
            shape.clone(),
        );
        let y = self.push_unit(
            &node.name,
            UnitOp::elementwise(len, rescale_kind(shift, relu)),
            vec![acc],
            shape,
        );
        Ok((y, s_y))
    }

    /// `m` if `node` averages with weights `2^−m` (or sums, `m = 0`), has no bias and only linear
    /// readers: then it can hand them its exact integer sum.
    fn exact_sum(
        &self,
        node: &FloatNode,
        weights: &[f32],
        bias: &[f32],
        relu: bool,
    ) -> Option<i32> {
        let w = weights.first().copied()?;
        let m = -f64::from(w).log2();
        let exact = w > 0.0
            && m >= 0.0
            && m.fract() == 0.0
            && weights.iter().all(|&v| v == w)
            && bias.iter().all(|&b| b == 0.0);
        let readers = &self.readers[node.output];
        let linear_readers = !readers.is_empty()
            && node.output != self.graph.output
            && readers
                .iter()
                .all(|&r| matches!(self.graph.nodes[r].op, FloatOp::Linear { .. }));
        (exact && linear_readers && !relu).then_some(m as i32)
    }

    #[allow(clippy::too_many_arguments)]
    fn matmul(
        &mut self,
        node: &FloatNode,
        terms: usize,
        scale: f64,
        a: &[u32],
        b: &[u32],
        range: f64,
        relu: bool,
    ) -> Result<(TensorId, i32), QuantizeError> {
        let ((x0, s0), (x1, s1)) = (self.input(node, 0)?, self.input(node, 1)?);
        let product = ProductOp {
            terms,
            a: a.to_vec(),
            b: b.to_vec(),
        };
        let shape = self.shape_of(node);
        let acc = self.b.push(
            &format!("{}/product", node.name),
            Op::Product(product),
            vec![x0, x1],
            shape.clone(),
        );
        // y = round(c·acc / 2^shift), with c the folded constant factor at m bits.
        let mut m = if scale == 1.0 {
            0
        } else {
            self.weight_scale(scale.abs())
        };
        if s0 + s1 + m - self.act_scale(range) > MAX_SHIFT as i32 {
            let lost = s0 + s1 + m - self.act_scale(range) - MAX_SHIFT as i32;
            m -= lost;
            self.note_lost_bits(node, "the constant factor", lost);
        }
        let (shift, s_y) = self.shift_to(s0 + s1 + m, range);
        let kind = UnitKind {
            ca: quantize_value(scale, m),
            ..rescale_kind(shift, relu)
        };
        let len = self.graph.tensors[node.output].len();
        let y = self.push_unit(&node.name, UnitOp::elementwise(len, kind), vec![acc], shape);
        Ok((y, s_y))
    }

    fn clip(
        &mut self,
        node: &FloatNode,
        lo: f64,
        hi: f64,
    ) -> Result<(TensorId, i32), QuantizeError> {
        let (mut x, s) = self.input(node, 0)?;
        let len = self.graph.tensors[node.output].len();
        let shape = self.shape_of(node);
        if lo.is_finite() {
            let lo_q = quantize_value(lo, s);
            let kind = UnitKind {
                c0: -lo_q,
                out_c: lo_q,
                ..rescale_kind(0, true)
            };
            x = self.push_unit(
                &format!("{}/min", node.name),
                UnitOp::elementwise(len, kind),
                vec![x],
                shape.clone(),
            );
        }
        if hi.is_finite() {
            let hi_q = quantize_value(hi, s);
            let kind = UnitKind {
                ca: -1,
                c0: hi_q,
                relu: -1,
                out_c: hi_q,
                ..rescale_kind(0, true)
            };
            x = self.push_unit(&node.name, UnitOp::elementwise(len, kind), vec![x], shape);
        }
        Ok((x, s))
    }

    fn leaky_relu(
        &mut self,
        node: &FloatNode,
        alpha: f64,
    ) -> Result<(TensorId, i32), QuantizeError> {
        const M: u32 = 12;
        let (x, s) = self.input(node, 0)?;
        let len = self.graph.tensors[node.output].len();
        let shape = self.shape_of(node);
        let positive = self.push_unit(
            &format!("{}/relu", node.name),
            UnitOp::elementwise(len, rescale_kind(0, true)),
            vec![x],
            shape.clone(),
        );
        // y = round((α·x + (1 − α)·relu(x)) · 2^12 / 2^12)
        let a = quantize_value(alpha, M as i32);
        let kind = UnitKind {
            ca: a,
            cb: (1 << M) - a,
            ..rescale_kind(M, false)
        };
        let op = UnitOp {
            a: (0..len as u32).collect(),
            b: (0..len as u32).collect(),
            kinds: vec![kind],
            kind_of: vec![],
            with_remainder: false,
        };
        Ok((self.push_unit(&node.name, op, vec![x, positive], shape), s))
    }

    fn binary(
        &mut self,
        node: &FloatNode,
        op: BinaryOp,
        a: &[u32],
        b: &[u32],
        range: f64,
        relu: bool,
    ) -> Result<(TensorId, i32), QuantizeError> {
        let ((x0, s0), (x1, s1)) = (self.input(node, 0)?, self.input(node, 1)?);
        let kind = match op {
            BinaryOp::Add | BinaryOp::Sub => {
                let common = s0.max(s1);
                let (shift, s_y) = self.shift_to(common, range);
                let sign = if op == BinaryOp::Add { 1 } else { -1 };
                let (ca, cb) = (1i64 << (common - s0), sign << (common - s1));
                (
                    UnitKind {
                        ca,
                        cb,
                        ..rescale_kind(shift, relu)
                    },
                    s_y,
                )
            }
            BinaryOp::Mul => {
                let (shift, s_y) = self.shift_to(s0 + s1, range);
                (
                    UnitKind {
                        ca: 0,
                        cab: 1,
                        ..rescale_kind(shift, relu)
                    },
                    s_y,
                )
            }
        };
        let unit = UnitOp {
            a: a.to_vec(),
            b: b.to_vec(),
            kinds: vec![kind.0],
            kind_of: vec![],
            with_remainder: false,
        };
        let y = self.push_unit(&node.name, unit, vec![x0, x1], self.shape_of(node));
        Ok((y, kind.1))
    }

    fn affine(
        &mut self,
        node: &FloatNode,
        scale: &[f32],
        offset: &[f32],
        range: f64,
        relu: bool,
    ) -> Result<(TensorId, i32), QuantizeError> {
        let (x, s_x) = self.input(node, 0)?;
        // A positive power-of-two factor with no offset only changes the scale: no unit.
        let first = scale.first().copied().unwrap_or(1.0);
        let power = f64::from(first).log2();
        if !relu
            && first > 0.0
            && power.fract() == 0.0
            && scale.iter().all(|&s| s == first)
            && offset.iter().all(|&o| o == 0.0)
        {
            return Ok((x, s_x - power as i32));
        }
        let max = scale.iter().fold(0.0f64, |m, v| m.max(f64::from(v.abs())));
        let mut m = self.weight_scale(max);
        if s_x + m - self.act_scale(range) > MAX_SHIFT as i32 {
            let lost = s_x + m - self.act_scale(range) - MAX_SHIFT as i32;
            m -= lost;
            self.note_lost_bits(node, "constants", lost);
        }
        let (shift, s_y) = self.shift_to(s_x + m, range);
        let per_element: Vec<(i64, i64)> = scale
            .iter()
            .zip(offset)
            .map(|(&c, &o)| {
                (
                    quantize_value(f64::from(c), m),
                    quantize_value(f64::from(o), s_x + m),
                )
            })
            .collect();
        let op = self.kinds_per_element(node, per_element.len(), |i| UnitKind {
            ca: per_element[i].0,
            c0: per_element[i].1,
            ..rescale_kind(shift, relu)
        })?;
        let unit = UnitOp {
            a: (0..per_element.len() as u32).collect(),
            ..op
        };
        Ok((
            self.push_unit(&node.name, unit, vec![x], self.shape_of(node)),
            s_y,
        ))
    }

    /// A unary unit op whose computation varies per element (kinds deduplicated).
    pub fn kinds_per_element(
        &self,
        node: &FloatNode,
        len: usize,
        kind: impl Fn(usize) -> UnitKind,
    ) -> Result<UnitOp, QuantizeError> {
        let mut kinds: Vec<UnitKind> = Vec::new();
        let mut index: HashMap<String, u16> = HashMap::new();
        let mut kind_of = Vec::with_capacity(len);
        for i in 0..len {
            let k = kind(i);
            let key = format!("{k:?}");
            let id = match index.get(&key) {
                Some(&id) => id,
                None => {
                    let id = u16::try_from(kinds.len())
                        .map_err(|_| self.error(node, "more than 65 536 distinct constants"))?;
                    kinds.push(k);
                    index.insert(key, id);
                    id
                }
            };
            kind_of.push(id);
        }
        if kinds.len() == 1 {
            kind_of.clear();
        }
        Ok(UnitOp {
            a: Vec::new(),
            b: Vec::new(),
            kinds,
            kind_of,
            with_remainder: false,
        })
    }

    /// Maxima of groups of elements of `x` by pairwise max units (ties and padding never win):
    /// one output per group, in group order.
    pub fn max_tree(
        &mut self,
        name: &str,
        x: TensorId,
        mut groups: Vec<Vec<u32>>,
        shape: Vec<usize>,
    ) -> Result<TensorId, QuantizeError> {
        let max = UnitKind {
            cb: -1,
            out_b: 1,
            ..rescale_kind(0, true)
        };
        let mut current = x;
        let mut round = 0;
        while groups.iter().any(|g| g.len() > 1) {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            let mut next_groups = Vec::with_capacity(groups.len());
            let mut carried: Vec<u32> = Vec::new();
            // Pair results first, then the carried leftovers, in one gathered tensor.
            let mut layout: Vec<Vec<(bool, u32)>> = Vec::with_capacity(groups.len());
            for g in &groups {
                let mut members = Vec::new();
                for pair in g.chunks(2) {
                    if let [p, q] = *pair {
                        members.push((true, a.len() as u32));
                        a.push(p);
                        b.push(q);
                    } else {
                        members.push((false, carried.len() as u32));
                        carried.push(pair[0]);
                    }
                }
                layout.push(members);
            }
            let pairs = a.len();
            let unit = UnitOp {
                a,
                b,
                kinds: vec![max],
                kind_of: vec![],
                with_remainder: false,
            };
            let maxima = self.push_unit(
                &format!("{name}/max{round}"),
                unit,
                vec![current, current],
                vec![pairs],
            );
            let mut sources = Vec::with_capacity(pairs + carried.len());
            sources.extend((0..pairs as u32).map(|i| (0u8, i)));
            sources.extend(carried.iter().map(|&i| (1u8, i)));
            let total = sources.len();
            let merged = self.b.push(
                &format!("{name}/level{round}"),
                Op::Gather(GatherOp { sources }),
                vec![maxima, current],
                vec![total],
            );
            for members in layout {
                next_groups.push(
                    members
                        .iter()
                        .map(|&(pair, i)| if pair { i } else { pairs as u32 + i })
                        .collect(),
                );
            }
            groups = next_groups;
            current = merged;
            round += 1;
        }
        let sources = groups
            .iter()
            .map(|g| {
                g.first()
                    .map(|&i| (0u8, i))
                    .ok_or_else(|| QuantizeError::Range {
                        layer: name.into(),
                        problem: "a window with no input".into(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self
            .b
            .push(name, Op::Gather(GatherOp { sources }), vec![current], shape))
    }

    fn gather(
        &mut self,
        node: &FloatNode,
        sources: &[(u8, u32)],
    ) -> Result<(TensorId, i32), QuantizeError> {
        let inputs: Vec<(TensorId, i32)> = (0..node.inputs.len())
            .map(|i| self.input(node, i))
            .collect::<Result<_, _>>()?;
        let common = inputs.iter().map(|&(_, s)| s).min().unwrap_or(0);
        let mut aligned = Vec::with_capacity(inputs.len());
        for (i, &(t, s)) in inputs.iter().enumerate() {
            if s == common {
                aligned.push(t);
            } else {
                let shift = (s - common) as u32;
                if shift > MAX_SHIFT {
                    return Err(self.error(node, "inputs differ in scale by more than 2^12"));
                }
                let len = self.graph.tensors[node.inputs[i]].len();
                let shape = self.graph.tensors[node.inputs[i]].shape.clone();
                aligned.push(self.push_unit(
                    &format!("{}/align{i}", node.name),
                    UnitOp::elementwise(len, rescale_kind(shift, false)),
                    vec![t],
                    shape,
                ));
            }
        }
        let y = self.b.push(
            &node.name,
            Op::Gather(GatherOp {
                sources: sources.to_vec(),
            }),
            aligned,
            self.shape_of(node),
        );
        Ok((y, common))
    }
}

/// A unit computation in divide mode.
pub(super) fn divide_kind(ca: i64, c0: i64) -> UnitKind {
    UnitKind {
        mode: UnitMode::Divide,
        ca,
        c0,
        ..rescale_kind(0, false)
    }
}

/// The integer linear operator of a float linear node with quantised weights and bias
/// (`structural` as the float node's).
fn linear_op(
    w: Vec<i64>,
    b: Vec<i64>,
    channels: usize,
    geometry: &LinearGeometry,
    structural: bool,
) -> LinearOp {
    let taps = w.len() / channels;
    match geometry {
        LinearGeometry::Rows { positions } => LinearOp {
            channels,
            taps,
            weights: w,
            bias: b,
            groups: 1,
            positions: *positions,
            gather: (0..positions * taps).map(|i| Some(i as u32)).collect(),
            channel_major: false,
            structural,
        },
        LinearGeometry::Conv(conv) => LinearOp {
            structural,
            ..conv.linear(channels, w, b)
        },
        LinearGeometry::Groups { gather } => LinearOp {
            channels,
            taps,
            weights: w,
            bias: b,
            groups: channels,
            positions: 1,
            gather: gather.iter().map(|&i| Some(i)).collect(),
            channel_major: true,
            structural,
        },
    }
}
