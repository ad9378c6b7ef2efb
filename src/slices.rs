//! Models too large for one circuit, compiled as a chain of linked slices.
//!
//! When the whole network needs more than `2^max_k` rows (or `--slices N` asks for it), the
//! compiler cuts every operator that needs more rows than a slice holds into parts
//! ([`zkinfer_circuits::split`]), then cuts the network into consecutive slices
//! ([`zkinfer_circuits::slicing`]): the fewest that fit, with the cuts that the fewest values
//! cross. Every slice has the same shape and the same `k` (two proofs can only share a column's
//! commitment if their columns are committed over the same bases), and is an ordinary network
//! circuit plus link columns. Among the shapes that fit and a few `k` up to `max_k`, the
//! compiler keeps the one whose slices are predicted to prove fastest in all.
//!
//! How the slices are proven and their links checked: [`crate::bundle`].

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use zkinfer_circuits::checks::with_output_checks;
use zkinfer_circuits::ops::GatherOp;
use zkinfer_circuits::slicing::{SliceGraph, Slicing};
use zkinfer_circuits::split::split_nodes;
use zkinfer_circuits::{
    with_shape, CircuitWitness, Layout, Network, NetworkCircuit, Node, Op, ShapeKind, TensorId,
    TensorInfo, Visibility,
};

use crate::claim::Claim;
use crate::compile::{CompileOptions, CompiledModel, CostReport};
use crate::error::{ClaimError, CompileError};
use crate::quantize::QuantizedModel;

/// The smallest `k` a slice may have.
const MIN_SLICE_K: u32 = 6;
/// The largest `k` tried when only a number of slices is asked for.
const MAX_SLICE_K: u32 = 22;
/// How many `k` up to `max_k` the compiler considers.
const K_CANDIDATES: u32 = 3;
/// How many (shape, `k`) pairs, the best estimated first, the compiler slices to compare.
const SLICED_CANDIDATES: usize = 3;
/// Operators are cut into parts of at most this fraction of a slice's rows, so that slices can
/// be filled evenly.
const PARTS_PER_SLICE: usize = 8;

/// A model cut into linked slices.
#[derive(Clone, Debug)]
pub struct SlicedModel {
    /// The shape of every slice.
    pub shape: ShapeKind,
    /// `k` of every slice.
    pub k: u32,
    /// The first operator of each slice (counting the operators of [`SlicedModel::network`],
    /// gathers excluded).
    pub starts: Vec<usize>,
    /// The whole network with oversized operators cut into parts: its forward pass gives every
    /// value a slice reads or links.
    pub network: Arc<Network>,
    /// The slices' networks and their links.
    pub slicing: Arc<Slicing>,
    /// Each slice's circuit.
    pub slices: Vec<Arc<CompiledModel>>,
    /// Digest identifying the sliced model (hex): what every part of its proofs names.
    pub id: String,
    /// The number of slices asked for (`--slices`), if any.
    pub requested: Option<usize>,
    /// The row limit asked for (`--max-k`), if any.
    pub max_k: Option<u32>,
}

impl SlicedModel {
    /// Number of slices.
    pub fn len(&self) -> usize {
        self.slices.len()
    }

    /// Whether there are no slices (never, for a compiled model).
    pub fn is_empty(&self) -> bool {
        self.slices.is_empty()
    }

    /// Predicted proving time of all slices, in milliseconds.
    pub fn predicted_prove_ms(&self) -> f64 {
        self.slices
            .iter()
            .map(|s| s.cost.predicted_prove_ms())
            .sum()
    }

    /// Predicted peak memory of the largest slice, in MiB (slices are proven one at a time).
    pub fn predicted_memory_mb(&self) -> f64 {
        self.slices
            .iter()
            .map(|s| s.cost.predicted_memory_mb())
            .fold(0.0, f64::max)
    }

    /// Values linked between slices (each counted once per slice that reads it).
    pub fn linked_values(&self) -> usize {
        self.slicing.linked_values()
    }

    /// Link columns over all slices.
    pub fn link_columns(&self) -> usize {
        self.slices.iter().map(|s| s.layout().links.columns()).sum()
    }

