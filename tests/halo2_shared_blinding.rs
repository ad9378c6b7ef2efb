//! The two halo2 patches linked slices rest on (vendor/halo2_proofs, ZKINFER_PATCHES.md):
//!
//! - `Circuit::configure_from` configures a circuit from its own value (a slice's number of
//!   link columns), and key generation, the prover and `MockProver` all use it;
//! - `create_proof_with_shared_blinding` takes the randomness of chosen advice columns from the
//!   caller: with none it makes exactly `create_proof`'s proof, and two proofs that share a
//!   column's values and randomness write the same commitment for it, which the unchanged
//!   verifier accepts.

use ff::Field;
use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::dev::MockProver;
use halo2_proofs::plonk::{
    create_proof, create_proof_with_shared_blinding, keygen_pk, keygen_vk, verify_proof, Advice,
    Circuit, Column, ConstraintSystem, Error, Fixed, ProvingKey, SharedBlinding, SingleVerifier,
};
use halo2_proofs::poly::{commitment::Params, Rotation};
use halo2_proofs::transcript::{Blake2bRead, Blake2bWrite, Challenge255};
use pasta_curves::{EqAffine, Fp};
use rand::rngs::StdRng;
use rand::SeedableRng;

const K: u32 = 5;
const ROWS: usize = 6;

#[derive(Clone, Debug)]
struct SumConfig {
    links: Vec<Column<Advice>>,
    sum: Column<Advice>,
    active: Column<Fixed>,
}

/// `sum = Σ links[i]` on the first `ROWS` rows, with as many link columns as the circuit value
/// says (which only `configure_from` can honour).
#[derive(Clone, Debug)]
struct SumCircuit {
    links: usize,
    /// `[row][link]`, or nothing for key generation.
    values: Option<Vec<Vec<u64>>>,
}

impl SumCircuit {
    fn keygen(links: usize) -> Self {
        Self {
            links,
            values: None,
        }
    }

    fn with_values(links: usize, seed: u64) -> Self {
        let values = (0..ROWS)
            .map(|r| {
                (0..links)
                    .map(|l| seed * 1000 + (r * 10 + l) as u64)
                    .collect()
            })
            .collect();
        Self {
            links,
            values: Some(values),
        }
    }
}

fn configure_links(meta: &mut ConstraintSystem<Fp>, links: usize) -> SumConfig {
    let links: Vec<_> = (0..links).map(|_| meta.advice_column()).collect();
    let sum = meta.advice_column();
    let active = meta.fixed_column();
    for &column in &links {
        meta.enable_equality(column);
    }
    meta.create_gate("sum", |meta| {
        let total = links.iter().fold(
            halo2_proofs::plonk::Expression::Constant(Fp::ZERO),
            |acc, &c| acc + meta.query_advice(c, Rotation::cur()),
        );
        vec![meta.query_fixed(active) * (meta.query_advice(sum, Rotation::cur()) - total)]
    });
    SumConfig { links, sum, active }
}

impl Circuit<Fp> for SumCircuit {
    type Config = SumConfig;
    type FloorPlanner = SimpleFloorPlanner;

    fn without_witnesses(&self) -> Self {
        Self::keygen(self.links)
    }

    fn configure(meta: &mut ConstraintSystem<Fp>) -> SumConfig {
        configure_links(meta, 1)
    }

    fn configure_from(&self, meta: &mut ConstraintSystem<Fp>) -> SumConfig {
        configure_links(meta, self.links)
    }

    fn synthesize(&self, config: SumConfig, mut layouter: impl Layouter<Fp>) -> Result<(), Error> {
        layouter.assign_region(
            || "sums",
            |mut region| {
                for row in 0..ROWS {
                    region.assign_fixed(|| "", config.active, row, || Value::known(Fp::ONE))?;
                    let values = self.values.as_ref().map(|v| &v[row]);
                    for (l, &column) in config.links.iter().enumerate() {
                        let v = values.map_or(Value::unknown(), |v| Value::known(Fp::from(v[l])));
                        region.assign_advice(|| "", column, row, || v)?;
                    }
                    let sum = values.map_or(Value::unknown(), |v| {
                        Value::known(Fp::from(v.iter().sum::<u64>()))
                    });
                    region.assign_advice(|| "", config.sum, row, || sum)?;
                }
                Ok(())
            },
        )
    }
}

