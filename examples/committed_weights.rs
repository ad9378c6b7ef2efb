//! Keep a model's weights private yet pinned: compile with committed weights, prove with the full
//! model, and verify with a copy of the model that holds no weights.
//!
//! ```text
//! cargo run --release --example committed_weights [DIR | MODEL.onnx INPUT.json [CALIBRATION.json]]
//! ```
//!
//! Without arguments it uses `fixtures/mlp_64_32_10`. Committed weights cost far more than
//! weights in fixed columns (every weight is a private, range-checked, hashed cell), so use a
//! small model.

mod common;

use std::sync::Arc;
use std::time::Instant;

use zkinfer::input::parse_samples;
use zkinfer::{
    CompileOptions, CompiledModel, Model, ParamsCache, QuantizeOptions, WeightVisibility,
};

fn main() -> zkinfer::Result<()> {
    let files = common::ModelFiles::from_args("mlp_64_32_10");
    let read = common::read;
    let model = Model::from_onnx(&read(&files.onnx))?;
    let input_len = model.graph().input().len();
    let calibration = match &files.calibration {
        Some(path) => parse_samples(&read(path), input_len)?,
        None => Vec::new(),
    };
    // Committed weights are range-checked to 12-bit signed values: quantise them to 11 bits.
    let quantize = QuantizeOptions {
        weight_bits: 11,
        ..QuantizeOptions::default()
    };
    let options = CompileOptions {
        weights: WeightVisibility::Committed,
        ..CompileOptions::default()
    };
    let compiled = Arc::new(model.compile(&calibration, quantize, options)?);
    let commitment = compiled
        .weights_commitment()
        .unwrap_or_default()
        .to_string();
    println!(
        "compiled  k = {}, shape {}, weights committed to as {commitment}",
        compiled.k,
        compiled.shape.name()
    );

    // The model owner proves with the full model.
    let (params, _) = ParamsCache::from_env().load_or_generate(compiled.k, |path| {
        println!(
            "params    generating for k = {} at {}",
            compiled.k,
            path.display()
        );
    })?;
    let params = Arc::new(params);
    let prover = compiled.prover(params.clone())?;
    let input = parse_samples(&read(&files.input), input_len)?.remove(0);
    let start = Instant::now();
    let proof = prover.prove(&input)?;
    println!(
        "proved    in {:.2} s; the proof carries weights_commitment {}",
        start.elapsed().as_secs_f64(),
        proof.weights_commitment.as_deref().unwrap_or("-")
    );

    // The verifier holds a copy without weights (what `compile --verifier-model` writes): the
    // same verifying key, the published commitment, no weights.
    let copy = compiled.verifier_copy()?;
    let copy = Arc::new(CompiledModel::from_json(&copy.to_json())?);
    let verifier = copy.verifier(params)?;
    let verified = verifier.verify(&proof)?;
    println!(
        "verified  with the weightless copy (digest {}): outputs {:?}",
        verifier.digest(),
        verified.outputs_dequantized
    );
    Ok(())
}
