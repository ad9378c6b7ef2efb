//! The patched `halo2_proofs` (vendor/halo2_proofs, see its ZKINFER_PATCHES.md) computes the
//! same commitments as the reference arithmetic: its multi-scalar multiplication against
//! references, and commitments with precomputed base tables against those without. (Every
//! proof test also checks this end to end: a wrong commitment cannot verify;
//! tests/halo2_differential.rs compares whole keys and proofs with the published crate.)
//!
//! `best_multiexp` also computes the verifier's final multi-exponentiation (`2^k` points and a
//! few more, with full-width scalars), so it is on the soundness path. It is checked here
//!
//! - for **every size from 0 to 2 048 points**, then sizes up to 8 192 around every multiple of
//!   256 and at a stride, each with a mix of scalars that changes from size to size;
//! - with **boundary scalars**: 0, ±1 (−1 is p − 1), ±2, ±(2^63), ±(2^64 − 1), ±2^64,
//!   ±(2^64 + 1) (where a scalar leaves the 64-bit Pippenger), (p − 1)/2 and (p + 1)/2 (where
//!   a scalar's negation becomes the shorter), 2^128 ± 1, ±2^253;
//! - with **identity, equal and opposite bases**, which the batched affine additions must
//!   hand to the projective formulas;
//! - on one, two and three threads (chunks of every parity);
//! - and, in the `#[ignore]`d `multiexp_at_verifier_sizes` (`cargo test --test halo2_patch --
//!   --ignored`), at `2^16`, `2^16 + 3`, `2^18` and `2^18 + 3` points. zkinfer supports
//!   `k ≤ 24`, but `2^24` points are too slow for a test: beyond `2^18` only the window size
//!   changes (13 bits at `2^17` points per thread, at most 16), and the batches of `2^16`
//!   digits that larger sizes rely on are exercised by `2^18` points on two threads.
//!
//! The reference is exact and independent of any multi-exponentiation: every base is `dᵢ·G`
//! for a known `dᵢ`, so `Σ sᵢ·(dᵢ·G) = (Σ sᵢ·dᵢ)·G`, one scalar multiplication. Smaller cases
//! are also checked against `small_multiexp` (the published double-and-add) and the published
//! crate's own `best_multiexp`.

use ff::Field;
use group::{Curve, Group};
use halo2_proofs::arithmetic::{best_multiexp, small_multiexp};
use halo2_proofs::poly::commitment::{Blind, Params};
use halo2_proofs::poly::EvaluationDomain;
use pasta_curves::{Eq, EqAffine, Fp};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;

/// Bases with known discrete logarithms: `points[i] = logs[i]·G`.
struct Bases {
    logs: Vec<Fp>,
    points: Vec<EqAffine>,
}

impl Bases {
    fn random(n: usize, seed: u64) -> Self {
        let logs: Vec<Fp> = {
            let mut rng = StdRng::seed_from_u64(seed);
            (0..n).map(|_| Fp::random(&mut rng)).collect()
        };
        let projective: Vec<Eq> = logs.par_iter().map(|d| Eq::generator() * d).collect();
        Self::from_projective(logs, &projective)
    }

    /// Bases of chosen logarithms (zero for the identity, repeated for equal bases, negated
    /// for opposite ones).
    fn with_logs(logs: Vec<Fp>) -> Self {
        let projective: Vec<Eq> = logs.iter().map(|d| Eq::generator() * d).collect();
        Self::from_projective(logs, &projective)
    }

    fn from_projective(logs: Vec<Fp>, projective: &[Eq]) -> Self {
        let mut points = vec![EqAffine::default(); projective.len()];
        Eq::batch_normalize(projective, &mut points);
        Self { logs, points }
    }

    /// `Σ scalars[i]·points[first + i]`, by its discrete logarithm.
    fn reference(&self, first: usize, scalars: &[Fp]) -> Eq {
        let log: Fp = scalars
            .iter()
            .zip(&self.logs[first..])
            .map(|(s, d)| *s * d)
            .sum();
        Eq::generator() * log
    }
}

/// `2^e` in the field.
fn pow2(e: u64) -> Fp {
    Fp::from(2).pow_vartime([e])
}

/// Scalars at the boundaries of the patched algorithm's choices (see the module comment).
fn boundary_scalars() -> Vec<Fp> {
    let half = -Fp::ONE * Fp::from(2).invert().unwrap(); // (p − 1)/2
    vec![
        Fp::ZERO,
        Fp::ONE,
        -Fp::ONE, // p − 1
        Fp::from(2),
        -Fp::from(2), // p − 2
        pow2(63),
        -pow2(63),
        Fp::from(u64::MAX),
        -Fp::from(u64::MAX),
        pow2(64),
        -pow2(64),
        pow2(64) + Fp::ONE,
        -(pow2(64) + Fp::ONE),
        half,
        half + Fp::ONE,
        pow2(128) - Fp::ONE,
        pow2(128) + Fp::ONE,
        pow2(253),
        -pow2(253),
    ]
}

