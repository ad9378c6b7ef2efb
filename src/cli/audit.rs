//! `audit commit / challenge / prove / verify / plan / reexecute`: sampled audits of committed
//! batches (see `zkinfer::audit`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, Subcommand};
use serde_json::json;
use zkinfer::audit::{self, Audit, Challenge, Receipt};
use zkinfer::error::AuditError;
use zkinfer::{Error, Result};

use super::commands::load_samples;
use super::io::{load_compiled, load_params, progress, read, report_key_source, stage, write};
use super::CacheArgs;

/// Sampled audits: commit to a batch, challenge a random sample, prove and verify it.
#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Run every sample of a batch and commit to the results: the outputs and a Merkle root.
    Commit(CommitArgs),
    /// Draw the samples to audit from a receipt's root and a seed.
    Challenge(ChallengeArgs),
    /// Prove every challenged sample, with its Merkle path.
    Prove(ProveArgs),
    /// Check an audit against the receipt and the challenge; exit 0 only if it holds.
    Verify(VerifyArgs),
    /// The smallest sample that catches a cheating fraction with a given confidence.
    Plan(PlanArgs),
    /// Re-run the challenged samples natively and compare them with the committed results.
    Reexecute(ReexecuteArgs),
}

#[derive(Debug, Args)]
struct CommitArgs {
    /// The compiled model.
    #[arg(value_name = "MODEL.zkm")]
    model: PathBuf,
    /// The batch ({"input_data": [[...], ...]}).
    #[arg(long, value_name = "BATCH.json")]
    input: PathBuf,
    /// Where to write the receipt.
    #[arg(short, long, value_name = "RECEIPT.json")]
    output: PathBuf,
}

#[derive(Debug, Args)]
struct ChallengeArgs {
    /// The operator's receipt.
    #[arg(value_name = "RECEIPT.json")]
    receipt: PathBuf,
    /// How many samples to challenge.
    #[arg(long, value_name = "S")]
    samples: usize,
    /// The verifier's seed (hex) [default: 32 random bytes]. Keep it secret until the receipt
    /// is published: an operator who knows it can predict the indices.
    #[arg(long, value_name = "HEX")]
    seed: Option<String>,
    /// Where to write the challenge.
    #[arg(short, long, value_name = "CHALLENGE.json")]
    output: PathBuf,
}

#[derive(Debug, Args)]
struct ProveArgs {
    /// The compiled model.
    #[arg(value_name = "MODEL.zkm")]
    model: PathBuf,
    /// The committed batch.
    #[arg(long, value_name = "BATCH.json")]
    input: PathBuf,
    /// The receipt of the batch.
    #[arg(long, value_name = "RECEIPT.json")]
    receipt: PathBuf,
    /// The verifier's challenge.
    #[arg(long, value_name = "CHALLENGE.json")]
    challenge: PathBuf,
    /// Where to write the audit.
    #[arg(short, long, value_name = "AUDIT.json")]
    output: PathBuf,
    #[command(flatten)]
    cache: CacheArgs,
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// The compiled model (or its verifier's copy).
    #[arg(value_name = "MODEL.zkm")]
    model: PathBuf,
    /// The operator's receipt.
    #[arg(value_name = "RECEIPT.json")]
    receipt: PathBuf,
    /// The challenge.
    #[arg(value_name = "CHALLENGE.json")]
    challenge: PathBuf,
    /// The operator's audit.
    #[arg(value_name = "AUDIT.json")]
    audit: PathBuf,
    /// The batch, if the verifier holds it: also check that the receipt commits to exactly these
    /// inputs and that every output in it (not only the challenged ones) is the committed one.
    #[arg(long, value_name = "BATCH.json")]
    input: Option<PathBuf>,
    /// Print {"verified": true, "count": N, "sampled": S, "detection": {"0.01": p, "0.05": p,
    /// "0.10": p}} (p: the probability that this sample catches at least one falsified result
    /// when that fraction of the batch is falsified), or {"verified": false, "error": "..."}.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    cache: CacheArgs,
}

#[derive(Debug, Args)]
struct PlanArgs {
    /// A compiled model, to predict the proving cost of the sample (cost model).
    #[arg(value_name = "MODEL.zkm")]
    model: Option<PathBuf>,
    /// Samples in the batch.
    #[arg(long, value_name = "N")]
    count: usize,
    /// Fraction of the batch falsified, in (0, 1] (⌈F·N⌉ results).
    #[arg(long, value_name = "F")]
    cheat_fraction: f64,
    /// Probability of catching at least one falsified result, in (0, 1].
    #[arg(long, value_name = "C")]
    confidence: f64,
    /// Print the plan as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ReexecuteArgs {
    /// The compiled model.
    #[arg(value_name = "MODEL.zkm")]
    model: PathBuf,
    /// The committed batch.
    #[arg(long, value_name = "BATCH.json")]
    input: PathBuf,
    /// The operator's receipt.
    #[arg(value_name = "RECEIPT.json")]
    receipt: PathBuf,
    /// The challenge.
    #[arg(value_name = "CHALLENGE.json")]
    challenge: PathBuf,
    /// Print {"verified": true, "count": N, "sampled": S, "detection": {...}, "outputs":
    /// {"INDEX": [...], ...}} (the re-computed outputs of the challenged samples).
    #[arg(long)]
    json: bool,
}

