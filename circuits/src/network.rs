//! The integer network: the single definition of what a quantised model computes.
//!
//! Its [`forward`](Network::forward) pass is the native integer inference, the source of every
//! witness value, and the oracle the circuit is tested against.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::arith::{
    activation_in_range, relu, rescale, ACTIVATION_MAX, ACTIVATION_MIN, MAX_ACCUMULATOR, MAX_SHIFT,
};

/// A dense layer: `y = act(round((W·x + b) / 2^shift))`, with `act` a ReLU or the identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DenseLayer {
    /// Name of the layer (the ONNX node it came from), used in error messages.
    pub name: String,
    /// Number of inputs.
    pub inputs: usize,
    /// Number of outputs.
    pub outputs: usize,
    /// Weights, row-major `[outputs][inputs]`.
    pub weights: Vec<i64>,
    /// Bias per output, at the scale of the products (`2^(s_in + s_w)`).
    pub bias: Vec<i64>,
    /// Right shift applied (with rounding) after the dot product.
    pub shift: u32,
    /// Whether a ReLU follows.
    pub relu: bool,
}

impl DenseLayer {
    /// The weights of output `j`.
    pub fn row(&self, j: usize) -> &[i64] {
        &self.weights[j * self.inputs..(j + 1) * self.inputs]
    }

    /// The rescale each output goes through.
    pub fn rescale_op(&self) -> crate::rescale::RescaleOp {
        crate::rescale::RescaleOp {
            shift: self.shift,
            relu: self.relu,
        }
    }

    /// The exact integer forward pass of this layer: `(accumulators, outputs)`.
    pub fn forward(&self, input: &[i64]) -> Result<(Vec<i64>, Vec<i64>), ForwardError> {
        let accumulators: Vec<i64> = (0..self.outputs)
            .into_par_iter()
            .with_min_len(8)
            .map(|j| {
                self.row(j)
                    .iter()
                    .zip(input)
                    .fold(self.bias[j], |acc, (&w, &x)| acc + w * x)
            })
            .collect();
        let outputs = accumulators
            .iter()
            .enumerate()
            .map(|(index, &acc)| {
                let (quotient, _) = rescale(acc, self.shift);
                if !activation_in_range(quotient) {
                    return Err(ForwardError::ActivationOutOfRange {
                        layer: self.name.clone(),
                        index,
                        value: quotient,
                    });
                }
                Ok(if self.relu { relu(quotient) } else { quotient })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((accumulators, outputs))
    }
}

/// A chain of dense layers over one flat input vector.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    /// Length of the input vector.
    pub input_len: usize,
    /// The layers, applied in order.
    pub layers: Vec<DenseLayer>,
}

/// Every intermediate value of one forward pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    /// The input vector.
    pub input: Vec<i64>,
    /// Per layer, the accumulators `W·x + b` before the rescale.
    pub accumulators: Vec<Vec<i64>>,
    /// Per layer, the activations after rescale and ReLU.
    pub outputs: Vec<Vec<i64>>,
}

impl Trace {
    /// The network's output.
    pub fn output(&self) -> &[i64] {
        self.outputs.last().map_or(&self.input, Vec::as_slice)
    }
}

/// A network that cannot be laid out in a circuit.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum NetworkError {
    /// The network has no layers.
    #[error("the network has no layers")]
    Empty,
    /// A layer's dimensions disagree with its weights or with the previous layer.
    #[error("layer '{layer}': {problem}")]
    Shape {
        /// Layer name.
        layer: String,
        /// What does not fit.
        problem: String,
    },
    /// A shift is larger than one rescale unit can perform.
    #[error("layer '{layer}': shift {shift} exceeds the maximum of {MAX_SHIFT} bits")]
    ShiftTooLarge {
        /// Layer name.
        layer: String,
        /// The shift.
        shift: u32,
    },
    /// Some accumulator could exceed the range the rescale gate is sound for.
    #[error(
        "layer '{layer}': output {output} can reach {bound}, beyond the accumulator limit {MAX_ACCUMULATOR}; \
         lower the weight precision"
    )]
    AccumulatorTooLarge {
        /// Layer name.
        layer: String,
        /// Output index.
        output: usize,
        /// Worst-case magnitude of the accumulator.
        bound: i128,
    },
}

