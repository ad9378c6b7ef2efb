//! Proof costs of every fixture against the committed baseline `fixtures/costs.json`.
//!
//! The check fails when any cost grows past the baseline. If the growth is intended, regenerate
//! the baseline in the same change:
//!
//! ```text
//! ZKINFER_UPDATE_COSTS=1 cargo test --test cost_baseline
//! ```

mod common;

use std::collections::BTreeMap;

use std::sync::Arc;

use common::{fixture, samples, SMALL_MLP};
use serde::{Deserialize, Serialize};
use zkinfer::{CompileOptions, QuantizeOptions, Visibility, WeightVisibility};

const FIXTURES: &[&str] = &[
    "mlp_64_32_10",
    "mlp_784_128_64_10",
    "lenet5",
    "cifar_cnn",
    "resnet_small",
    "transformer_block",
    "transformer_block_legacy",
];

/// Fixtures compiled with hashed values or committed weights: `(baseline name, fixture,
/// options)`.
fn variants() -> [(&'static str, &'static str, CompileOptions); 3] {
    let hashed_input = CompileOptions {
        input: Visibility::Hashed,
        ..CompileOptions::default()
    };
    [
        ("mlp_64_32_10+hashed_input", "mlp_64_32_10", hashed_input),
        (
            "mlp_64_32_10+committed_weights",
            "mlp_64_32_10",
            CompileOptions {
                weights: WeightVisibility::Committed,
                ..CompileOptions::default()
            },
        ),
        (
            "mlp_784_128_64_10+hashed_input",
            "mlp_784_128_64_10",
            hashed_input,
        ),
    ]
}

/// The deterministic costs of one compiled fixture.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Costs {
    shape: String,
    k: u32,
    rows: usize,
    advice_columns: usize,
    fixed_columns: usize,
    instance_columns: usize,
    lookups: usize,
    proof_bytes: usize,
}

impl Costs {
    /// `(name, value)` pairs that must not grow.
    fn metrics(&self) -> [(&'static str, usize); 7] {
        [
            ("k", self.k as usize),
            ("rows", self.rows),
            ("advice_columns", self.advice_columns),
            ("fixed_columns", self.fixed_columns),
            ("instance_columns", self.instance_columns),
            ("lookups", self.lookups),
            ("proof_bytes", self.proof_bytes),
        ]
    }
}

fn measure(dir: &str, options: CompileOptions) -> Costs {
    let model = common::model(dir);
    let calibration = samples(dir, "calibration.json", model.graph().input().len());
    let compiled = Arc::new(
        model
            .compile(&calibration, QuantizeOptions::default(), options)
            .unwrap(),
    );
    let c = &compiled.cost;
    Costs {
        shape: c.shape.name().to_string(),
        k: c.k,
        rows: c.rows,
        advice_columns: c.advice_columns,
        fixed_columns: c.fixed_columns,
        instance_columns: c.instance_columns,
        lookups: c.lookups,
        proof_bytes: compiled.proof_bytes(),
    }
}

#[test]
fn proof_size_prediction_matches_a_real_proof() {
    let (compiled, prover) = &*SMALL_MLP;
    let input = common::samples(
        "mlp_64_32_10",
        "input.json",
        compiled.model.network.input_len(),
    )
    .remove(0);
    let proof = prover.prove(&input).unwrap();
    assert_eq!(proof.transcript.len(), compiled.proof_bytes());
}

#[test]
fn costs_do_not_grow_past_the_baseline() {
    let path = fixture("costs.json");
    let current: BTreeMap<String, Costs> = FIXTURES
        .iter()
        .map(|&d| (d, d, CompileOptions::default()))
        .chain(variants())
        .map(|(name, dir, options)| (name.to_string(), measure(dir, options)))
        .collect();
    if std::env::var_os("ZKINFER_UPDATE_COSTS").is_some() {
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&current).unwrap() + "\n",
        )
        .unwrap();
        return;
    }
    let baseline: BTreeMap<String, Costs> = serde_json::from_slice(
        &std::fs::read(&path)
            .expect("fixtures/costs.json exists (ZKINFER_UPDATE_COSTS=1 writes it)"),
    )
    .unwrap();
    let mut grown = Vec::new();
    for (model, now) in &current {
        let Some(before) = baseline.get(model) else {
            grown.push(format!("{model}: no baseline"));
            continue;
        };
        for ((name, was), (_, is)) in before.metrics().iter().zip(now.metrics()) {
            if is > *was {
                grown.push(format!("{model}: {name} grew from {was} to {is}"));
            }
        }
    }
    assert!(
        grown.is_empty(),
        "proof costs grew past fixtures/costs.json:\n  {}\nIf this is intended, update the baseline in the same change: \
         ZKINFER_UPDATE_COSTS=1 cargo test --test cost_baseline",
        grown.join("\n  ")
    );
}
