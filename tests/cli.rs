//! The command line: the happy path, and a clear exit-1 error for every kind of bad input.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::LazyLock;

use common::{assert_cli_error, cache_dir, fixture};

fn zkinfer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkinfer"))
        .args(args)
        .env("ZKINFER_CACHE_DIR", cache_dir())
        .output()
        .expect("the zkinfer binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[track_caller]
fn assert_ok(o: &Output) {
    assert!(o.status.success(), "failed: {}\n{}", stdout(o), stderr(o));
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

const MODEL: &str = "mlp_64_32_10";

struct Setup {
    dir: tempfile::TempDir,
    zkm: PathBuf,
    other_zkm: PathBuf,
    proof: PathBuf,
}

impl Setup {
    fn file(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, contents).unwrap();
        p
    }
}

static SETUP: LazyLock<Setup> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let zkm = dir.path().join("model.zkm");
    let onnx = fixture(&format!("{MODEL}/model.onnx"));
    let cal = fixture(&format!("{MODEL}/calibration.json"));
    assert_ok(&zkinfer(&[
        "compile",
        path(&onnx),
        "--calibration",
        path(&cal),
        "-o",
        path(&zkm),
    ]));
    let other_zkm = dir.path().join("other.zkm");
    assert_ok(&zkinfer(&[
        "compile",
        path(&onnx),
        "--calibration",
        path(&cal),
        "--activation-bits",
        "9",
        "-o",
        path(&other_zkm),
    ]));
    let proof = dir.path().join("proof.json");
    let input = fixture(&format!("{MODEL}/input.json"));
    assert_ok(&zkinfer(&[
        "prove",
        path(&zkm),
        "--input",
        path(&input),
        "-o",
        path(&proof),
    ]));
    Setup {
        dir,
        zkm,
        other_zkm,
        proof,
    }
});

fn proof_json() -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(&SETUP.proof).unwrap()).unwrap()
}

#[test]
fn compile_reports_cost_and_fidelity() {
    let onnx = fixture(&format!("{MODEL}/model.onnx"));
    let cal = fixture(&format!("{MODEL}/calibration.json"));
    let out = SETUP.dir.path().join("again.zkm");
    let o = zkinfer(&[
        "compile",
        path(&onnx),
        "--calibration",
        path(&cal),
        "-o",
        path(&out),
    ]);
    assert_ok(&o);
    let text = stdout(&o);
    for needle in [
        "k = ",
        "rows = ",
        "advice",
        "fixed",
        "lookups = 0",
        "max abs error",
        "argmax agreement",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(&SETUP.zkm).unwrap(),
        "compile is deterministic"
    );
}

#[test]
fn run_prove_verify_agree() {
    let input = fixture(&format!("{MODEL}/input.json"));
    let run = zkinfer(&["run", path(&SETUP.zkm), "--input", path(&input), "--json"]);
    assert_ok(&run);
    let run: serde_json::Value = serde_json::from_str(&stdout(&run)).unwrap();
    let verify = zkinfer(&["verify", path(&SETUP.zkm), path(&SETUP.proof), "--json"]);
    assert_ok(&verify);
    let verify: serde_json::Value = serde_json::from_str(&stdout(&verify)).unwrap();
    assert_eq!(verify["verified"], true);
    assert_eq!(verify["outputs"], run["outputs"]);
    let proof = proof_json();
    for key in ["format", "version", "model_digest", "outputs", "transcript"] {
        assert!(proof.get(key).is_some(), "proof lacks {key}");
    }
    assert_eq!(proof["outputs"][0].as_array().unwrap().len(), 10);
}

#[test]
fn run_handles_several_samples() {
    let cal = fixture(&format!("{MODEL}/calibration.json"));
    let o = zkinfer(&["run", path(&SETUP.zkm), "--input", path(&cal), "--json"]);
    assert_ok(&o);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["outputs"].as_array().unwrap().len(), 200);
}