fn keys(params: &Params<EqAffine>, links: usize) -> ProvingKey<EqAffine> {
    let vk = keygen_vk(params, &SumCircuit::keygen(links)).unwrap();
    keygen_pk(params, vk, &SumCircuit::keygen(links)).unwrap()
}

fn prove(
    params: &Params<EqAffine>,
    pk: &ProvingKey<EqAffine>,
    circuit: SumCircuit,
    shared: &[SharedBlinding<Fp>],
    seed: u64,
) -> Vec<u8> {
    let mut transcript = Blake2bWrite::<_, EqAffine, Challenge255<_>>::init(vec![]);
    create_proof_with_shared_blinding(
        params,
        pk,
        &[circuit],
        &[&[]],
        &[shared],
        StdRng::seed_from_u64(seed),
        &mut transcript,
    )
    .unwrap();
    transcript.finalize()
}

fn verifies(params: &Params<EqAffine>, pk: &ProvingKey<EqAffine>, proof: &[u8]) -> bool {
    let mut transcript = Blake2bRead::<_, EqAffine, Challenge255<_>>::init(proof);
    verify_proof(
        params,
        pk.get_vk(),
        SingleVerifier::new(params),
        &[&[]],
        &mut transcript,
    )
    .is_ok()
}

/// The commitment to advice column `column`, as the proof writes it.
fn advice_commitment(proof: &[u8], column: usize) -> &[u8] {
    &proof[32 * column..32 * (column + 1)]
}

/// Random shared randomness for column `column` of a circuit with `links` link columns.
fn shared(links: usize, column: usize, seed: u64) -> SharedBlinding<Fp> {
    let mut cs = ConstraintSystem::default();
    configure_links(&mut cs, links);
    let rows = cs.blinding_factors() + 1;
    let mut rng = StdRng::seed_from_u64(seed);
    SharedBlinding {
        column,
        tail: (0..rows).map(|_| Fp::random(&mut rng)).collect(),
        blind: Fp::random(&mut rng),
    }
}

#[test]
fn configure_from_sets_the_columns_everywhere() {
    let params = Params::<EqAffine>::new(K);
    for links in [1, 3] {
        let pk = keys(&params, links);
        let honest = SumCircuit::with_values(links, 1);
        MockProver::run(K, &honest, vec![])
            .unwrap()
            .assert_satisfied();
        let proof = prove(&params, &pk, honest, &[], 1);
        assert!(verifies(&params, &pk, &proof));
    }
    // MockProver checks the gate over all three link columns: a sum off by one fails.
    for (delta, ok) in [(0, true), (1, false)] {
        let circuit = SumCircuitWithSum {
            inner: SumCircuit::with_values(3, 1),
            sum_delta: delta,
        };
        let result = MockProver::run(K, &circuit, vec![]).unwrap().verify();
        assert_eq!(result.is_ok(), ok, "delta {delta}");
    }
}

/// A `SumCircuit` whose sum cell of row 0 is off by `sum_delta`.
#[derive(Clone, Debug)]
struct SumCircuitWithSum {
    inner: SumCircuit,
    sum_delta: u64,
}

impl Circuit<Fp> for SumCircuitWithSum {
    type Config = SumConfig;
    type FloorPlanner = SimpleFloorPlanner;

    fn without_witnesses(&self) -> Self {
        self.clone()
    }

    fn configure(meta: &mut ConstraintSystem<Fp>) -> SumConfig {
        configure_links(meta, 1)
    }

    fn configure_from(&self, meta: &mut ConstraintSystem<Fp>) -> SumConfig {
        configure_links(meta, self.inner.links)
    }

