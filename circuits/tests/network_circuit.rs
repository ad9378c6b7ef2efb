//! The network circuit proves exactly what the integer forward pass computes.

use std::sync::Arc;

use halo2_proofs::dev::{MockProver, VerifyFailure};
use pasta_curves::Fp;
use proptest::prelude::*;
use zkinfer_circuits::{
    builder::{dense, Conv2d, NetworkBuilder},
    ops::{GatherOp, ProductOp, TableOp},
    shape::{Dense32x16, Tiny},
    testing::assert_rejected_by,
    CircuitWitness, FunctionTable, Layout, Network, NetworkCircuit, Op, Shape, UnitKind, UnitMode,
    UnitOp,
};

/// A deterministic pseudo-random generator (tests stay reproducible).
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

/// Dense layers, each followed by a rescale (and a ReLU on all but the last).
fn mlp(dims: &[usize], shift: u32, relu: bool, seed: u64, weight_range: i64) -> Network {
    let mut rng = Lcg(seed);
    let (mut b, mut x) = NetworkBuilder::new("input", vec![dims[0]]);
    for (l, d) in dims.windows(2).enumerate() {
        let linear = dense(
            d[0],
            d[1],
            rng.vec(d[0] * d[1], weight_range),
            rng.vec(d[1], weight_range * 8),
        );
        let acc = b.push(&format!("fc{l}"), Op::Linear(linear), vec![x], vec![d[1]]);
        let last = l + 2 == dims.len();
        let unit = UnitOp::elementwise(d[1], UnitKind::rescale(shift, relu && !last));
        x = b.push(&format!("act{l}"), Op::Unit(unit), vec![acc], vec![d[1]]);
    }
    b.finish(x)
}

struct Setup<S: Shape> {
    circuit: NetworkCircuit<S>,
    layout: Arc<Layout>,
    witness: CircuitWitness,
    k: u32,
}

fn setup<S: Shape>(network: Network, input: &[i64]) -> Setup<S> {
    network.validate().unwrap();
    let network = Arc::new(network);
    let layout = Arc::new(Layout::new(&network, S::PARAMS).unwrap());
    let trace = network.forward(input).unwrap();
    let witness = CircuitWitness::new(&network, &layout, &trace).unwrap();
    let k = NetworkCircuit::<S>::min_k::<Fp>(&layout);
    Setup {
        circuit: NetworkCircuit::new(network, layout.clone()),
        layout,
        witness,
        k,
    }
}

impl<S: Shape> Setup<S> {
    fn check(&self, witness: &CircuitWitness, public: &[i64]) -> Result<(), Vec<VerifyFailure>> {
        let circuit = self.circuit.with_witness(Arc::new(witness.clone()));
        let instances = self.layout.instances::<Fp>(public);
        MockProver::run(self.k, &circuit, instances)
            .unwrap()
            .verify()
    }
    fn check_honest(&self) -> Result<(), Vec<VerifyFailure>> {
        self.check(&self.witness, &self.witness.public)
    }
}

fn small_mlp() -> (Network, Vec<i64>) {
    (mlp(&[7, 5, 3], 4, true, 7, 20), vec![3, -1, 4, 1, -5, 9, 2])
}

#[test]
fn honest_small_mlp_passes() {
    let (network, input) = small_mlp();
    let s = setup::<Tiny>(network, &input);
    assert_eq!(s.check_honest(), Ok(()));
}

#[test]
fn changed_public_output_or_input_is_rejected() {
    let (network, input) = small_mlp();
    let s = setup::<Tiny>(network, &input);
    let mut public = s.witness.public.clone();
    *public.last_mut().unwrap() += 1;
    assert_rejected_by(&s.check(&s.witness, &public), &["permutation"]);
    let mut public = s.witness.public.clone();
    public[2] += 1;
    assert_rejected_by(&s.check(&s.witness, &public), &["permutation"]);
}

#[test]
fn changed_intermediate_accumulator_is_rejected() {
    let (network, input) = small_mlp();
    let s = setup::<Tiny>(network, &input);
    let mut witness = s.witness.clone();
    // Row 1 holds the first input chunk of layer 0: an intermediate, not a final, accumulator.
    witness.tile_rows[1].accumulators[0] += 1;
    assert_rejected_by(&s.check(&witness, &s.witness.public), &["dense mac"]);
}

