//! `zkinfer bench`: every stage of one model, measured in one run.
//!
//! The slowdown is proving time divided by the median single-thread float inference time of the
//! same ONNX file in tract, both measured here, side by side.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use zkinfer::fidelity::argmax;
use zkinfer::{KeyStore, Result};

use super::commands::{compile_model, load_samples};
use super::io::{load_params, progress};
use super::BenchArgs;

/// Proofs in the batch-verification measurement.
const BATCH: usize = 16;

/// The measurements, in the units their names say.
#[derive(Debug, Serialize)]
struct BenchReport {
    model: String,
    k: u32,
    rows: usize,
    macs: usize,
    shape: String,
    advice_columns: usize,
    fixed_columns: usize,
    /// Columns in the permutation (copy-constraint) argument.
    equality_columns: usize,
    lookups: usize,
    /// The cost model's predictions, printed before key generation.
    predicted_prove_ms: f64,
    predicted_memory_mb: f64,
    /// Median single-thread float inference (tract).
    native_us: f64,
    /// Median quantised integer inference (native, no proof).
    quantized_us: f64,
    witness_ms: f64,
    params_ms: f64,
    keygen_vk_ms: f64,
    keygen_pk_ms: f64,
    /// Precomputing the multiples of the commitment bases (once per parameters, before the
    /// proving key; included in `keygen_ms`).
    commitment_tables_ms: f64,
    keygen_ms: f64,
    /// The verifying key rebuilt from stored commitments (checked against the circuit): what
    /// `zkinfer verify` pays once the key is stored.
    keygen_vk_stored_ms: f64,
    /// Both keys from stored commitments: what a second `zkinfer prove` pays.
    keygen_stored_ms: f64,
    /// Median of `prove_runs` proofs.
    prove_ms: f64,
    /// Fastest of the proofs.
    prove_min_ms: f64,
    prove_runs: usize,
    verify_ms: f64,
    /// Per proof, verifying a batch of 16 proofs with halo2's batch verifier.
    batch_verify_ms: f64,
    proof_bytes: usize,
    peak_rss_mb: f64,
    /// prove time ÷ native float inference time.
    slowdown: f64,
    /// Largest |quantised − float| output difference on the proven sample.
    max_abs_error: f64,
    /// Whether the proven output's argmax equals the float model's.
    argmax_match: bool,
    threads: usize,
}

pub(super) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Median of `runs` timings of `f`, in microseconds.
fn median_us(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    median(&mut times)
}

/// The median of `times` (sorts them).
pub(super) fn median(times: &mut [f64]) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Resets the kernel's peak RSS of this process to the current RSS (Linux 4.0 and later;
/// elsewhere the peak stays the process's).
pub(super) fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident set size of this process, in MiB (Linux; 0 elsewhere).
pub(super) fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

