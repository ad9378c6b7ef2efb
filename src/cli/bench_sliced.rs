//! `zkinfer bench` for a sliced model: every slice measured on its own, and the whole proof.
//!
//! Keys are built for one slice at a time, as `prove` does, so the peak memory reported for a
//! slice is that slice's (the kernel's high-water mark is reset before each one). The proving
//! pass is timed as a whole too: what it spends outside the slices' key generation and proofs
//! (the whole network's forward pass, deriving the link blinding, joining) is `overhead_ms`.
//! With `--measure-linking`, each slice is also proven without its link columns (its link-in
//! values as public inputs instead, see `SlicedModel::unlinked_slice`): the difference is what
//! linking costs, measured.

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use zkinfer::fidelity::argmax;
use zkinfer::{CompiledModel, LinkSecret, Result};

use super::bench::{median, ms, peak_rss_mb, print_report, reset_peak_rss};
use super::io::{load_params, progress};
use super::BenchArgs;

/// One slice, measured.
#[derive(Debug, Serialize)]
struct SliceReport {
    index: usize,
    k: u32,
    rows: usize,
    advice_columns: usize,
    link_columns: usize,
    linked_values_in: usize,
    linked_values_out: usize,
    predicted_prove_ms: f64,
    predicted_memory_mb: f64,
    keygen_ms: f64,
    /// Median of `prove_runs` proofs.
    prove_ms: f64,
    verify_ms: f64,
    proof_bytes: usize,
    /// Peak RSS while this slice's keys were built and its proofs made (before the unlinked
    /// variant is measured).
    peak_rss_mb: f64,
    /// The slice proven without link columns (`--measure-linking`), median of `prove_runs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    unlinked_prove_ms: Option<f64>,
}

/// The whole sliced model, measured.
#[derive(Debug, Serialize)]
struct SlicedReport {
    model: String,
    sliced: bool,
    slices: usize,
    k: u32,
    shape: String,
    macs: usize,
    /// The model as one circuit: its k and rows.
    whole_k: u32,
    whole_rows: usize,
    whole_predicted_prove_ms: f64,
    whole_predicted_memory_mb: f64,
    native_us: f64,
    quantized_us: f64,
    params_ms: f64,
    /// Sum over the slices.
    keygen_ms: f64,
    /// Sum of the slices' median proofs.
    prove_ms: f64,
    /// One proof of the whole model: the slices' first proofs plus the overhead around them.
    prove_total_ms: f64,
    /// What the proving pass spent outside key generation and the slices' proofs.
    overhead_ms: f64,
    /// `zkinfer prove`'s work: key generation and proof of every slice, and the overhead.
    prove_command_ms: f64,
    /// Checking the whole proof (every slice and link), median of 3; keys built beforehand.
    verify_ms: f64,
    proof_bytes: usize,
    /// The largest slice's peak RSS.
    peak_rss_mb: f64,
    predicted_prove_ms: f64,
    predicted_memory_mb: f64,
    linked_values: usize,
    link_columns: usize,
    /// What the link columns add, by the cost model.
    linking_predicted_ms: f64,
    /// Slices proven without link columns too (`--measure-linking`; a slice whose link values
    /// do not fit its instance columns has no such variant).
    linking_measured_slices: usize,
    /// What the link columns add, measured on those slices: Σ (prove − unlinked prove).
    #[serde(skip_serializing_if = "Option::is_none")]
    linking_ms: Option<f64>,
    /// `linking_ms` ÷ those slices' unlinked proving time (without a measurement: the
    /// prediction ÷ the predicted unlinked time of every slice).
    linking_fraction: f64,
    slowdown: f64,
    max_abs_error: f64,
    argmax_match: bool,
    threads: usize,
    slice_reports: Vec<SliceReport>,
}

