//! Helpers for tests that expect `MockProver` to reject a witness for a specific reason.

use std::collections::BTreeSet;

use halo2_proofs::dev::VerifyFailure;

use crate::arith::digits;
use crate::builder::{dense, NetworkBuilder};
use crate::network::Network;
use crate::ops::{Op, UnitKind, UnitOp};
use crate::unit::UnitWitness;

/// The names of the gates whose constraints failed, plus `"permutation"` when a copy constraint
/// failed and `"lookup"` when a lookup failed. Empty when the circuit is satisfied.
pub fn failed_checks(result: &Result<(), Vec<VerifyFailure>>) -> BTreeSet<String> {
    let Err(failures) = result else {
        return BTreeSet::new();
    };
    failures
        .iter()
        .map(|failure| match failure {
            VerifyFailure::ConstraintNotSatisfied { constraint, .. }
            | VerifyFailure::ConstraintPoisoned { constraint } => {
                gate_name(&constraint.to_string())
            }
            VerifyFailure::Permutation { .. } => "permutation".to_string(),
            VerifyFailure::Lookup { .. } => "lookup".to_string(),
            other => other.to_string(),
        })
        .collect()
}

/// Extracts `name` from a constraint's display form `... in gate N ('name')`.
fn gate_name(constraint: &str) -> String {
    constraint
        .rsplit_once("('")
        .and_then(|(_, rest)| rest.strip_suffix("')"))
        .unwrap_or(constraint)
        .to_string()
}

/// Asserts that exactly the checks in `expected` failed.
#[track_caller]
pub fn assert_rejected_by(result: &Result<(), Vec<VerifyFailure>>, expected: &[&str]) {
    let failed = failed_checks(result);
    let expected: BTreeSet<String> = expected.iter().map(|s| s.to_string()).collect();
    assert!(
        !failed.is_empty(),
        "the corrupted witness was accepted; expected failures of {expected:?}"
    );
    assert_eq!(failed, expected, "unexpected set of failed checks");
}

/// A small network for tests: `y = rescale(W·x + b, shift)` with `W` given row by row
/// (`bias.len()` outputs).
pub fn dense_then_rescale(inputs: usize, weights: Vec<i64>, bias: Vec<i64>, shift: u32) -> Network {
    let outputs = bias.len();
    let (mut b, x) = NetworkBuilder::new("x", vec![inputs]);
    let h = b.push(
        "dense",
        Op::Linear(dense(inputs, outputs, weights, bias)),
        vec![x],
        vec![outputs],
    );
    let y = b.push(
        "rescale",
        Op::Unit(UnitOp::elementwise(
            outputs,
            UnitKind::rescale(shift, false),
        )),
        vec![h],
        vec![outputs],
    );
    b.finish(y)
}

/// The unit witness of `kind` on operands `a`, `b` claiming quotient `q` and (unscaled)
/// remainder `r`: how a forged division or square root is written in tests.
pub fn claimed_unit(kind: &UnitKind, a: i64, b: i64, q: i64, r: i64) -> UnitWitness {
    UnitWitness {
        a,
        b,
        y: kind.output(q, b),
        z: r,
        quotient: digits(i128::from(q + 2048)),
        remainder: digits(i128::from(r)),
    }
}
