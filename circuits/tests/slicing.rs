//! Cutting operators into parts and networks into linked slices computes exactly what the whole
//! network computes, and every slice's circuit holds its link values to its own computation.

use std::sync::Arc;

use halo2_proofs::dev::{MockProver, VerifyFailure};
use pasta_curves::Fp;
use proptest::prelude::*;
use zkinfer_circuits::{
    builder::{dense, Conv2d, NetworkBuilder},
    ops::{GatherOp, ProductOp, TableOp},
    shape::Tiny,
    slicing::{SliceGraph, Slicing},
    split::{split_nodes, EngineUse},
    testing::assert_rejected_by,
    CircuitWitness, FunctionTable, Layout, Network, NetworkCircuit, Op, Shape, UnitKind, UnitMode,
    UnitOp,
};

/// A deterministic pseudo-random generator.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, range: i64) -> i64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as i64).rem_euclid(2 * range + 1) - range
    }
    fn vec(&mut self, n: usize, range: i64) -> Vec<i64> {
        (0..n).map(|_| self.next(range)).collect()
    }
}

/// A small residual CNN using every engine: two convolutions (the second grouped), ReLU
/// rescales, a residual add (a two-operand unit), a flatten, a dense layer, a product of two
/// activations, a table lookup and a division with its remainder.
fn residual_cnn(seed: u64) -> Network {
    let mut rng = Lcg(seed);
    let (mut b, x) = NetworkBuilder::new("input", vec![2, 6, 6]);
    let conv = |in_channels, groups| Conv2d {
        in_channels,
        input: (6, 6),
        kernel: (3, 3),
        stride: (1, 1),
        pads: [1, 1, 1, 1],
        dilation: (1, 1),
        groups,
    };
    let c1 = conv(2, 1);
    let h = b.push(
        "conv1",
        Op::Linear(c1.linear(4, rng.vec(4 * c1.taps(), 20), rng.vec(4, 50))),
        vec![x],
        vec![4, 6, 6],
    );
    let a1 = b.push(
        "relu1",
        Op::Unit(UnitOp::elementwise(144, UnitKind::rescale(5, true))),
        vec![h],
        vec![4, 6, 6],
    );
    let c2 = conv(4, 2);
    let h2 = b.push(
        "conv2",
        Op::Linear(c2.linear(4, rng.vec(4 * c2.taps(), 20), rng.vec(4, 50))),
        vec![a1],
        vec![4, 6, 6],
    );
    let a2 = b.push(
        "relu2",
        Op::Unit(UnitOp::elementwise(144, UnitKind::rescale(5, true))),
        vec![h2],
        vec![4, 6, 6],
    );
    // Residual: relu(a1 + a2).
    let add = UnitKind {
        mode: UnitMode::Rescale { shift: 0 },
        cb: 1,
        ..UnitKind::rescale(0, true)
    };
    let sum = b.push(
        "add",
        Op::Unit(UnitOp {
            a: (0..144).collect(),
            b: (0..144).collect(),
            kinds: vec![add],
            kind_of: Vec::new(),
            with_remainder: false,
        }),
        vec![a1, a2],
        vec![4, 6, 6],
    );
    let flat = b.push(
        "flatten",
        Op::Gather(GatherOp {
            sources: (0..144).map(|i| (0, i)).collect(),
        }),
        vec![sum],
        vec![144],
    );
    let fc = b.push(
        "fc",
        Op::Linear(dense(144, 6, rng.vec(6 * 144, 6), rng.vec(6, 50))),
        vec![flat],
        vec![6],
    );
    let logits = b.push(
        "rescale",
        Op::Unit(UnitOp::elementwise(6, UnitKind::rescale(7, false))),
        vec![fc],
        vec![6],
    );
    // A coarse copy of the first activation feeds a product, a table and a division.
    let coarse = b.push(
        "coarse",
        Op::Unit(UnitOp::elementwise(144, UnitKind::rescale(6, false))),
        vec![a1],
        vec![144],
    );
    let prod = b.push(
        "product",
        Op::Product(ProductOp {
            terms: 3,
            a: (0..12).collect(),
            b: (12..24).collect(),
        }),
        vec![coarse, coarse],
        vec![4],
    );
    let scaled = b.push(
        "scale",
        Op::Unit(UnitOp::elementwise(4, UnitKind::rescale(2, false))),
        vec![prod],
        vec![4],
    );
    let few = b.push(
        "few",
        Op::Gather(GatherOp {
            sources: (0..8).map(|i| (0, i * 7)).collect(),
        }),
        vec![coarse],
        vec![8],
    );
    let table = b.table(FunctionTable {
        name: "square".into(),
        lo: -64,
        values: (-64..64i64).map(|v| v * v / 16).collect(),
    });
    let looked = b.push("table", Op::Table(TableOp { table }), vec![few], vec![8]);
    let divisor_kind = UnitKind {
        out_c: 1,
        ..UnitKind::rescale(0, true)
    };
    let divisor = b.push(
        "divisor",
        Op::Unit(UnitOp::elementwise(4, divisor_kind)),
        vec![scaled],
        vec![4],
    );
    let divide = UnitKind {
        mode: UnitMode::Divide,
        ..UnitKind::rescale(0, false)
    };
    let quotient = b.push(
        "divide",
        Op::Unit(UnitOp {
            a: (0..4).collect(),
            b: (0..4).collect(),
            kinds: vec![divide],
            kind_of: Vec::new(),
            with_remainder: true,
        }),
        vec![looked, divisor],
        vec![8],
    );
    // Its check: divisor − remainder − 1 ≥ 0.
    b.push(
        "divide/check",
        Op::Unit(UnitOp {
            a: (0..4).map(|i| 2 * i + 1).collect(),
            b: (0..4).collect(),
            kinds: vec![UnitKind {
                ca: -1,
                cb: 1,
                c0: -1,
                nonneg: true,
                linear: 0,
                ..UnitKind::rescale(0, false)
            }],
            kind_of: Vec::new(),
            with_remainder: false,
        }),
        vec![quotient, divisor],
        vec![4],
    );
    let out = b.push(
        "output",
        Op::Gather(GatherOp {
            sources: (0..6)
                .map(|i| (0, i))
                .chain((0..8).map(|i| (1, i)))
                .collect(),
        }),
        vec![logits, quotient],
        vec![14],
    );
    b.finish(out)
}

