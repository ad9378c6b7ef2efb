//! The network circuit proves exactly what the integer forward pass computes.

use std::sync::Arc;

use halo2_proofs::dev::{MockProver, VerifyFailure};
use pasta_curves::Fp;
use proptest::prelude::*;
use zkinfer_circuits::{
    shape::{Tile32x16, Tile4x2},
    testing::assert_rejected_by,
    CircuitWitness, DenseLayer, Layout, Network, NetworkCircuit, Shape,
};

/// A deterministic pseudo-random generator for weights (tests stay reproducible).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, range: i64) -> i64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as i64).rem_euclid(2 * range + 1) - range
    }
}

fn random_network(
    dims: &[usize],
    shifts: &[u32],
    relus: &[bool],
    seed: u64,
    weight_range: i64,
) -> Network {
    let mut rng = Lcg(seed);
    let layers = dims
        .windows(2)
        .enumerate()
        .map(|(l, d)| DenseLayer {
            name: format!("fc{l}"),
            inputs: d[0],
            outputs: d[1],
            weights: (0..d[0] * d[1]).map(|_| rng.next(weight_range)).collect(),
            bias: (0..d[1]).map(|_| rng.next(weight_range * 8)).collect(),
            shift: shifts[l],
            relu: relus[l],
        })
        .collect();
    Network {
        input_len: dims[0],
        layers,
    }
}

struct Setup<S: Shape> {
    circuit: NetworkCircuit<S>,
    network: Arc<Network>,
    layout: Arc<Layout>,
    witness: CircuitWitness,
    k: u32,
}

