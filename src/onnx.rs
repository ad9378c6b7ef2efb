//! ONNX import: protobuf → [`Graph`].
//!
//! zkinfer reads the ONNX protobuf itself (decoded by `tract-onnx`) rather than tract's optimised
//! graph, so that every error can name the ONNX node it is about. Supported operators:
//!
//! | operator | accepted form |
//! |---|---|
//! | `Gemm` | activation `A` (`[1, n]`, or `[n, 1]` with `transA`), constant `B`, optional constant `C`; any `alpha`, `beta`, `transB` |
//! | `MatMul` | activation `[1, n]` (or `[n]`) times a constant `[n, m]` |
//! | `Add` | activation plus a constant bias of `m` values, right after a `Gemm`/`MatMul` |
//! | `Relu` | after a `Gemm`/`MatMul` (and its bias) |
//! | `Flatten`, `Reshape`, `Identity` | reshape the activation (no cost) |
//! | `Constant` | constants for the operators above |
//!
//! Every node with another operator is listed in one [`ImportError::UnsupportedOps`] before any
//! other check runs.

use std::collections::HashMap;

use ndarray::{Array1, Array2};
use tract_onnx::pb::{self, tensor_shape_proto::dimension, type_proto};
use tract_onnx::prelude::Framework;

use crate::error::{ImportError, UnsupportedNode};
use crate::graph::{FloatLayer, Graph, TensorSpec};

/// Operators the importer understands.
pub const SUPPORTED_OPS: &[&str] = &[
    "Gemm", "MatMul", "Add", "Relu", "Flatten", "Reshape", "Identity", "Constant",
];

/// Imports an ONNX model from its bytes.
pub fn import_onnx(bytes: &[u8]) -> Result<Graph, ImportError> {
    let model = tract_onnx::onnx()
        .proto_model_for_read(&mut &bytes[..])
        .map_err(|e| ImportError::Parse(format!("{e:#}")))?;
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| ImportError::Parse("the file holds no graph".into()))?;
    check_supported(graph)?;
    Importer::new(graph)?.run()
}

/// Fails with every node whose operator is not supported.
fn check_supported(graph: &pb::GraphProto) -> Result<(), ImportError> {
    let unsupported: Vec<UnsupportedNode> = graph
        .node
        .iter()
        .enumerate()
        .filter(|(_, n)| {
            !(n.domain.is_empty() || n.domain == "ai.onnx")
                || !SUPPORTED_OPS.contains(&n.op_type.as_str())
        })
        .map(|(i, n)| UnsupportedNode {
            op: if n.domain.is_empty() || n.domain == "ai.onnx" {
                n.op_type.clone()
            } else {
                format!("{}:{}", n.domain, n.op_type)
            },
            node: node_name(n, i),
        })
        .collect();
    if unsupported.is_empty() {
        Ok(())
    } else {
        Err(ImportError::UnsupportedOps(unsupported))
    }
}

fn node_name(node: &pb::NodeProto, index: usize) -> String {
    if node.name.is_empty() {
        format!("#{index}")
    } else {
        node.name.clone()
    }
}

/// A constant tensor, as f64 values.
#[derive(Clone, Debug)]
struct Constant {
    shape: Vec<usize>,
    values: Vec<f64>,
}

impl Constant {
    fn len(&self) -> usize {
        self.values.len()
    }
}

/// One step of the activation chain before fusion into layers.
#[derive(Debug)]
enum Step {
    Linear {
        node: String,
        weights: Array2<f32>,
        bias: Option<Array1<f32>>,
    },
    AddBias {
        node: String,
        bias: Array1<f32>,
    },
    Relu {
        node: String,
    },
}

struct Importer<'a> {
    graph: &'a pb::GraphProto,
    constants: HashMap<String, Constant>,
    /// Name of the activation tensor the chain has reached, and its shape.
    current: String,
    shape: Vec<usize>,
    input: TensorSpec,
    steps: Vec<Step>,
}

