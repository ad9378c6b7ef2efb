//! halo2 chips for zkinfer, and the integer network semantics they prove.
//!
//! This crate knows nothing of ONNX or files. It defines
//! - the integer arithmetic ([`arith`]) and the integer network ([`network`]) — the single
//!   source of truth for what a quantised model computes;
//! - the chips that prove it: the dense tile ([`dense`]) and the rescale unit ([`rescale`]);
//! - how a network is placed on a column budget ([`shape`], [`layout`]), its witness
//!   ([`witness`]) and the whole circuit ([`circuit`]).
#![deny(missing_docs)]

pub mod arith;
pub mod circuit;
pub mod dense;
pub mod layout;
pub mod network;
pub mod rescale;
pub mod shape;
pub mod testing;
pub mod witness;

pub use circuit::NetworkCircuit;
pub use layout::Layout;
pub use network::{DenseLayer, ForwardError, Network, NetworkError, Trace};
pub use shape::{Shape, ShapeKind, ShapeParams};
pub use witness::CircuitWitness;