/// A scalar of kind `kind`: the boundary scalars, random full-width ones, and quantised values
/// of either sign and several widths.
fn scalar(kind: usize, rng: &mut StdRng, boundary: &[Fp]) -> Fp {
    let kinds = boundary.len() + 6;
    match kind % kinds {
        k if k < boundary.len() => boundary[k],
        k => match k - boundary.len() {
            0 | 1 => Fp::random(&mut *rng),
            2 => Fp::from(rng.random_range(0..1u64 << 12)),
            3 => -Fp::from(rng.random_range(0..1u64 << 20)),
            4 => Fp::from(rng.random::<u64>()),
            _ => -Fp::from(rng.random::<u64>()),
        },
    }
}

/// `n` scalars for the check of size `n`: a mixture that changes with `n` (so that every split
/// between the 64-bit and the full-width Pippengers occurs), or, for some sizes, one kind only.
fn scalars_for_size(n: usize, rng: &mut StdRng, boundary: &[Fp]) -> Vec<Fp> {
    let kinds = boundary.len() + 6;
    match n % 5 {
        // Every kind, cycling from an offset that moves with the size.
        0 | 1 => (0..n).map(|i| scalar(i + n, rng, boundary)).collect(),
        // Random kinds.
        2 => (0..n)
            .map(|_| scalar(rng.random_range(0..kinds), rng, boundary))
            .collect(),
        // Only full-width scalars.
        3 => (0..n).map(|_| Fp::random(&mut *rng)).collect(),
        // Only small values of either sign (the 64-bit Pippenger alone), with the odd
        // boundary value.
        _ => (0..n)
            .map(|i| {
                if i % 97 == 5 {
                    boundary[i % boundary.len()]
                } else {
                    Fp::from(rng.random_range(0..1u64 << 16)) - Fp::from(1 << 15)
                }
            })
            .collect(),
    }
}

fn check(bases: &Bases, first: usize, scalars: &[Fp], case: &str) {
    let points = &bases.points[first..first + scalars.len()];
    assert_eq!(
        best_multiexp(scalars, points),
        bases.reference(first, scalars),
        "{case}: {} points from base {first}",
        scalars.len()
    );
}

/// Runs `f` on a thread pool of `threads` threads (`best_multiexp` splits its points by the
/// current pool's size).
fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool")
        .install(f)
}

#[test]
fn multiexp_equals_the_reference_for_every_size_up_to_2048() {
    let bases = Bases::random(2048 + 64, 1);
    let boundary = boundary_scalars();
    (0..=2048usize).into_par_iter().for_each(|n| {
        let mut rng = StdRng::seed_from_u64(n as u64);
        let scalars = scalars_for_size(n, &mut rng, &boundary);
        check(&bases, n % 64, &scalars, "every size");
    });
}

#[test]
fn multiexp_equals_the_reference_up_to_8192() {
    let bases = Bases::random(8192, 2);
    let boundary = boundary_scalars();
    let sizes: Vec<usize> = (2049..=8192)
        .filter(|n| {
            let near_256 = matches!(n % 256, 0..=2 | 254..=255);
            near_256 || n % 61 == 0
        })
        .collect();
    sizes.par_iter().for_each(|&n| {
        let mut rng = StdRng::seed_from_u64(n as u64);
        let scalars = scalars_for_size(n, &mut rng, &boundary);
        check(&bases, 0, &scalars, "sizes to 8192");
    });
}

#[test]
fn multiexp_equals_the_reference_on_one_two_and_three_threads() {
    let bases = Bases::random(1100, 3);
    let boundary = boundary_scalars();
    for threads in [1, 2, 3] {
        on_threads(threads, || {
            for n in (0..=200).chain([255, 256, 257, 511, 512, 513, 767, 1000, 1099]) {
                let mut rng = StdRng::seed_from_u64(n as u64 + 7);
                let scalars = scalars_for_size(n, &mut rng, &boundary);
                check(&bases, 0, &scalars, &format!("{threads} threads"));
            }
        });
    }
}

/// Every boundary scalar alone, in pairs, and repeated across a whole multi-exponentiation (all
/// points in the same buckets), against all three references.
#[test]
fn multiexp_of_boundary_scalars() {
    let boundary = boundary_scalars();
    let bases = Bases::random(300, 4);
    for (i, &s) in boundary.iter().enumerate() {
        check(&bases, i, &[s], "one boundary scalar");
        for (j, &t) in boundary.iter().enumerate() {
            check(&bases, i, &[s, t], &format!("boundary scalars {i} and {j}"));
        }
        for n in [2, 63, 64, 65, 300] {
            let scalars = vec![s; n];
            check(
                &bases,
                0,
                &scalars,
                &format!("boundary scalar {i} everywhere"),
            );
            let points = &bases.points[..n];
            assert_eq!(
                best_multiexp(&scalars, points),
                small_multiexp(&scalars, points)
            );
            assert_eq!(
                best_multiexp(&scalars, points),
                halo2_published::arithmetic::best_multiexp(&scalars, points)
            );
        }
    }
}

