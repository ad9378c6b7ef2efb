//! The audit's files: the operator's receipt, the verifier's challenge and the audit (one proof
//! and one Merkle path per challenged sample). All are JSON with `"format"` and `"version"`,
//! checked before anything else, like the other artifacts.

use serde::{Deserialize, Serialize};

use super::merkle::Digest;
use crate::artifact::{decode, PROOF_FORMAT, PROOF_VERSION};
use crate::error::ArtifactError;
use crate::proof::Proof;

/// Format name of receipts.
pub const RECEIPT_FORMAT: &str = "zkinfer-audit-receipt";
/// Format name of challenges.
pub const CHALLENGE_FORMAT: &str = "zkinfer-audit-challenge";
/// Format name of audits.
pub const AUDIT_FORMAT: &str = "zkinfer-audit";
/// Version of the three audit formats this build reads and writes.
pub const AUDIT_VERSION: u32 = 1;

/// What the operator publishes after running a batch: the outputs it returns to its clients
/// and the Merkle root committing to every sample's index, input and output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// Always `"zkinfer-audit-receipt"`.
    pub format: String,
    /// Format version.
    pub version: u32,
    /// The model's audit digest (see [`super::model_digest`]), hex.
    #[serde(with = "hex_digest")]
    pub model: Digest,
    /// Number of samples in the batch.
    pub count: usize,
    /// The committed root (bound to the model and the count), hex.
    #[serde(with = "hex_digest")]
    pub root: Digest,
    /// The dequantised outputs, one list per sample (as `zkinfer run --json` prints them).
    pub outputs: Vec<Vec<f32>>,
}

/// The verifier's challenge: the seed and the indices it derives from the receipt's root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Challenge {
    /// Always `"zkinfer-audit-challenge"`.
    pub format: String,
    /// Format version.
    pub version: u32,
    /// The receipt's root the indices are drawn from, hex.
    #[serde(with = "hex_digest")]
    pub root: Digest,
    /// The receipt's sample count.
    pub count: usize,
    /// The verifier's seed, hex.
    #[serde(with = "hex_bytes")]
    pub seed: Vec<u8>,
    /// Number of challenged samples.
    pub samples: usize,
    /// The challenged indices, increasing.
    pub indices: Vec<usize>,
}

/// The proof of one challenged sample and the Merkle path from its leaf to the root.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditedSample {
    /// The sample's index in the batch.
    pub index: usize,
    /// The leaf's partners from the bottom of the tree up, hex.
    #[serde(with = "hex_digests")]
    pub path: Vec<Digest>,
    /// The proof of the sample's inference.
    pub proof: Proof,
}

/// The operator's answer to a challenge: one proof and one path per challenged sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Audit {
    /// Always `"zkinfer-audit"`.
    pub format: String,
    /// Format version.
    pub version: u32,
    /// The receipt's root, hex.
    #[serde(with = "hex_digest")]
    pub root: Digest,
    /// The receipt's sample count.
    pub count: usize,
    /// The challenged samples, in the challenge's order.
    pub samples: Vec<AuditedSample>,
}

impl Receipt {
    /// Serialises the receipt (pretty JSON).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).expect("receipts serialise")
    }

    /// Reads a receipt.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ArtifactError> {
        decode(bytes, "receipt", RECEIPT_FORMAT, AUDIT_VERSION)
    }
}

impl Challenge {
    /// Serialises the challenge (pretty JSON).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).expect("challenges serialise")
    }

    /// Reads a challenge.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ArtifactError> {
        decode(bytes, "challenge", CHALLENGE_FORMAT, AUDIT_VERSION)
    }
}

impl Audit {
    /// Serialises the audit (pretty JSON).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).expect("audits serialise")
    }

    /// Reads an audit; every proof in it must be a proof file of the version this build reads.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ArtifactError> {
        let audit: Self = decode(bytes, "audit", AUDIT_FORMAT, AUDIT_VERSION)?;
        for sample in &audit.samples {
            if sample.proof.format != PROOF_FORMAT || sample.proof.version != PROOF_VERSION {
                return Err(ArtifactError::Inconsistent {
                    what: "audit",
                    problem: format!(
                        "the proof of sample {} has format '{}' version {}, expected '{}' \
                         version {}",
                        sample.index,
                        sample.proof.format,
                        sample.proof.version,
                        PROOF_FORMAT,
                        PROOF_VERSION
                    ),
                });
            }
        }
        Ok(audit)
    }
}

/// Parses 64 hex digits.
pub(crate) fn parse_digest(text: &str) -> Option<Digest> {
    let bytes = hex::decode(text).ok()?;
    bytes.try_into().ok()
}

mod hex_digest {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::{parse_digest, Digest};

    pub fn serialize<S: Serializer>(digest: &Digest, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(digest))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Digest, D::Error> {
        let text = String::deserialize(d)?;
        parse_digest(&text).ok_or_else(|| {
            serde::de::Error::custom(format!("'{text}' is not a digest (64 hex digits)"))
        })
    }
}

mod hex_digests {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::{parse_digest, Digest};

    pub fn serialize<S: Serializer>(digests: &[Digest], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(digests.iter().map(hex::encode))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Digest>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|text| {
                parse_digest(text).ok_or_else(|| {
                    serde::de::Error::custom(format!("'{text}' is not a digest (64 hex digits)"))
                })
            })
            .collect()
    }
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        hex::decode(&text)
            .map_err(|e| serde::de::Error::custom(format!("'{text}' is not hex: {e}")))
    }
}
