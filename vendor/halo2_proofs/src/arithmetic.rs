//! This module provides common utilities, traits and structures for group,
//! field and polynomial arithmetic.

pub use ff::Field;
use group::{ff::PrimeField, Group as _, GroupOpsOwned, ScalarMulOwned};
pub use pasta_curves::arithmetic::*;

// zkinfer patch: `maybe_rayon::prelude` and `multicore::TheBestReduce` are no longer used (the
// new `best_multiexp` splits its points itself); the batched affine bucket sums are new.
use crate::multicore;

pub(crate) mod affine_buckets;
use affine_buckets::{bucket_sums_into, weighted_sum, AffinePoint, BucketEntry, ENTRY_BATCH};

/// This represents an element of a group with basic operations that can be
/// performed. This allows an FFT implementation (for example) to operate
/// generically over either a field or elliptic curve group.
pub trait FftGroup<Scalar: Field>:
    Copy + Send + Sync + 'static + GroupOpsOwned + ScalarMulOwned<Scalar>
{
}

impl<T, Scalar> FftGroup<Scalar> for T
where
    Scalar: Field,
    T: Copy + Send + Sync + 'static + GroupOpsOwned + ScalarMulOwned<Scalar>,
{
}

// zkinfer patch: `Bucket` and `BoothBuckets` (the published bucket sums) removed, unused;
// `BoothDigit` and `booth_digit` crate-visible (the fixed-base tables recode with them too).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) struct BoothDigit {
    pub(crate) magnitude: usize,
    pub(crate) negative: bool,
}

pub(crate) fn booth_digit(bytes: &[u8], window_bits: usize, window: usize) -> BoothDigit {
    debug_assert!(window_bits > 0);
    debug_assert!(window_bits < u64::BITS as usize);

    let window_start = window * window_bits;
    let byte_start = window_start / 8;
    let mut encoded = [0; 8];
    if byte_start < bytes.len() {
        for (slot, byte) in encoded.iter_mut().zip(&bytes[byte_start..]) {
            *slot = *byte;
        }
    }

    let bit_offset = window_start - byte_start * 8;
    let radix = 1usize << window_bits;
    let value = ((u64::from_le_bytes(encoded) >> bit_offset) as usize) & (radix - 1);
    let overlap = if window_start == 0 {
        0
    } else {
        let bit = window_start - 1;
        bytes
            .get(bit / 8)
            .map_or(0, |byte| usize::from((byte >> (bit % 8)) & 1))
    };

    // The bit below each window is its carry-in, while the window's high bit
    // is its carry-out. These terms cancel between adjacent windows, leaving
    // a signed digit whose magnitude is at most half the radix.
    if value < radix / 2 {
        BoothDigit {
            magnitude: value + overlap,
            negative: false,
        }
    } else {
        let magnitude = radix - value - overlap;
        BoothDigit {
            magnitude,
            negative: magnitude != 0,
        }
    }
}

// zkinfer patch: only the tests count windows this way now.
#[cfg(test)]
fn booth_window_count<R: AsRef<[u8]>>(reprs: &[R], window_bits: usize) -> usize {
    debug_assert!(window_bits > 0);

    let repr_bytes = reprs
        .iter()
        .map(|repr| repr.as_ref().len())
        .max()
        .unwrap_or(0);
    let repr_bits = repr_bytes
        .checked_mul(u8::BITS as usize)
        .expect("scalar representation is too large");

    // Integer division reserves an additional carry window exactly when the
    // representation ends on a window boundary. Otherwise, the last partial
    // window cannot produce a carry.
    repr_bits / window_bits + 1
}

// zkinfer patch: `BoothBuckets` removed here (see above).

