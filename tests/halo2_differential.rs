//! The fork of `halo2_proofs` (vendor/halo2_proofs, see its ZKINFER_PATCHES.md) against the
//! published crate, built from an unmodified copy of its crates.io package
//! (vendor/halo2_proofs_published, compiled as `halo2_published` by vendor/halo2_published,
//! since `[patch.crates-io]` sends every crates.io `halo2_proofs` 0.4.x to the fork).
//!
//! The same test circuits are written once and compiled against both crates (the
//! `test_circuit!` macro); for each, the two crates must produce identical verifying keys
//! (their pinned form), byte-identical proofs from the same seeded generator, each crate's
//! verifier must accept the other's proof and both must refuse the same corrupted proofs and
//! wrong public inputs, with the same error.
//!
//! The circuit covers what the fork's patches touch: a first region of many rows laid out in
//! one pass by the fork's `SimpleFloorPlanner` (with constants and a cell copied from an
//! instance column) and later regions measured first; a gate whose fixed × advice terms the
//! fork's prover gathers by advice column (≥ 8 per column) next to terms it leaves alone; gates
//! with `Rotation::prev` and `Rotation::next` queries; a lookup into a table; several simple
//! selectors that compress into fixed columns; copy constraints over enough columns for
//! several permutation sets; two instance columns; and proofs of two circuits at once. The
//! small circuits are also laid out by the `V1` floor planner and proven by the fork with and
//! without its precomputed commitment tables (`k` = 5 and 6); a larger one at `k = 11`, where
//! the commitments, the opening and the permutation argument split across threads.
//!
//! zkinfer's own network circuit is not compiled against the published crate: the circuits
//! crate overrides the fork's `Circuit::configure_from`, uses `Column::index` (public only in
//! the fork) and Poseidon from `halo2_gadgets`, itself built on the fork; it is checked against
//! the patched prover by every proof zkinfer's suite verifies.
//!
//! The test also checks that vendor/halo2_proofs_published holds exactly the files of the
//! published package (their SHA-256 against the manifest recorded from the `.crate`, whose own
//! SHA-256 is the one the crates.io index lists) and that the manifest that builds it declares
//! the published dependencies and features.

use std::path::{Path, PathBuf};

use ff::Field;
use pasta_curves::{EqAffine, Fp};

// Both crates are built on one `pasta_curves` (so one `ff`, `group` and `rand_core`): the
// published crate's field and curve types are the fork's.
const _: fn(halo2_published::pasta::Fp) -> halo2_proofs::pasta::Fp = |x| x;
const _: fn(halo2_published::pasta::EqAffine) -> EqAffine = |x| x;

/// The rows of a test circuit. (Which gates, lookups and columns it has is in its type: see
/// `TestCircuit`'s parameters.)
#[derive(Clone, Copy, Debug)]
struct Shape {
    /// Rows of the first region (the dense gate, and products and lookups on every third row).
    rows: usize,
    /// Regions after the first, each a running sum over a few rows.
    chains: usize,
}

/// The values of one circuit instance: its inputs; everything else follows from them.
#[derive(Clone, Debug)]
struct Witness {
    /// `x[r]` and `z[r]` in the first region.
    x: Vec<u64>,
    z: Vec<u64>,
}

/// The weight of dense term `t` at row `r`.
fn weight(t: usize, r: usize) -> u64 {
    ((t * 31 + r * 7) % 23) as u64
}

/// Lookup table: 0..TABLE (products of values below 6).
const TABLE: u64 = 32;

impl Witness {
    fn new(shape: &Shape, seed: u64) -> Self {
        let value = |r: usize, salt: u64| (seed * 131 + r as u64 * 17 + salt) % 6;
        Self {
            x: (0..shape.rows).map(|r| value(r, 1)).collect(),
            z: (0..shape.rows).map(|r| value(r, 5)).collect(),
        }
    }

    /// The dense output of row `r` with `terms` terms: `Σ_t w_t · (x or z)`.
    fn dense(&self, terms: usize, r: usize) -> u64 {
        (0..terms)
            .map(|t| weight(t, r) * if t % 2 == 0 { self.x[r] } else { self.z[r] })
            .sum()
    }