/// The batched affine additions inside `best_multiexp` fall back to projective arithmetic when
/// two points of a bucket are equal, opposite or the identity: bases built from a few points,
/// their negations and the identity exercise every such case, with every kind of scalar.
#[test]
fn multiexp_handles_identity_equal_and_opposite_bases() {
    let boundary = boundary_scalars();
    let mut rng = StdRng::seed_from_u64(5);
    let (p, q) = (Fp::random(&mut rng), Fp::random(&mut rng));
    for n in [1, 2, 3, 8, 63, 64, 65, 70, 130, 300, 1024, 3000] {
        let patterns: [&dyn Fn(usize) -> Fp; 4] = [
            // Equal, opposite, another point, the identity.
            &|i| [p, -p, q, Fp::ZERO][i % 4],
            // One point everywhere.
            &|_| p,
            // The identity everywhere.
            &|_| Fp::ZERO,
            // A point and its negation, alternating in runs.
            &|i| if (i / 3) % 2 == 0 { q } else { -q },
        ];
        for (pattern, log) in patterns.iter().enumerate() {
            let bases = Bases::with_logs((0..n).map(log).collect());
            let mixed = scalars_for_size(n, &mut rng, &boundary);
            check(
                &bases,
                0,
                &mixed,
                &format!("pattern {pattern}, mixed scalars"),
            );
            check(&bases, 0, &vec![Fp::from(3); n], "equal scalars");
            let digits: Vec<Fp> = (0..n).map(|i| Fp::from(i as u64 % 3)).collect();
            check(&bases, 0, &digits, "digits");
            let opposite: Vec<Fp> = (0..n)
                .map(|i| if i % 2 == 0 { Fp::ONE } else { -Fp::ONE })
                .collect();
            check(&bases, 0, &opposite, "±1");
            if n <= 300 {
                assert_eq!(
                    best_multiexp(&mixed, &bases.points),
                    small_multiexp(&mixed, &bases.points),
                    "pattern {pattern}, {n} points, against small_multiexp"
                );
            }
        }
    }
}

/// The sizes of a verifier's final multi-exponentiation at `k = 16` and `k = 18` (`2^k` points
/// for the opening's `G` and a few more), full-width and mixed scalars, against the discrete
/// logarithm and the published crate's `best_multiexp`. Slow (it makes `2^18` random bases):
/// `cargo test --test halo2_patch -- --ignored`.
#[test]
#[ignore = "2^18 random bases: about a minute on two cores"]
fn multiexp_at_verifier_sizes() {
    let bases = Bases::random((1 << 18) + 3, 6);
    let boundary = boundary_scalars();
    for n in [1 << 16, (1 << 16) + 3, 1 << 18, (1 << 18) + 3] {
        let mut rng = StdRng::seed_from_u64(n as u64);
        let random: Vec<Fp> = (0..n).map(|_| Fp::random(&mut rng)).collect();
        let mixed: Vec<Fp> = (0..n).map(|i| scalar(i, &mut rng, &boundary)).collect();
        for (scalars, case) in [(random, "full-width"), (mixed, "mixed")] {
            let result = best_multiexp(&scalars, &bases.points[..n]);
            assert_eq!(result, bases.reference(0, &scalars), "{case}, n = {n}");
            assert_eq!(
                result,
                halo2_published::arithmetic::best_multiexp(&scalars, &bases.points[..n]),
                "{case}, n = {n}, against the published crate"
            );
        }
    }
}

#[test]
fn commitments_with_base_tables_equal_commitments_without() {
    let mut rng = StdRng::seed_from_u64(8);
    let boundary = boundary_scalars();
    for k in [4, 7, 9] {
        let tabled = Params::<EqAffine>::new(k);
        tabled.precompute_commitment_tables();
        assert!(tabled.has_commitment_tables());
        let plain = Params::<EqAffine>::new(k);
        assert!(!plain.has_commitment_tables());

        let domain = EvaluationDomain::<Fp>::new(1, k);
        let mut values = domain.empty_lagrange();
        for (value, scalar) in values
            .iter_mut()
            .zip(scalars_for_size(1 << k, &mut rng, &boundary))
        {
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

/// A polynomial shorter than the parameters' `n` is refused with the tables as without them
/// (the published crate's `best_multiexp` asserts that scalars and bases have one length);
/// from the tables it would silently have put its blind on a base of `G` instead of `W`.
#[test]
fn commitments_refuse_a_short_polynomial_with_or_without_tables() {
    let k = 5;
    let tabled = Params::<EqAffine>::new(k);
    tabled.precompute_commitment_tables();
    let plain = Params::<EqAffine>::new(k);
    let short = EvaluationDomain::<Fp>::new(1, k - 1);
    let (values, coefficients) = (short.empty_lagrange(), short.empty_coeff());
    for params in [&tabled, &plain] {
        let tables = params.has_commitment_tables();
        let lagrange = std::panic::catch_unwind(|| params.commit_lagrange(&values, Blind(Fp::ONE)));
        assert!(lagrange.is_err(), "commit_lagrange, tables: {tables}");
        let coeff = std::panic::catch_unwind(|| params.commit(&coefficients, Blind(Fp::ONE)));
        assert!(coeff.is_err(), "commit, tables: {tables}");
    }
}
