//! Proofs of sliced models: one proof per slice, linked by shared commitments.
//!
//! A sliced model ([`crate::slices`]) is proven slice by slice. Each slice's proof is an
//! ordinary halo2 proof of the slice's circuit, whose *link columns* hold the values it shares
//! with other slices: a link (the values slice `p` computes for slice `q`) sits in link-out
//! columns of `p` and link-in columns of `q`, laid out alike. In both proofs the prover takes
//! those columns' random rows and commitment blinds from a [`LinkSecret`] shared by the slices
//! of one proof (and nothing else), so equal values give equal column commitments. The
//! verifier checks every slice proof, then that every link's columns have the same commitments
//! in its two proofs:
//!
//! - **Binding.** A commitment is a Pedersen vector commitment over the same bases in both
//!   proofs (same `k`), so equal commitments mean equal columns unless discrete logarithms in
//!   Pallas/Vesta are easy. Each slice's circuit copy-constrains every link-out value to the
//!   cell that computed it and every link-in value to the cells that read it, so the values
//!   slice `q` computed on are the values slice `p` computed.
//! - **Hiding.** The columns' random rows and blinds come from the secret; a proof bundle
//!   reveals the commitments and, per proof, the column's evaluations at that proof's
//!   challenges (SECURITY.md counts them against the random rows).
//!
//! The proof of a whole model is a [`Proof`] whose `slices` hold the slice proofs in order;
//! a slice can also be proven alone ([`SliceProver`], the part of a proof made by one machine)
//! and the parts joined ([`CompiledModel::join`]).

use std::sync::Arc;

use ff::FromUniformBytes;
use halo2_proofs::plonk::SharedBlinding;
use halo2_proofs::poly::commitment::Params;
use pasta_curves::Fp;
use rayon::prelude::*;
use zkinfer_circuits::{with_shape, CircuitWitness, NetworkCircuit, Trace, Visibility};

use crate::artifact::{PART_FORMAT, PROOF_FORMAT};
use crate::compile::CompiledModel;
use crate::error::{Error, JoinError, ProveError, VerifyError};
use crate::keys::{Prover, VerifiedOutput, Verifier};
use crate::keystore::KeyStore;
use crate::params::Curve;
use crate::proof::{LinkCommitments, Proof, SliceProof};
use crate::slices::SlicedModel;

/// Environment variable holding the link secret of a proof made in parts (64 hex digits).
pub const LINK_SECRET_ENV: &str = "ZKINFER_LINK_SECRET";

/// The secret the slices of one proof share to blind their link columns alike.
///
/// Whoever knows it can test guesses of the linked values against the link commitments, so it
/// must stay with the provers: [`LinkSecret::random`] for a proof made in one process, the same
/// secret given to every machine proving a part of one proof, and a fresh one per proof.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkSecret([u8; 32]);

impl std::fmt::Debug for LinkSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkSecret(..)")
    }
}

impl LinkSecret {
    /// A fresh secret from the operating system's generator.
    pub fn random() -> Self {
        let mut bytes = [0u8; 32];
        rand_core::Rng::fill_bytes(&mut rand_core::UnwrapErr(rand::rngs::SysRng), &mut bytes);
        Self(bytes)
    }