    /// The public inputs: column 0 holds the inputs `x`, column 1 the last dense output, the
    /// total of the chains and the constant 7.
    fn instances(&self, shape: &Shape, terms: usize) -> Vec<Vec<Fp>> {
        let chains: u64 = (0..shape.chains).map(|c| self.chain_end(c)).sum();
        vec![
            self.x.iter().map(|&v| Fp::from(v)).collect(),
            vec![
                Fp::from(self.dense(terms, shape.rows - 1)),
                Fp::from(chains),
                Fp::from(7),
            ],
        ]
    }

    /// The end of chain `c`: `x[0]` plus its terms.
    fn chain_end(&self, c: usize) -> u64 {
        self.x[0] + (0..CHAIN).map(|i| chain_term(c, i)).sum::<u64>()
    }
}

/// Term `i` of chain `c`.
fn chain_term(c: usize, i: usize) -> u64 {
    ((c + i) % 5) as u64
}

/// Rows of each chain region.
const CHAIN: usize = 4;

/// Writes the test circuit, and key generation, proving and verification, against one halo2
/// crate (`$halo2`): compiled once against the fork and once against the published crate.
macro_rules! test_circuit {
    ($module:ident, $halo2:ident) => {
        mod $module {
            use std::marker::PhantomData;

            use super::{chain_term, weight, Shape, Witness, CHAIN, TABLE};
            use ff::Field;
            use pasta_curves::{EqAffine, Fp};
            use rand::rngs::StdRng;
            use rand::SeedableRng;

            use $halo2::circuit::{Layouter, Value};
            use $halo2::plonk::{
                create_proof, keygen_pk, keygen_vk, verify_proof, Advice, BatchVerifier, Circuit,
                Column, ConstraintSystem, Error, Expression, Fixed, Instance, ProvingKey, Selector,
                SingleVerifier, TableColumn, VerifyingKey,
            };
            use $halo2::poly::{commitment::Params, Rotation};
            use $halo2::transcript::{Blake2bRead, Blake2bWrite, Challenge255};

            pub use $halo2::circuit::floor_planner::V1;
            pub use $halo2::circuit::SimpleFloorPlanner;
            pub use $halo2::plonk::FloorPlanner;

            #[derive(Clone, Debug)]
            pub struct Config {
                x: Column<Advice>,
                z: Column<Advice>,
                out: Column<Advice>,
                y: Column<Advice>,
                extra: Vec<Column<Advice>>,
                weights: Vec<Column<Fixed>>,
                on: Column<Fixed>,
                inputs: Column<Instance>,
                outputs: Column<Instance>,
                q_product: Selector,
                q_chain: Selector,
                q_previous: Selector,
                lookup: Option<(Selector, TableColumn)>,
            }

            /// The test circuit, laid out by `P`, with a dense gate of `T` fixed × advice
            /// terms, the lookup if `LOOKUP`, and `EXTRA` more advice columns in the
            /// permutation argument.
            #[derive(Clone, Debug)]
            pub struct TestCircuit<P, const T: usize, const LOOKUP: bool, const EXTRA: usize> {
                shape: Shape,
                witness: Option<Witness>,
                _planner: PhantomData<P>,
            }

            impl<P, const T: usize, const LOOKUP: bool, const EXTRA: usize>
                TestCircuit<P, T, LOOKUP, EXTRA>
            {
                pub fn new(shape: Shape, witness: Option<Witness>) -> Self {
                    Self {
                        shape,
                        witness,
                        _planner: PhantomData,
                    }
                }

                fn value(&self, f: impl FnOnce(&Witness) -> u64) -> Value<Fp> {
                    match &self.witness {
                        Some(w) => Value::known(Fp::from(f(w))),
                        None => Value::unknown(),
                    }
                }
            }

            impl<P: FloorPlanner, const T: usize, const LOOKUP: bool, const EXTRA: usize>
                Circuit<Fp> for TestCircuit<P, T, LOOKUP, EXTRA>
            {
                type Config = Config;
                type FloorPlanner = P;

                fn without_witnesses(&self) -> Self {
                    Self::new(self.shape, None)
                }

                fn configure(meta: &mut ConstraintSystem<Fp>) -> Config {
                    let x = meta.advice_column();
                    let z = meta.advice_column();
                    let out = meta.advice_column();
                    let y = meta.advice_column();
                    let extra: Vec<_> = (0..EXTRA).map(|_| meta.advice_column()).collect();
                    let weights: Vec<_> = (0..T).map(|_| meta.fixed_column()).collect();
                    let on = meta.fixed_column();
                    let constants = meta.fixed_column();
                    let inputs = meta.instance_column();
                    let outputs = meta.instance_column();
                    let q_product = meta.selector();
                    let q_chain = meta.selector();
                    let q_previous = meta.selector();
                    meta.enable_constant(constants);
                    for column in [x, z, out, y].iter().chain(&extra) {
                        meta.enable_equality(*column);
                    }
                    meta.enable_equality(inputs);
                    meta.enable_equality(outputs);

                    // on · out = Σ_t w_t · (x or z): fixed × advice terms only (the fork
                    // gathers an advice column's terms from 8 on).
                    meta.create_gate("dense", |meta| {
                        let x = meta.query_advice(x, Rotation::cur());
                        let z = meta.query_advice(z, Rotation::cur());
                        let sum = weights.iter().enumerate().fold(
                            Expression::Constant(Fp::ZERO),
                            |sum, (t, &w)| {
                                let input = if t % 2 == 0 { x.clone() } else { z.clone() };
                                sum + meta.query_fixed(w) * input
                            },
                        );
                        let on = meta.query_fixed(on);
                        vec![on * meta.query_advice(out, Rotation::cur()) - sum]
                    });
                    meta.create_gate("product", |meta| {
                        let q = meta.query_selector(q_product);
                        let x = meta.query_advice(x, Rotation::cur());
                        let z = meta.query_advice(z, Rotation::cur());
                        let y = meta.query_advice(y, Rotation::cur());
                        vec![q * (x * z - y)]
                    });
                    // A running sum down `x`, with `z` the terms.
                    meta.create_gate("chain", |meta| {
                        let q = meta.query_selector(q_chain);
                        let next = meta.query_advice(x, Rotation::next());
                        let x = meta.query_advice(x, Rotation::cur());
                        let z = meta.query_advice(z, Rotation::cur());
                        vec![q * (next - x - z)]
                    });
                    // y = z of the previous row + 1.
                    meta.create_gate("previous", |meta| {
                        let q = meta.query_selector(q_previous);
                        let previous = meta.query_advice(z, Rotation::prev());
                        let y = meta.query_advice(y, Rotation::cur());
                        vec![q * (y - previous - Expression::Constant(Fp::ONE))]
                    });
                    let lookup = LOOKUP.then(|| {
                        let q_lookup = meta.complex_selector();
                        let table = meta.lookup_table_column();
                        meta.lookup(|meta| {
                            let q = meta.query_selector(q_lookup);
                            let y = meta.query_advice(y, Rotation::cur());
                            vec![(q * y, table)]
                        });
                        (q_lookup, table)
                    });
                    Config {
                        x,
                        z,
                        out,
                        y,
                        extra,
                        weights,
                        on,
                        inputs,
                        outputs,
                        q_product,
                        q_chain,
                        q_previous,
                        lookup,
                    }
                }

                fn synthesize(
                    &self,
                    config: Config,
                    mut layouter: impl Layouter<Fp>,
                ) -> Result<(), Error> {
                    let shape = self.shape;
                    if let Some((_, table)) = config.lookup {
                        layouter.assign_table(
                            || "range",
                            |mut t| {
                                for v in 0..TABLE {
                                    t.assign_cell(
                                        || "value",
                                        table,
                                        v as usize,
                                        || Value::known(Fp::from(v)),
                                    )?;
                                }
                                Ok(())
                            },
                        )?;
                    }

                    // The first region (one pass in the fork's SimpleFloorPlanner): inputs
                    // copied from the instance column, dense rows, products (range-checked by
                    // the lookup) and `previous` rows, and a constant.
                    let (last_out, seven, first_x) = layouter.assign_region(
                        || "dense",
                        |mut region| {
                            let mut last_out = None;
                            let mut first_x = None;
                            for r in 0..shape.rows {
                                let x = region.assign_advice_from_instance(
                                    || "x",
                                    config.inputs,
                                    r,
                                    config.x,
                                    r,
                                )?;
                                first_x.get_or_insert(x);
                                region.assign_advice(
                                    || "z",
                                    config.z,
                                    r,
                                    || self.value(|w| w.z[r]),
                                )?;
                                for (t, &column) in config.weights.iter().enumerate() {
                                    region.assign_fixed(
                                        || "w",
                                        column,
                                        r,
                                        || Value::known(Fp::from(weight(t, r))),
                                    )?;
                                }
                                region.assign_fixed(
                                    || "on",
                                    config.on,
                                    r,
                                    || Value::known(Fp::ONE),
                                )?;
                                last_out = Some(region.assign_advice(
                                    || "out",
                                    config.out,
                                    r,
                                    || self.value(|w| w.dense(T, r)),
                                )?);
                                if r % 3 == 0 {
                                    config.q_product.enable(&mut region, r)?;
                                    if let Some((q_lookup, _)) = config.lookup {
                                        q_lookup.enable(&mut region, r)?;
                                    }
                                    region.assign_advice(
                                        || "y",
                                        config.y,
                                        r,
                                        || self.value(|w| w.x[r] * w.z[r]),
                                    )?;
                                } else if r % 3 == 1 {
                                    config.q_previous.enable(&mut region, r)?;
                                    region.assign_advice(
                                        || "y",
                                        config.y,
                                        r,
                                        || self.value(|w| w.z[r - 1] + 1),
                                    )?;
                                }
                            }
                            let seven = region.assign_advice_from_constant(
                                || "seven",
                                config.y,
                                shape.rows,
                                Fp::from(7),
                            )?;
                            Ok((last_out.unwrap(), seven, first_x.unwrap()))
                        },
                    )?;
                    layouter.constrain_instance(last_out.cell(), config.outputs, 0)?;
                    layouter.constrain_instance(seven.cell(), config.outputs, 2)?;

                    // Later regions (measured first): running sums from a copy of `x[0]`.
                    let mut ends = Vec::new();
                    for c in 0..shape.chains {
                        let end = layouter.assign_region(
                            || "chain",
                            |mut region| {
                                let mut sum =
                                    first_x.copy_advice(|| "x0", &mut region, config.x, 0)?;
                                for i in 0..CHAIN {
                                    config.q_chain.enable(&mut region, i)?;
                                    let term = Fp::from(chain_term(c, i));
                                    region.assign_advice(
                                        || "term",
                                        config.z,
                                        i,
                                        || Value::known(term),
                                    )?;
                                    let next = sum.value().map(|v| *v + term);
                                    sum =
                                        region.assign_advice(|| "sum", config.x, i + 1, || next)?;
                                }
                                Ok(sum)
                            },
                        )?;
                        ends.push(end);
                    }

                    // The chains' total (a running sum of copies of their ends, from a
                    // constant zero), then copied through the extra equality columns.
                    let total = layouter.assign_region(
                        || "total",
                        |mut region| {
                            let zero = Value::known(Fp::ZERO);
                            let mut total =
                                region.assign_advice(|| "zero", config.x, 0, || zero)?;
                            region.constrain_constant(total.cell(), Fp::ZERO)?;
                            for (i, end) in ends.iter().enumerate() {
                                config.q_chain.enable(&mut region, i)?;
                                let end = end.copy_advice(|| "end", &mut region, config.z, i)?;
                                let next = total.value().zip(end.value()).map(|(t, e)| *t + *e);
                                total =
                                    region.assign_advice(|| "total", config.x, i + 1, || next)?;
                            }
                            for (j, &column) in config.extra.iter().enumerate() {
                                total = total.copy_advice(|| "spread", &mut region, column, j)?;
                            }
                            Ok(total)
                        },
                    )?;
                    layouter.constrain_instance(total.cell(), config.outputs, 1)?;
                    Ok(())
                }
            }

            /// The parameters for `2^k` rows (derived from `k` alone, the same in both crates).
            pub fn params(k: u32) -> Params<EqAffine> {
                Params::new(k)
            }

            /// The keys of a shape, with the verifying key's pinned form.
            pub fn keys<P: FloorPlanner, const T: usize, const L: bool, const E: usize>(
                params: &Params<EqAffine>,
                shape: Shape,
            ) -> (String, ProvingKey<EqAffine>) {
                let circuit = TestCircuit::<P, T, L, E>::new(shape, None);
                let vk = keygen_vk(params, &circuit).expect("keygen_vk");
                let pinned = format!("{:?}", vk.pinned());
                let pk = keygen_pk(params, vk, &circuit).expect("keygen_pk");
                (pinned, pk)
            }

            /// A proof of `witnesses` (one circuit each), from a generator seeded with `seed`.
            pub fn prove<P: FloorPlanner, const T: usize, const L: bool, const E: usize>(
                params: &Params<EqAffine>,
                pk: &ProvingKey<EqAffine>,
                shape: Shape,
                witnesses: &[Witness],
                instances: &[Vec<Vec<Fp>>],
                seed: u64,
            ) -> Vec<u8> {
                let circuits: Vec<_> = witnesses
                    .iter()
                    .map(|w| TestCircuit::<P, T, L, E>::new(shape, Some(w.clone())))
                    .collect();
                let columns: Vec<Vec<&[Fp]>> = instances
                    .iter()
                    .map(|i| i.iter().map(Vec::as_slice).collect())
                    .collect();
                let instances: Vec<&[&[Fp]]> = columns.iter().map(Vec::as_slice).collect();
                let mut transcript = Blake2bWrite::<_, _, Challenge255<_>>::init(vec![]);
                create_proof(
                    params,
                    pk,
                    &circuits,
                    &instances,
                    StdRng::seed_from_u64(seed),
                    &mut transcript,
                )
                .expect("create_proof");
                transcript.finalize()
            }

            /// The verifier's answer (its error, printed, if it refuses), and the batch
            /// verifier's.
            pub fn verify(
                params: &Params<EqAffine>,
                vk: &VerifyingKey<EqAffine>,
                proof: &[u8],
                instances: &[Vec<Vec<Fp>>],
            ) -> (Result<(), String>, bool) {
                let columns: Vec<Vec<&[Fp]>> = instances
                    .iter()
                    .map(|i| i.iter().map(Vec::as_slice).collect())
                    .collect();
                let borrowed: Vec<&[&[Fp]]> = columns.iter().map(Vec::as_slice).collect();
                let mut transcript = Blake2bRead::<_, _, Challenge255<_>>::init(proof);
                let single = verify_proof(
                    params,
                    vk,
                    SingleVerifier::new(params),
                    &borrowed,
                    &mut transcript,
                )
                .map_err(|e| format!("{e:?}"));
                let mut batch = BatchVerifier::new();
                batch.add_proof(instances.to_vec(), proof.to_vec());
                (single, batch.finalize(params, vk))
            }

            /// Whether the mock prover accepts the witness.
            pub fn mock<P: FloorPlanner, const T: usize, const L: bool, const E: usize>(
                k: u32,
                shape: Shape,
                witness: &Witness,
                instances: &[Vec<Fp>],
            ) -> bool {
                let circuit = TestCircuit::<P, T, L, E>::new(shape, Some(witness.clone()));
                $halo2::dev::MockProver::run(k, &circuit, instances.to_vec())
                    .expect("mock prover")
                    .verify()
                    .is_ok()
            }
        }
    };
}