/// Performs a small multi-exponentiation operation.
/// Uses the double-and-add algorithm with doublings shared across points.
pub fn small_multiexp<C: CurveAffine>(coeffs: &[C::Scalar], bases: &[C]) -> C::Curve {
    let coeffs: Vec<_> = coeffs.iter().map(|a| a.to_repr()).collect();
    let mut acc = C::Curve::identity();

    // for byte idx
    for byte_idx in (0..32).rev() {
        // for bit idx
        for bit_idx in (0..8).rev() {
            acc = acc.double();
            // for each coeff
            for coeff_idx in 0..coeffs.len() {
                let byte = coeffs[coeff_idx].as_ref()[byte_idx];
                if ((byte >> bit_idx) & 1) != 0 {
                    acc += bases[coeff_idx];
                }
            }
        }
    }

    acc
}

/// Performs a multi-exponentiation operation.
///
/// This function will panic if coeffs and bases have a different length.
///
/// This will use multithreading if beneficial.
///
/// zkinfer patch: the points are split into one contiguous chunk per thread and each chunk
/// runs a serial Pippenger (Horner over the windows, so `bits` doublings per chunk instead of
/// `c · i` doublings for window `i`). Within a chunk, scalars whose value or negation fits in
/// 64 bits (the quantised witness values of a circuit) are summed in a separate Pippenger
/// with only as many windows as their largest magnitude needs; the others (blinding rows,
/// challenges) in a full-width one.
pub fn best_multiexp<C: CurveAffine>(coeffs: &[C::Scalar], bases: &[C]) -> C::Curve {
    assert_eq!(coeffs.len(), bases.len());

    let num_threads = multicore::current_num_threads();
    if !should_parallelize_multiexp(coeffs.len(), num_threads) {
        return signed_multiexp_serial(coeffs, bases);
    }
    let chunk = coeffs.len().div_ceil(num_threads);
    let mut partial = vec![C::Curve::identity(); coeffs.len().div_ceil(chunk)];
    multicore::scope(|scope| {
        for ((result, coeffs), bases) in partial
            .iter_mut()
            .zip(coeffs.chunks(chunk))
            .zip(bases.chunks(chunk))
        {
            scope.spawn(move |_| *result = signed_multiexp_serial(coeffs, bases));
        }
    });
    partial
        .into_iter()
        .fold(C::Curve::identity(), |sum, part| sum + part)
}

/// Below this many points a multi-exponentiation runs on one thread: splitting it would
/// repeat the bucket sums and doublings for too little work.
///
/// zkinfer patch (new; the published rule was "more points than threads").
const MIN_PARALLEL_MULTIEXP: usize = 64;

pub(crate) fn should_parallelize_multiexp(num_coeffs: usize, num_threads: usize) -> bool {
    num_threads > 1 && num_coeffs >= MIN_PARALLEL_MULTIEXP
}

/// One thread's multi-exponentiation: small signed scalars and full-width scalars summed
/// separately, each with its own window size.
///
/// zkinfer patch (new). Each scalar's sign is folded into its base, kept as bare affine
/// coordinates: with the scalars' representations, 96 bytes per point.
fn signed_multiexp_serial<C: CurveAffine>(coeffs: &[C::Scalar], bases: &[C]) -> C::Curve {
    let mut small = (Vec::new(), Vec::new(), 0);
    let mut large = (Vec::new(), Vec::new(), 0);
    for (coeff, base) in coeffs.iter().zip(bases) {
        let (repr, negate, bits) = signed_repr(coeff);
        if bits == 0 {
            continue;
        }
        let (values, points, max_bits) = if bits <= 64 { &mut small } else { &mut large };
        values.push(repr);
        points.push(AffinePoint::from_affine(base).negated_if(negate));
        *max_bits = (*max_bits).max(bits);
    }
    pippenger_serial::<C, _>(&small.0, &small.1, small.2, ENTRY_BATCH)
        + pippenger_serial::<C, _>(&large.0, &large.1, large.2, ENTRY_BATCH)
}

