//! Hashed inputs: a Poseidon commitment to the input, computed in the circuit and exposed as the
//! single public value in place of the input.
//!
//! The input values are first packed four to a field element, `p = Σ_j x_j · 2^(13·j)` (an
//! injective map for values in the activation range, far below the field size), and the
//! commitment of `n` values is a chain of Poseidon hashes (`P128Pow5T3` over the Pasta base
//! field, `ConstantLength<17>`) over the packed elements: `h_0 = n`, and for each block of 16
//! (the last one padded with zeros) `h_{j+1} = Poseidon(h_j, p_{16j} … p_{16j+15})`; the
//! commitment is the last `h`. Native code ([`commit`]) and the circuit compute the same chain.
//!
//! A hashed input is no longer checked by the verifier, so the network gets a range-check unit
//! in front ([`with_visibility`]): every input value is proven to lie in the activation range,
//! exactly as a public input is checked before verification. The packing is a linear operator
//! on the checked values (the dense tile), and the Poseidon chip reads its outputs.

use ff::{FromUniformBytes, PrimeField};
use halo2_gadgets::poseidon::{
    primitives::{self as poseidon, ConstantLength, P128Pow5T3, Spec},
    Hash, Pow5Chip, Pow5Config,
};
use halo2_proofs::{
    circuit::{AssignedCell, Layouter},
    plonk::{Advice, Column, ConstraintSystem, Error},
};
use pasta_curves::Fp;

use crate::arith::to_field;
use crate::network::{Network, Node, TensorId, TensorInfo, Visibility};
use crate::ops::{LinearOp, Op, UnitKind, UnitOp};

/// Packed elements absorbed per hash of the chain (plus the running hash).
pub const BLOCK: usize = 16;
/// Input values packed into one field element.
pub const PACK: usize = 4;
/// Bits between packed values (values lie in ±2^11, so 13 bits keep them apart).
const PACK_BITS: u32 = 13;
/// Field elements one hash of the chain absorbs.
const MESSAGE: usize = BLOCK + 1;
/// Advice columns of the Poseidon chip: the three state words and the partial S-box.
pub const ADVICE_COLUMNS: usize = 4;
/// Fixed columns of the Poseidon chip: two sets of round constants.
pub const FIXED_COLUMNS: usize = 6;
/// Columns of the Poseidon chip that take part in copy constraints.
pub const EQUALITY_COLUMNS: usize = 6;
/// Rows one hash of the chain takes: its initial state, then per absorbed pair an input row
/// pair and a 37-row permutation (4 + 28 + 4 rounds and the output row).
const ROWS_PER_HASH: usize = 1 + MESSAGE.div_ceil(2) * (2 + 37);

/// The weights of the packing: `2^(13·j)`.
fn pack_weights() -> [i64; PACK] {
    std::array::from_fn(|j| 1i64 << (PACK_BITS * j as u32))
}

/// Packs input values four to an element, as the circuit does.
pub fn pack(values: &[i64]) -> Vec<i64> {
    let weights = pack_weights();
    values
        .chunks(PACK)
        .map(|c| c.iter().zip(weights).map(|(&v, w)| v * w).sum())
        .collect()
}

/// The commitment to `values` (quantised input values), computed natively.
pub fn commit(values: &[i64]) -> Fp {
    let mut h = Fp::from(values.len() as u64);
    for block in pack(values).chunks(BLOCK) {
        let mut message = [Fp::zero(); MESSAGE];
        message[0] = h;
        for (slot, &v) in message[1..].iter_mut().zip(block) {
            *slot = to_field(v);
        }
        h = poseidon::Hash::<Fp, P128Pow5T3, ConstantLength<MESSAGE>, 3, 2>::init().hash(message);
    }
    h
}

/// Rows the commitment to `len` values takes in the circuit.
pub fn rows(len: usize) -> usize {
    len.div_ceil(PACK).div_ceil(BLOCK) * ROWS_PER_HASH + 1
}

/// The Poseidon chip's columns.
#[derive(Clone, Debug)]
pub struct CommitmentConfig<F: PrimeField> {
    poseidon: Pow5Config<F, 3, 2>,
    /// A state column, also used for the chain's constants (its length, zero padding).
    scratch: Column<Advice>,
}

