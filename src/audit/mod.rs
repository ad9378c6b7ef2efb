//! Sampled audits of committed batches.
//!
//! Proving every inference is the expensive end of verification; compute markets verify by
//! sampling instead:
//!
//! 1. **Commit** ([`commit`]): the operator runs a whole batch (quantised inference, bit-exact)
//!    and publishes a [`Receipt`]: the outputs it returns to its clients and a Merkle root over
//!    one [`Leaf`] per sample, binding its index, input and output as a proof of it would expose
//!    them (values, or Poseidon commitments for hashed ones). The root is bound to the number of
//!    samples and to the model ([`model_digest`]).
//! 2. **Challenge** ([`challenge`]): the verifier draws `S` distinct indices from the root and a
//!    seed of its own ([`derive_indices`]); anyone holding both recomputes them.
//! 3. **Prove** ([`prove`]): the operator proves each challenged sample and adds its Merkle
//!    path, giving an [`Audit`].
//! 4. **Verify** ([`verify`]): every proof (as one batch), every path, the receipt's outputs
//!    against the proven ones, and exactly the challenged indices; the [`AuditReport`] says
//!    which detection probability the sample bought ([`detection`]).
//!
//! A verifier holding the model and the inputs may instead **re-execute** ([`reexecute`]): it
//! rebuilds the committed tree from the inputs and the receipt's outputs (hashing only), re-runs
//! the challenged samples natively and compares them with the committed leaves.

pub mod challenge;
pub mod detection;
pub mod files;
pub mod leaf;
pub mod merkle;

use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

use ff::PrimeField;
use rayon::prelude::*;
use zkinfer_circuits::commitment::commit as poseidon_commit;
use zkinfer_circuits::{Trace, Visibility};

pub use challenge::derive_indices;
pub use detection::{
    detection_json, detection_probability, falsified, min_samples, REPORTED_FRACTIONS,
};
pub use files::{Audit, AuditedSample, Challenge, Receipt};
pub use leaf::{Leaf, LeafPart};
pub use merkle::{bound_root, top_from_path, Digest, MerkleTree};

use crate::compile::{CompiledModel, WeightVisibility};
use crate::error::{AuditError, Error, Result};
use crate::keys::{Prover, Verifier};
use files::{AUDIT_FORMAT, AUDIT_VERSION, CHALLENGE_FORMAT, RECEIPT_FORMAT};

/// BLAKE2b personalisation of the model digest.
const MODEL: &[u8; 16] = b"zkinfer-aud-modl";

/// The digest binding a receipt to its model: BLAKE2b-256 over the model's circuit digest (the
/// name of its keys in the key store, [`CompiledModel::circuit_digest`]: network, shape, `k`,
/// layout) and how its weights are held.
///
/// For committed weights it is the digest of the weightless verifier's copy and the weights
/// commitment, so the model file and its verifier's copy give the same digest, and other
/// weights give another one.
pub fn model_digest(compiled: &CompiledModel) -> Result<Digest> {
    let (circuit, weights) = match compiled.weights() {
        WeightVisibility::Fixed => (compiled.circuit_digest(), Vec::new()),
        WeightVisibility::Committed => {
            let copy = compiled.verifier_copy()?;
            let commitment = compiled.weights_commitment().unwrap_or_default();
            (copy.circuit_digest(), commitment.as_bytes().to_vec())
        }
    };
    Ok(merkle::hash(
        MODEL,
        &[&circuit, &(weights.len() as u64).to_le_bytes(), &weights],
    ))
}

/// Refuses a model whose audits would not say anything about the results: a claim circuit, or
/// a private output (its proofs expose nothing of the output).
fn check_auditable(compiled: &CompiledModel) -> Result<(), AuditError> {
    if compiled.claim.is_some() {
        return Err(AuditError::Unsupported(
            "an audit proves the model's outputs; use the model itself, not a claim circuit".into(),
        ));
    }
    if compiled.output_visibility() == Visibility::Private {
        return Err(AuditError::Unsupported(
            "the model's output is private: its proofs show nothing of the output, so an audit \
             could not check the committed results; compile it with --output-visibility public \
             or hashed"
                .into(),
        ));
    }
    Ok(())
}

