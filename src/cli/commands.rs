//! `compile`, `run`, `prove` and `verify`.

use std::sync::Arc;
use std::time::Instant;

use serde_json::json;
use zkinfer::error::{InputError, ProveError};
use zkinfer::fidelity::argmax;
use zkinfer::input::parse_samples;
use zkinfer::{
    Claim, CompileOptions, CompiledModel, Error, LinkSecret, Model, Proof, QuantizeOptions, Result,
    VerifiedOutput, Visibility,
};

use super::io::{load_compiled, load_params, progress, read, report_key_source, stage, write};
use super::{CompileArgs, JoinArgs, ProveArgs, QuantizeArgs, RunArgs, VerifyArgs};

/// Reads samples for a model taking `input_len` values, attributing errors to the file.
pub fn load_samples(path: &std::path::Path, input_len: usize) -> Result<Vec<Vec<f32>>> {
    parse_samples(&read(path)?, input_len).map_err(|e| Error::Input(e).in_file(path))
}

/// Imports, quantises and compiles as the arguments say.
pub fn compile_model(
    model_path: &std::path::Path,
    args: &QuantizeArgs,
) -> Result<(Model, CompiledModel)> {
    let model =
        Model::from_onnx(&read(model_path)?).map_err(|e| Error::Import(e).in_file(model_path))?;
    let calibration = match &args.calibration {
        Some(path) => load_samples(path, model.graph().input().len())?,
        None => Vec::new(),
    };
    let compiled = model.compile(
        &calibration,
        QuantizeOptions {
            activation_bits: args.activation_bits,
            weight_bits: args
                .weight_bits
                .unwrap_or(QuantizeOptions::default_weight_bits(args.weights.into())),
            table_bits: args.table_bits,
        },
        CompileOptions {
            shape: args.shape.map(Into::into),
            max_k: args.max_k,
            input: args.input_visibility.into(),
            output: args.output_visibility.into(),
            weights: args.weights.into(),
            slices: args.slices,
        },
    )?;
    Ok((model, compiled))
}

pub fn compile(args: CompileArgs) -> Result<()> {
    let (model, compiled) = compile_model(&args.model, &args.quantize)?;
    let graph = model.graph();
    let q = &compiled.model;
    println!(
        "imported {}: input '{}' {:?} → output '{}' {:?}; {} operators ({}); {} MACs",
        args.model.display(),
        graph.input().name,
        graph.input().shape,
        graph.output().name,
        graph.output().shape,
        graph.nodes.len(),
        graph.op_summary(),
        graph.macs()
    );
    println!(
        "quantised (power-of-two scales, value = integer · 2^-scale): input 2^{}, output 2^{}; {} integer operators",
        q.input_scale,
        q.output_scale,
        q.network.nodes.len()
    );
    let c = &compiled.cost;
    println!(
        "cost: k = {}, rows = {} (of {} usable), columns = {} advice + {} fixed + {} instance, lookups = {} (shape {})",
        c.k, c.rows, c.usable_rows, c.advice_columns, c.fixed_columns, c.instance_columns, c.lookups, c.shape.name()
    );
    if let Some(sliced) = compiled.sliced() {
        print_slices(&compiled, sliced);
    }
    if let Some(commitment) = compiled.weights_commitment() {
        println!(
            "weights committed: {commitment} (every proof carries this commitment; the verifying key holds no weights)"
        );
    }
    match &compiled.fidelity {
        Some(f) => println!(
            "fidelity on {} calibration samples: max abs error {:.6}, argmax agreement {:.2} % ({}/{}){}",
            f.samples,
            f.max_abs_error,
            100.0 * f.argmax_agreement(),
            f.argmax_matches,
            f.samples,
            if f.refused > 0 { format!(", {} refused", f.refused) } else { String::new() }
        ),
        None => println!(
            "fidelity: not measured (no --calibration); scales assume inputs in [-1, 1] and cover the worst case"
        ),
    }
    for warning in &q.warnings {
        println!("warning: {warning}");
    }
    if let Some(path) = &args.test {
        let bytes = read(path)?;
        let samples = parse_samples(&bytes, graph.input().len())
            .map_err(|e| Error::Input(e).in_file(path))?;
        let labels =
            zkinfer::input::parse_labels(&bytes).map_err(|e| Error::Input(e).in_file(path))?;
        let report = model.fidelity(&compiled, &samples, labels.as_deref())?;
        println!("held-out fidelity on {}: {report}", path.display());
    }
    write(&args.output, &compiled.to_json())?;
    println!("wrote {}", args.output.display());
    if let Some(path) = &args.verifier_model {
        let copy = compiled.verifier_copy()?;
        write(path, &copy.to_json())?;
        println!(
            "wrote {} (verifier's copy: no weights, same verifying key)",
            path.display()
        );
    }
    Ok(())
}

