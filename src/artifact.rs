//! Versioned file formats: the compiled model (`.zkm`) and the proof.
//!
//! Both are JSON objects carrying `"format"` and `"version"`; readers check those two fields
//! before anything else, so a file of another kind or version is refused with a clear message.

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use zkinfer_circuits::{ShapeKind, Visibility};

use crate::compile::{CompileOptions, CompiledModel, CostReport, WeightVisibility};
use crate::error::ArtifactError;
use crate::fidelity::FidelityReport;
use crate::proof::Proof;
use crate::quantize::QuantizedModel;
use crate::slices::SliceSummary;

/// Format name of compiled model files.
pub const MODEL_FORMAT: &str = "zkinfer-model";
/// Version of compiled model files this build reads and writes.
pub const MODEL_VERSION: u32 = 1;
/// Format name of proof files.
pub const PROOF_FORMAT: &str = "zkinfer-proof";
/// Version of proof files this build reads and writes.
pub const PROOF_VERSION: u32 = 1;
/// Format name of the proof of one slice of a sliced model, made to be joined with the others
/// (same fields as a proof; `slices` holds that one slice).
pub const PART_FORMAT: &str = "zkinfer-proof-part";

#[derive(Serialize, Deserialize)]
struct ModelFile {
    format: String,
    version: u32,
    shape: ShapeKind,
    k: u32,
    cost: CostReport,
    fidelity: Option<FidelityReport>,
    #[serde(default)]
    input_visibility: Visibility,
    #[serde(default)]
    output_visibility: Visibility,
    #[serde(default)]
    weights: WeightVisibility,
    /// The weights commitment of a model with committed weights (for people and other tools;
    /// readers recompute it from the model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    weights_commitment: Option<String>,
    /// A verifier's copy: the weights are zeroed and `weights_commitment` is the published one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    weights_withheld: bool,
    /// How a model too large for one circuit was cut into slices (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    slicing: Option<SlicingRecord>,
    model: QuantizedModel,
}

/// How a sliced model was cut. Readers re-derive the slices from the model and check that
/// they are these.
#[derive(Serialize, Deserialize)]
struct SlicingRecord {
    /// `--max-k` given at compile time.
    max_k: Option<u32>,
    /// `--slices` given at compile time.
    requested: Option<usize>,
    /// `k` of every slice.
    k: u32,
    /// The first operator of each slice.
    starts: Vec<usize>,
    /// The sliced model's digest.
    id: String,
    /// Each slice, for people and other tools.
    slices: Vec<SliceSummary>,
}

/// Checks `"format"` and `"version"`, then decodes the rest.
pub(crate) fn decode<T: DeserializeOwned>(
    bytes: &[u8],
    what: &'static str,
    format: &'static str,
    version: u32,
) -> Result<T, ArtifactError> {
    let malformed = |e: serde_json::Error| ArtifactError::Malformed {
        what,
        problem: e.to_string(),
    };
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(malformed)?;
    let found = value.get("format").and_then(|f| f.as_str()).unwrap_or("");
    if found != format {
        return Err(ArtifactError::WrongFormat {
            what,
            found: found.to_string(),
            expected: format,
        });
    }
    let found = value.get("version").and_then(serde_json::Value::as_u64);
    if found != Some(u64::from(version)) {
        return Err(ArtifactError::WrongVersion {
            what,
            found: found.map_or(0, |v| u32::try_from(v).unwrap_or(u32::MAX)),
            expected: version,
        });
    }
    serde_json::from_value(value).map_err(malformed)
}

impl CompiledModel {
    /// Serialises the compiled model (`.zkm`).
    pub fn to_json(&self) -> Vec<u8> {
        let file = ModelFile {
            format: MODEL_FORMAT.into(),
            version: MODEL_VERSION,
            shape: self.shape,
            k: self.k,
            cost: self.cost.clone(),
            fidelity: self.fidelity.clone(),
            input_visibility: self.input_visibility(),
            output_visibility: self.output_visibility(),
            weights: self.weights(),
            weights_commitment: self.weights_commitment().map(str::to_string),
            weights_withheld: self.weights_withheld(),
            slicing: self.sliced().map(|sliced| SlicingRecord {
                max_k: sliced.max_k,
                requested: sliced.requested,
                k: sliced.k,
                starts: sliced.starts.clone(),
                id: sliced.id.clone(),
                slices: sliced.summaries(),
            }),
            model: self.model.clone(),
        };
        serde_json::to_vec(&file).expect("compiled models serialise")
    }