test_circuit!(fork, halo2_proofs);
test_circuit!(published, halo2_published);

/// Byte positions to corrupt in a proof of `len` bytes: in the first advice commitment, the
/// later commitments, the evaluations and the opening, and the last byte.
fn corruptions(len: usize) -> Vec<usize> {
    vec![
        0,
        5,
        31,
        32 + 7,
        64 + 31,
        len / 3,
        len / 2,
        2 * len / 3,
        len - 33,
        len - 1,
    ]
}

/// Everything this test checks, for one circuit at one `k`: the circuit laid out by `PF` in
/// the fork and `PP` in the published crate, with `T` dense terms, the lookup if `L`, `E`
/// extra permutation columns; `proofs_of` circuits in one proof; the fork's commitment tables
/// if `tables`.
fn compare<PF, PP, const T: usize, const L: bool, const E: usize>(
    k: u32,
    shape: Shape,
    proofs_of: usize,
    tables: bool,
) where
    PF: fork::FloorPlanner,
    PP: published::FloorPlanner,
{
    let case = format!(
        "k = {k}, {shape:?}, {T} dense terms, lookup {L}, {E} extra columns, \
         {proofs_of} circuit(s), tables {tables}"
    );
    let fork_params = fork::params(k);
    if tables {
        fork_params.precompute_commitment_tables();
    }
    let published_params = published::params(k);

    let (fork_pinned, fork_pk) = fork::keys::<PF, T, L, E>(&fork_params, shape);
    let (published_pinned, published_pk) = published::keys::<PP, T, L, E>(&published_params, shape);
    assert_eq!(fork_pinned, published_pinned, "verifying keys, {case}");

    let witnesses: Vec<Witness> = (0..proofs_of)
        .map(|i| Witness::new(&shape, 3 + i as u64))
        .collect();
    let instances: Vec<Vec<Vec<Fp>>> = witnesses.iter().map(|w| w.instances(&shape, T)).collect();
    for (witness, instances) in witnesses.iter().zip(&instances) {
        assert!(
            fork::mock::<PF, T, L, E>(k, shape, witness, instances),
            "the fork's MockProver, {case}"
        );
        assert!(
            published::mock::<PP, T, L, E>(k, shape, witness, instances),
            "the published MockProver, {case}"
        );
    }

    let seed = 0x5eed + k as u64;
    let fork_proof =
        fork::prove::<PF, T, L, E>(&fork_params, &fork_pk, shape, &witnesses, &instances, seed);
    let published_proof = published::prove::<PP, T, L, E>(
        &published_params,
        &published_pk,
        shape,
        &witnesses,
        &instances,
        seed,
    );
    assert_eq!(fork_proof, published_proof, "proofs, {case}");

    let (fork_vk, published_vk) = (fork_pk.get_vk(), published_pk.get_vk());
    let by_fork = |proof: &[u8], instances: &[Vec<Vec<Fp>>]| {
        fork::verify(&fork_params, fork_vk, proof, instances)
    };
    let by_published = |proof: &[u8], instances: &[Vec<Vec<Fp>>]| {
        published::verify(&published_params, published_vk, proof, instances)
    };
    for (proof, by) in [
        (&fork_proof, "the fork"),
        (&published_proof, "the published crate"),
    ] {
        let accepted = (Ok(()), true);
        assert_eq!(
            by_fork(proof, &instances),
            accepted,
            "fork verifies {by}'s proof, {case}"
        );
        assert_eq!(
            by_published(proof, &instances),
            accepted,
            "published crate verifies {by}'s proof, {case}"
        );
    }

    // Corrupted proofs: both refuse, with the same error.
    let refused_alike = |proof: &[u8], instances: &[Vec<Vec<Fp>>], what: &str| {
        let fork_answer = by_fork(proof, instances);
        assert!(
            fork_answer.0.is_err() && !fork_answer.1,
            "the fork accepted {what}, {case}"
        );
        assert_eq!(
            fork_answer,
            by_published(proof, instances),
            "{what}, {case}"
        );
    };
    for position in corruptions(fork_proof.len()) {
        for flip in [0x01, 0x80] {
            let mut bad = fork_proof.clone();
            bad[position] ^= flip;
            refused_alike(&bad, &instances, &format!("byte {position} ^ {flip:#x}"));
        }
    }
    refused_alike(
        &fork_proof[..fork_proof.len() - 1],
        &instances,
        "a truncated proof",
    );
    // Wrong public inputs: another output, another input.
    for (column, row) in [(1, 0), (1, 1), (0, 1)] {
        let mut wrong = instances.clone();
        wrong[0][column][row] += Fp::ONE;
        refused_alike(
            &fork_proof,
            &wrong,
            &format!("instance {column}, row {row} changed"),
        );
    }
}

