//! `zkinfer._native.NativeModel`: a compiled model and the keys built for it.
//!
//! The Python class `zkinfer.Model` wraps it (input conversion, docstrings); every method here
//! releases the GIL while it works and turns errors into exceptions.

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use serde_json::json;
use zkinfer::artifact::PART_FORMAT;
use zkinfer::error::{ArtifactError, ProveError};
use zkinfer::{Claim, ClaimSpec, CompiledModel, Error, LinkSecret, ParamsCache, Proof, Visibility};

use crate::bench;
use crate::compile::read;
use crate::errors::guard;
use crate::keys::Keys;
use crate::proof::PyProof;

/// Fresh randomness from the operating system, as `zkinfer prove` uses.
pub fn os_rng() -> impl rand_core::Rng {
    rand_core::UnwrapErr(rand::rngs::SysRng)
}

/// A compiled model and the keys built for it (kept across calls).
#[pyclass(name = "NativeModel", module = "zkinfer._native", frozen)]
pub struct NativeModel {
    pub compiled: Arc<CompiledModel>,
    pub keys: Keys,
}

impl NativeModel {
    /// A model whose parameters are cached in `cache_dir` (else as the environment says) and
    /// whose key commitments are stored there unless `key_cache` is false.
    pub fn new(compiled: CompiledModel, cache_dir: Option<PathBuf>, key_cache: bool) -> Self {
        let cache = cache_dir.map_or_else(ParamsCache::from_env, ParamsCache::new);
        Self {
            compiled: Arc::new(compiled),
            keys: Keys::new(cache, key_cache),
        }
    }

    /// The quantised sample, checked like the command line checks it.
    fn quantize(&self, sample: &[f32]) -> Result<Vec<i64>, Error> {
        Ok(self.compiled.model.quantize_input(0, sample)?)
    }

    /// The claim `spec` makes about the output on `input` (refused if false), and its circuit.
    fn claim_circuit(
        &self,
        spec: Option<&str>,
        input: &[i64],
    ) -> Result<(Option<Claim>, Arc<CompiledModel>), Error> {
        let Some(spec) = spec else {
            return Ok((None, self.compiled.clone()));
        };
        let spec: ClaimSpec = spec.parse()?;
        let trace = match self.compiled.sliced() {
            Some(_) => self.compiled.sliced_trace(input)?,
            None => self.compiled.network().forward(input)?,
        };
        let claim = spec.resolve(trace.output(), self.compiled.model.output_scale)?;
        let circuit = self.keys.circuit(&self.compiled, Some(&claim))?;
        Ok((Some(claim), circuit))
    }

    /// `prove`: the whole model, one slice (a part), or every slice joined.
    pub fn prove_sample(
        &self,
        sample: &[f32],
        claim: Option<&str>,
        slice: Option<usize>,
        link_secret: Option<&str>,
    ) -> Result<Proof, Error> {
        self.compiled.require_weights()?;
        let input = self.quantize(sample)?;
        let (claim, circuit) = self.claim_circuit(claim, &input)?;
        let claim = claim.as_ref();
        let Some(sliced) = circuit.sliced() else {
            if slice.is_some() {
                return Err(ProveError::Slicing(
                    "slice= is for sliced models; this one is proven as one circuit".into(),
                )
                .into());
            }
            let prover = self.keys.prover(&circuit, claim)?;
            return prover.prove_quantized(&input, os_rng());
        };
        let whole = circuit.sliced_trace(&input)?;
        if let Some(index) = slice {
            let secret = LinkSecret::for_part(link_secret, &circuit, &input)?;
            let prover = self.keys.slice_prover(&circuit, claim, index)?;
            return prover.prove(&input, &whole, &secret, os_rng());
        }
        let secret = match link_secret {
            Some(hex) => LinkSecret::from_hex(hex)?,
            None => LinkSecret::random(),
        };
        let parts = (0..sliced.len())
            .map(|index| {
                let prover = self.keys.slice_prover(&circuit, claim, index)?;
                prover.prove(&input, &whole, &secret, os_rng())
            })
            .collect::<Result<Vec<_>, Error>>()?;
        circuit.join(&parts)
    }