#[test]
fn unit_rescaling_another_value_than_its_wired_operand_is_rejected() {
    let (network, input) = small_mlp();
    let s = setup::<Tiny>(network, &input);
    let mut witness = s.witness.clone();
    let kind = UnitKind::rescale(4, true);
    let unit = &mut witness.units[0];
    *unit = zkinfer_circuits::unit::UnitWitness::honest(&kind, unit.a + 16, 0).unwrap();
    assert_rejected_by(&s.check(&witness, &s.witness.public), &["permutation"]);
}

#[test]
fn hidden_activation_changed_consistently_downstream_is_still_rejected() {
    // Change a hidden activation and recompute everything after it honestly: only the unit that
    // produced it can notice, and it does.
    let (network, input) = small_mlp();
    let s = setup::<Tiny>(network.clone(), &input);
    let mut trace = network.forward(&input).unwrap();
    let hidden = network.nodes[1].output;
    trace.values[hidden][1] += 1;
    for node in &network.nodes[2..] {
        let x = trace.values[node.inputs[0]].clone();
        trace.values[node.output] = match &node.op {
            Op::Linear(op) => op.eval(&x),
            Op::Unit(op) => op
                .eval(&x, None)
                .unwrap()
                .into_iter()
                .map(|u| u.y)
                .collect(),
            _ => unreachable!(),
        };
    }
    let mut witness = CircuitWitness::new(&network, &s.layout, &trace).unwrap();
    // The unit keeps its honest digits (for its honest accumulator) but claims another output.
    witness.units[1] = s.witness.units[1].clone();
    witness.units[1].y += 1;
    assert_rejected_by(&s.check(&witness, &witness.public), &["unit output"]);
}

#[test]
fn mlp_on_the_dense_shape_passes_and_uses_the_expected_rows() {
    let network = mlp(&[64, 32, 10], 6, true, 11, 30);
    let input: Vec<i64> = (0..64).map(|i| (i * 37 % 200) - 100).collect();
    let s = setup::<Dense32x16>(network, &input);
    // 64 inputs = 2 chunks, 32 outputs = 2 blocks -> 4 rows; 32 -> 10: 1 chunk, 1 block.
    assert_eq!(s.layout.tile_rows, 1 + 5);
    assert_eq!(s.layout.unit_slots, 42);
    assert_eq!(s.check_honest(), Ok(()));
}

/// A 3 × 3 convolution with stride 1 and padding 1 (output the size of the input).
fn same_3x3(in_channels: usize, input: (usize, usize)) -> Conv2d {
    Conv2d {
        in_channels,
        input,
        kernel: (3, 3),
        stride: (1, 1),
        pads: [1, 1, 1, 1],
        dilation: (1, 1),
        groups: 1,
    }
}

