//! Sliced proofs: a model cut into linked slices proves what `run` computes, and every kind of
//! tampering with the slices or their links is refused, naming the slice or the link.

mod common;

use std::sync::{Arc, LazyLock};

use common::{cache_dir, model, samples};
use rand::rngs::StdRng;
use rand::SeedableRng;
use zkinfer::error::{JoinError, VerifyError};
use zkinfer::{
    ClaimSpec, CompileOptions, CompiledModel, Error, LinkSecret, ParamsCache, Proof,
    QuantizeOptions, SlicedVerifier, Visibility,
};

/// A fixture compiled with `options`, and its calibration samples.
fn compile(dir: &str, options: CompileOptions) -> (Arc<CompiledModel>, Vec<Vec<f32>>) {
    let model = model(dir);
    let calibration = samples(dir, "calibration.json", model.graph().input().len());
    let compiled = model
        .compile(&calibration, QuantizeOptions::default(), options)
        .unwrap();
    (Arc::new(compiled), calibration)
}

fn params(k: u32) -> Arc<halo2_proofs::poly::commitment::Params<zkinfer::params::Curve>> {
    let (params, _) = ParamsCache::new(cache_dir())
        .load_or_generate(k, |_| {})
        .unwrap();
    Arc::new(params)
}

/// The quantised sample `i`.
fn input(compiled: &CompiledModel, calibration: &[Vec<f32>], i: usize) -> Vec<i64> {
    compiled.model.quantize_input(i, &calibration[i]).unwrap()
}

fn prove(compiled: &Arc<CompiledModel>, input: &[i64], seed: u64) -> Proof {
    compiled
        .prove_sliced(
            params(compiled.k),
            input,
            &LinkSecret::random(),
            StdRng::seed_from_u64(seed),
            |_, _| {},
        )
        .unwrap()
}

/// The 64-32-10 MLP cut into three slices, its verifier, and a proof of sample 0.
struct Small {
    compiled: Arc<CompiledModel>,
    calibration: Vec<Vec<f32>>,
    verifier: SlicedVerifier,
    proof: Proof,
}

static SMALL: LazyLock<Small> = LazyLock::new(|| {
    let (compiled, calibration) = compile(
        "mlp_64_32_10",
        CompileOptions {
            slices: Some(3),
            ..CompileOptions::default()
        },
    );
    let verifier = compiled.sliced_verifier(params(compiled.k)).unwrap();
    let proof = prove(&compiled, &input(&compiled, &calibration, 0), 1);
    Small {
        compiled,
        calibration,
        verifier,
        proof,
    }
});

#[track_caller]
fn rejected(proof: &Proof) -> VerifyError {
    SMALL.verifier.verify(proof).unwrap_err()
}

#[test]
fn a_sliced_proof_proves_what_run_computes() {
    let s = &*SMALL;
    let sliced = s.compiled.sliced().expect("the model is sliced");
    assert_eq!(sliced.len(), 3);
    assert_eq!(s.proof.slices.len(), 3);
    let verified = s.verifier.verify(&s.proof).unwrap();
    let run = s.compiled.model.run(0, &s.calibration[0]).unwrap();
    assert_eq!(verified.outputs_dequantized, vec![run]);
    assert_eq!(verified.inputs, vec![input(&s.compiled, &s.calibration, 0)]);
    // The slices link: every link carries values, and every slice but the first reads some.
    assert!(sliced.slicing.links.iter().all(|l| !l.elements.is_empty()));
    assert!((1..3).all(|j| sliced.slicing.links.iter().any(|l| l.to == j)));
}

#[test]
fn the_same_model_unsliced_gives_the_same_outputs() {
    let s = &*SMALL;
    let (whole, _) = compile("mlp_64_32_10", CompileOptions::default());
    assert!(whole.sliced().is_none());
    let x = input(&whole, &s.calibration, 0);
    let (trace, _) = whole.witness(&x).unwrap();
    assert_eq!(s.proof.outputs, vec![trace.output().to_vec()]);
}