/// Configures the Poseidon chip on fresh columns.
pub fn configure<F>(meta: &mut ConstraintSystem<F>) -> CommitmentConfig<F>
where
    F: PrimeField + FromUniformBytes<64>,
    P128Pow5T3: Spec<F, 3, 2>,
{
    let state = [(); 3].map(|_| meta.advice_column());
    let partial_sbox = meta.advice_column();
    let rc_a = [(); 3].map(|_| meta.fixed_column());
    let rc_b = [(); 3].map(|_| meta.fixed_column());
    meta.enable_constant(rc_b[0]);
    CommitmentConfig {
        poseidon: Pow5Chip::configure::<P128Pow5T3>(meta, state, partial_sbox, rc_a, rc_b),
        scratch: state[0],
    }
}

/// Proves the commitment to `len` input values whose packed elements are in `cells`, and
/// returns the cell holding it.
pub fn commit_cells<F>(
    config: &CommitmentConfig<F>,
    layouter: &mut impl Layouter<F>,
    len: usize,
    cells: &[AssignedCell<F, F>],
) -> Result<AssignedCell<F, F>, Error>
where
    F: PrimeField + FromUniformBytes<64>,
    P128Pow5T3: Spec<F, 3, 2>,
{
    let (mut h, zero) = layouter.assign_region(
        || "commitment constants",
        |mut region| {
            let length = F::from(len as u64);
            let h = region.assign_advice_from_constant(|| "length", config.scratch, 0, length)?;
            let zero = region.assign_advice_from_constant(|| "zero", config.scratch, 1, F::ZERO)?;
            Ok((h, zero))
        },
    )?;
    for (j, block) in cells.chunks(BLOCK).enumerate() {
        let mut message: Vec<AssignedCell<F, F>> = Vec::with_capacity(MESSAGE);
        message.push(h);
        message.extend(block.iter().cloned());
        message.resize(MESSAGE, zero.clone());
        let message: [AssignedCell<F, F>; MESSAGE] =
            message.try_into().map_err(|_| Error::Synthesis)?;
        let chip = Pow5Chip::construct(config.poseidon.clone());
        let hasher = Hash::<F, _, P128Pow5T3, ConstantLength<MESSAGE>, 3, 2>::init(
            chip,
            layouter.namespace(|| format!("commitment block {j}")),
        )?;
        h = hasher.hash(layouter.namespace(|| format!("hash block {j}")), message)?;
    }
    Ok(h)
}

/// The packing operator: element `p` is `Σ_j 2^(13·j) · x[4p + j]`.
fn pack_op(len: usize) -> LinearOp {
    let positions = len.div_ceil(PACK);
    LinearOp {
        channels: 1,
        taps: PACK,
        weights: pack_weights().to_vec(),
        bias: vec![0],
        groups: 1,
        positions,
        gather: (0..positions * PACK)
            .map(|i| (i < len).then_some(i as u32))
            .collect(),
        channel_major: true,
    }
}

/// Appends a range check of `tensor` (so its values are proven to lie in the activation range)
/// and, if `pack`, the packing of the checked values; returns `(checked, packed)`.
pub(crate) fn check_and_pack(
    network: &mut Network,
    tensor: TensorId,
    what: &str,
    pack: bool,
) -> (TensorId, Option<TensorId>) {
    let len = network.tensors[tensor].len();
    let shape = network.tensors[tensor].shape.clone();
    let mut push = |name: String, op: Op, input: TensorId, shape: Vec<usize>| {
        let output = network.tensors.len();
        network.tensors.push(TensorInfo {
            name: name.clone(),
            shape,
        });
        network.nodes.push(Node {
            name,
            op,
            inputs: vec![input],
            output,
        });
        output
    };
    let range = Op::Unit(UnitOp::elementwise(len, UnitKind::rescale(0, false)));
    let checked = push(format!("{what}_range"), range, tensor, shape);
    let packed = pack.then(|| {
        let op = Op::Linear(pack_op(len));
        push(
            format!("{what}_packed"),
            op,
            checked,
            vec![len.div_ceil(PACK)],
        )
    });
    (checked, packed)
}