/// Runs an `audit` verb.
pub fn audit(args: AuditArgs) -> Result<()> {
    match args.command {
        AuditCommand::Commit(args) => commit(args),
        AuditCommand::Challenge(args) => challenge(args),
        AuditCommand::Prove(args) => prove(args),
        AuditCommand::Verify(args) => verify(args),
        AuditCommand::Plan(args) => plan(args),
        AuditCommand::Reexecute(args) => reexecute(args),
    }
}

fn load_receipt(path: &Path) -> Result<Receipt> {
    Receipt::from_json(&read(path)?).map_err(|e| Error::Artifact(e).in_file(path))
}

fn load_challenge(path: &Path) -> Result<Challenge> {
    Challenge::from_json(&read(path)?).map_err(|e| Error::Artifact(e).in_file(path))
}

fn load_audit(path: &Path) -> Result<Audit> {
    Audit::from_json(&read(path)?).map_err(|e| Error::Artifact(e).in_file(path))
}

/// "p1 / p2 / p3" for the reported fractions, for people.
fn detection_text(detection: &[(f64, f64)]) -> String {
    let fractions: Vec<String> = detection
        .iter()
        .map(|(f, _)| format!("{} %", f * 100.0))
        .collect();
    let probabilities: Vec<String> = detection.iter().map(|(_, p)| format!("{p:.4}")).collect();
    format!(
        "a batch with {} falsified would have been caught with probability {}",
        fractions.join(" / "),
        probabilities.join(" / ")
    )
}