/// zkinfer patch: of `x` and `-x`, the one with fewer significant bits, whether it is the
/// negation (to be folded into the base), and its significant bits — so that a small negative
/// value (a field element near the modulus) is as cheap to multiply as a small positive one.
pub(crate) fn signed_repr<F: PrimeField>(x: &F) -> (F::Repr, bool, usize) {
    let repr = x.to_repr();
    let negated = (-*x).to_repr();
    let (bits, negated_bits) = (
        significant_bits(repr.as_ref()),
        significant_bits(negated.as_ref()),
    );
    if negated_bits < bits {
        (negated, true, negated_bits)
    } else {
        (repr, false, bits)
    }
}

/// Index of the highest set bit plus one of a little-endian integer (0 for zero).
/// zkinfer patch (new).
pub(crate) fn significant_bits(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |i| i * 8 + (8 - bytes[i].leading_zeros() as usize))
}

/// The window size that minimises the cost of a Pippenger over `n` scalars of `bits` bits:
/// per window, one batched affine addition per point (about 6 field multiplications) and two
/// projective additions per (signed-digit) bucket (about 27). zkinfer patch (new).
fn pippenger_window(n: usize, bits: usize) -> usize {
    (1..=bits.clamp(1, 16))
        .min_by_key(|&c| (bits / c + 1) * (6 * n + 27 * (1usize << (c - 1))))
        .expect("at least one window size")
}

/// Pippenger's bucket method on one thread, windows combined by Horner's rule. `reprs` are
/// little-endian scalars below `2^bits`, of the points `points`.
///
/// zkinfer patch (new): the buckets are summed with batched affine additions
/// (`affine_buckets`), several windows at once. At most `entry_batch` ([`ENTRY_BATCH`])
/// signed digits are held at a time: the windows are taken in groups of `entry_batch / n`
/// (from the top, so the
/// groups still combine by Horner's rule), and when one window alone has more digits than
/// that, its points are taken in batches whose bucket sums carry into the next batch's. The
/// scratch memory is then bounded (about 7 MiB at most, on top of the 96 bytes per point of
/// [`signed_multiexp_serial`]) instead of growing with the number of digits (about 2.3 KiB
/// per point for full-width scalars: +590 MiB for a verifier's final multi-exponentiation
/// over `2^18` points).
fn pippenger_serial<C: CurveAffine, R: AsRef<[u8]>>(
    reprs: &[R],
    points: &[AffinePoint<C::Base>],
    bits: usize,
    entry_batch: usize,
) -> C::Curve {
    debug_assert_eq!(reprs.len(), points.len());
    let n = reprs.len();
    if n == 0 || bits == 0 {
        return C::Curve::identity();
    }
    let c = pippenger_window(n, bits);
    // One more window than `bits / c` takes the carry of the top signed digit.
    let windows = bits / c + 1;
    let buckets = 1 << (c - 1);
    // Windows summed together, and points per batch: at most `entry_batch` digits a batch.
    let group = (entry_batch / n).clamp(1, windows);
    let batch = n.min(entry_batch).max(1);
    let mut entries = Vec::with_capacity(group * batch);
    let mut acc = C::Curve::identity();
    let mut top = windows;
    while top > 0 {
        let low = top.saturating_sub(group);
        let mut sums = vec![AffinePoint::from_affine(&C::identity()); (top - low) * buckets];
        for (first, reprs) in (0..n).step_by(batch).zip(reprs.chunks(batch)) {
            entries.clear();
            for (i, repr) in reprs.iter().enumerate() {
                for window in low..top {
                    let digit = booth_digit(repr.as_ref(), c, window);
                    if digit.magnitude != 0 {
                        entries.push(BucketEntry::new(
                            (window - low) * buckets + digit.magnitude - 1,
                            first + i,
                            digit.negative,
                        ));
                    }
                }
            }
            bucket_sums_into::<C>(points, &entries, &mut sums);
        }
        for (offset, sums) in sums.chunks(buckets).enumerate().rev() {
            if low + offset + 1 != windows {
                (0..c).for_each(|_| acc = acc.double());
            }
            acc += weighted_sum::<C>(sums);
        }
        top = low;
    }
    acc
}

