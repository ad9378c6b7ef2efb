//! Command-line interface. Files are read and written here; the library works on values.
//!
//! Every failure exits with code 1 and one line on stderr naming the problem; success exits 0.

mod audit;
mod bench;
mod bench_sliced;
mod commands;
mod io;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use zkinfer::ShapeKind;

/// Prove neural-network inference in zero knowledge.
#[derive(Debug, Parser)]
#[command(name = "zkinfer", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Import an ONNX model, quantise it and compile it to a circuit (.zkm).
    Compile(CompileArgs),
    /// Quantised inference on every sample of an input file (no proof).
    Run(RunArgs),
    /// Prove one inference.
    Prove(ProveArgs),
    /// Verify a proof; exit 0 only if it is valid.
    Verify(VerifyArgs),
    /// Join the proofs of every slice of a sliced model (made with `prove --slice`) into one.
    Join(JoinArgs),
    /// Run every stage on a model and report times, sizes and the slowdown over native inference.
    Bench(BenchArgs),
    /// Sampled audits of committed batches: commit, challenge, prove, verify, plan, reexecute.
    Audit(audit::AuditArgs),
}

/// Where public parameters and keys are cached.
#[derive(Debug, Args)]
struct CacheArgs {
    /// Folder caching the public parameters per k and the keys' commitments per circuit
    /// [default: $ZKINFER_CACHE_DIR, else ~/.cache/zkinfer].
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Build keys from scratch: neither read nor write the stored key commitments.
    #[arg(long)]
    no_key_cache: bool,
}

/// How to quantise and compile.
#[derive(Debug, Args)]
struct QuantizeArgs {
    /// Calibration samples ({"input_data": [[...], ...]}) used to choose the scales.
    #[arg(long, value_name = "CAL.json")]
    calibration: Option<PathBuf>,
    /// Bits the largest calibration activation maps to (2–14).
    #[arg(long, default_value_t = 10, value_name = "BITS")]
    activation_bits: u32,
    /// Bits the largest weight of a tensor maps to (2–24) [default: 14, or 11 with `--weights
    /// committed`].
    #[arg(long, value_name = "BITS")]
    weight_bits: Option<u32>,
    /// log2 of the entries of each function table (sigmoid, tanh, erf, exp), 4–12.
    #[arg(long, default_value_t = 9, value_name = "BITS")]
    table_bits: u32,
    /// Column budget of the circuit [default: the cheapest that fits].
    #[arg(long, value_enum)]
    shape: Option<ShapeArg>,
    /// Circuits of at most 2^K rows: a larger model is cut into linked slices that fit.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(4..=24))]
    max_k: Option<u32>,
    /// Cut the model into N linked slices, proven one by one (or on N machines).
    #[arg(long, value_name = "N")]
    slices: Option<usize>,
    /// What proofs reveal of the input: the input itself (`public`), nothing (`private`), or a
    /// Poseidon commitment to it (`hashed`); a private or hashed input is range-checked in the
    /// circuit.
    #[arg(long, value_enum, default_value_t = VisibilityArg::Public)]
    input_visibility: VisibilityArg,
    /// What proofs reveal of the output: the output itself, nothing, or a commitment to it.
    #[arg(long, value_enum, default_value_t = VisibilityArg::Public)]
    output_visibility: VisibilityArg,
    /// Where the weights live: in fixed columns, bound by the verifying key (`fixed`), or as
    /// private values bound by a Poseidon commitment that every proof carries, so the verifying
    /// key depends only on the architecture (`committed`; weights must fit 11 bits).
    #[arg(long, value_enum, default_value_t = WeightsArg::Fixed)]
    weights: WeightsArg,
}

/// Where the weights live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum WeightsArg {
    /// Fixed columns: the verifying key binds the weights.
    Fixed,
    /// Private values bound by a public Poseidon commitment.
    Committed,
}

impl From<WeightsArg> for zkinfer::WeightVisibility {
    fn from(w: WeightsArg) -> Self {
        match w {
            WeightsArg::Fixed => Self::Fixed,
            WeightsArg::Committed => Self::Committed,
        }
    }
}

/// What proofs reveal of the input or the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum VisibilityArg {
    /// The quantised values are public values of the proof.
    Public,
    /// The values are private: the proof reveals nothing of them.
    Private,
    /// The values are private; the proof exposes a Poseidon commitment to them.
    Hashed,
}