    /// A secret from 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, ProveError> {
        let bytes: [u8; 32] = hex::decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                ProveError::Slicing("a link secret is 64 hex digits (32 bytes)".into())
            })?;
        Ok(Self(bytes))
    }

    /// The secret as 64 hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// A secret every machine derives alike from the model and a *public* input, so that parts
    /// proven apart link without sharing a secret. The linked values then hide nothing from a
    /// holder of the model and the input, who can compute them anyway; a model with a private
    /// or hashed input needs a real secret ([`LinkSecret::random`], shared by the machines).
    pub fn for_public_input(compiled: &CompiledModel, input: &[i64]) -> Result<Self, ProveError> {
        let sliced = require_sliced(compiled)?;
        if compiled.input_visibility() != Visibility::Public {
            return Err(ProveError::Slicing(
                "the model's input is private or hashed: parts proven apart need one link secret \
                 shared by every machine (--link-secret, or ZKINFER_LINK_SECRET)"
                    .into(),
            ));
        }
        let mut state = blake2b_simd::Params::new()
            .hash_length(32)
            .personal(b"zkinfer-linkseed")
            .to_state();
        state.update(sliced.id.as_bytes());
        for v in input {
            state.update(&v.to_le_bytes());
        }
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(state.finalize().as_bytes());
        Ok(Self(bytes))
    }

    /// The secret of a part (one slice of a proof made on several machines): `given` (64 hex
    /// digits), else the environment variable [`LINK_SECRET_ENV`], else, for a public input,
    /// [`LinkSecret::for_public_input`]. This is what `zkinfer prove --slice` and the Python
    /// package use, so parts made by either link.
    pub fn for_part(
        given: Option<&str>,
        compiled: &CompiledModel,
        input: &[i64],
    ) -> Result<Self, ProveError> {
        let from_env = std::env::var(LINK_SECRET_ENV)
            .ok()
            .filter(|s| !s.is_empty());
        match given.map(str::to_string).or(from_env) {
            Some(hex) => Self::from_hex(&hex),
            None => Self::for_public_input(compiled, input),
        }
    }

    /// The random rows and blind of column `column` of the link from slice `from` to `to`.
    fn blinding(
        &self,
        id: &str,
        (from, to): (usize, usize),
        column: usize,
        rows: usize,
    ) -> (Vec<Fp>, Fp) {
        let element = |row: u64| {
            let mut state = blake2b_simd::Params::new()
                .hash_length(64)
                .key(&self.0)
                .personal(b"zkinfer-link-v1\0")
                .to_state();
            state.update(id.as_bytes());
            for word in [from as u64, to as u64, column as u64, row] {
                state.update(&word.to_le_bytes());
            }
            let mut wide = [0u8; 64];
            wide.copy_from_slice(state.finalize().as_bytes());
            Fp::from_uniform_bytes(&wide)
        };
        ((0..rows as u64).map(element).collect(), element(u64::MAX))
    }
}

fn require_sliced(compiled: &CompiledModel) -> Result<&Arc<SlicedModel>, ProveError> {
    compiled.sliced().ok_or_else(|| {
        ProveError::Slicing("the model is proven as one circuit, not in slices".into())
    })
}

/// Where one slice's link columns sit: per link (in the slicing's order), the advice column
/// indices of the slice's columns for it.
#[derive(Clone, Debug)]
struct LinkColumns {
    /// `(from, columns)` per link into the slice.
    inbound: Vec<(usize, Vec<usize>)>,
    /// `(to, columns)` per link out of the slice.
    outbound: Vec<(usize, Vec<usize>)>,
}

impl LinkColumns {
    fn of(sliced: &SlicedModel, slice: &CompiledModel, index: usize) -> Self {
        let (inputs, outputs) = with_shape!(slice.shape, S => {
            NetworkCircuit::<S>::new(slice.network().clone(), slice.layout().clone())
                .link_column_indices::<Fp>()
        });
        let layout = &slice.layout().links;
        let group = |indices: Vec<usize>, counts: &[usize], peers: Vec<usize>| {
            let mut indices = indices.into_iter();
            peers
                .into_iter()
                .zip(counts)
                .map(|(peer, &count)| (peer, indices.by_ref().take(count).collect()))
                .collect()
        };
        let links = &sliced.slicing.links;
        Self {
            inbound: group(
                inputs,
                &layout.input,
                links
                    .iter()
                    .filter(|l| l.to == index)
                    .map(|l| l.from)
                    .collect(),
            ),
            outbound: group(
                outputs,
                &layout.output,
                links
                    .iter()
                    .filter(|l| l.from == index)
                    .map(|l| l.to)
                    .collect(),
            ),
        }
    }

    /// The shared randomness of every link column of the slice.
    fn shared_blinding(
        &self,
        index: usize,
        secret: &LinkSecret,
        id: &str,
        rows: usize,
    ) -> Vec<SharedBlinding<Fp>> {
        let inbound = self
            .inbound
            .iter()
            .map(|(from, columns)| ((*from, index), columns));
        let outbound = self
            .outbound
            .iter()
            .map(|(to, columns)| ((index, *to), columns));
        inbound
            .chain(outbound)
            .flat_map(|(link, columns)| {
                columns.iter().enumerate().map(move |(m, &column)| {
                    let (tail, blind) = secret.blinding(id, link, m, rows);
                    SharedBlinding {
                        column,
                        tail,
                        blind,
                    }
                })
            })
            .collect()
    }

