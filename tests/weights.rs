//! Committed weights: the weights are private values bound by a public Poseidon commitment that
//! every proof carries, and the verifying key depends only on the architecture. A proof made
//! with other weights is rejected, whatever commitment it carries.

mod common;

use std::sync::{Arc, LazyLock};

use common::{fixture, prover, samples};
use rand::SeedableRng;
use zkinfer::error::VerifyError;
use zkinfer::QuantizedModel;
use zkinfer::{
    ClaimSpec, CompileOptions, CompiledModel, Proof, Prover, QuantizeOptions, WeightVisibility,
};
use zkinfer_circuits::{LinearOp, Op};

const MODEL: &str = "mlp_64_32_10";

fn committed() -> CompileOptions {
    CompileOptions {
        weights: WeightVisibility::Committed,
        ..CompileOptions::default()
    }
}

/// Committed weights need 11-bit weights.
fn eleven_bits() -> QuantizeOptions {
    QuantizeOptions {
        weight_bits: 11,
        ..QuantizeOptions::default()
    }
}

/// The MLP with committed weights, its prover, and a quantised sample.
static COMMITTED: LazyLock<(Arc<CompiledModel>, Prover, Vec<i64>)> = LazyLock::new(|| {
    let model = common::model(MODEL);
    let calibration = samples(MODEL, "calibration.json", model.graph().input().len());
    let compiled = Arc::new(
        model
            .compile(&calibration, eleven_bits(), committed())
            .unwrap(),
    );
    let input = compiled.model.quantize_input(0, &calibration[0]).unwrap();
    let prover = prover(&compiled);
    (compiled, prover, input)
});

/// The model's first dense or convolution layer.
fn first_linear(model: &mut QuantizedModel) -> &mut LinearOp {
    model
        .network
        .nodes
        .iter_mut()
        .find_map(|n| match &mut n.op {
            Op::Linear(op) => Some(op),
            _ => None,
        })
        .unwrap()
}

/// The same architecture with one weight changed.
fn with_another_weight(compiled: &CompiledModel) -> Arc<CompiledModel> {
    let mut model = compiled.model.clone();
    let linear = first_linear(&mut model);
    linear.weights[0] = if linear.weights[0] > 0 { -1 } else { 1 };
    Arc::new(CompiledModel::new(model, committed()).unwrap())
}

fn prove(prover: &Prover, input: &[i64]) -> Proof {
    prover
        .prove_quantized(input, rand::rngs::StdRng::seed_from_u64(5))
        .unwrap()
}

#[test]
fn a_committed_weights_proof_verifies_and_carries_the_models_commitment() {
    let (compiled, prover, input) = &*COMMITTED;
    assert_eq!(compiled.weights(), WeightVisibility::Committed);
    let commitment = compiled.weights_commitment().unwrap().to_string();
    let proof = prove(prover, input);
    assert_eq!(
        proof.weights_commitment.as_deref(),
        Some(commitment.as_str())
    );
    let verified = prover.verifier().verify(&proof).unwrap();
    assert_eq!(verified.weights_commitment, Some(commitment));
    // Same outputs as the integer model with its weights in fixed columns.
    let fixed = CompiledModel::new(compiled.model.clone(), CompileOptions::default()).unwrap();
    let expected = fixed.network().forward(input).unwrap().output().to_vec();
    assert_eq!(verified.outputs, vec![expected]);
}