/// Refuses a model whose audits cannot be proven or verified yet (a sliced model), or would
/// say nothing about the results (see [`commit`]): call it before building keys.
pub fn check_provable(compiled: &CompiledModel) -> Result<(), AuditError> {
    check_auditable(compiled)?;
    match compiled.sliced() {
        Some(sliced) => Err(AuditError::Unsupported(format!(
            "the model is cut into {} slices: audit proofs of sliced models are not supported \
             yet (commit and reexecute are)",
            sliced.len()
        ))),
        None => Ok(()),
    }
}

/// What the model's proofs expose of the input and of the output.
fn visibilities(compiled: &CompiledModel) -> (Visibility, Visibility) {
    (compiled.input_visibility(), compiled.output_visibility())
}

/// Runs sample `index` of a batch: its quantised input, the forward pass, and its leaf.
fn run_sample(
    compiled: &CompiledModel,
    visibility: (Visibility, Visibility),
    index: usize,
    sample: &[f32],
) -> Result<(Vec<i64>, Trace, Leaf)> {
    let input = compiled.model.quantize_input(index, sample)?;
    let trace = compiled.network().forward(&input)?;
    let leaf = Leaf::of_sample(index, visibility, &input, trace.output());
    Ok((input, trace, leaf))
}

/// A committed batch: the receipt to publish and the tree behind it.
#[derive(Clone, Debug)]
pub struct Committed {
    /// The receipt.
    pub receipt: Receipt,
    /// The Merkle tree whose (bound) root the receipt holds.
    pub tree: MerkleTree,
}

/// Runs every sample of `batch` (quantised inference, in parallel, bit-exact) and commits to
/// the results.
pub fn commit(compiled: &CompiledModel, batch: &[Vec<f32>]) -> Result<Committed> {
    compiled.require_weights().map_err(Error::Prove)?;
    check_auditable(compiled)?;
    if batch.is_empty() {
        return Err(AuditError::Parameter("the batch is empty".into()).into());
    }
    let model = model_digest(compiled)?;
    let visibility = visibilities(compiled);
    // Collected in order, so an error is always the first bad sample's.
    let results: Vec<Result<_>> = batch
        .par_iter()
        .enumerate()
        .map(|(index, sample)| {
            let (_, trace, leaf) = run_sample(compiled, visibility, index, sample)?;
            Ok((
                compiled.model.dequantize_output(trace.output()),
                leaf.hash(),
            ))
        })
        .collect();
    let (outputs, leaves): (Vec<_>, Vec<_>) = results
        .into_iter()
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .unzip();
    let tree = MerkleTree::new(leaves).expect("a non-empty batch");
    let receipt = Receipt {
        format: RECEIPT_FORMAT.into(),
        version: AUDIT_VERSION,
        model,
        count: batch.len(),
        root: bound_root(&model, batch.len(), &tree.top()),
        outputs,
    };
    Ok(Committed { receipt, tree })
}

/// The quantised values of the receipt's output for sample `index`: each dequantised value
/// must be exactly an integer times `2^-scale` of the model's output.
fn requantize(
    compiled: &CompiledModel,
    index: usize,
    output: &[f32],
) -> Result<Vec<i64>, AuditError> {
    let model = &compiled.model;
    let expected = compiled.network().output_len();
    if output.len() != expected {
        return Err(AuditError::OutputShape {
            index,
            problem: format!("has {} values, the model's output {expected}", output.len()),
        });
    }
    let scale = 2f64.powi(model.output_scale);
    let quantised: Vec<i64> = output
        .iter()
        .map(|&v| (f64::from(v) * scale).round() as i64)
        .collect();
    let back = model.dequantize_output(&quantised);
    match output.iter().zip(&back).position(|(a, b)| a != b) {
        Some(position) => Err(AuditError::OutputShape {
            index,
            problem: format!(
                "value {position} ({}) is not an output of the model (a multiple of 2^-{})",
                output[position], model.output_scale
            ),
        }),
        None => Ok(quantised),
    }
}

