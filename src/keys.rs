//! Keys, proving and verification.
//!
//! Keys are built from the compiled model (the verifying key takes one commitment per fixed
//! column), or rebuilt from what a [`KeyStore`] kept of them (see [`crate::keystore`]). A model is identified by the digest of
//! its pinned verifying key: two parties holding the same `.zkm` derive the same digest, and any
//! change to weights, scales or layout changes it.

use std::io::Cursor;
use std::sync::Arc;

use ff::PrimeField;
use halo2_proofs::{
    plonk::{
        create_proof_with_shared_blinding, keygen_pk_from_commitments, keygen_pk_from_trusted,
        keygen_pk_once, keygen_vk_from_commitments, keygen_vk_from_trusted,
        keygen_vk_with_selectors, verify_proof, BatchVerifier, KeyCommitments, ProvingKey,
        SelectorRows, SharedBlinding, SingleVerifier, StoredCosets, StoredKeyError, VerifyingKey,
    },
    poly::commitment::Params,
    transcript::{Blake2bRead, Blake2bWrite, Challenge255},
};
use pasta_curves::Fp;
use zkinfer_circuits::arith::activation_in_range;
use zkinfer_circuits::{with_shape, CircuitWitness, NetworkCircuit, Trace, Visibility};

use crate::claim::Claim;
use crate::compile::{commitment_hex, CompiledModel};
use crate::error::{Error, ProveError, VerifyError};
use crate::keystore::{KeySource, KeyStore, StoredCosetsFile, StoredKey};
use crate::params::Curve;
use crate::proof::{Proof, Statement};

/// Hex digest identifying a model: BLAKE2b-256 of its pinned verifying key.
fn model_digest(vk: &VerifyingKey<Curve>) -> String {
    let pinned = format!("{:?}", vk.pinned());
    let hash = blake2b_simd::Params::new()
        .hash_length(32)
        .personal(b"zkinfer-model-v1")
        .hash(pinned.as_bytes());
    hex::encode(hash.as_bytes())
}

fn keygen_error(e: halo2_proofs::plonk::Error) -> Error {
    Error::Prove(ProveError::Halo2(format!("key generation failed: {e:?}")))
}

/// Refuses the whole-model keys of a model cut into slices: each slice has its own.
fn refuse_sliced(compiled: &CompiledModel) -> Result<(), Error> {
    match compiled.sliced() {
        Some(sliced) => Err(Error::Prove(ProveError::Slicing(format!(
            "the model is cut into {} slices: it is proven slice by slice (see zkinfer::bundle)",
            sliced.len()
        )))),
        None => Ok(()),
    }
}

/// Checks that `params` fit the model.
fn check_params(compiled: &CompiledModel, params: &Params<Curve>) -> Result<(), Error> {
    if params.k() != compiled.k {
        return Err(Error::Prove(ProveError::Halo2(format!(
            "parameters are for k = {}, the model needs k = {}",
            params.k(),
            compiled.k
        ))));
    }
    Ok(())
}

/// Fresh randomness for checking stored commitments.
fn check_rng() -> impl rand_core::Rng {
    rand_core::UnwrapErr(rand::rngs::SysRng)
}

/// The verifying key, as the verifying key inside itself.
fn verifying_key_itself(vk: &VerifyingKey<Curve>) -> &VerifyingKey<Curve> {
    vk
}

/// How a key is obtained from each kind of stored file, or built.
struct KeyBuilders<Sealed, Checked, Generate, VkOf> {
    /// From a file this store sealed (believed: see [`crate::keystore`]).
    sealed: Sealed,
    /// From stored commitments that are checked against the circuit.
    checked: Checked,
    /// From scratch.
    generate: Generate,
    /// The verifying key inside the key.
    vk_of: VkOf,
}

