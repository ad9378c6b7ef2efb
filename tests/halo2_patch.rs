//! The patched `halo2_proofs` (vendor/halo2_proofs, see its ZKINFER_PATCHES.md) computes the
//! same commitments as the reference arithmetic: its multi-scalar multiplication against the
//! plain double-and-add one, and commitments with precomputed base tables against those
//! without. (Every proof test also checks this end to end: a wrong commitment cannot verify.)

use ff::Field;
use group::{Curve, Group};
use halo2_proofs::arithmetic::{best_multiexp, small_multiexp};
use halo2_proofs::poly::commitment::{Blind, Params};
use halo2_proofs::poly::EvaluationDomain;
use pasta_curves::{Eq, EqAffine, Fp};
use rand::rngs::SysRng;
use rand_core::UnwrapErr;

/// Scalars of every kind a prover commits to: quantised values (small, of either sign),
/// zeros, and random field elements (blinding rows, grand products, quotient pieces).
fn mixed_scalars(n: usize) -> Vec<Fp> {
    let mut rng = UnwrapErr(SysRng);
    (0..n)
        .map(|i| match i % 6 {
            0 => Fp::random(&mut rng),
            1 => Fp::from((i as u64) << 20),
            2 => -Fp::from(i as u64 + 1),
            3 => Fp::ZERO,
            4 => -Fp::from(u64::MAX),
            _ => Fp::from(u64::MAX),
        })
        .collect()
}

/// `best_multiexp` against the plain double-and-add.
fn assert_multiexp_matches(scalars: &[Fp], bases: &[EqAffine], case: &str) {
    assert_eq!(
        best_multiexp(scalars, bases),
        small_multiexp(scalars, bases),
        "{case}, n = {}",
        scalars.len()
    );
}

#[test]
fn multiexp_equals_double_and_add_for_every_size_and_kind_of_scalar() {
    let mut rng = UnwrapErr(SysRng);
    for n in [0, 1, 2, 3, 31, 63, 64, 65, 257, 1000] {
        let bases: Vec<EqAffine> = (0..n)
            .map(|_| (Eq::generator() * Fp::random(&mut rng)).to_affine())
            .collect();
        assert_multiexp_matches(&mixed_scalars(n), &bases, "mixed scalars");
        let all_random: Vec<Fp> = (0..n).map(|_| Fp::random(&mut rng)).collect();
        assert_multiexp_matches(&all_random, &bases, "random scalars");
    }
}

/// The batched affine additions inside `best_multiexp` fall back to projective arithmetic when
/// two points of a bucket are equal, opposite or the identity: repeated, negated and identity
/// bases exercise every such case.
#[test]
fn multiexp_handles_repeated_negated_and_identity_bases() {
    let mut rng = UnwrapErr(SysRng);
    let p = (Eq::generator() * Fp::random(&mut rng)).to_affine();
    let q = (Eq::generator() * Fp::random(&mut rng)).to_affine();
    let identity = Eq::identity().to_affine();
    for n in [8, 70, 300] {
        let bases: Vec<EqAffine> = (0..n)
            .map(|i| match i % 4 {
                0 => p,
                1 => -p,
                2 => q,
                _ => identity,
            })
            .collect();
        assert_multiexp_matches(&mixed_scalars(n), &bases, "mixed scalars");
        assert_multiexp_matches(&vec![Fp::from(3); n], &bases, "equal scalars");
        let digits: Vec<Fp> = (0..n).map(|i| Fp::from(i as u64 % 3)).collect();
        assert_multiexp_matches(&digits, &bases, "digits");
    }
}

#[test]
fn commitments_with_base_tables_equal_commitments_without() {
    let mut rng = UnwrapErr(SysRng);
    for k in [4, 7, 9] {
        let tabled = Params::<EqAffine>::new(k);
        tabled.precompute_commitment_tables();
        assert!(tabled.has_commitment_tables());
        let plain = Params::<EqAffine>::new(k);
        assert!(!plain.has_commitment_tables());

        let domain = EvaluationDomain::<Fp>::new(1, k);
        let mut values = domain.empty_lagrange();
        for (value, scalar) in values.iter_mut().zip(mixed_scalars(1 << k)) {
            *value = scalar;
        }
        let coefficients = domain.lagrange_to_coeff(values.clone());
        let blind = Blind(Fp::random(&mut rng));
        assert_eq!(
            tabled.commit_lagrange(&values, blind),
            plain.commit_lagrange(&values, blind),
            "k = {k}"
        );
        assert_eq!(
            tabled.commit(&coefficients, blind),
            plain.commit(&coefficients, blind),
            "k = {k}"
        );
    }
}