    /// The same slices with `claim`'s checks after the output in the last slice.
    pub(crate) fn with_claim(&self, claim: &Claim, output_scale: i32) -> Result<Self, ClaimError> {
        let invalid = |reason: String| ClaimError::Invalid {
            claim: claim.to_string(),
            reason,
        };
        let last = self.slices.last().expect("a sliced model has slices");
        let network = last.network();
        let checks = claim.checks(network.output_len(), output_scale)?;
        let checked =
            with_output_checks(network, "claim", &checks).map_err(|e| invalid(e.to_string()))?;
        let (index, count) = last.slice_of().expect("a slice knows its place");
        let mut circuit = slice_circuit(&last.model, checked, self.shape, self.k, (index, count))
            .map_err(|e| {
            invalid(format!("the claim's checks do not fit the last slice: {e}"))
        })?;
        circuit.claim = Some(claim.clone());
        let mut slices = self.slices.clone();
        *slices.last_mut().expect("a sliced model has slices") = Arc::new(circuit);
        Ok(Self {
            slices,
            ..self.clone()
        })
    }
}

impl SlicedModel {
    /// For measuring what linking costs: slice `index` without link columns, its link-in
    /// values taken as public inputs (after the model's input) and its link-out values left
    /// unexposed. The same computation, rows and `k`, minus the link columns and their copy
    /// constraints. `None` if the slice hashes or hides its input, if the extra public values
    /// do not fit its instance columns, or if the slice holds a division or square root whose
    /// check sits in another slice (a whole network must hold both).
    pub fn unlinked_slice(&self, index: usize) -> Option<CompiledModel> {
        let slice = self.slices.get(index)?;
        let mut network = (**slice.network()).clone();
        let links = network.links.take()?;
        if network.input_visibility == Visibility::Hashed || network.committed_input.is_some() {
            return None;
        }
        // One public input: the model's input, then every link-in tensor.
        let sources: Vec<(TensorId, usize)> = std::iter::once(network.input)
            .chain(links.inputs.iter().map(|l| l.tensor))
            .map(|t| (t, network.tensors[t].len()))
            .collect();
        let total = sources.iter().map(|(_, len)| len).sum::<usize>();
        let joint = network.tensors.len();
        network.tensors.push(TensorInfo {
            name: "input and link values".into(),
            shape: vec![total],
        });
        let mut offset = 0u32;
        let gathers: Vec<Node> = sources
            .iter()
            .map(|&(tensor, len)| {
                let node = Node {
                    name: format!("unlinked {}", network.tensors[tensor].name),
                    op: Op::Gather(GatherOp {
                        sources: (offset..offset + len as u32).map(|e| (0, e)).collect(),
                    }),
                    inputs: vec![joint],
                    output: tensor,
                };
                offset += len as u32;
                node
            })
            .collect();
        network.nodes.splice(0..0, gathers);
        network.input = joint;
        network.input_visibility = Visibility::Public;
        network.validate().ok()?;
        let (layout, cost) = lay_out_slice(&network, self.shape, self.k, index).ok()?;
        Some(
            CompiledModel::slice_circuit(
                slice.model.clone(),
                cost,
                Arc::new(network),
                Arc::new(layout),
                (index, self.len()),
            )
            .unlinked(),
        )
    }

    /// The witness of [`SlicedModel::unlinked_slice`] `unlinked` of slice `index`, from the
    /// model's input and the whole network's forward pass. (Link values, such as sums before
    /// a rescale, may lie outside the range the verifier accepts for public inputs: this
    /// variant is for measuring, not for proofs anyone checks.)
    pub fn unlinked_witness(
        &self,
        index: usize,
        unlinked: &CompiledModel,
        input: &[i64],
        whole: &[Vec<i64>],
    ) -> Result<CircuitWitness, crate::Error> {
        let link_in = self.slicing.link_in_values(index, whole);
        let mut trace = self.slices[index]
            .network()
            .forward_linked(input, &link_in)?;
        let mut joint = input.to_vec();
        joint.extend(link_in);
        trace.values.push(joint);
        trace.input = unlinked.network().input;
        Ok(CircuitWitness::new(
            unlinked.network(),
            unlinked.layout(),
            &trace,
        )?)
    }
}

/// One slice of a sliced model, summed up (what `compile` prints and the model file records).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SliceSummary {
    /// Position in the chain.
    pub index: usize,
    /// The first and last operators of the whole network it proves.
    pub nodes: [String; 2],
    /// Operators it proves (parts of cut operators count one each).
    pub operators: usize,
    /// `k`.
    pub k: u32,
    /// Rows its layout uses.
    pub rows: usize,
    /// Advice columns, link columns included.
    pub advice_columns: usize,
    /// Link columns: values read from earlier slices, values written for later ones.
    pub link_columns: [usize; 2],
    /// Values read from earlier slices and written for later ones.
    pub linked_values: [usize; 2],
    /// The cost model's proving time, in milliseconds.
    pub predicted_prove_ms: f64,
    /// The cost model's peak memory, in MiB.
    pub predicted_memory_mb: f64,
}