    /// The commitments a slice proof's transcript holds for its link columns.
    fn commitments(&self, transcript: &[u8]) -> (Vec<LinkCommitments>, Vec<LinkCommitments>) {
        let read = |links: &[(usize, Vec<usize>)]| {
            links
                .iter()
                .map(|(slice, columns)| LinkCommitments {
                    slice: *slice,
                    commitments: columns
                        .iter()
                        .map(|&c| {
                            transcript
                                .get(32 * c..32 * (c + 1))
                                .map_or_else(String::new, hex::encode)
                        })
                        .collect(),
                })
                .collect()
        };
        (read(&self.inbound), read(&self.outbound))
    }
}

/// The prover of one slice, with its keys: proves the slice for any input.
pub struct SliceProver {
    model: Arc<CompiledModel>,
    index: usize,
    prover: Prover,
    columns: LinkColumns,
}

impl std::fmt::Debug for SliceProver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SliceProver")
            .field("slice", &self.index)
            .finish_non_exhaustive()
    }
}

impl CompiledModel {
    /// The prover of slice `index` of a sliced model (builds the slice's keys).
    pub fn slice_prover(
        self: &Arc<Self>,
        index: usize,
        params: Arc<Params<Curve>>,
    ) -> Result<SliceProver, Error> {
        self.slice_prover_with(index, params, &KeyStore::none())
    }

    /// [`CompiledModel::slice_prover`], reusing the slice's key commitments in `keys` (see
    /// [`CompiledModel::prover_with`]).
    pub fn slice_prover_with(
        self: &Arc<Self>,
        index: usize,
        params: Arc<Params<Curve>>,
        keys: &KeyStore,
    ) -> Result<SliceProver, Error> {
        self.require_weights()?;
        let sliced = require_sliced(self)?;
        let slice = sliced.slices.get(index).ok_or(ProveError::NoSuchSlice {
            requested: index,
            count: sliced.len(),
        })?;
        Ok(SliceProver {
            model: self.clone(),
            index,
            columns: LinkColumns::of(sliced, slice, index),
            prover: slice.prover_with(params, keys)?,
        })
    }

    /// The exact forward pass of a sliced model's whole network: every value its slices read
    /// and link. Bit-exact on every machine, so parts proven apart agree.
    pub fn sliced_trace(&self, input: &[i64]) -> Result<Trace, Error> {
        self.require_weights()?;
        Ok(require_sliced(self)?.network.forward(input)?)
    }

    /// Proves every slice of a sliced model on `input` (quantised), one at a time (so memory
    /// follows the largest slice), and joins the parts. `on_slice(index, count)` is called as
    /// each slice starts (for progress reports).
    pub fn prove_sliced(
        self: &Arc<Self>,
        params: Arc<Params<Curve>>,
        input: &[i64],
        secret: &LinkSecret,
        rng: impl rand_core::Rng,
        on_slice: impl FnMut(usize, usize),
    ) -> Result<Proof, Error> {
        self.prove_sliced_with(params, &KeyStore::none(), input, secret, rng, on_slice)
    }

    /// [`CompiledModel::prove_sliced`], reusing the slices' key commitments in `keys` (see
    /// [`CompiledModel::prover_with`]).
    pub fn prove_sliced_with(
        self: &Arc<Self>,
        params: Arc<Params<Curve>>,
        keys: &KeyStore,
        input: &[i64],
        secret: &LinkSecret,
        mut rng: impl rand_core::Rng,
        mut on_slice: impl FnMut(usize, usize),
    ) -> Result<Proof, Error> {
        let sliced = require_sliced(self)?;
        let whole = self.sliced_trace(input)?;
        let mut parts = Vec::with_capacity(sliced.len());
        for index in 0..sliced.len() {
            on_slice(index, sliced.len());
            let prover = self.slice_prover_with(index, params.clone(), keys)?;
            parts.push(prover.prove(input, &whole, secret, &mut rng)?);
        }
        self.join(&parts)
    }