impl<'a> Importer<'a> {
    fn new(graph: &'a pb::GraphProto) -> Result<Self, ImportError> {
        let mut constants = HashMap::new();
        for tensor in &graph.initializer {
            constants.insert(tensor.name.clone(), load_constant(tensor, &tensor.name)?);
        }
        let inputs: Vec<&pb::ValueInfoProto> = graph
            .input
            .iter()
            .filter(|i| !constants.contains_key(&i.name))
            .collect();
        let [input] = inputs.as_slice() else {
            return Err(ImportError::Graph(format!(
                "zkinfer supports models with exactly one input; this one has {} ({})",
                inputs.len(),
                inputs
                    .iter()
                    .map(|i| i.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        let shape = input_shape(input)?;
        Ok(Self {
            graph,
            constants,
            current: input.name.clone(),
            shape: shape.clone(),
            input: TensorSpec {
                name: input.name.clone(),
                shape,
            },
            steps: Vec::new(),
        })
    }

    fn run(mut self) -> Result<Graph, ImportError> {
        for (index, node) in self.graph.node.iter().enumerate() {
            self.node(node, &node_name(node, index))?;
        }
        let outputs: Vec<&str> = self.graph.output.iter().map(|o| o.name.as_str()).collect();
        if outputs != [self.current.as_str()] {
            return Err(ImportError::Graph(format!(
                "zkinfer supports one output, the end of the layer chain ('{}'); the graph outputs {}",
                self.current,
                outputs.join(", ")
            )));
        }
        let layers = fuse(self.steps)?;
        if layers.is_empty() {
            return Err(ImportError::Graph(
                "the model has no Gemm or MatMul layer to prove".into(),
            ));
        }
        let output = TensorSpec {
            name: self.current,
            shape: self.shape,
        };
        if output.len() != layers.last().map_or(0, FloatLayer::outputs) {
            return Err(ImportError::Graph(format!(
                "output '{}' has shape {:?}, which does not match the last layer",
                output.name, output.shape
            )));
        }
        Ok(Graph {
            input: self.input,
            output,
            layers,
        })
    }

    fn node(&mut self, node: &pb::NodeProto, name: &str) -> Result<(), ImportError> {
        let op = node.op_type.as_str();
        let unsupported = |problem: String| ImportError::Unsupported {
            node: name.to_string(),
            op: op.to_string(),
            problem,
        };
        if op == "Constant" {
            let output = node
                .output
                .first()
                .ok_or_else(|| unsupported("has no output".into()))?;
            let value = constant_node_value(node, name)?;
            self.constants.insert(output.clone(), value);
            return Ok(());
        }
        let inputs: Vec<&str> = node
            .input
            .iter()
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .collect();
        let [output] = node.output.as_slice() else {
            return Err(unsupported(format!(
                "has {} outputs, expected 1",
                node.output.len()
            )));
        };
        // Nodes computing on constants only (e.g. a shape computation) fold into constants.
        if inputs.iter().all(|i| self.constants.contains_key(*i)) {
            return match op {
                "Identity" => {
                    let c = self.constants[inputs[0]].clone();
                    self.constants.insert(output.clone(), c);
                    Ok(())
                }
                _ => Err(unsupported(
                    "computes on constants only; fold it before export".into(),
                )),
            };
        }
        let activations: Vec<&str> = inputs
            .iter()
            .copied()
            .filter(|i| !self.constants.contains_key(*i))
            .collect();
        if activations != [self.current.as_str()] {
            return Err(unsupported(format!(
                "reads {}; zkinfer supports a single chain of layers from the input to the output \
                 (this node would need '{}')",
                activations.join(", "),
                self.current
            )));
        }
        let operands = Operands {
            inputs: &inputs,
            constants: &self.constants,
            current: &self.current,
            shape: &self.shape,
        };
        let new_shape = match op {
            "Identity" => self.shape.clone(),
            "Relu" => {
                self.steps.push(Step::Relu { node: name.into() });
                self.shape.clone()
            }
            "Flatten" => {
                let axis = attr_int(node, "axis").unwrap_or(1);
                let rank = self.shape.len() as i64;
                let axis = if axis < 0 { axis + rank } else { axis };
                if !(0..=rank).contains(&axis) {
                    return Err(unsupported(format!(
                        "axis {axis} out of range for rank {rank}"
                    )));
                }
                let (outer, inner) = self.shape.split_at(axis as usize);
                vec![outer.iter().product(), inner.iter().product()]
            }
            "Reshape" => {
                let target = operands.constant(1).map_err(unsupported)?;
                reshape(&self.shape, &target.values).map_err(unsupported)?
            }
            "Gemm" | "MatMul" => {
                let (step, shape) = if op == "Gemm" {
                    operands.gemm(node, name)
                } else {
                    operands.matmul(name)
                }
                .map_err(unsupported)?;
                self.steps.push(step);
                shape
            }
            "Add" => {
                let bias = inputs
                    .iter()
                    .find_map(|i| self.constants.get(*i))
                    .ok_or_else(|| unsupported("expects a constant operand".into()))?;
                let width = *self.shape.last().unwrap_or(&1);
                let rows: usize = self.shape.iter().rev().skip(1).product();
                if rows != 1 || bias.len() != width {
                    return Err(unsupported(format!(
                        "adds a constant of shape {:?} to an activation of shape {:?}; only a bias \
                         of one value per output is supported",
                        bias.shape, self.shape
                    )));
                }
                self.steps.push(Step::AddBias {
                    node: name.into(),
                    bias: bias.values.iter().map(|&v| v as f32).collect(),
                });
                self.shape.clone()
            }
            other => return Err(unsupported(format!("operator {other} is not supported"))),
        };
        self.current = output.clone();
        self.shape = new_shape;
        Ok(())
    }
}

/// The operands of one node, for the operators that build layers.
struct Operands<'n> {
    inputs: &'n [&'n str],
    constants: &'n HashMap<String, Constant>,
    current: &'n str,
    shape: &'n [usize],
}

impl Operands<'_> {
    fn constant(&self, i: usize) -> Result<&Constant, String> {
        self.inputs
            .get(i)
            .and_then(|n| self.constants.get(*n))
            .ok_or_else(|| format!("operand {i} must be a constant"))
    }

    /// The activation as a row vector `[1, n]` (a rank-1 `[n]` is accepted too).
    fn row_vector(&self) -> Result<usize, String> {
        match self.shape {
            [n] | [1, n] => Ok(*n),
            other => Err(format!(
                "expects a row vector [1, n] as its activation input, got shape {other:?}; \
                 add a Flatten before it"
            )),
        }
    }

    fn gemm(&self, node: &pb::NodeProto, name: &str) -> Result<(Step, Vec<usize>), String> {
        if self.inputs.first() != Some(&self.current) {
            return Err("expects the activation as its first operand (A)".into());
        }
        let alpha = attr_float(node, "alpha").unwrap_or(1.0);
        let beta = attr_float(node, "beta").unwrap_or(1.0);
        let trans_a = attr_int(node, "transA").unwrap_or(0) != 0;
        let trans_b = attr_int(node, "transB").unwrap_or(0) != 0;
        let n = match (trans_a, self.shape) {
            (false, [1, n]) => *n,
            (true, [n, 1]) => *n,
            (_, other) => {
                return Err(format!(
                    "expects A of shape {} , got {other:?}",
                    if trans_a {
                        "[n, 1] (transA = 1)"
                    } else {
                        "[1, n]"
                    }
                ))
            }
        };
        let b = self.constant(1)?;
        let [rows, cols] = b.shape.as_slice() else {
            return Err(format!("B must be a matrix, got shape {:?}", b.shape));
        };
        let (k, m) = if trans_b {
            (*cols, *rows)
        } else {
            (*rows, *cols)
        };
        if k != n {
            return Err(format!(
                "B has shape {:?}, which does not take {n} inputs",
                b.shape
            ));
        }
        let weights = Array2::from_shape_fn((m, n), |(j, i)| {
            let v = if trans_b {
                b.values[j * cols + i]
            } else {
                b.values[i * cols + j]
            };
            (alpha * v) as f32
        });
        let bias = match self.inputs.get(2) {
            Some(_) => {
                let c = self.constant(2)?;
                Some(broadcast_bias(c, m)?.mapv(|v| (beta * f64::from(v)) as f32))
            }
            None => None,
        };
        let step = Step::Linear {
            node: name.to_string(),
            weights,
            bias,
        };
        Ok((step, vec![1, m]))
    }

    fn matmul(&self, name: &str) -> Result<(Step, Vec<usize>), String> {
        if self.inputs.first() != Some(&self.current) {
            return Err(
                "expects the activation as its first operand (x·W); a constant on the left is not supported"
                    .into(),
            );
        }
        let n = self.row_vector()?;
        let w = self.constant(1)?;
        let [rows, cols] = w.shape.as_slice() else {
            return Err(format!(
                "the weight must be a matrix, got shape {:?}",
                w.shape
            ));
        };
        if *rows != n {
            return Err(format!(
                "weight shape {:?} does not take {n} inputs",
                w.shape
            ));
        }
        let weights = Array2::from_shape_fn((*cols, n), |(j, i)| w.values[i * cols + j] as f32);
        let step = Step::Linear {
            node: name.to_string(),
            weights,
            bias: None,
        };
        let shape = if self.shape.len() == 1 {
            vec![*cols]
        } else {
            vec![1, *cols]
        };
        Ok((step, shape))
    }
}

/// A bias of `m` values from a constant of shape `[m]`, `[1, m]` or a scalar.
fn broadcast_bias(c: &Constant, m: usize) -> Result<Array1<f32>, String> {
    match c.len() {
        1 => Ok(Array1::from_elem(m, c.values[0] as f32)),
        len if len == m => Ok(c.values.iter().map(|&v| v as f32).collect()),
        _ => Err(format!("C has shape {:?}, expected {m} values", c.shape)),
    }
}

/// Applies ONNX Reshape semantics (`0` copies a dimension, `-1` is inferred).
fn reshape(shape: &[usize], target: &[f64]) -> Result<Vec<usize>, String> {
    let total: usize = shape.iter().product();
    let mut out = Vec::with_capacity(target.len());
    let mut infer = None;
    for (i, &d) in target.iter().enumerate() {
        match d as i64 {
            -1 if infer.is_none() => {
                infer = Some(i);
                out.push(1);
            }
            0 => out.push(*shape.get(i).ok_or("0 refers to a missing dimension")?),
            d if d > 0 => out.push(d as usize),
            d => return Err(format!("invalid target dimension {d}")),
        }
    }
    let known: usize = out.iter().product();
    if let Some(i) = infer {
        if known == 0 || total % known != 0 {
            return Err(format!("cannot reshape {shape:?} to {target:?}"));
        }
        out[i] = total / known;
    } else if known != total {
        return Err(format!(
            "cannot reshape {shape:?} ({total} values) to {out:?}"
        ));
    }
    Ok(out)
}

/// Turns the chain of steps into layers: `Linear [AddBias]* [Relu]*`.
fn fuse(steps: Vec<Step>) -> Result<Vec<FloatLayer>, ImportError> {
    let mut layers: Vec<FloatLayer> = Vec::new();
    let mut open = false; // whether the last layer may still take a bias
    for step in steps {
        match step {
            Step::Linear {
                node,
                weights,
                bias,
            } => {
                let outputs = weights.nrows();
                layers.push(FloatLayer {
                    name: node,
                    bias: bias.unwrap_or_else(|| Array1::zeros(outputs)),
                    weights,
                    relu: false,
                });
                open = true;
            }
            Step::AddBias { node, bias } => match layers.last_mut() {
                Some(layer) if open && bias.len() == layer.outputs() => {
                    layer.bias = &layer.bias + &bias
                }
                _ => {
                    return Err(ImportError::Unsupported {
                        node,
                        op: "Add".into(),
                        problem: "a bias is only supported directly after a Gemm or MatMul".into(),
                    })
                }
            },
            Step::Relu { node } => match layers.last_mut() {
                Some(layer) => {
                    layer.relu = true;
                    open = false;
                }
                None => {
                    return Err(ImportError::Unsupported {
                        node,
                        op: "Relu".into(),
                        problem: "a ReLU is only supported after a Gemm or MatMul".into(),
                    })
                }
            },
        }
    }
    Ok(layers)
}

fn attr<'n>(node: &'n pb::NodeProto, name: &str) -> Option<&'n pb::AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

fn attr_int(node: &pb::NodeProto, name: &str) -> Option<i64> {
    attr(node, name).map(|a| a.i)
}

fn attr_float(node: &pb::NodeProto, name: &str) -> Option<f64> {
    attr(node, name).map(|a| f64::from(a.f))
}

/// The value of a `Constant` node.
fn constant_node_value(node: &pb::NodeProto, name: &str) -> Result<Constant, ImportError> {
    let err = |problem: &str| ImportError::Unsupported {
        node: name.to_string(),
        op: "Constant".into(),
        problem: problem.into(),
    };
    let a = node.attribute.first().ok_or_else(|| err("has no value"))?;
    match a.name.as_str() {
        "value" => load_constant(a.t.as_ref().ok_or_else(|| err("empty tensor"))?, name),
        "value_float" => Ok(Constant {
            shape: vec![],
            values: vec![f64::from(a.f)],
        }),
        "value_floats" => Ok(Constant {
            shape: vec![a.floats.len()],
            values: a.floats.iter().map(|&v| f64::from(v)).collect(),
        }),
        "value_int" => Ok(Constant {
            shape: vec![],
            values: vec![a.i as f64],
        }),
        "value_ints" => Ok(Constant {
            shape: vec![a.ints.len()],
            values: a.ints.iter().map(|&v| v as f64).collect(),
        }),
        other => Err(err(&format!("value kind '{other}' is not supported"))),
    }
}

/// Reads a numeric tensor.
fn load_constant(tensor: &pb::TensorProto, name: &str) -> Result<Constant, ImportError> {
    use pb::tensor_proto::DataType;
    let err = |problem: String| ImportError::Tensor {
        name: name.to_string(),
        problem,
    };
    let numeric = [
        DataType::Float,
        DataType::Double,
        DataType::Float16,
        DataType::Int8,
        DataType::Int16,
        DataType::Int32,
        DataType::Int64,
        DataType::Uint8,
    ];
    if !numeric.iter().any(|&d| d as i32 == tensor.data_type) {
        return Err(err(format!(
            "unsupported element type {}",
            tensor.data_type
        )));
    }
    if tensor.data_location == Some(pb::tensor_proto::DataLocation::External as i32) {
        return Err(err(
            "external tensor data is not supported; save the model with its weights inside".into(),
        ));
    }
    let loaded = std::panic::catch_unwind(|| {
        tract_onnx::tensor::load_tensor(&tract_onnx::data_resolver::FopenDataResolver, tensor, None)
    })
    .map_err(|_| err("cannot be decoded".into()))?
    .map_err(|e| err(format!("{e:#}")))?;
    let values = loaded
        .cast_to::<f64>()
        .and_then(|t| {
            Ok(t.to_plain_array_view::<f64>()?
                .iter()
                .copied()
                .collect::<Vec<f64>>())
        })
        .map_err(|e| err(format!("{e:#}")))?;
    if let Some(v) = values.iter().find(|v| !v.is_finite()) {
        return Err(err(format!("holds a non-finite value ({v})")));
    }
    Ok(Constant {
        shape: loaded.shape().to_vec(),
        values,
    })
}

/// The concrete input shape; a symbolic leading (batch) dimension becomes 1.
fn input_shape(input: &pb::ValueInfoProto) -> Result<Vec<usize>, ImportError> {
    let err = |problem: String| ImportError::Graph(format!("input '{}': {problem}", input.name));
    let Some(pb::TypeProto {
        value: Some(type_proto::Value::TensorType(tensor)),
        ..
    }) = &input.r#type
    else {
        return Err(err("is not a tensor".into()));
    };
    if tensor.elem_type != pb::tensor_proto::DataType::Float as i32 {
        return Err(err(format!(
            "element type {} is not float32",
            tensor.elem_type
        )));
    }
    let dims = tensor
        .shape
        .as_ref()
        .ok_or_else(|| err("has no shape".into()))?
        .dim
        .iter()
        .enumerate()
        .map(|(i, d)| match &d.value {
            Some(dimension::Value::DimValue(v)) if *v > 0 => Ok(*v as usize),
            Some(dimension::Value::DimParam(_)) | None if i == 0 => Ok(1),
            other => Err(err(format!(
                "dimension {i} ({other:?}) must be a positive constant"
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if dims.is_empty() {
        return Err(err("is a scalar".into()));
    }
    Ok(dims)
}
