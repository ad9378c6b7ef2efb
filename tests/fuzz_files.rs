//! Bounded fuzzing of every file a stranger can hand zkinfer: proof files, compiled models,
//! input files and ONNX models. Each case mutates a genuine file (flipped bits, overwritten,
//! inserted and deleted bytes, truncation, JSON values replaced by others of any type and size)
//! and feeds it to the reader — and, when it is accepted, to what comes next (verification,
//! inference). Nothing may panic; every refusal is an error value. The number of cases is
//! `ZKINFER_FUZZ_CASES` (default 256 per kind of file and mutation; raise it for longer
//! runs, as SECURITY.md reports).

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, LazyLock};

use proptest::prelude::*;
use serde_json::Value;
use zkinfer::input::parse_samples;
use zkinfer::{CompiledModel, Model, Proof};

use common::{fixture, samples, SMALL_MLP};

fn cases() -> u32 {
    std::env::var("ZKINFER_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256)
}

/// A byte-level mutation.
#[derive(Clone, Debug)]
enum Edit {
    Flip { at: usize, bit: u8 },
    Set { at: usize, byte: u8 },
    Insert { at: usize, bytes: Vec<u8> },
    Delete { at: usize, len: usize },
    Truncate { at: usize },
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Edit::Flip { at, bit }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Edit::Set { at, byte }),
        (
            any::<usize>(),
            proptest::collection::vec(any::<u8>(), 1..16)
        )
            .prop_map(|(at, bytes)| Edit::Insert { at, bytes }),
        (any::<usize>(), 1usize..64).prop_map(|(at, len)| Edit::Delete { at, len }),
        any::<usize>().prop_map(|at| Edit::Truncate { at }),
    ]
}

fn apply(bytes: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for edit in edits {
        let len = out.len().max(1);
        match edit {
            Edit::Flip { at, bit } => {
                if !out.is_empty() {
                    out[at % len] ^= 1 << bit;
                }
            }
            Edit::Set { at, byte } => {
                if !out.is_empty() {
                    out[at % len] = *byte;
                }
            }
            Edit::Insert { at, bytes } => {
                let at = at % (out.len() + 1);
                out.splice(at..at, bytes.iter().copied());
            }
            Edit::Delete { at, len: n } => {
                let at = at % len;
                let end = (at + n).min(out.len());
                if at < end {
                    out.drain(at..end);
                }
            }
            Edit::Truncate { at } => out.truncate(at % len),
        }
    }
    out
}

/// JSON values of every type, including large numbers and long arrays and strings.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        Just(Value::from(u64::MAX)),
        Just(Value::from(i64::MIN)),
        Just(Value::from(1u64 << 40)),
        ".{0,40}".prop_map(Value::String),
        (0usize..3, 0usize..100_000).prop_map(|(kind, n)| match kind {
            0 => Value::String("f".repeat(n)),
            1 => Value::Array(vec![Value::from(1); n.min(5_000)]),
            _ => Value::from(n),
        }),
    ];
    leaf.prop_recursive(2, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((".{0,8}", inner), 0..4)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// Every path (object keys, array indices) of a JSON document, up to `limit` of them spread
/// over the document.
fn paths(value: &Value, limit: usize) -> Vec<Vec<PathStep>> {
    fn walk(value: &Value, here: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
        out.push(here.clone());
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    here.push(PathStep::Key(key.clone()));
                    walk(child, here, out);
                    here.pop();
                }
            }
            Value::Array(items) => {
                // Long arrays: their ends and a few in between.
                let n = items.len();
                let picks: Vec<usize> = if n <= 6 {
                    (0..n).collect()
                } else {
                    vec![0, 1, n / 3, n / 2, n - 2, n - 1]
                };
                for i in picks {
                    here.push(PathStep::Index(i));
                    walk(&items[i], here, out);
                    here.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, &mut Vec::new(), &mut out);
    if out.len() > limit {
        let step = out.len() / limit;
        out = out.into_iter().step_by(step.max(1)).collect();
    }
    out
}

#[derive(Clone, Debug)]
enum PathStep {
    Key(String),
    Index(usize),
}

fn replace_at(doc: &mut Value, path: &[PathStep], new: Value) {
    let mut here = doc;
    for step in path {
        here = match (step, here) {
            (PathStep::Key(k), Value::Object(map)) => map.get_mut(k).expect("path exists"),
            (PathStep::Index(i), Value::Array(items)) => &mut items[*i],
            _ => unreachable!("paths come from the document"),
        };
    }
    *here = new;
}

/// Runs `f`, failing the case if it panics.
fn no_panic<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, TestCaseError> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|_| TestCaseError::fail(format!("{what} panicked")))
}

