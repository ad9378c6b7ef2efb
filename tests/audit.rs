//! Sampled audits of committed batches: the honest flow through the library and the command
//! line, every rejection, the detection formula against a simulation of the challenge sampler,
//! and bit-identical results with one and two threads.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, LazyLock};

use common::{assert_cli_error, cache_dir, fixture, samples, SMALL_MLP};
use zkinfer::audit::{
    self, detection_probability, falsified, min_samples, Audit, Challenge, Leaf, MerkleTree,
    Receipt,
};
use zkinfer::error::{AuditError, VerifyError};
use zkinfer::{CompileOptions, CompiledModel, Error, QuantizeOptions, Visibility};

const MODEL: &str = "mlp_64_32_10";
/// The audited batch: the fixture's 200 held-out samples.
const BATCH: &str = "test.json";
const SEED: &[u8] = b"audit test seed";
const SAMPLED: usize = 4;

fn batch() -> Vec<Vec<f32>> {
    samples(MODEL, BATCH, 64)
}

fn compiled() -> &'static Arc<CompiledModel> {
    &SMALL_MLP.0
}

/// The honest flow, made once: receipt, challenge and audit.
struct Flow {
    receipt: Receipt,
    challenge: Challenge,
    audit: Audit,
}

static FLOW: LazyLock<Flow> = LazyLock::new(|| {
    let prover = &SMALL_MLP.1;
    let batch = batch();
    let committed = audit::commit(compiled(), &batch).unwrap();
    let receipt = committed.receipt;
    let challenge = audit::challenge(&receipt, SAMPLED, SEED).unwrap();
    let mut made = Vec::new();
    let audit = audit::prove(prover, &batch, &receipt, &challenge, |m| made.push(m.index)).unwrap();
    assert_eq!(made, challenge.indices);
    Flow {
        receipt,
        challenge,
        audit,
    }
});

/// The audit error of a failed step.
#[track_caller]
fn audit_error(result: zkinfer::Result<impl std::fmt::Debug>) -> AuditError {
    match result {
        Err(Error::Audit(e)) => e,
        other => panic!("expected an audit error, got {other:?}"),
    }
}

fn verify(
    receipt: &Receipt,
    challenge: &Challenge,
    audit: &Audit,
) -> zkinfer::Result<audit::AuditReport> {
    audit::verify(SMALL_MLP.1.verifier(), receipt, challenge, audit)
}

#[test]
fn the_honest_flow_verifies_and_reports_its_detection_probability() {
    let flow = &*FLOW;
    assert_eq!(flow.receipt.count, 200);
    assert_eq!(flow.receipt.outputs.len(), 200);
    assert_eq!(flow.challenge.indices.len(), SAMPLED);
    // The receipt's outputs are exactly `run`'s quantised inference.
    let batch = batch();
    for (i, output) in flow.receipt.outputs.iter().enumerate() {
        assert_eq!(*output, compiled().model.run(i, &batch[i]).unwrap());
    }
    let report = verify(&flow.receipt, &flow.challenge, &flow.audit).unwrap();
    assert_eq!((report.count, report.sampled), (200, SAMPLED));
    let fractions: Vec<f64> = report.detection.iter().map(|d| d.0).collect();
    assert_eq!(fractions, [0.01, 0.05, 0.10]);
    // 1 % of 200 is 2 falsified results: 1 − C(198, 4)/C(200, 4).
    let expected = 1.0 - (196.0 * 195.0) / (200.0 * 199.0);
    assert!((report.detection[0].1 - expected).abs() < 1e-12);
    let json = audit::detection_json(&report.detection);
    assert_eq!(
        json.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["0.01", "0.05", "0.10"]
    );
    // Files round-trip.
    assert_eq!(
        Receipt::from_json(&flow.receipt.to_json()).unwrap(),
        flow.receipt
    );
    assert_eq!(
        Challenge::from_json(&flow.challenge.to_json()).unwrap(),
        flow.challenge
    );
    assert_eq!(Audit::from_json(&flow.audit.to_json()).unwrap(), flow.audit);
    // Re-execution agrees.
    let again = audit::reexecute(compiled(), &batch, &flow.receipt, &flow.challenge).unwrap();
    let indices: Vec<usize> = again.outputs.iter().map(|o| o.0).collect();
    assert_eq!(indices, flow.challenge.indices);
    for (index, output) in &again.outputs {
        assert_eq!(*output, flow.receipt.outputs[*index]);
    }
}