/// An input the network cannot run on.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ForwardError {
    /// The input vector has the wrong length.
    #[error("input has {got} values, the network expects {expected}")]
    InputLength {
        /// Expected length.
        expected: usize,
        /// Given length.
        got: usize,
    },
    /// An input value lies outside the activation range.
    #[error(
        "input value {value} at index {index} is outside the quantised range [{ACTIVATION_MIN}, {ACTIVATION_MAX}]"
    )]
    InputOutOfRange {
        /// Position in the input vector.
        index: usize,
        /// The quantised value.
        value: i64,
    },
    /// A layer produced an activation outside the range the circuit can represent.
    #[error(
        "layer '{layer}': activation {index} is {value}, outside the quantised range \
         [{ACTIVATION_MIN}, {ACTIVATION_MAX}]; recompile with calibration data that covers this input"
    )]
    ActivationOutOfRange {
        /// Layer name.
        layer: String,
        /// Output index within the layer.
        index: usize,
        /// The out-of-range quotient.
        value: i64,
    },
}

impl Network {
    /// Length of the output vector.
    pub fn output_len(&self) -> usize {
        self.layers.last().map_or(self.input_len, |l| l.outputs)
    }

    /// Checks that the network is well formed and that every accumulator stays within the range
    /// the rescale gate is sound for, for every input in the activation range.
    pub fn validate(&self) -> Result<(), NetworkError> {
        if self.layers.is_empty() {
            return Err(NetworkError::Empty);
        }
        let mut width = self.input_len;
        for layer in &self.layers {
            let shape_error = |problem: String| NetworkError::Shape {
                layer: layer.name.clone(),
                problem,
            };
            if layer.inputs != width {
                return Err(shape_error(format!(
                    "expects {} inputs but receives {width}",
                    layer.inputs
                )));
            }
            if layer.inputs == 0 || layer.outputs == 0 {
                return Err(shape_error("has an empty dimension".into()));
            }
            if layer.weights.len() != layer.inputs * layer.outputs {
                return Err(shape_error(format!(
                    "has {} weights, expected {} × {}",
                    layer.weights.len(),
                    layer.outputs,
                    layer.inputs
                )));
            }
            if layer.bias.len() != layer.outputs {
                return Err(shape_error(format!(
                    "has {} biases for {} outputs",
                    layer.bias.len(),
                    layer.outputs
                )));
            }
            if layer.shift > MAX_SHIFT {
                return Err(NetworkError::ShiftTooLarge {
                    layer: layer.name.clone(),
                    shift: layer.shift,
                });
            }
            let activation = i128::from(-ACTIVATION_MIN);
            for j in 0..layer.outputs {
                let bound = i128::from(layer.bias[j]).abs()
                    + layer
                        .row(j)
                        .iter()
                        .map(|&w| i128::from(w).abs() * activation)
                        .sum::<i128>();
                if bound > i128::from(MAX_ACCUMULATOR) {
                    return Err(NetworkError::AccumulatorTooLarge {
                        layer: layer.name.clone(),
                        output: j,
                        bound,
                    });
                }
            }
            width = layer.outputs;
        }
        Ok(())
    }

    /// Runs the exact integer forward pass, keeping every intermediate value.
    ///
    /// Fails if the input has the wrong length or lies outside the activation range, or if an
    /// activation leaves the range the circuit can represent. The network must have passed
    /// [`validate`](Self::validate).
    pub fn forward(&self, input: &[i64]) -> Result<Trace, ForwardError> {
        if input.len() != self.input_len {
            return Err(ForwardError::InputLength {
                expected: self.input_len,
                got: input.len(),
            });
        }
        if let Some((index, &value)) = input
            .iter()
            .enumerate()
            .find(|(_, &v)| !activation_in_range(v))
        {
            return Err(ForwardError::InputOutOfRange { index, value });
        }
        let mut accumulators = Vec::with_capacity(self.layers.len());
        let mut outputs: Vec<Vec<i64>> = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let x = outputs.last().map_or(input, Vec::as_slice);
            let (acc, y) = layer.forward(x)?;
            accumulators.push(acc);
            outputs.push(y);
        }
        Ok(Trace {
            input: input.to_vec(),
            accumulators,
            outputs,
        })
    }
}