impl From<VisibilityArg> for zkinfer::Visibility {
    fn from(v: VisibilityArg) -> Self {
        match v {
            VisibilityArg::Public => Self::Public,
            VisibilityArg::Private => Self::Private,
            VisibilityArg::Hashed => Self::Hashed,
        }
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ShapeArg {
    /// 16 × 8 dense tile, one unit lane.
    Dense16x8,
    /// 32 × 16 dense tile, one unit lane.
    Dense32x16,
    /// 32 × 16 dense tile, four unit lanes.
    Conv32x16,
    /// 32 × 16 dense tile, eight unit lanes.
    Conv32x16Wide,
    /// 72 × 8 dense tile (3 × 3 kernels over 8 channels), eight unit lanes.
    Conv72x8,
    /// 72 × 8 dense tile, twelve unit lanes.
    Conv72x8Wide,
    /// Every engine: tile, units, product chip, lookup lane.
    General,
    /// Every engine, four unit lanes.
    GeneralWide,
    /// `general` with a Poseidon chip (hashed input or output).
    GeneralHashed,
    /// Tiny shape with every engine (tests).
    Tiny,
}

impl From<ShapeArg> for ShapeKind {
    fn from(s: ShapeArg) -> Self {
        match s {
            ShapeArg::Dense16x8 => ShapeKind::Dense16x8,
            ShapeArg::Dense32x16 => ShapeKind::Dense32x16,
            ShapeArg::Conv32x16 => ShapeKind::Conv32x16,
            ShapeArg::Conv32x16Wide => ShapeKind::Conv32x16Wide,
            ShapeArg::Conv72x8 => ShapeKind::Conv72x8,
            ShapeArg::Conv72x8Wide => ShapeKind::Conv72x8Wide,
            ShapeArg::General => ShapeKind::General,
            ShapeArg::GeneralWide => ShapeKind::GeneralWide,
            ShapeArg::GeneralHashed => ShapeKind::GeneralHashed,
            ShapeArg::Tiny => ShapeKind::Tiny,
        }
    }
}

#[derive(Debug, Args)]
struct CompileArgs {
    /// The ONNX model.
    #[arg(value_name = "MODEL.onnx")]
    model: PathBuf,
    #[command(flatten)]
    quantize: QuantizeArgs,
    /// Held-out samples (with optional "labels") to report fidelity and accuracy on.
    #[arg(long, value_name = "TEST.json")]
    test: Option<PathBuf>,
    /// Where to write the compiled model.
    #[arg(short, long, value_name = "MODEL.zkm")]
    output: PathBuf,
    /// With `--weights committed`: also write a verifier's copy of the model, without its
    /// weights (it verifies every proof of the model, but cannot run or prove it).
    #[arg(long, value_name = "VERIFIER.zkm")]
    verifier_model: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The compiled model.
    #[arg(value_name = "MODEL.zkm")]
    model: PathBuf,
    /// Input samples ({"input_data": [[...], ...]}).
    #[arg(long, value_name = "INPUT.json")]
    input: PathBuf,
    /// Print {"outputs": [[...], ...]} (one dequantised list per sample).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ProveArgs {
    /// The compiled model.
    #[arg(value_name = "MODEL.zkm")]
    model: PathBuf,
    /// Input samples ({"input_data": [[...], ...]}).
    #[arg(long, value_name = "INPUT.json")]
    input: PathBuf,
    /// Which sample of the input file to prove.
    #[arg(long, default_value_t = 0, value_name = "N")]
    sample: usize,
    /// Where to write the proof.
    #[arg(short, long, value_name = "PROOF.json")]
    output: PathBuf,
    /// Prove a claim about the output instead of revealing it: `argmax` (the index of the
    /// largest output), `topk:K` (the set of the K largest) or `ge:INDEX:VALUE` (output INDEX is
    /// at least VALUE). The proof holds the claim and no outputs.
    #[arg(long, value_name = "CLAIM")]
    claim: Option<zkinfer::ClaimSpec>,
    /// For a sliced model: prove slice N only, writing a part for `zkinfer join`.
    #[arg(long, value_name = "N")]
    slice: Option<usize>,
    /// For a sliced model proven in parts: the secret (64 hex digits) every part of one proof
    /// shares to blind its links [default: $ZKINFER_LINK_SECRET; for a public input, derived
    /// from the model and the input]. Use a fresh one per proof and keep it from verifiers.
    #[arg(long, value_name = "HEX")]
    link_secret: Option<String>,
    #[command(flatten)]
    cache: CacheArgs,
}

#[derive(Debug, Args)]
struct JoinArgs {
    /// The compiled (sliced) model.
    #[arg(value_name = "MODEL.zkm")]
    model: PathBuf,
    /// The parts, one per slice, in any order.
    #[arg(value_name = "PART.json", required = true, num_args = 1..)]
    parts: Vec<PathBuf>,
    /// Where to write the joined proof.
    #[arg(short, long, value_name = "PROOF.json")]
    output: PathBuf,
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// The compiled model.
    #[arg(value_name = "MODEL.zkm")]
    model: PathBuf,
    /// The proof; several proofs of the model are verified as one batch.
    #[arg(value_name = "PROOF.json", required = true, num_args = 1..)]
    proofs: Vec<PathBuf>,
    /// Print {"verified": true, "outputs": [[...]]} with the verified, dequantised outputs, or
    /// {"verified": true, "claim": {...}} for a proof of a claim, with "slices": N for a sliced
    /// model (for several proofs:
    /// {"verified": ..., "proofs": [{"proof", "verified", "outputs" | "claim" | "error"}]}).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    cache: CacheArgs,
}

#[derive(Debug, Args)]
struct BenchArgs {
    /// The ONNX model.
    #[arg(value_name = "MODEL.onnx")]
    model: PathBuf,
    /// Input samples; the first one is proven.
    #[arg(long, value_name = "INPUT.json")]
    input: PathBuf,
    #[command(flatten)]
    quantize: QuantizeArgs,
    /// Proofs to make; the prove time reported is their median (the first proof of a process
    /// also pays for cold caches and fresh allocations).
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    prove_runs: u32,
    /// Print the measurements as one JSON object.
    #[arg(long)]
    json: bool,
    /// For a sliced model: also prove each slice without its link columns, to measure what
    /// linking costs (one more key generation per slice).
    #[arg(long)]
    measure_linking: bool,
    #[command(flatten)]
    cache: CacheArgs,
}

/// Parses the command line, runs the command, and turns any error (or panic) into exit code 1.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    // A panic is a bug, but the user still gets one line and exit code 1.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: internal error ({info}); please report it");
    }));
    let result = std::panic::catch_unwind(|| match cli.command {
        Command::Compile(args) => commands::compile(args),
        Command::Run(args) => commands::run(args),
        Command::Prove(args) => commands::prove(args),
        Command::Verify(args) => commands::verify(args),
        Command::Join(args) => commands::join(args),
        Command::Bench(args) => bench::bench(args),
        Command::Audit(args) => audit::audit(args),
    });
    match result {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
        Err(_) => ExitCode::from(1),
    }
}
