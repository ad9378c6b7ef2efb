//! The float model zkinfer works from: a graph of tensor operators over one input, as imported
//! from ONNX (after folding constants and batch normalisation).
//!
//! [`onnx`](crate::onnx) builds it; [`quantize`](crate::quantize) lowers it to the integer
//! network. Its float forward pass ([`Graph::forward_all`]) provides the value ranges calibration
//! needs, so it follows ONNX semantics for every operator it holds.

use serde::{Deserialize, Serialize};
use zkinfer_circuits::builder::Conv2d;

/// Name and shape of a tensor (batch dimension fixed to 1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorSpec {
    /// Tensor name in the ONNX graph.
    pub name: String,
    /// Shape, batch dimension included.
    pub shape: Vec<usize>,
}

impl TensorSpec {
    /// Number of elements (saturating, so that a hand-edited shape cannot overflow).
    pub fn len(&self) -> usize {
        self.shape.iter().fold(1usize, |n, &d| n.saturating_mul(d))
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Index of a tensor in [`Graph::tensors`].
pub type ValueId = usize;

/// The geometry of a [`FloatOp::Linear`].
#[derive(Clone, Debug, PartialEq)]
pub enum LinearGeometry {
    /// `y[p, c] = Σ_k w[c, k]·x[p, k]` over `positions` rows of the input (dense layers, and
    /// MatMul by a constant over a batch of rows); output row-major `[positions, channels]`.
    Rows {
        /// Independent rows.
        positions: usize,
    },
    /// A 2-D convolution over an NCHW tensor (also average pooling and per-channel reductions,
    /// as depthwise convolutions); output NCHW.
    Conv(Conv2d),
    /// Output `c` sums its own `taps` inputs `gather[c]` (reductions over arbitrary axes).
    Groups {
        /// `[channels][taps]` input indices.
        gather: Vec<u32>,
    },
}

/// A float operator.
#[derive(Clone, Debug, PartialEq)]
pub enum FloatOp {
    /// Weighted sums with constant weights `[channels, taps]` and a bias per channel.
    Linear {
        /// `channels × taps`, row-major.
        weights: Vec<f32>,
        /// One per channel.
        bias: Vec<f32>,
        /// Output channels.
        channels: usize,
        /// How inputs are gathered.
        geometry: LinearGeometry,
        /// Whether the weights are architecture (an average pool's window, a reduction's
        /// ones) rather than trained values; see `LinearOp::structural`.
        structural: bool,
    },
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, lo), hi)`.
    Clip {
        /// Lower bound.
        lo: f32,
        /// Upper bound.
        hi: f32,
    },
    /// `x` if `x ≥ 0`, else `alpha·x`.
    LeakyRelu {
        /// Slope for negative inputs.
        alpha: f32,
    },
    /// Elementwise binary operation of two activations with broadcasting:
    /// `y[i] = op(x0[a[i]], x1[b[i]])`.
    Binary {
        /// The operation.
        op: BinaryOp,
        /// Per output, index into the first input.
        a: Vec<u32>,
        /// Per output, index into the second input.
        b: Vec<u32>,
    },
    /// `y[i] = x[i]·scale[i] + offset[i]` with constant per-element factors (Mul, Div, Add, Sub
    /// by constants; batch normalisation that could not be folded).
    Affine {
        /// Multiplier per element.
        scale: Vec<f32>,
        /// Addend per element.
        offset: Vec<f32>,
    },
    /// Max pooling (padding never wins).
    MaxPool(Conv2d),
    /// `scale · A·B` of two activations: output `o` is `scale · Σ_k x0[a[o][k]]·x1[b[o][k]]`.
    MatMul {
        /// Terms per output.
        terms: usize,
        /// Constant factor applied to every output (a folded division, e.g. by √d in attention).
        scale: f32,
        /// `[outputs][terms]` indices into the first input.
        a: Vec<u32>,
        /// `[outputs][terms]` indices into the second input.
        b: Vec<u32>,
    },
    /// Softmax over contiguous rows of `row` elements (the last axis).
    Softmax {
        /// Row length.
        row: usize,
    },
    /// Layer normalisation over contiguous rows of `gamma.len()` elements (the last axis).
    LayerNorm {
        /// Scale per element of a row.
        gamma: Vec<f32>,
        /// Offset per element of a row.
        beta: Vec<f32>,
        /// Added to the variance.
        epsilon: f32,
    },
    /// An elementwise function, with constant affine maps folded around it.
    Function(Tabulated),
    /// Data movement: output `i` is element `sources[i].1` of input `sources[i].0`.
    Gather {
        /// Per output: (input number, element index).
        sources: Vec<(u8, u32)>,
    },
}

/// Elementwise binary operations of two activations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BinaryOp {
    /// `a + b`.
    Add,
    /// `a − b`.
    Sub,
    /// `a · b`.
    Mul,
}

/// `c · f(a·x + b) + d`: a tabulated function with the affine maps around it folded in.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tabulated {
    /// The function.
    pub f: Function,
    /// Input scale `a`.
    pub a: f32,
    /// Input offset `b`.
    pub b: f32,
    /// Output scale `c`.
    pub c: f32,
    /// Output offset `d`.
    pub d: f32,
}

impl Tabulated {
    /// `f(x)` itself.
    pub fn plain(f: Function) -> Self {
        Self {
            f,
            a: 1.0,
            b: 0.0,
            c: 1.0,
            d: 0.0,
        }
    }

    /// The value at `x`, in double precision.
    pub fn eval(&self, x: f64) -> f64 {
        f64::from(self.c) * self.f.eval(f64::from(self.a) * x + f64::from(self.b))
            + f64::from(self.d)
    }
}

/// Elementwise functions computed through lookup tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Function {
    /// `1 / (1 + e^−x)`.
    Sigmoid,
    /// `tanh x`.
    Tanh,
    /// The error function.
    Erf,
    /// `e^x`.
    Exp,
}

impl Function {
    /// The function in double precision.
    pub fn eval(self, x: f64) -> f64 {
        match self {
            Function::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Function::Tanh => x.tanh(),
            Function::Erf => erf(x),
            Function::Exp => x.exp(),
        }
    }

    /// ONNX operator name.
    pub fn name(self) -> &'static str {
        match self {
            Function::Sigmoid => "Sigmoid",
            Function::Tanh => "Tanh",
            Function::Erf => "Erf",
            Function::Exp => "Exp",
        }
    }
}

/// The error function: its Taylor series below 2.5, a continued fraction above (|error| < 1e-12).
pub fn erf(x: f64) -> f64 {
    if x < 0.0 {
        return -erf(-x);
    }
    if x > 6.0 {
        return 1.0;
    }
    if x < 2.5 {
        let mut term = x;
        let mut sum = x;
        let x2 = x * x;
        for n in 1..200 {
            term *= -x2 / n as f64;
            let add = term / (2 * n + 1) as f64;
            sum += add;
            if add.abs() < 1e-17 {
                break;
            }
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    } else {
        // erfc(x) = exp(−x²)/(x√π) · 1/(1 + 1/(2x²)/(1 + 2/(2x²)/(1 + ...)))
        let mut f = 0.0;
        for n in (1..60).rev() {
            f = (n as f64 / 2.0) / (x + f);
        }
        1.0 - (-x * x).exp() / (std::f64::consts::PI.sqrt() * (x + f))
    }
}

/// One operator application.
#[derive(Clone, Debug, PartialEq)]
pub struct FloatNode {
    /// ONNX node name.
    pub name: String,
    /// The operator.
    pub op: FloatOp,
    /// Input tensors.
    pub inputs: Vec<ValueId>,
    /// Output tensor.
    pub output: ValueId,
}

/// An imported float model.
#[derive(Clone, Debug, PartialEq)]
pub struct Graph {
    /// Every tensor; tensor 0 is the input.
    pub tensors: Vec<TensorSpec>,
    /// Operators in topological order.
    pub nodes: Vec<FloatNode>,
    /// The output tensor.
    pub output: ValueId,
}

impl Graph {
    /// The model input.
    pub fn input(&self) -> &TensorSpec {
        &self.tensors[0]
    }

    /// The model output.
    pub fn output(&self) -> &TensorSpec {
        &self.tensors[self.output]
    }

    /// Multiply-accumulates of one inference (linear and matrix-product operators).
    pub fn macs(&self) -> usize {
        self.nodes
            .iter()
            .map(|n| match &n.op {
                FloatOp::Linear {
                    weights,
                    geometry,
                    channels,
                    ..
                } => match geometry {
                    LinearGeometry::Rows { positions } => positions * weights.len(),
                    LinearGeometry::Conv(c) => {
                        let (h, w) = c.output();
                        h * w * channels * c.taps()
                    }
                    LinearGeometry::Groups { gather } => gather.len(),
                },
                FloatOp::MatMul { a, .. } => a.len(),
                _ => 0,
            })
            .sum()
    }

    /// The operator types of the graph, with counts (for reports).
    pub fn op_summary(&self) -> String {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for node in &self.nodes {
            let name = match &node.op {
                FloatOp::Linear {
                    geometry: LinearGeometry::Conv(_),
                    ..
                } => "conv".to_string(),
                FloatOp::Linear { .. } => "dense".to_string(),
                FloatOp::Function(t) => t.f.name().to_lowercase(),
                FloatOp::Binary { op, .. } => format!("{op:?}").to_lowercase(),
                other => format!("{other:?}")
                    .split([' ', '(', '{'])
                    .next()
                    .unwrap_or("")
                    .to_lowercase(),
            };
            match counts.iter_mut().find(|(n, _)| *n == name) {
                Some((_, c)) => *c += 1,
                None => counts.push((name, 1)),
            }
        }
        counts
            .iter()
            .map(|(n, c)| format!("{n}×{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Float forward pass keeping every tensor (indexed by [`ValueId`]).
    pub fn forward_all(&self, input: &[f32]) -> Vec<Vec<f32>> {
        let mut values: Vec<Vec<f32>> = vec![Vec::new(); self.tensors.len()];
        values[0] = input.to_vec();
        for node in &self.nodes {
            let y = crate::eval::eval_node(node, &values, &self.tensors[node.output]);
            values[node.output] = y;
        }
        values
    }

    /// Float forward pass.
    pub fn forward(&self, input: &[f32]) -> Vec<f32> {
        self.forward_all(input).swap_remove(self.output)
    }
}