fn input(seed: u64) -> Vec<i64> {
    Lcg(seed).vec(72, 60)
}

/// Rows of the longest operator of `network` on the tiny shape.
fn largest_operator(network: &Network) -> usize {
    network
        .nodes
        .iter()
        .map(|n| EngineUse::of(n, network, &Tiny::PARAMS).rows(&Tiny::PARAMS))
        .max()
        .unwrap()
}

#[test]
fn split_operators_compute_the_same_tensors() {
    let network = residual_cnn(1);
    network.validate().unwrap();
    let x = input(2);
    let whole = network.forward(&x).unwrap();
    for max_rows in [2, 3, 9, 30, 100] {
        let split = split_nodes(&network, &Tiny::PARAMS, max_rows).unwrap();
        split.validate().unwrap();
        assert!(largest_operator(&split) <= max_rows, "max_rows {max_rows}");
        let trace = split.forward(&x).unwrap();
        for (t, values) in whole.values.iter().enumerate() {
            assert_eq!(&trace.values[t], values, "tensor {t}, max_rows {max_rows}");
        }
    }
    // One row per operator cannot hold a tile chain: a clear error, no panic.
    let error = split_nodes(&network, &Tiny::PARAMS, 1).unwrap_err();
    assert!(error.to_string().contains("raise --max-k"), "{error}");
}

/// The network split for `max_rows`, and its slicing.
fn sliced(network: &Network, max_rows: usize) -> (SliceGraph, Slicing) {
    let split = split_nodes(network, &Tiny::PARAMS, max_rows / 4).unwrap();
    let graph = SliceGraph::new(split, Tiny::PARAMS).unwrap();
    let starts = graph.plan(max_rows, None).unwrap();
    let slicing = graph.slice(&starts).unwrap();
    (graph, slicing)
}

#[test]
fn slices_compute_the_whole_networks_values() {
    let network = residual_cnn(3);
    let x = input(4);
    let whole = network.forward(&x).unwrap();
    for max_rows in [140, 300, 500] {
        let (graph, slicing) = sliced(&network, max_rows);
        assert!(slicing.slices.len() >= 2, "max_rows {max_rows}");
        let full = graph.network().forward(&x).unwrap();
        for slice in &slicing.slices {
            let layout = Layout::new(&slice.network, Tiny::PARAMS).unwrap();
            assert!(layout.rows() <= max_rows, "slice {} rows", slice.index);
            let link_in = slicing.link_in_values(slice.index, &full.values);
            let trace = slice.network.forward_linked(&x, &link_in).unwrap();
            let links = slice.network.links.as_ref().unwrap();
            let link_out = links
                .output
                .map_or_else(Vec::new, |t| trace.values[t].clone());
            assert_eq!(link_out, slicing.link_out_values(slice.index, &full.values));
            // Every operator's output equals the whole network's.
            for node in &slice.network.nodes {
                if let Some(original) = graph
                    .network()
                    .nodes
                    .iter()
                    .find(|n| n.name == node.name && !matches!(n.op, Op::Gather(_)))
                {
                    assert_eq!(
                        trace.values[node.output], full.values[original.output],
                        "{}",
                        node.name
                    );
                }
            }
            if slice.index + 1 == slicing.slices.len() {
                assert_eq!(trace.output(), whole.output());
            }
        }
        // Every link goes forward, and what crosses is what the links carry.
        assert!(slicing.links.iter().all(|l| l.from < l.to));
    }
}

#[test]
fn a_residual_cut_carries_several_tensors() {
    let network = residual_cnn(5);
    let (graph, slicing) = sliced(&network, 200);
    let carried: std::collections::BTreeSet<_> = slicing
        .links
        .iter()
        .flat_map(|l| {
            l.elements
                .iter()
                .map(|&(t, _)| graph.network().tensors[t].name.clone())
        })
        .collect();
    assert!(carried.len() >= 2, "{carried:?}");
}