/// Performs a radix-$2$ Fast-Fourier Transformation (FFT) on a vector of size
/// $n = 2^k$, when provided `log_n` = $k$ and an element of multiplicative
/// order $n$ called `omega` ($\omega$). The result is that the vector `a`, when
/// interpreted as the coefficients of a polynomial of degree $n - 1$, is
/// transformed into the evaluations of this polynomial at each of the $n$
/// distinct powers of $\omega$. This transformation is invertible by providing
/// $\omega^{-1}$ in place of $\omega$ and dividing each resulting field element
/// by $n$.
///
/// This will use multithreading if beneficial.
pub fn best_fft<Scalar: Field, G: FftGroup<Scalar>>(a: &mut [G], omega: Scalar, log_n: u32) {
    fn bitreverse(mut n: usize, l: usize) -> usize {
        let mut r = 0;
        for _ in 0..l {
            r = (r << 1) | (n & 1);
            n >>= 1;
        }
        r
    }

    let threads = multicore::current_num_threads();
    let log_threads = log2_floor(threads);
    let n = a.len();
    assert_eq!(n, 1 << log_n);

    for k in 0..n {
        let rk = bitreverse(k, log_n as usize);
        if k < rk {
            a.swap(rk, k);
        }
    }

    // precompute twiddle factors
    let twiddles: Vec<_> = (0..(n / 2))
        .scan(Scalar::ONE, |w, _| {
            let tw = *w;
            *w *= &omega;
            Some(tw)
        })
        .collect();

    if log_n <= log_threads {
        let mut chunk = 2_usize;
        let mut twiddle_chunk = n / 2;
        for _ in 0..log_n {
            a.chunks_mut(chunk).for_each(|coeffs| {
                let (left, right) = coeffs.split_at_mut(chunk / 2);

                // case when twiddle factor is one
                let (a, left) = left.split_at_mut(1);
                let (b, right) = right.split_at_mut(1);
                let t = b[0];
                b[0] = a[0];
                a[0] += &t;
                b[0] -= &t;

                left.iter_mut()
                    .zip(right.iter_mut())
                    .enumerate()
                    .for_each(|(i, (a, b))| {
                        let mut t = *b;
                        t *= &twiddles[(i + 1) * twiddle_chunk];
                        *b = *a;
                        *a += &t;
                        *b -= &t;
                    });
            });
            chunk *= 2;
            twiddle_chunk /= 2;
        }
    } else {
        recursive_butterfly_arithmetic(a, n, 1, &twiddles)
    }
}

/// This perform recursive butterfly arithmetic
pub fn recursive_butterfly_arithmetic<Scalar: Field, G: FftGroup<Scalar>>(
    a: &mut [G],
    n: usize,
    twiddle_chunk: usize,
    twiddles: &[Scalar],
) {
    if n == 2 {
        let t = a[1];
        a[1] = a[0];
        a[0] += &t;
        a[1] -= &t;
    } else {
        let (left, right) = a.split_at_mut(n / 2);
        multicore::join(
            || recursive_butterfly_arithmetic(left, n / 2, twiddle_chunk * 2, twiddles),
            || recursive_butterfly_arithmetic(right, n / 2, twiddle_chunk * 2, twiddles),
        );

        // case when twiddle factor is one
        let (a, left) = left.split_at_mut(1);
        let (b, right) = right.split_at_mut(1);
        let t = b[0];
        b[0] = a[0];
        a[0] += &t;
        b[0] -= &t;

        left.iter_mut()
            .zip(right.iter_mut())
            .enumerate()
            .for_each(|(i, (a, b))| {
                let mut t = *b;
                t *= &twiddles[(i + 1) * twiddle_chunk];
                *b = *a;
                *a += &t;
                *b -= &t;
            });
    }
}

