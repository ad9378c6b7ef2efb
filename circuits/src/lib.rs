//! halo2 chips for zkinfer, and the integer network semantics they prove.
//!
//! This crate knows nothing of ONNX or files. It defines
//! - the integer arithmetic ([`arith`]), operators ([`ops`]) and network ([`network`]) — the
//!   single source of truth for what a quantised model computes;
//! - the Poseidon commitment of a hashed input ([`commitment`]);
//! - output checks that prove claims about a private output ([`checks`]);
//! - the chips that prove it: the dense tile ([`dense`]), the unit ([`unit`]), the product chip
//!   ([`product`]) and lookup lanes ([`table`]);
//! - how a network is placed on a column budget ([`shape`], [`layout`]), its witness
//!   ([`witness`]) and the whole circuit ([`circuit`]).
#![deny(missing_docs)]

pub mod arith;
pub mod builder;
pub mod checks;
pub mod circuit;
pub mod commitment;
pub mod dense;
pub mod layout;
pub mod network;
pub mod ops;
pub mod product;
pub mod shape;
pub mod slicing;
pub mod split;
pub mod table;
pub mod testing;
pub mod tiling;
pub mod unit;
pub mod weights;
pub mod witness;

pub use circuit::NetworkCircuit;
pub use layout::Layout;
pub use network::{
    ForwardError, Network, NetworkError, Node, TensorId, TensorInfo, Trace, Visibility,
};
pub use ops::{
    FunctionTable, GatherOp, LinearOp, Op, ProductOp, TableOp, UnitKind, UnitMode, UnitOp,
};
pub use shape::{Shape, ShapeKind, ShapeParams};
pub use witness::CircuitWitness;
