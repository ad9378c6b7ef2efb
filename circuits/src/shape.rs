//! Circuit shapes: the fixed column budget a network is laid out in.
//!
//! `halo2_proofs` 0.4 configures a circuit's columns without any parameters, so the number of
//! columns cannot depend on the model. A [`Shape`] is a type that carries that budget as
//! constants: which engines exist and how wide they are. A model then changes only the number of
//! rows (and thus `k`), and the compiler picks, among the shapes that support the model's
//! operators, the one predicted to prove fastest.

use serde::{Deserialize, Serialize};
use std::fmt::Debug;

use crate::unit;

/// The column budget of a network circuit, as a type.
pub trait Shape: 'static + Send + Sync + Debug + Clone + Copy + Default {
    /// The parameters as a value.
    const PARAMS: ShapeParams;
}

/// The column budget of a network circuit, as a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShapeParams {
    /// The shape it describes.
    pub kind: ShapeKind,
    /// Activations read by one dense tile row.
    pub tile_inputs: usize,
    /// Accumulators (outputs) updated by one dense tile row.
    pub tile_outputs: usize,
    /// Unit lanes side by side in one row.
    pub unit_lanes: usize,
    /// Whether units expose their remainder (needed by division and square root).
    pub unit_remainder: bool,
    /// Pairs per product row (0: no product chip).
    pub product_terms: usize,
    /// Lookup lanes (0: no lookup table).
    pub lookup_lanes: usize,
    /// Instance columns holding the public values.
    pub instance_columns: usize,
    /// Minimum constraint degree of the circuit (5: the unit's digit checks need it).
    pub min_degree: usize,
    /// Whether the circuit has a Poseidon chip, to prove a commitment to a hashed input (its
    /// S-box gates raise the degree to 6, so only the `_hashed` shapes carry it).
    pub hash: bool,
}

impl ShapeParams {
    /// Advice columns of a circuit of this shape.
    pub fn advice_columns(&self) -> usize {
        self.tile_inputs
            + self.tile_outputs
            + self.unit_lanes * unit::advice_columns(self.unit_remainder)
            + if self.product_terms > 0 {
                2 * self.product_terms + 1
            } else {
                0
            }
            + 2 * self.lookup_lanes
            + if self.hash {
                crate::commitment::ADVICE_COLUMNS
            } else {
                0
            }
    }

    /// Fixed columns of a circuit of this shape (lookup table columns included).
    pub fn fixed_columns(&self) -> usize {
        let tile = if self.tile_inputs > 0 {
            self.tile_inputs * self.tile_outputs + self.tile_outputs + 2
        } else {
            0
        };
        tile + self.unit_lanes * unit::FIXED_COLUMNS
            + if self.product_terms > 0 {
                self.product_terms + 2
            } else {
                0
            }
            + if self.lookup_lanes > 0 {
                2 * self.lookup_lanes + 3
            } else {
                0
            }
            + if self.hash {
                crate::commitment::FIXED_COLUMNS
            } else {
                0
            }
    }

    /// Columns that take part in copy constraints.
    pub fn equality_columns(&self) -> usize {
        self.tile_inputs
            + self.tile_outputs
            + (3 + usize::from(self.unit_remainder)) * self.unit_lanes
            + if self.product_terms > 0 {
                2 * self.product_terms + 1
            } else {
                0
            }
            + 2 * self.lookup_lanes
            + self.instance_columns
            + if self.hash {
                crate::commitment::EQUALITY_COLUMNS
            } else {
                0
            }
    }

    /// Lookup arguments.
    pub fn lookups(&self) -> usize {
        self.lookup_lanes
    }
}

