//! What one leaf of a committed batch binds, and its unambiguous encoding.
//!
//! A leaf binds the sample's index, its input and its output as a proof of the sample would
//! expose them: the quantised values when they are public, the Poseidon commitment when they
//! are hashed, and nothing (a marker) when they are private. The encoding hashed with BLAKE2b-256
//! (personalisation `zkinfer-aud-leaf`, distinct from the tree's inner nodes) is
//!
//! ```text
//! index: u64 LE ‖ part(input) ‖ part(output)
//! part = 0x00 ‖ len: u64 LE ‖ len × i64 LE     (values)
//!      | 0x01 ‖ 32 bytes                       (commitment: the field element's repr)
//!      | 0x02                                  (withheld: private)
//! ```
//!
//! Every part announces its kind and length before its contents, so two different
//! (index, input, output) triples never encode to the same bytes.

use ff::PrimeField;
use zkinfer_circuits::commitment::commit;
use zkinfer_circuits::Visibility;

use super::merkle::{hash, Digest};
use crate::error::AuditError;
use crate::keys::VerifiedOutput;

/// BLAKE2b personalisation of leaves.
const LEAF: &[u8; 16] = b"zkinfer-aud-leaf";

/// What a leaf binds of an input or an output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeafPart {
    /// The quantised values (public in the proof).
    Values(Vec<i64>),
    /// The Poseidon commitment to the values (hashed in the proof): the field element's bytes.
    Commitment([u8; 32]),
    /// Nothing: the values are private, and the proof shows nothing of them.
    Withheld,
}

impl LeafPart {
    /// The part for quantised `values` of the given visibility, as a proof would expose them.
    pub fn of(visibility: Visibility, values: &[i64]) -> Self {
        match visibility {
            Visibility::Public => Self::Values(values.to_vec()),
            Visibility::Hashed => Self::Commitment(commit(values).to_repr()),
            Visibility::Private => Self::Withheld,
        }
    }

    /// The part a verified proof exposes: its values (one tensor) or its commitment (hex).
    fn from_proof(
        index: usize,
        what: &str,
        values: &[Vec<i64>],
        commitment: Option<&str>,
    ) -> Result<Self, AuditError> {
        match (values, commitment) {
            ([values], None) => Ok(Self::Values(values.clone())),
            ([], Some(hex)) => hex::decode(hex)
                .ok()
                .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                .map(Self::Commitment)
                .ok_or_else(|| AuditError::PathInvalid {
                    index,
                    reason: format!("the proof's {what} commitment is not 64 hex digits"),
                }),
            ([], None) => Ok(Self::Withheld),
            _ => Err(AuditError::PathInvalid {
                index,
                reason: format!("the proof states its {what} in an unexpected form"),
            }),
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Values(values) => {
                out.push(0);
                out.extend_from_slice(&(values.len() as u64).to_le_bytes());
                for v in values {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
            Self::Commitment(bytes) => {
                out.push(1);
                out.extend_from_slice(bytes);
            }
            Self::Withheld => out.push(2),
        }
    }
}

/// One committed sample: its index, input and output as a proof of it exposes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leaf {
    /// Position of the sample in the batch.
    pub index: usize,
    /// What the leaf binds of the input.
    pub input: LeafPart,
    /// What the leaf binds of the output.
    pub output: LeafPart,
}

impl Leaf {
    /// The leaf of sample `index` with quantised `input` and `output`, for a model whose proofs
    /// expose them with the given visibilities.
    pub fn of_sample(
        index: usize,
        visibility: (Visibility, Visibility),
        input: &[i64],
        output: &[i64],
    ) -> Self {
        Self {
            index,
            input: LeafPart::of(visibility.0, input),
            output: LeafPart::of(visibility.1, output),
        }
    }

    /// The leaf a verified proof of sample `index` establishes.
    pub fn of_proof(index: usize, verified: &VerifiedOutput) -> Result<Self, AuditError> {
        Ok(Self {
            index,
            input: LeafPart::from_proof(
                index,
                "input",
                &verified.inputs,
                verified.input_commitment.as_deref(),
            )?,
            output: LeafPart::from_proof(
                index,
                "output",
                &verified.outputs,
                verified.output_commitment.as_deref(),
            )?,
        })
    }

    /// The unambiguous byte encoding (see the module documentation).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(&(self.index as u64).to_le_bytes());
        self.input.encode(&mut out);
        self.output.encode(&mut out);
        out
    }

    /// The leaf's hash in the tree.
    pub fn hash(&self) -> Digest {
        hash(LEAF, &[&self.encode()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn different_leaves_encode_differently() {
        let leaf = |index, input: LeafPart, output: LeafPart| {
            Leaf {
                index,
                input,
                output,
            }
            .encode()
        };
        let v = |x: &[i64]| LeafPart::Values(x.to_vec());
        // Moving a value from the input to the output, or splitting differently, changes the
        // encoding: each part states its length.
        let cases = [
            leaf(0, v(&[1, 2]), v(&[3])),
            leaf(0, v(&[1]), v(&[2, 3])),
            leaf(1, v(&[1, 2]), v(&[3])),
            leaf(0, v(&[1, 2]), v(&[4])),
            leaf(0, v(&[1, 2]), LeafPart::Withheld),
            leaf(0, LeafPart::Withheld, v(&[3])),
            leaf(0, LeafPart::Commitment([0; 32]), v(&[3])),
            leaf(0, v(&[]), v(&[1, 2, 3])),
        ];
        for (i, a) in cases.iter().enumerate() {
            for b in &cases[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn a_hashed_part_is_the_poseidon_commitment() {
        let part = LeafPart::of(Visibility::Hashed, &[1, 2, 3]);
        assert_eq!(part, LeafPart::Commitment(commit(&[1, 2, 3]).to_repr()));
        assert_eq!(
            LeafPart::of(Visibility::Private, &[1, 2, 3]),
            LeafPart::Withheld
        );
    }
}
