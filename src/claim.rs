//! Claims about a model's output, proven instead of the output itself.
//!
//! `zkinfer prove --claim argmax` proves which output is the largest without revealing any
//! output value; `topk:K` proves the set of the `K` largest; `ge:INDEX:VALUE` proves that output
//! `INDEX` is at least `VALUE` (dequantised). The prover resolves a [`ClaimSpec`] against the
//! quantised output into a [`Claim`] (refusing a false one), and both sides derive the same
//! claim circuit from the model and the claim: the network with its output private and the
//! comparisons of [`zkinfer_circuits::checks`] after it. A changed claim changes the circuit, so
//! the proof no longer verifies.
//!
//! Ties follow the lowest index: the argmax is the first largest output, and the top-`K` set
//! prefers lower indices among equal values.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use zkinfer_circuits::arith::{ACTIVATION_MAX, ACTIVATION_MIN};
use zkinfer_circuits::checks::OutputCheck;

use crate::error::ClaimError;

/// What a prover is asked to prove about the output (before it is evaluated).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ClaimSpec {
    /// The index of the largest output.
    Argmax,
    /// The indices of the `K` largest outputs.
    TopK(usize),
    /// Output `index` is at least `value`.
    AtLeast {
        /// The output.
        index: usize,
        /// The dequantised threshold.
        value: f64,
    },
}

impl FromStr for ClaimSpec {
    type Err = ClaimError;

    /// Parses `argmax`, `topk:K` or `ge:INDEX:VALUE`.
    fn from_str(spec: &str) -> Result<Self, ClaimError> {
        let bad = |reason: &str| ClaimError::Parse {
            spec: spec.to_string(),
            reason: reason.to_string(),
        };
        let parts: Vec<&str> = spec.trim().split(':').collect();
        match parts.as_slice() {
            ["argmax"] => Ok(Self::Argmax),
            ["topk", k] => match k.parse::<usize>() {
                Ok(k) if k >= 1 => Ok(Self::TopK(k)),
                _ => Err(bad("K must be a positive integer, as in topk:3")),
            },
            ["ge", index, value] => {
                let index = index
                    .parse()
                    .map_err(|_| bad("INDEX must be a non-negative integer, as in ge:2:0.5"))?;
                let value: f64 = value
                    .parse()
                    .map_err(|_| bad("VALUE must be a number, as in ge:2:0.5"))?;
                if !value.is_finite() {
                    return Err(bad("VALUE must be finite"));
                }
                Ok(Self::AtLeast { index, value })
            }
            _ => Err(bad("expected argmax, topk:K or ge:INDEX:VALUE")),
        }
    }
}

/// A proven statement about the output, as the proof file and `verify --json` show it:
/// `{"argmax": 3}`, `{"topk": [1, 3]}` or `{"ge": {"index": 2, "value": 0.5}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Claim {
    /// The largest output is this one (the first, among equal values).
    Argmax(usize),
    /// These outputs (in increasing index order) are the `K` largest.
    Topk(Vec<usize>),
    /// Output `index` is at least `value` (dequantised).
    Ge {
        /// The output.
        index: usize,
        /// The threshold.
        value: f64,
    },
}

impl fmt::Display for Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Argmax(i) => write!(f, "the largest output is number {i}"),
            Self::Topk(set) => write!(f, "the {} largest outputs are {set:?}", set.len()),
            Self::Ge { index, value } => write!(f, "output {index} is at least {value}"),
        }
    }
}

/// Output indices in decreasing order of value, lower index first among equal values.
fn ranked(output: &[i64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..output.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(output[i]), i));
    order
}

impl ClaimSpec {
    /// The claim this spec makes about a quantised `output` at scale `output_scale`, or why it
    /// cannot be made (a false or meaningless claim).
    pub fn resolve(&self, output: &[i64], output_scale: i32) -> Result<Claim, ClaimError> {
        let n = output.len();
        let claim = match *self {
            Self::Argmax => Claim::Argmax(ranked(output)[0]),
            Self::TopK(k) => {
                let mut set = ranked(output)[..k.min(n)].to_vec();
                set.sort_unstable();
                Claim::Topk(set)
            }
            Self::AtLeast { index, value } => {
                let claim = Claim::Ge { index, value };
                // A threshold above every possible output is false, not malformed.
                if let Some(&y) = output.get(index) {
                    if (y as f64) < (value * 2f64.powi(output_scale)).ceil() {
                        return Err(ClaimError::False {
                            claim: claim.to_string(),
                            actual: y as f64 * 2f64.powi(-output_scale),
                        });
                    }
                }
                claim
            }
        };
        let checks = claim.checks(n, output_scale)?;
        // Argmax and top-k are read off the output, and a threshold was compared above; the
        // comparisons the circuit makes must agree.
        debug_assert!(checks.iter().all(|c| c.holds(output)));
        Ok(claim)
    }
}

