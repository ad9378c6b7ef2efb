//! Proofs of claims about the output (argmax, top-k, threshold): honest claims verify without
//! revealing the outputs; changed, false or forged claims are rejected.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use common::{cache_dir, compile, fixture, prover, samples};
use rand::SeedableRng;
use zkinfer::error::{ClaimError, VerifyError};
use zkinfer::{Claim, ClaimSpec, CompiledModel, Error, Proof, QuantizeOptions};

const MODEL: &str = "mlp_64_32_10";

/// The model, the first sample quantised, and its quantised output.
fn setup() -> (Arc<CompiledModel>, Vec<i64>, Vec<i64>) {
    let compiled = compile(MODEL, QuantizeOptions::default());
    let input = samples(MODEL, "input.json", compiled.model.network.input_len()).remove(0);
    let quantised = compiled.model.quantize_input(0, &input).unwrap();
    let output = compiled
        .network()
        .forward(&quantised)
        .unwrap()
        .output()
        .to_vec();
    (compiled, quantised, output)
}

/// Proves `claim` about the model's output on `input`; returns the proof and the claim circuit.
fn prove_claim(
    compiled: &CompiledModel,
    claim: &Claim,
    input: &[i64],
) -> (Proof, Arc<CompiledModel>) {
    let circuit = Arc::new(compiled.with_claim(claim).unwrap());
    let prover = prover(&circuit);
    let proof = prover
        .prove_quantized(input, rand::rngs::StdRng::seed_from_u64(7))
        .unwrap();
    (proof, circuit)
}

fn verify(
    circuit: &Arc<CompiledModel>,
    proof: &Proof,
) -> Result<zkinfer::VerifiedOutput, VerifyError> {
    prover(circuit).verifier().verify(proof)
}

#[test]
fn honest_claims_verify_and_reveal_no_outputs() {
    let (compiled, input, output) = setup();
    let scale = compiled.model.output_scale;
    let threshold = (output[4] as f64 - 0.5) * 2f64.powi(-scale);
    for spec in [
        ClaimSpec::Argmax,
        ClaimSpec::TopK(3),
        ClaimSpec::AtLeast {
            index: 4,
            value: threshold,
        },
    ] {
        let claim = spec.resolve(&output, scale).unwrap();
        let (proof, circuit) = prove_claim(&compiled, &claim, &input);
        assert!(proof.outputs.is_empty(), "{claim}: outputs leaked");
        let json: serde_json::Value = serde_json::from_slice(&proof.to_json()).unwrap();
        assert!(json.get("outputs").is_none());
        assert_eq!(json["claim"], serde_json::to_value(&claim).unwrap());
        let verified = verify(&circuit, &proof).unwrap();
        assert_eq!(verified.claim.as_ref(), Some(&claim));
        assert!(verified.outputs.is_empty());
        assert_eq!(verified.inputs, vec![input.clone()]);
    }
}

#[test]
fn a_changed_claim_is_rejected() {
    let (compiled, input, output) = setup();
    let claim = ClaimSpec::Argmax
        .resolve(&output, compiled.model.output_scale)
        .unwrap();
    let Claim::Argmax(winner) = claim else {
        unreachable!()
    };
    let (proof, _) = prove_claim(&compiled, &claim, &input);

    // Another index: the verifier derives another circuit, whose digest the proof lacks ...
    let other = Claim::Argmax((winner + 1) % 10);
    let other_circuit = Arc::new(compiled.with_claim(&other).unwrap());
    let mut forged = proof.clone();
    forged.claim = Some(other.clone());
    assert!(matches!(
        verify(&other_circuit, &forged),
        Err(VerifyError::ClaimCircuitMismatch { .. })
    ));
    // ... and with that digest copied in, the transcript does not prove it.
    let other_prover = prover(&other_circuit);
    forged.model_digest = other_prover.verifier().digest().to_string();
    assert_eq!(
        other_prover.verifier().verify(&forged),
        Err(VerifyError::Invalid)
    );

    // A threshold moved by one output step is another claim too.
    let scale = compiled.model.output_scale;
    let value = output[winner] as f64 * 2f64.powi(-scale);
    let ge = Claim::Ge {
        index: winner,
        value,
    };
    let (proof, _) = prove_claim(&compiled, &ge, &input);
    let higher = Claim::Ge {
        index: winner,
        value: value - 2f64.powi(-scale),
    };
    let higher_circuit = Arc::new(compiled.with_claim(&higher).unwrap());
    let higher_prover = prover(&higher_circuit);
    let mut forged = proof.clone();
    forged.claim = Some(higher);
    forged.model_digest = higher_prover.verifier().digest().to_string();
    assert_eq!(
        higher_prover.verifier().verify(&forged),
        Err(VerifyError::Invalid)
    );

    // The claim dropped from the proof, the proof checked against the plain circuit, or a plain
    // proof against a claim circuit.
    let mut dropped = proof.clone();
    dropped.claim = None;
    assert!(matches!(
        verify(&Arc::new(compiled.with_claim(&ge).unwrap()), &dropped),
        Err(VerifyError::ClaimMismatch { .. })
    ));
    let plain = prover(&compiled);
    assert!(matches!(
        plain.verifier().verify(&proof),
        Err(VerifyError::ModelMismatch { .. })
    ));
    let plain_proof = plain
        .prove_quantized(&input, rand::rngs::StdRng::seed_from_u64(1))
        .unwrap();
    assert!(verify(&higher_circuit, &plain_proof).is_err());
}

