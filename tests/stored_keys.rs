//! Stored keys (the vendored `halo2_proofs`' `plonk::stored_keys`, and zkinfer's `KeyStore`):
//! a key rebuilt from stored commitments is exactly the generated one — same pinned key, same
//! proofs byte for byte — and commitments that are not the circuit's (changed, swapped,
//! missing, extra, another model's, a damaged file) are refused and the key rebuilt. A key
//! rebuilt without synthesis from trusted commitments and selector rows (what a sealed file
//! holds) is the generated one too.

mod common;

use std::sync::Arc;

use group::{Curve as _, Group};
use halo2_proofs::plonk::{
    create_proof, keygen_pk, keygen_pk_from_commitments, keygen_pk_from_trusted, keygen_pk_once,
    keygen_vk, keygen_vk_from_commitments, keygen_vk_from_trusted, keygen_vk_with_selectors,
    verify_proof, KeyCommitments, ProvingKey, SingleVerifier, StoredCosets, StoredKeyError,
    VerifyingKey,
};
use halo2_proofs::poly::commitment::Params;
use halo2_proofs::transcript::{Blake2bRead, Blake2bWrite, Challenge255};
use pasta_curves::Fp;
use rand::rngs::StdRng;
use rand::SeedableRng;
use zkinfer::params::Curve;
use zkinfer::{CompiledModel, KeySource, KeyStore, ParamsCache, QuantizeOptions};
use zkinfer_circuits::{with_shape, NetworkCircuit};

use common::{cache_dir, compile, samples};

fn params(k: u32) -> Arc<Params<Curve>> {
    let (params, _) = ParamsCache::new(cache_dir())
        .load_or_generate(k, |_| {})
        .unwrap();
    Arc::new(params)
}

fn pinned(vk: &VerifyingKey<Curve>) -> String {
    format!("{:?}", vk.pinned())
}

fn rng() -> StdRng {
    StdRng::seed_from_u64(7)
}