use fork::{SimpleFloorPlanner as ForkSimple, V1 as ForkV1};
use published::{SimpleFloorPlanner as PublishedSimple, V1 as PublishedV1};

const SMALL: Shape = Shape {
    rows: 20,
    chains: 3,
};

#[test]
fn keys_and_proofs_equal_the_published_crate() {
    compare::<ForkSimple, PublishedSimple, 16, true, 6>(6, SMALL, 1, false);
}

#[test]
fn keys_and_proofs_equal_the_published_crate_with_commitment_tables() {
    compare::<ForkSimple, PublishedSimple, 16, true, 6>(6, SMALL, 1, true);
}

#[test]
fn keys_and_proofs_equal_the_published_crate_with_the_v1_planner() {
    compare::<ForkV1, PublishedV1, 16, true, 6>(6, SMALL, 1, false);
}

#[test]
fn proofs_of_two_circuits_equal_the_published_crate() {
    compare::<ForkSimple, PublishedSimple, 16, true, 6>(6, SMALL, 2, true);
}

/// Too few terms per advice column for the fork to gather them, no lookup, no extra
/// permutation columns: the fork's prover takes its other paths.
#[test]
fn a_circuit_without_gathered_terms_or_lookups_equals_the_published_crate() {
    let shape = Shape { rows: 9, chains: 1 };
    compare::<ForkSimple, PublishedSimple, 6, false, 0>(5, shape, 1, false);
    compare::<ForkV1, PublishedV1, 6, false, 0>(5, shape, 1, true);
}

