//! zkinfer patch (new module): keys rebuilt from stored commitments, checked against the circuit.
//!
//! Almost all of `keygen_vk`'s time goes into one commitment per fixed column and per column of
//! the permutation argument. A caller that stored those commitments ([`KeyCommitments`]) can
//! rebuild the verifying key without recomputing them: [`keygen_vk_from_commitments`]
//! synthesises the circuit as `keygen_vk` does and checks all the stored commitments at once
//! against the polynomials they must commit to, by a random linear combination:
//! `Commit(Σ rᵢ·pᵢ; Σ rᵢ·b) = Σ rᵢ·Cᵢ` for random `rᵢ` (commitments of fixed and permutation
//! columns all carry the same public blind `b = Blind::default()`, so `Commit` is linear in
//! them). If any stored `Cᵢ` differs from the true
//! commitment, the two sides differ except with probability `1/q` over the `rᵢ` (`q`, the
//! group's prime order). That costs one commitment instead of one per column. The key returned
//! is then exactly `keygen_vk`'s, so its pinned form, its transcript representative and every
//! proof it verifies are the same.
//!
//! [`keygen_pk_from_commitments`] does the same and goes on to the proving key from the same
//! synthesis; [`keygen_pk_once`] builds both keys from one synthesis (`keygen_vk` followed by
//! `keygen_pk` synthesises the circuit twice).
//!
//! Each of them also returns the circuit's [`SelectorRows`]. A caller that kept those and the
//! commitments somewhere it trusts (the checks above are what it does not have to trust) can
//! rebuild the verifying key without synthesising the circuit at all
//! ([`keygen_vk_from_trusted`]), or the proving key without the check
//! ([`keygen_pk_from_trusted`]). Those two believe what they are given: a wrong commitment or
//! selector row gives a wrong key (proofs then fail to verify, or a verifier accepts what the
//! key's author chose), so they are only for parts this process or one it trusts produced.

use ff::{Field, FromUniformBytes, PrimeField, WithSmallOrderMulGroup};
use group::Curve;
use pasta_curves::arithmetic::CurveExt;
use rand_core::Rng;

use super::{
    circuit::{Circuit, ConstraintSystem},
    key_check::{combine, Combined},
    keygen::{
        assemble, create_domain, finish_pk, fixed_columns_on_extended_domain, fixed_cosets,
        map_tasks, pk_from_parts, vk_from_assembled, Assembled,
    },
    permutation, Error, ProvingKey, VerifyingKey,
};
use crate::{
    arithmetic::{best_multiexp, parallelize, CurveAffine},
    poly::{
        commitment::{Blind, Params},
        Coeff, EvaluationDomain, ExtendedLagrangeCoeff, LagrangeCoeff, Polynomial,
    },
};

/// The commitments of a verifying key: what its generation spends its time on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyCommitments<C: CurveAffine> {
    /// One per fixed column (the compressed selector columns last), in column order.
    pub fixed: Vec<C>,
    /// One per column of the permutation argument, in the argument's order.
    pub permutation: Vec<C>,
}

impl<C: CurveAffine> VerifyingKey<C> {
    /// The key's commitments, to store and give back to [`keygen_vk_from_commitments`].
    pub fn key_commitments(&self) -> KeyCommitments<C> {
        KeyCommitments {
            fixed: self.fixed_commitments.clone(),
            permutation: self.permutation.commitments().to_vec(),
        }
    }
}

impl<C: CurveAffine> VerifyingKey<C> {
    /// The size in bytes of a proof of `instances` circuits under this key (what
    /// `CircuitCost::measure(k, circuit).proof_size(instances)` gives, without synthesising the
    /// circuit).
    pub fn proof_bytes(&self, instances: usize) -> usize {
        crate::dev::proof_size_of::<C::CurveExt>(self.domain.k(), &self.cs, instances)
    }
}

/// The rows on which each selector of a circuit is enabled, in selector order, one `bool` per
/// row (before selector compression). Selector compression — which selectors share a fixed
/// column, so the verifying key's constraint system — depends on them, and only the synthesis
/// gives them.
pub type SelectorRows = Vec<Vec<bool>>;