#[test]
fn a_proof_that_fails_is_named() {
    let flow = &*FLOW;
    let mut audit = flow.audit.clone();
    let index = audit.samples[2].index;
    let transcript = &mut audit.samples[2].proof.transcript;
    let middle = transcript.len() / 2;
    transcript[middle] ^= 1;
    let e = audit_error(verify(&flow.receipt, &flow.challenge, &audit));
    assert_eq!(
        e,
        AuditError::ProofInvalid {
            index,
            source: VerifyError::Invalid
        }
    );
    assert!(e.to_string().contains(&format!("sample {index}")), "{e}");
}

/// A change made to a genuine audit.
type Tamper<'a> = Box<dyn Fn(&mut Audit) + 'a>;

#[test]
fn a_path_that_does_not_lead_to_the_root_is_named() {
    let flow = &*FLOW;
    let index = flow.audit.samples[1].index;
    let first = &flow.audit.samples[0];
    let tamperings: [(&str, Tamper); 4] = [
        (
            "a flipped path byte",
            Box::new(|a| a.samples[1].path[0][5] ^= 0x40),
        ),
        (
            "another sample's path",
            Box::new(|a| a.samples[1].path = first.path.clone()),
        ),
        (
            "a truncated path",
            Box::new(|a| {
                a.samples[1].path.pop();
            }),
        ),
        (
            "a valid proof of another sample under this index",
            Box::new(|a| a.samples[1].proof = first.proof.clone()),
        ),
    ];
    for (what, tamper) in &tamperings {
        let mut audit = flow.audit.clone();
        tamper(&mut audit);
        assert!(
            matches!(
                audit_error(verify(&flow.receipt, &flow.challenge, &audit)),
                AuditError::PathInvalid { index: i, .. } if i == index
            ),
            "{what}"
        );
    }
}

#[test]
fn missing_extra_and_repeated_indices_are_named() {
    let flow = &*FLOW;
    let mut audit = flow.audit.clone();
    let removed = audit.samples.remove(3);
    assert_eq!(
        audit_error(verify(&flow.receipt, &flow.challenge, &audit)),
        AuditError::MissingIndex(removed.index)
    );
    let extra = (0..200)
        .find(|i| !flow.challenge.indices.contains(i))
        .unwrap();
    let mut audit = flow.audit.clone();
    let mut sample = audit.samples[0].clone();
    sample.index = extra;
    audit.samples.push(sample);
    assert_eq!(
        audit_error(verify(&flow.receipt, &flow.challenge, &audit)),
        AuditError::ExtraIndex(extra)
    );
    let mut audit = flow.audit.clone();
    audit.samples[3] = audit.samples[0].clone();
    assert_eq!(
        audit_error(verify(&flow.receipt, &flow.challenge, &audit)),
        AuditError::RepeatedIndex(flow.audit.samples[0].index)
    );
}