/// The slices of a sliced model, one line each, and their totals.
fn print_slices(compiled: &CompiledModel, sliced: &zkinfer::slices::SlicedModel) {
    let whole = &compiled.cost;
    println!(
        "sliced: {} slices at k = {} (as one circuit: k = {}, {} rows), shape {}; {} values linked in {} link columns",
        sliced.len(),
        sliced.k,
        whole.k,
        whole.rows,
        sliced.shape.name(),
        sliced.linked_values(),
        sliced.link_columns(),
    );
    for s in sliced.summaries() {
        println!(
            "  slice {}: nodes '{}' … '{}' ({} operators), k = {}, {} rows, {} advice columns ({} + {} link), links in {} / out {} values, predicted prove {:.2} s, memory {:.0} MiB",
            s.index,
            s.nodes[0],
            s.nodes[1],
            s.operators,
            s.k,
            s.rows,
            s.advice_columns,
            s.link_columns[0],
            s.link_columns[1],
            s.linked_values[0],
            s.linked_values[1],
            s.predicted_prove_ms / 1e3,
            s.predicted_memory_mb,
        );
    }
    println!(
        "  total: predicted prove {:.2} s (as one circuit: {:.2} s), peak memory {:.0} MiB (as one circuit: {:.0} MiB)",
        sliced.predicted_prove_ms() / 1e3,
        whole.predicted_prove_ms() / 1e3,
        sliced.predicted_memory_mb(),
        whole.predicted_memory_mb(),
    );
}

pub fn run(args: RunArgs) -> Result<()> {
    let compiled = load_compiled(&args.model)?;
    compiled.require_weights().map_err(Error::Prove)?;
    let samples = load_samples(&args.input, compiled.model.network.input_len())?;
    let outputs = samples
        .iter()
        .enumerate()
        .map(|(i, s)| compiled.model.run(i, s).map_err(|e| e.in_file(&args.input)))
        .collect::<Result<Vec<_>>>()?;
    // For hashed values: the commitments each sample's proof would carry, to compare with a
    // proof's `input_commitment` / `output_commitment`.
    let hashed_input = compiled.input_visibility() == Visibility::Hashed;
    let hashed_output = compiled.output_visibility() == Visibility::Hashed;
    let mut input_commitments = Vec::new();
    let mut output_commitments = Vec::new();
    if hashed_input || hashed_output {
        for (i, s) in samples.iter().enumerate() {
            let quantised = compiled
                .model
                .quantize_input(i, s)
                .map_err(|e| Error::Input(e).in_file(&args.input))?;
            if hashed_input {
                input_commitments.push(compiled.commitment_of(&quantised));
            }
            if hashed_output {
                let trace = compiled.network().forward(&quantised)?;
                output_commitments.push(compiled.commitment_of(trace.output()));
            }
        }
    }
    if args.json {
        let mut fields = serde_json::Map::new();
        fields.insert("outputs".into(), json!(outputs));
        if hashed_input {
            fields.insert("input_commitments".into(), json!(input_commitments));
        }
        if hashed_output {
            fields.insert("output_commitments".into(), json!(output_commitments));
        }
        println!("{}", serde_json::Value::Object(fields));
    } else {
        for (i, output) in outputs.iter().enumerate() {
            let mut line = format!(
                "sample {i}: argmax {:?}, outputs {:?}",
                argmax(output).unwrap_or(0),
                output
            );
            if let Some(c) = input_commitments.get(i) {
                line += &format!(", input commitment {c}");
            }
            if let Some(c) = output_commitments.get(i) {
                line += &format!(", output commitment {c}");
            }
            println!("{line}");
        }
    }
    Ok(())
}