/// This evaluates a provided polynomial (in coefficient form) at `point`.
pub fn eval_polynomial<F: Field>(poly: &[F], point: F) -> F {
    // TODO: parallelize?
    poly.iter()
        .rev()
        .fold(F::ZERO, |acc, coeff| acc * point + coeff)
}

/// This computes the inner product of two vectors `a` and `b`.
///
/// This function will panic if the two vectors are not the same size.
pub fn compute_inner_product<F: Field>(a: &[F], b: &[F]) -> F {
    // TODO: parallelize?
    assert_eq!(a.len(), b.len());

    let mut acc = F::ZERO;
    for (a, b) in a.iter().zip(b.iter()) {
        acc += (*a) * (*b);
    }

    acc
}

/// Divides polynomial `a` in `X` by `X - b` with
/// no remainder.
pub fn kate_division<'a, F: Field, I: IntoIterator<Item = &'a F>>(a: I, mut b: F) -> Vec<F>
where
    I::IntoIter: DoubleEndedIterator + ExactSizeIterator,
{
    b = -b;
    let a = a.into_iter();

    let mut q = vec![F::ZERO; a.len() - 1];

    let mut tmp = F::ZERO;
    for (q, r) in q.iter_mut().rev().zip(a.rev()) {
        let mut lead_coeff = *r;
        lead_coeff.sub_assign(&tmp);
        *q = lead_coeff;
        tmp = lead_coeff;
        tmp.mul_assign(&b);
    }

    q
}

/// This simple utility function will parallelize an operation that is to be
/// performed over a mutable slice.
pub fn parallelize<T: Send, F: Fn(&mut [T], usize) + Send + Sync + Clone>(v: &mut [T], f: F) {
    parallelize_chunks(v, MIN_PARALLEL_CHUNK, f)
}

/// Below this many elements per thread, [`parallelize`] runs `f` on the calling thread.
///
/// zkinfer patch: `parallelize` mostly runs a few field operations per element; at the
/// small sizes of a `k = 6..10` circuit, waking the thread pool for a few microseconds of
/// work cost more than the work (a large share of a `k = 8` proof was spent in the
/// scheduler). Curve arithmetic, which is far heavier per element, uses
/// [`parallelize_chunks`] with a chunk of 1.
const MIN_PARALLEL_CHUNK: usize = 256;

/// [`parallelize`] with the smallest chunk worth a thread of its own given: `v` is split
/// into one chunk per thread unless the chunks would be shorter than `min_chunk`.
pub(crate) fn parallelize_chunks<T: Send, F: Fn(&mut [T], usize) + Send + Sync + Clone>(
    v: &mut [T],
    min_chunk: usize,
    f: F,
) {
    let n = v.len();
    let num_threads = multicore::current_num_threads();
    let mut chunk = n / num_threads;
    if chunk < num_threads || chunk < min_chunk {
        chunk = n;
    }
    if chunk >= n {
        f(v, 0);
        return;
    }

    multicore::scope(|scope| {
        for (chunk_num, v) in v.chunks_mut(chunk).enumerate() {
            let f = f.clone();
            scope.spawn(move |_| {
                let start = chunk_num * chunk;
                f(v, start);
            });
        }
    });
}

fn log2_floor(num: usize) -> u32 {
    assert!(num > 0);

    let mut pow = 0;

    while (1 << (pow + 1)) <= num {
        pow += 1;
    }

    pow
}