/// Why stored commitments did not give a key.
#[derive(Debug)]
pub enum StoredKeyError {
    /// Synthesising the circuit failed.
    Keygen(Error),
    /// The circuit has a different number of columns than commitments were given.
    Count {
        /// `"fixed"` or `"permutation"`.
        what: &'static str,
        /// Columns of the circuit.
        expected: usize,
        /// Commitments given.
        found: usize,
    },
    /// The commitments are not those of the circuit's columns.
    Mismatch,
    /// The selector rows do not fit the circuit (number of selectors or of rows).
    Selectors,
}

impl std::fmt::Display for StoredKeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoredKeyError::Keygen(e) => write!(f, "key generation failed: {e}"),
            StoredKeyError::Count {
                what,
                expected,
                found,
            } => write!(
                f,
                "the circuit has {expected} {what} columns, {found} commitments were given"
            ),
            StoredKeyError::Mismatch => {
                write!(f, "the commitments are not those of the circuit's columns")
            }
            StoredKeyError::Selectors => {
                write!(f, "the selector rows do not fit the circuit")
            }
        }
    }
}

impl std::error::Error for StoredKeyError {}

impl From<Error> for StoredKeyError {
    fn from(e: Error) -> Self {
        StoredKeyError::Keygen(e)
    }
}

/// Builds the verifying key of `circuit` from stored commitments, after checking them (see the
/// module docs), and gives the circuit's selector rows. `rng` must be unpredictable to whoever
/// wrote the commitments.
pub fn keygen_vk_from_commitments<C, ConcreteCircuit>(
    params: &Params<C>,
    circuit: &ConcreteCircuit,
    stored: &KeyCommitments<C>,
    mut rng: impl Rng,
) -> Result<(VerifyingKey<C>, SelectorRows), StoredKeyError>
where
    C: CurveAffine,
    C::Scalar: FromUniformBytes<64>,
    ConcreteCircuit: Circuit<C::Scalar>,
{
    // The sum of the columns is formed during the synthesis, without storing the columns (see
    // `key_check`), unless the circuit assigns a fixed cell twice.
    let counts = (stored.fixed.len(), stored.permutation.len());
    match combine(params, circuit, counts, &mut rng)? {
        Combined::Sum {
            combined,
            weights,
            domain,
            cs,
            selectors,
        } => {
            compare(params, &combined, &weights, stored)?;
            Ok((stored_vk(domain, cs, stored), selectors))
        }
        Combined::Count {
            what,
            expected,
            found,
        } => Err(StoredKeyError::Count {
            what,
            expected,
            found,
        }),
        Combined::Reassigned => {
            let (
                Assembled {
                    domain,
                    cs,
                    selectors,
                    ..
                },
                _,
            ) = assemble_checked(params, circuit, stored, rng)?;
            Ok((stored_vk(domain, cs, stored), selectors))
        }
    }
}

/// Builds the proving key of `circuit` (and the verifying key inside it) from stored
/// commitments, after checking them (see the module docs), from one synthesis of the circuit;
/// also gives the circuit's selector rows.
pub fn keygen_pk_from_commitments<C, ConcreteCircuit>(
    params: &Params<C>,
    circuit: &ConcreteCircuit,
    stored: &KeyCommitments<C>,
    rng: impl Rng,
) -> Result<(ProvingKey<C>, SelectorRows), StoredKeyError>
where
    C: CurveAffine,
    C::Scalar: FromUniformBytes<64>,
    ConcreteCircuit: Circuit<C::Scalar>,
{
    let (assembled, permutations) = assemble_checked(params, circuit, stored, rng)?;
    Ok(pk_from_stored(params, assembled, permutations, stored))
}

/// What [`keygen_pk_from_trusted`] did with the extended-domain evaluations it was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoredCosets {
    /// None were given: they were computed.
    Absent,
    /// They were read and passed the check.
    Used,
    /// They were unreadable, of another shape or failed the check: they were computed.
    Refused,
}

/// A proving key built by [`keygen_pk_from_trusted`].
#[derive(Debug)]
pub struct TrustedProvingKey<C: CurveAffine> {
    /// The key.
    pub pk: ProvingKey<C>,
    /// The circuit's selector rows.
    pub selectors: SelectorRows,
    /// Whether the given extended-domain evaluations were used.
    pub cosets: StoredCosets,
}