/// Builds a key from what `keys` holds for the circuit — believing a file the store sealed,
/// checking any other — or, failing that, generates it; then stores (and seals) what it
/// checked or generated.
fn stored_or_generated<K, Sealed, Checked, Generate, VkOf>(
    compiled: &CompiledModel,
    keys: &KeyStore,
    builders: KeyBuilders<Sealed, Checked, Generate, VkOf>,
) -> Result<(K, KeySource), Error>
where
    Sealed: FnOnce(&StoredKey) -> Result<K, StoredKeyError>,
    Checked: FnOnce(&KeyCommitments<Curve>) -> Result<(K, SelectorRows), StoredKeyError>,
    Generate: FnOnce() -> Result<(K, SelectorRows), Error>,
    VkOf: Fn(&K) -> &VerifyingKey<Curve>,
{
    let circuit = compiled.circuit_digest();
    let refused = |why: StoredKeyError| -> Result<KeySource, Error> {
        match why {
            StoredKeyError::Keygen(e) => Err(keygen_error(e)),
            refused => Ok(KeySource::Replaced(format!(
                "{}: {refused}",
                keys.path(&circuit)
                    .map_or_else(String::new, |p| p.display().to_string())
            ))),
        }
    };
    let source = match keys.load(&circuit, compiled.k) {
        Ok(None) => KeySource::Generated,
        Ok(Some(stored)) if stored.sealed => match (builders.sealed)(&stored) {
            Ok(key) => return Ok((key, KeySource::Sealed)),
            Err(why) => refused(why)?,
        },
        Ok(Some(stored)) => match (builders.checked)(&stored.commitments) {
            Ok((key, selectors)) => {
                // Checked: sealed from now on. Not stored is not an error (checked again).
                let _ = keys.save(&circuit, compiled.k, &stored.commitments, &selectors);
                return Ok((key, KeySource::Stored));
            }
            Err(why) => refused(why)?,
        },
        Err(damaged) => KeySource::Replaced(damaged),
    };
    let (key, selectors) = (builders.generate)()?;
    // A key that cannot be stored is generated again next time: not an error.
    let commitments = (builders.vk_of)(&key).key_commitments();
    let _ = keys.save(&circuit, compiled.k, &commitments, &selectors);
    Ok((key, source))
}

impl CompiledModel {
    /// BLAKE2b-256 of everything that defines the model's circuit (network, shape, `k`,
    /// layout): the name of its stored keys in a [`KeyStore`]. Only a name: stored commitments
    /// are checked against the circuit itself before use.
    pub fn circuit_digest(&self) -> [u8; 32] {
        let mut state = blake2b_simd::Params::new()
            .hash_length(32)
            .personal(b"zkinfer-circuit1")
            .to_state();
        state.update(env!("CARGO_PKG_VERSION").as_bytes());
        state.update(&serde_json::to_vec(self.network().as_ref()).expect("networks serialise"));
        state.update(self.shape.name().as_bytes());
        state.update(&self.k.to_le_bytes());
        state.update(format!("{:?}", self.layout()).as_bytes());
        state
            .finalize()
            .as_bytes()
            .try_into()
            .expect("32-byte hash")
    }

    /// Builds the verifying key: all a verifier needs besides the parameters.
    pub fn verifier(self: &Arc<Self>, params: Arc<Params<Curve>>) -> Result<Verifier, Error> {
        self.verifier_with(params, &KeyStore::none())
    }

    /// [`CompiledModel::verifier`], reusing the key commitments in `keys` when they are there
    /// and pass the check against the circuit, and storing them otherwise
    /// ([`Verifier::key_source`] says which happened).
    pub fn verifier_with(
        self: &Arc<Self>,
        params: Arc<Params<Curve>>,
        keys: &KeyStore,
    ) -> Result<Verifier, Error> {
        check_params(self, &params)?;
        refuse_sliced(self)?;
        let (vk, key_source) = with_shape!(self.shape, S => {
            let circuit = NetworkCircuit::<S>::new(self.network().clone(), self.layout().clone());
            stored_or_generated(
                self,
                keys,
                KeyBuilders {
                    sealed: |stored: &StoredKey| {
                        keygen_vk_from_trusted(
                            &params,
                            &circuit,
                            &stored.commitments,
                            &stored.selectors,
                        )
                    },
                    checked: |stored: &KeyCommitments<Curve>| {
                        keygen_vk_from_commitments(&params, &circuit, stored, check_rng())
                    },
                    generate: || keygen_vk_with_selectors(&params, &circuit).map_err(keygen_error),
                    vk_of: verifying_key_itself,
                },
            )?
        });
        Ok(Verifier::new(self.clone(), params, vk, key_source))
    }