#[test]
fn the_verifying_key_depends_only_on_the_architecture() {
    let (compiled, prover, input) = &*COMMITTED;
    let other = with_another_weight(compiled);
    assert_ne!(other.weights_commitment(), compiled.weights_commitment());
    let other_prover = common::prover(&other);
    assert_eq!(other_prover.verifier().digest(), prover.verifier().digest());

    // With fixed weights, the same change gives another verifying key.
    let fixed = |c: &CompiledModel| {
        Arc::new(CompiledModel::new(c.model.clone(), CompileOptions::default()).unwrap())
    };
    assert_ne!(
        common::prover(&fixed(&other)).verifier().digest(),
        common::prover(&fixed(compiled)).verifier().digest()
    );

    // A proof made with the other weights is refused by the model's verifier: by its
    // commitment, and cryptographically if it carries the model's commitment instead.
    let proof = prove(&other_prover, input);
    assert!(other_prover.verifier().verify(&proof).is_ok());
    assert!(matches!(
        prover.verifier().verify(&proof),
        Err(VerifyError::WeightsMismatch { .. })
    ));
    let mut forged = proof;
    forged.weights_commitment = compiled.weights_commitment().map(str::to_string);
    assert_eq!(prover.verifier().verify(&forged), Err(VerifyError::Invalid));
}

#[test]
fn a_missing_commitment_changed_output_or_flipped_byte_is_rejected() {
    let (_, prover, input) = &*COMMITTED;
    let verifier = prover.verifier();
    let proof = prove(prover, input);

    let mut forged = proof.clone();
    forged.weights_commitment = None;
    assert!(matches!(
        verifier.verify(&forged),
        Err(VerifyError::WeightsMismatch { .. })
    ));
    let mut forged = proof.clone();
    forged.outputs[0][0] += 1;
    assert_eq!(verifier.verify(&forged), Err(VerifyError::Invalid));
    let mut forged = proof.clone();
    forged.inputs[0][7] += 1;
    assert_eq!(verifier.verify(&forged), Err(VerifyError::Invalid));
    let mut forged = proof;
    forged.transcript[100] ^= 1;
    assert!(verifier.verify(&forged).is_err());
}

#[test]
fn weights_beyond_eleven_bits_are_refused_with_a_clear_error() {
    let (compiled, _, _) = &*COMMITTED;
    let mut model = compiled.model.clone();
    let linear = first_linear(&mut model);
    linear.weights[3] = 3000;
    let err = CompiledModel::new(model, committed())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("weight 3000") && err.contains("at most 11 bits"),
        "{err}"
    );
}

#[test]
fn the_committed_model_file_round_trips_and_a_wrong_commitment_in_it_is_refused() {
    let (compiled, prover, _) = &*COMMITTED;
    let json = compiled.to_json();
    let reread = Arc::new(CompiledModel::from_json(&json).unwrap());
    assert_eq!(reread.weights(), WeightVisibility::Committed);
    assert_eq!(reread.weights_commitment(), compiled.weights_commitment());
    assert_eq!(
        common::prover(&reread).verifier().digest(),
        prover.verifier().digest()
    );
    let mut file: serde_json::Value = serde_json::from_slice(&json).unwrap();
    file["weights_commitment"] = serde_json::json!("00".repeat(32));
    let err = CompiledModel::from_json(&serde_json::to_vec(&file).unwrap()).unwrap_err();
    assert!(err.to_string().contains("weights_commitment"), "{err}");
}