/// [`keygen_pk_from_commitments`] without the check: for commitments the caller trusts (see the
/// module docs). Commitments that are not the circuit's give a key whose proofs fail to verify.
///
/// `cosets`, if given, are the key's evaluations on the extended domain as
/// [`ProvingKey::write_extended_cosets`] wrote them: most of a proving key's generation is
/// spent computing them. They are not believed: all of them are checked at once against the
/// coefficients computed from the synthesis, `Ext(Σ wᵢ·pᵢ) = Σ wᵢ·Ext(pᵢ)` for fresh random
/// `wᵢ` from `rng` (one extended FFT instead of one per column; wrong evaluations pass with
/// probability `1/q`), and computed if they fail.
pub fn keygen_pk_from_trusted<C, ConcreteCircuit>(
    params: &Params<C>,
    circuit: &ConcreteCircuit,
    trusted: &KeyCommitments<C>,
    cosets: Option<&[u8]>,
    rng: impl Rng,
) -> Result<TrustedProvingKey<C>, StoredKeyError>
where
    C: CurveAffine,
    C::Scalar: FromUniformBytes<64>,
    ConcreteCircuit: Circuit<C::Scalar>,
{
    let Assembled {
        domain,
        cs,
        fixed,
        permutation,
        selectors,
    } = assemble(params, circuit)?;
    let permutations = permutation.polys(&domain, &cs.permutation);
    check_counts(fixed.len(), permutations.len(), trusted)?;
    let to_coeff = |poly: &Polynomial<C::Scalar, LagrangeCoeff>| domain.lagrange_to_coeff(poly.clone());
    let fixed_polys = map_tasks(&fixed, to_coeff);
    let permutation_polys = map_tasks(&permutations, to_coeff);
    let needed = fixed_columns_on_extended_domain(&cs);
    let given = cosets.map(|bytes| {
        let stored = read_extended_cosets(
            &domain,
            bytes,
            needed.iter().filter(|&&n| n).count(),
            permutations.len(),
        )?;
        let polys: Vec<_> = fixed_polys
            .iter()
            .zip(&needed)
            .filter_map(|(poly, &n)| n.then_some(poly))
            .chain(&permutation_polys)
            .collect();
        cosets_match(&domain, &polys, &stored, rng).then_some(stored)
    });
    let (fixed_cosets, permutation_cosets, outcome) = match given {
        Some(Some(mut stored)) => {
            let permutation_cosets = stored.split_off(stored.len() - permutations.len());
            let mut stored = stored.into_iter();
            let fixed_cosets = needed
                .iter()
                .map(|&n| match n {
                    true => stored.next().expect("one stored coset per needed column"),
                    false => Polynomial::unused(),
                })
                .collect();
            (fixed_cosets, permutation_cosets, StoredCosets::Used)
        }
        other => (
            fixed_cosets(&domain, &cs, &fixed_polys),
            map_tasks(&permutation_polys, |poly| domain.coeff_to_extended(poly.clone())),
            match other {
                None => StoredCosets::Absent,
                _ => StoredCosets::Refused,
            },
        ),
    };
    let permutation_pk =
        permutation::ProvingKey::from_parts(permutations, permutation_polys, permutation_cosets);
    let vk = stored_vk(domain, cs.clone(), trusted);
    Ok(TrustedProvingKey {
        pk: pk_from_parts(params, vk, &cs, fixed, fixed_polys, fixed_cosets, permutation_pk),
        selectors,
        cosets: outcome,
    })
}

impl<C: CurveAffine> ProvingKey<C> {
    /// The number of bytes [`ProvingKey::write_extended_cosets`] writes.
    pub fn extended_cosets_bytes(&self) -> usize {
        let columns = self.fixed_cosets.iter().filter(|c| !c.is_empty()).count()
            + self.permutation.cosets.len();
        let repr = <C::Scalar as PrimeField>::Repr::default().as_ref().len();
        12 + columns * self.vk.domain.extended_len() * repr
    }