#[test]
fn a_receipt_output_differing_from_the_committed_one_is_named() {
    let flow = &*FLOW;
    let index = flow.challenge.indices[0];
    let scale = 2f32.powi(-compiled().model.output_scale);
    let mut receipt = flow.receipt.clone();
    receipt.outputs[index][3] += scale;
    assert_eq!(
        audit_error(verify(&receipt, &flow.challenge, &flow.audit)),
        AuditError::ReceiptOutput { index }
    );
    // A value no quantised output has, and an output of the wrong length.
    let mut receipt = flow.receipt.clone();
    receipt.outputs[index][3] += scale / 3.0;
    assert!(matches!(
        audit_error(verify(&receipt, &flow.challenge, &flow.audit)),
        AuditError::OutputShape { index: i, .. } if i == index
    ));
    let mut receipt = flow.receipt.clone();
    receipt.outputs[index].pop();
    assert!(matches!(
        audit_error(verify(&receipt, &flow.challenge, &flow.audit)),
        AuditError::OutputShape { index: i, .. } if i == index
    ));
    // The batch and an edited receipt do not rebuild the root.
    let mut receipt = flow.receipt.clone();
    let unsampled = (0..200)
        .find(|i| !flow.challenge.indices.contains(i))
        .unwrap();
    receipt.outputs[unsampled][0] += scale;
    assert_eq!(
        audit_error(audit::reexecute(
            compiled(),
            &batch(),
            &receipt,
            &flow.challenge
        )),
        AuditError::RootMismatch
    );
}

#[test]
fn a_wrong_seed_wrong_indices_or_another_receipt_are_refused() {
    let flow = &*FLOW;
    let mut challenge = flow.challenge.clone();
    challenge.seed.push(0);
    assert!(matches!(
        audit_error(verify(&flow.receipt, &challenge, &flow.audit)),
        AuditError::IndicesMismatch { .. }
    ));
    let mut challenge = flow.challenge.clone();
    challenge.indices[0] = (0..200).find(|i| !challenge.indices.contains(i)).unwrap();
    challenge.indices.sort_unstable();
    assert!(matches!(
        audit_error(verify(&flow.receipt, &challenge, &flow.audit)),
        AuditError::IndicesMismatch { .. }
    ));
    // A challenge of another receipt (another root).
    let other = audit::commit(compiled(), &batch()[..100]).unwrap().receipt;
    let challenge = audit::challenge(&other, SAMPLED, SEED).unwrap();
    assert!(matches!(
        audit_error(verify(&flow.receipt, &challenge, &flow.audit)),
        AuditError::ChallengeMismatch(_)
    ));
    // An audit of another receipt.
    let mut audit = flow.audit.clone();
    audit.root[0] ^= 1;
    assert!(matches!(
        audit_error(verify(&flow.receipt, &flow.challenge, &audit)),
        AuditError::AuditRootMismatch { .. }
    ));
}

#[test]
fn a_receipt_of_another_model_is_refused() {
    let flow = &*FLOW;
    let other = common::compile(
        MODEL,
        QuantizeOptions {
            activation_bits: 9,
            ..QuantizeOptions::default()
        },
    );
    assert_ne!(
        audit::model_digest(&other).unwrap(),
        audit::model_digest(compiled()).unwrap()
    );
    let e = audit_error(audit::reexecute(
        &other,
        &batch(),
        &flow.receipt,
        &flow.challenge,
    ));
    assert!(matches!(e, AuditError::ModelMismatch { .. }), "{e}");
    let e = audit_error(audit::rebuild(&other, &batch(), &flow.receipt));
    assert!(matches!(e, AuditError::ModelMismatch { .. }), "{e}");
    let other_prover = common::prover(&other);
    let e = audit_error(audit::verify(
        other_prover.verifier(),
        &flow.receipt,
        &flow.challenge,
        &flow.audit,
    ));
    assert!(matches!(e, AuditError::ModelMismatch { .. }), "{e}");
    // Even with the model digest replaced, the receipt's outputs and root are not this model's.
    let mut receipt = flow.receipt.clone();
    receipt.model = audit::model_digest(&other).unwrap();
    let e = audit_error(audit::rebuild(&other, &batch(), &receipt));
    assert!(
        matches!(e, AuditError::RootMismatch | AuditError::OutputShape { .. }),
        "{e}"
    );
}

