//! zkinfer patches, end to end: a circuit whose gate has many fixed × advice terms per advice
//! column (gathered through combined fixed polynomials by the prover) laid out as a first region
//! assigned in one pass and a second, measured one, proves and verifies when honest — with and
//! without commitment tables — and its proof fails to verify when a constraint is broken.

use ff::Field;
use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::dev::MockProver;
use halo2_proofs::pasta::{EqAffine, Fp};
use halo2_proofs::plonk::{
    create_proof, keygen_pk, keygen_vk, verify_proof, Advice, Circuit, Column, ConstraintSystem,
    Error, Fixed, SingleVerifier,
};
use halo2_proofs::poly::{commitment::Params, Rotation};
use halo2_proofs::transcript::{Blake2bRead, Blake2bWrite, Challenge255};
use rand::rngs::SysRng;
use rand_core::UnwrapErr;

const INPUTS: usize = 6;
const OUTPUTS: usize = 9;
const ROWS: usize = 5;

#[derive(Clone, Debug)]
struct DenseConfig {
    inputs: Vec<Column<Advice>>,
    outputs: Vec<Column<Advice>>,
    weights: Vec<Vec<Column<Fixed>>>,
    active: Column<Fixed>,
}

/// `outputs[j] = Σ_i weights[j][i] · inputs[i]` on every active row; then the first output of
/// the last row is copied into a second region.
#[derive(Clone, Default)]
struct DenseCircuit {
    inputs: Vec<[u64; INPUTS]>,
    /// Added to the first output of row 1 (a broken constraint when non-zero).
    error: u64,
}

fn weight(j: usize, i: usize) -> Fp {
    Fp::from((3 * j + 5 * i + 1) as u64)
}

impl Circuit<Fp> for DenseCircuit {
    type Config = DenseConfig;
    type FloorPlanner = SimpleFloorPlanner;

    fn without_witnesses(&self) -> Self {
        Self::default()
    }

    fn configure(meta: &mut ConstraintSystem<Fp>) -> DenseConfig {
        let inputs: Vec<_> = (0..INPUTS).map(|_| meta.advice_column()).collect();
        let outputs: Vec<_> = (0..OUTPUTS).map(|_| meta.advice_column()).collect();
        let weights: Vec<Vec<_>> = (0..OUTPUTS)
            .map(|_| (0..INPUTS).map(|_| meta.fixed_column()).collect())
            .collect();
        let active = meta.fixed_column();
        for &column in &outputs {
            meta.enable_equality(column);
        }
        meta.create_gate("dense", |meta| {
            let active = meta.query_fixed(active);
            let xs: Vec<_> = inputs
                .iter()
                .map(|&c| meta.query_advice(c, Rotation::cur()))
                .collect();
            outputs
                .iter()
                .zip(&weights)
                .map(|(&output, weights)| {
                    let dot = weights.iter().zip(&xs).fold(
                        halo2_proofs::plonk::Expression::Constant(Fp::ZERO),
                        |sum, (&w, x)| sum + meta.query_fixed(w) * x.clone(),
                    );
                    active.clone() * meta.query_advice(output, Rotation::cur()) - dot
                })
                .collect::<Vec<_>>()
        });
        DenseConfig {
            inputs,
            outputs,
            weights,
            active,
        }
    }

    fn synthesize(
        &self,
        config: DenseConfig,
        mut layouter: impl Layouter<Fp>,
    ) -> Result<(), Error> {
        let last = layouter.assign_region(
            || "dense rows",
            |mut region| {
                let mut last = None;
                for row in 0..ROWS {
                    region.assign_fixed(|| "", config.active, row, || Value::known(Fp::ONE))?;
                    let xs = self.inputs.get(row).copied();
                    for (i, &column) in config.inputs.iter().enumerate() {
                        let x = xs.map_or(Value::unknown(), |xs| Value::known(Fp::from(xs[i])));
                        region.assign_advice(|| "", column, row, || x)?;
                    }
                    for (j, (&column, weights)) in
                        config.outputs.iter().zip(&config.weights).enumerate()
                    {
                        for (i, &w) in weights.iter().enumerate() {
                            region.assign_fixed(|| "", w, row, || Value::known(weight(j, i)))?;
                        }
                        let y = xs.map_or(Value::unknown(), |xs| {
                            let dot = (0..INPUTS)
                                .fold(Fp::ZERO, |s, i| s + weight(j, i) * Fp::from(xs[i]));
                            let error = if row == 1 && j == 0 { self.error } else { 0 };
                            Value::known(dot + Fp::from(error))
                        });
                        let cell = region.assign_advice(|| "", column, row, || y)?;
                        if j == 0 {
                            last = Some(cell);
                        }
                    }
                }
                Ok(last.expect("rows"))
            },
        )?;
        layouter.assign_region(
            || "copy",
            |mut region| {
                last.copy_advice(|| "", &mut region, config.outputs[0], 0)
                    .map(|_| ())
            },
        )
    }
}

fn honest() -> DenseCircuit {
    DenseCircuit {
        inputs: (0..ROWS)
            .map(|r| std::array::from_fn(|i| (r * 7 + i * 11) as u64))
            .collect(),
        error: 0,
    }
}

fn prove_and_verify(params: &Params<EqAffine>, circuit: &DenseCircuit) -> bool {
    let vk = keygen_vk(params, &DenseCircuit::default()).expect("vk");
    let pk = keygen_pk(params, vk, &DenseCircuit::default()).expect("pk");
    let mut transcript = Blake2bWrite::<_, EqAffine, Challenge255<_>>::init(vec![]);
    create_proof(
        params,
        &pk,
        std::slice::from_ref(circuit),
        &[&[]],
        UnwrapErr(SysRng),
        &mut transcript,
    )
    .expect("proof");
    let proof = transcript.finalize();
    let mut transcript = Blake2bRead::<_, EqAffine, Challenge255<_>>::init(&proof[..]);
    verify_proof(
        params,
        pk.get_vk(),
        SingleVerifier::new(params),
        &[&[]],
        &mut transcript,
    )
    .is_ok()
}

#[test]
fn gathered_gate_terms_prove_honest_witnesses_only() {
    let k = 5;
    MockProver::run(k, &honest(), vec![])
        .expect("synthesis")
        .assert_satisfied();
    let broken = DenseCircuit {
        error: 1,
        ..honest()
    };
    assert!(MockProver::run(k, &broken, vec![])
        .expect("synthesis")
        .verify()
        .is_err());

    let plain = Params::<EqAffine>::new(k);
    let tabled = Params::<EqAffine>::new(k);
    tabled.precompute_commitment_tables();
    for params in [&plain, &tabled] {
        assert!(prove_and_verify(params, &honest()));
        assert!(!prove_and_verify(params, &broken));
    }
}
