//! Hashed values: a Poseidon commitment to an input, an output or the weights, computed in the
//! circuit and exposed as a single public value in place of the values.
//!
//! The values (range-checked to the activation range, so each fits 13 bits with its sign) are
//! packed eighteen to a field element, `p = Σ_j v_j · 2^(13·(17 − j))` (the last element padded
//! with zeros): an injective map, since `|p| < 2^234` is far below half the field size and
//! `2^13` exceeds the width of the range. The commitment of `n` values is a chain of Poseidon
//! hashes (`P128Pow5T3` over the Pasta base field, `ConstantLength<17>`) over the packed
//! elements: `h_0 = n`, and for each block of 16 elements (the last one padded with zeros)
//! `h_{j+1} = Poseidon(h_j, p_{16j} … p_{16j+15})`; the commitment is the last `h`. Native code
//! ([`commit`]) and the circuit compute the same chain.
//!
//! Values that are hashed are no longer checked by the verifier, so the network gets a
//! range-check unit in front of them ([`with_visibility`]). The circuit packs the checked
//! values in the Poseidon chip's own columns, three values per row, and hashes the packed cells:
//!
//! ```text
//! pack start:  acc = v0·2^26 + v1·2^13 + v2
//! pack next:   acc = acc(prev)·2^39 + v0·2^26 + v1·2^13 + v2
//! ```
//!
//! with `v0, v1` in two state columns, `v2` in the partial S-box column and `acc` in the third
//! state column (all with copy constraints); padding slots are copies of the constant 0.

use ff::{Field, FromUniformBytes, PrimeField};
use halo2_gadgets::poseidon::{
    primitives::{self as poseidon, ConstantLength, P128Pow5T3, Spec},
    Hash, Pow5Chip, Pow5Config,
};
use halo2_proofs::{
    circuit::{AssignedCell, Layouter, Value},
    plonk::{Advice, Column, ConstraintSystem, Error, Expression, Selector},
    poly::Rotation,
};
use pasta_curves::Fp;

use crate::arith::to_field;
use crate::network::{Network, Node, TensorId, TensorInfo, Visibility};
use crate::ops::{Op, UnitKind, UnitOp};

/// Packed elements absorbed per hash of the chain (plus the running hash).
pub const BLOCK: usize = 16;
/// Values packed into one field element.
pub const PACK: usize = 18;
/// Values one packing row takes.
const PER_ROW: usize = 3;
/// Bits between packed values (values lie in ±2^11, so 13 bits keep them apart).
const PACK_BITS: u64 = 13;
/// Field elements one hash of the chain absorbs.
const MESSAGE: usize = BLOCK + 1;
/// Advice columns of the Poseidon chip: the three state words and the partial S-box.
pub const ADVICE_COLUMNS: usize = 4;
/// Fixed columns of the Poseidon chip: two sets of round constants (its selectors and the
/// packing gates' are selectors, which key generation packs into fixed columns of its own).
pub const FIXED_COLUMNS: usize = 6;
/// Columns of the Poseidon chip that take part in copy constraints.
pub const EQUALITY_COLUMNS: usize = 7;
/// Rows one hash of the chain takes: its initial state, then per absorbed pair an input row
/// pair and a 37-row permutation (4 + 28 + 4 rounds and the output row).
const ROWS_PER_HASH: usize = 1 + MESSAGE.div_ceil(2) * (2 + 37);
/// Rows packing one element takes.
const ROWS_PER_ELEMENT: usize = PACK / PER_ROW;

/// `2^(13·k)` as a field element.
fn shift<F: PrimeField>(k: usize) -> F {
    F::from(2).pow_vartime([PACK_BITS * k as u64])
}

/// Packs values eighteen to an element, as the circuit does.
pub fn pack(values: &[i64]) -> Vec<Fp> {
    values
        .chunks(PACK)
        .map(|chunk| {
            (0..PACK).fold(Fp::ZERO, |acc, j| {
                acc * shift::<Fp>(1) + chunk.get(j).map_or(Fp::ZERO, |&v| to_field(v))
            })
        })
        .collect()
}

/// The commitment to `values` (quantised values), computed natively.
pub fn commit(values: &[i64]) -> Fp {
    let mut h = Fp::from(values.len() as u64);
    for block in pack(values).chunks(BLOCK) {
        let mut message = [Fp::zero(); MESSAGE];
        message[0] = h;
        message[1..=block.len()].copy_from_slice(block);
        h = poseidon::Hash::<Fp, P128Pow5T3, ConstantLength<MESSAGE>, 3, 2>::init().hash(message);
    }
    h
}