/// A larger circuit, where the multi-exponentiations, FFTs and permutation products split
/// across threads.
#[test]
fn a_larger_circuit_equals_the_published_crate() {
    let shape = Shape {
        rows: 1500,
        chains: 6,
    };
    compare::<ForkSimple, PublishedSimple, 20, true, 8>(11, shape, 1, true);
}

/// `SHA-256` (FIPS 180-4), for the manifest check below.
fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut message = data.to_vec();
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&(data.len() as u64 * 8).to_be_bytes());
    for block in message.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes(word.try_into().unwrap());
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let mut v = h;
        for i in 0..64 {
            let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
            let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
            let t1 = v[7]
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
            let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            let t2 = s0.wrapping_add(maj);
            v = [
                t1.wrapping_add(t2),
                v[0],
                v[1],
                v[2],
                v[3].wrapping_add(t1),
                v[4],
                v[5],
                v[6],
            ];
        }
        for (h, v) in h.iter_mut().zip(v) {
            *h = h.wrapping_add(v);
        }
    }
    let mut digest = [0; 32];
    for (out, word) in digest.chunks_exact_mut(4).zip(h) {
        out.copy_from_slice(&word.to_be_bytes());
    }
    digest
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn files_under(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable folder") {
        let path = entry.expect("folder entry").path();
        if path.is_dir() {
            files_under(root, &path, out);
        } else {
            out.push(path.strip_prefix(root).unwrap().to_path_buf());
        }
    }
}

