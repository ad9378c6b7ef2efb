//! zkinfer: prove neural-network inference in zero knowledge.
//!
//! A trained model (ONNX) is quantised to fixed point, compiled into a halo2 circuit (IPA over
//! the Pasta curves, so no trusted setup), and every inference can then be proven and verified:
//!
//! ```no_run
//! # fn main() -> zkinfer::Result<()> {
//! use std::sync::Arc;
//! use zkinfer::{CompileOptions, Model, ParamsCache, QuantizeOptions};
//!
//! let model = Model::from_onnx(&std::fs::read("fixtures/mlp_64_32_10/model.onnx").unwrap())?;
//! let calibration = zkinfer::input::parse_samples(
//!     &std::fs::read("fixtures/mlp_64_32_10/calibration.json").unwrap(),
//!     model.graph().input().len(),
//! )?;
//! let compiled = Arc::new(model.compile(&calibration, QuantizeOptions::default(), CompileOptions::default())?);
//! let (params, _) = ParamsCache::from_env().load_or_generate(compiled.k, |_| {})?;
//! let prover = compiled.prover(Arc::new(params))?;
//! let proof = prover.prove(&calibration[0])?;
//! let verified = prover.verifier().verify(&proof)?; // the outputs, now trusted
//! println!("{:?}", verified.outputs_dequantized);
//! # Ok(()) }
//! ```
//!
//! The integer network ([`zkinfer_circuits::Network`]) is the single source of truth: native
//! quantised inference, the witness and the circuit all follow it exactly.
#![deny(missing_docs)]

pub mod artifact;
pub mod audit;
pub mod bundle;
pub mod claim;
pub mod compile;
pub mod error;
pub mod eval;
pub mod fidelity;
pub mod graph;
pub mod input;
pub mod keys;
pub mod keystore;
pub mod model;
pub mod onnx;
pub mod params;
pub mod proof;
pub mod quantize;
pub mod reference;
pub mod slices;

pub use bundle::{LinkSecret, SliceProver, SlicedVerifier, LINK_SECRET_ENV};
pub use claim::{Claim, ClaimSpec};
pub use compile::{CompileOptions, CompiledModel, CostReport, WeightVisibility};
pub use error::{Error, Result};
pub use keys::{Prover, VerifiedOutput, Verifier};
pub use keystore::{KeySource, KeyStore};
pub use model::Model;
pub use params::ParamsCache;
pub use proof::Proof;
pub use quantize::{QuantizeOptions, QuantizedModel};
pub use zkinfer_circuits::{ShapeKind, Visibility};
