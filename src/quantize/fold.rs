//! Algebraic simplification before lowering: constant affine maps (`y = s·x + o`, from `Mul`,
//! `Div`, `Add`, `Sub` by constants) are folded into their neighbours, so that they cost no
//! circuit at all:
//!
//! - an affine after an affine composes with it;
//! - an affine after a dense layer or convolution that is the same for every element of a channel
//!   folds into its weights and bias;
//! - a scale after a matrix product of activations folds into the product (attention's `/√d`);
//! - uniform affines before or after a tabulated function fold into the table
//!   (`c·f(a·x + b) + d`, e.g. GELU's `x/√2`, `+1`, within `0.5·x·(1 + erf(x/√2))`).
//!
//! Each rule applies only when the folded tensor has no other reader.

use std::collections::HashMap;

use crate::graph::{FloatOp, Graph, LinearGeometry, ValueId};

/// The graph with every foldable affine folded.
pub fn fold_affines(graph: &Graph) -> Graph {
    let mut g = graph.clone();
    while fold_one(&mut g) {}
    g
}

/// Readers of each tensor (the graph output counts as one).
fn readers(g: &Graph) -> Vec<usize> {
    let mut r = vec![0; g.tensors.len()];
    for node in &g.nodes {
        for &i in &node.inputs {
            r[i] += 1;
        }
    }
    r[g.output] += 1;
    r
}

/// The single value of `v` if all its elements are equal.
fn uniform(v: &[f32]) -> Option<f32> {
    let first = *v.first()?;
    v.iter().all(|&x| x == first).then_some(first)
}

/// Applies one folding rule; returns whether the graph changed.
fn fold_one(g: &mut Graph) -> bool {
    let readers = readers(g);
    let producer: HashMap<ValueId, usize> = g
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.output, i))
        .collect();
    for index in 0..g.nodes.len() {
        let node = &g.nodes[index];
        let Some(&p) = node.inputs.first().and_then(|i| producer.get(i)) else {
            continue;
        };
        if readers[g.nodes[p].output] != 1 {
            continue;
        }
        let (prev, this) = (&g.nodes[p].op, &node.op);
        let folded = match (prev, this) {
            (
                FloatOp::Affine {
                    scale: s1,
                    offset: o1,
                },
                FloatOp::Affine {
                    scale: s2,
                    offset: o2,
                },
            ) => {
                let scale = s1.iter().zip(s2).map(|(a, b)| a * b).collect();
                let offset = o1
                    .iter()
                    .zip(s2)
                    .zip(o2)
                    .map(|((o1, s2), o2)| s2 * o1 + o2)
                    .collect();
                Fold::IntoThis(FloatOp::Affine { scale, offset })
            }
            (FloatOp::Affine { scale, offset }, FloatOp::Function(t)) => {
                match (uniform(scale), uniform(offset)) {
                    (Some(s), Some(o)) => {
                        let mut t = *t;
                        t.b += t.a * o;
                        t.a *= s;
                        Fold::IntoThis(FloatOp::Function(t))
                    }
                    _ => continue,
                }
            }
            (FloatOp::Function(t), FloatOp::Affine { scale, offset }) => {
                match (uniform(scale), uniform(offset)) {
                    (Some(s), Some(o)) => {
                        let mut t = *t;
                        t.c *= s;
                        t.d = t.d * s + o;
                        Fold::IntoPrevious(FloatOp::Function(t))
                    }
                    _ => continue,
                }
            }
            (
                FloatOp::MatMul { terms, scale, a, b },
                FloatOp::Affine {
                    scale: s,
                    offset: o,
                },
            ) => match (uniform(s), uniform(o)) {
                (Some(s), Some(0.0)) => Fold::IntoPrevious(FloatOp::MatMul {
                    terms: *terms,
                    scale: scale * s,
                    a: a.clone(),
                    b: b.clone(),
                }),
                _ => continue,
            },
            (
                FloatOp::Linear {
                    weights,
                    bias,
                    channels,
                    geometry,
                    ..
                },
                FloatOp::Affine { scale, offset },
            ) => match per_channel(scale, offset, *channels, geometry) {
                Some(affine) => {
                    let taps = weights.len() / channels;
                    let mut w = weights.clone();
                    let mut b = bias.clone();
                    for (c, (s, o)) in affine.into_iter().enumerate() {
                        w[c * taps..(c + 1) * taps].iter_mut().for_each(|v| *v *= s);
                        b[c] = b[c] * s + o;
                    }
                    Fold::IntoPrevious(FloatOp::Linear {
                        weights: w,
                        bias: b,
                        channels: *channels,
                        geometry: geometry.clone(),
                        // The affine's scale and offset (a normalisation's trained values) are
                        // now part of the weights.
                        structural: false,
                    })
                }
                None => continue,
            },
            _ => continue,
        };
        apply(g, p, index, folded);
        return true;
    }
    false
}