    /// Builds the proving key (and the verifying key inside it).
    ///
    /// Also precomputes the multiples of the commitment bases in `params` (shared by its
    /// clones), which makes every commitment of a proof about twice as fast.
    pub fn prover(self: &Arc<Self>, params: Arc<Params<Curve>>) -> Result<Prover, Error> {
        self.prover_with(params, &KeyStore::none())
    }

    /// [`CompiledModel::prover`], reusing the verifying key's commitments in `keys` when they
    /// are there and sealed or pass the check against the circuit, and storing them otherwise;
    /// the parameters' commitment tables are read from `keys` too, when it holds them.
    pub fn prover_with(
        self: &Arc<Self>,
        params: Arc<Params<Curve>>,
        keys: &KeyStore,
    ) -> Result<Prover, Error> {
        check_params(self, &params)?;
        refuse_sliced(self)?;
        keys.attach_commitment_tables(&params);
        let digest = self.circuit_digest();
        let mut stored_cosets = StoredCosets::Absent;
        let (pk, key_source) = with_shape!(self.shape, S => {
            let circuit = NetworkCircuit::<S>::new(self.network().clone(), self.layout().clone());
            stored_or_generated(
                self,
                keys,
                KeyBuilders {
                    sealed: |stored: &StoredKey| {
                        let cosets = keys.load_cosets(&digest);
                        let built = keygen_pk_from_trusted(
                            &params,
                            &circuit,
                            &stored.commitments,
                            cosets.as_ref().map(StoredCosetsFile::evaluations),
                            check_rng(),
                        )?;
                        stored_cosets = built.cosets;
                        Ok(built.pk)
                    },
                    checked: |stored: &KeyCommitments<Curve>| {
                        keygen_pk_from_commitments(&params, &circuit, stored, check_rng())
                    },
                    generate: || keygen_pk_once(&params, &circuit).map_err(keygen_error),
                    vk_of: ProvingKey::get_vk,
                },
            )?
        });
        if stored_cosets != StoredCosets::Used {
            // Not stored is not an error: computed again next time.
            let _ = keys.save_cosets(&digest, &pk);
        }
        let verifier = Verifier::new(self.clone(), params, pk.get_vk().clone(), key_source);
        Ok(Prover { verifier, pk })
    }

    /// The exact integer forward pass for a quantised input, and the circuit witness it implies.
    pub fn witness(&self, input: &[i64]) -> Result<(Trace, CircuitWitness), Error> {
        self.require_weights().map_err(Error::Prove)?;
        refuse_sliced(self)?;
        if self.slice_of().is_some() {
            return Err(Error::Prove(ProveError::Slicing(
                "a slice's witness needs its link values: see zkinfer::bundle".into(),
            )));
        }
        let trace = self.network().forward(input)?;
        let witness = CircuitWitness::new(self.network(), self.layout(), &trace)?;
        Ok((trace, witness))
    }

    /// Checks `witness` against the circuit with halo2's `MockProver` (no keys, no proof):
    /// `Ok` if every constraint holds for the given public values, else the failures, one per
    /// line. For tests and for debugging a model.
    pub fn mock_check(&self, witness: &CircuitWitness, public: &[i64]) -> Result<(), String> {
        let instances = self.layout().instances_with(
            witness.input_commitment,
            public,
            witness.output_commitment,
            witness.weights_commitment,
        );
        let witness = Arc::new(witness.clone());
        let result = with_shape!(self.shape, S => {
            let circuit = NetworkCircuit::<S>::new(self.network().clone(), self.layout().clone())
                .with_witness(witness);
            halo2_proofs::dev::MockProver::run(self.k, &circuit, instances).map(|p| p.verify())
        });
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(failures)) => Err(failures
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")),
            Err(e) => Err(format!("synthesis failed: {e:?}")),
        }
    }
}

/// The public values a proof gives for the input or output (`what` names the values and their
/// tensors in errors): one tensor of `len` values if they are public, none otherwise.
fn public_part<'a>(
    what: [&'static str; 2],
    given: &'a [Vec<i64>],
    public: bool,
    len: usize,
) -> Result<&'a [i64], VerifyError> {
    let [values_name, tensors_name] = what;
    match (given, public) {
        ([values], true) if values.len() == len => Ok(values),
        ([values], true) => Err(VerifyError::PublicShape {
            what: values_name,
            got: values.len(),
            expected: len,
        }),
        ([], false) => Ok(&[]),
        _ => Err(VerifyError::PublicShape {
            what: tensors_name,
            got: given.len(),
            expected: usize::from(public),
        }),
    }
}

