//! Criterion benchmarks: witness generation, proving and verification of the fixture MLPs.
//!
//! `cargo bench` (parameters are cached in `$ZKINFER_CACHE_DIR` or `~/.cache/zkinfer`).

use std::path::Path;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use rand::SeedableRng;
use zkinfer::input::parse_samples;
use zkinfer::{CompileOptions, Model, ParamsCache, QuantizeOptions};

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
    group.finish();
}

fn mlps(c: &mut Criterion) {
    bench_model(c, "mlp_64_32_10");
    bench_model(c, "mlp_784_128_64_10");
}

criterion_group!(benches, mlps);
criterion_main!(benches);