    /// Joins the proofs of every slice of one proof (parts, in any order) into the proof of
    /// the whole model. Checks that they are the parts of one proof of this model; the
    /// cryptographic checks are [`SlicedVerifier::verify`]'s.
    pub fn join(&self, parts: &[Proof]) -> Result<Proof, Error> {
        let sliced = require_sliced(self)?;
        let count = sliced.len();
        let mut slices: Vec<Option<SliceProof>> = vec![None; count];
        let mut joined: Option<Proof> = None;
        for (part_index, part) in parts.iter().enumerate() {
            if part.model_digest != sliced.id {
                return Err(JoinError::OtherModel {
                    part: part_index,
                    found: part.model_digest.clone(),
                    expected: sliced.id.clone(),
                }
                .into());
            }
            let [slice] = part.slices.as_slice() else {
                return Err(JoinError::NotOnePart(part_index, part.slices.len()).into());
            };
            let place = slices.get_mut(slice.slice).ok_or(JoinError::NoSuchSlice {
                part: part_index,
                slice: slice.slice,
                count,
            })?;
            if place.replace(slice.clone()).is_some() {
                return Err(JoinError::Repeated(slice.slice).into());
            }
            let whole = joined.get_or_insert_with(|| Proof {
                format: PROOF_FORMAT.into(),
                slices: Vec::new(),
                inputs: Vec::new(),
                input_commitment: None,
                outputs: Vec::new(),
                output_commitment: None,
                claim: None,
                ..part.clone()
            });
            if (whole.k, whole.input_scale, whole.output_scale)
                != (part.k, part.input_scale, part.output_scale)
            {
                return Err(JoinError::Disagree("circuit size or scales").into());
            }
            merge(&mut whole.inputs, &part.inputs, "input")?;
            merge(
                &mut whole.input_commitment,
                &part.input_commitment,
                "input commitment",
            )?;
            merge(&mut whole.outputs, &part.outputs, "output")?;
            merge(
                &mut whole.output_commitment,
                &part.output_commitment,
                "output commitment",
            )?;
            merge(&mut whole.claim, &part.claim, "claim")?;
        }
        if let Some(missing) = slices.iter().position(Option::is_none) {
            return Err(JoinError::Missing(missing).into());
        }
        let mut whole = joined.expect("every slice has a part");
        whole.slices = slices.into_iter().flatten().collect();
        Ok(whole)
    }

    /// The verifier of a sliced model's proofs (builds every slice's verifying key).
    pub fn sliced_verifier(
        self: &Arc<Self>,
        params: Arc<Params<Curve>>,
    ) -> Result<SlicedVerifier, Error> {
        self.sliced_verifier_with(params, &KeyStore::none())
    }

    /// [`CompiledModel::sliced_verifier`], reusing the slices' key commitments in `keys` (see
    /// [`CompiledModel::verifier_with`]).
    pub fn sliced_verifier_with(
        self: &Arc<Self>,
        params: Arc<Params<Curve>>,
        keys: &KeyStore,
    ) -> Result<SlicedVerifier, Error> {
        let sliced = require_sliced(self)?;
        let verifiers = sliced
            .slices
            .iter()
            .map(|slice| slice.verifier_with(params.clone(), keys))
            .collect::<Result<Vec<_>, _>>()?;
        self.sliced_verifier_from(verifiers)
    }

    /// The verifier of a sliced model's proofs from its slices' verifiers (for instance those
    /// of the [`SliceProver`]s that made a proof), in order. Each must be its slice's.
    pub fn sliced_verifier_from(
        self: &Arc<Self>,
        verifiers: Vec<Verifier>,
    ) -> Result<SlicedVerifier, Error> {
        let sliced = require_sliced(self)?;
        let in_order = verifiers.len() == sliced.len()
            && verifiers.iter().zip(&sliced.slices).all(|(v, slice)| {
                let theirs = v.compiled();
                theirs.k == slice.k
                    && theirs.layout() == slice.layout()
                    && theirs.network() == slice.network()
            });
        if !in_order {
            return Err(ProveError::Slicing(
                "a sliced verifier needs one verifier per slice of this model, in order".into(),
            )
            .into());
        }
        let columns = sliced
            .slices
            .iter()
            .enumerate()
            .map(|(i, slice)| LinkColumns::of(sliced, slice, i))
            .collect();
        Ok(SlicedVerifier {
            model: self.clone(),
            verifiers,
            columns,
        })
    }
}

/// Sets `whole` to `part` if unset; refuses two different values.
fn merge<T: PartialEq + Clone + Default>(
    whole: &mut T,
    part: &T,
    what: &'static str,
) -> Result<(), JoinError> {
    if *part == T::default() {
        return Ok(());
    }
    if *whole == T::default() {
        *whole = part.clone();
        Ok(())
    } else if whole == part {
        Ok(())
    } else {
        Err(JoinError::Disagree(what))
    }
}

