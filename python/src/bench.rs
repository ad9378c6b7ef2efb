//! `Model.bench`: the stages of one proof with this model object, timed.
//!
//! It measures what the package itself does — parameters, keys (from the key store when it
//! holds them, as a later `prove` would), proving (median of several proofs), verification —
//! with keys built afresh, so a model object's cached keys do not hide their cost. The command
//! line's `zkinfer bench` goes further (float inference, key generation from scratch, batch
//! verification); this is the Python-side counterpart of its proving figures.

use std::time::Instant;

use serde_json::json;
use zkinfer::{Error, KeySource, LinkSecret};

use crate::keys::Keys;
use crate::model::NativeModel;

fn ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1e3
}

fn median(times: &mut [f64]) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn source_name(source: &KeySource) -> &'static str {
    match source {
        KeySource::Sealed => "sealed",
        KeySource::Stored => "stored",
        KeySource::Generated => "generated",
        KeySource::Replaced(_) => "replaced",
    }
}

/// Times the stages of proving `sample` (see the module docs).
pub fn bench(
    model: &NativeModel,
    sample: &[f32],
    prove_runs: usize,
) -> Result<serde_json::Value, Error> {
    let compiled = &model.compiled;
    compiled.require_weights()?;
    let runs = prove_runs.clamp(1, 100);
    let input = compiled.model.quantize_input(0, sample)?;

    let start = Instant::now();
    for _ in 0..10 {
        compiled.model.run(0, sample)?;
    }
    let quantized_us = ms(start) * 100.0;

    let keys = Keys::new(model.keys.cache().clone(), model.keys.stores_keys());
    let start = Instant::now();
    keys.params(compiled.k)?;
    let params_ms = ms(start);

    let mut prove_ms = Vec::with_capacity(runs);
    let (keygen_ms, key_source, proof, verify_ms, slice_ms) = match compiled.sliced() {
        None => {
            let start = Instant::now();
            let prover = keys.prover(compiled, None)?;
            let keygen_ms = ms(start);
            let mut proof = None;
            for _ in 0..runs {
                let start = Instant::now();
                proof = Some(prover.prove_quantized(&input, crate::model::os_rng())?);
                prove_ms.push(ms(start));
            }
            let proof = proof.expect("at least one run");
            let start = Instant::now();
            prover.verifier().verify(&proof)?;
            let source = source_name(prover.verifier().key_source());
            (keygen_ms, source, proof, ms(start), Vec::new())
        }
        Some(sliced) => {
            let start = Instant::now();
            let provers = (0..sliced.len())
                .map(|i| keys.slice_prover(compiled, None, i))
                .collect::<Result<Vec<_>, _>>()?;
            let keygen_ms = ms(start);
            let mut proof = None;
            let mut slice_ms = vec![Vec::with_capacity(runs); sliced.len()];
            for _ in 0..runs {
                let start = Instant::now();
                let whole = compiled.sliced_trace(&input)?;
                let secret = LinkSecret::random();
                let mut parts = Vec::with_capacity(provers.len());
                for (i, prover) in provers.iter().enumerate() {
                    let slice_start = Instant::now();
                    parts.push(prover.prove(&input, &whole, &secret, crate::model::os_rng())?);
                    slice_ms[i].push(ms(slice_start));
                }
                proof = Some(compiled.join(&parts)?);
                prove_ms.push(ms(start));
            }
            let proof = proof.expect("at least one run");
            let verifier = keys.sliced_verifier(compiled, None)?;
            let start = Instant::now();
            verifier.verify(&proof)?;
            let source = source_name(provers[0].verifier().key_source());
            let slice_ms = slice_ms.iter_mut().map(|t| median(t)).collect();
            (keygen_ms, source, proof, ms(start), slice_ms)
        }
    };
    let prove_min_ms = prove_ms.iter().copied().fold(f64::INFINITY, f64::min);
    let transcript_bytes = proof.transcript.len()
        + proof
            .slices
            .iter()
            .map(|s| s.transcript.len())
            .sum::<usize>();
    Ok(json!({
        "k": compiled.k,
        "slices": compiled.sliced().map(|s| s.len()),
        "quantized_us": quantized_us,
        "params_ms": params_ms,
        "keygen_ms": keygen_ms,
        "key_source": key_source,
        "prove_ms": median(&mut prove_ms),
        "prove_min_ms": prove_min_ms,
        "prove_runs": runs,
        "slice_prove_ms": slice_ms,
        "verify_ms": verify_ms,
        "proof_bytes": transcript_bytes,
        "proof_file_bytes": proof.to_json().len(),
        "threads": rayon_threads(),
    }))
}

/// Threads the prover's rayon pool uses.
fn rayon_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
}