/// A slice's circuit, its layout and its honest witness.
type SliceCircuit = (NetworkCircuit<Tiny>, Arc<Layout>, CircuitWitness);

/// The circuit of every slice at the common `k`, with its honest witness.
fn slice_circuits(network: &Network, x: &[i64], max_rows: usize) -> (u32, Vec<SliceCircuit>) {
    let (graph, slicing) = sliced(network, max_rows);
    let full = graph.network().forward(x).unwrap();
    let layouts: Vec<Layout> = slicing
        .slices
        .iter()
        .map(|s| Layout::new(&s.network, Tiny::PARAMS).unwrap())
        .collect();
    let k = layouts
        .iter()
        .map(NetworkCircuit::<Tiny>::min_k::<Fp>)
        .max()
        .unwrap();
    let usable = (1usize << k) - NetworkCircuit::<Tiny>::reserved_rows::<Fp>();
    let circuits = slicing
        .slices
        .iter()
        .zip(layouts)
        .map(|(slice, layout)| {
            let layout = Arc::new(layout.with_link_columns(&slice.network, usable));
            let network = Arc::new(slice.network.clone());
            let link_in = slicing.link_in_values(slice.index, &full.values);
            let trace = network.forward_linked(x, &link_in).unwrap();
            let witness = CircuitWitness::new(&network, &layout, &trace).unwrap();
            (
                NetworkCircuit::new(network, layout.clone()),
                layout,
                witness,
            )
        })
        .collect();
    (k, circuits)
}

fn mock(
    k: u32,
    circuit: &NetworkCircuit<Tiny>,
    layout: &Layout,
    witness: &CircuitWitness,
) -> Result<(), Vec<VerifyFailure>> {
    let instances = witness.instances(layout);
    MockProver::run(
        k,
        &circuit.with_witness(Arc::new(witness.clone())),
        instances,
    )
    .unwrap()
    .verify()
}

#[test]
fn honest_slices_pass_and_corrupted_links_are_rejected() {
    let network = residual_cnn(7);
    let x = input(8);
    let (k, circuits) = slice_circuits(&network, &x, 200);
    assert!(circuits.len() >= 2);
    for (i, (circuit, layout, witness)) in circuits.iter().enumerate() {
        assert_eq!(mock(k, circuit, layout, witness), Ok(()), "slice {i}");
        // A link-out value that is not the computed one.
        if !witness.link_out.is_empty() {
            let mut forged = witness.clone();
            let last = forged.link_out.len() - 1;
            forged.link_out[last] += 1;
            assert_rejected_by(&mock(k, circuit, layout, &forged), &["permutation"]);
        }
        // A link-in value that the slice's operators did not read.
        if !witness.link_in.is_empty() {
            let mut forged = witness.clone();
            forged.link_in[0] -= 1;
            assert!(mock(k, circuit, layout, &forged).is_err(), "slice {i}");
        }
    }
}

#[test]
fn link_columns_are_the_last_advice_columns() {
    let network = residual_cnn(9);
    let x = input(10);
    let (_, circuits) = slice_circuits(&network, &x, 200);
    let advice = Tiny::PARAMS.advice_columns();
    for (circuit, layout, _) in &circuits {
        let (link_in, link_out) = circuit.link_column_indices::<Fp>();
        assert_eq!(link_in.len(), layout.links.input_columns());
        assert_eq!(link_out.len(), layout.links.output_columns());
        let expected: Vec<usize> = (advice..advice + layout.links.columns()).collect();
        assert_eq!([link_in, link_out].concat(), expected);
    }
}

#[test]
fn asking_for_more_or_fewer_slices_than_possible_is_refused() {
    let network = residual_cnn(11);
    let split = split_nodes(&network, &Tiny::PARAMS, 50).unwrap();
    let graph = SliceGraph::new(split, Tiny::PARAMS).unwrap();
    let fewest = graph.plan(200, None).unwrap().len();
    assert!(graph.plan(200, Some(fewest - 1)).is_err());
    assert_eq!(graph.plan(200, Some(fewest + 1)).unwrap().len(), fewest + 1);
    // A slice smaller than the function table cannot hold the lookup.
    let error = graph.plan(100, None).unwrap_err();
    assert!(error.to_string().contains("'table"), "{error}");
    let too_many = graph.operators() + 1;
    let error = graph.plan(10_000, Some(too_many)).unwrap_err();
    assert!(error.to_string().contains("slices asked for"), "{error}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Random weights, inputs and slice sizes: slices always reproduce the whole forward pass.
    #[test]
    fn random_slicings_reproduce_the_forward_pass(seed in 0u64..1000, max_rows in 140usize..600) {
        let network = residual_cnn(seed);
        let x = input(seed + 1);
        let whole = network.forward(&x).unwrap();
        let (graph, slicing) = sliced(&network, max_rows);
        let full = graph.network().forward(&x).unwrap();
        let last = slicing.slices.last().unwrap();
        let link_in = slicing.link_in_values(last.index, &full.values);
        let trace = last.network.forward_linked(&x, &link_in).unwrap();
        prop_assert_eq!(trace.output(), whole.output());
    }
}