fn setup<S: Shape>(network: Network, input: &[i64]) -> Setup<S> {
    network.validate().unwrap();
    let network = Arc::new(network);
    let layout = Arc::new(Layout::new(&network, S::PARAMS));
    let trace = network.forward(input).unwrap();
    let witness = CircuitWitness::new(&network, &layout, &trace);
    let k = NetworkCircuit::<S>::min_k::<Fp>(&layout);
    Setup {
        circuit: NetworkCircuit::new(network.clone(), layout.clone()),
        network,
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

fn mlp() -> (Network, Vec<i64>) {
    let network = random_network(&[7, 5, 3], &[4, 3], &[true, false], 7, 20);
    (network, vec![3, -1, 4, 1, -5, 9, 2])
}

#[test]
fn honest_small_mlp_passes() {
    let (network, input) = mlp();
    let s = setup::<Tile4x2>(network, &input);
    assert_eq!(s.check_honest(), Ok(()));
}

#[test]
fn changed_public_output_is_rejected() {
    let (network, input) = mlp();
    let s = setup::<Tile4x2>(network, &input);
    let mut public = s.witness.public.clone();
    *public.last_mut().unwrap() += 1;
    assert_rejected_by(&s.check(&s.witness, &public), &["permutation"]);
}

#[test]
fn changed_public_input_is_rejected() {
    let (network, input) = mlp();
    let s = setup::<Tile4x2>(network, &input);
    let mut public = s.witness.public.clone();
    public[2] += 1;
    assert_rejected_by(&s.check(&s.witness, &public), &["permutation"]);
}

#[test]
fn changed_intermediate_accumulator_is_rejected() {
    let (network, input) = mlp();
    let s = setup::<Tile4x2>(network, &input);
    let mut witness = s.witness.clone();
    // The first input chunk of layer 0: an intermediate, not a final, accumulator.
    assert!(s.layout.layers[0].chunks > 1);
    witness.tile_rows[s.layout.layers[0].row(0, 0)].accumulators[0] += 1;
    assert_rejected_by(&s.check(&witness, &s.witness.public), &["dense mac"]);
}

#[test]
fn rescale_unit_disconnected_from_its_accumulator_is_rejected() {
    // A unit that rescales some other value than the accumulator it is wired to.
    let (network, input) = mlp();
    let s = setup::<Tile4x2>(network, &input);
    let mut witness = s.witness.clone();
    let unit = &mut witness.units[0];
    let op = s.network.layers[0].rescale_op();
    *unit = zkinfer_circuits::rescale::UnitWitness::honest(unit.input + (1 << op.shift), op);
    assert_rejected_by(&s.check(&witness, &s.witness.public), &["permutation"]);
}

#[test]
fn hidden_activation_changed_consistently_downstream_is_still_rejected() {
    // Change a hidden activation and recompute everything after it honestly: only the rescale
    // unit that produced it can notice, and it does.
    let (network, input) = mlp();
    let s = setup::<Tile4x2>(network.clone(), &input);
    let mut trace = network.forward(&input).unwrap();
    trace.outputs[0][1] += 1;
    let (acc, out) = network.layers[1].forward(&trace.outputs[0]).unwrap();
    trace.accumulators[1] = acc;
    trace.outputs[1] = out;
    let mut witness = CircuitWitness::new(&network, &s.layout, &trace);
    // The unit keeps the honest bits for its (honest) accumulator but claims another output.
    witness.units[1] = s.witness.units[1].clone();
    witness.units[1].output += 1;
    assert_rejected_by(&s.check(&witness, &witness.public), &["rescale output"]);
}

#[test]
fn mlp_on_production_shape_passes_and_uses_expected_rows() {
    let network = random_network(&[64, 32, 10], &[6, 5], &[true, false], 11, 30);
    let input: Vec<i64> = (0..64).map(|i| (i * 37 % 200) - 100).collect();
    let s = setup::<Tile32x16>(network, &input);
    // 64 inputs = 2 chunks, 32 outputs = 2 blocks -> 4 rows; 32 -> 10: 1 chunk, 1 block.
    assert_eq!(s.layout.tile_rows, 1 + 5);
    assert_eq!(s.layout.units, 42);
    assert_eq!(s.check_honest(), Ok(()));
}

#[test]
fn out_of_range_activation_is_refused_by_the_forward_pass() {
    let network = Network {
        input_len: 1,
        layers: vec![DenseLayer {
            name: "big".into(),
            inputs: 1,
            outputs: 1,
            weights: vec![1000],
            bias: vec![0],
            shift: 0,
            relu: false,
        }],
    };
    let err = network.forward(&[100]).unwrap_err();
    assert!(err.to_string().contains("layer 'big'"), "{err}");
    assert!(err.to_string().contains("100000"), "{err}");
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
        let layers = dims.len() - 1;
        let network = random_network(&dims, &vec![shift; layers], &vec![relu; layers], seed, 15);
        let mut rng = Lcg(input_seed);
        let input: Vec<i64> = (0..dims[0]).map(|_| rng.next(60)).collect();
        let trace = network.forward(&input);
        // Activations out of range are refused before any circuit is built (tested above).
        prop_assume!(trace.is_ok());
        let trace = trace.unwrap();
        let s = setup::<Tile4x2>(network, &input);
        prop_assert_eq!(&s.witness.public[dims[0]..], trace.output());
        prop_assert_eq!(s.check_honest(), Ok(()));
        let mut wrong = s.witness.public.clone();
        *wrong.last_mut().unwrap() -= 1;
        prop_assert!(s.check(&s.witness, &wrong).is_err());
    }
}

#[test]
fn shape_column_counts_match_the_constraint_system() {
    use halo2_proofs::plonk::{Circuit, ConstraintSystem};
    for shape in zkinfer_circuits::ShapeKind::ALL {
        let pinned = zkinfer_circuits::with_shape!(shape, S => {
            let mut meta = ConstraintSystem::<Fp>::default();
            NetworkCircuit::<S>::configure(&mut meta);
            format!("{:?}", meta.pinned())
        });
        let p = shape.params();
        assert!(
            pinned.contains(&format!("num_advice_columns: {}", p.advice_columns())),
            "{pinned:.300}"
        );
        assert!(
            pinned.contains(&format!("num_fixed_columns: {}", p.fixed_columns())),
            "{pinned:.300}"
        );
        assert!(
            pinned.contains(&format!("num_instance_columns: {}", p.instance_columns)),
            "{pinned:.300}"
        );
    }
}
