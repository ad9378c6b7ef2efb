//! Compilation: a quantised model placed on a circuit shape, with its `k` and cost report.
//!
//! Every shape that has the engines the network needs is a candidate; the compiler lays the
//! network out on each, takes the smallest `k` that holds it, and keeps the shape with the lowest
//! predicted proving cost ([`CostReport::predicted_cost`]).

use std::sync::Arc;

use ff::PrimeField;
use halo2_proofs::poly::commitment::commitment_tables_bytes;
use pasta_curves::Fp;
use serde::{Deserialize, Serialize};
use zkinfer_circuits::{with_shape, Layout, Network, NetworkCircuit, ShapeKind, ShapeParams};

use zkinfer_circuits::checks::with_output_checks;
use zkinfer_circuits::commitment::{commit, with_visibility};
use zkinfer_circuits::weights::with_committed_weights;
use zkinfer_circuits::Visibility;

use crate::claim::Claim;
use crate::error::{ClaimError, CompileError};
use crate::fidelity::FidelityReport;
use crate::quantize::QuantizedModel;
use crate::slices::{slice_model, SlicedModel};

/// Choices for compilation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CompileOptions {
    /// The column budget to lay the model out on (`None`: the cheapest shape that fits).
    pub shape: Option<ShapeKind>,
    /// Refuse circuits larger than `2^max_k` rows.
    pub max_k: Option<u32>,
    /// What proofs reveal of the input: the input (default), nothing (`Private`), or a Poseidon
    /// commitment to it (`Hashed`, see [`zkinfer_circuits::commitment`]).
    pub input: Visibility,
    /// What proofs reveal of the output, likewise.
    pub output: Visibility,
    /// Where the weights live: fixed columns bound by the verifying key (default), or private
    /// values bound by a public Poseidon commitment (see [`zkinfer_circuits::weights`]).
    pub weights: WeightVisibility,
    /// Cut the model into this many linked slices (see [`crate::slices`]). Without it, a model
    /// that needs more than `2^max_k` rows is cut into the fewest slices that fit.
    pub slices: Option<usize>,
}

/// Where a compiled model's weights live.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightVisibility {
    /// In fixed columns: the verifying key commits to them, so it binds the model.
    #[default]
    Fixed,
    /// Private advice values bound by a public Poseidon commitment that every proof carries: the
    /// verifying key depends only on the architecture. Weights must fit 11 bits.
    Committed,
}

/// `network` with its weights placed as `weights` says.
fn place_weights(network: &Network, weights: WeightVisibility) -> Result<Network, CompileError> {
    Ok(match weights {
        WeightVisibility::Fixed => network.clone(),
        WeightVisibility::Committed => with_committed_weights(network)?,
    })
}

/// What a circuit costs: deterministic numbers for comparing builds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostReport {
    /// The shape.
    pub shape: ShapeKind,
    /// log2 of the number of rows.
    pub k: u32,
    /// Rows the layout uses.
    pub rows: usize,
    /// Rows available at this `k` (the rest are reserved for blinding).
    pub usable_rows: usize,
    /// Rows used by dense tiles.
    pub tile_rows: usize,
    /// Unit computations.
    pub units: usize,
    /// Rows used by units.
    pub unit_rows: usize,
    /// Rows used by the product chip.
    pub product_rows: usize,
    /// Table lookups.
    pub lookups_used: usize,
    /// Rows of the lookup table.
    pub table_rows: usize,
    /// Advice columns.
    pub advice_columns: usize,
    /// Fixed columns.
    pub fixed_columns: usize,
    /// Instance columns.
    pub instance_columns: usize,
    /// Columns in the permutation argument.
    pub equality_columns: usize,
    /// Lookup arguments.
    pub lookups: usize,
    /// Multiply-accumulates of one inference.
    pub macs: usize,
}

