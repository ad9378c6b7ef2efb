//! zkinfer patch: commitments as multi-scalar multiplications over *fixed* bases with
//! precomputed window multiples.
//!
//! Every commitment the prover makes is a multi-scalar multiplication over the same bases:
//! `G` (coefficient form) or `G_lagrange` (evaluation form), plus `W` for the blind. For
//! fixed bases, each base's multiples `2^(c·j)·B` can be computed once; a multiplication
//! then needs no doublings and a single set of buckets for all windows: one addition per
//! non-zero signed digit, plus one pass over the buckets. Against Pippenger's method that
//! halves the cost of a full-width commitment at the sizes zkinfer proves (`k ≤ 14`), and
//! cuts that of a column of small witness values further: a value's sign is folded into the
//! base, so a 20-bit value costs two or three additions whatever the field.

use std::{fmt, io};

use ff::PrimeField;
use group::{Curve, Group};

use crate::arithmetic::affine_buckets::{
    bucket_sums_into, weighted_sum, AffinePoint, BucketEntry, ENTRY_BATCH,
};
use crate::arithmetic::{booth_digit, should_parallelize_multiexp, signed_repr, CurveAffine};
use crate::multicore;

/// Bits in the little-endian representation of a scalar that the tables cover.
fn repr_bits<C: CurveAffine>() -> usize {
    <C::Scalar as PrimeField>::Repr::default().as_ref().len() * u8::BITS as usize
}

/// The window size of the tables for `2^k` bases: the per-thread cost of a full-width
/// multiplication, `n/threads · (256/c + 1)` additions plus `2^c` for the buckets, is near
/// its minimum there, and the tables stay small.
pub(crate) fn table_window(k: u32) -> usize {
    (k as usize).clamp(7, 11)
}

/// Precomputed multiples `2^(c·j)·B_i` of a list of bases.
pub(crate) struct FixedBaseTable<C: CurveAffine> {
    /// Window size `c` in bits.
    window: usize,
    /// Multiples per base: enough windows for a full scalar and the carry of its top
    /// signed digit.
    windows: usize,
    /// `multiples[i · windows + j] = 2^(c·j) · bases[i]`.
    multiples: Vec<AffinePoint<C::Base>>,
}

impl<C: CurveAffine> fmt::Debug for FixedBaseTable<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FixedBaseTable")
            .field("window", &self.window)
            .field("windows", &self.windows)
            .field("bases", &(self.multiples.len() / self.windows))
            .finish()
    }
}

impl<C: CurveAffine> FixedBaseTable<C> {
    /// Computes the multiples of every base, in parallel.
    pub(crate) fn new(bases: &[C], window: usize) -> Self {
        assert!((1..=16).contains(&window));
        let windows = repr_bits::<C>() / window + 1;
        let mut multiples = vec![AffinePoint::from_affine(&C::identity()); bases.len() * windows];
        let threads = multicore::current_num_threads().max(1);
        let bases_per_chunk = bases.len().div_ceil(threads).max(1);
        multicore::scope(|scope| {
            for (bases, out) in bases
                .chunks(bases_per_chunk)
                .zip(multiples.chunks_mut(bases_per_chunk * windows))
            {
                scope.spawn(move |_| {
                    let mut projective = Vec::with_capacity(out.len());
                    for base in bases {
                        let mut multiple = base.to_curve();
                        for _ in 0..windows {
                            projective.push(multiple);
                            (0..window).for_each(|_| multiple = multiple.double());
                        }
                    }
                    let mut affine = vec![C::identity(); projective.len()];
                    C::Curve::batch_normalize(&projective, &mut affine);
                    for (slot, point) in out.iter_mut().zip(&affine) {
                        *slot = AffinePoint::from_affine(point);
                    }
                });
            }
        });
        Self {
            window,
            windows,
            multiples,
        }
    }

    /// zkinfer patch: writes the table: the window size, the windows per base and the number
    /// of bases (`u32` each, little-endian), then every multiple's two coordinates.
    pub(crate) fn write<W: io::Write>(&self, writer: &mut W) -> io::Result<()> {
        for field in [self.window, self.windows, self.len()] {
            writer.write_all(&(field as u32).to_le_bytes())?;
        }
        for multiple in &self.multiples {
            let (x, y) = multiple.coordinates();
            writer.write_all(x.to_repr().as_ref())?;
            writer.write_all(y.to_repr().as_ref())?;
        }
        Ok(())
    }