/// A genuine proof of the small MLP, as JSON.
static PROOF: LazyLock<(Vec<u8>, Value)> = LazyLock::new(|| {
    let (compiled, prover) = &*SMALL_MLP;
    let input = &samples("mlp_64_32_10", "input.json", compiled.network().input_len())[0];
    let bytes = prover.prove(input).unwrap().to_json();
    let value = serde_json::from_slice(&bytes).unwrap();
    (bytes, value)
});

/// A genuine compiled model, as JSON.
static ZKM: LazyLock<(Vec<u8>, Value)> = LazyLock::new(|| {
    let bytes = SMALL_MLP.0.to_json();
    let value = serde_json::from_slice(&bytes).unwrap();
    (bytes, value)
});

/// The 64-32-10 MLP cut into three slices, its verifier and a genuine sliced proof (JSON).
static SLICED: LazyLock<(Arc<CompiledModel>, zkinfer::SlicedVerifier, Vec<u8>, Value)> =
    LazyLock::new(|| {
        let model = common::model("mlp_64_32_10");
        let calibration = samples("mlp_64_32_10", "calibration.json", 64);
        let compiled = Arc::new(
            model
                .compile(
                    &calibration,
                    zkinfer::QuantizeOptions::default(),
                    zkinfer::CompileOptions {
                        slices: Some(3),
                        ..Default::default()
                    },
                )
                .unwrap(),
        );
        let (params, _) = zkinfer::ParamsCache::new(common::cache_dir())
            .load_or_generate(compiled.k, |_| {})
            .unwrap();
        let params = Arc::new(params);
        let input = compiled.model.quantize_input(0, &calibration[0]).unwrap();
        let proof = compiled
            .prove_sliced(
                params.clone(),
                &input,
                &zkinfer::LinkSecret::random(),
                rand_core::UnwrapErr(rand::rngs::SysRng),
                |_, _| {},
            )
            .unwrap();
        let verifier = compiled.sliced_verifier(params).unwrap();
        let bytes = proof.to_json();
        let value = serde_json::from_slice(&bytes).unwrap();
        (compiled, verifier, bytes, value)
    });

/// Reads a sliced proof and, if it parses, verifies it and joins its slices as parts.
fn read_and_verify_sliced(bytes: &[u8]) -> Result<(), TestCaseError> {
    let (compiled, verifier, _, _) = &*SLICED;
    let parsed = no_panic("Proof::from_json", || Proof::from_json(bytes))?;
    if let Ok(proof) = parsed {
        let _ = no_panic("SlicedVerifier::verify", || verifier.verify(&proof))?;
        let parts: Vec<Proof> = proof
            .slices
            .iter()
            .map(|slice| Proof {
                format: zkinfer::artifact::PART_FORMAT.to_string(),
                slices: vec![slice.clone()],
                ..proof.clone()
            })
            .collect();
        let _ = no_panic("CompiledModel::join", || compiled.join(&parts))?;
    }
    Ok(())
}

/// Reads a proof and, if it parses, verifies it: both may refuse, neither may panic.
fn read_and_verify_proof(bytes: &[u8]) -> Result<(), TestCaseError> {
    let parsed = no_panic("Proof::from_json", || Proof::from_json(bytes))?;
    if let Ok(proof) = parsed {
        let verifier = SMALL_MLP.1.verifier();
        let _ = no_panic("Verifier::verify", || verifier.verify(&proof))?;
        let _ = no_panic("Verifier::verify_batch", || {
            verifier.verify_batch(&[proof.clone(), proof.clone()])
        })?;
    }
    let _ = no_panic("Proof::part_from_json", || Proof::part_from_json(bytes))?;
    Ok(())
}

