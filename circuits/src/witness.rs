//! Every advice value of the circuit, computed before synthesis.
//!
//! halo2 runs `synthesize` more than once (floor planning, key generation, proving), so all the
//! arithmetic happens here, in parallel, from the integer [`Trace`]; synthesis only copies these
//! values into cells. Tests corrupt a witness by editing these plain values.

use rayon::prelude::*;

use pasta_curves::Fp;

use crate::layout::{Layout, Placement};
use crate::network::{ForwardError, Network, Trace, Visibility};
use crate::ops::{LinearOp, Op, ProductOp};
use crate::product::ProductRow;
use crate::tiling::{tile_rows, TileRowPlan};
use crate::unit::UnitWitness;

/// Advice values of one dense tile row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TileRowValues {
    /// The activations read by the row, per input lane (padding taps read 0).
    pub inputs: Vec<i64>,
    /// The running dot products after the row, per output lane.
    pub accumulators: Vec<i64>,
}

/// All advice values of a network circuit for one input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CircuitWitness {
    /// Indexed by tile row (row 0 is unused).
    pub tile_rows: Vec<TileRowValues>,
    /// Indexed by unit slot.
    pub units: Vec<UnitWitness>,
    /// Indexed by product row (row 0 is unused).
    pub product_rows: Vec<ProductRow>,
    /// Indexed by lookup slot: `(x, y)`.
    pub lookups: Vec<(i64, i64)>,
    /// The public integer values: the input if it is public, then the output if it is public.
    pub public: Vec<i64>,
    /// The commitment to a hashed input (see [`commitment`](crate::commitment)).
    pub input_commitment: Option<Fp>,
    /// The commitment to a hashed output.
    pub output_commitment: Option<Fp>,
    /// The commitment to committed weights (see [`weights`](crate::weights)).
    pub weights_commitment: Option<Fp>,
    /// The values of a linked slice's link-in columns, in order (empty otherwise).
    pub link_in: Vec<i64>,
    /// The values of a linked slice's link-out columns, in order (empty otherwise).
    pub link_out: Vec<i64>,
}

impl CircuitWitness {
    /// The instance columns this witness proves: its public values (and input commitment)
    /// arranged by `layout`.
    pub fn instances(&self, layout: &Layout) -> Vec<Vec<Fp>> {
        layout.instances_with(
            self.input_commitment,
            &self.public,
            self.output_commitment,
            self.weights_commitment,
        )
    }