impl SlicedModel {
    /// Each slice, summed up.
    pub fn summaries(&self) -> Vec<SliceSummary> {
        self.slices
            .iter()
            .zip(&self.slicing.slices)
            .map(|(circuit, slice)| {
                let network = &self.network;
                let operators: Vec<&str> = network.nodes[slice.nodes.clone()]
                    .iter()
                    .filter(|n| !matches!(n.op, zkinfer_circuits::Op::Gather(_)))
                    .map(|n| n.name.as_str())
                    .collect();
                let links = &circuit.layout().links;
                let values = |inbound: bool| {
                    self.slicing
                        .links
                        .iter()
                        .filter(|l| {
                            if inbound {
                                l.to == slice.index
                            } else {
                                l.from == slice.index
                            }
                        })
                        .map(|l| l.elements.len())
                        .sum()
                };
                SliceSummary {
                    index: slice.index,
                    nodes: [
                        operators.first().copied().unwrap_or_default().to_string(),
                        operators.last().copied().unwrap_or_default().to_string(),
                    ],
                    operators: operators.len(),
                    k: circuit.k,
                    rows: circuit.cost.rows,
                    advice_columns: circuit.cost.advice_columns,
                    link_columns: [links.input_columns(), links.output_columns()],
                    linked_values: [values(true), values(false)],
                    predicted_prove_ms: circuit.cost.predicted_prove_ms(),
                    predicted_memory_mb: circuit.cost.predicted_memory_mb(),
                }
            })
            .collect()
    }
}

/// Rows a slice circuit of `shape` reserves at the end (blinding rows).
fn reserved_rows(shape: ShapeKind) -> usize {
    with_shape!(shape, S => NetworkCircuit::<S>::reserved_rows::<pasta_curves::Fp>())
}

/// A slice's network laid out at `k` with its link columns, and its cost.
fn lay_out_slice(
    network: &Network,
    shape: ShapeKind,
    k: u32,
    index: usize,
) -> Result<(Layout, CostReport), String> {
    let reserved = reserved_rows(shape);
    let usable = (1usize << k) - reserved;
    let layout = Layout::new(network, shape.params())
        .map_err(|e| format!("node '{}' needs the {} engine", e.node, e.engine))?;
    if layout.rows() > usable {
        return Err(format!(
            "slice {index} needs {} rows, {usable} fit k = {k}",
            layout.rows()
        ));
    }
    let layout = layout.with_link_columns(network, usable);
    let cost = CostReport::new(&layout, k, reserved);
    Ok((layout, cost))
}

/// The circuit of one slice's network at `k`, with its link columns.
fn slice_circuit(
    model: &QuantizedModel,
    network: Network,
    shape: ShapeKind,
    k: u32,
    place: (usize, usize),
) -> Result<CompiledModel, String> {
    let (layout, cost) = lay_out_slice(&network, shape, k, place.0)?;
    Ok(CompiledModel::slice_circuit(
        model.clone(),
        cost,
        Arc::new(network),
        Arc::new(layout),
        place,
    ))
}

/// One way to slice: a shape, a `k`, and the slices it gives.
struct Candidate {
    shape: ShapeKind,
    k: u32,
    network: Network,
    starts: Vec<usize>,
    slicing: Slicing,
    layouts: Vec<(Layout, CostReport)>,
}

impl Candidate {
    fn predicted_ms(&self) -> f64 {
        self.layouts
            .iter()
            .map(|(_, c)| c.predicted_prove_ms())
            .sum()
    }
}

/// A quick estimate of the proving time of `network` sliced on `shape` at `k`: its rows as one
/// circuit in full slices, each priced as a circuit of the shape at `k` (no link columns).
/// `None` if the shape lacks an engine, or `count` slices of `k` cannot hold the rows.
fn estimate_ms(network: &Network, shape: ShapeKind, k: u32, count: Option<usize>) -> Option<f64> {
    let layout = Layout::new(network, shape.params()).ok()?;
    let reserved = reserved_rows(shape);
    let usable = (1usize << k).checked_sub(reserved)?;
    let slices = match count {
        Some(count) if layout.rows() > count * usable => return None,
        Some(count) => count,
        None => layout.rows().div_ceil(usable),
    };
    Some(slices as f64 * CostReport::new(&layout, k, reserved).predicted_prove_ms())
}

