//! Float evaluation of each [`FloatOp`], following ONNX semantics.

use zkinfer_circuits::builder::Conv2d;

use crate::graph::{BinaryOp, FloatNode, FloatOp, LinearGeometry, TensorSpec};

/// Evaluates `node` given every tensor computed so far.
pub fn eval_node(node: &FloatNode, values: &[Vec<f32>], output: &TensorSpec) -> Vec<f32> {
    let x = |i: usize| values[node.inputs[i]].as_slice();
    match &node.op {
        FloatOp::Linear {
            weights,
            bias,
            channels,
            geometry,
            ..
        } => linear(x(0), weights, bias, *channels, geometry),
        FloatOp::Relu => x(0).iter().map(|v| v.max(0.0)).collect(),
        FloatOp::Clip { lo, hi } => x(0).iter().map(|v| v.max(*lo).min(*hi)).collect(),
        FloatOp::LeakyRelu { alpha } => x(0)
            .iter()
            .map(|&v| if v >= 0.0 { v } else { alpha * v })
            .collect(),
        FloatOp::Binary { op, a, b } => {
            let (x0, x1) = (x(0), x(1));
            a.iter()
                .zip(b)
                .map(|(&i, &j)| {
                    let (p, q) = (x0[i as usize], x1[j as usize]);
                    match op {
                        BinaryOp::Add => p + q,
                        BinaryOp::Sub => p - q,
                        BinaryOp::Mul => p * q,
                    }
                })
                .collect()
        }
        FloatOp::Affine { scale, offset } => x(0)
            .iter()
            .zip(scale.iter().zip(offset))
            .map(|(v, (s, o))| v * s + o)
            .collect(),
        FloatOp::MaxPool(conv) => max_pool(x(0), conv),
        FloatOp::MatMul { terms, scale, a, b } => {
            let (x0, x1) = (x(0), x(1));
            a.chunks(*terms)
                .zip(b.chunks(*terms))
                .map(|(ai, bi)| {
                    scale
                        * ai.iter()
                            .zip(bi)
                            .map(|(&i, &j)| x0[i as usize] * x1[j as usize])
                            .sum::<f32>()
                })
                .collect()
        }
        FloatOp::Softmax { row } => x(0)
            .chunks(*row)
            .flat_map(|r| {
                let m = r.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let e: Vec<f32> = r.iter().map(|v| (v - m).exp()).collect();
                let s: f32 = e.iter().sum();
                e.into_iter().map(move |v| v / s)
            })
            .collect(),
        FloatOp::LayerNorm {
            gamma,
            beta,
            epsilon,
        } => x(0)
            .chunks(gamma.len())
            .flat_map(|r| {
                let n = r.len() as f32;
                let mean = r.iter().sum::<f32>() / n;
                let var = r.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
                let inv = 1.0 / (var + epsilon).sqrt();
                r.iter()
                    .zip(gamma.iter().zip(beta))
                    .map(move |(v, (g, b))| (v - mean) * inv * g + b)
                    .collect::<Vec<_>>()
            })
            .collect(),
        FloatOp::Function(t) => x(0).iter().map(|&v| t.eval(f64::from(v)) as f32).collect(),
        FloatOp::Gather { sources } => {
            debug_assert_eq!(sources.len(), output.len());
            sources
                .iter()
                .map(|&(i, e)| x(i as usize)[e as usize])
                .collect()
        }
    }
}

fn linear(
    x: &[f32],
    weights: &[f32],
    bias: &[f32],
    channels: usize,
    geometry: &LinearGeometry,
) -> Vec<f32> {
    let taps = weights.len() / channels;
    match geometry {
        LinearGeometry::Rows { positions } => (0..*positions)
            .flat_map(|p| {
                let row = &x[p * taps..(p + 1) * taps];
                (0..channels).map(move |c| {
                    bias[c]
                        + weights[c * taps..(c + 1) * taps]
                            .iter()
                            .zip(row)
                            .map(|(w, v)| w * v)
                            .sum::<f32>()
                })
            })
            .collect(),
        LinearGeometry::Groups { gather } => (0..channels)
            .map(|c| {
                bias[c]
                    + weights[c * taps..(c + 1) * taps]
                        .iter()
                        .zip(&gather[c * taps..(c + 1) * taps])
                        .map(|(w, &i)| w * x[i as usize])
                        .sum::<f32>()
            })
            .collect(),
        LinearGeometry::Conv(conv) => {
            let gather = conv.gather();
            let (oh, ow) = conv.output();
            let positions = oh * ow;
            let per_group = channels / conv.groups;
            let mut y = vec![0f32; channels * positions];
            for c in 0..channels {
                let g = c / per_group;
                for p in 0..positions {
                    let t = &gather[(g * positions + p) * taps..(g * positions + p + 1) * taps];
                    let sum: f32 = weights[c * taps..(c + 1) * taps]
                        .iter()
                        .zip(t)
                        .filter_map(|(w, i)| i.map(|i| w * x[i as usize]))
                        .sum();
                    y[c * positions + p] = bias[c] + sum;
                }
            }
            y
        }
    }
}

fn max_pool(x: &[f32], conv: &Conv2d) -> Vec<f32> {
    let gather = conv.gather();
    let taps = conv.taps();
    let (oh, ow) = conv.output();
    let positions = oh * ow;
    let mut y = Vec::with_capacity(conv.in_channels * positions);
    for c in 0..conv.in_channels {
        for p in 0..positions {
            let t = &gather[(c * positions + p) * taps..(c * positions + p + 1) * taps];
            y.push(
                t.iter()
                    .flatten()
                    .map(|&i| x[i as usize])
                    .fold(f32::NEG_INFINITY, f32::max),
            );
        }
    }
    y
}