impl SliceProver {
    /// The slice's position.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The slice's verifier.
    pub fn verifier(&self) -> &Verifier {
        self.prover.verifier()
    }

    /// Proves the slice on `input` (quantised), given the whole network's forward pass on it
    /// ([`CompiledModel::sliced_trace`]), with link columns blinded by `secret`. Returns a
    /// part: a proof holding this slice only, with the public values the slice proves.
    pub fn prove(
        &self,
        input: &[i64],
        whole: &Trace,
        secret: &LinkSecret,
        mut rng: impl rand_core::Rng,
    ) -> Result<Proof, Error> {
        let sliced = require_sliced(&self.model)?;
        let slice = &sliced.slices[self.index];
        let network = slice.network();
        let link_in = sliced.slicing.link_in_values(self.index, &whole.values);
        let trace = network.forward_linked(input, &link_in)?;
        let link_out = network
            .links
            .as_ref()
            .and_then(|l| l.output)
            .map_or_else(Vec::new, |t| trace.values[t].clone());
        if link_out != sliced.slicing.link_out_values(self.index, &whole.values) {
            return Err(ProveError::LinkValues(self.index).into());
        }
        let witness = CircuitWitness::new(network, slice.layout(), &trace)?;
        let rows = (1usize << slice.k) - slice.cost.usable_rows;
        let shared = self
            .columns
            .shared_blinding(self.index, secret, &sliced.id, rows);
        let proof = self
            .prover
            .prove_with_shared_blinding(witness, &shared, &mut rng)?;
        let (links_in, links_out) = self.columns.commitments(&proof.transcript);
        Ok(Proof {
            format: PART_FORMAT.into(),
            model_digest: sliced.id.clone(),
            transcript: Vec::new(),
            slices: vec![SliceProof {
                slice: self.index,
                model_digest: proof.model_digest.clone(),
                links_in,
                links_out,
                transcript: proof.transcript.clone(),
            }],
            ..proof
        })
    }
}

/// Verifies proofs of a sliced model: every slice proof, and every link between them.
pub struct SlicedVerifier {
    model: Arc<CompiledModel>,
    verifiers: Vec<Verifier>,
    columns: Vec<LinkColumns>,
}

impl std::fmt::Debug for SlicedVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlicedVerifier")
            .field("slices", &self.verifiers.len())
            .finish_non_exhaustive()
    }
}

impl SlicedVerifier {
    /// Number of slices.
    pub fn slices(&self) -> usize {
        self.verifiers.len()
    }

    /// The digest of each slice's verifying key.
    pub fn digests(&self) -> Vec<&str> {
        self.verifiers.iter().map(Verifier::digest).collect()
    }

    /// Checks a sliced proof and returns what it proves. Fails naming the slice or the link
    /// at fault: a missing, repeated, reordered or foreign slice, a slice that does not verify,
    /// or a link whose commitments differ.
    pub fn verify(&self, proof: &Proof) -> Result<VerifiedOutput, VerifyError> {
        let sliced = self
            .model
            .sliced()
            .expect("a sliced verifier has a sliced model");
        if proof.model_digest != sliced.id {
            return Err(VerifyError::ModelMismatch {
                proof: proof.model_digest.clone(),
                model: sliced.id.clone(),
            });
        }
        if proof.slices.is_empty() {
            return Err(VerifyError::Slicing(format!(
                "the model is cut into {} slices, but the proof has none",
                self.slices()
            )));
        }
        if !proof.transcript.is_empty() {
            return Err(VerifyError::Slicing(
                "a sliced proof has its transcripts in its slices only".into(),
            ));
        }
        self.check_order(proof)?;
        self.check_unchecked_values(proof)?;
        // Every slice proof on its own: digest, public values, then the transcript.
        let results: Vec<Result<Option<VerifiedOutput>, VerifyError>> = proof
            .slices
            .par_iter()
            .zip(&self.verifiers)
            .enumerate()
            .map(|(i, (slice, verifier))| self.verify_slice(proof, i, slice, verifier))
            .collect();
        let mut output = None;
        for result in results {
            if let Some(verified) = result? {
                output = Some(verified);
            }
        }
        // Every link: the producer's and the consumer's columns commit alike.
        let commitments: Vec<_> = proof
            .slices
            .iter()
            .zip(&self.columns)
            .map(|(slice, columns)| columns.commitments(&slice.transcript))
            .collect();
        for link in &sliced.slicing.links {
            let produced = commitments[link.from].1.iter().find(|c| c.slice == link.to);
            let consumed = commitments[link.to].0.iter().find(|c| c.slice == link.from);
            match (produced, consumed) {
                (Some(p), Some(c)) if p.commitments == c.commitments => {}
                _ => {
                    return Err(VerifyError::LinkMismatch {
                        from: link.from,
                        to: link.to,
                    })
                }
            }
        }
        let mut output = output.expect("the last slice states the output");
        // The whole statement: the last slice's outputs, the input of the slices that read it.
        output.inputs = proof.inputs.clone();
        output.input_commitment = proof.input_commitment.clone();
        output.inputs_dequantized = proof
            .inputs
            .iter()
            .map(|i| self.model.model.dequantize_input(i))
            .collect();
        Ok(output)
    }