/// Checks the receipt against the model: its digest, and one output per sample.
fn check_receipt(compiled: &CompiledModel, receipt: &Receipt) -> Result<()> {
    check_auditable(compiled)?;
    let model = model_digest(compiled)?;
    if receipt.model != model {
        return Err(AuditError::ModelMismatch {
            receipt: hex::encode(receipt.model),
            model: hex::encode(model),
        }
        .into());
    }
    if receipt.count == 0 || receipt.outputs.len() != receipt.count {
        return Err(AuditError::Receipt(format!(
            "it commits to {} samples and lists {} outputs",
            receipt.count,
            receipt.outputs.len()
        ))
        .into());
    }
    Ok(())
}

/// Rebuilds the committed tree from the batch's inputs and the receipt's outputs (hashing only,
/// no inference) and checks that it gives the receipt's root: then the receipt's outputs are
/// the committed ones, for this batch.
pub fn rebuild(
    compiled: &CompiledModel,
    batch: &[Vec<f32>],
    receipt: &Receipt,
) -> Result<MerkleTree> {
    check_receipt(compiled, receipt)?;
    if batch.len() != receipt.count {
        return Err(AuditError::BatchSize {
            batch: batch.len(),
            receipt: receipt.count,
        }
        .into());
    }
    let visibility = visibilities(compiled);
    let leaves: Vec<Result<_>> = batch
        .par_iter()
        .zip(&receipt.outputs)
        .enumerate()
        .map(|(index, (sample, output))| {
            let input = compiled.model.quantize_input(index, sample)?;
            let output = requantize(compiled, index, output)?;
            Ok(Leaf::of_sample(index, visibility, &input, &output).hash())
        })
        .collect();
    let leaves = leaves.into_iter().collect::<Result<Vec<_>>>()?;
    let tree = MerkleTree::new(leaves).expect("a non-empty batch");
    if bound_root(&receipt.model, receipt.count, &tree.top()) != receipt.root {
        return Err(AuditError::RootMismatch.into());
    }
    Ok(tree)
}

/// A fresh random seed (32 bytes from the operating system).
pub fn random_seed() -> Vec<u8> {
    use rand_core::Rng;
    let mut seed = vec![0u8; 32];
    rand_core::UnwrapErr(rand::rngs::SysRng).fill_bytes(&mut seed);
    seed
}

/// The challenge of `samples` indices that `seed` draws from the receipt's root.
pub fn challenge(receipt: &Receipt, samples: usize, seed: &[u8]) -> Result<Challenge, AuditError> {
    Ok(Challenge {
        format: CHALLENGE_FORMAT.into(),
        version: AUDIT_VERSION,
        root: receipt.root,
        count: receipt.count,
        seed: seed.to_vec(),
        samples,
        indices: derive_indices(&receipt.root, seed, receipt.count, samples)?,
    })
}

/// Checks that the challenge is for this receipt and that its indices are the ones its root and
/// seed derive.
pub fn check_challenge(receipt: &Receipt, challenge: &Challenge) -> Result<(), AuditError> {
    if challenge.root != receipt.root {
        return Err(AuditError::ChallengeMismatch(format!(
            "its root {} is not the receipt's {}",
            hex::encode(challenge.root),
            hex::encode(receipt.root)
        )));
    }
    if challenge.count != receipt.count {
        return Err(AuditError::ChallengeMismatch(format!(
            "it is for {} samples, the receipt commits to {}",
            challenge.count, receipt.count
        )));
    }
    let derived = derive_indices(
        &challenge.root,
        &challenge.seed,
        challenge.count,
        challenge.samples,
    )?;
    if derived != challenge.indices {
        let position = derived
            .iter()
            .zip(&challenge.indices)
            .position(|(a, b)| a != b)
            .unwrap_or(derived.len().min(challenge.indices.len()));
        let show = |list: &[usize]| {
            list.get(position)
                .map_or("none".into(), ToString::to_string)
        };
        return Err(AuditError::IndicesMismatch {
            position,
            found: show(&challenge.indices),
            derived: show(&derived),
        });
    }
    Ok(())
}

/// The detection probability of `sampled` of `count` for each reported cheating fraction.
pub fn detection(count: usize, sampled: usize) -> Vec<(f64, f64)> {
    REPORTED_FRACTIONS
        .iter()
        .map(|&fraction| {
            let m = falsified(count, fraction).unwrap_or(1);
            (fraction, detection_probability(count, m, sampled))
        })
        .collect()
}

