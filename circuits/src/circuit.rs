//! The network circuit: dense tiles and rescale units wired together by copy constraints, with
//! the input and output exposed as public values.
//!
//! Wiring:
//! - layer 0's tile inputs are copies of the public input (instance cells);
//! - the last row of each output block hands its accumulators to rescale units (copies);
//! - a unit's output is a copy source for the next layer's tile inputs;
//! - the last layer's unit outputs are copied to the public output (instance cells).
//!
//! Everything the gates need is decided by the [`Network`] (fixed columns) and the
//! [`CircuitWitness`] (advice), so the verifying key binds the network and nothing else.

use std::marker::PhantomData;
use std::sync::Arc;

use ff::PrimeField;
use halo2_proofs::{
    circuit::{AssignedCell, Cell, Layouter, SimpleFloorPlanner, Value},
    plonk::{Circuit, Column, ConstraintSystem, Error, Instance},
};

use crate::dense::{DenseChip, DenseConfig, TileRow};
use crate::layout::Layout;
use crate::network::Network;
use crate::rescale::{RescaleChip, RescaleConfig};
use crate::shape::Shape;
use crate::witness::CircuitWitness;

/// Columns of a network circuit.
#[derive(Clone, Debug)]
pub struct NetworkConfig {
    dense: DenseConfig,
    lanes: Vec<RescaleConfig>,
    instance: Vec<Column<Instance>>,
}

/// A network laid out on shape `S`, with or without a witness.
#[derive(Clone, Debug)]
pub struct NetworkCircuit<S: Shape> {
    network: Arc<Network>,
    layout: Arc<Layout>,
    witness: Option<Arc<CircuitWitness>>,
    _shape: PhantomData<S>,
}

impl<S: Shape> NetworkCircuit<S> {
    /// A circuit for key generation (no witness). `layout` must be `Layout::new(network, S::PARAMS)`.
    pub fn new(network: Arc<Network>, layout: Arc<Layout>) -> Self {
        debug_assert_eq!(layout.shape, S::PARAMS);
        Self {
            network,
            layout,
            witness: None,
            _shape: PhantomData,
        }
    }

    /// The same circuit with a witness, for proving.
    pub fn with_witness(&self, witness: Arc<CircuitWitness>) -> Self {
        Self {
            witness: Some(witness),
            ..self.clone()
        }
    }

    /// Rows a circuit of this shape reserves for blinding (plus the last, unusable row).
    pub fn reserved_rows<F: PrimeField>() -> usize {
        let mut meta = ConstraintSystem::<F>::default();
        Self::configure(&mut meta);
        meta.blinding_factors() + 1
    }

    /// The smallest `k` whose usable rows hold `layout`.
    pub fn min_k<F: PrimeField>(layout: &Layout) -> u32 {
        let needed = layout.rows() + Self::reserved_rows::<F>();
        let mut k = 4;
        while (1usize << k) < needed {
            k += 1;
        }
        k
    }
}

/// Where a tile input's value comes from.
enum Source<F: PrimeField> {
    Public(usize),
    Cell(AssignedCell<F, F>),
}

impl<F: PrimeField, S: Shape> Circuit<F> for NetworkCircuit<S> {
    type Config = NetworkConfig;
    type FloorPlanner = SimpleFloorPlanner;

    fn without_witnesses(&self) -> Self {
        Self {
            witness: None,
            ..self.clone()
        }
    }

    fn configure(meta: &mut ConstraintSystem<F>) -> NetworkConfig {
        let shape = S::PARAMS;
        // A higher degree lets the permutation argument pack `degree − 2` equality columns into
        // each grand product, and at the small `k` of these circuits a committed column costs far
        // more than the larger evaluation domain (measured: degree 5 proves ~35 % faster than 3).
        meta.set_minimum_degree(shape.min_degree);
        let dense = DenseChip::configure(meta, shape.tile_inputs, shape.tile_outputs);
        let lanes = (0..shape.rescale_lanes)
            .map(|_| RescaleChip::configure(meta))
            .collect();
        let instance = (0..shape.instance_columns)
            .map(|_| {
                let column = meta.instance_column();
                meta.enable_equality(column);
                column
            })
            .collect();
        NetworkConfig {
            dense,
            lanes,
            instance,
        }
    }