    /// `verify`: what the proof establishes, as `zkinfer verify --json` prints it, plus the
    /// quantised values.
    pub fn verify_proof(&self, proof: &Proof) -> Result<serde_json::Value, Error> {
        if proof.format == PART_FORMAT {
            return Err(ArtifactError::Inconsistent {
                what: "proof",
                problem: "it is the proof of one slice (a part): join the parts of the proof \
                          first"
                    .into(),
            }
            .into());
        }
        let claim = proof.claim.as_ref();
        let circuit = self.keys.circuit(&self.compiled, claim)?;
        let (verified, slices) = match circuit.sliced() {
            Some(sliced) => {
                let verifier = self.keys.sliced_verifier(&circuit, claim)?;
                (verifier.verify(proof)?, Some(sliced.len()))
            }
            None => {
                let verifier = self.keys.verifier(&circuit, claim)?;
                (verifier.verify(proof)?, None)
            }
        };
        let mut fields = serde_json::Map::new();
        fields.insert("verified".into(), json!(true));
        fields.extend(verified.to_json_fields());
        if let Some(slices) = slices {
            fields.insert("slices".into(), json!(slices));
        }
        fields.insert("outputs_quantized".into(), json!(verified.outputs));
        fields.insert("inputs_quantized".into(), json!(verified.inputs));
        Ok(serde_json::Value::Object(fields))
    }

    /// What the `.zkm` says about the model besides the network, for people and tools.
    fn info(&self) -> serde_json::Value {
        let compiled = &self.compiled;
        let slices = compiled.sliced().map(|s| json!(s.summaries()));
        json!({
            "k": compiled.k,
            "shape": compiled.shape.name(),
            "cost": compiled.cost,
            "fidelity": compiled.fidelity,
            "warnings": compiled.model.warnings,
            "slices": slices,
        })
    }
}

fn visibility_name(v: Visibility) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

#[pymethods]
impl NativeModel {
    /// Reads a compiled model from the bytes of a `.zkm` file.
    #[staticmethod]
    #[pyo3(signature = (data, cache_dir=None, key_cache=true))]
    fn from_json(
        py: Python<'_>,
        data: Vec<u8>,
        cache_dir: Option<PathBuf>,
        key_cache: bool,
    ) -> PyResult<Self> {
        let compiled =
            py.detach(|| guard(|| CompiledModel::from_json(&data).map_err(Error::Artifact)))?;
        Ok(Self::new(compiled, cache_dir, key_cache))
    }

    /// Reads a `.zkm` file (errors name the file, as the command line's).
    #[staticmethod]
    #[pyo3(signature = (path, cache_dir=None, key_cache=true))]
    fn load(
        py: Python<'_>,
        path: PathBuf,
        cache_dir: Option<PathBuf>,
        key_cache: bool,
    ) -> PyResult<Self> {
        let compiled = py.detach(|| {
            guard(|| {
                CompiledModel::from_json(&read(&path)?)
                    .map_err(|e| Error::Artifact(e).in_file(&path))
            })
        })?;
        Ok(Self::new(compiled, cache_dir, key_cache))
    }

