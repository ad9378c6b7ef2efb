//! Prove and verify one inference of a bundled MLP, end to end.
//!
//! ```text
//! cargo run --release --example quickstart [DIR | MODEL.onnx INPUT.json [CALIBRATION.json [TEST.json]]]
//! ```
//!
//! Without arguments it uses `fixtures/mlp_64_32_10`.

mod common;

fn main() -> zkinfer::Result<()> {
    common::prove_and_verify(&common::ModelFiles::from_args("mlp_64_32_10"))
}