    fn synthesize(
        &self,
        config: NetworkConfig,
        mut layouter: impl Layouter<F>,
    ) -> Result<(), Error> {
        let dense = DenseChip::construct(config.dense.clone());
        let lanes: Vec<RescaleChip> = config
            .lanes
            .iter()
            .cloned()
            .map(RescaleChip::construct)
            .collect();
        let layout = &*self.layout;
        let witness = self.witness.as_deref();
        let (tile_inputs, tile_outputs) = (layout.shape.tile_inputs, layout.shape.tile_outputs);
        let input_len = self.network.input_len;

        let public_copies = layouter.assign_region(
            || "network",
            |mut region| {
                // (cell, public index) pairs, constrained to the instance after the region.
                let mut public_copies: Vec<(Cell, usize)> = Vec::new();
                let mut sources: Vec<Source<F>> = (0..input_len).map(Source::Public).collect();

                for (layer, placement) in self.network.layers.iter().zip(&layout.layers) {
                    let op = layer.rescale_op();
                    let mut outputs: Vec<Option<AssignedCell<F, F>>> = vec![None; layer.outputs];
                    for block in 0..placement.blocks {
                        let out_range =
                            block * tile_outputs..((block + 1) * tile_outputs).min(layer.outputs);
                        let weight_rows: Vec<&[i64]> =
                            out_range.clone().map(|j| layer.row(j)).collect();
                        for chunk in 0..placement.chunks {
                            let in_range =
                                chunk * tile_inputs..((chunk + 1) * tile_inputs).min(layer.inputs);
                            let row = placement.row(block, chunk);
                            let weights: Vec<&[i64]> =
                                weight_rows.iter().map(|w| &w[in_range.clone()]).collect();
                            let values = witness.map(|w| &w.tile_rows[row]);
                            let known = |v: Option<&Vec<i64>>, n: usize| -> Vec<Value<i64>> {
                                match v {
                                    Some(v) => v.iter().map(|&x| Value::known(x)).collect(),
                                    None => vec![Value::unknown(); n],
                                }
                            };
                            let inputs = known(values.map(|v| &v.inputs), in_range.len());
                            let accumulators =
                                known(values.map(|v| &v.accumulators), out_range.len());
                            let cells = dense.assign_row(
                                &mut region,
                                row,
                                &TileRow {
                                    weights: &weights,
                                    bias: if chunk == 0 {
                                        &layer.bias[out_range.clone()]
                                    } else {
                                        &[]
                                    },
                                    chain: chunk > 0,
                                    inputs: &inputs,
                                    accumulators: &accumulators,
                                },
                            )?;
                            for (cell, source) in cells.inputs.iter().zip(&sources[in_range]) {
                                match source {
                                    Source::Public(index) => {
                                        public_copies.push((cell.cell(), *index))
                                    }
                                    Source::Cell(from) => {
                                        region.constrain_equal(from.cell(), cell.cell())?
                                    }
                                }
                            }
                            if chunk + 1 == placement.chunks {
                                for (j, acc) in out_range.clone().zip(&cells.accumulators) {
                                    let unit = placement.first_unit + j;
                                    let (unit_row, lane) = layout.unit_slot(unit);
                                    let unit_cells = lanes[lane].assign(
                                        &mut region,
                                        unit_row,
                                        op,
                                        witness.map(|w| &w.units[unit]),
                                    )?;
                                    region.constrain_equal(acc.cell(), unit_cells.input.cell())?;
                                    outputs[j] = Some(unit_cells.output);
                                }
                            }
                        }
                    }
                    sources = outputs
                        .into_iter()
                        .map(|cell| cell.map(Source::Cell).ok_or(Error::Synthesis))
                        .collect::<Result<_, _>>()?;
                }
                for (index, source) in sources.iter().enumerate() {
                    if let Source::Cell(cell) = source {
                        public_copies.push((cell.cell(), input_len + index));
                    }
                }
                Ok(public_copies)
            },
        )?;

        for (cell, index) in public_copies {
            let (column, row) = layout.public_slot(index);
            layouter.constrain_instance(cell, config.instance[column], row)?;
        }
        Ok(())
    }
}
