//! Sampled audits of committed batches (`zkinfer audit ...`): the files are passed as their
//! JSON text, exactly what the command line reads and writes.

use pyo3::prelude::*;
use serde_json::json;
use zkinfer::audit::{self, Audit, Challenge, Receipt};
use zkinfer::Error;

use crate::errors::guard;
use crate::model::NativeModel;

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).expect("JSON is UTF-8")
}

fn receipt(json: &str) -> Result<Receipt, Error> {
    Ok(Receipt::from_json(json.as_bytes())?)
}

fn challenge(json: &str) -> Result<Challenge, Error> {
    Ok(Challenge::from_json(json.as_bytes())?)
}

/// `audit commit`: runs every sample and returns the receipt (JSON).
#[pyfunction]
pub fn audit_commit(py: Python<'_>, model: &NativeModel, batch: Vec<Vec<f32>>) -> PyResult<String> {
    py.detach(|| {
        guard(|| {
            Ok(text(
                audit::commit(&model.compiled, &batch)?.receipt.to_json(),
            ))
        })
    })
}

/// `audit challenge`: `samples` indices drawn from the receipt's root and `seed` (random when
/// `None`); returns the challenge (JSON).
#[pyfunction]
#[pyo3(signature = (receipt_json, samples, seed=None))]
pub fn audit_challenge(
    receipt_json: &str,
    samples: usize,
    seed: Option<&[u8]>,
) -> PyResult<String> {
    guard(|| {
        let receipt = receipt(receipt_json)?;
        let seed = seed.map_or_else(audit::random_seed, <[u8]>::to_vec);
        Ok(text(audit::challenge(&receipt, samples, &seed)?.to_json()))
    })
}

/// `audit prove`: one proof per challenged sample with its Merkle path (the model's keys are
/// built once and kept); returns the audit (JSON).
#[pyfunction]
pub fn audit_prove(
    py: Python<'_>,
    model: &NativeModel,
    batch: Vec<Vec<f32>>,
    receipt_json: &str,
    challenge_json: &str,
) -> PyResult<String> {
    py.detach(|| {
        guard(|| {
            let receipt = receipt(receipt_json)?;
            let challenge = challenge(challenge_json)?;
            audit::check_challenge(&receipt, &challenge)?;
            audit::rebuild(&model.compiled, &batch, &receipt)?;
            let prover = model.keys.prover(&model.compiled, None)?;
            let audit = audit::prove(&prover, &batch, &receipt, &challenge, |_| {})?;
            Ok(text(audit.to_json()))
        })
    })
}

/// `audit verify --json`: `{"verified": true, "count", "sampled", "detection"}`; with `batch`,
/// also checks every committed input and receipt output against the root.
#[pyfunction]
#[pyo3(signature = (model, receipt_json, challenge_json, audit_json, batch=None))]
pub fn audit_verify(
    py: Python<'_>,
    model: &NativeModel,
    receipt_json: &str,
    challenge_json: &str,
    audit_json: &str,
    batch: Option<Vec<Vec<f32>>>,
) -> PyResult<String> {
    py.detach(|| {
        guard(|| {
            let receipt = receipt(receipt_json)?;
            let challenge = challenge(challenge_json)?;
            let audit = Audit::from_json(audit_json.as_bytes())?;
            if let Some(batch) = &batch {
                audit::rebuild(&model.compiled, batch, &receipt)?;
            }
            let verifier = model.keys.verifier(&model.compiled, None)?;
            let report = audit::verify(&verifier, &receipt, &challenge, &audit)?;
            Ok(json!({
                "verified": true,
                "count": report.count,
                "sampled": report.sampled,
                "detection": audit::detection_json(&report.detection),
            })
            .to_string())
        })
    })
}

/// `audit reexecute --json`: re-runs the challenged samples and compares them with the
/// committed leaves.
#[pyfunction]
pub fn audit_reexecute(
    py: Python<'_>,
    model: &NativeModel,
    batch: Vec<Vec<f32>>,
    receipt_json: &str,
    challenge_json: &str,
) -> PyResult<String> {
    py.detach(|| {
        guard(|| {
            let receipt = receipt(receipt_json)?;
            let challenge = challenge(challenge_json)?;
            let done = audit::reexecute(&model.compiled, &batch, &receipt, &challenge)?;
            let outputs: serde_json::Map<_, _> = done
                .outputs
                .iter()
                .map(|(index, output)| (index.to_string(), json!(output)))
                .collect();
            Ok(json!({
                "verified": true,
                "count": done.count,
                "sampled": done.outputs.len(),
                "detection": audit::detection_json(&done.detection),
                "outputs": outputs,
            })
            .to_string())
        })
    })
}

/// `audit plan`: the smallest sample catching a cheating fraction with the given confidence.
#[pyfunction]
pub fn audit_plan(count: usize, cheat_fraction: f64, confidence: f64) -> PyResult<usize> {
    guard(|| Ok(audit::min_samples(count, cheat_fraction, confidence)?))
}

/// The probability that `samples` of `count` catch at least one of `⌈cheat_fraction·count⌉`
/// falsified results (sampling without replacement).
#[pyfunction]
pub fn audit_detection(count: usize, cheat_fraction: f64, samples: usize) -> PyResult<f64> {
    guard(|| {
        let falsified = audit::falsified(count, cheat_fraction)?;
        Ok(audit::detection_probability(count, falsified, samples))
    })
}