#[test]
fn dropped_repeated_reordered_and_extra_slices_are_refused() {
    let s = &*SMALL;
    let mut dropped = s.proof.clone();
    dropped.slices.remove(1);
    assert_eq!(
        rejected(&dropped),
        VerifyError::MissingSlice {
            slice: 1,
            got: 2,
            expected: 3
        }
    );
    let mut repeated = s.proof.clone();
    repeated.slices[2] = repeated.slices[1].clone();
    assert_eq!(rejected(&repeated), VerifyError::RepeatedSlice(1));
    let mut swapped = s.proof.clone();
    swapped.slices.swap(0, 1);
    assert_eq!(
        rejected(&swapped),
        VerifyError::SliceOutOfPlace {
            position: 0,
            found: 1
        }
    );
    // Renumbered to hide the swap, each slice meets another slice's key.
    for (i, slice) in swapped.slices.iter_mut().enumerate() {
        slice.slice = i;
    }
    assert!(matches!(
        rejected(&swapped),
        VerifyError::ForeignSlice { slice: 0, .. }
    ));
    let mut extra = s.proof.clone();
    let mut fourth = extra.slices[2].clone();
    fourth.slice = 3;
    extra.slices.push(fourth);
    assert_eq!(
        rejected(&extra),
        VerifyError::ExtraSlices {
            got: 4,
            expected: 3
        }
    );
    let mut none = s.proof.clone();
    none.slices.clear();
    assert!(matches!(rejected(&none), VerifyError::Slicing(_)));
}

#[test]
fn a_slice_from_another_proof_does_not_link() {
    let s = &*SMALL;
    // Another input: each of its slices computed other values. A slice that reads the input
    // states another input; one that reads only links does not link.
    let other_input = prove(&s.compiled, &input(&s.compiled, &s.calibration, 1), 2);
    let sliced = s.compiled.sliced().unwrap();
    let mut link_mismatches = 0;
    for j in 1..3 {
        let mut mixed = s.proof.clone();
        mixed.slices[j] = other_input.slices[j].clone();
        if j == 2 {
            // The last slice states the output: take the other proof's too.
            mixed.outputs = other_input.outputs.clone();
        }
        let error = rejected(&mixed);
        if sliced.slices[j].network().input_public() {
            assert_eq!(error, VerifyError::SliceInvalid(j));
        } else {
            assert!(
                matches!(error, VerifyError::LinkMismatch { to, .. } if to == j),
                "{error}"
            );
            link_mismatches += 1;
        }
    }
    assert!(link_mismatches > 0, "some slice reads only links");
    // The same input proven again: the same values, but blinded with another secret.
    let again = prove(&s.compiled, &input(&s.compiled, &s.calibration, 0), 3);
    s.verifier.verify(&again).unwrap();
    let mut mixed = s.proof.clone();
    mixed.slices[2] = again.slices[2].clone();
    assert_eq!(
        rejected(&mixed),
        VerifyError::LinkMismatch { from: 1, to: 2 }
    );
}

#[test]
fn changed_link_commitments_are_refused() {
    let s = &*SMALL;
    // The listed commitments are checked against the transcript.
    let mut listed = s.proof.clone();
    listed.slices[1].links_in[0].commitments[0] = "00".repeat(32);
    assert_eq!(rejected(&listed), VerifyError::LinkListing(1));
    // A commitment changed in the transcript itself: that slice's proof no longer verifies.
    let verifier_slice = s.compiled.sliced().unwrap().slices[1].clone();
    let link_column = verifier_slice.cost.advice_columns - verifier_slice.layout().links.columns();
    let mut transcript = s.proof.clone();
    transcript.slices[1].transcript[32 * link_column] ^= 1;
    assert_eq!(rejected(&transcript), VerifyError::SliceInvalid(1));
}

#[test]
fn changed_bytes_outputs_inputs_and_digests_are_refused() {
    let s = &*SMALL;
    for slice in 0..3 {
        let mut flipped = s.proof.clone();
        let middle = flipped.slices[slice].transcript.len() / 2;
        flipped.slices[slice].transcript[middle] ^= 0x10;
        assert_eq!(rejected(&flipped), VerifyError::SliceInvalid(slice));
    }
    let mut output = s.proof.clone();
    output.outputs[0][3] += 1;
    assert_eq!(rejected(&output), VerifyError::SliceInvalid(2));
    let mut input = s.proof.clone();
    input.inputs[0][5] += 1;
    assert_eq!(rejected(&input), VerifyError::SliceInvalid(0));
    let mut digest = s.proof.clone();
    digest.slices[2].model_digest = digest.slices[1].model_digest.clone();
    assert!(matches!(
        rejected(&digest),
        VerifyError::ForeignSlice { slice: 2, .. }
    ));
    let mut model = s.proof.clone();
    model.model_digest = "00".repeat(32);
    assert!(matches!(
        rejected(&model),
        VerifyError::ModelMismatch { .. }
    ));
    // A sliced proof is not a proof of the unsliced model, nor the other way round.
    let (whole, _) = compile("mlp_64_32_10", CompileOptions::default());
    let whole_verifier = whole.verifier(params(whole.k)).unwrap();
    assert!(matches!(
        whole_verifier.verify(&s.proof),
        Err(VerifyError::Slicing(_)) | Err(VerifyError::ModelMismatch { .. })
    ));
}