impl CostReport {
    pub(crate) fn new(layout: &Layout, k: u32, reserved: usize) -> Self {
        let shape = layout.shape;
        let links = layout.links.columns();
        Self {
            shape: shape.kind,
            k,
            rows: layout.rows(),
            usable_rows: (1usize << k) - reserved,
            tile_rows: layout.tile_rows,
            units: layout.unit_slots,
            unit_rows: layout.unit_rows(),
            product_rows: layout.product_rows,
            lookups_used: layout.lookup_slots,
            table_rows: layout.table_rows,
            advice_columns: shape.advice_columns() + links,
            fixed_columns: shape.fixed_columns(),
            instance_columns: shape.instance_columns,
            equality_columns: shape.equality_columns() + links,
            lookups: shape.lookups(),
            macs: layout.macs,
        }
    }

    /// Polynomials the prover commits to whose values look random: permutation grand products
    /// (three columns each at degree 5), three per lookup argument, and four quotient pieces.
    pub fn full_width_polynomials(&self) -> usize {
        let degree = 5usize;
        self.equality_columns.div_ceil(degree - 2) + 3 * self.lookups + (degree - 1)
    }

    /// Polynomials the prover commits to: the advice columns (small quantised values) and the
    /// full-width ones.
    pub fn committed_polynomials(&self) -> usize {
        self.advice_columns + self.full_width_polynomials()
    }

    /// Predicted proving time in milliseconds on a 2-core machine like the one zkinfer is
    /// developed on, with `n = 2^k`:
    ///
    /// `0.140 ms` per committed polynomial, plus per row `0.70 µs` per advice column,
    /// `2.66 µs` per full-width polynomial, `0.141 µs` per fixed column and `45 µs` for the
    /// rest (gate evaluation, the opening argument).
    ///
    /// Fitted (least relative squares) to the median of 3 proofs of `zkinfer bench` on 24
    /// model × shape pairs of the six fixtures, `k` = 5…13 (2026-12-02, the final prover of
    /// that day): within 9 % for 22 of them, 11 % low and 12 % high for two small MLP circuits.
    /// Expect ±30 % across sessions: these machines are noisy.
    pub fn predicted_prove_ms(&self) -> f64 {
        let n = (1usize << self.k) as f64;
        let per_row_us = 0.697 * self.advice_columns as f64
            + 2.661 * self.full_width_polynomials() as f64
            + 0.1407 * self.fixed_columns as f64
            + 45.3;
        0.140 * self.committed_polynomials() as f64 + n * per_row_us / 1e3
    }

    /// Predicted peak memory of key generation and proving in MiB: 32 bytes per row about
    /// 6.35 times per fixed column (values, coefficients, extended-domain evaluations) and 13.4
    /// times per advice column, the commitment tables, and 27 MiB. Fitted like the time, within
    /// 6 % of the peak RSS of `zkinfer bench`.
    pub fn predicted_memory_mb(&self) -> f64 {
        let n = (1usize << self.k) as f64;
        let cells = 6.35 * self.fixed_columns as f64 + 13.39 * self.advice_columns as f64;
        let tables = commitment_tables_bytes::<pasta_curves::EqAffine>(self.k) as f64;
        26.8 + (32.0 * n * cells + tables) / (1024.0 * 1024.0)
    }

    /// The cost the compiler minimises when it picks a shape.
    pub fn predicted_cost(&self) -> f64 {
        self.predicted_prove_ms()
    }
}

impl std::fmt::Display for CostReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "shape {}, k = {}: {} of {} usable rows (tiles {}, units {} in {} rows, products {}, lookups {}, table {}); \
             columns: {} advice, {} fixed, {} instance ({} with copy constraints); {} lookup arguments; {} MACs",
            self.shape.name(),
            self.k,
            self.rows,
            self.usable_rows,
            self.tile_rows,
            self.units,
            self.unit_rows,
            self.product_rows,
            self.lookups_used,
            self.table_rows,
            self.advice_columns,
            self.fixed_columns,
            self.instance_columns,
            self.equality_columns,
            self.lookups,
            self.macs
        )
    }
}