#[test]
fn a_verifiers_copy_without_weights_verifies_but_cannot_prove() {
    let (compiled, prover, input) = &*COMMITTED;
    let copy = compiled.verifier_copy().unwrap();
    assert!(copy.weights_withheld());
    assert_eq!(copy.weights_commitment(), compiled.weights_commitment());
    // No weight of the model is left in the file.
    let json = copy.to_json();
    let file: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(file["weights_withheld"], true);
    let reread = Arc::new(CompiledModel::from_json(&json).unwrap());
    assert!(reread.weights_withheld());
    assert!(reread.model.network.nodes.iter().all(|n| match &n.op {
        Op::Linear(op) => op.weights.iter().chain(&op.bias).all(|&w| w == 0),
        _ => true,
    }));
    // Same verifying key; it verifies a proof made with the real weights.
    let copy_verifier = common::prover(&reread);
    assert_eq!(
        copy_verifier.verifier().digest(),
        prover.verifier().digest()
    );
    let proof = prove(prover, input);
    assert!(copy_verifier.verifier().verify(&proof).is_ok());
    // It cannot compute the model.
    let err = copy_verifier
        .prove_quantized(input, rand::rngs::StdRng::seed_from_u64(1))
        .unwrap_err();
    assert!(err.to_string().contains("verifier's copy"), "{err}");
    // A copy claiming another commitment rejects the proof; fixed weights have no copy.
    let mut tampered = file.clone();
    tampered["weights_commitment"] =
        serde_json::json!(with_another_weight(compiled).weights_commitment().unwrap());
    let tampered =
        Arc::new(CompiledModel::from_json(&serde_json::to_vec(&tampered).unwrap()).unwrap());
    assert!(matches!(
        common::prover(&tampered).verifier().verify(&proof),
        Err(VerifyError::WeightsMismatch { .. })
    ));
    let fixed = CompiledModel::new(compiled.model.clone(), CompileOptions::default()).unwrap();
    let err = fixed.verifier_copy().unwrap_err().to_string();
    assert!(err.contains("needs --weights committed"), "{err}");
}

#[test]
fn a_claim_about_a_committed_weights_model_reveals_neither_weights_nor_outputs() {
    let (compiled, _, input) = &*COMMITTED;
    let output = compiled.network().forward(input).unwrap().output().to_vec();
    let claim = ClaimSpec::Argmax
        .resolve(&output, compiled.model.output_scale)
        .unwrap();
    let circuit = Arc::new(compiled.with_claim(&claim).unwrap());
    assert_eq!(circuit.weights(), WeightVisibility::Committed);
    let prover = common::prover(&circuit);
    let proof = prove(&prover, input);
    assert!(proof.outputs.is_empty());
    assert_eq!(
        proof.weights_commitment.as_deref(),
        compiled.weights_commitment()
    );
    let verified = prover.verifier().verify(&proof).unwrap();
    assert_eq!(verified.claim, Some(claim));
    // The verifier's copy derives the same claim circuit.
    let copy = Arc::new(
        compiled
            .verifier_copy()
            .unwrap()
            .with_claim(&verified.claim.unwrap())
            .unwrap(),
    );
    assert!(common::prover(&copy).verifier().verify(&proof).is_ok());
}

#[test]
fn the_command_line_commits_weights_and_verify_prints_the_commitment() {
    let dir = tempfile::tempdir().unwrap();
    let zkm = dir.path().join("committed.zkm");
    let verifier_zkm = dir.path().join("verifier.zkm");
    let proof = dir.path().join("proof.json");
    let p = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let run = common::run_ok;
    let compiled = run(&[
        "compile",
        &p(&fixture(&format!("{MODEL}/model.onnx"))),
        "--calibration",
        &p(&fixture(&format!("{MODEL}/calibration.json"))),
        "--weights",
        "committed",
        "-o",
        &p(&zkm),
        "--verifier-model",
        &p(&verifier_zkm),
    ]);
    let file: serde_json::Value = serde_json::from_slice(&std::fs::read(&zkm).unwrap()).unwrap();
    let commitment = file["weights_commitment"].as_str().unwrap().to_string();
    assert!(compiled.contains(&commitment), "{compiled}");
    let input = p(&fixture(&format!("{MODEL}/input.json")));
    run(&["prove", &p(&zkm), "--input", &input, "-o", &p(&proof)]);
    let verified: serde_json::Value =
        serde_json::from_str(&run(&["verify", &p(&zkm), &p(&proof), "--json"])).unwrap();
    assert_eq!(verified["verified"], true);
    assert_eq!(verified["weights_commitment"], commitment.as_str());
    // The verifier's copy verifies the same proof and refuses to run the model.
    let verified: serde_json::Value =
        serde_json::from_str(&run(&["verify", &p(&verifier_zkm), &p(&proof), "--json"])).unwrap();
    assert_eq!(verified["weights_commitment"], commitment.as_str());
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_zkinfer"))
        .args(["run", &p(&verifier_zkm), "--input", &input])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("verifier's copy"));
}

