//! Comparisons of output elements, proven without exposing the output.
//!
//! A network proving a *claim* about its output ("the largest output is number 3", "output 2 is
//! at least 100") keeps the output private and appends one unit operator after it. Each element
//! of that operator checks one inequality `y[a] − y[b] − strict ≥ 0` (or `y[a] − t ≥ 0` against a
//! constant `t`) with the unit's `nonneg` gate. The comparison is computed as a rounding rescale
//! by 2 of `v − 1`, so that its quotient stays in the activation range although the difference
//! of two activations does not:
//!
//! ```text
//! q = floor((v − 1 + 1) / 2) = floor(v / 2),  and  q ≥ 0  ⇔  v ≥ 0.
//! ```
//!
//! The claim's indices and constants are in fixed columns and copy constraints, so the verifying
//! key binds the claim: a proof of one claim does not verify as a proof of another.

use crate::arith::{ACTIVATION_MAX, ACTIVATION_MIN};
use crate::network::{Network, Node, TensorInfo, Visibility};
use crate::ops::{Op, UnitKind, UnitMode, UnitOp};

/// One inequality about output elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputCheck {
    /// `y[a] > y[b]` when `strict`, else `y[a] ≥ y[b]`.
    AtLeast {
        /// The element claimed to be larger.
        a: usize,
        /// The element it is compared with.
        b: usize,
        /// Whether equality is excluded.
        strict: bool,
    },
    /// `y[a] ≥ threshold`, with the threshold in the activation range.
    AtLeastConst {
        /// The element compared.
        a: usize,
        /// The quantised threshold.
        threshold: i64,
    },
}

/// Why checks cannot be added to a network.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// A check names an output element that does not exist.
    #[error("output index {index} is out of range: the model has {outputs} outputs")]
    IndexOutOfRange {
        /// The index.
        index: usize,
        /// The number of outputs.
        outputs: usize,
    },
    /// A threshold outside the activation range (no output can reach it, or every output does).
    #[error(
        "threshold {threshold} is outside the output range [{ACTIVATION_MIN}, {ACTIVATION_MAX}]"
    )]
    ThresholdOutOfRange {
        /// The quantised threshold.
        threshold: i64,
    },
    /// No checks were given.
    #[error("a claim needs at least one comparison")]
    Empty,
}

impl OutputCheck {
    /// Whether the check holds for output values `y`.
    pub fn holds(&self, y: &[i64]) -> bool {
        match *self {
            Self::AtLeast { a, b, strict } => y[a] - y[b] - i64::from(strict) >= 0,
            Self::AtLeastConst { a, threshold } => y[a] >= threshold,
        }
    }

    fn kind(&self) -> UnitKind {
        let (cb, c0) = match *self {
            Self::AtLeast { strict, .. } => (-1, -i64::from(strict) - 1),
            Self::AtLeastConst { threshold, .. } => (0, -threshold - 1),
        };
        UnitKind {
            mode: UnitMode::Rescale { shift: 1 },
            ca: 1,
            cb,
            cab: 0,
            caa: 0,
            c0,
            relu: 0,
            linear: 1,
            out_b: 0,
            out_c: 0,
            nonneg: true,
        }
    }

    fn operands(&self) -> (usize, usize) {
        match *self {
            Self::AtLeast { a, b, .. } => (a, b),
            Self::AtLeastConst { a, .. } => (a, a),
        }
    }
}