/// A quantised model laid out on a circuit: everything needed to build keys and prove.
#[derive(Clone, Debug)]
pub struct CompiledModel {
    /// The quantised model.
    pub model: QuantizedModel,
    /// The column budget.
    pub shape: ShapeKind,
    /// The circuit's size.
    pub k: u32,
    /// Cost of the circuit.
    pub cost: CostReport,
    /// Fidelity measured at compile time, if calibration data was given.
    pub fidelity: Option<FidelityReport>,
    /// The claim this circuit proves about the output instead of revealing it (see
    /// [`CompiledModel::with_claim`]); `None` for the plain circuit.
    pub claim: Option<Claim>,
    network: Arc<Network>,
    layout: Arc<Layout>,
    /// The commitment to committed weights (hex), computed once.
    weights_commitment: Option<String>,
    /// A verifier's copy: the weights were removed (see [`CompiledModel::verifier_copy`]).
    weights_withheld: bool,
    /// For a model cut into slices: the slices and their links.
    sliced: Option<Arc<SlicedModel>>,
    /// For the circuit of one slice: its position and the number of slices.
    slice_of: Option<(usize, usize)>,
}

/// The layout, `k` and cost of `network` on `shape`, if the shape has the engines it needs.
pub(crate) fn place(
    network: &Network,
    shape: ShapeParams,
) -> Result<(Layout, u32, CostReport), zkinfer_circuits::layout::UnsupportedByShape> {
    let layout = Layout::new(network, shape)?;
    let (k, reserved) = with_shape!(shape.kind, S => (
        NetworkCircuit::<S>::min_k::<Fp>(&layout),
        NetworkCircuit::<S>::reserved_rows::<Fp>(),
    ));
    let cost = CostReport::new(&layout, k, reserved);
    Ok((layout, k, cost))
}

impl CompiledModel {
    /// Places `model` on a shape (the given one, or the cheapest that fits) with the smallest `k`
    /// that holds it.
    pub fn new(model: QuantizedModel, options: CompileOptions) -> Result<Self, CompileError> {
        Self::build(model, options, None)
    }

    /// [`CompiledModel::new`]; a sliced model's slices at `sliced_k` if given (as a model file
    /// records them).
    pub(crate) fn build(
        model: QuantizedModel,
        options: CompileOptions,
        sliced_k: Option<u32>,
    ) -> Result<Self, CompileError> {
        let hashed = options.input == Visibility::Hashed
            || options.output == Visibility::Hashed
            || options.weights == WeightVisibility::Committed;
        let network = Arc::new(with_visibility(
            &place_weights(&model.network, options.weights)?,
            options.input,
            options.output,
        ));
        let weights_commitment = network
            .params
            .as_ref()
            .map(|p| commitment_hex(commit(&p.values)));
        let candidates: Vec<ShapeKind> = match options.shape {
            Some(shape) => vec![shape],
            None => ShapeKind::ALL
                .iter()
                .copied()
                .filter(|&s| s != ShapeKind::Tiny && s.params().hash == hashed)
                .collect(),
        };
        let mut best: Option<(Layout, u32, CostReport)> = None;
        let mut refusal = None;
        for shape in candidates {
            match place(&network, shape.params()) {
                Ok(placed) => {
                    let better = best
                        .as_ref()
                        .is_none_or(|b| placed.2.predicted_cost() < b.2.predicted_cost());
                    if better {
                        best = Some(placed);
                    }
                }
                Err(e) => refusal = Some((shape, e)),
            }
        }
        let Some((mut layout, mut k, mut cost)) = best else {
            let (shape, e) = refusal.expect("at least one candidate shape");
            return Err(CompileError::Unsupported {
                shape: shape.name().to_string(),
                node: e.node,
                engine: e.engine.to_string(),
            });
        };
        let slices_asked = match options.slices {
            Some(0) => {
                return Err(CompileError::SliceRequest(
                    "--slices must be at least 1".into(),
                ))
            }
            Some(n) => n > 1,
            None => false,
        };
        let mut sliced = None;
        if slices_asked || options.max_k.is_some_and(|max_k| k > max_k) {
            if options.weights == WeightVisibility::Committed {
                return Err(CompileError::SliceRequest(format!(
                    "the circuit needs k = {k} ({} rows){}, and committed weights cannot be \
                     combined with slicing yet: raise --max-k or use --weights fixed",
                    layout.rows(),
                    options
                        .max_k
                        .map_or(String::new(), |m| format!(", above the limit k = {m}"))
                )));
            }
            let shapes: Vec<ShapeKind> = match options.shape {
                Some(shape) => vec![shape],
                None => ShapeKind::ALL
                    .iter()
                    .copied()
                    .filter(|&s| s != ShapeKind::Tiny && s.params().hash == hashed)
                    .filter(|&s| Layout::new(&network, s.params()).is_ok())
                    .collect(),
            };
            let slicing = slice_model(&model, &network, &shapes, &options, sliced_k)?;
            // The whole network as placed on the slices' shape (its cost report and layout).
            (layout, _, cost) = place(&network, slicing.shape.params())
                .expect("the slices were laid out on this shape");
            k = slicing.k;
            sliced = Some(Arc::new(slicing));
        }
        Ok(Self {
            model,
            shape: sliced.as_ref().map_or(cost.shape, |s| s.shape),
            k,
            cost,
            fidelity: None,
            claim: None,
            network,
            layout: Arc::new(layout),
            weights_commitment,
            weights_withheld: false,
            sliced,
            slice_of: None,
        })
    }