/// One proof made by [`prove`], for progress reports.
#[derive(Clone, Copy, Debug)]
pub struct ProofMade {
    /// How many proofs are done (1 for the first).
    pub done: usize,
    /// How many the audit makes.
    pub total: usize,
    /// The sample proven.
    pub index: usize,
    /// How long its proof took.
    pub elapsed: Duration,
}

/// Answers a challenge: proves every challenged sample of `batch` with `prover` (keys built
/// once) and adds its Merkle path. `progress` is called after each proof.
///
/// Fails before proving anything if the receipt is not this batch's under this model, the
/// challenge is not the receipt's, or a challenged result was falsified (no proof of it exists).
pub fn prove(
    prover: &Prover,
    batch: &[Vec<f32>],
    receipt: &Receipt,
    challenge: &Challenge,
    mut progress: impl FnMut(ProofMade),
) -> Result<Audit> {
    let compiled = prover.compiled();
    check_provable(compiled)?;
    check_challenge(receipt, challenge)?;
    let tree = rebuild(compiled, batch, receipt)?;
    let visibility = visibilities(compiled);
    // The model's output must be the committed one for every challenged sample.
    let inputs = challenge
        .indices
        .par_iter()
        .map(|&index| {
            let (input, _, leaf) = run_sample(compiled, visibility, index, &batch[index])?;
            Ok((leaf.hash() == tree.leaves()[index], input))
        })
        .collect::<Result<Vec<_>>>()?;
    let falsified: Vec<usize> = challenge
        .indices
        .iter()
        .zip(&inputs)
        .filter(|(_, (honest, _))| !honest)
        .map(|(&index, _)| index)
        .collect();
    if let Some(&index) = falsified.first() {
        return Err(AuditError::Falsified { index }.into());
    }
    let total = inputs.len();
    let mut samples = Vec::with_capacity(total);
    for (done, (&index, (_, input))) in challenge.indices.iter().zip(&inputs).enumerate() {
        let start = Instant::now();
        let proof = prover.prove_quantized(input, rand_core::UnwrapErr(rand::rngs::SysRng))?;
        progress(ProofMade {
            done: done + 1,
            total,
            index,
            elapsed: start.elapsed(),
        });
        samples.push(AuditedSample {
            index,
            path: tree.path(index).expect("a challenged index is in the tree"),
            proof,
        });
    }
    Ok(Audit {
        format: AUDIT_FORMAT.into(),
        version: AUDIT_VERSION,
        root: receipt.root,
        count: receipt.count,
        samples,
    })
}

/// What a successful audit established.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditReport {
    /// Samples in the committed batch.
    pub count: usize,
    /// Samples proven (and checked against the commitment).
    pub sampled: usize,
    /// For each reported cheating fraction, the probability that this sample would have caught
    /// at least one falsified result.
    pub detection: Vec<(f64, f64)>,
    /// Time spent on the checks besides the proofs' verification: every path, leaf and
    /// receipt output (and the proofs' public values).
    pub checks: Duration,
}

/// Checks an audit against the receipt and the challenge: exactly the challenged indices, each
/// proof's leaf leading to the committed root along its path, the receipt's output equal to the
/// proven one, and every proof (as one batch). Errors name the sample at fault.
pub fn verify(
    verifier: &Verifier,
    receipt: &Receipt,
    challenge: &Challenge,
    audit: &Audit,
) -> Result<AuditReport> {
    let compiled = verifier.compiled();
    check_provable(compiled)?;
    check_receipt(compiled, receipt)?;
    check_challenge(receipt, challenge)?;
    if audit.root != receipt.root || audit.count != receipt.count {
        return Err(AuditError::AuditRootMismatch {
            audit: hex::encode(audit.root),
            receipt: hex::encode(receipt.root),
        }
        .into());
    }
    check_coverage(challenge, audit)?;
    let start = Instant::now();
    for sample in &audit.samples {
        check_sample(verifier, receipt, sample)?;
    }
    let checks = start.elapsed();
    let proofs: Vec<_> = audit.samples.iter().map(|s| s.proof.clone()).collect();
    let mut failures: Vec<_> = verifier
        .verify_batch(&proofs)
        .into_iter()
        .zip(&audit.samples)
        .filter_map(|(result, sample)| result.err().map(|e| (sample.index, e)))
        .collect();
    match failures.len() {
        0 => Ok(AuditReport {
            count: receipt.count,
            sampled: audit.samples.len(),
            detection: detection(receipt.count, audit.samples.len()),
            checks,
        }),
        1 => {
            let (index, source) = failures.remove(0);
            Err(AuditError::ProofInvalid { index, source }.into())
        }
        _ => Err(AuditError::ProofsInvalid(failures).into()),
    }
}