enum Fold {
    /// Replace this node's operator and let it read what the previous node read.
    IntoThis(FloatOp),
    /// Replace the previous node's operator and let readers of this node read it instead.
    IntoPrevious(FloatOp),
}

fn apply(g: &mut Graph, previous: usize, this: usize, fold: Fold) {
    match fold {
        Fold::IntoThis(op) => {
            let source = g.nodes[previous].inputs[0];
            g.nodes[this].op = op;
            g.nodes[this].inputs[0] = source;
            g.nodes.remove(previous);
        }
        Fold::IntoPrevious(op) => {
            let (from, to) = (g.nodes[this].output, g.nodes[previous].output);
            g.nodes[previous].op = op;
            g.nodes.remove(this);
            for node in &mut g.nodes {
                node.inputs
                    .iter_mut()
                    .filter(|i| **i == from)
                    .for_each(|i| *i = to);
            }
            if g.output == from {
                g.output = to;
                g.tensors[to].name = g.tensors[from].name.clone();
            }
        }
    }
}

/// The affine as one `(scale, offset)` per output channel of a linear node, if it is constant
/// within each channel.
fn per_channel(
    scale: &[f32],
    offset: &[f32],
    channels: usize,
    geometry: &LinearGeometry,
) -> Option<Vec<(f32, f32)>> {
    let len = scale.len();
    let channel_of = |i: usize| match geometry {
        LinearGeometry::Rows { .. } => i % channels,
        LinearGeometry::Conv(_) | LinearGeometry::Groups { .. } => i / (len / channels),
    };
    let mut out: Vec<Option<(f32, f32)>> = vec![None; channels];
    for i in 0..len {
        let pair = (scale[i], offset[i]);
        match &mut out[channel_of(i)] {
            slot @ None => *slot = Some(pair),
            Some(existing) if *existing == pair => {}
            Some(_) => return None,
        }
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{FloatNode, Function, Tabulated, TensorSpec};

    fn node(name: &str, op: FloatOp, inputs: Vec<ValueId>, output: ValueId) -> FloatNode {
        FloatNode {
            name: name.into(),
            op,
            inputs,
            output,
        }
    }

    #[test]
    fn gelu_folds_into_one_table_and_a_product() {
        let n = 3;
        let affine = |s: f32, o: f32| FloatOp::Affine {
            scale: vec![s; n],
            offset: vec![o; n],
        };
        let spec = |name: &str| TensorSpec {
            name: name.into(),
            shape: vec![n],
        };
        let graph = Graph {
            tensors: ["x", "d", "e", "a", "m", "y"]
                .iter()
                .map(|s| spec(s))
                .collect(),
            nodes: vec![
                node("div", affine(1.0 / 2f32.sqrt(), 0.0), vec![0], 1),
                node(
                    "erf",
                    FloatOp::Function(Tabulated::plain(Function::Erf)),
                    vec![1],
                    2,
                ),
                node("add", affine(1.0, 1.0), vec![2], 3),
                node(
                    "mul",
                    FloatOp::Binary {
                        op: crate::graph::BinaryOp::Mul,
                        a: vec![0, 1, 2],
                        b: vec![0, 1, 2],
                    },
                    vec![0, 3],
                    4,
                ),
                node("half", affine(0.5, 0.0), vec![4], 5),
            ],
            output: 5,
        };
        let folded = fold_affines(&graph);
        assert_eq!(folded.nodes.len(), 3, "{:?}", folded.nodes);
        for x in [-2.0f32, -0.3, 0.0, 1.7] {
            let input = vec![x; n];
            let (a, b) = (graph.forward(&input), folded.forward(&input));
            assert!((a[0] - b[0]).abs() < 1e-6, "{a:?} {b:?}");
        }
    }
}