    /// zkinfer patch: reads a table [`FixedBaseTable::write`] wrote for `bases` with window
    /// size `window`. Refused (`InvalidData`) unless the header matches, every multiple is a
    /// curve point, each base's first multiple is the base, and the doubling chain holds at
    /// evenly spaced sample bases: a damaged or foreign file, not a crafted one (the tables are
    /// derived from the parameters and trusted as they are; a wrong table only makes the
    /// prover's own commitments, so its proofs, wrong).
    pub(crate) fn read<R: io::Read>(reader: &mut R, bases: &[C], window: usize) -> io::Result<Self> {
        let invalid = |why: &str| io::Error::new(io::ErrorKind::InvalidData, why.to_string());
        let windows = repr_bits::<C>() / window + 1;
        let mut field = || -> io::Result<usize> {
            let mut bytes = [0u8; 4];
            reader.read_exact(&mut bytes)?;
            Ok(u32::from_le_bytes(bytes) as usize)
        };
        if [field()?, field()?, field()?] != [window, windows, bases.len()] {
            return Err(invalid("the table is for another window or number of bases"));
        }
        let mut coordinate = || -> io::Result<C::Base> {
            let mut repr = <C::Base as PrimeField>::Repr::default();
            reader.read_exact(repr.as_mut())?;
            Option::from(C::Base::from_repr(repr)).ok_or_else(|| invalid("invalid field element"))
        };
        let mut multiples = Vec::with_capacity(bases.len() * windows);
        for _ in 0..bases.len() * windows {
            let (x, y) = (coordinate()?, coordinate()?);
            multiples.push(
                AffinePoint::from_coordinates::<C>(x, y)
                    .ok_or_else(|| invalid("a multiple is not on the curve"))?,
            );
        }
        let table = Self {
            window,
            windows,
            multiples,
        };
        let multiple = |i: usize, j: usize| table.multiples[i * windows + j].to_affine::<C>();
        if (0..bases.len()).any(|i| multiple(i, 0) != bases[i]) {
            return Err(invalid("a base differs from the parameters"));
        }
        for i in (0..bases.len()).step_by(bases.len().div_ceil(64).max(1)) {
            for j in 1..windows {
                let mut expected = multiple(i, j - 1).to_curve();
                (0..window).for_each(|_| expected = expected.double());
                if expected.to_affine() != multiple(i, j) {
                    return Err(invalid("a multiple is not the double of the one before"));
                }
            }
        }
        Ok(table)
    }

    /// Number of bases in the table.
    pub(crate) fn len(&self) -> usize {
        self.multiples.len() / self.windows
    }

    /// `Σ coeffs[i] · bases[i]` over the first `coeffs.len()` bases.
    ///
    /// # Panics
    ///
    /// Panics if there are more scalars than bases.
    pub(crate) fn multiexp(&self, coeffs: &[C::Scalar]) -> C::Curve {
        self.multiexp_from(0, coeffs)
    }

    /// `Σ coeffs[i] · bases[first + i]`.
    ///
    /// # Panics
    ///
    /// Panics if the scalars run past the last base.
    pub(crate) fn multiexp_from(&self, first: usize, coeffs: &[C::Scalar]) -> C::Curve {
        assert!(
            first + coeffs.len() <= self.len(),
            "more scalars than table bases"
        );
        let threads = multicore::current_num_threads();
        if !should_parallelize_multiexp(coeffs.len(), threads) {
            return self.multiexp_serial(coeffs, first, ENTRY_BATCH);
        }
        let chunk = coeffs.len().div_ceil(threads);
        let mut partial = vec![C::Curve::identity(); coeffs.len().div_ceil(chunk)];
        multicore::scope(|scope| {
            for (index, (result, coeffs)) in
                partial.iter_mut().zip(coeffs.chunks(chunk)).enumerate()
            {
                scope.spawn(move |_| {
                    *result = self.multiexp_serial(coeffs, first + index * chunk, ENTRY_BATCH)
                });
            }
        });
        partial
            .into_iter()
            .fold(C::Curve::identity(), |sum, part| sum + part)
    }

