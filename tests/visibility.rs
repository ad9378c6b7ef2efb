//! Input and output visibility: a hashed input or output is replaced in the proof by a Poseidon
//! commitment equal to the native one; a private one by nothing. Whatever the proof exposes is
//! bound: any other commitment, output or public value is rejected.

mod common;

use std::sync::{Arc, LazyLock};

use common::{fixture, prover, samples};
use rand::SeedableRng;
use zkinfer::error::VerifyError;
use zkinfer::{
    ClaimSpec, CompileOptions, CompiledModel, Proof, Prover, QuantizeOptions, Visibility,
};

const MODEL: &str = "mlp_64_32_10";

/// The MLP compiled with a hashed input, its prover, and two quantised samples.
static HASHED: LazyLock<(Arc<CompiledModel>, Prover, Vec<Vec<i64>>)> = LazyLock::new(|| {
    let model = common::model(MODEL);
    let len = model.graph().input().len();
    let calibration = samples(MODEL, "calibration.json", len);
    let options = CompileOptions {
        input: Visibility::Hashed,
        ..CompileOptions::default()
    };
    let compiled = Arc::new(
        model
            .compile(&calibration, QuantizeOptions::default(), options)
            .unwrap(),
    );
    let inputs = calibration[..2]
        .iter()
        .enumerate()
        .map(|(i, s)| compiled.model.quantize_input(i, s).unwrap())
        .collect();
    let prover = prover(&compiled);
    (compiled, prover, inputs)
});

fn proof_of(sample: usize) -> Proof {
    let (_, prover, inputs) = &*HASHED;
    prover
        .prove_quantized(&inputs[sample], rand::rngs::StdRng::seed_from_u64(3))
        .unwrap()
}

#[test]
fn a_hashed_input_proof_verifies_and_carries_the_native_commitment() {
    let (compiled, prover, inputs) = &*HASHED;
    assert!(compiled.input_hashed());
    assert!(compiled.shape.name().ends_with("_hashed"));
    let proof = proof_of(0);
    assert!(proof.inputs.is_empty(), "the input leaked");
    let json: serde_json::Value = serde_json::from_slice(&proof.to_json()).unwrap();
    assert!(json.get("inputs").is_none());
    let native = compiled.commitment_of(&inputs[0]);
    assert_eq!(proof.input_commitment.as_deref(), Some(native.as_str()));

    let verified = prover.verifier().verify(&proof).unwrap();
    assert_eq!(verified.input_commitment, Some(native));
    let trace = compiled.network().forward(&inputs[0]).unwrap();
    assert_eq!(verified.outputs, vec![trace.output().to_vec()]);
    assert!(verified.inputs.is_empty());
}

#[test]
fn another_commitment_output_or_public_value_is_rejected() {
    let (compiled, prover, inputs) = &*HASHED;
    let verifier = prover.verifier();
    let proof = proof_of(0);

    // The commitment of another input: a valid field element, but not what was proven.
    let mut forged = proof.clone();
    forged.input_commitment = Some(compiled.commitment_of(&inputs[1]));
    assert_eq!(verifier.verify(&forged), Err(VerifyError::Invalid));

    let mut forged = proof.clone();
    forged.outputs[0][3] += 1;
    assert_eq!(verifier.verify(&forged), Err(VerifyError::Invalid));

    let mut forged = proof.clone();
    forged.input_commitment = None;
    assert_eq!(
        verifier.verify(&forged),
        Err(VerifyError::MissingCommitment("input"))
    );

    let mut forged = proof.clone();
    forged.input_commitment = Some("zz".repeat(32));
    assert!(matches!(
        verifier.verify(&forged),
        Err(VerifyError::MalformedCommitment(_))
    ));

    let mut forged = proof.clone();
    forged.inputs = vec![inputs[0].clone()];
    assert!(matches!(
        verifier.verify(&forged),
        Err(VerifyError::PublicShape { .. })
    ));

    // A proof of the plain model is not a proof of the hashed one, and the other way round.
    let plain = common::compile(MODEL, QuantizeOptions::default());
    let plain_prover = prover_for(&plain);
    assert!(matches!(
        plain_prover.verifier().verify(&proof),
        Err(VerifyError::ModelMismatch { .. })
    ));
}

fn prover_for(compiled: &Arc<CompiledModel>) -> Prover {
    prover(compiled)
}

#[test]
fn a_claim_about_a_hashed_input_reveals_neither_input_nor_output() {
    let (compiled, _, inputs) = &*HASHED;
    let output = compiled
        .network()
        .forward(&inputs[0])
        .unwrap()
        .output()
        .to_vec();
    let claim = ClaimSpec::Argmax
        .resolve(&output, compiled.model.output_scale)
        .unwrap();
    let circuit = Arc::new(compiled.with_claim(&claim).unwrap());
    assert!(circuit.input_hashed());
    let prover = prover(&circuit);
    let proof = prover
        .prove_quantized(&inputs[0], rand::rngs::StdRng::seed_from_u64(5))
        .unwrap();
    assert!(proof.inputs.is_empty() && proof.outputs.is_empty());
    let verified = prover.verifier().verify(&proof).unwrap();
    assert_eq!(verified.claim, Some(claim));
    assert_eq!(
        verified.input_commitment,
        Some(compiled.commitment_of(&inputs[0]))
    );
    let mut forged = proof.clone();
    forged.input_commitment = Some(compiled.commitment_of(&inputs[1]));
    assert_eq!(prover.verifier().verify(&forged), Err(VerifyError::Invalid));
}