/// The commitment a proof must carry for values of the given visibility, parsed.
fn expect_commitment(
    what: &'static str,
    given: &Option<String>,
    visibility: Visibility,
) -> Result<Option<Fp>, VerifyError> {
    match (given, visibility == Visibility::Hashed) {
        (Some(hex), true) => parse_commitment(hex).map(Some),
        (None, false) => Ok(None),
        (Some(_), false) => Err(VerifyError::UnexpectedCommitment(what)),
        (None, true) => Err(VerifyError::MissingCommitment(what)),
    }
}

/// Reads a hex commitment as a field element.
pub(crate) fn parse_commitment(hex_text: &str) -> Result<Fp, VerifyError> {
    let bad = || VerifyError::MalformedCommitment(hex_text.chars().take(80).collect());
    let bytes: [u8; 32] = hex::decode(hex_text)
        .map_err(|_| bad())?
        .try_into()
        .map_err(|_| bad())?;
    Option::from(Fp::from_repr(bytes)).ok_or_else(bad)
}

/// Everything needed to prove inferences of one model.
pub struct Prover {
    verifier: Verifier,
    pk: ProvingKey<Curve>,
}

impl std::fmt::Debug for Prover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prover")
            .field("digest", &self.verifier.digest)
            .finish_non_exhaustive()
    }
}

impl Prover {
    /// The matching verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// The compiled model.
    pub fn compiled(&self) -> &Arc<CompiledModel> {
        &self.verifier.compiled
    }

    /// Quantises `input` (one float sample), runs the integer model and proves it, with fresh
    /// randomness from the operating system.
    pub fn prove(&self, input: &[f32]) -> Result<Proof, Error> {
        let quantised = self.compiled().model.quantize_input(0, input)?;
        self.prove_quantized(&quantised, rand_core::UnwrapErr(rand::rngs::SysRng))
    }

    /// Proves the model on a quantised input with the given randomness (tests pass a seeded
    /// generator; production must use a cryptographic one).
    pub fn prove_quantized(&self, input: &[i64], rng: impl rand_core::Rng) -> Result<Proof, Error> {
        let (_, witness) = self.compiled().witness(input)?;
        self.prove_witness(witness, rng)
    }

    /// Proves a precomputed witness (its public values become the proof's inputs and outputs).
    pub fn prove_witness(
        &self,
        witness: CircuitWitness,
        mut rng: impl rand_core::Rng,
    ) -> Result<Proof, Error> {
        self.prove_with_shared_blinding(witness, &[], &mut rng)
    }

    /// [`Prover::prove_witness`], with the randomness of some advice columns given (a slice's
    /// link columns, see [`crate::bundle`]). The generator is a trait object so that the
    /// prover is compiled once, here, whatever generator callers use.
    pub(crate) fn prove_with_shared_blinding(
        &self,
        witness: CircuitWitness,
        shared: &[SharedBlinding<Fp>],
        rng: &mut dyn rand_core::Rng,
    ) -> Result<Proof, Error> {
        let compiled = self.compiled();
        let layout = compiled.layout();
        let instances = witness.instances(layout);
        let instance_refs: Vec<&[Fp]> = instances.iter().map(Vec::as_slice).collect();
        let public = witness.public.clone();
        let input_commitment = witness.input_commitment.map(commitment_hex);
        let output_commitment = witness.output_commitment.map(commitment_hex);
        let weights_commitment = witness.weights_commitment.map(commitment_hex);
        let witness = Arc::new(witness);
        let mut transcript = Blake2bWrite::<_, Curve, Challenge255<_>>::init(Vec::new());
        with_shape!(compiled.shape, S => {
            let circuit = NetworkCircuit::<S>::new(compiled.network().clone(), layout.clone())
                .with_witness(witness);
            create_proof_with_shared_blinding(
                &self.verifier.params,
                &self.pk,
                &[circuit],
                &[&instance_refs],
                &[shared],
                rng,
                &mut transcript,
            )
            .map_err(|e| Error::Prove(ProveError::Halo2(format!("{e:?}"))))?
        });
        let network = compiled.network();
        let public_inputs = if network.input_public() {
            network.input_len()
        } else {
            0
        };
        let (inputs, outputs) = public.split_at(public_inputs);
        let inputs = network.input_public().then(|| inputs.to_vec());
        let outputs = network.output_public().then(|| outputs.to_vec());
        Ok(Proof::new(
            self.verifier.digest.clone(),
            compiled.k,
            (compiled.model.input_scale, compiled.model.output_scale),
            Statement {
                inputs,
                input_commitment,
                outputs,
                output_commitment,
                weights_commitment,
                claim: compiled.claim.clone(),
            },
            transcript.finalize(),
        ))
    }
}

