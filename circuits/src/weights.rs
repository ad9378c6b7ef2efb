//! Committed weights: the model's parameters as private values pinned by a public Poseidon
//! commitment, so that the verifying key depends only on the architecture.
//!
//! With fixed weights (the default) every weight sits in a fixed column of the dense tile and the
//! verifying key commits to it. [`with_committed_weights`] rewrites a network so that no weight
//! reaches a fixed column:
//!
//! - every weight, bias digit and three constants (0, 1 and [`RADIX`]) become the values of a
//!   *parameter tensor*, a second source beside the input whose values the prover supplies;
//! - the parameters are range-checked by a unit (each must lie in the activation range, so that
//!   packing them is injective), then packed and hashed exactly like a hashed input
//!   ([`commitment`](crate::commitment)); the commitment is the last public value;
//! - each trained linear operator becomes a product operator (the product chip: advice × advice) over
//!   pairs `(x_tap, w)`, plus two bias pairs `(1, b_lo)` and `(RADIX, b_hi)` with
//!   `b = b_lo + RADIX·b_hi`. Missing taps (convolution padding) are `(0, 0)` pairs. The product
//!   computes exactly what the linear operator computed, so native inference is unchanged.
//!
//! A different parameter vector gives a different commitment, so a verifier who knows the
//! published commitment knows which weights every proof used, without knowing them.

use thiserror::Error;

use crate::arith::activation_in_range;
use crate::commitment::range_check;
use crate::network::{Network, Node, Parameters, TensorInfo};
use crate::ops::{GatherOp, LinearOp, Op, ProductOp};

/// The weight of a bias's high digit: `b = b_lo + RADIX·b_hi`. Negative so that it lies in the
/// activation range (`2^11` does not).
pub const RADIX: i64 = -2048;
/// Parameter index of the constant 0.
const ZERO: u32 = 0;
/// Parameter index of the constant 1.
const ONE: u32 = 1;
/// Parameter index of the constant [`RADIX`].
const RADIX_INDEX: u32 = 2;

/// Why a network's weights cannot be committed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum WeightsError {
    /// A weight lies outside the activation range the commitment's range check proves.
    #[error(
        "node '{node}': weight {value} lies outside [-2048, 2047], the range committed weights \
         support; quantise the weights with at most 11 bits"
    )]
    WeightOutOfRange {
        /// Node name.
        node: String,
        /// The quantised weight.
        value: i64,
    },
    /// A bias is too large for two digits.
    #[error(
        "node '{node}': bias {value} is too large to commit (|bias| must stay below 2^22); \
         quantise the weights or the input with fewer bits"
    )]
    BiasOutOfRange {
        /// Node name.
        node: String,
        /// The quantised bias.
        value: i64,
    },
}

/// Splits a bias into `(lo, hi)` with `b = lo + RADIX·hi`, both in the activation range.
fn bias_digits(bias: i64) -> Option<(i64, i64)> {
    let hi = -(bias as f64 / -(RADIX as f64)).round() as i64;
    let lo = bias - RADIX * hi;
    (activation_in_range(lo) && activation_in_range(hi)).then_some((lo, hi))
}

/// The pairs one linear operator's product computes, in output order, over `A` (the operator's
/// input followed by the three constants) and the parameters.
struct LinearPairs {
    /// Pairs per output.
    terms: usize,
    /// Indices into `A`.
    a: Vec<u32>,
    /// Indices into the parameters.
    b: Vec<u32>,
}

/// Appends `op`'s weights and bias digits to `params` and returns the product's pairs.
fn linear_pairs(
    node: &str,
    op: &LinearOp,
    input_len: usize,
    params: &mut Vec<i64>,
) -> Result<LinearPairs, WeightsError> {
    let weights_at = params.len() as u32;
    for &value in &op.weights {
        if !activation_in_range(value) {
            return Err(WeightsError::WeightOutOfRange {
                node: node.to_string(),
                value,
            });
        }
    }
    params.extend_from_slice(&op.weights);
    let bias_at = params.len() as u32;
    for &value in &op.bias {
        let (lo, hi) = bias_digits(value).ok_or_else(|| WeightsError::BiasOutOfRange {
            node: node.to_string(),
            value,
        })?;
        params.extend([lo, hi]);
    }
    // `A` is the input followed by the constants 0, 1 and RADIX.
    let a_zero = input_len as u32;
    let (a_one, a_radix) = (a_zero + 1, a_zero + 2);
    let terms = op.taps + 2;
    let mut a = vec![0; op.len() * terms];
    let mut b = vec![0; op.len() * terms];
    for c in 0..op.channels {
        for p in 0..op.positions {
            let o = op.output_index(c, p);
            let (pairs_a, pairs_b) = (
                &mut a[o * terms..(o + 1) * terms],
                &mut b[o * terms..(o + 1) * terms],
            );
            for (t, tap) in op.taps_at(op.group(c), p).iter().enumerate() {
                (pairs_a[t], pairs_b[t]) = match tap {
                    Some(i) => (*i, weights_at + (c * op.taps + t) as u32),
                    None => (a_zero, ZERO),
                };
            }
            let digits = bias_at + 2 * c as u32;
            (pairs_a[op.taps], pairs_b[op.taps]) = (a_one, digits);
            (pairs_a[op.taps + 1], pairs_b[op.taps + 1]) = (a_radix, digits + 1);
        }
    }
    Ok(LinearPairs { terms, a, b })
}