    /// Writes the key's evaluations on the extended domain — of the fixed columns the prover
    /// evaluates there, then of every permutation polynomial — for
    /// [`keygen_pk_from_trusted`]: their number (`u32`), the number of permutation columns
    /// (`u32`) and the extended domain's size (`u32`), little-endian, then every value's
    /// canonical representation, column by column.
    pub fn write_extended_cosets<W: std::io::Write>(&self, writer: &mut W) -> std::io::Result<()> {
        let cosets: Vec<_> = self
            .fixed_cosets
            .iter()
            .filter(|coset| !coset.is_empty())
            .chain(&self.permutation.cosets)
            .collect();
        for field in [
            cosets.len(),
            self.permutation.cosets.len(),
            self.vk.domain.extended_len(),
        ] {
            writer.write_all(&(field as u32).to_le_bytes())?;
        }
        for value in cosets.into_iter().flat_map(|coset| coset.iter()) {
            writer.write_all(value.to_repr().as_ref())?;
        }
        Ok(())
    }
}

/// Reads what [`ProvingKey::write_extended_cosets`] wrote for `fixed` fixed and `permutation`
/// permutation columns of `domain`, if that is what `bytes` holds.
fn read_extended_cosets<F: WithSmallOrderMulGroup<3>>(
    domain: &EvaluationDomain<F>,
    bytes: &[u8],
    fixed: usize,
    permutation: usize,
) -> Option<Vec<Polynomial<F, ExtendedLagrangeCoeff>>> {
    let field = |at: usize| -> Option<usize> {
        Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize)
    };
    let (columns, len) = (fixed + permutation, domain.extended_len());
    if [field(0)?, field(4)?, field(8)?] != [columns, permutation, len] {
        return None;
    }
    let repr = F::Repr::default().as_ref().len();
    let body = &bytes[12..];
    if body.len() != columns * len * repr {
        return None;
    }
    let chunks: Vec<&[u8]> = body.chunks(len * repr).collect();
    map_tasks(&chunks, |chunk| {
        let mut coset = domain.empty_extended();
        for (value, bytes) in coset.iter_mut().zip(chunk.chunks_exact(repr)) {
            let mut canonical = F::Repr::default();
            canonical.as_mut().copy_from_slice(bytes);
            *value = Option::from(F::from_repr(canonical))?;
        }
        Some(coset)
    })
    .into_iter()
    .collect()
}

/// Checks evaluations on the extended domain against the polynomials they must be, all at once:
/// `Ext(Σ wᵢ·pᵢ) = Σ wᵢ·cosetᵢ` for random `wᵢ` (`Ext` is linear).
fn cosets_match<F: WithSmallOrderMulGroup<3>>(
    domain: &EvaluationDomain<F>,
    polys: &[&Polynomial<F, Coeff>],
    cosets: &[Polynomial<F, ExtendedLagrangeCoeff>],
    mut rng: impl Rng,
) -> bool {
    if polys.len() != cosets.len() {
        return false;
    }
    let weights: Vec<F> = polys.iter().map(|_| F::random(&mut rng)).collect();
    let mut combined = domain.empty_coeff();
    parallelize(&mut combined, |chunk, start| {
        for (poly, weight) in polys.iter().zip(&weights) {
            for (acc, value) in chunk.iter_mut().zip(&poly[start..]) {
                *acc += *value * weight;
            }
        }
    });
    let mut stored = domain.empty_extended();
    parallelize(&mut stored, |chunk, start| {
        for (coset, weight) in cosets.iter().zip(&weights) {
            for (acc, value) in chunk.iter_mut().zip(&coset[start..]) {
                *acc += *value * weight;
            }
        }
    });
    domain.coeff_to_extended(combined).iter().eq(stored.iter())
}