/// What a valid proof establishes: the model maps these inputs to these outputs (or, for a
/// proof of a claim, to an output of which the claim holds).
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedOutput {
    /// The quantised inputs (empty when the input is private or hashed).
    pub inputs: Vec<Vec<i64>>,
    /// The commitment to a hashed input (hex), which the proof binds the computation to.
    pub input_commitment: Option<String>,
    /// The commitment to a hashed output (hex).
    pub output_commitment: Option<String>,
    /// The commitment to the weights of a model with committed weights (hex): the proof used
    /// exactly the weights it commits to.
    pub weights_commitment: Option<String>,
    /// The quantised outputs (empty for a proof of a claim, or a private or hashed output).
    pub outputs: Vec<Vec<i64>>,
    /// The verified claim about the output, for a proof of a claim.
    pub claim: Option<Claim>,
    /// The inputs as floats.
    pub inputs_dequantized: Vec<Vec<f32>>,
    /// The outputs as floats.
    pub outputs_dequantized: Vec<Vec<f32>>,
}

/// Verifies proofs of one model.
#[derive(Clone)]
pub struct Verifier {
    compiled: Arc<CompiledModel>,
    params: Arc<Params<Curve>>,
    vk: VerifyingKey<Curve>,
    digest: String,
    proof_bytes: usize,
    key_source: KeySource,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("digest", &self.digest)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    fn new(
        compiled: Arc<CompiledModel>,
        params: Arc<Params<Curve>>,
        vk: VerifyingKey<Curve>,
        key_source: KeySource,
    ) -> Self {
        Self {
            digest: model_digest(&vk),
            proof_bytes: vk.proof_bytes(1),
            compiled,
            params,
            vk,
            key_source,
        }
    }

    /// Whether the key was rebuilt from stored commitments or generated (and why).
    pub fn key_source(&self) -> &KeySource {
        &self.key_source
    }

    /// The model's digest (as found in its proofs).
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The compiled model (or slice) it verifies.
    pub fn compiled(&self) -> &Arc<CompiledModel> {
        &self.compiled
    }

    /// Checks a proof and returns what it proves.
    pub fn verify(&self, proof: &Proof) -> Result<VerifiedOutput, VerifyError> {
        let (instances, output) = self.check_public(proof)?;
        let instance_refs: Vec<&[Fp]> = instances.iter().map(Vec::as_slice).collect();
        let mut cursor = Cursor::new(proof.transcript.as_slice());
        let mut transcript = Blake2bRead::<_, Curve, Challenge255<_>>::init(&mut cursor);
        verify_proof(
            &self.params,
            &self.vk,
            SingleVerifier::new(&self.params),
            &[&instance_refs],
            &mut transcript,
        )
        .map_err(|_| VerifyError::Invalid)?;
        Ok(output)
    }

    /// Checks many proofs of this model at once with halo2's batch verifier, which amortises the
    /// expensive multi-exponentiation over the batch. Returns one result per proof, in order;
    /// if the batch fails, every proof is checked on its own so the failing ones are named.
    pub fn verify_batch(&self, proofs: &[Proof]) -> Vec<Result<VerifiedOutput, VerifyError>> {
        let checked: Vec<_> = proofs.iter().map(|p| self.check_public(p)).collect();
        let mut batch = BatchVerifier::<Curve>::new();
        let mut batched = 0;
        for (proof, check) in proofs.iter().zip(&checked) {
            if let Ok((instances, _)) = check {
                batch.add_proof(vec![instances.clone()], proof.transcript.clone());
                batched += 1;
            }
        }
        if batched > 0 && !batch.finalize(&self.params, &self.vk) {
            return proofs.iter().map(|p| self.verify(p)).collect();
        }
        checked
            .into_iter()
            .map(|c| c.map(|(_, output)| output))
            .collect()
    }

