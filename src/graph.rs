//! The float model zkinfer works from: a chain of dense layers, each optionally followed by a
//! ReLU, over one flat input vector.
//!
//! [`onnx`](crate::onnx) builds it from an ONNX file; [`quantize`](crate::quantize) turns it into
//! the integer network. Its float forward pass provides the activation ranges calibration needs.

use ndarray::{Array1, Array2, ArrayView1};
use serde::{Deserialize, Serialize};

/// Name and shape of a model input or output (batch dimension fixed to 1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorSpec {
    /// Tensor name in the ONNX graph.
    pub name: String,
    /// Shape, batch dimension included.
    pub shape: Vec<usize>,
}

impl TensorSpec {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A dense layer in floating point: `y = act(W·x + b)`.
#[derive(Clone, Debug, PartialEq)]
pub struct FloatLayer {
    /// Name of the ONNX node the layer came from.
    pub name: String,
    /// Weights `[outputs, inputs]`.
    pub weights: Array2<f32>,
    /// Bias `[outputs]`.
    pub bias: Array1<f32>,
    /// Whether a ReLU follows.
    pub relu: bool,
}

impl FloatLayer {
    /// Number of inputs.
    pub fn inputs(&self) -> usize {
        self.weights.ncols()
    }

    /// Number of outputs.
    pub fn outputs(&self) -> usize {
        self.weights.nrows()
    }

    /// `W·x + b`, before the activation.
    pub fn pre_activation(&self, x: ArrayView1<'_, f32>) -> Array1<f32> {
        self.weights.dot(&x) + &self.bias
    }
}

/// An imported float model.
#[derive(Clone, Debug, PartialEq)]
pub struct Graph {
    /// The model input.
    pub input: TensorSpec,
    /// The model output.
    pub output: TensorSpec,
    /// The layers, in order.
    pub layers: Vec<FloatLayer>,
}

/// The values one layer produced in a float forward pass.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerValues {
    /// `W·x + b`.
    pub pre_activation: Array1<f32>,
    /// After the activation.
    pub output: Array1<f32>,
}

impl Graph {
    /// Float forward pass keeping every layer's values.
    pub fn forward_trace(&self, input: &[f32]) -> Vec<LayerValues> {
        let mut values: Vec<LayerValues> = Vec::with_capacity(self.layers.len());
        let input = ArrayView1::from(input);
        for layer in &self.layers {
            let x = values.last().map_or(input, |v| v.output.view());
            let pre_activation = layer.pre_activation(x);
            let output = if layer.relu {
                pre_activation.mapv(|v| v.max(0.0))
            } else {
                pre_activation.clone()
            };
            values.push(LayerValues {
                pre_activation,
                output,
            });
        }
        values
    }

    /// Float forward pass.
    pub fn forward(&self, input: &[f32]) -> Vec<f32> {
        self.forward_trace(input)
            .pop()
            .map_or_else(|| input.to_vec(), |v| v.output.to_vec())
    }

    /// Multiply-accumulates of one inference.
    pub fn macs(&self) -> usize {
        self.layers.iter().map(|l| l.inputs() * l.outputs()).sum()
    }
}