#[test]
fn parts_proven_apart_join_into_a_valid_proof() {
    let s = &*SMALL;
    let x = input(&s.compiled, &s.calibration, 0);
    // Every machine derives the same secret from the model and the (public) input.
    let secret = LinkSecret::for_public_input(&s.compiled, &x).unwrap();
    let whole = s.compiled.sliced_trace(&x).unwrap();
    let parts: Vec<Proof> = (0..3)
        .map(|i| {
            let prover = s.compiled.slice_prover(i, params(s.compiled.k)).unwrap();
            prover
                .prove(&x, &whole, &secret, StdRng::seed_from_u64(10 + i as u64))
                .unwrap()
        })
        .collect();
    // The parts' file format is not a proof's.
    let part_file = parts[0].to_json();
    assert!(Proof::from_json(&part_file).is_err());
    assert_eq!(Proof::part_from_json(&part_file).unwrap(), parts[0]);

    let shuffled = [parts[2].clone(), parts[0].clone(), parts[1].clone()];
    let joined = s.compiled.join(&shuffled).unwrap();
    let verified = s.verifier.verify(&joined).unwrap();
    assert_eq!(verified.outputs, s.proof.outputs);

    let join_error = |parts: &[Proof]| match s.compiled.join(parts) {
        Err(Error::Join(e)) => e,
        other => panic!("expected a join error, got {other:?}"),
    };
    assert_eq!(join_error(&parts[..2]), JoinError::Missing(2));
    assert_eq!(
        join_error(&[parts[0].clone(), parts[1].clone(), parts[1].clone()]),
        JoinError::Repeated(1)
    );
    let mut foreign = parts[1].clone();
    foreign.model_digest = "11".repeat(32);
    assert!(matches!(
        join_error(&[parts[0].clone(), foreign, parts[2].clone()]),
        JoinError::OtherModel { part: 1, .. }
    ));
    // A part for another input states another input (its slice reads the input too) or fails
    // to link.
    let other = input(&s.compiled, &s.calibration, 1);
    let other_whole = s.compiled.sliced_trace(&other).unwrap();
    let other_secret = LinkSecret::for_public_input(&s.compiled, &other).unwrap();
    let other_part = s
        .compiled
        .slice_prover(2, params(s.compiled.k))
        .unwrap()
        .prove(
            &other,
            &other_whole,
            &other_secret,
            StdRng::seed_from_u64(20),
        )
        .unwrap();
    match s
        .compiled
        .join(&[parts[0].clone(), parts[1].clone(), other_part])
    {
        Err(Error::Join(JoinError::Disagree(_))) => {}
        Ok(joined) => assert!(matches!(
            s.verifier.verify(&joined),
            Err(VerifyError::LinkMismatch { .. })
        )),
        Err(e) => panic!("unexpected error {e}"),
    }
}

#[test]
fn a_claim_about_a_sliced_models_output_is_proven_and_bound() {
    let s = &*SMALL;
    let x = input(&s.compiled, &s.calibration, 0);
    let whole = s.compiled.sliced_trace(&x).unwrap();
    let claim = "argmax"
        .parse::<ClaimSpec>()
        .unwrap()
        .resolve(whole.output(), s.compiled.model.output_scale)
        .unwrap();
    let with_claim = Arc::new(s.compiled.with_claim(&claim).unwrap());
    let proof = prove(&with_claim, &x, 4);
    assert!(proof.outputs.is_empty());
    let verifier = with_claim.sliced_verifier(params(with_claim.k)).unwrap();
    let verified = verifier.verify(&proof).unwrap();
    assert_eq!(verified.claim, Some(claim.clone()));
    // The first slices are the plain model's; only the last differs.
    assert_eq!(verifier.digests()[..2], s.verifier.digests()[..2]);
    assert_ne!(verifier.digests()[2], s.verifier.digests()[2]);
    // Another claim in the file: the last slice's key does not match.
    let mut edited = proof.clone();
    edited.claim = Some(
        "argmax"
            .parse::<ClaimSpec>()
            .unwrap()
            .resolve(&[0, 5, 1, 0, 0, 0, 0, 0, 0, 0], 0)
            .unwrap(),
    );
    if edited.claim != proof.claim {
        assert!(verifier.verify(&edited).is_err());
    }
    // The plain verifier does not accept the claim proof.
    assert!(s.verifier.verify(&proof).is_err());
}

