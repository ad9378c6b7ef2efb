//! Where every operator goes: engine, rows and slots.
//!
//! Rows are what proving pays for, so the layout runs every engine side by side from the top:
//! dense tiles down their columns, units down theirs (`unit_lanes` per row), product rows, lookup
//! slots, and the public values down the instance columns. Copy constraints connect them in any
//! order, so operators need not be placed in the rows where their inputs were produced. The
//! circuit needs as many rows as the longest engine (or the lookup table, if longer).
//!
//! - A [`LinearOp`](crate::ops::LinearOp) with `G` groups of `C/G` channels, `P` positions and
//!   `K` taps takes `G·P·ceil((C/G)/O)·ceil(K/I)` tile rows on an `I × O` tile, fewer when small
//!   windows are packed side by side ([`tiling`](crate::tiling)).
//! - A [`UnitOp`] takes one unit slot per element; a [`TableOp`] one lookup slot per element.
//! - A [`ProductOp`] takes `ceil(terms/T)` product rows per output.
//! - A [`GatherOp`](crate::ops::GatherOp) takes nothing.

use ff::PrimeField;

use crate::arith::to_field;
use crate::network::Network;
use crate::ops::{Op, ProductOp};
use crate::shape::ShapeParams;
use crate::table::table_rows;
use crate::tiling::Tiling;

/// Where one node sits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Tile rows from `first_row`, cut as [`tiling::tile_rows`](crate::tiling::tile_rows) says.
    Linear {
        /// First tile row.
        first_row: usize,
        /// How the node is cut into rows.
        tiling: Tiling,
    },
    /// Unit slots `first_slot..first_slot + len`.
    Unit {
        /// First slot.
        first_slot: usize,
    },
    /// Product rows from `first_row`, `chunks` per output.
    Product {
        /// First product row.
        first_row: usize,
        /// Rows per output.
        chunks: usize,
    },
    /// Lookup slots `first_slot..first_slot + len`.
    Table {
        /// First slot.
        first_slot: usize,
    },
    /// No cells.
    Gather,
}

/// Why a network cannot be placed on a shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsupportedByShape {
    /// The node.
    pub node: String,
    /// The engine the shape lacks.
    pub engine: &'static str,
}

/// The placement of a whole network on a shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The column budget.
    pub shape: ShapeParams,
    /// Per node.
    pub placements: Vec<Placement>,
    /// Tile rows used (row 0 is left unused, see [`Layout::new`]).
    pub tile_rows: usize,
    /// Unit slots used.
    pub unit_slots: usize,
    /// Product rows used (row 0 is left unused).
    pub product_rows: usize,
    /// Lookup slots used.
    pub lookup_slots: usize,
    /// Rows of the lookup table (0 without tables).
    pub table_rows: usize,
    /// Public values (the inputs, or the commitment to a hashed input; then the outputs).
    pub public_values: usize,
    /// Rows of the Poseidon chip proving the input commitment (0 for a public input).
    pub commitment_rows: usize,
    /// Multiply-accumulates the network performs.
    pub macs: usize,
    /// The link columns of a linked slice (none for a whole network).
    pub links: LinkColumns,
}

/// Where a linked slice's link values sit: each segment (the values shared with one other
/// slice) fills columns of its own from row 0, `rows` values per column, in order. The slice
/// that computes a segment and the slice that reads it place it alike, so the columns hold the
/// same values in both proofs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkColumns {
    /// Values per column: the usable rows of the circuit.
    pub rows: usize,
    /// Columns of each link-in segment.
    pub input: Vec<usize>,
    /// Columns of each link-out segment.
    pub output: Vec<usize>,
}

impl LinkColumns {
    /// The columns of `network`'s link segments with `rows` values per column.
    pub fn new(network: &Network, rows: usize) -> Self {
        let columns = |segments: &[usize]| segments.iter().map(|len| len.div_ceil(rows)).collect();
        match &network.links {
            Some(links) => Self {
                rows,
                input: columns(&links.input_segments),
                output: columns(&links.output_segments),
            },
            None => Self::default(),
        }
    }

    /// Link-in columns.
    pub fn input_columns(&self) -> usize {
        self.input.iter().sum()
    }

    /// Link-out columns.
    pub fn output_columns(&self) -> usize {
        self.output.iter().sum()
    }

    /// Link columns in all.
    pub fn columns(&self) -> usize {
        self.input_columns() + self.output_columns()
    }

    /// `(column, row)` of each value of segments of `lengths` laid out in `columns_per_segment`
    /// columns: columns counted from the first column of the first segment.
    pub fn slots(&self, lengths: &[usize], columns_per_segment: &[usize]) -> Vec<(usize, usize)> {
        let mut slots = Vec::with_capacity(lengths.iter().sum());
        let mut first = 0;
        for (&len, &columns) in lengths.iter().zip(columns_per_segment) {
            slots.extend((0..len).map(|t| (first + t / self.rows, t % self.rows)));
            first += columns;
        }
        slots
    }
}