/// The network with the given visibility of its input and output.
///
/// A private or hashed input is no longer checked by the verifier, so a range-check unit reads
/// it first and every other operator reads the checked copy; a hashed input is also packed for
/// the commitment. A hashed output is range-checked (so that packing is injective) and packed.
/// A private output needs nothing: it is simply not exposed.
pub fn with_visibility(network: &Network, input: Visibility, output: Visibility) -> Network {
    let mut net = network.clone();
    if input != Visibility::Public {
        let original = network.input;
        let (checked, packed) =
            check_and_pack(&mut net, original, "input", input == Visibility::Hashed);
        // The range check (and packing) run first; everything else reads the checked copy.
        let added = net.nodes.len() - network.nodes.len();
        net.nodes.rotate_right(added);
        for node in &mut net.nodes[added..] {
            for t in &mut node.inputs {
                if *t == original {
                    *t = checked;
                }
            }
        }
        if net.output == original {
            net.output = checked;
        }
        net.packed_input = packed;
    }
    if output == Visibility::Hashed {
        let output_tensor = net.output;
        let (_, packed) = check_and_pack(&mut net, output_tensor, "output", true);
        net.packed_output = packed;
    }
    net.input_visibility = input;
    net.output_visibility = output;
    net
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use halo2_proofs::dev::MockProver;

    use super::*;
    use crate::shape::{GeneralHashed, Shape};
    use crate::testing::{assert_rejected_by, dense_then_rescale};
    use crate::{CircuitWitness, Layout, NetworkCircuit};

    /// An `n`-input, 3-output network: y = rescale(W·x + b, 3).
    fn network(n: usize) -> Network {
        let weights = (0..3 * n as i64).map(|i| (i * 7) % 11 - 5).collect();
        dense_then_rescale(n, weights, vec![1, -2, 3], 3)
    }

    fn input(n: usize) -> Vec<i64> {
        (0..n as i64).map(|i| (i * 37) % 401 - 200).collect()
    }

    /// `MockProver` on the hashed network with the given instance columns.
    fn mock(
        n: usize,
        instances: impl FnOnce(&Layout, &CircuitWitness) -> Vec<Vec<Fp>>,
    ) -> Result<(), Vec<halo2_proofs::dev::VerifyFailure>> {
        let net = with_visibility(&network(n), Visibility::Hashed, Visibility::Public);
        let layout = Layout::new(&net, GeneralHashed::PARAMS).unwrap();
        let trace = net.forward(&input(n)).unwrap();
        let witness = CircuitWitness::new(&net, &layout, &trace).unwrap();
        let public = instances(&layout, &witness);
        let k = NetworkCircuit::<GeneralHashed>::min_k::<Fp>(&layout);
        let circuit = NetworkCircuit::<GeneralHashed>::new(Arc::new(net), Arc::new(layout))
            .with_witness(Arc::new(witness));
        MockProver::run(k, &circuit, public).unwrap().verify()
    }

    #[test]
    fn the_circuit_commitment_equals_the_native_one() {
        // 5 values: one element, one block; 70 values: 18 packed elements, two blocks, the
        // last element and block padded.
        for n in [5, 70] {
            let native = commit(&input(n));
            assert_eq!(
                mock(n, |layout, w| {
                    assert_eq!(w.input_commitment, Some(native));
                    assert!(w.public.len() == 3, "the input is not public");
                    layout.instances_hashed(native, &w.public)
                }),
                Ok(())
            );
        }
    }

    #[test]
    fn another_commitment_or_output_is_rejected() {
        let n = 20;
        let native = commit(&input(n));
        let other = commit(&[1; 20]);
        assert_rejected_by(
            &mock(n, |layout, w| layout.instances_hashed(other, &w.public)),
            &["permutation"],
        );
        assert_rejected_by(
            &mock(n, |layout, w| {
                let mut outputs = w.public.clone();
                outputs[0] += 1;
                layout.instances_hashed(native, &outputs)
            }),
            &["permutation"],
        );
    }

    #[test]
    fn every_visibility_of_input_and_output_proves_and_binds_what_it_exposes() {
        use Visibility::{Hashed, Private, Public};
        let n = 20;
        let x = input(n);
        for input_v in [Public, Private, Hashed] {
            for output_v in [Public, Private, Hashed] {
                let net = with_visibility(&network(n), input_v, output_v);
                let layout = Layout::new(&net, GeneralHashed::PARAMS).unwrap();
                let trace = net.forward(&x).unwrap();
                let witness = CircuitWitness::new(&net, &layout, &trace).unwrap();
                let y = trace.output().to_vec();
                let expected_public =
                    if input_v == Public { n } else { 0 } + if output_v == Public { 3 } else { 0 };
                assert_eq!(witness.public.len(), expected_public);
                assert_eq!(
                    witness.input_commitment,
                    (input_v == Hashed).then(|| commit(&x))
                );
                assert_eq!(
                    witness.output_commitment,
                    (output_v == Hashed).then(|| commit(&y))
                );
                let k = NetworkCircuit::<GeneralHashed>::min_k::<Fp>(&layout);
                let circuit = NetworkCircuit::<GeneralHashed>::new(
                    Arc::new(net.clone()),
                    Arc::new(layout.clone()),
                )
                .with_witness(Arc::new(witness.clone()));
                let run =
                    |public: Vec<Vec<Fp>>| MockProver::run(k, &circuit, public).unwrap().verify();
                let case = format!("input {input_v:?}, output {output_v:?}");
                assert_eq!(run(witness.instances(&layout)), Ok(()), "{case}");
                // Whatever is exposed is bound: change the last public value.
                if expected_public > 0 || input_v == Hashed || output_v == Hashed {
                    let mut forged = witness.clone();
                    match (output_v, forged.public.last_mut()) {
                        (Hashed, _) => forged.output_commitment = Some(commit(&[1, 2, 3])),
                        (_, Some(last)) => *last += 1,
                        (_, None) => forged.input_commitment = Some(commit(&[1; 20])),
                    }
                    assert!(run(forged.instances(&layout)).is_err(), "{case}");
                }
            }
        }
    }

    #[test]
    fn the_commitment_binds_every_value_and_the_length() {
        let x = input(33);
        let base = commit(&x);
        for i in [0, 15, 16, 32] {
            let mut changed = x.clone();
            changed[i] += 1;
            assert_ne!(commit(&changed), base, "value {i}");
            // Packing is injective: a carry into the neighbouring value is another commitment.
            let mut carried = x.clone();
            carried[i] += 1 << 13;
            assert_ne!(pack(&carried), pack(&x));
        }
        let mut padded = x.clone();
        padded.push(0);
        assert_ne!(commit(&padded), base);
    }

    #[test]
    fn hashed_inputs_are_range_checked_by_a_unit_in_front() {
        let net = with_visibility(&network(4), Visibility::Hashed, Visibility::Public);
        assert_eq!(net.nodes[0].name, "input_range");
        assert!(net.nodes[1..]
            .iter()
            .all(|n| !n.inputs.contains(&net.input)));
        assert!(net.forward(&[0, 1, 2, 5000]).is_err());
        // A private input read by anything but the range check would be a second, unconstrained
        // copy: synthesis refuses such a network.
        let synthesises = |net: Network| {
            let layout = Layout::new(&net, GeneralHashed::PARAMS).unwrap();
            let trace = net.forward(&[0, 1, 2, 3]).unwrap();
            let witness = CircuitWitness::new(&net, &layout, &trace).unwrap();
            let k = NetworkCircuit::<GeneralHashed>::min_k::<Fp>(&layout);
            let circuit = NetworkCircuit::<GeneralHashed>::new(Arc::new(net), Arc::new(layout))
                .with_witness(Arc::new(witness));
            MockProver::<Fp>::run(k, &circuit, vec![vec![]; 2]).is_ok()
        };
        let private = with_visibility(&network(4), Visibility::Private, Visibility::Private);
        assert!(synthesises(private.clone()));
        let mut two_readers = private;
        two_readers.nodes[1].inputs[0] = two_readers.input;
        assert!(!synthesises(two_readers));
        // Without the Poseidon chip, the layout refuses the network.
        assert!(Layout::new(&net, crate::shape::General::PARAMS).is_err());
    }
}
