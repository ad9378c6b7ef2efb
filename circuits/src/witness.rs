//! Every advice value of the circuit, computed before synthesis.
//!
//! halo2 runs `synthesize` more than once (floor planning, key generation, proving), so all the
//! arithmetic happens here, in parallel, from the integer [`Trace`]; synthesis only copies these
//! values into cells. Tests corrupt a witness by editing these plain values.

use rayon::prelude::*;

use crate::layout::Layout;
use crate::network::{Network, Trace};
use crate::rescale::UnitWitness;

/// Advice values of one dense tile row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TileRowValues {
    /// The activations read by the row (without padding).
    pub inputs: Vec<i64>,
    /// The running dot products after the row (without padding).
    pub accumulators: Vec<i64>,
}

/// All advice values of a network circuit for one input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CircuitWitness {
    /// Indexed by tile row (row 0 is unused).
    pub tile_rows: Vec<TileRowValues>,
    /// Indexed by rescale unit.
    pub units: Vec<UnitWitness>,
    /// The public values: the input, then the output.
    pub public: Vec<i64>,
}

impl CircuitWitness {
    /// Derives every cell value from a forward-pass trace.
    pub fn new(network: &Network, layout: &Layout, trace: &Trace) -> Self {
        let (tile_inputs, tile_outputs) = (layout.shape.tile_inputs, layout.shape.tile_outputs);
        let mut tile_rows = vec![TileRowValues::default(); layout.tile_rows];
        let mut units = Vec::with_capacity(layout.units);
        for (l, (layer, placement)) in network.layers.iter().zip(&layout.layers).enumerate() {
            let input = if l == 0 {
                &trace.input
            } else {
                &trace.outputs[l - 1]
            };
            let first = placement.row(0, 0);
            let rows = &mut tile_rows[first..first + placement.blocks * placement.chunks];
            rows.par_chunks_mut(placement.chunks)
                .enumerate()
                .for_each(|(block, chain)| {
                    let outputs =
                        block * tile_outputs..((block + 1) * tile_outputs).min(layer.outputs);
                    let mut acc: Vec<i64> = layer.bias[outputs.clone()].to_vec();
                    for (chunk, row) in chain.iter_mut().enumerate() {
                        let inputs =
                            chunk * tile_inputs..((chunk + 1) * tile_inputs).min(layer.inputs);
                        for (a, j) in acc.iter_mut().zip(outputs.clone()) {
                            *a += layer.row(j)[inputs.clone()]
                                .iter()
                                .zip(&input[inputs.clone()])
                                .map(|(w, x)| w * x)
                                .sum::<i64>();
                        }
                        row.inputs = input[inputs].to_vec();
                        row.accumulators = acc.clone();
                    }
                });
            let op = layer.rescale_op();
            units.par_extend(
                trace.accumulators[l]
                    .par_iter()
                    .map(|&v| UnitWitness::honest(v, op)),
            );
        }
        let mut public = trace.input.clone();
        public.extend_from_slice(trace.output());
        Self {
            tile_rows,
            units,
            public,
        }
    }
}