    fn synthesize(&self, config: SumConfig, mut layouter: impl Layouter<Fp>) -> Result<(), Error> {
        let values = self.inner.values.clone().unwrap();
        layouter.assign_region(
            || "sums",
            |mut region| {
                for (row, v) in values.iter().enumerate() {
                    region.assign_fixed(|| "", config.active, row, || Value::known(Fp::ONE))?;
                    for (&column, &x) in config.links.iter().zip(v) {
                        region.assign_advice(|| "", column, row, || Value::known(Fp::from(x)))?;
                    }
                    let delta = if row == 0 { self.sum_delta } else { 0 };
                    let sum = Fp::from(v.iter().sum::<u64>() + delta);
                    region.assign_advice(|| "", config.sum, row, || Value::known(sum))?;
                }
                Ok(())
            },
        )
    }
}

#[test]
fn without_shared_columns_the_proof_is_create_proofs() {
    let params = Params::<EqAffine>::new(K);
    let pk = keys(&params, 2);
    let mut transcript = Blake2bWrite::<_, EqAffine, Challenge255<_>>::init(vec![]);
    create_proof(
        &params,
        &pk,
        &[SumCircuit::with_values(2, 4)],
        &[&[]],
        StdRng::seed_from_u64(9),
        &mut transcript,
    )
    .unwrap();
    let reference = transcript.finalize();
    assert_eq!(
        prove(&params, &pk, SumCircuit::with_values(2, 4), &[], 9),
        reference
    );
}

#[test]
fn shared_columns_commit_alike_and_verify() {
    let params = Params::<EqAffine>::new(K);
    // Two different circuits (two and three link columns) whose column 0 holds the same values.
    let pk2 = keys(&params, 2);
    let pk3 = keys(&params, 3);
    let a = SumCircuit::with_values(2, 7);
    let mut b = SumCircuit::with_values(3, 8);
    for (row_b, row_a) in b
        .values
        .as_mut()
        .unwrap()
        .iter_mut()
        .zip(a.values.as_ref().unwrap())
    {
        row_b[0] = row_a[0];
    }
    let proof_a = prove(&params, &pk2, a.clone(), &[shared(2, 0, 42)], 1);
    let proof_b = prove(&params, &pk3, b.clone(), &[shared(3, 0, 42)], 2);
    assert!(verifies(&params, &pk2, &proof_a));
    assert!(verifies(&params, &pk3, &proof_b));
    assert_eq!(
        advice_commitment(&proof_a, 0),
        advice_commitment(&proof_b, 0)
    );
    // The other columns are blinded independently.
    assert_ne!(
        advice_commitment(&proof_a, 1),
        advice_commitment(&proof_b, 1)
    );

    // Other randomness, or another value in the column: another commitment.
    let other_seed = prove(&params, &pk3, b.clone(), &[shared(3, 0, 43)], 2);
    assert_ne!(
        advice_commitment(&proof_a, 0),
        advice_commitment(&other_seed, 0)
    );
    let mut changed = b.clone();
    changed.values.as_mut().unwrap()[ROWS - 1][0] += 1;
    let other_value = prove(&params, &pk3, changed, &[shared(3, 0, 42)], 2);
    assert!(verifies(&params, &pk3, &other_value));
    assert_ne!(
        advice_commitment(&proof_a, 0),
        advice_commitment(&other_value, 0)
    );

    // Without sharing, the same values commit differently in each proof.
    let unshared = prove(&params, &pk3, b, &[], 2);
    assert_ne!(
        advice_commitment(&proof_a, 0),
        advice_commitment(&unshared, 0)
    );
}

#[test]
fn malformed_shared_randomness_is_refused() {
    let params = Params::<EqAffine>::new(K);
    let pk = keys(&params, 2);
    let good = shared(2, 0, 1);
    let short = SharedBlinding {
        tail: good.tail[1..].to_vec(),
        ..good.clone()
    };
    let missing_column = SharedBlinding {
        column: 3,
        ..good.clone()
    };
    for bad in [vec![short], vec![missing_column], vec![good.clone(), good]] {
        let mut transcript = Blake2bWrite::<_, EqAffine, Challenge255<_>>::init(vec![]);
        let result = create_proof_with_shared_blinding(
            &params,
            &pk,
            &[SumCircuit::with_values(2, 1)],
            &[&[]],
            &[&bad],
            StdRng::seed_from_u64(1),
            &mut transcript,
        );
        assert!(matches!(result, Err(Error::Synthesis)), "{bad:?}");
    }
}