    /// One thread's share: the scalars of bases `first..first + coeffs.len()`.
    ///
    /// zkinfer patch: the signed digits go into the buckets in batches of at most
    /// `entry_batch` ([`ENTRY_BATCH`]), each batch's bucket sums carried into the next, so the
    /// scratch memory is bounded whatever the number of bases.
    fn multiexp_serial(&self, coeffs: &[C::Scalar], first: usize, entry_batch: usize) -> C::Curve {
        let entry_batch = entry_batch.max(self.windows);
        let mut sums = vec![AffinePoint::from_affine(&C::identity()); 1 << (self.window - 1)];
        let mut entries = Vec::with_capacity((coeffs.len() * 2).min(entry_batch));
        // Buckets up to the largest digit magnitude seen.
        let mut top = 0;
        for (i, coeff) in coeffs.iter().enumerate() {
            let (repr, negate, bits) = signed_repr(coeff);
            if bits == 0 {
                continue;
            }
            let windows_used = (bits / self.window + 1).min(self.windows);
            if entries.len() + windows_used > entry_batch {
                bucket_sums_into::<C>(&self.multiples, &entries, &mut sums[..top]);
                entries.clear();
            }
            let multiples = (first + i) * self.windows;
            for j in 0..windows_used {
                let digit = booth_digit(repr.as_ref(), self.window, j);
                if digit.magnitude != 0 {
                    entries.push(BucketEntry::new(
                        digit.magnitude - 1,
                        multiples + j,
                        digit.negative != negate,
                    ));
                    top = top.max(digit.magnitude);
                }
            }
        }
        bucket_sums_into::<C>(&self.multiples, &entries, &mut sums[..top]);
        weighted_sum::<C>(&sums[..top])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arithmetic::significant_bits;
    use crate::arithmetic::small_multiexp;
    use crate::pasta::{EqAffine, Fp};
    use ff::Field;
    use rand::rngs::SysRng;
    use rand_core::UnwrapErr;

    fn bases(n: usize) -> Vec<EqAffine> {
        (0..n)
            .map(|_| {
                (<crate::pasta::Eq as Group>::generator() * Fp::random(&mut UnwrapErr(SysRng)))
                    .to_affine()
            })
            .collect()
    }

    #[test]
    fn matches_the_reference_for_small_large_negative_and_zero_scalars() {
        for (n, window) in [(1, 7), (5, 8), (63, 8), (64, 7), (200, 11), (257, 9)] {
            let bases = bases(n);
            let table = FixedBaseTable::new(&bases, window);
            let scalars: Vec<Fp> = (0..n)
                .map(|i| match i % 5 {
                    0 => Fp::random(&mut UnwrapErr(SysRng)),
                    1 => Fp::from(i as u64 * 977),
                    2 => -Fp::from(i as u64 * 31 + 1),
                    3 => Fp::ZERO,
                    _ => -Fp::ONE,
                })
                .collect();
            for len in [0, n / 2, n] {
                assert_eq!(
                    table.multiexp(&scalars[..len]),
                    small_multiexp(&scalars[..len], &bases[..len]),
                    "n = {n}, window = {window}, len = {len}"
                );
                let first = n - len;
                assert_eq!(
                    table.multiexp_from(first, &scalars[..len]),
                    small_multiexp(&scalars[..len], &bases[first..]),
                    "n = {n}, window = {window}, len = {len} from {first}"
                );
            }
        }
    }

    /// zkinfer patch: digits given to the buckets in batches of any size (each batch's sums
    /// carried into the next) give the same sum.
    #[test]
    fn batches_of_digits_give_the_same_sum() {
        let n = 150;
        let bases = bases(n);
        let table = FixedBaseTable::new(&bases, 7);
        let scalars: Vec<Fp> = (0..n)
            .map(|i| match i % 3 {
                0 => Fp::random(&mut UnwrapErr(SysRng)),
                1 => -Fp::from(i as u64 * 7 + 1),
                _ => Fp::from(1 << (i % 40)),
            })
            .collect();
        let expected = small_multiexp(&scalars[1..], &bases[1..]);
        for batch in [1, 10, 37, 38, 100, 1000, ENTRY_BATCH] {
            assert_eq!(
                table.multiexp_serial(&scalars[1..], 1, batch),
                expected,
                "batch = {batch}"
            );
        }
    }

    #[test]
    fn significant_bits_counts_from_the_top() {
        assert_eq!(significant_bits(&[0, 0]), 0);
        assert_eq!(significant_bits(&[1, 0]), 1);
        assert_eq!(significant_bits(&[0, 0x80]), 16);
        assert_eq!(significant_bits(&[0xff, 0x01, 0]), 9);
    }

    // zkinfer patch: stored tables.
    #[test]
    fn a_written_table_reads_back_and_damage_or_another_base_is_refused() {
        let bases = bases(70);
        let table = FixedBaseTable::new(&bases, 8);
        let mut bytes = Vec::new();
        table.write(&mut bytes).unwrap();
        let read = FixedBaseTable::read(&mut bytes.as_slice(), &bases, 8).unwrap();
        assert_eq!(read.multiples, table.multiples);
        let coeffs: Vec<Fp> = (0..70).map(|_| Fp::random(&mut UnwrapErr(SysRng))).collect();
        assert_eq!(read.multiexp(&coeffs), table.multiexp(&coeffs));

        assert!(FixedBaseTable::read(&mut bytes.as_slice(), &bases, 9).is_err());
        assert!(FixedBaseTable::read(&mut bytes.as_slice(), &bases[1..], 8).is_err());
        let mut other = bases.clone();
        other[3] = bases[4];
        assert!(FixedBaseTable::read(&mut bytes.as_slice(), &other, 8).is_err());
        assert!(FixedBaseTable::read(&mut &bytes[..bytes.len() - 1], &bases, 8).is_err());
        // A flipped bit in any coordinate of a sampled base's chain, or in a base.
        let point_bytes = 64;
        for multiple in [0, 1, 32, 33 * table.windows + 5] {
            let mut damaged = bytes.clone();
            damaged[12 + multiple * point_bytes + 7] ^= 4;
            assert!(
                FixedBaseTable::read(&mut damaged.as_slice(), &bases, 8).is_err(),
                "multiple {multiple}"
            );
        }
    }
}