    /// Derives every cell value from a forward-pass trace.
    pub fn new(network: &Network, layout: &Layout, trace: &Trace) -> Result<Self, ForwardError> {
        let mut witness = CircuitWitness {
            tile_rows: vec![TileRowValues::default(); layout.tile_rows],
            units: Vec::with_capacity(layout.unit_slots),
            product_rows: vec![ProductRow::default(); layout.product_rows],
            lookups: Vec::with_capacity(layout.lookup_slots),
            public: if network.input_public() {
                trace.input().to_vec()
            } else {
                Vec::new()
            },
            input_commitment: (network.input_visibility == Visibility::Hashed)
                .then(|| crate::commitment::commit(trace.input())),
            output_commitment: (network.output_visibility == Visibility::Hashed)
                .then(|| crate::commitment::commit(trace.output())),
            weights_commitment: network
                .params
                .as_ref()
                .map(|p| crate::commitment::commit(&p.values)),
            link_in: Vec::new(),
            link_out: Vec::new(),
        };
        if let Some(links) = &network.links {
            witness.link_in = links
                .inputs
                .iter()
                .flat_map(|l| trace.values[l.tensor].iter().copied())
                .collect();
            witness.link_out = links
                .output
                .map_or_else(Vec::new, |t| trace.values[t].clone());
        }
        if network.output_public() {
            witness.public.extend_from_slice(trace.output());
        }
        let (tile_inputs, tile_outputs) = (layout.shape.tile_inputs, layout.shape.tile_outputs);
        for (node, placement) in network.nodes.iter().zip(&layout.placements) {
            let x = |i: usize| trace.values[node.inputs[i]].as_slice();
            match (&node.op, placement) {
                (Op::Linear(op), &Placement::Linear { first_row, tiling }) => {
                    let plans = tile_rows(op, tiling, first_row, tile_inputs, tile_outputs);
                    let rows = &mut witness.tile_rows[first_row..first_row + plans.len()];
                    // Chains of several rows are filled together, so partial sums carry over.
                    rows.par_chunks_mut(tiling.chunks)
                        .zip(plans.par_chunks(tiling.chunks))
                        .for_each(|(rows, plans)| linear_rows(op, x(0), plans, rows));
                }
                (Op::Unit(op), Placement::Unit { .. }) => {
                    let x1 = node.inputs.get(1).map(|_| x(1));
                    let units = (0..op.len())
                        .into_par_iter()
                        .map(|i| {
                            let (a, b) = op.operands(i, x(0), x1);
                            UnitWitness::honest(op.kind(i), a, b).map_err(|failure| {
                                ForwardError::Unit {
                                    node: node.name.clone(),
                                    index: i,
                                    failure: failure.to_string(),
                                }
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    witness.units.extend(units);
                }
                (Op::Product(op), Placement::Product { first_row, chunks }) => {
                    let terms = layout.shape.product_terms;
                    witness.product_rows[*first_row..first_row + op.len() * chunks]
                        .par_chunks_mut(*chunks)
                        .enumerate()
                        .for_each(|(output, rows)| {
                            product_chain(op, x(0), x(1), output, terms, rows)
                        });
                }
                (Op::Table(_), Placement::Table { .. }) => {
                    let y = trace.values[node.output].as_slice();
                    witness
                        .lookups
                        .extend(x(0).iter().copied().zip(y.iter().copied()));
                }
                (Op::Gather(_), Placement::Gather) => {}
                _ => unreachable!("layouts place every node on its own engine"),
            }
        }
        Ok(witness)
    }
}

/// Fills the rows of the chains of one packed row group (a whole chain for unpacked nodes).
fn linear_rows(op: &LinearOp, x: &[i64], plans: &[TileRowPlan], rows: &mut [TileRowValues]) {
    let Some(first) = plans.first() else { return };
    let mut sums: Vec<Vec<i128>> = first
        .segments
        .iter()
        .map(|s| s.channels.clone().map(|c| i128::from(op.bias[c])).collect())
        .collect();
    for (plan, row) in plans.iter().zip(rows) {
        row.inputs.clear();
        row.accumulators.clear();
        for (segment, sum) in plan.segments.iter().zip(&mut sums) {
            let taps = &op.taps_at(segment.group, segment.position)[segment.taps.clone()];
            let inputs: Vec<i64> = taps
                .iter()
                .map(|t| t.map_or(0, |i| x[i as usize]))
                .collect();
            for (acc, c) in sum.iter_mut().zip(segment.channels.clone()) {
                *acc += op.row(c)[segment.taps.clone()]
                    .iter()
                    .zip(&inputs)
                    .map(|(&w, &v)| i128::from(w) * i128::from(v))
                    .sum::<i128>();
            }
            row.inputs.resize(segment.input_lane, 0);
            row.inputs.extend_from_slice(&inputs);
            row.accumulators.resize(segment.output_lane, 0);
            row.accumulators.extend(sum.iter().map(|&a| a as i64));
        }
    }
}

/// Fills the rows of one output of a product node.
fn product_chain(
    op: &ProductOp,
    x0: &[i64],
    x1: &[i64],
    output: usize,
    terms: usize,
    rows: &mut [ProductRow],
) {
    let mut acc: i128 = 0;
    for (chunk, row) in rows.iter_mut().enumerate() {
        let range = output * op.terms + chunk * terms
            ..output * op.terms + ((chunk + 1) * terms).min(op.terms);
        row.a = op.a[range.clone()]
            .iter()
            .map(|&i| x0[i as usize])
            .collect();
        row.b = op.b[range].iter().map(|&i| x1[i as usize]).collect();
        acc += row
            .a
            .iter()
            .zip(&row.b)
            .map(|(&a, &b)| i128::from(a) * i128::from(b))
            .sum::<i128>();
        row.acc = acc as i64;
    }
}