#[test]
fn a_claim_proof_with_outputs_added_is_rejected() {
    let (compiled, input, output) = setup();
    let claim = ClaimSpec::TopK(2)
        .resolve(&output, compiled.model.output_scale)
        .unwrap();
    let (mut proof, circuit) = prove_claim(&compiled, &claim, &input);
    proof.outputs = vec![output];
    assert!(matches!(
        verify(&circuit, &proof),
        Err(VerifyError::PublicShape { .. })
    ));
}

#[test]
fn a_false_claim_cannot_be_proven() {
    let (compiled, input, output) = setup();
    let scale = compiled.model.output_scale;
    let too_high = ClaimSpec::AtLeast {
        index: 0,
        value: (output[0] + 1) as f64 * 2f64.powi(-scale),
    };
    assert!(matches!(
        too_high.resolve(&output, scale),
        Err(ClaimError::False { .. })
    ));
    // Bypassing the check: the witness of a false claim does not exist.
    let winner = (0..10)
        .max_by_key(|&i| (output[i], std::cmp::Reverse(i)))
        .unwrap();
    let loser = Claim::Argmax((winner + 1) % 10);
    let circuit = compiled.with_claim(&loser).unwrap();
    match circuit.witness(&input) {
        Err(Error::Forward(e)) => assert!(e.to_string().contains("'claim'"), "{e}"),
        other => panic!("a false claim produced a witness: {:?}", other.map(|_| ())),
    }
}

fn zkinfer(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_zkinfer"))
        .args(args)
        .env("ZKINFER_CACHE_DIR", cache_dir())
        .output()
        .expect("the zkinfer binary runs")
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn the_command_line_proves_and_verifies_claims() {
    let dir = tempfile::tempdir().unwrap();
    let zkm = dir.path().join("model.zkm");
    let input = fixture(&format!("{MODEL}/input.json"));
    let run = |args: &[&str]| {
        let o = zkinfer(args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        (o.status.code(), text)
    };
    let onnx = fixture(&format!("{MODEL}/model.onnx"));
    let cal = fixture(&format!("{MODEL}/calibration.json"));
    let compiled = run(&[
        "compile",
        path(&onnx),
        "--calibration",
        path(&cal),
        "-o",
        path(&zkm),
    ]);
    assert_eq!(compiled.0, Some(0), "{}", compiled.1);
    let prove = |claim: &str, out: &Path| {
        run(&[
            "prove",
            path(&zkm),
            "--input",
            path(&input),
            "--claim",
            claim,
            "-o",
            path(out),
        ])
    };

    let mut proofs = Vec::new();
    for (name, claim) in [
        ("argmax", "argmax"),
        ("topk", "topk:3"),
        ("ge", "ge:0:-100"),
    ] {
        let proof = dir.path().join(format!("{name}.json"));
        let (code, text) = prove(claim, &proof);
        assert_eq!(code, Some(0), "{text}");
        let (code, text) = run(&["verify", path(&zkm), path(&proof), "--json"]);
        assert_eq!(code, Some(0), "{text}");
        let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(v["verified"], true);
        assert!(v.get("outputs").is_none(), "{v}");
        assert!(v["claim"].get(name).is_some(), "{v}");
        proofs.push(proof);
    }
    // A batch mixing claims verifies, each against its own circuit.
    let (code, text) = run(&[
        "verify",
        path(&zkm),
        path(&proofs[0]),
        path(&proofs[1]),
        path(&proofs[2]),
        path(&proofs[0]),
    ]);
    assert_eq!(code, Some(0), "{text}");

    // A changed claim, a false claim and a malformed one: exit 1 with the reason.
    let mut forged: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&proofs[0]).unwrap()).unwrap();
    let winner = forged["claim"]["argmax"].as_u64().unwrap();
    forged["claim"]["argmax"] = ((winner + 1) % 10).into();
    let forged_path = dir.path().join("forged.json");
    std::fs::write(&forged_path, forged.to_string()).unwrap();
    let (code, text) = run(&["verify", path(&zkm), path(&forged_path)]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("the claim or the model differs"), "{text}");

    let out = dir.path().join("refused.json");
    for (claim, reason) in [
        ("ge:0:1000", "claim is false"),
        ("topk:x", "K must be a positive integer"),
        ("topk:10", "K must be between 1 and 9"),
    ] {
        let (code, text) = prove(claim, &out);
        assert_eq!(code, Some(1), "{text}");
        assert!(text.contains(reason), "{claim}: {text}");
        assert!(!out.exists());
    }
}
