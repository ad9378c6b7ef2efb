//! Where every part of a network goes: tile rows, rescale units and public values.
//!
//! Rows are what proving pays for, so the layout packs work side by side: the dense tiles run
//! down their columns, the rescale units down theirs, and the public values down the instance
//! columns, all starting at row 0. The circuit needs as many rows as the longest of the three.
//!
//! A dense layer with `n` inputs and `m` outputs on an `I × O` tile takes
//! `ceil(m / O)` output blocks × `ceil(n / I)` input chunks rows; each block is a chain of rows
//! that accumulate one chunk each. Its `m` outputs take `m` rescale units.

use ff::PrimeField;

use crate::arith::to_field;
use crate::network::Network;
use crate::shape::ShapeParams;

/// Where one dense layer sits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerPlacement {
    /// First tile row of the layer.
    pub first_row: usize,
    /// Input chunks (rows per output block).
    pub chunks: usize,
    /// Output blocks.
    pub blocks: usize,
    /// Index of the rescale unit of output 0.
    pub first_unit: usize,
}

impl LayerPlacement {
    /// The tile row holding input chunk `chunk` of output block `block`.
    pub fn row(&self, block: usize, chunk: usize) -> usize {
        self.first_row + block * self.chunks + chunk
    }
}

/// The placement of a whole network on a shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The column budget.
    pub shape: ShapeParams,
    /// Per layer.
    pub layers: Vec<LayerPlacement>,
    /// Rows used by dense tiles (including the unused row 0).
    pub tile_rows: usize,
    /// Rescale units used.
    pub units: usize,
    /// Rows used by rescale units.
    pub unit_rows: usize,
    /// Public values (inputs then outputs).
    pub public_values: usize,
    /// Rows used by the instance columns.
    pub instance_rows: usize,
    /// Multiply-accumulates the network performs.
    pub macs: usize,
}

impl Layout {
    /// Places `network` on `shape`.
    pub fn new(network: &Network, shape: ShapeParams) -> Self {
        let mut layers = Vec::with_capacity(network.layers.len());
        // Tiles start at row 1: the chain gate reads the previous row, and row 0's previous row is
        // the last (blinding) row, which `MockProver` cannot display when reporting a failure.
        let (mut row, mut unit, mut macs) = (1, 0, 0);
        for layer in &network.layers {
            let placement = LayerPlacement {
                first_row: row,
                chunks: layer.inputs.div_ceil(shape.tile_inputs),
                blocks: layer.outputs.div_ceil(shape.tile_outputs),
                first_unit: unit,
            };
            row += placement.chunks * placement.blocks;
            unit += layer.outputs;
            macs += layer.inputs * layer.outputs;
            layers.push(placement);
        }
        let public_values = network.input_len + network.output_len();
        Self {
            shape,
            layers,
            tile_rows: row,
            units: unit,
            unit_rows: unit.div_ceil(shape.rescale_lanes),
            public_values,
            instance_rows: public_values.div_ceil(shape.instance_columns),
            macs,
        }
    }

    /// Rows the circuit needs (before blinding rows).
    pub fn rows(&self) -> usize {
        self.tile_rows.max(self.unit_rows).max(self.instance_rows)
    }

    /// `(row, lane)` of rescale unit `unit`.
    pub fn unit_slot(&self, unit: usize) -> (usize, usize) {
        (
            unit / self.shape.rescale_lanes,
            unit % self.shape.rescale_lanes,
        )
    }

    /// `(instance column, row)` of public value `index` (inputs first, then outputs).
    pub fn public_slot(&self, index: usize) -> (usize, usize) {
        (
            index % self.shape.instance_columns,
            index / self.shape.instance_columns,
        )
    }

    /// Arranges the public values (inputs then outputs) into the instance columns.
    pub fn instances<F: PrimeField>(&self, public: &[i64]) -> Vec<Vec<F>> {
        let mut columns = vec![vec![F::ZERO; self.instance_rows]; self.shape.instance_columns];
        for (index, &value) in public.iter().enumerate() {
            let (column, row) = self.public_slot(index);
            columns[column][row] = to_field(value);
        }
        columns
    }
}