/// Rows the commitment to `len` values takes in the circuit.
pub fn rows(len: usize) -> usize {
    let elements = len.div_ceil(PACK);
    elements * ROWS_PER_ELEMENT + elements.div_ceil(BLOCK) * ROWS_PER_HASH + 2
}

/// The Poseidon chip's columns and the packing gates.
#[derive(Clone, Debug)]
pub struct CommitmentConfig<F: PrimeField> {
    poseidon: Pow5Config<F, 3, 2>,
    /// The packing's value columns: two state columns and the partial S-box column.
    values: [Column<Advice>; PER_ROW],
    /// The running packed element, in a state column.
    acc: Column<Advice>,
    /// A state column, which also holds the chain's constants (its length, zero padding).
    scratch: Column<Advice>,
    pack_start: Selector,
    pack_next: Selector,
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
    // The packing copies values into the partial S-box column too.
    meta.enable_equality(partial_sbox);
    let values = [state[0], state[1], partial_sbox];
    let acc = state[2];
    // Two gates, so that the first row of an element does not query the row above it.
    let pack_start = meta.selector();
    let pack_next = meta.selector();
    let row = |meta: &mut halo2_proofs::plonk::VirtualCells<'_, F>| {
        let packed = values
            .iter()
            .fold(Expression::Constant(F::ZERO), |sum, &column| {
                sum * Expression::Constant(shift::<F>(1))
                    + meta.query_advice(column, Rotation::cur())
            });
        (meta.query_advice(acc, Rotation::cur()), packed)
    };
    meta.create_gate("pack start", |meta| {
        let start = meta.query_selector(pack_start);
        let (current, row) = row(meta);
        [start * (current - row)]
    });
    meta.create_gate("pack next", |meta| {
        let next = meta.query_selector(pack_next);
        let prev = meta.query_advice(acc, Rotation::prev());
        let (current, row) = row(meta);
        [next * (current - prev * Expression::Constant(shift::<F>(PER_ROW)) - row)]
    });
    CommitmentConfig {
        poseidon: Pow5Chip::configure::<P128Pow5T3>(meta, state, partial_sbox, rc_a, rc_b),
        values,
        acc,
        scratch: state[0],
        pack_start,
        pack_next,
    }
}

/// Packs the checked value cells eighteen to an element (padding with copies of 0) and returns
/// the packed cells.
fn pack_cells<F: PrimeField>(
    config: &CommitmentConfig<F>,
    layouter: &mut impl Layouter<F>,
    cells: &[AssignedCell<F, F>],
) -> Result<Vec<AssignedCell<F, F>>, Error> {
    layouter.assign_region(
        || "pack",
        |mut region| {
            let mut packed = Vec::with_capacity(cells.len().div_ceil(PACK));
            for (e, element) in cells.chunks(PACK).enumerate() {
                let mut acc: Option<AssignedCell<F, F>> = None;
                for r in 0..ROWS_PER_ELEMENT {
                    let row = e * ROWS_PER_ELEMENT + r;
                    let mut row_value = Value::known(F::ZERO);
                    for (slot, &column) in config.values.iter().enumerate() {
                        let value = match element.get(r * PER_ROW + slot) {
                            Some(cell) => cell.copy_advice(|| "value", &mut region, column, row)?,
                            None => region.assign_advice_from_constant(
                                || "padding",
                                column,
                                row,
                                F::ZERO,
                            )?,
                        };
                        row_value =
                            row_value * Value::known(shift::<F>(1)) + value.value().copied();
                    }
                    let value = match &acc {
                        None => {
                            config.pack_start.enable(&mut region, row)?;
                            row_value
                        }
                        Some(prev) => {
                            config.pack_next.enable(&mut region, row)?;
                            prev.value().copied() * Value::known(shift::<F>(PER_ROW)) + row_value
                        }
                    };
                    acc = Some(region.assign_advice(|| "packed", config.acc, row, || value)?);
                }
                packed.push(acc.ok_or(Error::Synthesis)?);
            }
            Ok(packed)
        },
    )
}