/// Returns coefficients of an n - 1 degree polynomial given a set of n points
/// and their evaluations. This function will panic if two values in `points`
/// are the same.
pub fn lagrange_interpolate<F: VartimeField>(points: &[F], evals: &[F]) -> Vec<F> {
    assert_eq!(points.len(), evals.len());
    if points.len() == 1 {
        // Constant polynomial
        vec![evals[0]]
    } else {
        let mut denoms = Vec::with_capacity(points.len());
        for (j, x_j) in points.iter().enumerate() {
            let mut denom = Vec::with_capacity(points.len() - 1);
            for x_k in points
                .iter()
                .enumerate()
                .filter(|&(k, _)| k != j)
                .map(|a| a.1)
            {
                denom.push(*x_j - x_k);
            }
            denoms.push(denom);
        }
        // Compute (x_j - x_k)^(-1) for each j != i
        denoms
            .iter_mut()
            .flat_map(|v| v.iter_mut())
            .batch_invert_vartime();

        let mut final_poly = vec![F::ZERO; points.len()];
        for (j, (denoms, eval)) in denoms.into_iter().zip(evals.iter()).enumerate() {
            let mut tmp: Vec<F> = Vec::with_capacity(points.len());
            let mut product = Vec::with_capacity(points.len() - 1);
            tmp.push(F::ONE);
            for (x_k, denom) in points
                .iter()
                .enumerate()
                .filter(|&(k, _)| k != j)
                .map(|a| a.1)
                .zip(denoms)
            {
                product.resize(tmp.len() + 1, F::ZERO);
                for ((a, b), product) in tmp
                    .iter()
                    .chain(std::iter::once(&F::ZERO))
                    .zip(std::iter::once(&F::ZERO).chain(tmp.iter()))
                    .zip(product.iter_mut())
                {
                    *product = *a * (-denom * x_k) + *b * denom;
                }
                std::mem::swap(&mut tmp, &mut product);
            }
            assert_eq!(tmp.len(), points.len());
            assert_eq!(product.len(), points.len() - 1);
            for (final_coeff, interpolation_coeff) in final_poly.iter_mut().zip(tmp) {
                *final_coeff += interpolation_coeff * eval;
            }
        }
        final_poly
    }
}

#[cfg(test)]
use rand::rngs::SysRng;
#[cfg(test)]
use rand_core::UnwrapErr;

#[cfg(test)]
use crate::pasta::{Ep, EpAffine, Eq, EqAffine, Fp, Fq};

#[cfg(test)]
fn assert_multiexp_matches_naive<C: CurveAffine>(coeffs: &[C::Scalar], bases: &[C]) {
    let expected = coeffs
        .iter()
        .zip(bases)
        .map(|(coeff, base)| *base * coeff)
        .fold(C::Curve::identity(), |acc, val| acc + val);

    assert_eq!(best_multiexp(coeffs, bases), expected);
}

#[cfg(test)]
fn evaluate_le_bytes(bytes: &[u8]) -> Fp {
    bytes.iter().rev().fold(Fp::ZERO, |mut acc, byte| {
        for bit in (0..u8::BITS).rev() {
            acc = acc.double();
            if (byte >> bit) & 1 != 0 {
                acc += Fp::ONE;
            }
        }
        acc
    })
}

#[cfg(test)]
fn evaluate_booth_digits(bytes: &[u8], window_bits: usize) -> Fp {
    (0..booth_window_count(&[bytes], window_bits))
        .rev()
        .fold(Fp::ZERO, |mut acc, window| {
            for _ in 0..window_bits {
                acc = acc.double();
            }

            let digit = booth_digit(bytes, window_bits, window);
            let magnitude = Fp::from(digit.magnitude as u64);
            if digit.negative {
                acc -= magnitude;
            } else {
                acc += magnitude;
            }
            acc
        })
}

#[test]
fn test_multiexp() {
    let mut rng = UnwrapErr(SysRng);
    for len in [0, 1, 2, 3, 4, 31, 32, 33, 255, 256, 257] {
        let coeffs = (0..len).map(|_| Fp::random(&mut rng)).collect::<Vec<_>>();
        let bases = (0..len)
            .map(|_| EqAffine::from(Eq::random(&mut rng)))
            .collect::<Vec<_>>();

        assert_multiexp_matches_naive(&coeffs, &bases);
    }
}

