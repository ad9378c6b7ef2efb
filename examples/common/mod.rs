//! The shared flow of the examples: import, calibrate, compile, prove, verify, report.
// Each example uses a part of this module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use zkinfer::fidelity::argmax;
use zkinfer::input::{parse_labels, parse_samples};
use zkinfer::{CompileOptions, CompiledModel, Model, ParamsCache, QuantizeOptions};

/// Where a model's files are: `model.onnx`, `input.json`, and optionally `calibration.json` and
/// `test.json` (held-out samples with labels).
pub struct ModelFiles {
    pub onnx: PathBuf,
    pub input: PathBuf,
    pub calibration: Option<PathBuf>,
    pub test: Option<PathBuf>,
}

impl ModelFiles {
    /// The files of a fixture-style folder.
    pub fn folder(dir: &Path) -> Self {
        let optional = |name: &str| Some(dir.join(name)).filter(|p| p.exists());
        Self {
            onnx: dir.join("model.onnx"),
            input: dir.join("input.json"),
            calibration: optional("calibration.json"),
            test: optional("test.json"),
        }
    }

    /// From the command line: `DIR`, or `MODEL.onnx INPUT.json [CALIBRATION.json [TEST.json]]`,
    /// or the bundled fixture `default` when no argument is given.
    pub fn from_args(default: &str) -> Self {
        let args: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
        match args.as_slice() {
            [] => Self::folder(
                &Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("fixtures")
                    .join(default),
            ),
            [dir] if dir.is_dir() => Self::folder(dir),
            [onnx, input, rest @ ..] => Self {
                onnx: onnx.clone(),
                input: input.clone(),
                calibration: rest.first().cloned(),
                test: rest.get(1).cloned(),
            },
            _ => {
                eprintln!("usage: [DIR | MODEL.onnx INPUT.json [CALIBRATION.json [TEST.json]]]");
                std::process::exit(2)
            }
        }
    }
}

/// Reads a file, or exits with a message naming it.
pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| {
        eprintln!("cannot read {}: {e}", path.display());
        std::process::exit(1)
    })
}

/// Quantises and compiles `model` with default options, on the calibration file if there is one.
pub fn compile(model: &Model, files: &ModelFiles) -> zkinfer::Result<CompiledModel> {
    let calibration = match &files.calibration {
        Some(path) => parse_samples(&read(path), model.graph().input().len())?,
        None => Vec::new(),
    };
    model.compile(
        &calibration,
        QuantizeOptions::default(),
        CompileOptions::default(),
    )
}

/// Runs the whole flow and prints what happened at each step.
pub fn prove_and_verify(files: &ModelFiles) -> zkinfer::Result<()> {
    let model = Model::from_onnx(&read(&files.onnx))?;
    let graph = model.graph();
    println!(
        "model     {}: input {:?} → output {:?}\n          {} operators ({}), {} MACs",
        files.onnx.display(),
        graph.input().shape,
        graph.output().shape,
        graph.nodes.len(),
        graph.op_summary(),
        graph.macs()
    );
    let input_len = graph.input().len();
    let compiled = compile(&model, files)?;
    println!("circuit   {}", compiled.cost);
    if let Some(fidelity) = &compiled.fidelity {
        println!("fidelity  calibration, {fidelity}");
    }
    for warning in &compiled.model.warnings {
        println!("warning   {warning}");
    }
    if let Some(test) = &files.test {
        let bytes = read(test);
        let samples = parse_samples(&bytes, input_len)?;
        let labels = parse_labels(&bytes)?;
        println!(
            "fidelity  held out, {}",
            model.fidelity(&compiled, &samples, labels.as_deref())?
        );
    }

    let (params, _) = ParamsCache::from_env().load_or_generate(compiled.k, |path| {
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

    let input = parse_samples(&read(&files.input), input_len)?.remove(0);
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
        Ok(_) => {
            eprintln!("a forged proof verified");
            std::process::exit(1)
        }
    }
    Ok(())
}