#[test]
fn sha256_matches_known_digests() {
    assert_eq!(
        hex(&sha256(b"")),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        hex(&sha256(b"abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        hex(&sha256(&[b'a'; 1000])),
        "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"
    );
}

/// vendor/halo2_proofs_published is the published package, file for file and byte for byte;
/// nothing else is in it.
#[test]
fn published_copy_is_the_crates_io_package() {
    let vendor = Path::new(env!("CARGO_MANIFEST_DIR")).join("vendor");
    let root = vendor.join("halo2_proofs_published");
    let manifest =
        std::fs::read_to_string(vendor.join("halo2_published/halo2_proofs-0.4.1.sha256"))
            .expect("the manifest of the published package");
    let mut listed: Vec<PathBuf> = Vec::new();
    for line in manifest.lines() {
        let (digest, file) = line.split_once("  ").expect("`sha256  path` lines");
        let bytes = std::fs::read(root.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(
            hex(&sha256(&bytes)),
            digest,
            "{file} differs from the published file"
        );
        listed.push(PathBuf::from(file));
    }
    let mut present = Vec::new();
    files_under(&root, &root, &mut present);
    listed.sort();
    present.sort();
    assert_eq!(present, listed, "files in vendor/halo2_proofs_published");
    assert_eq!(listed.len(), 80, "the published package has 80 files");
}

/// The manifest that builds the published copy declares the published crate's dependencies
/// and features: each `[features]` and `[dependencies.*]` section of the published Cargo.toml
/// appears in it verbatim, and it adds no other dependency.
#[test]
fn published_copy_is_built_with_the_published_dependencies() {
    let vendor = Path::new(env!("CARGO_MANIFEST_DIR")).join("vendor");
    let published = std::fs::read_to_string(vendor.join("halo2_proofs_published/Cargo.toml"))
        .expect("published Cargo.toml");
    let wrapper = std::fs::read_to_string(vendor.join("halo2_published/Cargo.toml"))
        .expect("vendor/halo2_published/Cargo.toml");
    let sections = |text: &str| -> Vec<String> {
        let mut sections: Vec<String> = Vec::new();
        for line in text.lines() {
            if line.starts_with('[') {
                sections.push(String::new());
            }
            if let Some(section) = sections.last_mut() {
                section.push_str(line.trim_end());
                section.push('\n');
            }
        }
        sections
            .into_iter()
            .map(|s| s.trim_end().to_string())
            .filter(|s| s.starts_with("[features]") || s.starts_with("[dependencies"))
            .collect()
    };
    let (published, wrapper) = (sections(&published), sections(&wrapper));
    assert_eq!(published.len(), 14, "features and 13 dependencies");
    assert_eq!(wrapper, published);
    assert!(wrapper.iter().all(|s| !s.starts_with("[dependencies]")));
}
