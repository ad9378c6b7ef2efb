//! Criterion benchmarks of every fixture model: witness generation, proving and verification.
//!
//! ```text
//! cargo bench --bench prover                       # all fixtures
//! cargo bench --bench prover -- lenet5             # one model
//! ```
//!
//! Parameters are cached in `$ZKINFER_CACHE_DIR` (or `~/.cache/zkinfer`). Proving the larger
//! CNNs takes seconds per iteration, so these benchmarks take a few minutes.

use std::path::Path;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use rand::SeedableRng;
use zkinfer::input::parse_samples;
use zkinfer::{CompileOptions, Model, ParamsCache, QuantizeOptions};

const MODELS: &[&str] = &[
    "mlp_64_32_10",
    "mlp_784_128_64_10",
    "lenet5",
    "transformer_block",
    "resnet_small",
    "cifar_cnn",
];

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(path),
    )
    .expect("fixture exists")
}

fn bench_model(c: &mut Criterion, name: &str) {
    let model = Model::from_onnx(&fixture(&format!("{name}/model.onnx"))).unwrap();
    let len = model.graph().input().len();
    let calibration = parse_samples(&fixture(&format!("{name}/calibration.json")), len).unwrap();
    let input = parse_samples(&fixture(&format!("{name}/input.json")), len)
        .unwrap()
        .remove(0);
    let compiled = Arc::new(
        model
            .compile(
                &calibration,
                QuantizeOptions::default(),
                CompileOptions::default(),
            )
            .unwrap(),
    );
    let (params, _) = ParamsCache::from_env()
        .load_or_generate(compiled.k, |_| {})
        .unwrap();
    let prover = compiled.prover(Arc::new(params)).unwrap();
    let quantised = compiled.model.quantize_input(0, &input).unwrap();

    let mut group = c.benchmark_group(name);
    group.sample_size(10);
    group.bench_function("witness", |b| {
        b.iter(|| compiled.witness(&quantised).unwrap())
    });
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    group.bench_function("prove", |b| {
        b.iter(|| prover.prove_quantized(&quantised, &mut rng).unwrap())
    });
    let proof = prover.prove_quantized(&quantised, &mut rng).unwrap();
    group.bench_function("verify", |b| {
        b.iter(|| prover.verifier().verify(&proof).unwrap())
    });
    let batch = vec![proof; 16];
    group.bench_function("verify_batch_16", |b| {
        b.iter(|| prover.verifier().verify_batch(&batch))
    });
    group.finish();
}

fn models(c: &mut Criterion) {
    for name in MODELS {
        bench_model(c, name);
    }
}

criterion_group!(benches, models);
criterion_main!(benches);