fn commit(args: CommitArgs) -> Result<()> {
    let start = Instant::now();
    let compiled = load_compiled(&args.model)?;
    let batch = load_samples(&args.input, compiled.model.network.input_len())?;
    let loaded = start.elapsed();
    let committed = audit::commit(&compiled, &batch).map_err(|e| e.in_file(&args.input))?;
    let ran = start.elapsed() - loaded;
    write(&args.output, &committed.receipt.to_json())?;
    println!(
        "committed {} samples: root {}; receipt written to {} (files read in {:.3} s, inference \
         and commitment {:.3} s, {:.3} s in all)",
        committed.receipt.count,
        hex::encode(committed.receipt.root),
        args.output.display(),
        loaded.as_secs_f64(),
        ran.as_secs_f64(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

fn challenge(args: ChallengeArgs) -> Result<()> {
    let receipt = load_receipt(&args.receipt)?;
    let seed = match &args.seed {
        Some(text) => hex::decode(text).map_err(|e| {
            AuditError::Parameter(format!("--seed '{text}' is not hex digits: {e}"))
        })?,
        None => audit::random_seed(),
    };
    let challenge = audit::challenge(&receipt, args.samples, &seed)?;
    write(&args.output, &challenge.to_json())?;
    println!(
        "challenged {} of {} samples: {:?} (seed {}); written to {}",
        challenge.samples,
        challenge.count,
        challenge.indices,
        hex::encode(&challenge.seed),
        args.output.display()
    );
    Ok(())
}

fn prove(args: ProveArgs) -> Result<()> {
    let start = Instant::now();
    let compiled = load_compiled(&args.model)?;
    let batch = load_samples(&args.input, compiled.model.network.input_len())?;
    let receipt = load_receipt(&args.receipt)?;
    let challenge = load_challenge(&args.challenge)?;
    // Every check that needs no key first, so a bad file fails fast.
    audit::check_provable(&compiled)?;
    audit::check_challenge(&receipt, &challenge)
        .map_err(|e| Error::Audit(e).in_file(&args.challenge))?;
    audit::rebuild(&compiled, &batch, &receipt)?;
    let params = load_params(&args.cache, compiled.k)?;
    let prover = stage(
        &format!("building proving key (k = {})", compiled.k),
        || compiled.prover_with(params, &args.cache.keys()),
    )?;
    report_key_source(prover.verifier().key_source());
    let audit = audit::prove(&prover, &batch, &receipt, &challenge, |made| {
        progress(&format!(
            "proof {}/{} (sample {}): {:.2} s",
            made.done,
            made.total,
            made.index,
            made.elapsed.as_secs_f64()
        ));
    })?;
    write(&args.output, &audit.to_json())?;
    println!(
        "proved {} challenged samples of {} in {:.2} s; audit written to {}",
        audit.samples.len(),
        audit.count,
        start.elapsed().as_secs_f64(),
        args.output.display()
    );
    Ok(())
}

fn verify(args: VerifyArgs) -> Result<()> {
    let result = verify_audit(&args);
    match (&result, args.json) {
        (Ok(report), true) => println!(
            "{}",
            json!({
                "verified": true,
                "count": report.count,
                "sampled": report.sampled,
                "detection": audit::detection_json(&report.detection),
            })
        ),
        (Ok(report), false) => println!(
            "audit is valid: {} of {} samples proven, each matching the committed result and \
             the receipt; {}",
            report.sampled,
            report.count,
            detection_text(&report.detection)
        ),
        (Err(e), true) => println!("{}", json!({ "verified": false, "error": e.to_string() })),
        (Err(_), false) => {}
    }
    result.map(|_| ())
}

fn verify_audit(args: &VerifyArgs) -> Result<audit::AuditReport> {
    let compiled = load_compiled(&args.model)?;
    let receipt = load_receipt(&args.receipt)?;
    let challenge = load_challenge(&args.challenge)?;
    let audit = load_audit(&args.audit)?;
    audit::check_provable(&compiled)?;
    if let Some(path) = &args.input {
        let batch = load_samples(path, compiled.model.network.input_len())?;
        audit::rebuild(&compiled, &batch, &receipt).map_err(|e| e.in_file(path))?;
    }
    let params = load_params(&args.cache, compiled.k)?;
    let verifier = compiled.verifier_with(params, &args.cache.keys())?;
    report_key_source(verifier.key_source());
    let start = Instant::now();
    let report = audit::verify(&verifier, &receipt, &challenge, &audit)?;
    let elapsed = start.elapsed();
    progress(&format!(
        "verified {} proofs and paths in {:.1} ms (paths, leaves and outputs {:.1} µs, {:.1} µs \
         per sample)",
        report.sampled,
        elapsed.as_secs_f64() * 1e3,
        report.checks.as_secs_f64() * 1e6,
        report.checks.as_secs_f64() * 1e6 / report.sampled.max(1) as f64,
    ));
    Ok(report)
}

fn plan(args: PlanArgs) -> Result<()> {
    let samples = audit::min_samples(args.count, args.cheat_fraction, args.confidence)?;
    let falsified = audit::falsified(args.count, args.cheat_fraction)?;
    let detection = audit::detection_probability(args.count, falsified, samples);
    let compiled = args.model.as_deref().map(load_compiled).transpose()?;
    // The cost model's prediction for one proof (every slice of a sliced model).
    let per_proof_ms = compiled.as_ref().map(|c| match c.sliced() {
        Some(sliced) => sliced.predicted_prove_ms(),
        None => c.cost.predicted_prove_ms(),
    });
    if args.json {
        let mut fields = serde_json::Map::new();
        fields.insert("count".into(), json!(args.count));
        fields.insert("cheat_fraction".into(), json!(args.cheat_fraction));
        fields.insert("confidence".into(), json!(args.confidence));
        fields.insert("falsified".into(), json!(falsified));
        fields.insert("samples".into(), json!(samples));
        fields.insert("detection".into(), json!(detection));
        if let Some(ms) = per_proof_ms {
            fields.insert("predicted_prove_ms_per_proof".into(), json!(ms));
            fields.insert("predicted_prove_ms".into(), json!(ms * samples as f64));
            fields.insert(
                "predicted_prove_all_ms".into(),
                json!(ms * args.count as f64),
            );
        }
        println!("{}", serde_json::Value::Object(fields));
        return Ok(());
    }
    println!(
        "sample {samples} of {} ({:.1} % of the batch): it catches at least one of {falsified} \
         falsified results (a fraction of {}) with probability {detection:.4} ≥ {}",
        args.count,
        100.0 * samples as f64 / args.count as f64,
        args.cheat_fraction,
        args.confidence
    );
    if let (Some(ms), Some(compiled)) = (per_proof_ms, &compiled) {
        println!(
            "predicted proving (cost model, k = {}): {:.2} s per proof, {:.1} s for the sample \
             (proving all {} results: {:.1} s), plus key generation once",
            compiled.k,
            ms / 1e3,
            ms * samples as f64 / 1e3,
            args.count,
            ms * args.count as f64 / 1e3
        );
    }
    Ok(())
}

fn reexecute(args: ReexecuteArgs) -> Result<()> {
    let result = reexecute_batch(&args);
    match (&result, args.json) {
        (Ok(done), true) => {
            let outputs: serde_json::Map<_, _> = done
                .outputs
                .iter()
                .map(|(index, output)| (index.to_string(), json!(output)))
                .collect();
            println!(
                "{}",
                json!({
                    "verified": true,
                    "count": done.count,
                    "sampled": done.outputs.len(),
                    "detection": audit::detection_json(&done.detection),
                    "outputs": outputs,
                })
            );
        }
        (Ok(done), false) => println!(
            "re-executed {} of {} samples: every output is bit-identical to the committed one; {}",
            done.outputs.len(),
            done.count,
            detection_text(&done.detection)
        ),
        (Err(e), true) => println!("{}", json!({ "verified": false, "error": e.to_string() })),
        (Err(_), false) => {}
    }
    result.map(|_| ())
}

fn reexecute_batch(args: &ReexecuteArgs) -> Result<audit::Reexecution> {
    let compiled = load_compiled(&args.model)?;
    let batch = load_samples(&args.input, compiled.model.network.input_len())?;
    let receipt = load_receipt(&args.receipt)?;
    let challenge = load_challenge(&args.challenge)?;
    audit::reexecute(&compiled, &batch, &receipt, &challenge)
}