pub fn prove(args: ProveArgs) -> Result<()> {
    let compiled = load_compiled(&args.model)?;
    let samples = load_samples(&args.input, compiled.model.network.input_len())?;
    let sample = samples.get(args.sample).ok_or_else(|| {
        Error::Input(InputError::NoSuchSample {
            requested: args.sample,
            available: samples.len(),
        })
        .in_file(&args.input)
    })?;
    if samples.len() > 1 {
        progress(&format!(
            "the input file holds {} samples; proving sample {} (choose with --sample)",
            samples.len(),
            args.sample
        ));
    }
    // Check the input (and the claim) before the slow steps, so a bad value fails fast.
    let quantised = compiled
        .model
        .quantize_input(args.sample, sample)
        .map_err(|e| Error::Input(e).in_file(&args.input))?;
    let trace = match compiled.sliced() {
        Some(_) => compiled.sliced_trace(&quantised)?,
        None => compiled.witness(&quantised)?.0,
    };
    let compiled = match &args.claim {
        Some(spec) => {
            let claim = spec.resolve(trace.output(), compiled.model.output_scale)?;
            Arc::new(compiled.with_claim(&claim)?)
        }
        None => compiled,
    };
    drop(trace);

    let params = load_params(&args.cache, compiled.k)?;
    if compiled.sliced().is_some() {
        return prove_sliced(&args, &compiled, params, &quantised);
    }
    if args.slice.is_some() {
        return Err(Error::Prove(ProveError::Slicing(
            "--slice is for sliced models; this one is proven as one circuit".into(),
        )));
    }
    let prover = stage(
        &format!("building proving key (k = {})", compiled.k),
        || compiled.prover_with(params, &args.cache.keys()),
    )?;
    report_key_source(prover.verifier().key_source());
    let start = Instant::now();
    let proof = stage("proving", || {
        prover.prove_quantized(&quantised, rand_core::UnwrapErr(rand::rngs::SysRng))
    })?;
    let elapsed = start.elapsed();
    write(&args.output, &proof.to_json())?;
    let what = proven_text(&compiled, &proof);
    println!(
        "proved sample {} in {:.2} s: {what}; {} byte transcript written to {}",
        args.sample,
        elapsed.as_secs_f64(),
        proof.transcript.len(),
        args.output.display()
    );
    Ok(())
}

/// What a proof proves, for people.
fn proven_text(compiled: &CompiledModel, proof: &Proof) -> String {
    match (&proof.claim, proof.outputs.first()) {
        (Some(claim), _) => format!("{claim} (outputs kept private)"),
        (None, None) if proof.output_commitment.is_some() => {
            "the outputs, committed to (kept private)".to_string()
        }
        (None, Some(outputs)) => {
            let outputs = compiled.model.dequantize_output(outputs);
            format!(
                "outputs {outputs:?} (argmax {})",
                argmax(&outputs).unwrap_or(0)
            )
        }
        (None, None) => "the computation (outputs kept private)".to_string(),
    }
}

/// The link secret of a proof made in parts: given, from the environment, or (public input)
/// derived from the model and the input.
fn part_link_secret(
    args: &ProveArgs,
    compiled: &CompiledModel,
    quantised: &[i64],
) -> Result<LinkSecret> {
    Ok(LinkSecret::for_part(
        args.link_secret.as_deref(),
        compiled,
        quantised,
    )?)
}

/// `prove` for a sliced model: every slice (one proof file), or one slice (a part).
fn prove_sliced(
    args: &ProveArgs,
    compiled: &Arc<CompiledModel>,
    params: Arc<halo2_proofs::poly::commitment::Params<zkinfer::params::Curve>>,
    quantised: &[i64],
) -> Result<()> {
    let sliced = compiled.sliced().expect("called for sliced models");
    let count = sliced.len();
    let start = Instant::now();
    let whole = compiled.sliced_trace(quantised)?;
    let rng = || rand_core::UnwrapErr(rand::rngs::SysRng);
    let (proof, what) = match args.slice {
        Some(index) => {
            let secret = part_link_secret(args, compiled, quantised)?;
            let prover = stage(
                &format!(
                    "building the proving key of slice {index} of {count} (k = {})",
                    compiled.k
                ),
                || compiled.slice_prover_with(index, params, &args.cache.keys()),
            )?;
            let part = stage(&format!("proving slice {index}"), || {
                prover.prove(quantised, &whole, &secret, rng())
            })?;
            (
                part,
                format!("slice {index} of {count} (a part: join all {count} with `zkinfer join`)"),
            )
        }
        None => {
            let secret = match &args.link_secret {
                Some(hex) => LinkSecret::from_hex(hex)?,
                None => LinkSecret::random(),
            };
            let keys = args.cache.keys();
            let mut parts = Vec::with_capacity(count);
            for index in 0..count {
                let slice_start = Instant::now();
                progress(&format!(
                    "slice {}/{count}: building the proving key (k = {})…",
                    index + 1,
                    compiled.k
                ));
                let prover = compiled.slice_prover_with(index, params.clone(), &keys)?;
                report_key_source(prover.verifier().key_source());
                progress(&format!("slice {}/{count}: proving…", index + 1));
                parts.push(prover.prove(quantised, &whole, &secret, rng())?);
                drop(prover);
                progress(&format!(
                    "slice {}/{count}: done in {:.2} s",
                    index + 1,
                    slice_start.elapsed().as_secs_f64()
                ));
            }
            let proof = compiled.join(&parts)?;
            let what = format!("{} in {count} linked slices", proven_text(compiled, &proof));
            (proof, what)
        }
    };
    write(&args.output, &proof.to_json())?;
    let bytes: usize = proof.slices.iter().map(|s| s.transcript.len()).sum();
    println!(
        "proved sample {} in {:.2} s: {what}; {bytes} transcript bytes written to {}",
        args.sample,
        start.elapsed().as_secs_f64(),
        args.output.display()
    );
    Ok(())
}