    /// Reads a compiled model, re-validating the network and re-deriving its layout.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ArtifactError> {
        const WHAT: &str = "compiled model";
        let file: ModelFile = decode(bytes, WHAT, MODEL_FORMAT, MODEL_VERSION)?;
        let inconsistent = |problem: String| ArtifactError::Inconsistent {
            what: WHAT,
            problem,
        };
        // A model file holds the network as quantised; the compiler derives these fields from
        // the options (visibility, committed weights, slices) when it builds the circuit.
        let network = &file.model.network;
        if let Some(field) = [
            (network.params.is_some(), "params"),
            (network.committed_input.is_some(), "committed_input"),
            (network.committed_output.is_some(), "committed_output"),
            (network.links.is_some(), "links"),
        ]
        .into_iter()
        .find_map(|(set, field)| set.then_some(field))
        {
            return Err(inconsistent(format!(
                "its network sets '{field}', which only the compiler derives (from the compile \
                 options); a model file never holds it"
            )));
        }
        file.model
            .network
            .validate()
            .map_err(|e| inconsistent(e.to_string()))?;
        if !file.model.network.output_public() || !file.model.network.input_public() {
            return Err(inconsistent(
                "its network hides its input or output (visibility is a compile option, and \
                 claims are added when proving, not compiled in)"
                    .into(),
            ));
        }
        if file.model.input.len() != file.model.network.input_len()
            || file.model.output.len() != file.model.network.output_len()
        {
            return Err(inconsistent(
                "input or output shape does not match the network".into(),
            ));
        }
        let slicing = file.slicing.as_ref();
        let mut compiled = CompiledModel::build(
            file.model,
            CompileOptions {
                shape: Some(file.shape),
                max_k: slicing.and_then(|s| s.max_k),
                input: file.input_visibility,
                output: file.output_visibility,
                weights: file.weights,
                slices: slicing.and_then(|s| s.requested),
            },
            slicing.map(|s| s.k),
        )
        .map_err(|e| inconsistent(e.to_string()))?;
        match (slicing, compiled.sliced()) {
            (None, None) => {}
            (Some(record), Some(sliced))
                if record.starts == sliced.starts && record.id == sliced.id => {}
            (Some(_), Some(_)) => {
                return Err(inconsistent(
                    "its slices are not the ones its network and options give".into(),
                ))
            }
            (Some(_), None) | (None, Some(_)) => {
                return Err(inconsistent(
                    "whether it is sliced does not follow from its network and options".into(),
                ))
            }
        }
        if compiled.k != file.k {
            return Err(inconsistent(format!(
                "it records k = {} but its network needs k = {}",
                file.k, compiled.k
            )));
        }
        if compiled.cost != file.cost {
            return Err(inconsistent(
                "it records a cost report its network does not give (recompile the model)".into(),
            ));
        }
        match (file.weights_withheld, file.weights_commitment) {
            // A verifier's copy: the commitment is the only trace of the weights.
            (true, Some(commitment)) if compiled.weights_commitment().is_some() => {
                crate::keys::parse_commitment(&commitment)
                    .map_err(|e| inconsistent(e.to_string()))?;
                compiled.withhold_weights(commitment);
            }
            (true, _) => {
                return Err(inconsistent(
                    "it withholds its weights but has no weights_commitment".into(),
                ))
            }
            (false, Some(commitment))
                if Some(commitment.as_str()) != compiled.weights_commitment() =>
            {
                return Err(inconsistent(
                    "its weights_commitment is not the commitment to its weights".into(),
                ))
            }
            (false, _) => {}
        }
        compiled.fidelity = file.fidelity;
        Ok(compiled)
    }
}

impl Proof {
    /// Serialises the proof as pretty JSON.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).expect("proofs serialise")
    }

    /// Reads a proof file.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ArtifactError> {
        decode(bytes, "proof", PROOF_FORMAT, PROOF_VERSION).map_err(|e| match e {
            ArtifactError::WrongFormat { found, .. } if found == PART_FORMAT => {
                ArtifactError::Inconsistent {
                    what: "proof",
                    problem: "it is the proof of one slice (a part): join the parts of the \
                              proof with `zkinfer join` first"
                        .into(),
                }
            }
            e => e,
        })
    }

    /// Reads the proof of one slice (a part, see [`crate::bundle`]).
    pub fn part_from_json(bytes: &[u8]) -> Result<Self, ArtifactError> {
        decode(bytes, "proof part", PART_FORMAT, PROOF_VERSION)
    }
}