/// The names of `network`'s structural linear operators.
fn structural_linears(network: &zkinfer_circuits::Network) -> Vec<&str> {
    network
        .nodes
        .iter()
        .filter(|n| matches!(&n.op, Op::Linear(op) if op.structural))
        .map(|n| n.name.as_str())
        .collect()
}

#[test]
fn structural_constants_stay_public_with_committed_weights() {
    // The transformer block has all three kinds: layer norms' and softmax's row sums and a
    // mean over tokens (a reduction); its dense layers and projections are trained.
    let name = "transformer_block";
    let model = common::model(name);
    let calibration = samples(name, "calibration.json", model.graph().input().len());
    let compiled = Arc::new(
        model
            .compile(&calibration, eleven_bits(), committed())
            .unwrap(),
    );
    let expected = ["ln1/sum", "attn_softmax/sum", "ln2/sum", "token_mean/sum"];
    assert_eq!(structural_linears(&compiled.model.network), expected);

    // In the circuit's network they are still linear operators over fixed columns, with their
    // ones; every trained linear operator became a product over committed parameters.
    let circuit = compiled.network();
    assert_eq!(structural_linears(circuit), expected);
    let linear_left = |n: &zkinfer_circuits::Node| matches!(n.op, Op::Linear(_));
    assert!(circuit
        .nodes
        .iter()
        .filter(|n| linear_left(n))
        .all(|n| match &n.op {
            Op::Linear(op) => op.structural && op.weights.iter().all(|&w| w == 1),
            _ => unreachable!(),
        }));
    // The commitment covers the three constants, the trained weights and two digits per trained
    // bias: nothing of the structural operators.
    let trained: usize = compiled
        .model
        .network
        .nodes
        .iter()
        .map(|n| match &n.op {
            Op::Linear(op) if !op.structural => op.weights.len() + 2 * op.bias.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(circuit.params.as_ref().unwrap().values.len(), 3 + trained);

    // The verifier's copy withholds the trained weights and keeps the structural ones.
    let copy = compiled.verifier_copy().unwrap();
    for node in &copy.model.network.nodes {
        if let Op::Linear(op) = &node.op {
            let values = op.weights.iter().chain(&op.bias);
            if op.structural {
                assert!(op.weights.iter().all(|&w| w == 1), "{}", node.name);
            } else {
                assert!(values.clone().all(|&w| w == 0), "{}", node.name);
            }
        }
    }

    // A structural constant is pinned by the verifying key, not by the commitment: changing
    // one changes the key and leaves the commitment alone (a trained weight does the opposite,
    // see the_verifying_key_depends_only_on_the_architecture).
    let mut changed = compiled.model.clone();
    let ln1 = changed
        .network
        .nodes
        .iter_mut()
        .find(|n| n.name == "ln1/sum")
        .unwrap();
    let Op::Linear(op) = &mut ln1.op else {
        unreachable!()
    };
    op.weights[0] = 2;
    let changed = Arc::new(CompiledModel::new(changed, committed()).unwrap());
    assert_eq!(changed.weights_commitment(), compiled.weights_commitment());
    assert_eq!(changed.k, compiled.k);
    let (params, _) = zkinfer::ParamsCache::new(common::cache_dir())
        .load_or_generate(compiled.k, |_| {})
        .unwrap();
    let params = Arc::new(params);
    let digest = |c: &Arc<CompiledModel>| c.verifier(params.clone()).unwrap().digest().to_string();
    assert_ne!(digest(&changed), digest(&compiled));
    // The verifier's copy has the model's verifying key.
    assert_eq!(digest(&Arc::new(copy)), digest(&compiled));
}
