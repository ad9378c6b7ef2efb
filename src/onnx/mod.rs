//! ONNX import: protobuf → float [`Graph`].
//!
//! zkinfer reads the ONNX protobuf itself (decoded by `tract-onnx`) rather than tract's optimised
//! graph, so that every error can name the ONNX node it is about. Import runs in three steps:
//!
//! 1. every node whose operator is not in [`SUPPORTED_OPS`] is listed in one
//!    [`ImportError::UnsupportedOps`], before anything else;
//! 2. the layer-normalisation pattern of older exporters (ReduceMean, Sub, Pow, ReduceMean, Add,
//!    Sqrt, Div, Mul, Add) is recognised and replaced by one `LayerNormalization`;
//! 3. nodes are converted in order ([`convert`]): computations on constants are folded,
//!    batch normalisation after a convolution or dense layer is folded into its weights, and
//!    every other node becomes a [`FloatOp`](crate::graph::FloatOp). A supported operator used in
//!    a way zkinfer cannot prove fails naming the node.

mod constant;
mod convert;
mod patterns;
pub mod shapes;

use std::collections::HashMap;

use tract_onnx::pb::{self, tensor_shape_proto::dimension, type_proto};
use tract_onnx::prelude::Framework;

use crate::error::{ImportError, UnsupportedNode};
use crate::graph::{FloatNode, FloatOp, Graph, TensorSpec, ValueId};
pub use constant::Constant;

/// Operators the importer understands (some only in the forms their conversion documents).
pub const SUPPORTED_OPS: &[&str] = &[
    "Gemm",
    "MatMul",
    "Conv",
    "BatchNormalization",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Pow",
    "Sqrt",
    "Relu",
    "Clip",
    "LeakyRelu",
    "Sigmoid",
    "Tanh",
    "Erf",
    "Exp",
    "Softmax",
    "LayerNormalization",
    "ReduceMean",
    "ReduceSum",
    "Flatten",
    "Reshape",
    "Transpose",
    "Squeeze",
    "Unsqueeze",
    "Concat",
    "Slice",
    "Identity",
    "Dropout",
    "Constant",
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
    let nodes = patterns::fuse_layer_norms(graph)?;
    let mut importer = Importer::new(graph)?;
    for node in &nodes {
        importer.node(node)?;
    }
    importer.finish(graph)
}