macro_rules! shapes {
    ($( $(#[$doc:meta])* $name:ident / $kind:ident = $snake:literal {
        tile: $ti:literal x $to:literal, units: $u:literal, remainder: $r:literal, product: $p:literal, lookups: $l:literal, instance: $i:literal, hash: $h:literal
    } )*) => {
        /// Every shape the library can build; stored by name in compiled models.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum ShapeKind {
            $( $(#[$doc])* #[serde(rename = $snake)] $kind, )*
        }

        impl ShapeKind {
            /// All shapes.
            pub const ALL: &'static [ShapeKind] = &[$(ShapeKind::$kind),*];

            /// The shape's parameters.
            pub fn params(self) -> ShapeParams {
                match self {
                    $( ShapeKind::$kind => $name::PARAMS, )*
                }
            }

            /// Stable name.
            pub fn name(self) -> &'static str {
                match self {
                    $( ShapeKind::$kind => $snake, )*
                }
            }
        }

        $(
            $(#[$doc])*
            #[derive(Clone, Copy, Debug, Default)]
            pub struct $name;

            impl Shape for $name {
                const PARAMS: ShapeParams = ShapeParams {
                    kind: ShapeKind::$kind,
                    tile_inputs: $ti,
                    tile_outputs: $to,
                    unit_lanes: $u,
                    unit_remainder: $r,
                    product_terms: $p,
                    lookup_lanes: $l,
                    instance_columns: $i,
                    min_degree: 5,
                    hash: $h,
                };
            }
        )*

    };
}

shapes! {
    /// Small dense networks: a 16 × 8 tile and one unit lane.
    Dense16x8 / Dense16x8 = "dense16x8" { tile: 16 x 8, units: 1, remainder: false, product: 0, lookups: 0, instance: 2, hash: false }
    /// Dense networks: a 32 × 16 tile (512 multiply-accumulates per row) and one unit lane.
    Dense32x16 / Dense32x16 = "dense32x16" { tile: 32 x 16, units: 1, remainder: false, product: 0, lookups: 0, instance: 4, hash: false }
    /// Convolutional networks: a 32 × 16 tile and four unit lanes.
    Conv32x16 / Conv32x16 = "conv32x16" { tile: 32 x 16, units: 4, remainder: false, product: 0, lookups: 0, instance: 4, hash: false }
    /// Convolutional networks with many activations: a 32 × 16 tile and eight unit lanes.
    Conv32x16Wide / Conv32x16Wide = "conv32x16_wide" { tile: 32 x 16, units: 8, remainder: false, product: 0, lookups: 0, instance: 4, hash: false }
    /// Convolutions of 3 × 3 kernels over 8 channels: a 72 × 8 tile (one row per position) and
    /// eight unit lanes.
    Conv72x8 / Conv72x8 = "conv72x8" { tile: 72 x 8, units: 8, remainder: false, product: 0, lookups: 0, instance: 4, hash: false }
    /// `conv72x8` with twelve unit lanes: CNNs with several activations per multiply-accumulate
    /// row (the CIFAR CNN's 22 554 rescales fit `k = 11` here, against `k = 12` with eight).
    Conv72x8Wide / Conv72x8Wide = "conv72x8_wide" { tile: 72 x 8, units: 12, remainder: false, product: 0, lookups: 0, instance: 4, hash: false }
    /// Everything: a 16 × 8 tile, two unit lanes, an 8-pair product chip and a lookup lane.
    General / General = "general" { tile: 16 x 8, units: 2, remainder: true, product: 8, lookups: 1, instance: 2, hash: false }
    /// Everything, with four unit lanes.
    GeneralWide / GeneralWide = "general_wide" { tile: 16 x 8, units: 4, remainder: true, product: 8, lookups: 1, instance: 2, hash: false }
    /// Every engine and a Poseidon chip (hashed values, committed weights): `general` and the
    /// chip. (With the earlier packing, a `dense32x16` variant proved the hashed 784-128-64-10
    /// MLP in 9.9 s against 5.0 s here: at the degree 6 the Poseidon gates need, its 550 fixed
    /// columns cost more than its wider tile saves.)
    GeneralHashed / GeneralHashed = "general_hashed" { tile: 16 x 8, units: 2, remainder: true, product: 8, lookups: 1, instance: 2, hash: true }
    /// A tiny shape with every engine, for fast tests of the layout logic.
    Tiny / Tiny = "tiny" { tile: 4 x 2, units: 1, remainder: true, product: 2, lookups: 1, instance: 1, hash: false }
}

/// Evaluates `$body` with `$S` bound to the shape type of `$kind` (a [`ShapeKind`]).
///
/// ```ignore
/// with_shape!(kind, S => keygen::<S>(...))
/// ```
#[macro_export]
macro_rules! with_shape {
    ($kind:expr, $S:ident => $body:expr) => {{
        use $crate::shape::ShapeKind as K;
        match $kind {
            K::Dense16x8 => {
                type $S = $crate::shape::Dense16x8;
                $body
            }
            K::Dense32x16 => {
                type $S = $crate::shape::Dense32x16;
                $body
            }
            K::Conv32x16 => {
                type $S = $crate::shape::Conv32x16;
                $body
            }
            K::Conv32x16Wide => {
                type $S = $crate::shape::Conv32x16Wide;
                $body
            }
            K::Conv72x8 => {
                type $S = $crate::shape::Conv72x8;
                $body
            }
            K::Conv72x8Wide => {
                type $S = $crate::shape::Conv72x8Wide;
                $body
            }
            K::General => {
                type $S = $crate::shape::General;
                $body
            }
            K::GeneralHashed => {
                type $S = $crate::shape::GeneralHashed;
                $body
            }
            K::GeneralWide => {
                type $S = $crate::shape::GeneralWide;
                $body
            }
            K::Tiny => {
                type $S = $crate::shape::Tiny;
                $body
            }
        }
    }};
}
