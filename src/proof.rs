//! The proof bundle: public values plus the halo2 transcript.

use serde::{Deserialize, Serialize};

use crate::artifact::{PROOF_FORMAT, PROOF_VERSION};
use crate::claim::Claim;

/// A proof that a model (identified by its digest) maps `inputs` to `outputs`, or to an output
/// of which `claim` holds.
///
/// Values are quantised integers: a float is `value · 2^-scale`. Only the transcript is
/// cryptographic; the verifier checks every other field against the model it holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proof {
    /// Always `"zkinfer-proof"`.
    pub format: String,
    /// Format version.
    pub version: u32,
    /// Digest of the verifying key of the model the proof is for (hex).
    pub model_digest: String,
    /// log2 of the circuit's rows.
    pub k: u32,
    /// Scale exponent of the inputs.
    pub input_scale: i32,
    /// Scale exponent of the outputs.
    pub output_scale: i32,
    /// Public inputs, one list per input tensor (absent when the input is hashed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<Vec<i64>>,
    /// The Poseidon commitment to a hashed input (hex, little-endian field element).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_commitment: Option<String>,
    /// Public outputs, one list per output tensor (absent from a proof of a claim).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<Vec<i64>>,
    /// The Poseidon commitment to a hashed output (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_commitment: Option<String>,
    /// The Poseidon commitment to the weights of a model with committed weights (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights_commitment: Option<String>,
    /// What the proof establishes about the output instead of revealing it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<Claim>,
    /// The halo2 proof transcript (hex); empty for a sliced proof, whose transcripts are its
    /// slices'.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "hex_bytes")]
    pub transcript: Vec<u8>,
    /// For a sliced model: one proof per slice, in order (see [`crate::bundle`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slices: Vec<SliceProof>,
}

/// The proof of one slice of a sliced model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SliceProof {
    /// Position of the slice in the chain.
    pub slice: usize,
    /// Digest of the slice's verifying key (hex).
    pub model_digest: String,
    /// The commitments to the link columns holding values from earlier slices, one entry per
    /// slice they come from (copies of what the transcript holds, for people and tools).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links_in: Vec<LinkCommitments>,
    /// The commitments to the link columns holding values for later slices, one entry per
    /// slice that reads them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links_out: Vec<LinkCommitments>,
    /// The halo2 proof transcript (hex).
    #[serde(with = "hex_bytes")]
    pub transcript: Vec<u8>,
}

/// The commitments to the columns of one link, as one of its two slices' proofs holds them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkCommitments {
    /// The other slice of the link.
    pub slice: usize,
    /// One commitment per link column (hex of the compressed point).
    pub commitments: Vec<String>,
}

/// What a proof states, besides its transcript: the public values the verifier checks.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Statement {
    /// The public input (`None` when it is hashed).
    pub inputs: Option<Vec<i64>>,
    /// The commitment to a hashed input (hex).
    pub input_commitment: Option<String>,
    /// The public output (`None` for a proof of a claim, or a private or hashed output).
    pub outputs: Option<Vec<i64>>,
    /// The commitment to a hashed output (hex).
    pub output_commitment: Option<String>,
    /// The commitment to committed weights (hex).
    pub weights_commitment: Option<String>,
    /// The claim about the output.
    pub claim: Option<Claim>,
}

impl Proof {
    pub(crate) fn new(
        model_digest: String,
        k: u32,
        scales: (i32, i32),
        statement: Statement,
        transcript: Vec<u8>,
    ) -> Self {
        Self {
            format: PROOF_FORMAT.into(),
            version: PROOF_VERSION,
            model_digest,
            k,
            input_scale: scales.0,
            output_scale: scales.1,
            inputs: statement.inputs.into_iter().collect(),
            input_commitment: statement.input_commitment,
            outputs: statement.outputs.into_iter().collect(),
            output_commitment: statement.output_commitment,
            weights_commitment: statement.weights_commitment,
            claim: statement.claim,
            transcript,
            slices: Vec::new(),
        }
    }
}

impl crate::keys::VerifiedOutput {
    /// What a verified proof establishes, as `zkinfer verify --json` prints it (without
    /// `"verified"`): the commitments it binds, then the claim, or the dequantised outputs when
    /// they are public.
    pub fn to_json_fields(&self) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::json;
        let mut fields = serde_json::Map::new();
        if let Some(commitment) = &self.input_commitment {
            fields.insert("input_commitment".into(), json!(commitment));
        }
        if let Some(commitment) = &self.output_commitment {
            fields.insert("output_commitment".into(), json!(commitment));
        }
        if let Some(commitment) = &self.weights_commitment {
            fields.insert("weights_commitment".into(), json!(commitment));
        }
        // A claim replaces the outputs; private or hashed outputs are not shown at all.
        if let Some(claim) = &self.claim {
            fields.insert("claim".into(), json!(claim));
        } else if !self.outputs.is_empty() {
            fields.insert("outputs".into(), json!(self.outputs_dequantized));
        }
        fields
    }
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        hex::decode(s).map_err(serde::de::Error::custom)
    }
}