/// The network with its output made private and `checks` appended as one unit operator named
/// `name`. Its forward pass fails (naming `name`) if a check does not hold.
pub fn with_output_checks(
    network: &Network,
    name: &str,
    checks: &[OutputCheck],
) -> Result<Network, CheckError> {
    if checks.is_empty() {
        return Err(CheckError::Empty);
    }
    let outputs = network.output_len();
    let mut kinds: Vec<UnitKind> = Vec::new();
    let mut op = UnitOp {
        a: Vec::with_capacity(checks.len()),
        b: Vec::with_capacity(checks.len()),
        kinds: Vec::new(),
        kind_of: Vec::with_capacity(checks.len()),
        with_remainder: false,
    };
    for check in checks {
        let (a, b) = check.operands();
        if let Some(&index) = [a, b].iter().find(|&&i| i >= outputs) {
            return Err(CheckError::IndexOutOfRange { index, outputs });
        }
        if let OutputCheck::AtLeastConst { threshold, .. } = *check {
            if !(ACTIVATION_MIN..=ACTIVATION_MAX).contains(&threshold) {
                return Err(CheckError::ThresholdOutOfRange { threshold });
            }
        }
        let kind = check.kind();
        let index = kinds.iter().position(|k| *k == kind).unwrap_or_else(|| {
            kinds.push(kind);
            kinds.len() - 1
        });
        op.a.push(a as u32);
        op.b.push(b as u32);
        op.kind_of.push(index as u16);
    }
    op.kinds = kinds;
    let mut checked = network.clone();
    let output = checked.tensors.len();
    checked.tensors.push(TensorInfo {
        name: name.to_string(),
        shape: vec![checks.len()],
    });
    checked.nodes.push(Node {
        name: name.to_string(),
        op: Op::Unit(op),
        inputs: vec![network.output, network.output],
        output,
    });
    checked.output_visibility = Visibility::Private;
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use halo2_proofs::dev::MockProver;
    use pasta_curves::Fp;

    use super::*;
    use crate::network::ForwardError;
    use crate::shape::{Shape, Tiny};
    use crate::testing::{assert_rejected_by, dense_then_rescale};
    use crate::{CircuitWitness, Layout, NetworkCircuit};

    /// A 3-input, 4-output network: y = rescale(W·x + b, 2).
    fn network() -> Network {
        let weights = vec![3, -1, 2, 0, 4, 1, -2, 2, 5, 1, 1, 1];
        dense_then_rescale(3, weights, vec![0, 5, -3, 2], 2)
    }

    /// The network, an input, its output and the index of the largest output.
    fn evaluated() -> (Network, [i64; 3], Vec<i64>, usize) {
        let net = network();
        let input = [40, -12, 7];
        let y = net.forward(&input).unwrap().output().to_vec();
        let winner = (0..4)
            .max_by_key(|&i| (y[i], std::cmp::Reverse(i)))
            .unwrap();
        (net, input, y, winner)
    }

    /// Runs `MockProver` on `network` with the witness of `input` computed for `witness_of`.
    fn mock(
        network: &Network,
        witness_of: &Network,
        input: &[i64],
    ) -> Result<(), Vec<halo2_proofs::dev::VerifyFailure>> {
        let layout = Arc::new(Layout::new(network, Tiny::PARAMS).unwrap());
        let witness_layout = Layout::new(witness_of, Tiny::PARAMS).unwrap();
        let trace = witness_of.forward(input).unwrap();
        let witness = CircuitWitness::new(witness_of, &witness_layout, &trace).unwrap();
        let k = NetworkCircuit::<Tiny>::min_k::<Fp>(&layout);
        let circuit = NetworkCircuit::<Tiny>::new(Arc::new(network.clone()), layout.clone())
            .with_witness(Arc::new(witness));
        let public = layout.instances::<Fp>(input);
        MockProver::run(k, &circuit, public).unwrap().verify()
    }

    fn argmax_checks(winner: usize, outputs: usize) -> Vec<OutputCheck> {
        (0..outputs)
            .filter(|&j| j != winner)
            .map(|j| OutputCheck::AtLeast {
                a: winner,
                b: j,
                strict: j < winner,
            })
            .collect()
    }

    #[test]
    fn true_claims_pass_and_hide_the_output() {
        let (net, input, y, winner) = evaluated();
        let claim = with_output_checks(&net, "argmax", &argmax_checks(winner, 4)).unwrap();
        assert!(!claim.output_public());
        assert_eq!(mock(&claim, &claim, &input), Ok(()));
        let ge = [OutputCheck::AtLeastConst {
            a: winner,
            threshold: y[winner],
        }];
        let claim = with_output_checks(&net, "ge", &ge).unwrap();
        assert_eq!(mock(&claim, &claim, &input), Ok(()));
    }

    #[test]
    fn a_false_claim_fails_in_the_forward_pass() {
        let (net, input, y, _) = evaluated();
        let ge = [OutputCheck::AtLeastConst {
            a: 1,
            threshold: y[1] + 1,
        }];
        let claim = with_output_checks(&net, "ge", &ge).unwrap();
        assert!(!ge[0].holds(&y));
        assert!(matches!(
            claim.forward(&input),
            Err(ForwardError::Unit { ref node, .. }) if node == "ge"
        ));
    }

    #[test]
    fn a_witness_for_one_claim_is_rejected_by_the_circuit_of_another() {
        let (net, input, y, winner) = evaluated();
        let honest = with_output_checks(&net, "argmax", &argmax_checks(winner, 4)).unwrap();
        let other =
            with_output_checks(&net, "argmax", &argmax_checks((winner + 1) % 4, 4)).unwrap();
        // The comparison cells hold the honest claim's operands and differences: the other
        // claim's wiring (permutation) and constants (unit decompose) do not match them.
        let result = mock(&other, &honest, &input);
        assert_rejected_by(&result, &["permutation", "unit decompose"]);
        let threshold = |t| {
            with_output_checks(
                &net,
                "ge",
                &[OutputCheck::AtLeastConst { a: 0, threshold: t }],
            )
            .unwrap()
        };
        assert_rejected_by(
            &mock(&threshold(y[0] - 5), &threshold(y[0] - 6), &input),
            &["unit decompose"],
        );
    }

    #[test]
    fn bad_checks_are_refused() {
        let net = network();
        let far = OutputCheck::AtLeast {
            a: 0,
            b: 4,
            strict: false,
        };
        assert_eq!(
            with_output_checks(&net, "c", &[far]),
            Err(CheckError::IndexOutOfRange {
                index: 4,
                outputs: 4
            })
        );
        let high = OutputCheck::AtLeastConst {
            a: 0,
            threshold: ACTIVATION_MAX + 1,
        };
        assert!(matches!(
            with_output_checks(&net, "c", &[high]),
            Err(CheckError::ThresholdOutOfRange { .. })
        ));
        assert_eq!(with_output_checks(&net, "c", &[]), Err(CheckError::Empty));
    }
}