#[test]
fn the_hashed_model_file_round_trips() {
    let (compiled, prover, _) = &*HASHED;
    let reread = Arc::new(CompiledModel::from_json(&compiled.to_json()).unwrap());
    assert!(reread.input_hashed());
    assert_eq!(reread.k, compiled.k);
    assert_eq!(
        prover_for(&reread).verifier().digest(),
        prover.verifier().digest()
    );
}

#[test]
fn the_command_line_compiles_runs_proves_and_verifies_a_hashed_input() {
    let dir = tempfile::tempdir().unwrap();
    let zkm = dir.path().join("hashed.zkm");
    let proof = dir.path().join("proof.json");
    let onnx = fixture(&format!("{MODEL}/model.onnx"));
    let cal = fixture(&format!("{MODEL}/calibration.json"));
    let input = fixture(&format!("{MODEL}/input.json"));
    let run = common::run_ok;
    let p = |p: &std::path::Path| p.to_str().unwrap().to_string();
    run(&[
        "compile",
        &p(&onnx),
        "--calibration",
        &p(&cal),
        "--input-visibility",
        "hashed",
        "-o",
        &p(&zkm),
    ]);
    let ran: serde_json::Value =
        serde_json::from_str(&run(&["run", &p(&zkm), "--input", &p(&input), "--json"])).unwrap();
    let commitment = ran["input_commitments"][0].as_str().unwrap().to_string();
    run(&["prove", &p(&zkm), "--input", &p(&input), "-o", &p(&proof)]);
    let verified: serde_json::Value =
        serde_json::from_str(&run(&["verify", &p(&zkm), &p(&proof), "--json"])).unwrap();
    assert_eq!(verified["verified"], true);
    assert_eq!(verified["input_commitment"], commitment.as_str());
    assert_eq!(verified["outputs"], ran["outputs"]);
}

/// Compiles the MLP with the given visibility and proves the first calibration sample.
fn prove_with(
    input: Visibility,
    output: Visibility,
) -> (Arc<CompiledModel>, Prover, Proof, Vec<i64>, Vec<i64>) {
    let model = common::model(MODEL);
    let calibration = samples(MODEL, "calibration.json", model.graph().input().len());
    let options = CompileOptions {
        input,
        output,
        ..CompileOptions::default()
    };
    let compiled = Arc::new(
        model
            .compile(&calibration, QuantizeOptions::default(), options)
            .unwrap(),
    );
    let x = compiled.model.quantize_input(0, &calibration[0]).unwrap();
    let y = compiled.network().forward(&x).unwrap().output().to_vec();
    let prover = prover(&compiled);
    let proof = prover
        .prove_quantized(&x, rand::rngs::StdRng::seed_from_u64(9))
        .unwrap();
    (compiled, prover, proof, x, y)
}

#[test]
fn a_hashed_output_is_committed_natively_and_bound() {
    let (compiled, prover, proof, x, y) = prove_with(Visibility::Public, Visibility::Hashed);
    assert_eq!(proof.inputs, vec![x.clone()]);
    assert!(proof.outputs.is_empty(), "the output leaked");
    let native = compiled.commitment_of(&y);
    assert_eq!(proof.output_commitment.as_deref(), Some(native.as_str()));
    let verified = prover.verifier().verify(&proof).unwrap();
    assert_eq!(verified.output_commitment, Some(native));

    let mut other = y.clone();
    other[0] += 1;
    let mut forged = proof.clone();
    forged.output_commitment = Some(compiled.commitment_of(&other));
    assert_eq!(prover.verifier().verify(&forged), Err(VerifyError::Invalid));
    let mut forged = proof.clone();
    forged.output_commitment = None;
    assert_eq!(
        prover.verifier().verify(&forged),
        Err(VerifyError::MissingCommitment("output"))
    );
    let mut forged = proof.clone();
    forged.inputs[0][5] += 1;
    assert_eq!(prover.verifier().verify(&forged), Err(VerifyError::Invalid));

    let reread = Arc::new(CompiledModel::from_json(&compiled.to_json()).unwrap());
    assert_eq!(reread.output_visibility(), Visibility::Hashed);
    assert_eq!(
        prover_for(&reread).verifier().digest(),
        prover.verifier().digest()
    );
}

#[test]
fn private_inputs_and_outputs_are_absent_and_what_remains_is_bound() {
    // A private input: the proof shows the output of some input in range, and nothing else.
    let (_, prover, proof, _, y) = prove_with(Visibility::Private, Visibility::Public);
    assert!(proof.inputs.is_empty() && proof.input_commitment.is_none());
    assert_eq!(prover.verifier().verify(&proof).unwrap().outputs, vec![y]);
    let mut forged = proof.clone();
    forged.outputs[0][1] -= 1;
    assert_eq!(prover.verifier().verify(&forged), Err(VerifyError::Invalid));

    // A private output: the proof shows that the model ran on this input.
    let (_, prover, proof, x, y) = prove_with(Visibility::Public, Visibility::Private);
    assert!(proof.outputs.is_empty() && proof.output_commitment.is_none());
    assert!(prover.verifier().verify(&proof).is_ok());
    let mut forged = proof.clone();
    forged.outputs = vec![y];
    assert!(matches!(
        prover.verifier().verify(&forged),
        Err(VerifyError::PublicShape { .. })
    ));
    let mut forged = proof.clone();
    forged.inputs[0][7] = if x[7] == 0 { 1 } else { 0 };
    assert_eq!(prover.verifier().verify(&forged), Err(VerifyError::Invalid));
}