/// zkinfer patch: the Pippenger with at most `entry_batch` digits held at a time (windows in
/// groups, a window's points in batches carrying their bucket sums) gives the same sum for
/// every batch size, down to one digit.
#[test]
fn test_pippenger_in_batches() {
    let mut rng = UnwrapErr(SysRng);
    for (n, bits) in [
        (1, 255usize),
        (5, 255),
        (40, 255),
        (130, 64),
        (300, 255),
        (300, 20),
    ] {
        let bases: Vec<EqAffine> = (0..n)
            .map(|_| EqAffine::from(Eq::random(&mut rng)))
            .collect();
        let mask = |x: Fp| {
            let mut repr = x.to_repr();
            for (i, byte) in repr.as_mut().iter_mut().enumerate() {
                let kept = bits.saturating_sub(8 * i).min(8);
                *byte &= ((1u16 << kept) - 1) as u8;
            }
            Fp::from_repr(repr).unwrap()
        };
        let coeffs: Vec<Fp> = (0..n).map(|_| mask(Fp::random(&mut rng))).collect();
        let reprs: Vec<_> = coeffs.iter().map(PrimeField::to_repr).collect();
        let points: Vec<_> = bases.iter().map(AffinePoint::from_affine).collect();
        let expected = small_multiexp(&coeffs, &bases);
        for entry_batch in [1, 2, 7, n, 3 * n, 64 * n, ENTRY_BATCH] {
            assert_eq!(
                pippenger_serial::<EqAffine, _>(&reprs, &points, bits, entry_batch),
                expected,
                "n = {n}, bits = {bits}, batch = {entry_batch}"
            );
        }
    }
}

#[test]
fn test_booth_digit_boundaries() {
    let assert_digit = |bytes: &[u8], window_bits, window, magnitude, negative| {
        assert_eq!(
            booth_digit(bytes, window_bits, window),
            BoothDigit {
                magnitude,
                negative,
            }
        );
    };

    let repr_bytes = <Fp as PrimeField>::Repr::default().as_ref().len();
    let mut bytes = vec![0; repr_bytes];
    assert_digit(&bytes, 3, 0, 0, false);

    bytes[0] = 3;
    assert_digit(&bytes, 3, 0, 3, false);

    bytes[0] = 4;
    assert_digit(&bytes, 3, 0, 4, true);
    assert_digit(&bytes, 3, 1, 1, false);

    bytes[0] = 7;
    assert_digit(&bytes, 3, 0, 1, true);
    assert_digit(&bytes, 3, 1, 1, false);

    let bytes = vec![u8::MAX; repr_bytes];
    assert_digit(&bytes, 8, 31, 0, false);
    assert_digit(&bytes, 8, 32, 1, false);
}

#[test]
fn test_booth_digit_wide_representation() {
    const WIDE_REPR_BYTES: usize = 40;
    const FIRST_WIDE_BYTE: usize = 32;
    const WINDOW_BITS: usize = 8;
    const HALF_RADIX: usize = 1 << (WINDOW_BITS - 1);

    // A high-half value in the first byte above 256 bits produces a negative
    // digit whose carry must be consumed by the following window.
    let mut bytes = [0; WIDE_REPR_BYTES];
    let short_bytes = [0; FIRST_WIDE_BYTE];
    assert_eq!(
        booth_window_count(&[short_bytes.as_slice(), bytes.as_slice()], WINDOW_BITS),
        WIDE_REPR_BYTES + 1
    );

    bytes[FIRST_WIDE_BYTE] = HALF_RADIX as u8;
    assert_eq!(
        booth_digit(&bytes, WINDOW_BITS, FIRST_WIDE_BYTE),
        BoothDigit {
            magnitude: HALF_RADIX,
            negative: true,
        }
    );
    assert_eq!(
        booth_digit(&bytes, WINDOW_BITS, FIRST_WIDE_BYTE + 1),
        BoothDigit {
            magnitude: 1,
            negative: false,
        }
    );

    // The final data window likewise has a following carry-only window.
    bytes = [0; WIDE_REPR_BYTES];
    bytes[WIDE_REPR_BYTES - 1] = HALF_RADIX as u8;
    assert_eq!(
        booth_digit(&bytes, WINDOW_BITS, WIDE_REPR_BYTES - 1),
        BoothDigit {
            magnitude: HALF_RADIX,
            negative: true,
        }
    );
    assert_eq!(
        booth_digit(&bytes, WINDOW_BITS, WIDE_REPR_BYTES),
        BoothDigit {
            magnitude: 1,
            negative: false,
        }
    );

    let first_high_bit = {
        let mut bytes = [0; WIDE_REPR_BYTES];
        bytes[FIRST_WIDE_BYTE + 1] = 1;
        bytes
    };
    let all_ones = [u8::MAX; WIDE_REPR_BYTES];
    // Folding into `Fp` avoids a big-integer test dependency while exercising
    // the complete 320-bit recoding schedule.
    for bytes in [&bytes, &first_high_bit, &all_ones] {
        for window_bits in [1, 3, 5, 8, 9] {
            assert_eq!(
                evaluate_booth_digits(bytes, window_bits),
                evaluate_le_bytes(bytes)
            );
        }
    }
}