/// Runs and reports every stage of a sliced model. `native_us`, `quantized_us`, the float
/// output and the quantised input come from the caller.
pub fn bench_sliced(
    args: &BenchArgs,
    compiled: &Arc<CompiledModel>,
    native_us: f64,
    quantized_us: f64,
    float_output: &[f32],
    input: &[i64],
) -> Result<()> {
    let sliced = compiled.sliced().expect("called for sliced models").clone();
    let count = sliced.len();
    let start = Instant::now();
    let params = load_params(&args.cache, compiled.k)?;
    let params_ms = ms(start.elapsed());
    let runs = args.prove_runs as usize;
    let rng = || rand_core::UnwrapErr(rand::rngs::SysRng);
    let summaries = sliced.summaries();

    let pass = Instant::now();
    let mut excluded_ms = 0.0;
    let whole = compiled.sliced_trace(input)?;
    let secret = LinkSecret::random();
    let mut parts = Vec::with_capacity(count);
    let mut verifiers = Vec::with_capacity(count);
    let mut reports = Vec::with_capacity(count);
    let mut keygen_total = 0.0;
    let mut first_proofs = 0.0;
    for (index, summary) in summaries.iter().enumerate() {
        reset_peak_rss();
        progress(&format!(
            "slice {}/{count}: keygen (k = {})…",
            index + 1,
            compiled.k
        ));
        let t = Instant::now();
        let prover = compiled.slice_prover(index, params.clone())?;
        let keygen_ms = ms(t.elapsed());
        keygen_total += keygen_ms;
        progress(&format!("slice {}/{count}: proving ({runs})…", index + 1));
        let mut times = Vec::with_capacity(runs);
        let mut part = None;
        for run in 0..runs {
            let t = Instant::now();
            let proof = prover.prove(input, &whole, &secret, rng())?;
            let elapsed = ms(t.elapsed());
            if run == 0 {
                first_proofs += elapsed;
                part = Some(proof);
            } else {
                excluded_ms += elapsed;
            }
            times.push(elapsed);
        }
        let part = part.expect("at least one proof");
        let t = Instant::now();
        let slice_proof = &part.slices[0];
        let verify_ms = measure_slice_verify(prover.verifier(), &part)?;
        // One slice's keys at a time, as `prove` does: the proving key goes before the next.
        verifiers.push(prover.verifier().clone());
        drop(prover);
        let peak_rss_mb = peak_rss_mb();
        let unlinked_prove_ms = if args.measure_linking {
            measure_unlinked(&sliced, index, input, &whole, &params, runs)?
        } else {
            None
        };
        excluded_ms += ms(t.elapsed());
        reports.push(SliceReport {
            index,
            k: compiled.k,
            rows: summary.rows,
            advice_columns: summary.advice_columns,
            link_columns: summary.link_columns.iter().sum(),
            linked_values_in: summary.linked_values[0],
            linked_values_out: summary.linked_values[1],
            predicted_prove_ms: summary.predicted_prove_ms,
            predicted_memory_mb: summary.predicted_memory_mb,
            keygen_ms,
            prove_ms: median(&mut times),
            verify_ms,
            proof_bytes: slice_proof.transcript.len(),
            peak_rss_mb,
            unlinked_prove_ms,
        });
        parts.push(part);
    }
    let proof = compiled.join(&parts)?;
    let pass_ms = ms(pass.elapsed());
    let overhead_ms = (pass_ms - excluded_ms - keygen_total - first_proofs).max(0.0);

    progress("verifying the whole proof…");
    let verifier = compiled.sliced_verifier_from(verifiers)?;
    let mut verify_times = Vec::with_capacity(3);
    for _ in 0..3 {
        let t = Instant::now();
        verifier.verify(&proof)?;
        verify_times.push(ms(t.elapsed()));
    }

    let prove_ms: f64 = reports.iter().map(|r| r.prove_ms).sum();
    let linking_predicted_ms: f64 = sliced
        .slices
        .iter()
        .map(|s| {
            let mut unlinked = s.cost.clone();
            let links = s.layout().links.columns();
            unlinked.advice_columns -= links;
            unlinked.equality_columns -= links;
            s.cost.predicted_prove_ms() - unlinked.predicted_prove_ms()
        })
        .sum();
    // Measured where a slice has an unlinked variant: Σ (prove − unlinked) over those slices,
    // as a fraction of their unlinked proving time.
    let measured: Vec<(f64, f64)> = reports
        .iter()
        .filter_map(|r| r.unlinked_prove_ms.map(|u| (r.prove_ms - u, u)))
        .collect();
    let linking_ms = (!measured.is_empty()).then(|| measured.iter().map(|m| m.0).sum::<f64>());
    let linking_fraction = match linking_ms {
        Some(linking) => linking / measured.iter().map(|m| m.1).sum::<f64>(),
        None => linking_predicted_ms / (prove_ms - linking_predicted_ms),
    };
    let outputs = compiled.model.dequantize_output(whole.output());
    let whole_cost = &compiled.cost;
    let report = SlicedReport {
        model: args.model.display().to_string(),
        sliced: true,
        slices: count,
        k: compiled.k,
        shape: sliced.shape.name().to_string(),
        macs: whole_cost.macs,
        whole_k: whole_cost.k,
        whole_rows: whole_cost.rows,
        whole_predicted_prove_ms: whole_cost.predicted_prove_ms(),
        whole_predicted_memory_mb: whole_cost.predicted_memory_mb(),
        native_us,
        quantized_us,
        params_ms,
        keygen_ms: keygen_total,
        prove_ms,
        prove_total_ms: first_proofs + overhead_ms,
        overhead_ms,
        prove_command_ms: keygen_total + first_proofs + overhead_ms,
        verify_ms: median(&mut verify_times),
        proof_bytes: proof.slices.iter().map(|s| s.transcript.len()).sum(),
        peak_rss_mb: reports.iter().map(|r| r.peak_rss_mb).fold(0.0, f64::max),
        predicted_prove_ms: sliced.predicted_prove_ms(),
        predicted_memory_mb: sliced.predicted_memory_mb(),
        linked_values: sliced.linked_values(),
        link_columns: sliced.link_columns(),
        linking_predicted_ms,
        linking_measured_slices: measured.len(),
        linking_ms,
        linking_fraction,
        slowdown: prove_ms * 1e3 / native_us,
        max_abs_error: outputs
            .iter()
            .zip(float_output)
            .map(|(q, f)| f64::from((q - f).abs()))
            .fold(0.0, f64::max),
        argmax_match: argmax(&outputs) == argmax(float_output),
        threads: rayon::current_num_threads(),
        slice_reports: reports,
    };
    print_report(args.json, &report, print_table);
    Ok(())
}