/// Exactly the challenged indices, each once.
fn check_coverage(challenge: &Challenge, audit: &Audit) -> Result<(), AuditError> {
    let challenged: BTreeSet<usize> = challenge.indices.iter().copied().collect();
    let mut seen = HashSet::with_capacity(audit.samples.len());
    for sample in &audit.samples {
        if !challenged.contains(&sample.index) {
            return Err(AuditError::ExtraIndex(sample.index));
        }
        if !seen.insert(sample.index) {
            return Err(AuditError::RepeatedIndex(sample.index));
        }
    }
    match challenged.iter().find(|i| !seen.contains(i)) {
        Some(&missing) => Err(AuditError::MissingIndex(missing)),
        None => Ok(()),
    }
}

/// One sample's cheap checks: the proof's public values, its leaf's path to the root, and the
/// receipt's output against the proven one.
fn check_sample(
    verifier: &Verifier,
    receipt: &Receipt,
    sample: &AuditedSample,
) -> Result<(), AuditError> {
    let index = sample.index;
    let (_, verified) = verifier
        .check_public(&sample.proof)
        .map_err(|source| AuditError::ProofInvalid { index, source })?;
    let leaf = Leaf::of_proof(index, &verified)?;
    let top = top_from_path(&leaf.hash(), index, receipt.count, &sample.path)?;
    if bound_root(&receipt.model, receipt.count, &top) != receipt.root {
        return Err(AuditError::PathInvalid {
            index,
            reason: "it leads to another root".into(),
        });
    }
    let claimed = requantize(verifier.compiled(), index, &receipt.outputs[index])?;
    let matches = match &leaf.output {
        LeafPart::Values(values) => *values == claimed,
        LeafPart::Commitment(bytes) => poseidon_commit(&claimed).to_repr() == *bytes,
        LeafPart::Withheld => false,
    };
    if !matches {
        return Err(AuditError::ReceiptOutput { index });
    }
    Ok(())
}

/// What a re-execution established.
#[derive(Clone, Debug, PartialEq)]
pub struct Reexecution {
    /// Samples in the committed batch.
    pub count: usize,
    /// The challenged samples and their re-computed (dequantised) outputs, equal to the
    /// committed ones.
    pub outputs: Vec<(usize, Vec<f32>)>,
    /// Detection probabilities per reported cheating fraction (as [`AuditReport::detection`]).
    pub detection: Vec<(f64, f64)>,
}

/// Replication without proofs: rebuilds the committed tree from the batch and the receipt's
/// outputs, re-runs the challenged samples natively (in parallel, bit-exact whatever the
/// threads) and compares each with its committed leaf. Fails naming the first falsified sample.
pub fn reexecute(
    compiled: &CompiledModel,
    batch: &[Vec<f32>],
    receipt: &Receipt,
    challenge: &Challenge,
) -> Result<Reexecution> {
    compiled.require_weights().map_err(Error::Prove)?;
    check_challenge(receipt, challenge)?;
    let tree = rebuild(compiled, batch, receipt)?;
    let visibility = visibilities(compiled);
    // Collected in order, so the error is always the first falsified sample's.
    let results: Vec<Result<_>> = challenge
        .indices
        .par_iter()
        .map(|&index| {
            let (_, trace, leaf) = run_sample(compiled, visibility, index, &batch[index])?;
            if leaf.hash() != tree.leaves()[index] {
                return Err(AuditError::Falsified { index }.into());
            }
            Ok((index, compiled.model.dequantize_output(trace.output())))
        })
        .collect();
    let outputs = results.into_iter().collect::<Result<Vec<_>>>()?;
    Ok(Reexecution {
        count: receipt.count,
        detection: detection(receipt.count, outputs.len()),
        outputs,
    })
}
