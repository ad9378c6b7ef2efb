//! Prove a model larger than one circuit as a chain of linked slices: compile with a row limit,
//! prove each slice on its own (here one after another; on other machines, see `prove_part`),
//! join the parts and verify every slice and every link.
//!
//! ```text
//! [MAX_K=K] cargo run --release --example sliced [DIR | MODEL.onnx INPUT.json [CALIBRATION.json]]
//! ```
//!
//! Without arguments it cuts LeNet-5 (`k = 11` as one circuit) into slices of `k = 9`
//! (`MAX_K`, default 9). The large fixture is what slicing is for:
//! `MAX_K=14 cargo run --release --example sliced fixtures/vgg_cifar` (38.7 M MACs) takes
//! minutes, most of it key generation.

mod common;

use std::sync::Arc;
use std::time::Instant;

use zkinfer::input::parse_samples;
use zkinfer::{CompileOptions, LinkSecret, Model, ParamsCache, QuantizeOptions};

fn main() -> zkinfer::Result<()> {
    let max_k: u32 = std::env::var("MAX_K")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(9);
    let files = common::ModelFiles::from_args("lenet5");
    let read = common::read;
    let model = Model::from_onnx(&read(&files.onnx))?;
    let input_len = model.graph().input().len();
    let calibration = match &files.calibration {
        Some(path) => parse_samples(&read(path), input_len)?,
        None => Vec::new(),
    };
    let options = CompileOptions {
        max_k: Some(max_k),
        ..CompileOptions::default()
    };
    let compiled = Arc::new(model.compile(&calibration, QuantizeOptions::default(), options)?);
    let Some(sliced) = compiled.sliced() else {
        println!(
            "the model fits k = {} ≤ {max_k}: it is proven as one circuit (see the quickstart)",
            compiled.k
        );
        return Ok(());
    };
    println!(
        "compiled  {} slices of k = {} (as one circuit: k = {}), {} values linked",
        sliced.len(),
        sliced.k,
        compiled.cost.k,
        sliced.linked_values()
    );
    for s in sliced.summaries() {
        println!(
            "  slice {}: '{}' … '{}', {} rows, {} link columns, predicted {:.2} s",
            s.index,
            s.nodes[0],
            s.nodes[1],
            s.rows,
            s.link_columns[0] + s.link_columns[1],
            s.predicted_prove_ms / 1e3
        );
    }

    let (params, _) = ParamsCache::from_env().load_or_generate(sliced.k, |path| {
        println!(
            "params    generating for k = {} at {}",
            sliced.k,
            path.display()
        );
    })?;
    let params = Arc::new(params);
    let samples = parse_samples(&read(&files.input), input_len)?;
    let input = compiled.model.quantize_input(0, &samples[0])?;

    // Each part could be proven on another machine: all it needs is the model, the input and
    // the secret the parts of one proof share (here: fresh, for this proof only).
    let secret = LinkSecret::random();
    let whole = compiled.sliced_trace(&input)?;
    let mut parts = Vec::new();
    for index in 0..sliced.len() {
        let start = Instant::now();
        let prover = compiled.slice_prover(index, params.clone())?;
        let keys = start.elapsed();
        let start = Instant::now();
        parts.push(prover.prove(
            &input,
            &whole,
            &secret,
            rand_core::UnwrapErr(rand::rngs::SysRng),
        )?);
        println!(
            "slice {index}   keys {:.2} s, proof {:.2} s",
            keys.as_secs_f64(),
            start.elapsed().as_secs_f64()
        );
    }
    let proof = compiled.join(&parts)?;

    let start = Instant::now();
    let verifier = compiled.sliced_verifier(params)?;
    let keys = start.elapsed();
    let start = Instant::now();
    let verified = verifier.verify(&proof)?;
    println!(
        "verified  {} slices and their links in {:.1} ms (keys {:.2} s): outputs {:?}",
        proof.slices.len(),
        start.elapsed().as_secs_f64() * 1e3,
        keys.as_secs_f64(),
        verified.outputs_dequantized[0]
    );
    let native = compiled.model.run(0, &samples[0])?;
    assert_eq!(
        verified.outputs_dequantized[0], native,
        "the proof proves what run computes"
    );
    println!("matches   zkinfer run's output");
    Ok(())
}