    /// The circuit of slice `index` of `count`: `network` (a slice's network, with link
    /// columns in `layout`) at the slices' common `k`.
    pub(crate) fn slice_circuit(
        model: QuantizedModel,
        cost: CostReport,
        network: Arc<Network>,
        layout: Arc<Layout>,
        (index, count): (usize, usize),
    ) -> Self {
        Self {
            model,
            shape: cost.shape,
            k: cost.k,
            cost,
            fidelity: None,
            claim: None,
            network,
            layout,
            weights_commitment: None,
            weights_withheld: false,
            sliced: None,
            slice_of: Some((index, count)),
        }
    }

    /// The same circuit, no longer marked as a slice (a slice without links proves like a
    /// whole model; see [`SlicedModel::unlinked_slice`]).
    pub(crate) fn unlinked(mut self) -> Self {
        self.slice_of = None;
        self
    }

    /// For a model cut into slices: the slices and their links; `None` for a model proven as
    /// one circuit.
    pub fn sliced(&self) -> Option<&Arc<SlicedModel>> {
        self.sliced.as_ref()
    }

    /// For the circuit of one slice: its position and the number of slices.
    pub fn slice_of(&self) -> Option<(usize, usize)> {
        self.slice_of
    }

    /// The circuit that proves `claim` about this model's output instead of revealing the
    /// output: the same network with its output private and the claim's comparisons after it,
    /// on the same shape (`k` may grow). Prover and verifier derive it alike from the model and
    /// the claim, so the verifying key binds the claim.
    pub fn with_claim(&self, claim: &Claim) -> Result<Self, ClaimError> {
        let invalid = |reason: String| ClaimError::Invalid {
            claim: claim.to_string(),
            reason,
        };
        if let Some(sliced) = &self.sliced {
            // The claim's checks go into the last slice; the other slices are unchanged.
            let sliced = sliced.with_claim(claim, self.model.output_scale)?;
            return Ok(Self {
                claim: Some(claim.clone()),
                sliced: Some(Arc::new(sliced)),
                ..self.clone()
            });
        }
        // The claim replaces the output; the input keeps its visibility.
        let weights = place_weights(&self.model.network, self.weights())
            .map_err(|e| invalid(e.to_string()))?;
        let base = with_visibility(&weights, self.network.input_visibility, Visibility::Public);
        let checks = claim.checks(base.output_len(), self.model.output_scale)?;
        let network =
            with_output_checks(&base, "claim", &checks).map_err(|e| invalid(e.to_string()))?;
        let (layout, k, cost) = place(&network, self.shape.params()).map_err(|e| {
            invalid(format!(
                "shape {} lacks the {} engine",
                self.shape.name(),
                e.engine
            ))
        })?;
        Ok(Self {
            model: self.model.clone(),
            shape: self.shape,
            k,
            cost,
            fidelity: self.fidelity.clone(),
            claim: Some(claim.clone()),
            network: Arc::new(network),
            layout: Arc::new(layout),
            weights_commitment: self.weights_commitment.clone(),
            weights_withheld: self.weights_withheld,
            sliced: None,
            slice_of: self.slice_of,
        })
    }

