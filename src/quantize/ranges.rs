//! The largest magnitude of every float tensor: observed on calibration data, or bounded in the
//! worst case over inputs in `[−1, 1]`.

use rayon::prelude::*;

use crate::graph::{BinaryOp, FloatOp, Function, Graph};

/// Largest `|value|` of each tensor over the calibration samples.
pub fn observed(graph: &Graph, samples: &[Vec<f32>]) -> Vec<f64> {
    samples
        .par_iter()
        .map(|s| {
            graph
                .forward_all(s)
                .iter()
                .map(|t| t.iter().fold(0.0f64, |m, v| m.max(f64::from(v.abs()))))
                .collect::<Vec<f64>>()
        })
        .reduce(
            || vec![0.0; graph.tensors.len()],
            |a, b| a.iter().zip(&b).map(|(x, y)| x.max(*y)).collect(),
        )
}

/// A bound on `|value|` of each tensor for every input in `[−1, 1]`.
pub fn worst_case(graph: &Graph) -> Vec<f64> {
    let mut bound = vec![0.0f64; graph.tensors.len()];
    bound[0] = 1.0;
    for node in &graph.nodes {
        let x = |i: usize| bound[node.inputs[i]];
        let max_abs = |v: &[f32]| v.iter().fold(0.0f64, |m, w| m.max(f64::from(w.abs())));
        bound[node.output] = match &node.op {
            FloatOp::Linear {
                weights,
                bias,
                channels,
                ..
            } => {
                let taps = weights.len() / channels;
                let per_channel = (0..*channels).map(|c| {
                    f64::from(bias[c].abs())
                        + weights[c * taps..(c + 1) * taps]
                            .iter()
                            .map(|w| f64::from(w.abs()))
                            .sum::<f64>()
                            * x(0)
                });
                per_channel.fold(0.0, f64::max)
            }
            FloatOp::Relu | FloatOp::LeakyRelu { .. } | FloatOp::MaxPool(_) => x(0),
            FloatOp::Clip { lo, hi } => x(0).min(f64::from(lo.abs().max(hi.abs()))),
            FloatOp::Binary { op, .. } => match op {
                BinaryOp::Add | BinaryOp::Sub => x(0) + x(1),
                BinaryOp::Mul => x(0) * x(1),
            },
            FloatOp::Affine { scale, offset } => max_abs(scale) * x(0) + max_abs(offset),
            FloatOp::MatMul { terms, scale, .. } => {
                f64::from(scale.abs()) * *terms as f64 * x(0) * x(1)
            }
            FloatOp::Softmax { .. } => 1.0,
            FloatOp::LayerNorm { gamma, beta, .. } => {
                max_abs(gamma) * (gamma.len() as f64).sqrt() + max_abs(beta)
            }
            FloatOp::Function(t) => {
                let inner = match t.f {
                    Function::Sigmoid | Function::Tanh | Function::Erf => 1.0,
                    Function::Exp => (f64::from(t.a.abs()) * x(0) + f64::from(t.b.abs())).exp(),
                };
                f64::from(t.c.abs()) * inner + f64::from(t.d.abs())
            }
            FloatOp::Gather { .. } => node.inputs.iter().map(|&i| bound[i]).fold(0.0, f64::max),
        };
    }
    bound
}