/// A cheating operator's receipt: sample `cheat`'s output replaced by another, committed
/// consistently (a valid tree over the falsified leaf), and its tree.
fn falsified_receipt(cheat: usize) -> (Receipt, MerkleTree) {
    let compiled = compiled();
    let batch = batch();
    let mut receipt = FLOW.receipt.clone();
    receipt.outputs[cheat][0] += 2f32.powi(-compiled.model.output_scale);
    let visibility = (compiled.input_visibility(), compiled.output_visibility());
    let scale = 2f64.powi(compiled.model.output_scale);
    let leaves = batch
        .iter()
        .zip(&receipt.outputs)
        .enumerate()
        .map(|(i, (sample, output))| {
            let input = compiled.model.quantize_input(i, sample).unwrap();
            let output: Vec<i64> = output
                .iter()
                .map(|&v| (f64::from(v) * scale).round() as i64)
                .collect();
            Leaf::of_sample(i, visibility, &input, &output).hash()
        })
        .collect();
    let tree = MerkleTree::new(leaves).unwrap();
    receipt.root = audit::bound_root(&receipt.model, receipt.count, &tree.top());
    (receipt, tree)
}

#[test]
fn a_falsified_result_is_caught_when_sampled() {
    let cheat = FLOW.audit.samples[1].index;
    let (receipt, tree) = falsified_receipt(cheat);
    // The forged receipt is consistent: it rebuilds from the batch.
    audit::rebuild(compiled(), &batch(), &receipt).unwrap();
    // A challenge of every sample certainly includes the falsified one.
    let all = audit::challenge(&receipt, 200, SEED).unwrap();
    assert_eq!(
        audit_error(audit::reexecute(compiled(), &batch(), &receipt, &all)),
        AuditError::Falsified { index: cheat }
    );
    // The prover cannot prove it (and says so before proving anything).
    assert_eq!(
        audit_error(audit::prove(&SMALL_MLP.1, &batch(), &receipt, &all, |_| {
            panic!("no proof is made")
        })),
        AuditError::Falsified { index: cheat }
    );
    // The only proof there is, the honest one, does not lead to the forged root.
    let verified = SMALL_MLP
        .1
        .verifier()
        .verify(&FLOW.audit.samples[1].proof)
        .unwrap();
    let leaf = Leaf::of_proof(cheat, &verified).unwrap().hash();
    let path = tree.path(cheat).unwrap();
    assert_ne!(
        audit::top_from_path(&leaf, cheat, 200, &path).unwrap(),
        tree.top()
    );
}

#[test]
fn the_detection_formula_matches_a_simulation_of_the_challenge_sampler() {
    // Falsified results at fixed positions; the challenge sampler draws the indices.
    for (count, fraction, sampled, trials) in [(200, 0.05, 20, 3000), (60, 0.1, 10, 3000)] {
        let m = falsified(count, fraction).unwrap();
        let cheats: Vec<usize> = (0..m).map(|i| (i * 7919) % count).collect();
        let caught = (0..trials as u64)
            .filter(|t| {
                let root = [(*t % 251) as u8; 32];
                let indices =
                    audit::derive_indices(&root, &t.to_le_bytes(), count, sampled).unwrap();
                indices.iter().any(|i| cheats.contains(i))
            })
            .count();
        let observed = caught as f64 / trials as f64;
        let p = detection_probability(count, m, sampled);
        let sigma = (p * (1.0 - p) / trials as f64).sqrt();
        assert!(
            (observed - p).abs() < 4.5 * sigma,
            "N = {count}, m = {m}, S = {sampled}: simulated {observed}, formula {p}"
        );
    }
    // The planned sample reaches the confidence, one fewer does not.
    let s = min_samples(1000, 0.01, 0.99).unwrap();
    assert_eq!(s, 368);
    assert!(detection_probability(1000, 10, s) >= 0.99);
    assert!(detection_probability(1000, 10, s - 1) < 0.99);
}