impl Layout {
    /// Places `network` on `shape`, or names a node whose engine the shape lacks.
    ///
    /// Tile and product rows start at row 1: their chain gates read the previous row, and row 0's
    /// previous row is the last (blinding) row, which `MockProver` cannot display in failures.
    pub fn new(network: &Network, shape: ShapeParams) -> Result<Self, UnsupportedByShape> {
        let mut layout = Layout {
            shape,
            placements: Vec::with_capacity(network.nodes.len()),
            tile_rows: 1,
            unit_slots: 0,
            product_rows: 1,
            lookup_slots: 0,
            table_rows: 0,
            public_values: network.public_input_len()
                + network.public_output_len()
                + network.public_weights_len(),
            commitment_rows: 0,
            macs: network.macs(),
            links: LinkColumns::default(),
        };
        let lacks = |node: &str, engine| UnsupportedByShape {
            node: node.to_string(),
            engine,
        };
        use crate::network::Visibility::Hashed;
        for (visibility, what, len) in [
            (network.input_visibility, "input", network.input_len()),
            (network.output_visibility, "output", network.output_len()),
        ] {
            if visibility == Hashed {
                if !shape.hash {
                    return Err(lacks(what, "Poseidon chip (hashed values)"));
                }
                // The two chains share the chip's columns, one after the other.
                layout.commitment_rows += crate::commitment::rows(len);
            }
        }
        if let Some(params) = &network.params {
            if !shape.hash {
                return Err(lacks("weights", "Poseidon chip (committed weights)"));
            }
            layout.commitment_rows += crate::commitment::rows(params.values.len());
        }
        for node in &network.nodes {
            let placement = match &node.op {
                Op::Linear(op) => {
                    if shape.tile_inputs == 0 {
                        return Err(lacks(&node.name, "dense tile"));
                    }
                    let tiling = Tiling::new(op, shape.tile_inputs, shape.tile_outputs);
                    let first_row = layout.tile_rows;
                    layout.tile_rows += tiling.rows(op);
                    Placement::Linear { first_row, tiling }
                }
                Op::Unit(op) => {
                    if shape.unit_lanes == 0 {
                        return Err(lacks(&node.name, "unit"));
                    }
                    if op.with_remainder && !shape.unit_remainder {
                        return Err(lacks(&node.name, "unit remainder output"));
                    }
                    let first_slot = layout.unit_slots;
                    layout.unit_slots += op.len();
                    Placement::Unit { first_slot }
                }
                Op::Product(op) => {
                    if shape.product_terms == 0 {
                        return Err(lacks(&node.name, "product chip"));
                    }
                    let chunks = product_chunks(op, shape.product_terms);
                    let first_row = layout.product_rows;
                    layout.product_rows += op.len() * chunks;
                    Placement::Product { first_row, chunks }
                }
                Op::Table(_) => {
                    if shape.lookup_lanes == 0 {
                        return Err(lacks(&node.name, "lookup table"));
                    }
                    let first_slot = layout.lookup_slots;
                    layout.lookup_slots += network.tensors[node.output].len();
                    Placement::Table { first_slot }
                }
                Op::Gather(_) => Placement::Gather,
            };
            layout.placements.push(placement);
        }
        if !network.tables.is_empty() {
            layout.table_rows = table_rows(&network.tables);
        }
        Ok(layout)
    }

    /// The same layout with `network`'s link segments placed in columns of `rows` values (the
    /// usable rows of the circuit's `k`).
    pub fn with_link_columns(mut self, network: &Network, rows: usize) -> Self {
        self.links = LinkColumns::new(network, rows);
        self
    }

    /// Rows used by unit lanes.
    pub fn unit_rows(&self) -> usize {
        self.unit_slots.div_ceil(self.shape.unit_lanes.max(1))
    }

    /// Rows used by lookup lanes.
    pub fn lookup_rows(&self) -> usize {
        self.lookup_slots.div_ceil(self.shape.lookup_lanes.max(1))
    }

    /// Rows used by the instance columns.
    pub fn instance_rows(&self) -> usize {
        self.public_values.div_ceil(self.shape.instance_columns)
    }

    /// Rows the circuit needs (before blinding rows).
    pub fn rows(&self) -> usize {
        [
            self.tile_rows,
            self.unit_rows(),
            self.product_rows,
            self.lookup_rows(),
            self.table_rows,
            self.instance_rows(),
            self.commitment_rows,
        ]
        .into_iter()
        .max()
        .unwrap_or(0)
    }

    /// `(row, lane)` of unit slot `slot`.
    pub fn unit_slot(&self, slot: usize) -> (usize, usize) {
        (slot / self.shape.unit_lanes, slot % self.shape.unit_lanes)
    }

    /// `(row, lane)` of lookup slot `slot`.
    pub fn lookup_slot(&self, slot: usize) -> (usize, usize) {
        (
            slot / self.shape.lookup_lanes,
            slot % self.shape.lookup_lanes,
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
        self.arrange(public.iter().map(|&v| to_field(v)))
    }

    /// Arranges the public values of a network with hashed values: the input commitment (if
    /// the input is hashed), the public integer values (input, then output), the output
    /// commitment (if the output is hashed), the weights commitment (if the weights are
    /// committed).
    pub fn instances_with<F: PrimeField>(
        &self,
        input_commitment: Option<F>,
        public: &[i64],
        output_commitment: Option<F>,
        weights_commitment: Option<F>,
    ) -> Vec<Vec<F>> {
        self.arrange(
            input_commitment
                .into_iter()
                .chain(public.iter().map(|&v| to_field(v)))
                .chain(output_commitment)
                .chain(weights_commitment),
        )
    }

    /// [`Layout::instances_with`] for a hashed input and public outputs.
    pub fn instances_hashed<F: PrimeField>(&self, commitment: F, outputs: &[i64]) -> Vec<Vec<F>> {
        self.instances_with(Some(commitment), outputs, None, None)
    }

    fn arrange<F: PrimeField>(&self, values: impl Iterator<Item = F>) -> Vec<Vec<F>> {
        let mut columns = vec![vec![F::ZERO; self.instance_rows()]; self.shape.instance_columns];
        for (index, value) in values.enumerate() {
            let (column, row) = self.public_slot(index);
            columns[column][row] = value;
        }
        columns
    }
}

/// Product rows per output.
pub fn product_chunks(op: &ProductOp, terms_per_row: usize) -> usize {
    op.terms.div_ceil(terms_per_row)
}