pub fn join(args: JoinArgs) -> Result<()> {
    let compiled = load_compiled(&args.model)?;
    let parts = args
        .parts
        .iter()
        .map(|path| {
            read(path).and_then(|bytes| {
                Proof::part_from_json(&bytes).map_err(|e| Error::Artifact(e).in_file(path))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let proof = compiled.join(&parts)?;
    write(&args.output, &proof.to_json())?;
    println!(
        "joined {} slices into {}: {}",
        proof.slices.len(),
        args.output.display(),
        proven_text(&compiled, &proof)
    );
    Ok(())
}

/// What a verified proof establishes, as `verify --json` prints it: the outputs, or the claim.
fn verified_json(verified: &VerifiedOutput) -> serde_json::Map<String, serde_json::Value> {
    verified.to_json_fields()
}

/// The same, for people.
fn verified_text(verified: &VerifiedOutput) -> String {
    let what = match &verified.claim {
        Some(claim) => format!("claim: {claim}"),
        None => format!("outputs {:?}", verified.outputs_dequantized),
    };
    let what = match &verified.output_commitment {
        Some(commitment) => format!("{what}; outputs committed to as {commitment}"),
        None => what,
    };
    let what = match &verified.input_commitment {
        Some(commitment) => format!("{what}, for the input committed to as {commitment}"),
        None => what,
    };
    match &verified.weights_commitment {
        Some(commitment) => format!("{what}, by the weights committed to as {commitment}"),
        None => what,
    }
}

pub fn verify(args: VerifyArgs) -> Result<()> {
    if args.proofs.len() > 1 {
        return verify_batch(&args);
    }
    let result = verify_one(&args, &args.proofs[0]);
    match (&result, args.json) {
        (Ok((verified, slices)), true) => {
            let mut fields = serde_json::Map::new();
            fields.insert("verified".into(), json!(true));
            fields.extend(verified_json(verified));
            if let Some(slices) = slices {
                fields.insert("slices".into(), json!(slices));
            }
            println!("{}", serde_json::Value::Object(fields));
        }
        (Ok((verified, slices)), false) => println!(
            "proof is valid: {}{}",
            verified_text(verified),
            slices.map_or(String::new(), |n| format!(" ({n} linked slices)"))
        ),
        (Err(e), true) => println!("{}", json!({ "verified": false, "error": e.to_string() })),
        (Err(_), false) => {}
    }
    result.map(|_| ())
}

/// The circuit a proof is checked against: the model's, or its claim circuit.
fn circuit_for(compiled: &Arc<CompiledModel>, claim: Option<&Claim>) -> Result<Arc<CompiledModel>> {
    match claim {
        Some(claim) => Ok(Arc::new(compiled.with_claim(claim)?)),
        None => Ok(compiled.clone()),
    }
}

/// Verifies one proof; returns what it proves and, for a sliced model, its number of slices.
fn verify_one(
    args: &VerifyArgs,
    path: &std::path::Path,
) -> Result<(VerifiedOutput, Option<usize>)> {
    let compiled = load_compiled(&args.model)?;
    let proof = Proof::from_json(&read(path)?).map_err(|e| Error::Artifact(e).in_file(path))?;
    let compiled = circuit_for(&compiled, proof.claim.as_ref())?;
    let params = load_params(&args.cache, compiled.k)?;
    match compiled.sliced() {
        Some(sliced) => {
            let slices = sliced.len();
            let verifier = compiled.sliced_verifier_with(params, &args.cache.keys())?;
            Ok((verifier.verify(&proof)?, Some(slices)))
        }
        None => {
            let verifier = compiled.verifier_with(params, &args.cache.keys())?;
            report_key_source(verifier.key_source());
            Ok((verifier.verify(&proof)?, None))
        }
    }
}

/// Verifies several proofs of one model as batches (one per claim) and reports each.
fn verify_batch(args: &VerifyArgs) -> Result<()> {
    let compiled = load_compiled(&args.model)?;
    // Unreadable proofs fail on their own; the others go into the batch of their claim.
    let loaded: Vec<Result<Proof>> = args
        .proofs
        .iter()
        .map(|path| {
            read(path).and_then(|bytes| {
                Proof::from_json(&bytes).map_err(|e| Error::Artifact(e).in_file(path))
            })
        })
        .collect();
    let mut groups: Vec<(Option<Claim>, Vec<usize>)> = Vec::new();
    for (i, proof) in loaded.iter().enumerate() {
        let Ok(proof) = proof else { continue };
        match groups.iter_mut().find(|(claim, _)| *claim == proof.claim) {
            Some((_, members)) => members.push(i),
            None => groups.push((proof.claim.clone(), vec![i])),
        }
    }
    let mut verified: Vec<Option<Result<VerifiedOutput>>> = loaded.iter().map(|_| None).collect();
    for (claim, members) in groups {
        let proofs: Vec<Proof> = members
            .iter()
            .filter_map(|&i| loaded[i].as_ref().ok().cloned())
            .collect();
        let circuit = match claim.as_ref().map(|c| compiled.with_claim(c)) {
            Some(Err(e)) => {
                for &i in &members {
                    verified[i] = Some(Err(Error::Claim(e.clone())));
                }
                continue;
            }
            Some(Ok(circuit)) => Arc::new(circuit),
            None => compiled.clone(),
        };
        let params = load_params(&args.cache, circuit.k)?;
        let results = if circuit.sliced().is_some() {
            // Each sliced proof is checked on its own (its slices have different keys).
            let verifier = circuit.sliced_verifier_with(params, &args.cache.keys())?;
            proofs.iter().map(|p| verifier.verify(p)).collect()
        } else {
            let verifier = circuit.verifier_with(params, &args.cache.keys())?;
            report_key_source(verifier.key_source());
            verifier.verify_batch(&proofs)
        };
        for (&i, result) in members.iter().zip(results) {
            verified[i] = Some(result.map_err(Error::Verify));
        }
    }
    let results: Vec<Result<VerifiedOutput>> = loaded
        .into_iter()
        .zip(verified)
        .map(|(loaded, verified)| match (loaded, verified) {
            (Err(e), _) => Err(e),
            (Ok(_), Some(result)) => result,
            (Ok(_), None) => unreachable!("every readable proof is in a batch"),
        })
        .collect();
    let failed: Vec<String> = args
        .proofs
        .iter()
        .zip(&results)
        .filter(|(_, r)| r.is_err())
        .map(|(p, _)| p.display().to_string())
        .collect();
    if args.json {
        let proofs: Vec<_> = args
            .proofs
            .iter()
            .zip(&results)
            .map(|(path, r)| match r {
                Ok(verified) => {
                    let mut fields = serde_json::Map::new();
                    fields.insert("proof".into(), json!(path));
                    fields.insert("verified".into(), json!(true));
                    fields.extend(verified_json(verified));
                    serde_json::Value::Object(fields)
                }
                Err(e) => json!({ "proof": path, "verified": false, "error": e.to_string() }),
            })
            .collect();
        println!(
            "{}",
            json!({ "verified": failed.is_empty(), "proofs": proofs })
        );
    } else {
        for (path, r) in args.proofs.iter().zip(&results) {
            match r {
                Ok(verified) => println!("{}: valid, {}", path.display(), verified_text(verified)),
                Err(e) => println!("{}: INVALID: {e}", path.display()),
            }
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::BatchRejected {
            failed: failed.len(),
            total: args.proofs.len(),
            which: failed.join(", "),
        })
    }
}