/// conv 3×3 (pad 1) → rescale+ReLU → 2×2 max pool (max units) → residual-style add with a
/// gathered slice → product with itself (x·xᵀ-like) → table → output, on 1×4×4 input.
fn every_engine() -> (Network, Vec<i64>) {
    let mut rng = Lcg(3);
    let (mut b, x) = NetworkBuilder::new("image", vec![1, 1, 4, 4]);
    let conv = same_3x3(1, (4, 4));
    let acc = b.push(
        "conv",
        Op::Linear(conv.linear(2, rng.vec(18, 9), rng.vec(2, 30))),
        vec![x],
        vec![1, 2, 4, 4],
    );
    let act = b.push(
        "relu",
        Op::Unit(UnitOp::elementwise(32, UnitKind::rescale(3, true))),
        vec![acc],
        vec![1, 2, 4, 4],
    );
    // max over 2×2 windows: two rounds of pairwise max.
    let max_kind = UnitKind {
        mode: UnitMode::Rescale { shift: 0 },
        cb: -1,
        out_b: 1,
        ..UnitKind::rescale(0, true)
    };
    let idx = |c: usize, y: usize, x: usize| (c * 16 + y * 4 + x) as u32;
    let (mut a1, mut b1, mut a2, mut b2) = (vec![], vec![], vec![], vec![]);
    for c in 0..2 {
        for py in 0..2 {
            for px in 0..2 {
                a1.push(idx(c, 2 * py, 2 * px));
                b1.push(idx(c, 2 * py, 2 * px + 1));
                a2.push(idx(c, 2 * py + 1, 2 * px));
                b2.push(idx(c, 2 * py + 1, 2 * px + 1));
            }
        }
    }
    let max_op = |a, b_| UnitOp {
        a,
        b: b_,
        kinds: vec![max_kind],
        kind_of: vec![],
        with_remainder: false,
    };
    let top = b.push("max_top", Op::Unit(max_op(a1, b1)), vec![act, act], vec![8]);
    let bottom = b.push(
        "max_bottom",
        Op::Unit(max_op(a2, b2)),
        vec![act, act],
        vec![8],
    );
    let pooled = b.push(
        "max",
        Op::Unit(max_op((0..8).collect(), (0..8).collect())),
        vec![top, bottom],
        vec![1, 2, 2, 2],
    );
    // y = pooled + reverse(pooled) through a gather and an add unit.
    let reversed = b.push(
        "reverse",
        Op::Gather(GatherOp {
            sources: (0..8).rev().map(|i| (0u8, i)).collect(),
        }),
        vec![pooled],
        vec![8],
    );
    let add = UnitOp {
        a: (0..8).collect(),
        b: (0..8).collect(),
        kinds: vec![UnitKind {
            cb: 1,
            ..UnitKind::rescale(1, false)
        }],
        kind_of: vec![],
        with_remainder: false,
    };
    let sum = b.push("add", Op::Unit(add), vec![pooled, reversed], vec![2, 4]);
    // 2×4 · (2×4)ᵀ -> 2×2 dot products of length 4.
    let (mut pa, mut pb) = (vec![], vec![]);
    for i in 0..2u32 {
        for j in 0..2u32 {
            for k in 0..4u32 {
                pa.push(i * 4 + k);
                pb.push(j * 4 + k);
            }
        }
    }
    let gram = b.push(
        "gram",
        Op::Product(ProductOp {
            terms: 4,
            a: pa,
            b: pb,
        }),
        vec![sum, sum],
        vec![2, 2],
    );
    let small = b.push(
        "scale",
        Op::Unit(UnitOp::elementwise(4, UnitKind::rescale(12, false))),
        vec![gram],
        vec![4],
    );
    let table = b.table(FunctionTable {
        name: "cube".into(),
        lo: -20,
        values: (-20i64..=20).map(|v| v * v * v).collect(),
    });
    let out = b.push("cube", Op::Table(TableOp { table }), vec![small], vec![4]);
    (b.finish(out), rng.vec(16, 100))
}

#[test]
fn every_engine_together_agrees_with_the_forward_pass() {
    let (network, input) = every_engine();
    let s = setup::<Tiny>(network.clone(), &input);
    let trace = network.forward(&input).unwrap();
    assert_eq!(&s.witness.public[16..], trace.output());
    assert!(
        trace.output().iter().any(|&v| v != 0),
        "a degenerate test network"
    );
    assert_eq!(s.check_honest(), Ok(()));
}

#[test]
fn corrupted_product_or_lookup_is_rejected() {
    let (network, input) = every_engine();
    let s = setup::<Tiny>(network, &input);
    let mut witness = s.witness.clone();
    witness.product_rows[1].acc += 1;
    assert_rejected_by(&s.check(&witness, &s.witness.public), &["product mac"]);
    let mut witness = s.witness.clone();
    witness.lookups[0].1 += 1;
    let mut public = s.witness.public.clone();
    public[16] += 1;
    assert_rejected_by(&s.check(&witness, &public), &["lookup"]);
}