pub fn bench(args: BenchArgs) -> Result<()> {
    progress("compiling…");
    let (model, compiled) = compile_model(&args.model, &args.quantize)?;
    let compiled = Arc::new(compiled);
    let samples = load_samples(&args.input, compiled.model.network.input_len())?;
    let sample = &samples[0];
    let cost = &compiled.cost;
    match compiled.sliced() {
        Some(sliced) => progress(&format!(
            "predicted: prove ≈ {:.1} s in {} slices of k = {}, peak memory ≈ {:.0} MiB (shape {})",
            sliced.predicted_prove_ms() / 1e3,
            sliced.len(),
            sliced.k,
            sliced.predicted_memory_mb(),
            sliced.shape.name()
        )),
        None => progress(&format!(
            "predicted: prove ≈ {:.1} s, peak memory ≈ {:.0} MiB (k = {}, shape {})",
            cost.predicted_prove_ms() / 1e3,
            cost.predicted_memory_mb(),
            cost.k,
            cost.shape.name()
        )),
    }

    progress("measuring native float inference (tract, 1 thread)…");
    let reference = model.float_reference()?;
    // tract runs on the calling thread: the comparison is against one thread.
    let native_us = reference.median_latency_us(sample, 2000, Duration::from_millis(500))?;
    let float_output = reference.run(sample)?;

    let quantised_input = compiled
        .model
        .quantize_input(0, sample)
        .map_err(|e| zkinfer::Error::Input(e).in_file(&args.input))?;
    let network = compiled.network().clone();
    let quantized_us = median_us(200, || {
        std::hint::black_box(network.forward(&quantised_input).ok());
    });

    if compiled.sliced().is_some() {
        return super::bench_sliced::bench_sliced(
            &args,
            &compiled,
            native_us,
            quantized_us,
            &float_output,
            &quantised_input,
        );
    }

    let start = Instant::now();
    let params = load_params(&args.cache, compiled.k)?;
    let params_ms = ms(start.elapsed());

    progress(&format!("keygen (k = {})…", compiled.k));
    // Keys stored in a folder of this run's own, so the first build is from scratch.
    let key_dir = std::env::temp_dir().join(format!("zkinfer-bench-keys-{}", std::process::id()));
    let keys = KeyStore::new(&key_dir);
    let start = Instant::now();
    let verifier = compiled.verifier_with(params.clone(), &keys)?;
    let keygen_vk_ms = ms(start.elapsed());
    drop(verifier);
    let start = Instant::now();
    let verifier = compiled.verifier_with(params.clone(), &keys)?;
    let keygen_vk_stored_ms = ms(start.elapsed());
    drop(verifier);
    let start = Instant::now();
    params.precompute_commitment_tables();
    let commitment_tables_ms = ms(start.elapsed());
    let start = Instant::now();
    let prover = compiled.prover(params.clone())?;
    // One synthesis gives both keys: the proving key's own work is what the verifying key's
    // commitments leave.
    let keygen_ms = ms(start.elapsed());
    let keygen_pk_ms = (keygen_ms - keygen_vk_ms).max(0.0);
    let keygen_total = commitment_tables_ms + keygen_ms;
    drop(prover);
    let start = Instant::now();
    let prover = compiled.prover_with(params, &keys)?;
    let keygen_stored_ms = ms(start.elapsed());
    let _ = std::fs::remove_dir_all(&key_dir);

    let start = Instant::now();
    let (trace, witness) = compiled.witness(&quantised_input)?;
    let witness_ms = ms(start.elapsed());

    let prove_runs = args.prove_runs as usize;
    progress(&format!(
        "proving ({prove_runs} proof{})…",
        if prove_runs == 1 { "" } else { "s" }
    ));
    let mut prove_times = Vec::with_capacity(prove_runs);
    let mut proof = None;
    for _ in 0..prove_runs {
        let witness = witness.clone();
        let start = Instant::now();
        proof = Some(prover.prove_witness(witness, rand_core::UnwrapErr(rand::rngs::SysRng))?);
        prove_times.push(ms(start.elapsed()));
    }
    let proof = proof.expect("at least one proof");
    let prove_ms = median(&mut prove_times);

    let mut verify_times = Vec::with_capacity(5);
    prover.verifier().verify(&proof)?;
    for _ in 0..5 {
        let start = Instant::now();
        prover.verifier().verify(&proof)?;
        verify_times.push(ms(start.elapsed()));
    }
    let verify_ms = median(&mut verify_times);

    // A batch of copies costs what distinct proofs would: the batch verifier does every proof's
    // own work and shares the final multi-exponentiation.
    let batch = vec![proof.clone(); BATCH];
    let start = Instant::now();
    let results = prover.verifier().verify_batch(&batch);
    let batch_verify_ms = ms(start.elapsed()) / BATCH as f64;
    if let Some(Err(e)) = results.into_iter().find(Result::is_err) {
        return Err(e.into());
    }

    // The proven output (which a private or hashed output keeps out of the proof) is the integer
    // forward pass's.
    let outputs = compiled.model.dequantize_output(trace.output());
    let max_abs_error = outputs
        .iter()
        .zip(&float_output)
        .map(|(q, f)| f64::from((q - f).abs()))
        .fold(0.0, f64::max);
    let report = BenchReport {
        model: args.model.display().to_string(),
        k: cost.k,
        rows: cost.rows,
        macs: cost.macs,
        shape: cost.shape.name().to_string(),
        advice_columns: cost.advice_columns,
        fixed_columns: cost.fixed_columns,
        equality_columns: cost.equality_columns,
        lookups: cost.lookups,
        predicted_prove_ms: cost.predicted_prove_ms(),
        predicted_memory_mb: cost.predicted_memory_mb(),
        native_us,
        quantized_us,
        witness_ms,
        params_ms,
        keygen_vk_ms,
        keygen_pk_ms,
        commitment_tables_ms,
        keygen_ms: keygen_total,
        keygen_vk_stored_ms,
        keygen_stored_ms,
        prove_ms,
        prove_min_ms: prove_times[0],
        prove_runs,
        verify_ms,
        batch_verify_ms,
        proof_bytes: proof.transcript.len(),
        peak_rss_mb: peak_rss_mb(),
        slowdown: prove_ms * 1e3 / native_us,
        max_abs_error,
        argmax_match: argmax(&outputs) == argmax(&float_output),
        threads: rayon::current_num_threads(),
    };
    print_report(args.json, &report, print_table);
    Ok(())
}