#[test]
fn test_multiexp_booth_boundaries() {
    let mut rng = UnwrapErr(SysRng);
    let mut fp_high_bit = Fp::ONE;
    for _ in 0..254 {
        fp_high_bit = fp_high_bit.double();
    }
    let fp_scalars = [
        Fp::ZERO,
        Fp::ONE,
        -Fp::ONE,
        Fp::from(3),
        Fp::from(4),
        Fp::from(7),
        Fp::from(8),
        fp_high_bit,
    ];
    let fp_coeffs = fp_scalars.into_iter().cycle().take(32).collect::<Vec<_>>();
    let fp_bases = (0..fp_coeffs.len())
        .map(|_| EqAffine::from(Eq::random(&mut rng)))
        .collect::<Vec<_>>();
    assert_multiexp_matches_naive(&fp_coeffs, &fp_bases);

    let mut fq_high_bit = Fq::ONE;
    for _ in 0..254 {
        fq_high_bit = fq_high_bit.double();
    }
    let fq_scalars = [
        Fq::ZERO,
        Fq::ONE,
        -Fq::ONE,
        Fq::from(3),
        Fq::from(4),
        Fq::from(7),
        Fq::from(8),
        fq_high_bit,
    ];
    let fq_coeffs = fq_scalars.into_iter().cycle().take(32).collect::<Vec<_>>();
    let fq_bases = (0..fq_coeffs.len())
        .map(|_| EpAffine::from(Ep::random(&mut rng)))
        .collect::<Vec<_>>();
    assert_multiexp_matches_naive(&fq_coeffs, &fq_bases);
}

#[test]
fn test_multiexp_algorithm_selection() {
    // zkinfer patch: below `MIN_PARALLEL_MULTIEXP` points one thread does the whole sum.
    assert!(!should_parallelize_multiexp(usize::MAX, 1));
    assert!(!should_parallelize_multiexp(MIN_PARALLEL_MULTIEXP - 1, 2));
    assert!(should_parallelize_multiexp(MIN_PARALLEL_MULTIEXP, 2));
}

#[test]
fn test_lagrange_interpolate() {
    let mut rng = UnwrapErr(SysRng);

    let points = (0..5).map(|_| Fp::random(&mut rng)).collect::<Vec<_>>();
    let evals = (0..5).map(|_| Fp::random(&mut rng)).collect::<Vec<_>>();

    for coeffs in 0..5 {
        let points = &points[0..coeffs];
        let evals = &evals[0..coeffs];

        let poly = lagrange_interpolate(points, evals);
        assert_eq!(poly.len(), points.len());

        for (point, eval) in points.iter().zip(evals) {
            assert_eq!(eval_polynomial(&poly, *point), *eval);
        }
    }
}