    /// Every slice exactly once, in order.
    fn check_order(&self, proof: &Proof) -> Result<(), VerifyError> {
        let expected = self.slices();
        let mut seen = vec![false; expected];
        for slice in &proof.slices {
            match seen.get_mut(slice.slice) {
                None => {
                    return Err(VerifyError::ExtraSlices {
                        got: proof.slices.len(),
                        expected,
                    })
                }
                Some(true) => return Err(VerifyError::RepeatedSlice(slice.slice)),
                Some(seen) => *seen = true,
            }
        }
        if let Some(slice) = seen.iter().position(|&s| !s) {
            return Err(VerifyError::MissingSlice {
                slice,
                got: proof.slices.len(),
                expected,
            });
        }
        match proof.slices.iter().enumerate().find(|(i, s)| s.slice != *i) {
            Some((position, slice)) => Err(VerifyError::SliceOutOfPlace {
                position,
                found: slice.slice,
            }),
            None => Ok(()),
        }
    }

    /// Public values of the whole statement that no slice proves must be absent: the input
    /// if no slice reads it as a public value, its commitment if no slice hashes it.
    fn check_unchecked_values(&self, proof: &Proof) -> Result<(), VerifyError> {
        let networks = || self.verifiers.iter().map(|v| v.compiled().network());
        if !networks().any(|n| n.input_public()) && !proof.inputs.is_empty() {
            return Err(VerifyError::PublicShape {
                what: "input tensors",
                got: proof.inputs.len(),
                expected: 0,
            });
        }
        if !networks().any(|n| n.input_visibility == Visibility::Hashed)
            && proof.input_commitment.is_some()
        {
            return Err(VerifyError::UnexpectedCommitment("input"));
        }
        Ok(())
    }

    /// Checks slice `i`'s proof against its verifying key and the public values of `proof`
    /// it proves; returns what the last slice proves.
    fn verify_slice(
        &self,
        proof: &Proof,
        i: usize,
        slice: &SliceProof,
        verifier: &Verifier,
    ) -> Result<Option<VerifiedOutput>, VerifyError> {
        if slice.model_digest != verifier.digest() {
            return Err(VerifyError::ForeignSlice {
                slice: i,
                proof: slice.model_digest.clone(),
                model: verifier.digest().to_string(),
            });
        }
        let network = verifier.compiled().network();
        let last = i + 1 == self.slices();
        // What this slice proves of the whole statement.
        let slice_statement = Proof {
            format: PROOF_FORMAT.into(),
            model_digest: slice.model_digest.clone(),
            inputs: if network.input_public() {
                proof.inputs.clone()
            } else {
                Vec::new()
            },
            input_commitment: if network.input_visibility == Visibility::Hashed {
                proof.input_commitment.clone()
            } else {
                None
            },
            outputs: if last {
                proof.outputs.clone()
            } else {
                Vec::new()
            },
            output_commitment: if last {
                proof.output_commitment.clone()
            } else {
                None
            },
            claim: if last { proof.claim.clone() } else { None },
            transcript: slice.transcript.clone(),
            slices: Vec::new(),
            ..proof.clone()
        };
        let verified = verifier.verify(&slice_statement).map_err(|e| match e {
            VerifyError::Invalid => VerifyError::SliceInvalid(i),
            other => other,
        })?;
        let (links_in, links_out) = self.columns[i].commitments(&slice.transcript);
        if links_in != slice.links_in || links_out != slice.links_out {
            return Err(VerifyError::LinkListing(i));
        }
        Ok(last.then_some(verified))
    }
}