/// Prints a report as pretty JSON (`--json`) or as the table `print_table` makes.
pub(super) fn print_report<R: Serialize>(json: bool, report: &R, print_table: fn(&R)) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(report).expect("reports serialise")
        );
    } else {
        print_table(report);
    }
}

fn print_table(r: &BenchReport) {
    println!("model            {}", r.model);
    println!(
        "circuit          k = {}, {} rows, shape {}, {} advice + {} fixed columns, {} lookups",
        r.k, r.rows, r.shape, r.advice_columns, r.fixed_columns, r.lookups
    );
    println!("MACs             {}", r.macs);
    println!(
        "native float     {:>10.2} µs  (tract, 1 thread, median)",
        r.native_us
    );
    println!(
        "quantised int    {:>10.2} µs  (zkinfer integer forward pass, median)",
        r.quantized_us
    );
    println!("witness          {:>10.2} ms", r.witness_ms);
    println!("params           {:>10.2} ms", r.params_ms);
    println!(
        "keygen           {:>10.2} ms  (vk {:.0} ms + commitment tables {:.0} ms + pk {:.0} ms)",
        r.keygen_ms, r.keygen_vk_ms, r.commitment_tables_ms, r.keygen_pk_ms
    );
    println!(
        "keygen, stored   {:>10.2} ms  (vk {:.0} ms: from stored commitments, checked)",
        r.keygen_stored_ms, r.keygen_vk_stored_ms
    );
    println!(
        "prove            {:>10.2} ms  (median of {}, fastest {:.2} ms; {} threads)",
        r.prove_ms, r.prove_runs, r.prove_min_ms, r.threads
    );
    println!(
        "prove predicted  {:>10.2} ms  (cost model, before key generation)",
        r.predicted_prove_ms
    );
    println!("verify           {:>10.2} ms  (median of 5)", r.verify_ms);
    println!(
        "batch verify     {:>10.2} ms  per proof ({BATCH} proofs)",
        r.batch_verify_ms
    );
    println!("proof            {:>10} bytes", r.proof_bytes);
    println!(
        "peak RSS         {:>10.1} MiB  (predicted {:.0} MiB)",
        r.peak_rss_mb, r.predicted_memory_mb
    );
    println!("slowdown         {:>10.0} ×  (prove ÷ native)", r.slowdown);
    println!(
        "max abs error    {:>10.5}    (proven output vs float)",
        r.max_abs_error
    );
    println!("argmax match     {:>10}", r.argmax_match);
}