/// Fails with every node whose operator is not supported.
fn check_supported(graph: &pb::GraphProto) -> Result<(), ImportError> {
    let unsupported: Vec<UnsupportedNode> = graph
        .node
        .iter()
        .enumerate()
        .filter(|(_, n)| !is_standard(n) || !SUPPORTED_OPS.contains(&n.op_type.as_str()))
        .map(|(i, n)| UnsupportedNode {
            op: if is_standard(n) {
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

fn is_standard(node: &pb::NodeProto) -> bool {
    node.domain.is_empty() || node.domain == "ai.onnx"
}

/// The node's name, or `#index` when it has none.
pub(crate) fn node_name(node: &pb::NodeProto, index: usize) -> String {
    if node.name.is_empty() {
        format!("#{index}")
    } else {
        node.name.clone()
    }
}

/// A tensor during import: a constant, or an activation of the float graph.
#[derive(Clone, Debug)]
pub(crate) enum Value {
    Const(Constant),
    Act(ValueId),
}

/// A node to convert: an ONNX node, or one synthesised by a pattern.
#[derive(Clone, Debug)]
pub(crate) struct NodeRef {
    pub name: String,
    pub op: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attributes: Vec<pb::AttributeProto>,
}

impl NodeRef {
    pub fn attr(&self, name: &str) -> Option<&pb::AttributeProto> {
        self.attributes.iter().find(|a| a.name == name)
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        self.attr(name).map(|a| a.i)
    }

    pub fn float(&self, name: &str) -> Option<f32> {
        self.attr(name).map(|a| a.f)
    }

    pub fn ints(&self, name: &str) -> Option<Vec<i64>> {
        self.attr(name).map(|a| a.ints.clone())
    }

    pub fn error(&self, problem: impl Into<String>) -> ImportError {
        ImportError::Unsupported {
            node: self.name.clone(),
            op: self.op.clone(),
            problem: problem.into(),
        }
    }
}

/// Converts nodes one by one into a float graph.
pub(crate) struct Importer {
    values: HashMap<String, Value>,
    tensors: Vec<TensorSpec>,
    nodes: Vec<FloatNode>,
    /// How many nodes read each tensor name (to know when folding a producer is safe).
    consumers: HashMap<String, usize>,
    /// For each activation, the node that produced it.
    producer: HashMap<ValueId, usize>,
    /// For each activation, how many node inputs read it under any of its names.
    readers: HashMap<ValueId, usize>,
}

impl Importer {
    fn new(graph: &pb::GraphProto) -> Result<Self, ImportError> {
        let mut values = HashMap::new();
        for tensor in &graph.initializer {
            values.insert(
                tensor.name.clone(),
                Value::Const(Constant::from_proto(tensor, &tensor.name)?),
            );
        }
        let inputs: Vec<&pb::ValueInfoProto> = graph
            .input
            .iter()
            .filter(|i| !values.contains_key(&i.name))
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
        values.insert(input.name.clone(), Value::Act(0));
        let mut consumers = HashMap::new();
        for node in &graph.node {
            for input in &node.input {
                *consumers.entry(input.clone()).or_insert(0) += 1;
            }
        }
        for output in &graph.output {
            *consumers.entry(output.name.clone()).or_insert(0) += 1;
        }
        Ok(Self {
            values,
            tensors: vec![TensorSpec {
                name: input.name.clone(),
                shape,
            }],
            nodes: Vec::new(),
            consumers,
            producer: HashMap::new(),
            readers: HashMap::new(),
        })
    }

    fn finish(self, graph: &pb::GraphProto) -> Result<Graph, ImportError> {
        let [output] = graph.output.as_slice() else {
            return Err(ImportError::Graph(format!(
                "zkinfer supports models with exactly one output; this one has {}",
                graph.output.len()
            )));
        };
        let output = match self.values.get(&output.name) {
            Some(Value::Act(id)) if *id != 0 => *id,
            Some(Value::Act(_)) => {
                return Err(ImportError::Graph(
                    "the output is the input: nothing to prove".into(),
                ))
            }
            Some(Value::Const(_)) => {
                return Err(ImportError::Graph(format!(
                    "output '{}' is a constant: nothing to prove",
                    output.name
                )))
            }
            None => {
                return Err(ImportError::Graph(format!(
                    "output '{}' is never computed",
                    output.name
                )))
            }
        };
        let mut tensors = self.tensors;
        tensors[output].name = graph.output[0].name.clone();
        Ok(Graph {
            tensors,
            nodes: self.nodes,
            output,
        })
    }

    /// The value named `name`.
    pub fn value(&self, node: &NodeRef, name: &str) -> Result<Value, ImportError> {
        self.values
            .get(name)
            .cloned()
            .ok_or_else(|| node.error(format!("reads '{name}', which is not computed before it")))
    }

    /// The constant named `name`.
    pub fn constant(
        &self,
        node: &NodeRef,
        name: &str,
        what: &str,
    ) -> Result<Constant, ImportError> {
        match self.value(node, name)? {
            Value::Const(c) => Ok(c),
            Value::Act(_) => Err(node.error(format!("{what} must be a constant"))),
        }
    }

    /// Shape of an activation.
    pub fn shape(&self, id: ValueId) -> &[usize] {
        &self.tensors[id].shape
    }

    /// Records a constant output.
    pub fn set_const(&mut self, name: &str, value: Constant) {
        self.values.insert(name.to_string(), Value::Const(value));
    }

    /// Makes `name` another name of activation `id` (the node doing so reads `id` once; the
    /// readers of `name` now read `id`).
    pub fn alias(&mut self, name: &str, id: ValueId) {
        let readers = self.consumers.get(name).copied().unwrap_or(0);
        let count = self.readers.entry(id).or_insert(1);
        *count = (*count + readers).saturating_sub(1);
        self.values.insert(name.to_string(), Value::Act(id));
    }

    /// Appends a float node writing a new activation `name` of `shape`.
    pub fn push(
        &mut self,
        node: &NodeRef,
        op: FloatOp,
        inputs: Vec<ValueId>,
        shape: Vec<usize>,
    ) -> ValueId {
        let id = self.tensors.len();
        let name = node.outputs.first().cloned().unwrap_or_default();
        self.tensors.push(TensorSpec {
            name: name.clone(),
            shape,
        });
        self.producer.insert(id, self.nodes.len());
        self.readers
            .insert(id, self.consumers.get(&name).copied().unwrap_or(0));
        self.nodes.push(FloatNode {
            name: node.name.clone(),
            op,
            inputs,
            output: id,
        });
        self.values.insert(name, Value::Act(id));
        id
    }

    /// The node that produced `id`, if `id` is read only once (so it may be rewritten in place).
    pub fn sole_producer(&mut self, id: ValueId) -> Option<&mut FloatNode> {
        if self.readers.get(&id).copied() != Some(1) {
            return None;
        }
        let index = *self.producer.get(&id)?;
        self.nodes.get_mut(index)
    }
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
