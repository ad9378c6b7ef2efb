//! Prove claims about a model's output instead of revealing it: the predicted class, the top
//! three classes, and a score threshold.
//!
//! ```text
//! cargo run --release --example claims [DIR | MODEL.onnx INPUT.json [CALIBRATION.json]]
//! ```
//!
//! Without arguments it uses `fixtures/mlp_64_32_10`.

mod common;

use std::sync::Arc;
use std::time::Instant;

use zkinfer::input::parse_samples;
use zkinfer::{ClaimSpec, Model, ParamsCache};

fn main() -> zkinfer::Result<()> {
    let files = common::ModelFiles::from_args("mlp_64_32_10");
    let read = common::read;
    let model = Model::from_onnx(&read(&files.onnx))?;
    let input_len = model.graph().input().len();
    let compiled = common::compile(&model, &files)?;
    let input = parse_samples(&read(&files.input), input_len)?.remove(0);
    let quantised = compiled.model.quantize_input(0, &input)?;
    let (trace, _) = compiled.witness(&quantised)?;
    let output = trace.output();
    let scale = compiled.model.output_scale;
    println!(
        "output    {:?} (kept private by every proof below)",
        compiled.model.dequantize_output(output)
    );

    // The threshold claim: the winning score is at least half its value.
    let best = (0..output.len()).max_by_key(|&i| (output[i], std::cmp::Reverse(i)));
    let best = best.unwrap_or(0);
    let threshold = output[best] as f64 * 2f64.powi(-scale) / 2.0;
    for spec in [
        ClaimSpec::Argmax,
        ClaimSpec::TopK(3),
        ClaimSpec::AtLeast {
            index: best,
            value: threshold,
        },
    ] {
        // The claim is read off (or checked against) the quantised output; a false one is
        // refused here, before any proving.
        let claim = spec.resolve(output, scale)?;
        let circuit = Arc::new(compiled.with_claim(&claim)?);
        let (params, _) = ParamsCache::from_env().load_or_generate(circuit.k, |path| {
            println!(
                "params    generating for k = {} at {}",
                circuit.k,
                path.display()
            );
        })?;
        let prover = circuit.prover(Arc::new(params))?;
        let start = Instant::now();
        let proof = prover.prove(&input)?;
        let prove_s = start.elapsed().as_secs_f64();
        let verified = prover.verifier().verify(&proof)?;
        println!(
            "claim     {} — proven in {prove_s:.2} s (k = {}), verified; the proof carries {} outputs",
            verified.claim.as_ref().map_or_else(String::new, ToString::to_string),
            circuit.k,
            proof.outputs.len()
        );
    }
    Ok(())
}