    /// What proofs of this model reveal of the input.
    pub fn input_visibility(&self) -> Visibility {
        self.network.input_visibility
    }

    /// What proofs of this model reveal of the output.
    pub fn output_visibility(&self) -> Visibility {
        self.network.output_visibility
    }

    /// Where the weights live.
    pub fn weights(&self) -> WeightVisibility {
        if self.network.params.is_some() {
            WeightVisibility::Committed
        } else {
            WeightVisibility::Fixed
        }
    }

    /// The Poseidon commitment to the weights (hex) that every proof of a model with committed
    /// weights carries as `weights_commitment`; `None` for fixed weights.
    pub fn weights_commitment(&self) -> Option<&str> {
        self.weights_commitment.as_deref()
    }

    /// A copy for verifiers of a model with committed weights: every trained weight and bias set
    /// to zero, the published commitment kept, and the structural operators' weights (pooling
    /// windows, row sums: public in the verifying key) left as they are. It has the same circuit
    /// and verifying key (they depend only on the architecture), so it verifies every proof of the
    /// model, but it cannot prove or run inference. Fixed weights have no such copy: the
    /// verifying key itself contains them.
    pub fn verifier_copy(&self) -> Result<Self, crate::Error> {
        let commitment = self
            .weights_commitment
            .clone()
            .ok_or(CompileError::FixedWeightsCopy)?;
        let mut model = self.model.clone();
        for node in &mut model.network.nodes {
            match &mut node.op {
                zkinfer_circuits::Op::Linear(op) if !op.structural => {
                    op.weights.fill(0);
                    op.bias.fill(0);
                }
                _ => {}
            }
        }
        let options = CompileOptions {
            shape: Some(self.shape),
            max_k: None,
            input: self.input_visibility(),
            output: self.output_visibility(),
            weights: WeightVisibility::Committed,
            slices: None,
        };
        let mut copy = Self::new(model, options)?;
        copy.weights_commitment = Some(commitment);
        copy.weights_withheld = true;
        match &self.claim {
            Some(claim) => Ok(copy.with_claim(claim)?),
            None => Ok(copy),
        }
    }

    /// Whether this is a verifier's copy, without the weights.
    pub fn weights_withheld(&self) -> bool {
        self.weights_withheld
    }

    /// Refuses a verifier's copy, which cannot compute the model.
    pub fn require_weights(&self) -> Result<(), crate::error::ProveError> {
        if self.weights_withheld {
            Err(crate::error::ProveError::WeightsWithheld)
        } else {
            Ok(())
        }
    }

    /// Marks a model read from a verifier's copy: `commitment` is the published one.
    pub(crate) fn withhold_weights(&mut self, commitment: String) {
        self.weights_commitment = Some(commitment);
        self.weights_withheld = true;
    }

    /// Whether the input is hashed: proofs carry a Poseidon commitment to it, not the input.
    pub fn input_hashed(&self) -> bool {
        self.network.input_visibility == Visibility::Hashed
    }

    /// The commitment to quantised values (an input or an output) that a proof carries when
    /// they are hashed (hex of the field element's little-endian bytes): what a party who knows
    /// them compares with the proof's `input_commitment` or `output_commitment`.
    pub fn commitment_of(&self, values: &[i64]) -> String {
        commitment_hex(commit(values))
    }

    /// The integer network.
    pub fn network(&self) -> &Arc<Network> {
        &self.network
    }

    /// The placement of the network in the circuit.
    pub fn layout(&self) -> &Arc<Layout> {
        &self.layout
    }

    /// Size in bytes of every proof of this model (it depends only on the circuit's shape).
    pub fn proof_bytes(&self) -> usize {
        with_shape!(self.shape, S => {
            let circuit = NetworkCircuit::<S>::new(self.network.clone(), self.layout.clone());
            halo2_proofs::dev::CircuitCost::<pasta_curves::vesta::Point, _>::measure(self.k, &circuit)
                .proof_size(1)
                .into()
        })
    }
}

/// The hex form of a commitment, as proofs carry it.
pub(crate) fn commitment_hex(commitment: Fp) -> String {
    hex::encode(commitment.to_repr())
}