#[test]
fn results_are_bit_identical_with_one_and_two_threads() {
    let batch = batch();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let receipt = audit::commit(compiled(), &batch).unwrap().receipt;
            let challenge = audit::challenge(&receipt, 50, SEED).unwrap();
            let again = audit::reexecute(compiled(), &batch, &receipt, &challenge).unwrap();
            (receipt, again)
        })
    };
    let (one, again_one) = run(1);
    let (two, again_two) = run(2);
    assert_eq!(one.root, two.root);
    let bits = |outputs: &[Vec<f32>]| -> Vec<u32> {
        outputs.iter().flatten().map(|v| v.to_bits()).collect()
    };
    assert_eq!(bits(&one.outputs), bits(&two.outputs));
    let re_bits = |r: &audit::Reexecution| -> Vec<(usize, Vec<u32>)> {
        r.outputs
            .iter()
            .map(|(i, o)| (*i, o.iter().map(|v| v.to_bits()).collect()))
            .collect()
    };
    assert_eq!(re_bits(&again_one), re_bits(&again_two));
    assert_eq!(one.root, FLOW.receipt.root);
}

#[test]
fn bad_parameters_are_clear_errors() {
    let receipt = &FLOW.receipt;
    for samples in [0, 201] {
        assert!(matches!(
            audit::challenge(receipt, samples, SEED),
            Err(AuditError::Parameter(_))
        ));
    }
    assert!(matches!(
        audit::challenge(receipt, 1, b""),
        Err(AuditError::Parameter(_))
    ));
    assert!(matches!(
        audit_error(audit::commit(compiled(), &[])),
        AuditError::Parameter(_)
    ));
    assert!(audit::commit(compiled(), &[vec![0.0; 3]]).is_err());
    assert!(min_samples(0, 0.1, 0.9).is_err());
    assert!(min_samples(10, -0.1, 0.9).is_err());
    assert!(min_samples(10, 0.1, f64::NAN).is_err());
    let e = audit_error(audit::rebuild(compiled(), &batch()[..10], receipt));
    assert_eq!(
        e,
        AuditError::BatchSize {
            batch: 10,
            receipt: 200
        }
    );
    let mut short = receipt.clone();
    short.outputs.pop();
    assert!(matches!(
        audit_error(audit::rebuild(compiled(), &batch(), &short)),
        AuditError::Receipt(_)
    ));
}

// ---- The command line ----

fn zkinfer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkinfer"))
        .args(args)
        .env("ZKINFER_CACHE_DIR", cache_dir())
        .output()
        .expect("the zkinfer binary runs")
}

#[track_caller]
fn ok(o: &Output) -> String {
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The whole flow on the command line, in a temporary folder.
struct Cli {
    dir: tempfile::TempDir,
    zkm: PathBuf,
    batch: PathBuf,
    receipt: PathBuf,
    challenge: PathBuf,
    audit: PathBuf,
}

impl Cli {
    fn file(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    fn json(path: &Path) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }
}

static CLI: LazyLock<Cli> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let zkm = dir.path().join("model.zkm");
    ok(&zkinfer(&[
        "compile",
        p(&fixture(&format!("{MODEL}/model.onnx"))),
        "--calibration",
        p(&fixture(&format!("{MODEL}/calibration.json"))),
        "-o",
        p(&zkm),
    ]));
    let batch = fixture(&format!("{MODEL}/{BATCH}"));
    let receipt = dir.path().join("receipt.json");
    let out = ok(&zkinfer(&[
        "audit",
        "commit",
        p(&zkm),
        "--input",
        p(&batch),
        "-o",
        p(&receipt),
    ]));
    assert!(out.contains("committed 200 samples"), "{out}");
    let challenge = dir.path().join("challenge.json");
    ok(&zkinfer(&[
        "audit",
        "challenge",
        p(&receipt),
        "--samples",
        "3",
        "--seed",
        "00c0ffee",
        "-o",
        p(&challenge),
    ]));
    let audit = dir.path().join("audit.json");
    ok(&zkinfer(&[
        "audit",
        "prove",
        p(&zkm),
        "--input",
        p(&batch),
        "--receipt",
        p(&receipt),
        "--challenge",
        p(&challenge),
        "-o",
        p(&audit),
    ]));
    Cli {
        dir,
        zkm,
        batch,
        receipt,
        challenge,
        audit,
    }
});