/// Median of 3 checks of one slice proof against its verifying key.
fn measure_slice_verify(verifier: &zkinfer::Verifier, part: &zkinfer::Proof) -> Result<f64> {
    let slice = &part.slices[0];
    let statement = zkinfer::Proof {
        format: zkinfer::artifact::PROOF_FORMAT.into(),
        model_digest: slice.model_digest.clone(),
        transcript: slice.transcript.clone(),
        slices: Vec::new(),
        ..part.clone()
    };
    let mut times = Vec::with_capacity(3);
    for _ in 0..3 {
        let t = Instant::now();
        verifier.verify(&statement)?;
        times.push(ms(t.elapsed()));
    }
    Ok(median(&mut times))
}

/// Median proving time of slice `index` without link columns, if it has such a variant.
fn measure_unlinked(
    sliced: &zkinfer::slices::SlicedModel,
    index: usize,
    input: &[i64],
    whole: &zkinfer_circuits::Trace,
    params: &Arc<halo2_proofs::poly::commitment::Params<zkinfer::params::Curve>>,
    runs: usize,
) -> Result<Option<f64>> {
    let Some(unlinked) = sliced.unlinked_slice(index) else {
        progress(&format!(
            "slice {}: no unlinked variant (hashed input, too many link values for the instance columns, or a division whose check sits in another slice)",
            index + 1
        ));
        return Ok(None);
    };
    progress(&format!(
        "slice {}: measuring it without link columns…",
        index + 1
    ));
    let unlinked = Arc::new(unlinked);
    let prover = unlinked.prover(params.clone())?;
    let witness = sliced.unlinked_witness(index, &unlinked, input, &whole.values)?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        prover.prove_witness(witness.clone(), rand_core::UnwrapErr(rand::rngs::SysRng))?;
        times.push(ms(t.elapsed()));
    }
    Ok(Some(median(&mut times)))
}