#[test]
fn missing_and_truncated_files() {
    let missing = SETUP.dir.path().join("nope.onnx");
    assert_cli_error(
        &zkinfer(&[
            "compile",
            path(&missing),
            "-o",
            path(&SETUP.dir.path().join("x.zkm")),
        ]),
        &["cannot read", "nope.onnx"],
    );
    let onnx = std::fs::read(fixture(&format!("{MODEL}/model.onnx"))).unwrap();
    let truncated = SETUP.file("truncated.onnx", &onnx[..onnx.len() / 2]);
    assert_cli_error(
        &zkinfer(&[
            "compile",
            path(&truncated),
            "-o",
            path(&SETUP.dir.path().join("x.zkm")),
        ]),
        &["not a valid ONNX model"],
    );
    let zkm = std::fs::read(&SETUP.zkm).unwrap();
    let truncated = SETUP.file("truncated.zkm", &zkm[..zkm.len() / 2]);
    let input = fixture(&format!("{MODEL}/input.json"));
    assert_cli_error(
        &zkinfer(&["run", path(&truncated), "--input", path(&input)]),
        &["compiled model is malformed"],
    );
    let proof = std::fs::read(&SETUP.proof).unwrap();
    let truncated = SETUP.file("truncated.json", &proof[..proof.len() / 2]);
    assert_cli_error(
        &zkinfer(&["verify", path(&SETUP.zkm), path(&truncated)]),
        &["proof is malformed"],
    );
}

#[test]
fn unsupported_operators_are_all_listed() {
    let out = SETUP.dir.path().join("never.zkm");
    let o = zkinfer(&[
        "compile",
        path(&fixture("variants/many_unsupported.onnx")),
        "-o",
        path(&out),
    ]);
    assert_cli_error(
        &o,
        &[
            "InstanceNormalization (node 'inorm')",
            "Elu (node 'elu')",
            "Resize (node 'upsample')",
        ],
    );
    let o = zkinfer(&[
        "compile",
        path(&fixture("variants/lstm.onnx")),
        "-o",
        path(&out),
    ]);
    assert_cli_error(&o, &["LSTM (node 'rnn')"]);
    assert!(!out.exists());
}

