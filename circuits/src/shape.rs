//! Circuit shapes: the fixed column budget a network is laid out in.
//!
//! `halo2_proofs` 0.4 configures a circuit's columns without any parameters, so the number of
//! columns cannot depend on the model. A [`Shape`] is a type that carries that budget as
//! constants; a model then changes only the number of rows (and thus `k`). [`ShapeParams`] is
//! the same information as a value, for planning and for artifacts.

use serde::{Deserialize, Serialize};
use std::fmt::Debug;

/// The column budget of a network circuit, as a type.
pub trait Shape: 'static + Send + Sync + Debug + Clone + Copy + Default {
    /// The parameters as a value.
    const PARAMS: ShapeParams;
}

/// The column budget of a network circuit, as a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShapeParams {
    /// Stable name, stored in compiled models.
    pub name: &'static str,
    /// Activations read by one dense tile row.
    pub tile_inputs: usize,
    /// Accumulators (outputs) updated by one dense tile row.
    pub tile_outputs: usize,
    /// Rescale units side by side in one row.
    pub rescale_lanes: usize,
    /// Instance columns holding the public values.
    pub instance_columns: usize,
    /// Minimum constraint degree of the circuit (see [`NetworkCircuit`](crate::NetworkCircuit)).
    pub min_degree: usize,
}

impl ShapeParams {
    /// Multiply-accumulates one full tile row proves.
    pub fn macs_per_row(&self) -> usize {
        self.tile_inputs * self.tile_outputs
    }

    /// Advice columns of a circuit of this shape.
    pub fn advice_columns(&self) -> usize {
        self.tile_inputs + self.tile_outputs + self.rescale_lanes * crate::rescale::ADVICE_COLUMNS
    }

    /// Fixed columns of a circuit of this shape.
    pub fn fixed_columns(&self) -> usize {
        self.tile_inputs * self.tile_outputs
            + self.tile_outputs
            + 2
            + self.rescale_lanes * crate::rescale::FIXED_COLUMNS
    }

    /// Columns that take part in copy constraints.
    pub fn equality_columns(&self) -> usize {
        self.tile_inputs + self.tile_outputs + 2 * self.rescale_lanes + self.instance_columns
    }
}

/// A 32-input × 16-output dense tile (512 multiply-accumulates per row) with one rescale lane.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tile32x16;

impl Shape for Tile32x16 {
    const PARAMS: ShapeParams = ShapeParams {
        name: "tile32x16",
        tile_inputs: 32,
        tile_outputs: 16,
        rescale_lanes: 1,
        instance_columns: 4,
        min_degree: 5,
    };
}

/// A small 4 × 2 tile with one lane, for fast tests of the layout logic.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tile4x2;

impl Shape for Tile4x2 {
    const PARAMS: ShapeParams = ShapeParams {
        name: "tile4x2",
        tile_inputs: 4,
        tile_outputs: 2,
        rescale_lanes: 1,
        instance_columns: 1,
        min_degree: 5,
    };
}

/// Every shape the library can build; stored by name in compiled models.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShapeKind {
    /// [`Tile32x16`].
    Tile32x16,
    /// [`Tile4x2`].
    Tile4x2,
}

impl ShapeKind {
    /// All shapes.
    pub const ALL: [ShapeKind; 2] = [ShapeKind::Tile32x16, ShapeKind::Tile4x2];

    /// The shape's parameters.
    pub fn params(self) -> ShapeParams {
        match self {
            ShapeKind::Tile32x16 => Tile32x16::PARAMS,
            ShapeKind::Tile4x2 => Tile4x2::PARAMS,
        }
    }
}

/// Evaluates `$body` with `$S` bound to the shape type of `$kind` (a [`ShapeKind`]).
///
/// ```ignore
/// with_shape!(kind, S => keygen::<S>(...))
/// ```
#[macro_export]
macro_rules! with_shape {
    ($kind:expr, $S:ident => $body:expr) => {{
        match $kind {
            $crate::shape::ShapeKind::Tile32x16 => {
                type $S = $crate::shape::Tile32x16;
                $body
            }
            $crate::shape::ShapeKind::Tile4x2 => {
                type $S = $crate::shape::Tile4x2;
                $body
            }
        }
    }};
}