/// Proves the commitment to the range-checked values in `cells` and returns the cell holding
/// it.
pub fn commit_cells<F>(
    config: &CommitmentConfig<F>,
    layouter: &mut impl Layouter<F>,
    cells: &[AssignedCell<F, F>],
) -> Result<AssignedCell<F, F>, Error>
where
    F: PrimeField + FromUniformBytes<64>,
    P128Pow5T3: Spec<F, 3, 2>,
{
    let len = cells.len();
    let packed = pack_cells(config, layouter, cells)?;
    let (mut h, zero) = layouter.assign_region(
        || "commitment constants",
        |mut region| {
            let length = F::from(len as u64);
            let h = region.assign_advice_from_constant(|| "length", config.scratch, 0, length)?;
            let zero = region.assign_advice_from_constant(|| "zero", config.scratch, 1, F::ZERO)?;
            Ok((h, zero))
        },
    )?;
    for (j, block) in packed.chunks(BLOCK).enumerate() {
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

/// Appends a range check of `tensor` (so its values are proven to lie in the activation range,
/// as the commitment's packing needs) and returns the checked tensor.
pub(crate) fn range_check(network: &mut Network, tensor: TensorId, what: &str) -> TensorId {
    let len = network.tensors[tensor].len();
    let name = format!("{what}_range");
    let output = network.tensors.len();
    network.tensors.push(TensorInfo {
        name: name.clone(),
        shape: network.tensors[tensor].shape.clone(),
    });
    network.nodes.push(Node {
        name,
        op: Op::Unit(UnitOp::elementwise(len, UnitKind::rescale(0, false))),
        inputs: vec![tensor],
        output,
    });
    output
}

/// The network with the given visibility of its input and output.
///
/// A private or hashed input is no longer checked by the verifier, so a range-check unit reads
/// it first and every other operator reads the checked copy, which a hashed input's commitment
/// also hashes. A hashed output is range-checked (so that packing is injective).
/// A private output needs nothing: it is simply not exposed.
pub fn with_visibility(network: &Network, input: Visibility, output: Visibility) -> Network {
    let mut net = network.clone();
    if input != Visibility::Public {
        let original = network.input;
        let checked = range_check(&mut net, original, "input");
        // The range check runs first; everything else reads the checked copy.
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
        net.committed_input = (input == Visibility::Hashed).then_some(checked);
    }
    if output == Visibility::Hashed {
        let output_tensor = net.output;
        net.committed_output = Some(range_check(&mut net, output_tensor, "output"));
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

    /// Two packing rows `(v0, v1, v2, acc)` with the gates on, the second chained to the first.
    #[derive(Clone, Default)]
    struct PackRows([[i64; 4]; 2]);

    impl halo2_proofs::plonk::Circuit<Fp> for PackRows {
        type Config = CommitmentConfig<Fp>;
        type FloorPlanner = halo2_proofs::circuit::SimpleFloorPlanner;

        fn without_witnesses(&self) -> Self {
            self.clone()
        }

        fn configure(meta: &mut ConstraintSystem<Fp>) -> Self::Config {
            configure(meta)
        }

        fn synthesize(
            &self,
            config: Self::Config,
            mut layouter: impl Layouter<Fp>,
        ) -> Result<(), Error> {
            layouter.assign_region(
                || "pack rows",
                |mut region| {
                    for (row, values) in self.0.iter().enumerate() {
                        let selector = if row == 0 {
                            config.pack_start
                        } else {
                            config.pack_next
                        };
                        selector.enable(&mut region, row)?;
                        let columns = config.values.iter().chain([&config.acc]);
                        for (&column, &v) in columns.zip(values) {
                            region.assign_advice(
                                || "v",
                                column,
                                row,
                                || Value::known(to_field::<Fp>(v)),
                            )?;
                        }
                    }
                    Ok(())
                },
            )
        }
    }

    #[test]
    fn the_pack_gates_reject_a_wrong_packed_value() {
        // The first row's values are small so that the second accumulator fits an i64.
        let honest = |v: [i64; 6]| {
            let first = (v[0] << 26) + (v[1] << 13) + v[2];
            let second = (first << 39) + (v[3] << 26) + (v[4] << 13) + v[5];
            PackRows([[v[0], v[1], v[2], first], [v[3], v[4], v[5], second]])
        };
        let small = [0, 0, -5, -2048, 2047, -7];
        let run = |c: PackRows| MockProver::run(6, &c, vec![]).unwrap().verify();
        assert_eq!(run(honest(small)), Ok(()));
        let mut wrong = honest(small);
        wrong.0[0][3] += 1;
        // The first row's own check fails, and the second row no longer continues it.
        assert_rejected_by(&run(wrong), &["pack start", "pack next"]);
        let mut wrong = honest(small);
        wrong.0[1][2] += 1;
        assert_rejected_by(&run(wrong), &["pack next"]);
    }

    /// An `n`-input, 3-output network: y = rescale(W·x + b, 3), or 8 for long inputs.
    fn network(n: usize) -> Network {
        let weights = (0..3 * n as i64).map(|i| (i * 7) % 11 - 5).collect();
        dense_then_rescale(n, weights, vec![1, -2, 3], if n > 100 { 8 } else { 3 })
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
        // 5 values: one padded element; 300 values: 17 packed elements, two blocks, the last
        // element and block padded.
        for n in [5, 300] {
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
