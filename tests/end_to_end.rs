//! Real proofs of a fixture MLP: they verify, and they are rejected when anything changes.

mod common;

use std::sync::Arc;

use common::{compile, prover, samples, SMALL_MLP};
use rand::SeedableRng;
use zkinfer::error::VerifyError;
use zkinfer::QuantizeOptions;

const SMALL: &str = "mlp_64_32_10";

fn proof_of_first_sample() -> zkinfer::Proof {
    let (compiled, prover) = &*SMALL_MLP;
    let input = samples(SMALL, "input.json", compiled.model.network.input_len()).remove(0);
    prover.prove(&input).unwrap()
}

#[test]
fn proof_verifies_and_carries_the_integer_forward_pass_outputs() {
    let (compiled, prover) = &*SMALL_MLP;
    let input = samples(SMALL, "input.json", compiled.model.network.input_len()).remove(0);
    let proof = prover.prove(&input).unwrap();
    let verified = prover.verifier().verify(&proof).unwrap();

    let quantised = compiled.model.quantize_input(0, &input).unwrap();
    let trace = compiled.network().forward(&quantised).unwrap();
    assert_eq!(verified.inputs, vec![quantised]);
    assert_eq!(verified.outputs, vec![trace.output().to_vec()]);
    assert_eq!(
        verified.outputs_dequantized[0],
        compiled.model.run(0, &input).unwrap()
    );
}

#[test]
fn changed_output_is_rejected() {
    let (_, prover) = &*SMALL_MLP;
    let proof = proof_of_first_sample();
    for index in [0, 9] {
        let mut forged = proof.clone();
        forged.outputs[0][index] -= 1;
        assert_eq!(prover.verifier().verify(&forged), Err(VerifyError::Invalid));
    }
}

#[test]
fn changed_input_is_rejected() {
    let (_, prover) = &*SMALL_MLP;
    let mut forged = proof_of_first_sample();
    forged.inputs[0][17] += 1;
    assert_eq!(prover.verifier().verify(&forged), Err(VerifyError::Invalid));
}

#[test]
fn flipped_transcript_bytes_are_rejected() {
    let (_, prover) = &*SMALL_MLP;
    let proof = proof_of_first_sample();
    let len = proof.transcript.len();
    for position in [0, 1, 100, len / 2, len - 33, len - 1] {
        let mut forged = proof.clone();
        forged.transcript[position] ^= 0x01;
        assert!(
            prover.verifier().verify(&forged).is_err(),
            "flipping byte {position} of {len} was accepted"
        );
    }
    let mut truncated = proof.clone();
    truncated.transcript.pop();
    assert!(prover.verifier().verify(&truncated).is_err());
    let mut extended = proof;
    extended.transcript.push(0);
    assert!(matches!(
        prover.verifier().verify(&extended),
        Err(VerifyError::TranscriptLength { .. })
    ));
}

#[test]
fn proof_is_rejected_by_another_models_key() {
    // The same network quantised differently is another model with another key.
    let other = compile(
        SMALL,
        QuantizeOptions {
            activation_bits: 9,
            ..Default::default()
        },
    );
    assert_eq!(other.k, SMALL_MLP.0.k);
    let other_verifier = prover(&other);
    let other_verifier = other_verifier.verifier();
    let proof = proof_of_first_sample();
    assert_ne!(other_verifier.digest(), proof.model_digest);
    assert!(matches!(
        other_verifier.verify(&proof),
        Err(VerifyError::ModelMismatch { .. }) | Err(VerifyError::ScaleMismatch { .. })
    ));
    // Claiming the other model's digest (and scales) does not help: the transcript is bound to
    // the key it was made with.
    let mut forged = proof;
    forged.model_digest = other_verifier.digest().to_string();
    forged.input_scale = other.model.input_scale;
    forged.output_scale = other.model.output_scale;
    assert_eq!(other_verifier.verify(&forged), Err(VerifyError::Invalid));
}

#[test]
fn public_values_of_the_wrong_shape_or_range_are_rejected() {
    let (_, prover) = &*SMALL_MLP;
    let proof = proof_of_first_sample();
    let mut short = proof.clone();
    short.outputs[0].pop();
    assert!(matches!(
        prover.verifier().verify(&short),
        Err(VerifyError::PublicShape { .. })
    ));
    let mut wide = proof.clone();
    wide.inputs[0][0] = 1 << 40;
    assert!(matches!(
        prover.verifier().verify(&wide),
        Err(VerifyError::InputOutOfRange { .. })
    ));
    let mut scaled = proof;
    scaled.output_scale += 1;
    assert!(matches!(
        prover.verifier().verify(&scaled),
        Err(VerifyError::ScaleMismatch { .. })
    ));
}

#[test]
fn proofs_are_randomised_but_seeded_proofs_are_reproducible() {
    let (compiled, prover) = &*SMALL_MLP;
    let input = samples(SMALL, "input.json", compiled.model.network.input_len()).remove(0);
    let quantised = compiled.model.quantize_input(0, &input).unwrap();
    let seeded = |seed| {
        prover
            .prove_quantized(&quantised, rand::rngs::StdRng::seed_from_u64(seed))
            .unwrap()
    };
    assert_eq!(seeded(7), seeded(7));
    assert_ne!(seeded(7).transcript, seeded(8).transcript);
}

#[test]
fn witness_is_identical_with_one_thread_and_many() {
    let compiled = Arc::clone(&SMALL_MLP.0);
    let input = samples(
        SMALL,
        "calibration.json",
        compiled.model.network.input_len(),
    );
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            input
                .iter()
                .take(20)
                .map(|x| {
                    compiled
                        .witness(&compiled.model.quantize_input(0, x).unwrap())
                        .unwrap()
                        .1
                })
                .collect::<Vec<_>>()
        })
    };
    assert_eq!(run(1), run(4));
}

#[test]
fn compiled_model_round_trips_through_its_file_format() {
    let (compiled, prover) = &*SMALL_MLP;
    let reread = Arc::new(zkinfer::CompiledModel::from_json(&compiled.to_json()).unwrap());
    assert_eq!(reread.k, compiled.k);
    assert_eq!(reread.model, compiled.model);
    // Keys rebuilt from the file have the same digest and accept the same proofs.
    let rebuilt = common::prover(&reread);
    assert_eq!(rebuilt.verifier().digest(), prover.verifier().digest());
    let proof = zkinfer::Proof::from_json(&proof_of_first_sample().to_json()).unwrap();
    assert!(rebuilt.verifier().verify(&proof).is_ok());
}

#[test]
fn batch_verification_passes_good_proofs_and_names_bad_ones() {
    let (compiled, prover) = &*SMALL_MLP;
    let inputs = samples(
        SMALL,
        "calibration.json",
        compiled.model.network.input_len(),
    );
    let proofs: Vec<_> = inputs
        .iter()
        .take(4)
        .map(|x| prover.prove(x).unwrap())
        .collect();
    let results = prover.verifier().verify_batch(&proofs);
    assert!(results.iter().all(Result::is_ok));
    for (result, proof) in results.iter().zip(&proofs) {
        assert_eq!(result.as_ref().unwrap().outputs, proof.outputs);
    }

    let mut mixed = proofs.clone();
    mixed[2].outputs[0][1] += 1;
    mixed[3].transcript[40] ^= 1;
    let results = prover.verifier().verify_batch(&mixed);
    let failed: Vec<usize> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_err())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(failed, vec![2, 3]);
    assert!(prover.verifier().verify_batch(&[]).is_empty());
}