fn print_table(r: &SlicedReport) {
    println!("model            {}", r.model);
    println!(
        "sliced           {} slices at k = {}, shape {} (as one circuit: k = {}, {} rows)",
        r.slices, r.k, r.shape, r.whole_k, r.whole_rows
    );
    println!("MACs             {}", r.macs);
    println!(
        "{:>5} {:>6} {:>7} {:>6} {:>9} {:>10} {:>10} {:>10} {:>10} {:>9} {:>8}",
        "slice",
        "rows",
        "advice",
        "links",
        "linked",
        "keygen ms",
        "prove ms",
        "pred ms",
        "verify ms",
        "RSS MiB",
        "unlinked"
    );
    for s in &r.slice_reports {
        println!(
            "{:>5} {:>6} {:>7} {:>6} {:>9} {:>10.0} {:>10.0} {:>10.0} {:>10.1} {:>9.0} {:>8}",
            s.index,
            s.rows,
            s.advice_columns,
            s.link_columns,
            s.linked_values_in + s.linked_values_out,
            s.keygen_ms,
            s.prove_ms,
            s.predicted_prove_ms,
            s.verify_ms,
            s.peak_rss_mb,
            s.unlinked_prove_ms
                .map_or_else(|| "-".to_string(), |u| format!("{u:.0}"))
        );
    }
    println!(
        "native float     {:>10.2} µs  (tract, 1 thread, median)",
        r.native_us
    );
    println!("keygen           {:>10.0} ms  (all slices)", r.keygen_ms);
    println!(
        "prove            {:>10.0} ms  (sum of the slices' medians; predicted {:.0} ms; as one circuit predicted {:.0} ms)",
        r.prove_ms, r.predicted_prove_ms, r.whole_predicted_prove_ms
    );
    println!(
        "prove, one pass  {:>10.0} ms  (the slices' first proofs + {:.0} ms around them)",
        r.prove_total_ms, r.overhead_ms
    );
    println!(
        "prove command    {:>10.0} ms  (key generation included)",
        r.prove_command_ms
    );
    let how = match r.linking_ms {
        Some(_) => format!(
            "measured on {} of {} slices",
            r.linking_measured_slices, r.slices
        ),
        None => "predicted; --measure-linking measures it".to_string(),
    };
    println!(
        "linking          {:>10.0} ms  ({:.1} % of unlinked proving, {how}; predicted {:.0} ms for all; {} values in {} link columns)",
        r.linking_ms.unwrap_or(r.linking_predicted_ms),
        100.0 * r.linking_fraction,
        r.linking_predicted_ms,
        r.linked_values,
        r.link_columns
    );
    println!(
        "verify           {:>10.1} ms  (whole proof, median of 3)",
        r.verify_ms
    );
    println!("proof            {:>10} bytes", r.proof_bytes);
    println!(
        "peak RSS         {:>10.0} MiB  (largest slice; predicted {:.0}; as one circuit predicted {:.0})",
        r.peak_rss_mb, r.predicted_memory_mb, r.whole_predicted_memory_mb
    );
    println!("slowdown         {:>10.0} ×  (prove ÷ native)", r.slowdown);
    println!("max abs error    {:>10.5}", r.max_abs_error);
    println!("argmax match     {:>10}", r.argmax_match);
}
