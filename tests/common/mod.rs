//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use zkinfer::input::parse_samples;
use zkinfer::{CompileOptions, CompiledModel, Model, ParamsCache, Prover, QuantizeOptions};

/// A file under `fixtures/`.
pub fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(path)
}

/// The parameter cache shared by all tests (kept under `target/`, so reruns are fast).
pub fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("zkinfer-params")
}

/// Runs the `zkinfer` binary (with the shared parameter cache), asserts it succeeds and returns
/// its standard output.
#[track_caller]
pub fn run_ok(args: &[&str]) -> String {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_zkinfer"))
        .args(args)
        .env("ZKINFER_CACHE_DIR", cache_dir())
        .output()
        .expect("the zkinfer binary runs");
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "{args:?}: {text}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    text
}

/// Asserts that a `zkinfer` command failed as a user should see it: exit code 1, no panic, and a
/// final `error:` line mentioning every needle.
#[track_caller]
pub fn assert_cli_error(o: &std::process::Output, needles: &[&str]) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(1),
        "stdout: {}\nstderr: {err}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(
        !err.contains("panicked") && !err.contains("internal error"),
        "{err}"
    );
    let last = err.lines().last().unwrap_or("");
    assert!(last.starts_with("error: "), "{err}");
    for needle in needles {
        assert!(last.contains(needle), "expected {needle:?} in {last:?}");
    }
}

/// Reads a fixture model.
pub fn model(dir: &str) -> Model {
    Model::from_onnx(&std::fs::read(fixture(&format!("{dir}/model.onnx"))).unwrap()).unwrap()
}

/// Reads a fixture's samples (`input.json`, `calibration.json`, `test.json`).
pub fn samples(dir: &str, file: &str, input_len: usize) -> Vec<Vec<f32>> {
    parse_samples(
        &std::fs::read(fixture(&format!("{dir}/{file}"))).unwrap(),
        input_len,
    )
    .unwrap()
}

/// Compiles a fixture with its calibration data.
pub fn compile(dir: &str, options: QuantizeOptions) -> Arc<CompiledModel> {
    let model = model(dir);
    let calibration = samples(dir, "calibration.json", model.graph().input().len());
    Arc::new(
        model
            .compile(&calibration, options, CompileOptions::default())
            .unwrap(),
    )
}

/// Builds the prover of a compiled model with cached parameters.
pub fn prover(compiled: &Arc<CompiledModel>) -> Prover {
    let (params, _) = ParamsCache::new(cache_dir())
        .load_or_generate(compiled.k, |_| {})
        .unwrap();
    compiled.prover(Arc::new(params)).unwrap()
}

/// The 64-32-10 MLP and its prover, built once per test binary.
pub static SMALL_MLP: LazyLock<(Arc<CompiledModel>, Prover)> = LazyLock::new(|| {
    let compiled = compile("mlp_64_32_10", QuantizeOptions::default());
    let prover = prover(&compiled);
    (compiled, prover)
});