/// Builds the verifying key of `circuit` from trusted commitments and selector rows, without
/// synthesising the circuit (only its configuration is run). Nothing but their number is
/// checked: see the module docs.
pub fn keygen_vk_from_trusted<C, ConcreteCircuit>(
    params: &Params<C>,
    circuit: &ConcreteCircuit,
    trusted: &KeyCommitments<C>,
    selectors: &SelectorRows,
) -> Result<VerifyingKey<C>, StoredKeyError>
where
    C: CurveAffine,
    C::Scalar: FromUniformBytes<64>,
    ConcreteCircuit: Circuit<C::Scalar>,
{
    let (domain, cs, _) = create_domain::<C, ConcreteCircuit>(params, circuit);
    let n = params.n as usize;
    let usable_rows = n - (cs.blinding_factors() + 1);
    // The synthesis refuses to enable a selector outside the usable rows.
    let fits = |rows: &Vec<bool>| rows.len() == n && !rows[usable_rows..].contains(&true);
    if selectors.len() != cs.num_selectors || !selectors.iter().all(fits) {
        return Err(StoredKeyError::Selectors);
    }
    // Compression adds the selector columns to the fixed ones; the permutation argument has
    // one polynomial per column.
    let (cs, _) = cs.compress_selectors(selectors.clone());
    check_counts(
        cs.num_fixed_columns,
        cs.permutation.get_columns().len(),
        trusted,
    )?;
    Ok(stored_vk(domain, cs, trusted))
}

/// The proving key (and the verifying key inside it) of a synthesised circuit whose stored
/// commitments were checked or are trusted, and its selector rows.
fn pk_from_stored<C>(
    params: &Params<C>,
    assembled: Assembled<C>,
    permutations: Vec<Polynomial<C::Scalar, LagrangeCoeff>>,
    stored: &KeyCommitments<C>,
) -> (ProvingKey<C>, SelectorRows)
where
    C: CurveAffine,
    C::Scalar: FromUniformBytes<64>,
{
    let Assembled {
        domain,
        cs,
        fixed,
        selectors,
        ..
    } = assembled;
    let permutation_pk = permutation::ProvingKey::from_permutations(&domain, permutations);
    let vk = stored_vk(domain, cs.clone(), stored);
    (finish_pk(params, vk, &cs, fixed, permutation_pk), selectors)
}

/// Refuses commitments of another number of fixed or permutation columns than the circuit's.
fn check_counts<C: CurveAffine>(
    fixed: usize,
    permutations: usize,
    stored: &KeyCommitments<C>,
) -> Result<(), StoredKeyError> {
    for (what, expected, found) in [
        ("fixed", fixed, stored.fixed.len()),
        ("permutation", permutations, stored.permutation.len()),
    ] {
        if expected != found {
            return Err(StoredKeyError::Count {
                what,
                expected,
                found,
            });
        }
    }
    Ok(())
}

/// Synthesises `circuit` for key generation and checks the stored commitments against its
/// fixed columns and permutation polynomials (returned, in Lagrange form).
fn assemble_checked<C, ConcreteCircuit>(
    params: &Params<C>,
    circuit: &ConcreteCircuit,
    stored: &KeyCommitments<C>,
    rng: impl Rng,
) -> Result<(Assembled<C>, Vec<Polynomial<C::Scalar, LagrangeCoeff>>), StoredKeyError>
where
    C: CurveAffine,
    ConcreteCircuit: Circuit<C::Scalar>,
{
    let assembled = assemble(params, circuit)?;
    let permutations = assembled
        .permutation
        .polys(&assembled.domain, &assembled.cs.permutation);
    check_commitments(
        params,
        &assembled.domain,
        &assembled.fixed,
        &permutations,
        stored,
        rng,
    )?;
    Ok((assembled, permutations))
}

/// Builds the proving key of `circuit` and the verifying key inside it from one synthesis;
/// the keys are `keygen_vk`'s and `keygen_pk`'s. Also gives the circuit's selector rows.
pub fn keygen_pk_once<C, ConcreteCircuit>(
    params: &Params<C>,
    circuit: &ConcreteCircuit,
) -> Result<(ProvingKey<C>, SelectorRows), Error>
where
    C: CurveAffine,
    C::Scalar: FromUniformBytes<64>,
    ConcreteCircuit: Circuit<C::Scalar>,
{
    let Assembled {
        domain,
        cs,
        fixed,
        permutation,
        selectors,
    } = assemble(params, circuit)?;
    let permutations = permutation.polys(&domain, &cs.permutation);
    let commit = |polys: &[Polynomial<C::Scalar, LagrangeCoeff>]| -> Vec<C> {
        map_tasks(polys, |poly| {
            params
                .commit_lagrange(poly, Blind::default())
                .to_affine_vartime()
        })
    };
    let fixed_commitments = commit(&fixed);
    let permutation_vk = permutation::VerifyingKey::from_commitments(commit(&permutations));
    let permutation_pk = permutation::ProvingKey::from_permutations(&domain, permutations);
    let vk = VerifyingKey::from_parts(domain, fixed_commitments, permutation_vk, cs.clone());
    Ok((finish_pk(params, vk, &cs, fixed, permutation_pk), selectors))
}