/// Slices `network` on `shape` at `k` into `count` slices (or the fewest that fit).
fn try_slicing(
    network: &Network,
    shape: ShapeKind,
    k: u32,
    count: Option<usize>,
) -> Result<Candidate, CompileError> {
    let usable = (1usize << k) - reserved_rows(shape);
    let split = split_nodes(network, &shape.params(), (usable / PARTS_PER_SLICE).max(2))
        .map_err(|e| CompileError::SliceRequest(e.to_string()))?;
    let graph = SliceGraph::new(split, shape.params())?;
    let starts = graph.plan(usable, count)?;
    let slicing = graph.slice(&starts)?;
    let layouts = slicing
        .slices
        .iter()
        .map(|slice| {
            lay_out_slice(&slice.network, shape, k, slice.index).map_err(CompileError::SliceRequest)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Candidate {
        shape,
        k,
        network: graph.into_network(),
        starts,
        slicing,
        layouts,
    })
}

/// Cuts the placed `network` of `model` into linked slices on one of `shapes`: at `pinned_k`
/// if given, else at the `k` up to `options.max_k` (the smallest that fits `options.slices`
/// slices without a limit) whose slices are predicted to prove fastest.
pub(crate) fn slice_model(
    model: &QuantizedModel,
    network: &Network,
    shapes: &[ShapeKind],
    options: &CompileOptions,
    pinned_k: Option<u32>,
) -> Result<SlicedModel, CompileError> {
    // Every (shape, k) to consider, cheapest estimate first; only the first few are sliced.
    let ks: Vec<u32> = match (pinned_k, options.max_k) {
        (Some(k), _) => vec![k],
        (None, Some(max_k)) => {
            (max_k.saturating_sub(K_CANDIDATES - 1).max(MIN_SLICE_K)..=max_k).collect()
        }
        (None, None) => (MIN_SLICE_K..=MAX_SLICE_K).collect(),
    };
    let mut candidates: Vec<(f64, ShapeKind, u32)> = shapes
        .iter()
        .flat_map(|&shape| ks.iter().map(move |&k| (shape, k)))
        .filter_map(|(shape, k)| {
            estimate_ms(network, shape, k, options.slices).map(|ms| (ms, shape, k))
        })
        .collect();
    candidates.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut best: Option<Candidate> = None;
    // If nothing fits, the reason given is the one at the largest k tried.
    let mut refusal: Option<(u32, CompileError)> = None;
    let mut sliced = 0;
    for (_, shape, k) in candidates {
        if sliced == SLICED_CANDIDATES {
            break;
        }
        match try_slicing(network, shape, k, options.slices) {
            Ok(candidate) => {
                sliced += 1;
                if best
                    .as_ref()
                    .is_none_or(|b| candidate.predicted_ms() < b.predicted_ms())
                {
                    best = Some(candidate);
                }
            }
            Err(e) => {
                if refusal.as_ref().is_none_or(|(at, _)| k >= *at) {
                    refusal = Some((k, e));
                }
            }
        }
    }
    let Some(best) = best else {
        return Err(refusal.map_or_else(
            || CompileError::SliceRequest("no shape has the engines the network needs".into()),
            |(_, e)| e,
        ));
    };
    let id = sliced_id(model, network, best.shape, best.k, &best.starts);
    let count = best.layouts.len();
    let slices = best
        .slicing
        .slices
        .iter()
        .zip(best.layouts)
        .map(|(slice, (layout, cost))| {
            Arc::new(CompiledModel::slice_circuit(
                model.clone(),
                cost,
                Arc::new(slice.network.clone()),
                Arc::new(layout),
                (slice.index, count),
            ))
        })
        .collect();
    Ok(SlicedModel {
        shape: best.shape,
        k: best.k,
        starts: best.starts,
        network: Arc::new(best.network),
        slicing: Arc::new(best.slicing),
        slices,
        id,
        requested: options.slices,
        max_k: options.max_k,
    })
}

/// BLAKE2b-256 of everything that defines the sliced circuits: the placed network (weights,
/// scales, visibilities), the shape, `k` and the cuts.
fn sliced_id(
    model: &QuantizedModel,
    network: &Network,
    shape: ShapeKind,
    k: u32,
    starts: &[usize],
) -> String {
    let mut state = blake2b_simd::Params::new()
        .hash_length(32)
        .personal(b"zkinfer-sliced-1")
        .to_state();
    state.update(&serde_json::to_vec(network).expect("networks serialise"));
    state.update(shape.name().as_bytes());
    state.update(&k.to_le_bytes());
    state.update(&model.input_scale.to_le_bytes());
    state.update(&model.output_scale.to_le_bytes());
    for &start in starts {
        state.update(&(start as u64).to_le_bytes());
    }
    hex::encode(state.finalize().as_bytes())
}
