//! Real proofs of the CNN and transformer fixtures: each proves and verifies, and a changed
//! output is rejected. The transformer block runs in CI; the larger models are ignored there
//! (run them with `cargo test --release --test fixture_proofs -- --ignored`; the benchmark
//! table in BENCHMARKS.md reports their timings).

mod common;

use common::{compile, prover, samples};
use zkinfer::error::VerifyError;
use zkinfer::QuantizeOptions;

fn prove_verify_and_reject_forgery(dir: &str) {
    let compiled = compile(dir, QuantizeOptions::default());
    let prover = prover(&compiled);
    let input = samples(dir, "input.json", compiled.model.network.input_len()).remove(0);
    let proof = prover.prove(&input).unwrap();
    let verified = prover.verifier().verify(&proof).unwrap();
    assert_eq!(
        verified.outputs_dequantized[0],
        compiled.model.run(0, &input).unwrap()
    );
    let mut forged = proof;
    forged.outputs[0][3] += 1;
    assert_eq!(prover.verifier().verify(&forged), Err(VerifyError::Invalid));
}

#[test]
fn transformer_block_proves_and_verifies() {
    prove_verify_and_reject_forgery("transformer_block");
}

#[test]
#[ignore = "slow in the test profile; run with --ignored"]
fn lenet5_proves_and_verifies() {
    prove_verify_and_reject_forgery("lenet5");
}

#[test]
#[ignore = "slow in the test profile; run with --ignored"]
fn cifar_cnn_proves_and_verifies() {
    prove_verify_and_reject_forgery("cifar_cnn");
}

#[test]
#[ignore = "slow in the test profile; run with --ignored"]
fn resnet_small_proves_and_verifies() {
    prove_verify_and_reject_forgery("resnet_small");
}

#[test]
#[ignore = "slow in the test profile; run with --ignored"]
fn transformer_block_legacy_proves_and_verifies() {
    prove_verify_and_reject_forgery("transformer_block_legacy");
}