    /// The `.zkm` file's bytes, as `zkinfer compile` writes them.
    fn to_json<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let bytes = py.detach(|| self.compiled.to_json());
        PyBytes::new(py, &bytes)
    }

    /// A verifier's copy (committed weights): no weights, the same verifying key.
    fn verifier_copy(&self, py: Python<'_>) -> PyResult<Self> {
        let copy = py.detach(|| guard(|| self.compiled.verifier_copy()))?;
        Ok(Self::new(
            copy,
            Some(self.keys.cache().dir().to_path_buf()),
            self.keys.stores_keys(),
        ))
    }

    #[getter]
    fn k(&self) -> u32 {
        self.compiled.k
    }

    /// Number of slices, or None for a model proven as one circuit.
    #[getter]
    fn slices(&self) -> Option<usize> {
        self.compiled.sliced().map(|s| s.len())
    }

    #[getter]
    fn input_len(&self) -> usize {
        self.compiled.model.network.input_len()
    }

    #[getter]
    fn output_len(&self) -> usize {
        self.compiled.network().output_len()
    }

    #[getter]
    fn input_scale(&self) -> i32 {
        self.compiled.model.input_scale
    }

    #[getter]
    fn output_scale(&self) -> i32 {
        self.compiled.model.output_scale
    }

    #[getter]
    fn input_visibility(&self) -> String {
        visibility_name(self.compiled.input_visibility())
    }

    #[getter]
    fn output_visibility(&self) -> String {
        visibility_name(self.compiled.output_visibility())
    }

    #[getter]
    fn weights(&self) -> String {
        serde_json::to_value(self.compiled.weights())
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    #[getter]
    fn weights_commitment(&self) -> Option<String> {
        self.compiled.weights_commitment().map(str::to_string)
    }

    /// The parameter cache folder.
    #[getter]
    fn cache_dir(&self) -> PathBuf {
        self.keys.cache().dir().to_path_buf()
    }

    #[getter]
    fn key_cache(&self) -> bool {
        self.keys.stores_keys()
    }

    /// JSON text: `k`, `shape`, `cost`, `fidelity`, `warnings`, `slices` (summaries).
    fn info_json(&self) -> String {
        self.info().to_string()
    }

    /// Quantised inference on each sample: the dequantised outputs.
    fn run(&self, py: Python<'_>, samples: Vec<Vec<f32>>) -> PyResult<Vec<Vec<f32>>> {
        py.detach(|| {
            guard(|| {
                self.compiled.require_weights()?;
                samples
                    .iter()
                    .enumerate()
                    .map(|(i, s)| self.compiled.model.run(i, s))
                    .collect()
            })
        })
    }

    /// The Poseidon commitments a proof of `sample` would carry, for hashed values:
    /// `(input_commitment, output_commitment)`, each None unless hashed.
    fn commitments(
        &self,
        py: Python<'_>,
        sample: Vec<f32>,
    ) -> PyResult<(Option<String>, Option<String>)> {
        py.detach(|| {
            guard(|| {
                self.compiled.require_weights()?;
                let input = self.quantize(&sample)?;
                let hashed = |v| v == Visibility::Hashed;
                let input_commitment = hashed(self.compiled.input_visibility())
                    .then(|| self.compiled.commitment_of(&input));
                let output_commitment = if hashed(self.compiled.output_visibility()) {
                    let trace = self.compiled.network().forward(&input)?;
                    Some(self.compiled.commitment_of(trace.output()))
                } else {
                    None
                };
                Ok((input_commitment, output_commitment))
            })
        })
    }

    /// Proves one sample: see `zkinfer.Model.prove`.
    #[pyo3(signature = (sample, claim=None, slice=None, link_secret=None))]
    fn prove(
        &self,
        py: Python<'_>,
        sample: Vec<f32>,
        claim: Option<String>,
        slice: Option<usize>,
        link_secret: Option<String>,
    ) -> PyResult<PyProof> {
        py.detach(|| {
            guard(|| self.prove_sample(&sample, claim.as_deref(), slice, link_secret.as_deref()))
        })
        .map(PyProof::new)
    }

    /// Verifies a proof; returns JSON text of what it establishes.
    fn verify(&self, py: Python<'_>, proof: &PyProof) -> PyResult<String> {
        let proof = &proof.proof;
        py.detach(|| guard(|| self.verify_proof(proof)))
            .map(|v| v.to_string())
    }

    /// Joins the parts of a sliced model's proof (one per slice, any order).
    fn join(&self, py: Python<'_>, parts: Vec<PyRef<'_, PyProof>>) -> PyResult<PyProof> {
        let parts: Vec<Proof> = parts.iter().map(|p| p.proof.clone()).collect();
        py.detach(|| guard(|| self.compiled.join(&parts)))
            .map(PyProof::new)
    }

    /// Times key generation, proving and verification of one sample: JSON text.
    #[pyo3(signature = (sample, prove_runs=3))]
    fn bench(&self, py: Python<'_>, sample: Vec<f32>, prove_runs: usize) -> PyResult<String> {
        py.detach(|| guard(|| bench::bench(self, &sample, prove_runs)))
            .map(|v| v.to_string())
    }

    /// How many provers and verifiers this object has built (each is built once and kept).
    #[getter]
    fn keys_built(&self) -> usize {
        self.keys.built()
    }

    /// Forgets the keys built so far (to free memory); later calls build them again.
    fn clear_keys(&self) {
        self.keys.clear();
    }
}