#[test]
fn a_model_with_a_private_input_needs_a_shared_secret_for_parts() {
    let (compiled, calibration) = compile(
        "mlp_64_32_10",
        CompileOptions {
            slices: Some(2),
            input: Visibility::Hashed,
            ..CompileOptions::default()
        },
    );
    let x = input(&compiled, &calibration, 0);
    let error = LinkSecret::for_public_input(&compiled, &x).unwrap_err();
    assert!(error.to_string().contains("link secret"), "{error}");
    let proof = prove(&compiled, &x, 5);
    assert!(proof.inputs.is_empty());
    assert!(proof.input_commitment.is_some());
    let verifier = compiled.sliced_verifier(params(compiled.k)).unwrap();
    let verified = verifier.verify(&proof).unwrap();
    assert_eq!(
        verified.outputs_dequantized,
        vec![compiled.model.run(0, &calibration[0]).unwrap()]
    );
    // The commitment is proven by the first slice: another one is refused there.
    let mut other = proof.clone();
    other.input_commitment = Some(compiled.commitment_of(&input(&compiled, &calibration, 1)));
    assert_eq!(
        verifier.verify(&other).unwrap_err(),
        VerifyError::SliceInvalid(0)
    );
    // A public input added to the statement is refused (no slice reads one).
    let mut added = proof.clone();
    added.inputs = vec![x];
    assert!(matches!(
        verifier.verify(&added),
        Err(VerifyError::PublicShape { .. })
    ));
}

#[test]
fn residual_cuts_link_several_tensors_and_prove_what_run_computes() {
    let (compiled, calibration) = compile(
        "resnet_small",
        CompileOptions {
            max_k: Some(9),
            ..CompileOptions::default()
        },
    );
    let sliced = compiled
        .sliced()
        .expect("k = 9 is below what resnet_small needs");
    assert!(sliced.len() >= 2);
    // Some cut carries more than one tensor (the residual's skip and the block's path).
    let carried = |link: &zkinfer_circuits::slicing::Link| {
        let mut tensors: Vec<usize> = link.elements.iter().map(|&(t, _)| t).collect();
        tensors.dedup();
        tensors.len()
    };
    assert!(sliced.slicing.links.iter().any(|l| carried(l) > 1));
    let x = input(&compiled, &calibration, 0);
    let proof = prove(&compiled, &x, 6);
    let verified = compiled
        .sliced_verifier(params(compiled.k))
        .unwrap()
        .verify(&proof)
        .unwrap();
    assert_eq!(
        verified.outputs_dequantized,
        vec![compiled.model.run(0, &calibration[0]).unwrap()]
    );
}

#[test]
fn model_files_record_and_recheck_their_slices() {
    let s = &*SMALL;
    let bytes = s.compiled.to_json();
    let reread = CompiledModel::from_json(&bytes).unwrap();
    let (a, b) = (s.compiled.sliced().unwrap(), reread.sliced().unwrap());
    assert_eq!((&a.starts, &a.id, a.k), (&b.starts, &b.id, b.k));
    // Other cuts in the file: refused, not trusted.
    let mut file: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    file["slicing"]["starts"] = serde_json::json!([0, 2, 3]);
    if file["slicing"]["starts"] != serde_json::json!(a.starts) {
        let error = CompiledModel::from_json(&serde_json::to_vec(&file).unwrap()).unwrap_err();
        assert!(error.to_string().contains("slices"), "{error}");
    }
    let mut file: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    file["slicing"]["k"] = serde_json::json!(a.k + 1);
    assert!(CompiledModel::from_json(&serde_json::to_vec(&file).unwrap()).is_err());
    // A whole-model prover is refused for a sliced model, with a clear message.
    let error = s.compiled.prover(params(s.compiled.k)).unwrap_err();
    assert!(error.to_string().contains("slices"), "{error}");
}

#[test]
fn committed_weights_and_impossible_slice_counts_are_refused_clearly() {
    let model = model("mlp_64_32_10");
    let calibration = samples("mlp_64_32_10", "calibration.json", 64);
    let compile = |options| model.compile(&calibration, QuantizeOptions::default(), options);
    let error = compile(CompileOptions {
        slices: Some(2),
        weights: zkinfer::WeightVisibility::Committed,
        ..CompileOptions::default()
    })
    .unwrap_err();
    assert!(error.to_string().contains("committed weights"), "{error}");
    let error = compile(CompileOptions {
        slices: Some(500),
        ..CompileOptions::default()
    })
    .unwrap_err();
    assert!(error.to_string().contains("slices asked for"), "{error}");
    let error = compile(CompileOptions {
        slices: Some(0),
        ..CompileOptions::default()
    })
    .unwrap_err();
    assert!(error.to_string().contains("at least 1"), "{error}");
}