#[test]
fn bad_input_files() {
    let zkm = path(&SETUP.zkm);
    let cases: Vec<(&str, &str, Vec<&str>)> = vec![
        (
            "short.json",
            r#"{"input_data": [[0.5, 0.5, 0.5]]}"#,
            vec!["has 3 values", "takes 64"],
        ),
        ("nan.json", r#"{"input_data": [[NaN]]}"#, vec!["not valid"]),
        (
            "inf.json",
            &*Box::leak(
                format!(r#"{{"input_data": [[1e40{}]]}}"#, ", 0.0".repeat(63)).into_boxed_str(),
            ),
            vec!["index 0", "not a finite number"],
        ),
        (
            "malformed.json",
            r#"{"input_data": [[0.1, 0.2"#,
            vec!["not valid"],
        ),
        (
            "wrong_key.json",
            r#"{"inputs": [[0.1]]}"#,
            vec!["not valid"],
        ),
        (
            "range.json",
            &*Box::leak(
                format!(r#"{{"input_data": [[1000.0{}]]}}"#, ", 0.0".repeat(63)).into_boxed_str(),
            ),
            vec!["outside the quantisation range"],
        ),
    ];
    for (name, contents, needles) in cases {
        let file = SETUP.file(name, contents);
        assert_cli_error(&zkinfer(&["run", zkm, "--input", path(&file)]), &needles);
        let proof = SETUP.dir.path().join("never.json");
        assert_cli_error(
            &zkinfer(&["prove", zkm, "--input", path(&file), "-o", path(&proof)]),
            &needles,
        );
        assert!(!proof.exists(), "no proof may be written for {name}");
    }
    let input = fixture(&format!("{MODEL}/input.json"));
    assert_cli_error(
        &zkinfer(&[
            "prove",
            zkm,
            "--input",
            path(&input),
            "--sample",
            "3",
            "-o",
            path(&SETUP.dir.path().join("x.json")),
        ]),
        &["sample 3 requested"],
    );
}

#[test]
fn forged_or_foreign_proofs_are_rejected() {
    let zkm = path(&SETUP.zkm);
    // A proof for another model.
    assert_cli_error(
        &zkinfer(&["verify", path(&SETUP.other_zkm), path(&SETUP.proof)]),
        &["another model"],
    );

    let mut changed = proof_json();
    let first = changed["outputs"][0][0].as_i64().unwrap();
    changed["outputs"][0][0] = (first + 1).into();
    let file = SETUP.file("changed.json", changed.to_string());
    assert_cli_error(
        &zkinfer(&["verify", zkm, path(&file)]),
        &["proof is invalid"],
    );

    let mut flipped = proof_json();
    let mut transcript = hex::decode(flipped["transcript"].as_str().unwrap()).unwrap();
    transcript[200] ^= 0x80;
    flipped["transcript"] = hex::encode(transcript).into();
    let file = SETUP.file("flipped.json", flipped.to_string());
    assert_cli_error(&zkinfer(&["verify", zkm, path(&file)]), &["invalid"]);

    let mut version = proof_json();
    version["version"] = 2.into();
    let file = SETUP.file("version.json", version.to_string());
    assert_cli_error(
        &zkinfer(&["verify", zkm, path(&file)]),
        &["format version 2"],
    );

    assert_cli_error(
        &zkinfer(&["verify", zkm, zkm]),
        &["format 'zkinfer-model', expected 'zkinfer-proof'"],
    );

    let o = zkinfer(&["verify", zkm, path(&file), "--json"]);
    assert_cli_error(&o, &["format version 2"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["verified"], false);
}

#[test]
fn several_proofs_are_verified_as_a_batch_and_bad_ones_named() {
    let zkm = path(&SETUP.zkm);
    let good = path(&SETUP.proof);
    let o = zkinfer(&["verify", zkm, good, good, "--json"]);
    assert_ok(&o);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["verified"], true);
    assert_eq!(v["proofs"].as_array().unwrap().len(), 2);

    let mut changed = proof_json();
    changed["outputs"][0][2] = (changed["outputs"][0][2].as_i64().unwrap() - 1).into();
    let bad = SETUP.file("batch_bad.json", changed.to_string());
    let o = zkinfer(&["verify", zkm, good, path(&bad), good]);
    assert_cli_error(&o, &["1 of 3 proofs are invalid", "batch_bad.json"]);
    assert!(
        stdout(&o).contains("batch_bad.json: INVALID"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn bench_reports_every_stage_as_json_even_when_the_output_is_private() {
    let m = "mlp_64_32_10";
    let o = zkinfer(&[
        "bench",
        path(&fixture(&format!("{m}/model.onnx"))),
        "--input",
        path(&fixture(&format!("{m}/input.json"))),
        "--calibration",
        path(&fixture(&format!("{m}/calibration.json"))),
        "--output-visibility",
        "private",
        "--prove-runs",
        "2",
        "--json",
    ]);
    assert_ok(&o);
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(report["prove_runs"], 2);
    assert!(report["prove_min_ms"].as_f64().unwrap() <= report["prove_ms"].as_f64().unwrap());
    for key in [
        "native_us",
        "commitment_tables_ms",
        "prove_ms",
        "verify_ms",
        "batch_verify_ms",
        "slowdown",
    ] {
        assert!(report[key].as_f64().unwrap() > 0.0, "{key}: {report}");
    }
    assert!(report["proof_bytes"].as_u64().unwrap() > 0);
    // The error against the float model comes from the proven integer forward pass, which the
    // proof itself does not reveal here.
    assert!(report["max_abs_error"].as_f64().unwrap() < 0.5, "{report}");
    assert_eq!(report["argmax_match"], true);
}

#[test]
fn sliced_models_prove_whole_or_in_parts_and_verify() {
    let dir = SETUP.dir.path();
    let onnx = fixture(&format!("{MODEL}/model.onnx"));
    let cal = fixture(&format!("{MODEL}/calibration.json"));
    let input = fixture(&format!("{MODEL}/input.json"));
    let zkm = dir.join("sliced.zkm");
    let o = zkinfer(&[
        "compile",
        path(&onnx),
        "--calibration",
        path(&cal),
        "--slices",
        "3",
        "-o",
        path(&zkm),
    ]);
    assert_ok(&o);
    let text = stdout(&o);
    for needle in [
        "sliced: 3 slices",
        "slice 0: nodes",
        "slice 2: nodes",
        "predicted prove",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    let run = zkinfer(&["run", path(&zkm), "--input", path(&input), "--json"]);
    assert_ok(&run);
    let run: serde_json::Value = serde_json::from_str(&stdout(&run)).unwrap();

    // The whole proof: progress per slice, one file, verified with its slice count.
    let proof = dir.join("sliced-proof.json");
    let o = zkinfer(&[
        "prove",
        path(&zkm),
        "--input",
        path(&input),
        "-o",
        path(&proof),
    ]);
    assert_ok(&o);
    assert!(stderr(&o).contains("slice 3/3"), "{}", stderr(&o));
    let verify = zkinfer(&["verify", path(&zkm), path(&proof), "--json"]);
    assert_ok(&verify);
    let verify: serde_json::Value = serde_json::from_str(&stdout(&verify)).unwrap();
    assert_eq!(verify["verified"], true);
    assert_eq!(verify["slices"], 3);
    assert_eq!(verify["outputs"], run["outputs"]);

    // In parts, joined in any order.
    let parts: Vec<PathBuf> = (0..3).map(|i| dir.join(format!("part{i}.json"))).collect();
    for (i, part) in parts.iter().enumerate() {
        let slice = i.to_string();
        let o = zkinfer(&[
            "prove",
            path(&zkm),
            "--input",
            path(&input),
            "--slice",
            &slice,
            "-o",
            path(part),
        ]);
        assert_ok(&o);
    }
    let joined = dir.join("joined.json");
    let o = zkinfer(&[
        "join",
        path(&zkm),
        path(&parts[2]),
        path(&parts[0]),
        path(&parts[1]),
        "-o",
        path(&joined),
    ]);
    assert_ok(&o);
    assert_ok(&zkinfer(&["verify", path(&zkm), path(&joined)]));

    // Refusals, each naming what is wrong.
    assert_cli_error(
        &zkinfer(&["verify", path(&zkm), path(&parts[0])]),
        &["join the parts"],
    );
    assert_cli_error(
        &zkinfer(&[
            "join",
            path(&zkm),
            path(&parts[0]),
            path(&parts[1]),
            "-o",
            path(&dir.join("half.json")),
        ]),
        &["slice 2 is missing"],
    );
    let whole: serde_json::Value = serde_json::from_slice(&std::fs::read(&proof).unwrap()).unwrap();
    let edited = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut copy = whole.clone();
        edit(&mut copy);
        SETUP.file("edited-sliced.json", serde_json::to_vec(&copy).unwrap())
    };
    let dropped = edited(&|p| {
        p["slices"].as_array_mut().unwrap().remove(1);
    });
    assert_cli_error(
        &zkinfer(&["verify", path(&zkm), path(&dropped)]),
        &["slice 1 is missing"],
    );
    let swapped = edited(&|p| p["slices"].as_array_mut().unwrap().swap(1, 2));
    assert_cli_error(
        &zkinfer(&["verify", path(&zkm), path(&swapped)]),
        &["position 1", "slice 2"],
    );
    let link =
        edited(&|p| p["slices"][1]["links_out"][0]["commitments"][0] = "00".repeat(32).into());
    assert_cli_error(
        &zkinfer(&["verify", path(&zkm), path(&link)]),
        &["slice 1", "link commitments"],
    );
    assert_cli_error(
        &zkinfer(&["verify", path(&SETUP.zkm), path(&proof)]),
        &["sliced proof"],
    );
    assert_cli_error(
        &zkinfer(&[
            "prove",
            path(&zkm),
            "--input",
            path(&input),
            "--slice",
            "7",
            "-o",
            path(&dir.join("nothing.json")),
        ]),
        &["slice 7 requested", "3 slices"],
    );
    assert_cli_error(
        &zkinfer(&[
            "prove",
            path(&SETUP.zkm),
            "--input",
            path(&input),
            "--slice",
            "0",
            "-o",
            path(&dir.join("nothing.json")),
        ]),
        &["--slice is for sliced models"],
    );
}
