//! Prove and verify a transformer encoder block (LayerNorm, two-head attention with Softmax,
//! GELU via Erf): the bundled block by default, or your own ONNX file.
//!
//! ```text
//! cargo run --release --example transformer                     # fixtures/transformer_block
//! cargo run --release --example transformer my.onnx input.json calibration.json
//! ```

mod common;

fn main() -> zkinfer::Result<()> {
    common::prove_and_verify(&common::ModelFiles::from_args("transformer_block"))
}