/// The network with committed weights: every linear operator's weights and biases moved into a
/// range-checked, packed and committed parameter tensor, and the operator computed by the
/// product chip. Structural linear operators ([`LinearOp::structural`]: pooling windows, row
/// sums of ones) and the other operators carry no trained weights (their constants are
/// architecture: shifts, scales, tables) and are kept, their constants public in fixed columns.
/// Outputs are unchanged for every input.
///
/// Apply it before [`with_visibility`](crate::commitment::with_visibility).
pub fn with_committed_weights(network: &Network) -> Result<Network, WeightsError> {
    // The parameters (the constants at ZERO, ONE and RADIX_INDEX first) and each linear
    // operator's pairs.
    let mut values = vec![0, 1, RADIX];
    let mut pairs = Vec::with_capacity(network.nodes.len());
    for node in &network.nodes {
        pairs.push(match &node.op {
            Op::Linear(op) if !op.structural => {
                let input_len = network.tensors[node.inputs[0]].len();
                Some(linear_pairs(&node.name, op, input_len, &mut values)?)
            }
            _ => None,
        });
    }
    fn tensor(net: &mut Network, name: String, shape: Vec<usize>) -> usize {
        net.tensors.push(TensorInfo { name, shape });
        net.tensors.len() - 1
    }
    let mut net = network.clone();
    net.nodes.clear();
    let params = tensor(&mut net, "weights".into(), vec![values.len()]);
    let checked = range_check(&mut net, params, "weights");
    for (node, pairs) in network.nodes.iter().zip(pairs) {
        let Some(pairs) = pairs else {
            net.nodes.push(node.clone());
            continue;
        };
        let input = node.inputs[0];
        let input_len = network.tensors[input].len();
        let operands = format!("{}/operands", node.name);
        let a_tensor = tensor(&mut net, operands.clone(), vec![input_len + 3]);
        net.nodes.push(Node {
            name: operands,
            op: Op::Gather(GatherOp {
                sources: (0..input_len as u32)
                    .map(|i| (0, i))
                    .chain([ZERO, ONE, RADIX_INDEX].map(|i| (1, i)))
                    .collect(),
            }),
            inputs: vec![input, checked],
            output: a_tensor,
        });
        net.nodes.push(Node {
            name: node.name.clone(),
            op: Op::Product(ProductOp {
                terms: pairs.terms,
                a: pairs.a,
                b: pairs.b,
            }),
            inputs: vec![a_tensor, checked],
            output: node.output,
        });
    }
    net.params = Some(Parameters {
        tensor: params,
        values,
        checked,
    });
    Ok(net)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use halo2_proofs::dev::{MockProver, VerifyFailure};
    use pasta_curves::Fp;

    use super::*;
    use crate::commitment::{commit, with_visibility};
    use crate::network::Visibility;
    use crate::shape::{GeneralHashed, Shape};
    use crate::testing::{assert_rejected_by, dense_then_rescale};
    use crate::{CircuitWitness, Layout, NetworkCircuit};

    fn network(weights_seed: i64) -> Network {
        let weights: Vec<i64> = (0..36)
            .map(|i| (i * 37 + weights_seed) % 301 - 150)
            .collect();
        dense_then_rescale(12, weights, vec![5000, -3, 60_000], 8)
    }

    fn input() -> Vec<i64> {
        (0..12).map(|i| (i * 91) % 400 - 200).collect()
    }

    /// `MockProver` on `net` (committed weights) with an honest witness edited by `corrupt`
    /// and the instance columns `instances` makes of it.
    fn mock(
        net: &Network,
        corrupt: impl FnOnce(&mut CircuitWitness),
        instances: impl FnOnce(&Layout, &CircuitWitness) -> Vec<Vec<Fp>>,
    ) -> Result<(), Vec<VerifyFailure>> {
        let layout = Layout::new(net, GeneralHashed::PARAMS).unwrap();
        let trace = net.forward(&input()).unwrap();
        let mut witness = CircuitWitness::new(net, &layout, &trace).unwrap();
        corrupt(&mut witness);
        let public = instances(&layout, &witness);
        let k = NetworkCircuit::<GeneralHashed>::min_k::<Fp>(&layout);
        let circuit = NetworkCircuit::<GeneralHashed>::new(Arc::new(net.clone()), Arc::new(layout))
            .with_witness(Arc::new(witness));
        MockProver::run(k, &circuit, public).unwrap().verify()
    }

    fn honest(layout: &Layout, witness: &CircuitWitness) -> Vec<Vec<Fp>> {
        witness.instances(layout)
    }

    #[test]
    fn the_circuit_proves_the_native_weights_commitment() {
        let net = with_committed_weights(&network(0)).unwrap();
        let native = commit(&net.params.as_ref().unwrap().values);
        let layout = Layout::new(&net, GeneralHashed::PARAMS).unwrap();
        let witness = CircuitWitness::new(&net, &layout, &net.forward(&input()).unwrap()).unwrap();
        assert_eq!(witness.weights_commitment, Some(native));
        // The commitment is the last public value, after the inputs and outputs.
        assert_eq!(
            witness.instances(&layout),
            layout.instances_with(None, &witness.public, None, Some(native))
        );
        assert_eq!(mock(&net, |_| {}, honest), Ok(()));
    }

    #[test]
    fn another_weights_commitment_is_rejected() {
        let net = with_committed_weights(&network(0)).unwrap();
        let other = with_committed_weights(&network(1)).unwrap();
        let other_commitment = commit(&other.params.unwrap().values);
        assert_rejected_by(
            &mock(
                &net,
                |_| {},
                |layout, w| layout.instances_with(None, &w.public, None, Some(other_commitment)),
            ),
            &["permutation"],
        );
    }

    #[test]
    fn a_prover_using_other_weights_is_rejected() {
        let net = with_committed_weights(&network(0)).unwrap();
        let committed = commit(&net.params.as_ref().unwrap().values);
        // The proof claims the published commitment, the witness runs other weights.
        let other = with_committed_weights(&network(1)).unwrap();
        assert_rejected_by(
            &mock(
                &other,
                |_| {},
                |layout, w| layout.instances_with(None, &w.public, None, Some(committed)),
            ),
            &["permutation"],
        );
        // A changed weight inside one product row: the copy from the checked parameters fails.
        assert_rejected_by(
            &mock(
                &net,
                |w| {
                    let row = w.product_rows.iter_mut().find(|r| !r.b.is_empty()).unwrap();
                    row.b[0] += 1;
                },
                honest,
            ),
            &["product mac", "permutation"],
        );
        // A changed output is rejected as for fixed weights.
        assert_rejected_by(
            &mock(
                &net,
                |_| {},
                |layout, w| {
                    let mut public = w.public.clone();
                    *public.last_mut().unwrap() += 1;
                    layout.instances_with(None, &public, None, w.weights_commitment)
                },
            ),
            &["permutation"],
        );
    }

    #[test]
    fn a_changed_parameter_in_its_range_check_is_rejected() {
        let net = with_committed_weights(&network(0)).unwrap();
        // The parameters are range-checked by the first units; change a checked weight.
        assert!(mock(&net, |w| w.units[5].y += 5000, honest).is_err());
    }

    #[test]
    fn committed_weights_combine_with_every_input_and_output_visibility() {
        use Visibility::{Hashed, Private, Public};
        for (input_v, output_v) in [(Public, Public), (Hashed, Private), (Private, Hashed)] {
            let net = with_visibility(
                &with_committed_weights(&network(0)).unwrap(),
                input_v,
                output_v,
            );
            assert_eq!(
                mock(&net, |_| {}, honest),
                Ok(()),
                "{input_v:?} {output_v:?}"
            );
        }
    }

    #[test]
    fn a_second_read_of_the_raw_parameters_is_refused() {
        let mut net = with_committed_weights(&network(0)).unwrap();
        let raw = net.params.as_ref().unwrap().tensor;
        let product = net
            .nodes
            .iter_mut()
            .find(|n| matches!(n.op, Op::Product(_)))
            .unwrap();
        product.inputs[1] = raw;
        let layout = Layout::new(&net, GeneralHashed::PARAMS).unwrap();
        let witness = CircuitWitness::new(&net, &layout, &net.forward(&input()).unwrap()).unwrap();
        let instances = witness.instances(&layout);
        let k = NetworkCircuit::<GeneralHashed>::min_k::<Fp>(&layout);
        let circuit = NetworkCircuit::<GeneralHashed>::new(Arc::new(net), Arc::new(layout))
            .with_witness(Arc::new(witness));
        assert!(MockProver::run(k, &circuit, instances).is_err());
    }

    #[test]
    fn bias_digits_recompose_and_stay_in_range() {
        for b in [
            0, 1, -1, 1023, 1024, -1025, 2047, 2048, -2049, 123_456, -4_000_000, 4_190_000,
        ] {
            let (lo, hi) = bias_digits(b).expect("fits");
            assert_eq!(lo + RADIX * hi, b);
        }
        assert_eq!(bias_digits(1 << 23), None);
    }

    #[test]
    fn committed_weights_compute_what_fixed_weights_compute() {
        let weights: Vec<i64> = (0..24).map(|i| (i * 37) % 301 - 150).collect();
        let net = dense_then_rescale(8, weights, vec![5000, -3, 60_000], 8);
        let committed = with_committed_weights(&net).unwrap();
        committed.validate().unwrap();
        assert!(committed
            .nodes
            .iter()
            .all(|n| !matches!(n.op, Op::Linear(_))));
        for seed in 0..5i64 {
            let x: Vec<i64> = (0..8).map(|i| (i * 91 + seed * 13) % 400 - 200).collect();
            assert_eq!(
                committed.forward(&x).unwrap().output(),
                net.forward(&x).unwrap().output()
            );
        }
    }

    #[test]
    fn committed_weights_handle_padded_grouped_convolutions_in_the_circuit() {
        use crate::builder::{Conv2d, NetworkBuilder};
        use crate::ops::{UnitKind, UnitOp};
        // 2 groups, padding (missing taps), stride 2: every path of the pair construction.
        let conv = Conv2d {
            in_channels: 4,
            input: (5, 5),
            kernel: (3, 3),
            stride: (2, 2),
            pads: [1, 1, 1, 1],
            dilation: (1, 1),
            groups: 2,
        };
        let out_channels = 4;
        let weights = (0..(out_channels * conv.taps()) as i64)
            .map(|i| (i * 29) % 61 - 30)
            .collect();
        let op = conv.linear(out_channels, weights, vec![300, -7, 0, 4096]);
        let len = op.len();
        let (mut b, x) = NetworkBuilder::new("x", vec![4, 5, 5]);
        let h = b.push("conv", Op::Linear(op), vec![x], vec![len]);
        let y = b.push(
            "rescale",
            Op::Unit(UnitOp::elementwise(len, UnitKind::rescale(6, true))),
            vec![h],
            vec![len],
        );
        let net = b.finish(y);
        let committed = with_committed_weights(&net).unwrap();
        let x: Vec<i64> = (0..100).map(|i| (i * 53) % 401 - 200).collect();
        assert_eq!(
            committed.forward(&x).unwrap().output(),
            net.forward(&x).unwrap().output()
        );
        let layout = Layout::new(&committed, GeneralHashed::PARAMS).unwrap();
        let trace = committed.forward(&x).unwrap();
        let witness = CircuitWitness::new(&committed, &layout, &trace).unwrap();
        let public = witness.instances(&layout);
        let k = NetworkCircuit::<GeneralHashed>::min_k::<Fp>(&layout);
        let circuit = NetworkCircuit::<GeneralHashed>::new(Arc::new(committed), Arc::new(layout))
            .with_witness(Arc::new(witness));
        assert_eq!(
            MockProver::run(k, &circuit, public).unwrap().verify(),
            Ok(())
        );
    }

    #[test]
    fn out_of_range_weights_and_biases_are_refused_by_name() {
        let net = dense_then_rescale(2, vec![1, 2, 3000, 4, 5, 6], vec![0; 3], 1);
        assert!(matches!(
            with_committed_weights(&net),
            Err(WeightsError::WeightOutOfRange { value: 3000, .. })
        ));
        let net = dense_then_rescale(2, vec![1; 6], vec![0, 1 << 23, 0], 1);
        let err = with_committed_weights(&net).unwrap_err();
        assert!(err.to_string().contains("bias 8388608"), "{err}");
    }
}