/// Reads a compiled model and, if it loads, runs it on a sample: may refuse, may not panic.
fn read_and_run_model(bytes: &[u8]) -> Result<(), TestCaseError> {
    let loaded = no_panic("CompiledModel::from_json", || {
        CompiledModel::from_json(bytes)
    })?;
    if let Ok(model) = loaded {
        let model = Arc::new(model);
        let input = vec![0.25f32; model.network().input_len()];
        let _ = no_panic("QuantizedModel::run", || model.model.run(0, &input))?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn proof_files_with_edited_bytes(edits in proptest::collection::vec(edit(), 1..4)) {
        read_and_verify_proof(&apply(&PROOF.0, &edits))?;
    }

    #[test]
    fn proof_files_with_replaced_values(index in any::<usize>(), value in json_value()) {
        let mut doc = PROOF.1.clone();
        let all = paths(&doc, 400);
        replace_at(&mut doc, &all[index % all.len()], value);
        read_and_verify_proof(&serde_json::to_vec(&doc).unwrap())?;
    }

    #[test]
    fn sliced_proofs_with_edited_bytes(edits in proptest::collection::vec(edit(), 1..4)) {
        read_and_verify_sliced(&apply(&SLICED.2, &edits))?;
    }

    #[test]
    fn sliced_proofs_with_replaced_values(index in any::<usize>(), value in json_value()) {
        let mut doc = SLICED.3.clone();
        let all = paths(&doc, 400);
        replace_at(&mut doc, &all[index % all.len()], value);
        read_and_verify_sliced(&serde_json::to_vec(&doc).unwrap())?;
    }

    #[test]
    fn model_files_with_edited_bytes(edits in proptest::collection::vec(edit(), 1..4)) {
        read_and_run_model(&apply(&ZKM.0, &edits))?;
    }

    #[test]
    fn model_files_with_replaced_values(index in any::<usize>(), value in json_value()) {
        let mut doc = ZKM.1.clone();
        let all = paths(&doc, 2_000);
        replace_at(&mut doc, &all[index % all.len()], value);
        read_and_run_model(&serde_json::to_vec(&doc).unwrap())?;
    }

    #[test]
    fn input_files_with_edited_bytes(edits in proptest::collection::vec(edit(), 1..4), len in 0usize..100) {
        let genuine = std::fs::read(fixture("mlp_64_32_10/input.json")).unwrap();
        let bytes = apply(&genuine, &edits);
        let _ = no_panic("parse_samples", || parse_samples(&bytes, len))?;
        let parsed = no_panic("parse_samples", || parse_samples(&bytes, 64))?;
        if let Ok(samples) = parsed {
            let model = &SMALL_MLP.0.model;
            for (i, sample) in samples.iter().enumerate() {
                let _ = no_panic("quantize_input", || model.quantize_input(i, sample))?;
            }
        }
    }

    #[test]
    fn onnx_files_with_edited_bytes(edits in proptest::collection::vec(edit(), 1..4)) {
        let genuine = std::fs::read(fixture("mlp_64_32_10/model.onnx")).unwrap();
        let bytes = apply(&genuine, &edits);
        let imported = no_panic("Model::from_onnx", || Model::from_onnx(&bytes))?;
        if let Ok(model) = imported {
            let calibration = vec![vec![0.5f32; model.graph().input().len()]];
            let _ = no_panic("Model::compile", || {
                model.compile(
                    &calibration,
                    zkinfer::QuantizeOptions::default(),
                    zkinfer::CompileOptions::default(),
                )
            })?;
        }
    }
}

/// The fuzzers start from files the readers accept, so their mutations reach past the first
/// check: the genuine files load, verify and join.
#[test]
fn the_genuine_files_are_accepted() {
    let proof = Proof::from_json(&PROOF.0).unwrap();
    SMALL_MLP.1.verifier().verify(&proof).unwrap();
    let (compiled, verifier, bytes, _) = &*SLICED;
    let sliced = Proof::from_json(bytes).unwrap();
    verifier.verify(&sliced).unwrap();
    let parts: Vec<Proof> = sliced
        .slices
        .iter()
        .map(|slice| Proof {
            format: zkinfer::artifact::PART_FORMAT.to_string(),
            slices: vec![slice.clone()],
            ..sliced.clone()
        })
        .collect();
    assert_eq!(compiled.join(&parts).unwrap().to_json(), sliced.to_json());
    CompiledModel::from_json(&ZKM.0).unwrap();
    Model::from_onnx(&std::fs::read(fixture("mlp_64_32_10/model.onnx")).unwrap()).unwrap();
}
