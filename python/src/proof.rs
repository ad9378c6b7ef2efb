//! `zkinfer.Proof`: a proof, or a part (the proof of one slice), as the command line writes it.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};
use zkinfer::artifact::PART_FORMAT;
use zkinfer::{Error, Proof};

use crate::errors::guard;

/// A proof of one inference (or a part: the proof of one slice of a sliced model).
///
/// `to_json()` gives exactly the bytes of the command line's proof files, and `from_json()`
/// reads them (proofs and parts alike).
#[pyclass(name = "Proof", module = "zkinfer", frozen)]
pub struct PyProof {
    pub proof: Proof,
}

impl PyProof {
    pub fn new(proof: Proof) -> Self {
        Self { proof }
    }
}

/// Reads a proof or a part, as its `"format"` says.
fn parse(bytes: &[u8]) -> Result<Proof, Error> {
    let is_part = serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| {
            v.get("format")
                .and_then(|f| f.as_str())
                .map(|f| f == PART_FORMAT)
        })
        .unwrap_or(false);
    let parsed = if is_part {
        Proof::part_from_json(bytes)
    } else {
        Proof::from_json(bytes)
    };
    parsed.map_err(Error::Artifact)
}

#[pymethods]
impl PyProof {
    /// Reads a proof (or part) from its JSON text or bytes, as written by `zkinfer prove`.
    #[staticmethod]
    fn from_json(py: Python<'_>, data: &[u8]) -> PyResult<Self> {
        let data = data.to_vec();
        py.detach(|| guard(|| parse(&data))).map(Self::new)
    }

    /// Reads a proof (or part) file (errors name the file, as the command line's).
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        py.detach(|| guard(|| parse(&crate::compile::read(&path)?).map_err(|e| e.in_file(&path))))
            .map(Self::new)
    }

    /// The proof file's bytes: the same as `zkinfer prove -o PROOF.json` writes.
    fn to_json<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.proof.to_json())
    }

    /// Whether this is a part (the proof of one slice, to be joined).
    #[getter]
    fn is_part(&self) -> bool {
        self.proof.format == PART_FORMAT
    }

    /// The digest of the model (or sliced model) the proof is for.
    #[getter]
    fn model_digest(&self) -> &str {
        &self.proof.model_digest
    }

    /// log2 of the circuit's rows (of every slice, for a sliced model).
    #[getter]
    fn k(&self) -> u32 {
        self.proof.k
    }

    /// The public inputs, quantised (one list per tensor; empty when not public).
    #[getter]
    fn inputs(&self) -> Vec<Vec<i64>> {
        self.proof.inputs.clone()
    }

    /// The public outputs, quantised (empty for a proof of a claim or a private output).
    #[getter]
    fn outputs(&self) -> Vec<Vec<i64>> {
        self.proof.outputs.clone()
    }

    /// The claim the proof makes about the output (`{"argmax": 3}`), or None.
    #[getter]
    fn claim<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let Some(claim) = &self.proof.claim else {
            return Ok(None);
        };
        let text = serde_json::to_string(claim).expect("claims serialise");
        py.import("json")?.call_method1("loads", (text,)).map(Some)
    }

    /// The commitment to a hashed input (hex), or None.
    #[getter]
    fn input_commitment(&self) -> Option<&str> {
        self.proof.input_commitment.as_deref()
    }

    /// The commitment to a hashed output (hex), or None.
    #[getter]
    fn output_commitment(&self) -> Option<&str> {
        self.proof.output_commitment.as_deref()
    }

    /// The commitment to committed weights (hex), or None.
    #[getter]
    fn weights_commitment(&self) -> Option<&str> {
        self.proof.weights_commitment.as_deref()
    }

    /// The indices of the slices the proof holds (empty for a model proven as one circuit).
    #[getter]
    fn slices(&self) -> Vec<usize> {
        self.proof.slices.iter().map(|s| s.slice).collect()
    }

    /// Bytes of halo2 transcript (all slices').
    #[getter]
    fn transcript_bytes(&self) -> usize {
        self.proof.transcript.len()
            + self
                .proof
                .slices
                .iter()
                .map(|s| s.transcript.len())
                .sum::<usize>()
    }

    fn __eq__(&self, other: &Self) -> bool {
        self.proof == other.proof
    }

    fn __repr__(&self) -> String {
        let kind = if self.is_part() { "part" } else { "proof" };
        format!(
            "<zkinfer.Proof ({kind}) of {}…, k = {}, {} transcript bytes>",
            &self.proof.model_digest.chars().take(12).collect::<String>(),
            self.proof.k,
            self.transcript_bytes()
        )
    }

    /// Pickles as the JSON file (for Ray and multiprocessing).
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let from_json = py.get_type::<Self>().getattr("from_json")?;
        let bytes = slf.get().to_json(py);
        (from_json, (bytes,)).into_pyobject(py)
    }
}