#[test]
fn packed_small_windows_are_proven_and_checked() {
    // Two channels of 1×4, depthwise windows of 2: four chains of 2 taps, packed two per row.
    let pool = Conv2d {
        in_channels: 2,
        input: (1, 4),
        kernel: (1, 2),
        stride: (1, 2),
        pads: [0; 4],
        dilation: (1, 1),
        groups: 2,
    };
    let (mut b, x) = NetworkBuilder::new("x", vec![1, 2, 1, 4]);
    let acc = b.push(
        "pool",
        Op::Linear(pool.linear(2, vec![3, -1, 2, 5], vec![1, -2])),
        vec![x],
        vec![1, 2, 1, 2],
    );
    let y = b.push(
        "act",
        Op::Unit(UnitOp::elementwise(4, UnitKind::rescale(1, false))),
        vec![acc],
        vec![4],
    );
    let s = setup::<Tiny>(b.finish(y), &[1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(s.layout.tile_rows, 1 + 2);
    assert_eq!(
        s.witness.tile_rows[1].accumulators,
        vec![3 - 2 + 1, 9 - 4 + 1]
    );
    assert_eq!(s.check_honest(), Ok(()));
    let mut witness = s.witness.clone();
    witness.tile_rows[2].accumulators[1] += 1;
    assert!(
        !zkinfer_circuits::testing::failed_checks(&s.check(&witness, &s.witness.public)).is_empty()
    );
    assert!(
        zkinfer_circuits::testing::failed_checks(&s.check(&witness, &s.witness.public))
            .contains("dense mac")
    );
}

#[test]
fn shapes_without_an_engine_refuse_the_network() {
    let (network, _) = every_engine();
    let err = Layout::new(&network, Dense32x16::PARAMS).unwrap_err();
    assert_eq!((err.node.as_str(), err.engine), ("gram", "product chip"));
}

#[test]
fn out_of_range_activation_is_refused_by_the_forward_pass() {
    let (mut b, x) = NetworkBuilder::new("input", vec![1]);
    let acc = b.push(
        "big",
        Op::Linear(dense(1, 1, vec![1000], vec![0])),
        vec![x],
        vec![1],
    );
    let y = b.push(
        "act",
        Op::Unit(UnitOp::elementwise(1, UnitKind::rescale(0, false))),
        vec![acc],
        vec![1],
    );
    let network = b.finish(y);
    network.validate().unwrap();
    let err = network.forward(&[100]).unwrap_err().to_string();
    assert!(
        err.contains("node 'act'") && err.contains("100000"),
        "{err}"
    );
}

/// A 3 × 3 convolution with 3 output channels over a 2 × 6 × 6 input, then rescale and ReLU:
/// 108 units, spread over every unit lane of any shape.
fn small_cnn() -> (Network, Vec<i64>) {
    let mut rng = Lcg(11);
    let (mut b, x) = NetworkBuilder::new("image", vec![1, 2, 6, 6]);
    let conv = same_3x3(2, (6, 6));
    let acc = b.push(
        "conv",
        Op::Linear(conv.linear(3, rng.vec(54, 9), rng.vec(3, 30))),
        vec![x],
        vec![1, 3, 6, 6],
    );
    let relu = b.push(
        "relu",
        Op::Unit(UnitOp::elementwise(108, UnitKind::rescale(3, true))),
        vec![acc],
        vec![1, 3, 6, 6],
    );
    (b.finish(relu), Lcg(12).vec(72, 40))
}

#[test]
fn every_shape_proves_a_small_cnn_and_rejects_a_changed_output() {
    for &shape in zkinfer_circuits::ShapeKind::ALL {
        let (network, input) = small_cnn();
        zkinfer_circuits::with_shape!(shape, S => {
            let s = setup::<S>(network, &input);
            assert_eq!(s.check_honest(), Ok(()), "{shape:?}");
            let mut public = s.witness.public.clone();
            *public.last_mut().unwrap() += 1;
            assert_rejected_by(&s.check(&s.witness, &public), &["permutation"]);
        });
    }
}

#[test]
fn shape_column_counts_match_the_constraint_system() {
    use halo2_proofs::plonk::{Circuit, ConstraintSystem};
    for &shape in zkinfer_circuits::ShapeKind::ALL {
        let pinned = zkinfer_circuits::with_shape!(shape, S => {
            let mut meta = ConstraintSystem::<Fp>::default();
            NetworkCircuit::<S>::configure(&mut meta);
            format!("{:?}", meta.pinned())
        });
        let p = shape.params();
        assert!(
            pinned.contains(&format!("num_advice_columns: {}", p.advice_columns())),
            "{shape:?}"
        );
        assert!(
            pinned.contains(&format!("num_fixed_columns: {}", p.fixed_columns())),
            "{shape:?}"
        );
        assert!(
            pinned.contains(&format!("num_instance_columns: {}", p.instance_columns)),
            "{shape:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    /// On random small MLPs the circuit accepts exactly the forward pass's output.
    #[test]
    fn circuit_agrees_with_forward_pass(
        dims in prop::collection::vec(1usize..10, 2..5),
        seed in any::<u64>(),
        shift in 0u32..9,
        relu in any::<bool>(),
        input_seed in any::<u64>(),
    ) {
        let network = mlp(&dims, shift, relu, seed, 15);
        let input = Lcg(input_seed).vec(dims[0], 60);
        let trace = network.forward(&input);
        // Activations out of range are refused before any circuit is built (tested above).
        prop_assume!(trace.is_ok());
        let trace = trace.unwrap();
        let s = setup::<Tiny>(network, &input);
        prop_assert_eq!(&s.witness.public[dims[0]..], trace.output());
        prop_assert_eq!(s.check_honest(), Ok(()));
        let mut wrong = s.witness.public.clone();
        *wrong.last_mut().unwrap() -= 1;
        prop_assert!(s.check(&s.witness, &wrong).is_err());
    }
}
