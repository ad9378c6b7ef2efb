//! Prove and verify one inference of a bundled MLP, end to end.
//!
//! ```text
//! cargo run --release --example quickstart [MODEL_DIR]
//! ```
//!
//! `MODEL_DIR` (default `fixtures/mlp_64_32_10`) holds `model.onnx`, `calibration.json` and
//! `input.json`, in the formats described in the README.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use zkinfer::fidelity::argmax;
use zkinfer::input::parse_samples;
use zkinfer::{CompileOptions, Model, ParamsCache, QuantizeOptions};

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| {
        eprintln!("cannot read {}: {e}", path.display());
        std::process::exit(1)
    })
}

fn main() -> zkinfer::Result<()> {
    let dir = std::env::args().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/mlp_64_32_10"),
        PathBuf::from,
    );

    let model = Model::from_onnx(&read(&dir.join("model.onnx")))?;
    let graph = model.graph();
    println!(
        "model     {}: input {:?} → output {:?}, {} operators ({}), {} MACs",
        dir.display(),
        graph.input().shape,
        graph.output().shape,
        graph.nodes.len(),
        graph.op_summary(),
        graph.macs()
    );

    let input_len = graph.input().len();
    let calibration = parse_samples(&read(&dir.join("calibration.json")), input_len)?;
    let compiled = model.compile(
        &calibration,
        QuantizeOptions::default(),
        CompileOptions::default(),
    )?;
    println!("circuit   {}", compiled.cost);
    if let Some(fidelity) = &compiled.fidelity {
        println!("fidelity  {fidelity}");
    }

    let cache = ParamsCache::from_env();
    let (params, _) = cache.load_or_generate(compiled.k, |path| {
        println!(
            "params    generating for k = {} (once; cached at {})",
            compiled.k,
            path.display()
        );
    })?;
    let compiled = Arc::new(compiled);
    let start = Instant::now();
    let prover = compiled.prover(Arc::new(params))?;
    println!("keys      built in {:.2} s", start.elapsed().as_secs_f64());

    let input = parse_samples(&read(&dir.join("input.json")), input_len)?.remove(0);
    let float_output = model.float_reference()?.run(&input)?;
    let start = Instant::now();
    let proof = prover.prove(&input)?;
    println!(
        "prove     {:.2} s, proof of {} bytes for model {}…",
        start.elapsed().as_secs_f64(),
        proof.transcript.len(),
        &proof.model_digest[..16]
    );

    let start = Instant::now();
    let verified = prover.verifier().verify(&proof)?;
    println!(
        "verify    valid, in {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    let outputs = &verified.outputs_dequantized[0];
    println!(
        "output    {:?}\n          proven argmax {:?}, float argmax {:?}",
        outputs
            .iter()
            .map(|v| (v * 1000.0).round() / 1000.0)
            .collect::<Vec<_>>(),
        argmax(outputs),
        argmax(&float_output)
    );

    let mut forged = proof.clone();
    forged.outputs[0][0] += 1;
    match prover.verifier().verify(&forged) {
        Err(e) => println!("tamper    a proof with a changed output is rejected: {e}"),
        Ok(_) => panic!("a forged proof verified"),
    }
    Ok(())
}