/// What the halo2 functions give for one compiled model's circuit.
struct Keys {
    generated: VerifyingKey<Curve>,
    from_stored: VerifyingKey<Curve>,
    with_selectors: VerifyingKey<Curve>,
    from_trusted: VerifyingKey<Curve>,
    pk_once: VerifyingKey<Curve>,
    pk_from_stored: VerifyingKey<Curve>,
    pk_from_trusted: VerifyingKey<Curve>,
    pk_with_cosets: VerifyingKey<Curve>,
    /// The same proof (seeded randomness) with `keygen_pk`'s, `keygen_pk_once`'s,
    /// `keygen_pk_from_commitments`' and `keygen_pk_from_trusted`'s proving keys, the last
    /// without and with stored extended-domain evaluations.
    proofs: [Vec<u8>; 5],
    /// Whether every function gave the same selector rows.
    same_selectors: bool,
    /// `keygen_vk_from_commitments` on each tampered list.
    tampered: Vec<(&'static str, Result<(), StoredKeyError>)>,
}

/// Changed copies of a key's commitments, each named.
fn tamperings(good: &KeyCommitments<Curve>) -> Vec<(&'static str, KeyCommitments<Curve>)> {
    let shift = |p: &Curve| (pasta_curves::Eq::generator() + *p).to_affine();
    let mut out = Vec::new();
    let last = good.fixed.len() - 1;
    for (name, i) in [
        ("first fixed", 0),
        ("middle fixed", last / 2),
        ("last fixed", last),
    ] {
        let mut c = good.clone();
        c.fixed[i] = shift(&c.fixed[i]);
        out.push((name, c));
    }
    let mut c = good.clone();
    c.permutation[0] = shift(&c.permutation[0]);
    out.push(("first permutation", c));
    let mut c = good.clone();
    let p = c.permutation.len() - 1;
    c.permutation[p] = -c.permutation[p];
    out.push(("negated last permutation", c));
    // Two distinct fixed commitments swapped.
    let mut c = good.clone();
    let j = (1..c.fixed.len())
        .find(|&j| c.fixed[j] != c.fixed[0])
        .expect("two distinct fixed columns");
    c.fixed.swap(0, j);
    out.push(("swapped fixed", c));
    let mut c = good.clone();
    c.fixed.pop();
    out.push(("one fixed missing", c));
    let mut c = good.clone();
    c.permutation.push(c.permutation[0]);
    out.push(("one permutation extra", c));
    out
}

fn keys_of(compiled: &Arc<CompiledModel>, input: &[f32], other: &KeyCommitments<Curve>) -> Keys {
    let params = params(compiled.k);
    let quantised = compiled.model.quantize_input(0, input).unwrap();
    let (_, witness) = compiled.witness(&quantised).unwrap();
    let instances = witness.instances(compiled.layout());
    let instance_refs: Vec<&[Fp]> = instances.iter().map(Vec::as_slice).collect();
    let witness = Arc::new(witness);
    with_shape!(compiled.shape, S => {
        let circuit = NetworkCircuit::<S>::new(compiled.network().clone(), compiled.layout().clone());
        let generated = keygen_vk(&params, &circuit).unwrap();
        let stored = generated.key_commitments();
        let (from_stored, selectors) =
            keygen_vk_from_commitments(&params, &circuit, &stored, rng()).unwrap();
        let (with_selectors, generated_selectors) =
            keygen_vk_with_selectors(&params, &circuit).unwrap();
        let from_trusted = keygen_vk_from_trusted(&params, &circuit, &stored, &selectors).unwrap();
        let (pk_once, once_selectors) = keygen_pk_once(&params, &circuit).unwrap();
        let (pk_from_stored, stored_selectors) =
            keygen_pk_from_commitments(&params, &circuit, &stored, rng()).unwrap();
        let trusted = keygen_pk_from_trusted(&params, &circuit, &stored, None, rng()).unwrap();
        assert_eq!(trusted.cosets, StoredCosets::Absent);
        let (pk_from_trusted, trusted_selectors) = (trusted.pk, trusted.selectors);
        // The same key completed with its stored extended-domain evaluations; damaged ones are
        // refused (and computed) whatever the damage.
        let mut cosets = Vec::new();
        pk_from_trusted.write_extended_cosets(&mut cosets).unwrap();
        assert_eq!(cosets.len(), pk_from_trusted.extended_cosets_bytes());
        let with_cosets = |bytes: &[u8]| {
            keygen_pk_from_trusted(&params, &circuit, &stored, Some(bytes), rng()).unwrap()
        };
        let pk_with_cosets = with_cosets(&cosets);
        assert_eq!(pk_with_cosets.cosets, StoredCosets::Used);
        for at in [12, cosets.len() / 2, cosets.len() - 32] {
            let mut damaged = cosets.clone();
            damaged[at] ^= 1;
            assert_eq!(with_cosets(&damaged).cosets, StoredCosets::Refused, "byte {at}");
        }
        let mut swapped = cosets.clone();
        let column = (cosets.len() - 12) / (u32::from_le_bytes(cosets[..4].try_into().unwrap()) as usize);
        let (first, second) = swapped[12..12 + 2 * column].split_at_mut(column);
        first.swap_with_slice(second);
        if swapped != cosets {
            assert_eq!(with_cosets(&swapped).cosets, StoredCosets::Refused, "swapped columns");
        }
        for bad in [&cosets[..cosets.len() - 1], &cosets[..8], &[][..]] {
            assert_eq!(with_cosets(bad).cosets, StoredCosets::Refused);
        }
        let same_selectors = [&generated_selectors, &once_selectors, &stored_selectors, &trusted_selectors]
            .iter()
            .all(|s| **s == selectors);
        let pks: [ProvingKey<Curve>; 5] = [
            keygen_pk(&params, generated.clone(), &circuit).unwrap(),
            pk_once,
            pk_from_stored,
            pk_from_trusted,
            pk_with_cosets.pk,
        ];
        let with_witness = circuit.clone().with_witness(witness.clone());
        let proofs = pks.each_ref().map(|pk| {
            let mut transcript = Blake2bWrite::<_, Curve, Challenge255<_>>::init(Vec::new());
            create_proof(&params, pk, std::slice::from_ref(&with_witness), &[&instance_refs], rng(), &mut transcript).unwrap();
            transcript.finalize()
        });
        let mut tampered: Vec<_> = tamperings(&stored)
            .into_iter()
            .map(|(name, c)| (name, keygen_vk_from_commitments(&params, &circuit, &c, rng()).map(|_| ())))
            .collect();
        assert!(&stored != other, "the other model's commitments differ");
        tampered.push((
            "another model's",
            keygen_vk_from_commitments(&params, &circuit, other, rng()).map(|_| ()),
        ));
        let [pk_plain, pk_once, pk_from_stored, pk_from_trusted, pk_with_cosets] = pks;
        let verify = |proof: &[u8]| {
            let mut transcript = Blake2bRead::<_, Curve, Challenge255<_>>::init(proof);
            verify_proof(&params, pk_plain.get_vk(), SingleVerifier::new(&params), &[&instance_refs], &mut transcript)
        };
        for proof in &proofs {
            verify(proof).expect("every proof verifies with the generated key");
        }
        Keys {
            generated,
            from_stored,
            with_selectors,
            from_trusted,
            pk_once: pk_once.get_vk().clone(),
            pk_from_stored: pk_from_stored.get_vk().clone(),
            pk_from_trusted: pk_from_trusted.get_vk().clone(),
            pk_with_cosets: pk_with_cosets.get_vk().clone(),
            proofs,
            same_selectors,
            tampered,
        }
    })
}

/// The commitments of the same fixture compiled with other activation bits: a circuit of the
/// same shape and columns whose fixed values (weights, rescales) differ.
fn other_weights(dir: &str) -> KeyCommitments<Curve> {
    let other = compile(
        dir,
        QuantizeOptions {
            activation_bits: 8,
            ..QuantizeOptions::default()
        },
    );
    let params = params(other.k);
    with_shape!(other.shape, S => {
        let circuit = NetworkCircuit::<S>::new(other.network().clone(), other.layout().clone());
        keygen_vk(&params, &circuit).unwrap().key_commitments()
    })
}

#[test]
fn stored_commitments_give_exactly_the_generated_keys_and_wrong_ones_are_refused() {
    for dir in ["mlp_64_32_10", "lenet5"] {
        let compiled = compile(dir, QuantizeOptions::default());
        let input = &samples(dir, "input.json", compiled.network().input_len())[0];
        let other = other_weights(dir);
        let keys = keys_of(&compiled, input, &other);
        let expected = pinned(&keys.generated);
        for (what, vk) in [
            ("from stored", &keys.from_stored),
            ("with selectors", &keys.with_selectors),
            ("from trusted parts, without synthesis", &keys.from_trusted),
            ("one synthesis", &keys.pk_once),
            ("pk from stored", &keys.pk_from_stored),
            ("pk from trusted", &keys.pk_from_trusted),
            ("pk from trusted with stored cosets", &keys.pk_with_cosets),
        ] {
            assert_eq!(pinned(vk), expected, "{dir}: {what}");
        }
        assert!(keys.same_selectors, "{dir}: selector rows");
        assert_eq!(
            keys.proofs[0], keys.proofs[1],
            "{dir}: keygen_pk_once's proof"
        );
        assert_eq!(keys.proofs[0], keys.proofs[2], "{dir}: stored key's proof");
        assert_eq!(keys.proofs[0], keys.proofs[3], "{dir}: trusted key's proof");
        assert_eq!(
            keys.proofs[0], keys.proofs[4],
            "{dir}: stored cosets' proof"
        );
        assert_eq!(
            keys.generated.proof_bytes(1),
            keys.proofs[0].len(),
            "{dir}: proof size"
        );
        for (name, result) in &keys.tampered {
            match (name, result) {
                (
                    &("one fixed missing" | "one permutation extra"),
                    Err(StoredKeyError::Count { .. }),
                ) => {}
                (_, Err(StoredKeyError::Mismatch)) => {}
                (_, other) => panic!("{dir}: {name} commitments gave {other:?}"),
            }
        }
    }
}

fn store_in(dir: &tempfile::TempDir) -> KeyStore {
    KeyStore::new(dir.path().join("keys"))
}

#[test]
fn the_key_store_reuses_checked_commitments_and_replaces_bad_ones() {
    let (compiled, prover) = &*common::SMALL_MLP;
    let input = &samples("mlp_64_32_10", "input.json", compiled.network().input_len())[0];
    let proof = prover.prove(input).unwrap();
    let params = params(compiled.k);
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    let verifier = |store: &KeyStore| compiled.verifier_with(params.clone(), store).unwrap();

    let first = verifier(&store);
    assert_eq!(first.key_source(), &KeySource::Generated);
    let second = verifier(&store);
    assert_eq!(second.key_source(), &KeySource::Sealed);
    assert_eq!(second.digest(), prover.verifier().digest());
    second.verify(&proof).unwrap();

    // A file the store did not seal (another machine's store, or an attacker's who can write
    // this one but not read its secret) is checked, and sealed once it passes.
    let circuit = compiled.circuit_digest();
    let other_dir = tempfile::tempdir().unwrap();
    let foreign = store_in(&other_dir);
    let stored = store.load(&circuit, compiled.k).unwrap().unwrap();
    let plant = |commitments: &KeyCommitments<Curve>| {
        foreign
            .save(&circuit, compiled.k, commitments, &stored.selectors)
            .unwrap();
        std::fs::copy(
            foreign.path(&circuit).unwrap(),
            store.path(&circuit).unwrap(),
        )
        .unwrap();
    };
    plant(&stored.commitments);
    assert!(!store.load(&circuit, compiled.k).unwrap().unwrap().sealed);
    assert_eq!(verifier(&store).key_source(), &KeySource::Stored);
    assert_eq!(verifier(&store).key_source(), &KeySource::Sealed);

    // Well-formed commitments that are not the circuit's, unsealed: refused, rebuilt and
    // rewritten.
    let mut wrong = stored.commitments.clone();
    let other = (1..wrong.fixed.len())
        .find(|&j| wrong.fixed[j] != wrong.fixed[0])
        .expect("two distinct fixed columns");
    wrong.fixed.swap(0, other);
    plant(&wrong);
    let replaced = verifier(&store);
    match replaced.key_source() {
        KeySource::Replaced(why) => assert!(why.contains("not those of the circuit"), "{why}"),
        other => panic!("wrong commitments were {other:?}"),
    }
    assert_eq!(replaced.digest(), prover.verifier().digest());
    replaced.verify(&proof).unwrap();
    assert_eq!(verifier(&store).key_source(), &KeySource::Sealed);

    // A damaged file: detected before any check, rebuilt.
    let path = store.path(&circuit).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();
    match verifier(&store).key_source() {
        KeySource::Replaced(why) => assert!(why.contains("checksum"), "{why}"),
        other => panic!("a damaged file was {other:?}"),
    }

    // The prover reads the same store; its proofs verify with a key built from scratch.
    let stored_prover = compiled.prover_with(params.clone(), &store).unwrap();
    assert_eq!(stored_prover.verifier().key_source(), &KeySource::Sealed);
    let proof = stored_prover.prove(input).unwrap();
    prover.verifier().verify(&proof).unwrap();
    // The prover stored its key's extended-domain evaluations; damaged, they are checked,
    // refused and rewritten, and the proofs stay valid.
    let cosets = store.load_cosets(&circuit).expect("stored evaluations");
    let cosets_path = dir
        .path()
        .join("keys")
        .join(format!("{}.cosets", hex::encode(circuit)));
    let mut bytes = std::fs::read(&cosets_path).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 1;
    std::fs::write(&cosets_path, &bytes).unwrap();
    let damaged_prover = compiled.prover_with(params.clone(), &store).unwrap();
    prover
        .verifier()
        .verify(&damaged_prover.prove(input).unwrap())
        .unwrap();
    assert_eq!(store.load_cosets(&circuit), Some(cosets));
    plant(&stored.commitments);
    let checked_prover = compiled.prover_with(params.clone(), &store).unwrap();
    assert_eq!(checked_prover.verifier().key_source(), &KeySource::Stored);
    let proof = checked_prover.prove(input).unwrap();
    prover.verifier().verify(&proof).unwrap();

    // Without a store, nothing is read or written.
    let none = compiled.verifier_with(params, &KeyStore::none()).unwrap();
    assert_eq!(none.key_source(), &KeySource::Generated);
}

#[test]
fn sliced_models_store_each_slices_key() {
    let compiled = Arc::new(
        common::model("mlp_784_128_64_10")
            .compile(
                &samples("mlp_784_128_64_10", "calibration.json", 784),
                QuantizeOptions::default(),
                zkinfer::CompileOptions {
                    slices: Some(3),
                    ..Default::default()
                },
            )
            .unwrap(),
    );
    let params = params(compiled.k);
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    let input = compiled
        .model
        .quantize_input(0, &samples("mlp_784_128_64_10", "input.json", 784)[0])
        .unwrap();
    let secret = zkinfer::LinkSecret::random();
    let proof = compiled
        .prove_sliced_with(params.clone(), &store, &input, &secret, rng(), |_, _| {})
        .unwrap();
    let files = std::fs::read_dir(dir.path().join("keys"))
        .unwrap()
        .filter(|entry| {
            entry.as_ref().unwrap().path().extension() == Some(std::ffi::OsStr::new("keyc"))
        })
        .count();
    assert_eq!(files, 3, "one stored key per slice");
    let verifier = compiled.sliced_verifier_with(params, &store).unwrap();
    verifier.verify(&proof).unwrap();
}

/// Runs the CLI with its own cache folder; returns (success, stderr).
fn cli(cache: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zkinfer"))
        .args(args)
        .env("ZKINFER_CACHE_DIR", cache)
        .output()
        .expect("the zkinfer binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_cli_stores_keys_and_rebuilds_a_damaged_one() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let file = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let fixture = |name: &str| {
        common::fixture(&format!("mlp_64_32_10/{name}"))
            .to_str()
            .unwrap()
            .to_string()
    };
    let (zkm, proof) = (file("m.zkm"), file("p.json"));
    let run = |args: &[&str]| cli(&cache, args);
    let (ok, err) = run(&[
        "compile",
        &fixture("model.onnx"),
        "--calibration",
        &fixture("calibration.json"),
        "-o",
        &zkm,
    ]);
    assert!(ok, "{err}");
    let (ok, err) = run(&[
        "prove",
        &zkm,
        "--input",
        &fixture("input.json"),
        "-o",
        &proof,
    ]);
    assert!(ok, "{err}");
    let keys: Vec<_> = std::fs::read_dir(cache.join("keys"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|path| path.extension() == Some(std::ffi::OsStr::new("keyc")))
        .collect();
    assert_eq!(keys.len(), 1, "prove stored the model's key");

    let (ok, err) = run(&["verify", &zkm, &proof]);
    assert!(ok && !err.contains("refused"), "{err}");

    let mut bytes = std::fs::read(&keys[0]).unwrap();
    let last = bytes.len() - 40;
    bytes[last] ^= 1;
    std::fs::write(&keys[0], &bytes).unwrap();
    let (ok, err) = run(&["verify", &zkm, &proof]);
    assert!(ok && err.contains("refused"), "{err}");
    let (ok, err) = run(&["verify", &zkm, &proof]);
    assert!(ok && !err.contains("refused"), "rewritten: {err}");

    // --no-key-cache neither reads nor writes the store.
    std::fs::remove_dir_all(cache.join("keys")).unwrap();
    let (ok, err) = run(&["verify", &zkm, &proof, "--no-key-cache"]);
    assert!(ok, "{err}");
    assert!(!cache.join("keys").exists());
}

/// A circuit whose one region assigns fixed cells twice when `overwrite` is set (key generation
/// keeps the last value), once with `assign_fixed_values` and once cell by cell.
#[derive(Clone, Default)]
struct Overwriting {
    overwrite: bool,
}

impl halo2_proofs::plonk::Circuit<Fp> for Overwriting {
    type Config = (
        halo2_proofs::plonk::Column<halo2_proofs::plonk::Fixed>,
        halo2_proofs::plonk::Column<halo2_proofs::plonk::Advice>,
        halo2_proofs::plonk::Selector,
    );
    type FloorPlanner = halo2_proofs::circuit::SimpleFloorPlanner;

    fn without_witnesses(&self) -> Self {
        self.clone()
    }

    fn configure(meta: &mut halo2_proofs::plonk::ConstraintSystem<Fp>) -> Self::Config {
        let (fixed, advice, q) = (meta.fixed_column(), meta.advice_column(), meta.selector());
        meta.enable_equality(advice);
        meta.create_gate("advice equals fixed", |meta| {
            let q = meta.query_selector(q);
            let f = meta.query_fixed(fixed);
            let a = meta.query_advice(advice, halo2_proofs::poly::Rotation::cur());
            vec![q * (f - a)]
        });
        (fixed, advice, q)
    }

    fn synthesize(
        &self,
        (fixed, advice, q): Self::Config,
        mut layouter: impl halo2_proofs::circuit::Layouter<Fp>,
    ) -> Result<(), halo2_proofs::plonk::Error> {
        use halo2_proofs::circuit::Value;
        layouter.assign_region(
            || "cells",
            |mut region| {
                let values: Vec<Fp> = (1..=8u64).map(Fp::from).collect();
                if self.overwrite {
                    region.assign_fixed_values(fixed, 0, &[Fp::from(99); 8])?;
                    region.assign_fixed(|| "", fixed, 3, || Value::known(Fp::from(77)))?;
                }
                region.assign_fixed_values(fixed, 0, &values)?;
                for (row, value) in values.iter().enumerate() {
                    q.enable(&mut region, row)?;
                    region.assign_advice(|| "", advice, row, || Value::known(*value))?;
                }
                Ok(())
            },
        )
    }
}

#[test]
fn a_circuit_assigning_fixed_cells_twice_is_checked_like_any_other() {
    // The verifier's check adds fixed cells into one sum as they are assigned; a circuit that
    // overwrites cells takes the slower path that stores the columns, and both paths accept
    // exactly the generated commitments.
    let params = params(5);
    for overwrite in [false, true] {
        let circuit = Overwriting { overwrite };
        let vk = keygen_vk(&params, &circuit).unwrap();
        let good = vk.key_commitments();
        let (rebuilt, selectors) =
            keygen_vk_from_commitments(&params, &circuit, &good, rng()).unwrap();
        assert_eq!(pinned(&rebuilt), pinned(&vk));
        let trusted = keygen_vk_from_trusted(&params, &circuit, &good, &selectors).unwrap();
        assert_eq!(pinned(&trusted), pinned(&vk));
        // Trusted parts are not checked, but parts that cannot belong to the circuit are
        // refused rather than panicking: a selector more or less, a row more, a selector
        // enabled among the blinding rows, a commitment missing.
        let mut extra = selectors.clone();
        extra.push(vec![false; selectors[0].len()]);
        let mut longer = selectors.clone();
        longer[0].push(false);
        let mut blinding = selectors.clone();
        *blinding[0].last_mut().unwrap() = true;
        for bad in [extra, selectors[1..].to_vec(), longer, blinding] {
            assert!(matches!(
                keygen_vk_from_trusted(&params, &circuit, &good, &bad),
                Err(StoredKeyError::Selectors)
            ));
        }
        let mut fewer = good.clone();
        fewer.fixed.pop();
        assert!(matches!(
            keygen_vk_from_trusted(&params, &circuit, &fewer, &selectors),
            Err(StoredKeyError::Count { .. })
        ));
        // The same values with and without overwriting: the same key.
        assert_eq!(
            pinned(&vk),
            pinned(
                &keygen_vk(
                    &params,
                    &Overwriting {
                        overwrite: !overwrite
                    }
                )
                .unwrap()
            )
        );
        for (what, bad) in tamperings(&good) {
            assert!(
                keygen_vk_from_commitments(&params, &circuit, &bad, rng()).is_err(),
                "{what} (overwrite {overwrite})"
            );
        }
    }
}