impl Claim {
    /// The comparisons that establish the claim about `outputs` values at scale `output_scale`.
    pub fn checks(
        &self,
        outputs: usize,
        output_scale: i32,
    ) -> Result<Vec<OutputCheck>, ClaimError> {
        let invalid = |reason: String| ClaimError::Invalid {
            claim: self.to_string(),
            reason,
        };
        let in_range = |i: usize| {
            if i < outputs {
                Ok(i)
            } else {
                Err(invalid(format!("the model has {outputs} outputs")))
            }
        };
        match self {
            Self::Argmax(winner) => {
                let winner = in_range(*winner)?;
                if outputs < 2 {
                    return Err(invalid("the model has a single output".into()));
                }
                Ok((0..outputs)
                    .filter(|&j| j != winner)
                    .map(|j| OutputCheck::AtLeast {
                        a: winner,
                        b: j,
                        strict: j < winner,
                    })
                    .collect())
            }
            Self::Topk(set) => {
                if set.is_empty() || set.len() >= outputs {
                    return Err(invalid(format!(
                        "K must be between 1 and {} (the outputs less one)",
                        outputs.saturating_sub(1)
                    )));
                }
                if set.windows(2).any(|w| w[0] >= w[1]) {
                    return Err(invalid("indices must be distinct and increasing".into()));
                }
                in_range(set[set.len() - 1])?;
                let mut checks = Vec::with_capacity(set.len() * (outputs - set.len()));
                for &s in set {
                    for t in (0..outputs).filter(|t| !set.contains(t)) {
                        checks.push(OutputCheck::AtLeast {
                            a: s,
                            b: t,
                            strict: t < s,
                        });
                    }
                }
                Ok(checks)
            }
            Self::Ge { index, value } => {
                let a = in_range(*index)?;
                if !value.is_finite() {
                    return Err(invalid("the threshold must be finite".into()));
                }
                // y·2^−s ≥ value ⇔ y ≥ ceil(value·2^s); below the range every output passes.
                let threshold = (value * 2f64.powi(output_scale)).ceil();
                if threshold > ACTIVATION_MAX as f64 {
                    return Err(invalid(format!(
                        "no output can reach it: the largest output is {}",
                        ACTIVATION_MAX as f64 * 2f64.powi(-output_scale)
                    )));
                }
                let threshold = threshold.max(ACTIVATION_MIN as f64) as i64;
                Ok(vec![OutputCheck::AtLeastConst { a, threshold }])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_bad_ones_say_why() {
        assert_eq!("argmax".parse::<ClaimSpec>().unwrap(), ClaimSpec::Argmax);
        assert_eq!("topk:3".parse::<ClaimSpec>().unwrap(), ClaimSpec::TopK(3));
        assert_eq!(
            "ge:2:-0.5".parse::<ClaimSpec>().unwrap(),
            ClaimSpec::AtLeast {
                index: 2,
                value: -0.5
            }
        );
        for bad in [
            "", "max", "topk:0", "topk:x", "ge:1", "ge:a:1", "ge:1:nan", "ge:1:inf",
        ] {
            let e = bad.parse::<ClaimSpec>().unwrap_err();
            assert!(matches!(e, ClaimError::Parse { .. }), "{bad}: {e}");
        }
    }

    #[test]
    fn claims_resolve_with_ties_to_the_lower_index() {
        let y = [3, 9, 9, -4, 7];
        assert_eq!(ClaimSpec::Argmax.resolve(&y, 0).unwrap(), Claim::Argmax(1));
        assert_eq!(
            ClaimSpec::TopK(3).resolve(&y, 0).unwrap(),
            Claim::Topk(vec![1, 2, 4])
        );
        let ge = ClaimSpec::AtLeast {
            index: 4,
            value: 1.75,
        };
        // 7 · 2^−2 = 1.75.
        assert!(ge.resolve(&y, 2).is_ok());
        assert!(matches!(
            ClaimSpec::AtLeast {
                index: 4,
                value: 1.76
            }
            .resolve(&y, 2),
            Err(ClaimError::False { .. })
        ));
    }

    #[test]
    fn every_check_of_a_true_claim_holds_and_a_false_one_fails_one() {
        let y = [3, 9, 9, -4, 7];
        for claim in [Claim::Argmax(1), Claim::Topk(vec![1, 2, 4])] {
            assert!(claim.checks(5, 0).unwrap().iter().all(|c| c.holds(&y)));
        }
        for claim in [
            Claim::Argmax(2),
            Claim::Argmax(4),
            Claim::Topk(vec![1, 2, 3]),
            Claim::Topk(vec![2, 4]),
        ] {
            assert!(
                !claim.checks(5, 0).unwrap().iter().all(|c| c.holds(&y)),
                "{claim} passed"
            );
        }
    }

    #[test]
    fn meaningless_claims_are_refused() {
        assert!(Claim::Argmax(5).checks(5, 0).is_err());
        assert!(Claim::Argmax(0).checks(1, 0).is_err());
        assert!(Claim::Topk(vec![]).checks(5, 0).is_err());
        assert!(Claim::Topk(vec![0, 1, 2, 3, 4]).checks(5, 0).is_err());
        assert!(Claim::Topk(vec![2, 1]).checks(5, 0).is_err());
        assert!(Claim::Ge {
            index: 0,
            value: 1e9
        }
        .checks(5, 4)
        .is_err());
        // Below the output range: every output passes, and the threshold is clamped.
        assert_eq!(
            Claim::Ge {
                index: 0,
                value: -1e9
            }
            .checks(5, 4)
            .unwrap(),
            vec![OutputCheck::AtLeastConst {
                a: 0,
                threshold: ACTIVATION_MIN
            }]
        );
    }

    #[test]
    fn claims_serialise_as_the_proof_file_shows_them() {
        let json = |c: &Claim| serde_json::to_string(c).unwrap();
        assert_eq!(json(&Claim::Argmax(3)), r#"{"argmax":3}"#);
        assert_eq!(json(&Claim::Topk(vec![1, 3])), r#"{"topk":[1,3]}"#);
        assert_eq!(
            json(&Claim::Ge {
                index: 2,
                value: 0.5
            }),
            r#"{"ge":{"index":2,"value":0.5}}"#
        );
    }
}