    /// Every check but the cryptographic one: digest, `k`, scales, shapes, ranges and transcript
    /// length. Returns the instance columns and what the proof claims.
    pub(crate) fn check_public(
        &self,
        proof: &Proof,
    ) -> Result<(Vec<Vec<Fp>>, VerifiedOutput), VerifyError> {
        let model = &self.compiled.model;
        if !proof.slices.is_empty() {
            return Err(VerifyError::Slicing(format!(
                "the proof is a sliced proof of {} slices, but the model is proven as one circuit",
                proof.slices.len()
            )));
        }
        if proof.model_digest != self.digest {
            if let Some(claim) = &self.compiled.claim {
                return Err(VerifyError::ClaimCircuitMismatch {
                    claim: claim.to_string(),
                    proof: proof.model_digest.clone(),
                    model: self.digest.clone(),
                });
            }
            return Err(VerifyError::ModelMismatch {
                proof: proof.model_digest.clone(),
                model: self.digest.clone(),
            });
        }
        if proof.k != self.compiled.k {
            return Err(VerifyError::WrongK {
                got: proof.k,
                expected: self.compiled.k,
            });
        }
        for (what, got, expected) in [
            ("input", proof.input_scale, model.input_scale),
            ("output", proof.output_scale, model.output_scale),
        ] {
            if got != expected {
                return Err(VerifyError::ScaleMismatch {
                    what,
                    got,
                    expected,
                });
            }
        }
        let network = self.compiled.network();
        let input = public_part(
            ["inputs", "input tensors"],
            &proof.inputs,
            network.input_public(),
            network.input_len(),
        )?;
        let input_commitment =
            expect_commitment("input", &proof.input_commitment, network.input_visibility)?;
        let output_commitment = expect_commitment(
            "output",
            &proof.output_commitment,
            network.output_visibility,
        )?;
        let weights_commitment = match self.compiled.weights_commitment() {
            Some(model) if proof.weights_commitment.as_deref() == Some(model) => {
                Some(parse_commitment(model)?)
            }
            None if proof.weights_commitment.is_none() => None,
            expected => {
                return Err(VerifyError::WeightsMismatch {
                    proof: proof
                        .weights_commitment
                        .clone()
                        .unwrap_or_else(|| "(none)".into()),
                    model: expected.unwrap_or("(none: its weights are fixed)").into(),
                })
            }
        };
        if proof.claim != self.compiled.claim {
            let describe = |c: &Option<Claim>| {
                c.as_ref()
                    .map_or_else(|| "the outputs".to_string(), ToString::to_string)
            };
            return Err(VerifyError::ClaimMismatch {
                proof: describe(&proof.claim),
                expected: describe(&self.compiled.claim),
            });
        }
        let output = public_part(
            ["outputs", "output tensors"],
            &proof.outputs,
            network.output_public(),
            network.output_len(),
        )?;
        // The circuit's soundness argument assumes inputs in the activation range.
        if let Some((index, &value)) = input
            .iter()
            .enumerate()
            .find(|(_, &v)| !activation_in_range(v))
        {
            return Err(VerifyError::InputOutOfRange { index, value });
        }
        if proof.transcript.len() != self.proof_bytes {
            return Err(VerifyError::TranscriptLength {
                got: proof.transcript.len(),
                expected: self.proof_bytes,
            });
        }
        let public: Vec<i64> = input.iter().chain(output).copied().collect();
        let instances = self.compiled.layout().instances_with(
            input_commitment,
            &public,
            output_commitment,
            weights_commitment,
        );
        let verified = VerifiedOutput {
            inputs: proof.inputs.clone(),
            input_commitment: proof.input_commitment.clone(),
            output_commitment: proof.output_commitment.clone(),
            weights_commitment: proof.weights_commitment.clone(),
            outputs: proof.outputs.clone(),
            claim: proof.claim.clone(),
            inputs_dequantized: proof
                .inputs
                .iter()
                .map(|i| model.dequantize_input(i))
                .collect(),
            outputs_dequantized: proof
                .outputs
                .iter()
                .map(|o| model.dequantize_output(o))
                .collect(),
        };
        Ok((instances, verified))
    }
}