#[test]
fn cli_commit_challenge_prove_verify_reexecute() {
    let cli = &*CLI;
    let receipt = Cli::json(&cli.receipt);
    assert_eq!(receipt["count"], 200);
    assert_eq!(receipt["root"].as_str().unwrap().len(), 64);
    assert_eq!(receipt["outputs"].as_array().unwrap().len(), 200);
    // The CLI's receipt is the library's.
    assert_eq!(
        receipt["root"],
        serde_json::json!(hex::encode(FLOW.receipt.root))
    );
    let challenge = Cli::json(&cli.challenge);
    assert_eq!(challenge["seed"], "00c0ffee");
    assert_eq!(challenge["indices"].as_array().unwrap().len(), 3);

    let out = ok(&zkinfer(&[
        "audit",
        "verify",
        p(&cli.zkm),
        p(&cli.receipt),
        p(&cli.challenge),
        p(&cli.audit),
        "--json",
    ]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verified"], true);
    assert_eq!(v["count"], 200);
    assert_eq!(v["sampled"], 3);
    // With the batch, every committed input and output is checked too.
    ok(&zkinfer(&[
        "audit",
        "verify",
        p(&cli.zkm),
        p(&cli.receipt),
        p(&cli.challenge),
        p(&cli.audit),
        "--input",
        p(&cli.batch),
    ]));
    let other = fixture(&format!("{MODEL}/calibration.json"));
    assert_cli_error(
        &zkinfer(&[
            "audit",
            "verify",
            p(&cli.zkm),
            p(&cli.receipt),
            p(&cli.challenge),
            p(&cli.audit),
            "--input",
            p(&other),
        ]),
        &["do not rebuild the receipt's root"],
    );
    let p01 = v["detection"]["0.01"].as_f64().unwrap();
    assert!(
        (p01 - detection_probability(200, 2, 3)).abs() < 1e-12,
        "{v}"
    );
    assert!(v["detection"]["0.10"].as_f64().unwrap() > v["detection"]["0.05"].as_f64().unwrap());

    let out = ok(&zkinfer(&[
        "audit",
        "reexecute",
        p(&cli.zkm),
        "--input",
        p(&cli.batch),
        p(&cli.receipt),
        p(&cli.challenge),
        "--json",
    ]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verified"], true);
    assert_eq!(v["outputs"].as_object().unwrap().len(), 3);

    // A random seed by default, written into the challenge.
    let random = cli.dir.path().join("random.json");
    ok(&zkinfer(&[
        "audit",
        "challenge",
        p(&cli.receipt),
        "--samples",
        "5",
        "-o",
        p(&random),
    ]));
    let random = Challenge::from_json(&std::fs::read(&random).unwrap()).unwrap();
    assert_eq!(random.seed.len(), 32);
    assert_eq!(random.indices.len(), 5);
}

#[test]
fn cli_plan_gives_the_minimal_sample_and_its_cost() {
    let out = ok(&zkinfer(&[
        "audit",
        "plan",
        "--count",
        "1000",
        "--cheat-fraction",
        "0.01",
        "--confidence",
        "0.99",
        "--json",
    ]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["samples"], 368);
    assert_eq!(v["falsified"], 10);
    assert!(v.get("predicted_prove_ms").is_none());
    let out = ok(&zkinfer(&[
        "audit",
        "plan",
        p(&CLI.zkm),
        "--count",
        "1000",
        "--cheat-fraction",
        "0.01",
        "--confidence",
        "0.99",
    ]));
    assert!(
        out.contains("sample 368 of 1000") && out.contains("predicted proving"),
        "{out}"
    );
    assert_cli_error(
        &zkinfer(&[
            "audit",
            "plan",
            "--count",
            "1000",
            "--cheat-fraction",
            "0",
            "--confidence",
            "0.99",
        ]),
        &["cheating fraction"],
    );
    assert_cli_error(
        &zkinfer(&[
            "audit",
            "plan",
            "--count",
            "1000",
            "--cheat-fraction",
            "0.1",
            "--confidence",
            "2",
        ]),
        &["confidence"],
    );
}

#[test]
fn cli_rejections_exit_1_naming_the_sample() {
    let cli = &*CLI;
    let verify = |audit: &Path, challenge: &Path| {
        zkinfer(&[
            "audit",
            "verify",
            p(&cli.zkm),
            p(&cli.receipt),
            p(challenge),
            p(audit),
        ])
    };
    let mut audit = Cli::json(&cli.audit);
    let index = audit["samples"][1]["index"].as_u64().unwrap().to_string();
    // A flipped transcript byte.
    let transcript = audit["samples"][1]["proof"]["transcript"]
        .as_str()
        .unwrap()
        .to_string();
    let flipped = format!(
        "{}{}",
        if transcript.starts_with('0') {
            "1"
        } else {
            "0"
        },
        &transcript[1..]
    );
    audit["samples"][1]["proof"]["transcript"] = serde_json::json!(flipped);
    let bad = cli.file("flipped.json", audit.to_string());
    assert_cli_error(
        &verify(&bad, &cli.challenge),
        &[&format!("sample {index}"), "invalid"],
    );
    let out = zkinfer(&[
        "audit",
        "verify",
        p(&cli.zkm),
        p(&cli.receipt),
        p(&cli.challenge),
        p(&bad),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verified"], false);

    // A missing sample.
    let mut audit = Cli::json(&cli.audit);
    let removed = audit["samples"].as_array_mut().unwrap().remove(0);
    let bad = cli.file("missing.json", audit.to_string());
    assert_cli_error(
        &verify(&bad, &cli.challenge),
        &[&format!("sample {}", removed["index"]), "no proof"],
    );
    // Another seed.
    let mut challenge = Cli::json(&cli.challenge);
    challenge["seed"] = serde_json::json!("00c0fffe");
    let bad = cli.file("seed.json", challenge.to_string());
    assert_cli_error(&verify(&cli.audit, &bad), &["indices"]);
    // Garbage files: a clear error, never a panic.
    let garbage = cli.file(
        "garbage.json",
        "{\"format\": \"zkinfer-audit\", \"version\": 1, \"root\": 3}",
    );
    assert_cli_error(&verify(&garbage, &cli.challenge), &["audit is malformed"]);
    let proof_file = cli.file("proof.json", "{\"format\": \"zkinfer-proof\"}");
    assert_cli_error(
        &verify(&proof_file, &cli.challenge),
        &["format 'zkinfer-proof'"],
    );
    let empty = cli.file("empty.json", "{\"input_data\": []}");
    assert_cli_error(
        &zkinfer(&[
            "audit",
            "commit",
            p(&cli.zkm),
            "--input",
            p(&empty),
            "-o",
            p(&cli.dir.path().join("r.json")),
        ]),
        &["no samples"],
    );
    assert_cli_error(
        &zkinfer(&[
            "audit",
            "challenge",
            p(&cli.receipt),
            "--samples",
            "0",
            "-o",
            p(&cli.dir.path().join("c.json")),
        ]),
        &["cannot challenge 0 samples"],
    );
    assert_cli_error(
        &zkinfer(&[
            "audit",
            "challenge",
            p(&cli.receipt),
            "--samples",
            "2",
            "--seed",
            "xyz",
            "-o",
            p(&cli.dir.path().join("c.json")),
        ]),
        &["not hex"],
    );
    // Another batch than the committed one.
    let other = cli.file(
        "other.json",
        std::fs::read(fixture(&format!("{MODEL}/calibration.json"))).unwrap(),
    );
    let o = zkinfer(&[
        "audit",
        "reexecute",
        p(&cli.zkm),
        "--input",
        p(&other),
        p(&cli.receipt),
        p(&cli.challenge),
    ]);
    assert_eq!(o.status.code(), Some(1));
}

/// The MLP compiled with the given input and output visibility.
fn compiled_with(input: Visibility, output: Visibility) -> Arc<CompiledModel> {
    let model = common::model(MODEL);
    let calibration = samples(MODEL, "calibration.json", 64);
    let options = CompileOptions {
        input,
        output,
        ..CompileOptions::default()
    };
    Arc::new(
        model
            .compile(&calibration, QuantizeOptions::default(), options)
            .unwrap(),
    )
}

#[test]
fn hashed_inputs_and_outputs_are_bound_by_their_commitments() {
    let compiled = compiled_with(Visibility::Hashed, Visibility::Hashed);
    let prover = common::prover(&compiled);
    let batch = &batch()[..40];
    let receipt = audit::commit(&compiled, batch).unwrap().receipt;
    assert_ne!(receipt.model, FLOW.receipt.model);
    let challenge = audit::challenge(&receipt, 2, SEED).unwrap();
    let audit = audit::prove(&prover, batch, &receipt, &challenge, |_| {}).unwrap();
    for sample in &audit.samples {
        assert!(sample.proof.inputs.is_empty() && sample.proof.outputs.is_empty());
        assert!(sample.proof.output_commitment.is_some());
    }
    let verifier = prover.verifier();
    let report = audit::verify(verifier, &receipt, &challenge, &audit).unwrap();
    assert_eq!((report.count, report.sampled), (40, 2));
    // The receipt's output is checked against the proven commitment.
    let index = challenge.indices[0];
    let mut edited = receipt.clone();
    edited.outputs[index][0] += 2f32.powi(-compiled.model.output_scale);
    assert_eq!(
        audit_error(audit::verify(verifier, &edited, &challenge, &audit)),
        AuditError::ReceiptOutput { index }
    );
    audit::reexecute(&compiled, batch, &receipt, &challenge).unwrap();
}

#[test]
fn private_outputs_cannot_be_audited_private_inputs_can() {
    let private_output = compiled_with(Visibility::Public, Visibility::Private);
    let e = audit_error(audit::commit(&private_output, &batch()[..4]));
    assert!(matches!(e, AuditError::Unsupported(_)), "{e}");
    // A private input: the leaf binds the output only; re-execution still compares it.
    let private_input = compiled_with(Visibility::Private, Visibility::Public);
    let receipt = audit::commit(&private_input, &batch()[..10])
        .unwrap()
        .receipt;
    let challenge = audit::challenge(&receipt, 3, SEED).unwrap();
    audit::reexecute(&private_input, &batch()[..10], &receipt, &challenge).unwrap();
}

#[test]
fn a_sliced_model_commits_and_reexecutes_but_is_not_proven_yet() {
    let model = common::model(MODEL);
    let calibration = samples(MODEL, "calibration.json", 64);
    let options = CompileOptions {
        slices: Some(2),
        ..CompileOptions::default()
    };
    let sliced = model
        .compile(&calibration, QuantizeOptions::default(), options)
        .unwrap();
    let receipt = audit::commit(&sliced, &batch()).unwrap().receipt;
    // The same computation as the whole model: the same outputs.
    assert_eq!(receipt.outputs, FLOW.receipt.outputs);
    let challenge = audit::challenge(&receipt, 3, SEED).unwrap();
    audit::reexecute(&sliced, &batch(), &receipt, &challenge).unwrap();
    let e = audit::check_provable(&sliced).unwrap_err();
    assert!(e.to_string().contains("2 slices"), "{e}");
}