/// [`keygen_vk`](super::keygen_vk) that also gives the circuit's selector rows (the same key,
/// from the same synthesis).
pub fn keygen_vk_with_selectors<C, ConcreteCircuit>(
    params: &Params<C>,
    circuit: &ConcreteCircuit,
) -> Result<(VerifyingKey<C>, SelectorRows), Error>
where
    C: CurveAffine,
    C::Scalar: FromUniformBytes<64>,
    ConcreteCircuit: Circuit<C::Scalar>,
{
    let mut assembled = assemble(params, circuit)?;
    let selectors = std::mem::take(&mut assembled.selectors);
    Ok((vk_from_assembled(params, assembled), selectors))
}

/// The verifying key of a circuit (its domain and constraint system) whose stored commitments
/// were checked.
fn stored_vk<C>(
    domain: EvaluationDomain<C::Scalar>,
    cs: ConstraintSystem<C::Scalar>,
    stored: &KeyCommitments<C>,
) -> VerifyingKey<C>
where
    C: CurveAffine,
    C::Scalar: FromUniformBytes<64>,
{
    VerifyingKey::from_parts(
        domain,
        stored.fixed.clone(),
        permutation::VerifyingKey::from_commitments(stored.permutation.clone()),
        cs,
    )
}

/// Checks `Commit(Σ rᵢ·pᵢ) = Σ rᵢ·Cᵢ` over the fixed and permutation columns, for random `rᵢ`.
fn check_commitments<C: CurveAffine>(
    params: &Params<C>,
    domain: &EvaluationDomain<C::Scalar>,
    fixed: &[Polynomial<C::Scalar, LagrangeCoeff>],
    permutations: &[Polynomial<C::Scalar, LagrangeCoeff>],
    stored: &KeyCommitments<C>,
    mut rng: impl Rng,
) -> Result<(), StoredKeyError> {
    check_counts(fixed.len(), permutations.len(), stored)?;
    let polys: Vec<&Polynomial<C::Scalar, LagrangeCoeff>> =
        fixed.iter().chain(permutations).collect();
    let weights: Vec<C::Scalar> = polys.iter().map(|_| C::Scalar::random(&mut rng)).collect();

    let mut combined = vec![C::Scalar::ZERO; params.n as usize];
    parallelize(&mut combined, |chunk, start| {
        for (poly, weight) in polys.iter().zip(&weights) {
            for (acc, value) in chunk.iter_mut().zip(&poly[start..]) {
                if !bool::from(value.is_zero()) {
                    *acc += *value * weight;
                }
            }
        }
    });
    compare(params, &domain.lagrange_from_vec(combined), &weights, stored)
}

/// Checks `Commit(combined; Σ rᵢ·b) = Σ rᵢ·Cᵢ` for the stored fixed and permutation
/// commitments `Cᵢ` (in that order) and the weights `rᵢ` that formed `combined`.
fn compare<C: CurveAffine>(
    params: &Params<C>,
    combined: &Polynomial<C::Scalar, LagrangeCoeff>,
    weights: &[C::Scalar],
    stored: &KeyCommitments<C>,
) -> Result<(), StoredKeyError> {
    let commitments: Vec<C> = stored
        .fixed
        .iter()
        .chain(&stored.permutation)
        .copied()
        .collect();
    // Every stored commitment carries `Blind::default()` (a blind of one): the combination
    // carries the sum of the weights.
    let blind = weights.iter().fold(C::Scalar::ZERO, |sum, w| {
        sum + *w * Blind::<C::Scalar>::default().0
    });
    let expected = params.commit_lagrange(combined, Blind(blind));
    let found = best_multiexp(weights, &commitments);
    if expected.to_affine() == found.to_affine() {
        Ok(())
    } else {
        Err(StoredKeyError::Mismatch)
    }
}
