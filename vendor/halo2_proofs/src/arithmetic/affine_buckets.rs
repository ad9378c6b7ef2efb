//! zkinfer patch: bucket sums of a multi-scalar multiplication with batched affine additions.
//!
//! Pippenger-style multiplications spend most of their time adding points into buckets. A
//! mixed Jacobian–affine addition costs 7 multiplications and 4 squarings; an affine addition
//! costs one multiplication, one squaring and one field inversion, and Montgomery's trick
//! shares one inversion among any number of independent additions for three multiplications
//! each. So the points of every bucket are summed pairwise, level by level, and all the
//! additions of a level share a single inversion: about 6 multiplications per point instead of
//! 11. Levels never add two points of different buckets, so a bucket holding many points (a
//! column of small values puts thousands into a handful of buckets) costs `log2` levels, not a
//! chain of dependent additions.

use ff::Field;
use group::{Curve, Group};

use crate::arithmetic::{Coordinates, CurveAffine};

/// zkinfer patch: the most bucket entries [`bucket_sums_into`] is given at once. Each entry
/// takes about 100 bytes while its bucket is summed (the entry, its point, and its share of the
/// level's denominators and inverses), so a multiplication's scratch memory stays near 7 MiB
/// per thread whatever its size; larger multiplications add their entries in batches, each
/// batch's bucket sums carried into the next. Batches this large keep the shared inversions
/// (one per level and batch) negligible.
pub(crate) const ENTRY_BATCH: usize = 1 << 16;

/// One point to add into a bucket: a base, negated or not.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BucketEntry {
    bucket: u32,
    /// Index of the base, shifted left once; the low bit says the base is negated.
    signed_base: u32,
}

impl BucketEntry {
    /// `bases[base]` (negated if `negative`) goes into `bucket`.
    pub(crate) fn new(bucket: usize, base: usize, negative: bool) -> Self {
        debug_assert!(base < (1 << 31) && bucket <= u32::MAX as usize);
        Self {
            bucket: bucket as u32,
            signed_base: ((base as u32) << 1) | u32::from(negative),
        }
    }
}

/// An affine point as its bare coordinates; `(0, 0)`, which is on no short Weierstrass curve
/// with a non-zero constant term, stands for the identity. Comparisons are variable-time: the
/// points of a commitment are public bases, and its scalars only choose which ones are added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AffinePoint<B> {
    x: B,
    y: B,
}

impl<B: Field> AffinePoint<B> {
    const IDENTITY: Self = Self {
        x: B::ZERO,
        y: B::ZERO,
    };

    /// The coordinates of `point`.
    pub(crate) fn from_affine<C: CurveAffine<Base = B>>(point: &C) -> Self {
        let coordinates: Option<Coordinates<C>> = point.coordinates().into();
        coordinates.map_or(Self::IDENTITY, |c| Self {
            x: *c.x(),
            y: *c.y(),
        })
    }

    fn is_identity(&self) -> bool {
        self.x.is_zero_vartime() && self.y.is_zero_vartime()
    }

    /// zkinfer patch: the bare coordinates (`(0, 0)` for the identity), to store a table.
    pub(crate) fn coordinates(&self) -> (B, B) {
        (self.x, self.y)
    }

    /// zkinfer patch: the point with these bare coordinates, if it is on the curve of `C` (or
    /// is `(0, 0)`, the identity).
    pub(crate) fn from_coordinates<C: CurveAffine<Base = B>>(x: B, y: B) -> Option<Self> {
        let point = Self { x, y };
        if point.is_identity() || bool::from(C::from_xy(x, y).is_some()) {
            Some(point)
        } else {
            None
        }
    }

    pub(crate) fn negated_if(self, negate: bool) -> Self {
        if negate {
            Self {
                x: self.x,
                y: -self.y,
            }
        } else {
            self
        }
    }

    pub(crate) fn to_affine<C: CurveAffine<Base = B>>(self) -> C {
        if self.is_identity() {
            C::identity()
        } else {
            Option::from(C::from_xy(self.x, self.y)).expect("sums of curve points are on the curve")
        }
    }

    /// The denominator `x₂ − x₁` of the affine formula for `self + other`, or zero when the
    /// formula does not apply (a doubling, a sum to the identity, or an identity operand).
    fn denominator(&self, other: &Self) -> B {
        if self.is_identity() || other.is_identity() {
            B::ZERO
        } else {
            other.x - self.x
        }
    }

    /// `self + other` for pairs the affine formula does not cover.
    fn add_special<C: CurveAffine<Base = B>>(self, other: Self) -> Self {
        let sum = self.to_affine::<C>().to_curve() + other.to_affine::<C>();
        Self::from_affine(&sum.to_affine())
    }

    /// `self + other` given `1 / (other.x − self.x)`.
    fn add_regular(self, other: Self, inverse: B) -> Self {
        let lambda = (other.y - self.y) * inverse;
        let x = lambda.square() - self.x - other.x;
        let y = lambda * (self.x - x) - self.y;
        Self { x, y }
    }
}

/// `Σ_m (m + 1) · (sum of the points of bucket m)` for buckets `0..buckets`.
#[cfg(test)]
pub(crate) fn weighted_bucket_sum<C: CurveAffine>(
    bases: &[AffinePoint<C::Base>],
    entries: &[BucketEntry],
    buckets: usize,
) -> C::Curve {
    weighted_sum::<C>(&bucket_sums::<C>(bases, entries, buckets))
}

/// The sum of the points of each bucket `0..buckets`.
#[cfg(test)]
pub(crate) fn bucket_sums<C: CurveAffine>(
    bases: &[AffinePoint<C::Base>],
    entries: &[BucketEntry],
    buckets: usize,
) -> Vec<AffinePoint<C::Base>> {
    let mut sums = vec![AffinePoint::IDENTITY; buckets];
    bucket_sums_into::<C>(bases, entries, &mut sums);
    sums
}

/// Adds the points of `entries` into the running bucket sums `sums` (`sums.len()` buckets).
///
/// zkinfer patch: the running sum of a bucket, if not the identity, is summed as the first point
/// of that bucket, so a multiplication can give its entries in batches of [`ENTRY_BATCH`]
/// instead of all at once (bounded memory; see `ENTRY_BATCH`).
pub(crate) fn bucket_sums_into<C: CurveAffine>(
    bases: &[AffinePoint<C::Base>],
    entries: &[BucketEntry],
    sums: &mut [AffinePoint<C::Base>],
) {
    let buckets = sums.len();
    // Points of bucket `b` at `points[starts[b]..starts[b] + lens[b]]`: its running sum (if
    // any), then its entries.
    let mut starts = vec![0usize; buckets + 1];
    for (b, sum) in sums.iter().enumerate() {
        if !sum.is_identity() {
            starts[b + 1] += 1;
        }
    }
    for entry in entries {
        starts[entry.bucket as usize + 1] += 1;
    }
    for b in 0..buckets {
        starts[b + 1] += starts[b];
    }
    let mut lens: Vec<usize> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    let mut points = vec![AffinePoint::<C::Base>::IDENTITY; starts[buckets]];
    let mut next = starts.clone();
    for (b, sum) in sums.iter().enumerate() {
        if !sum.is_identity() {
            points[next[b]] = *sum;
            next[b] += 1;
        }
    }
    for entry in entries {
        let slot = &mut next[entry.bucket as usize];
        points[*slot] =
            bases[(entry.signed_base >> 1) as usize].negated_if(entry.signed_base & 1 == 1);
        *slot += 1;
    }

    // Each level adds the points of every bucket in pairs, with one shared inversion.
    let mut denominators: Vec<C::Base> = Vec::with_capacity(points.len() / 2);
    let mut inverses: Vec<C::Base> = Vec::with_capacity(points.len() / 2);
    loop {
        denominators.clear();
        inverses.clear();
        // Running products of the denominators (Montgomery's trick).
        let mut product = C::Base::ONE;
        for b in 0..buckets {
            let pairs = &points[starts[b]..][..lens[b] / 2 * 2];
            for pair in pairs.chunks_exact(2) {
                let denominator = pair[0].denominator(&pair[1]);
                if !denominator.is_zero_vartime() {
                    product *= denominator;
                }
                denominators.push(denominator);
                inverses.push(product);
            }
        }
        if denominators.is_empty() {
            break;
        }
        // Walk back, turning each running product into its pair's own inverse.
        let mut inverse = product.invert().unwrap_or(C::Base::ZERO);
        for i in (0..denominators.len()).rev() {
            if !denominators[i].is_zero_vartime() {
                let before = if i == 0 {
                    C::Base::ONE
                } else {
                    inverses[i - 1]
                };
                inverses[i] = inverse * before;
                inverse *= denominators[i];
            }
        }
        // Forward: sum each pair into its bucket's next slot (never one still to be read).
        let mut pair = 0;
        for b in 0..buckets {
            let (start, len) = (starts[b], lens[b]);
            for t in 0..len / 2 {
                let (p, q) = (points[start + 2 * t], points[start + 2 * t + 1]);
                points[start + t] = if denominators[pair].is_zero_vartime() {
                    p.add_special::<C>(q)
                } else {
                    p.add_regular(q, inverses[pair])
                };
                pair += 1;
            }
            if len % 2 == 1 {
                points[start + len / 2] = points[start + len - 1];
            }
            lens[b] = len.div_ceil(2);
        }
    }

    for (b, sum) in sums.iter_mut().enumerate() {
        *sum = if lens[b] == 1 {
            points[starts[b]]
        } else {
            AffinePoint::IDENTITY
        };
    }
}

/// `Σ_m (m + 1) · sums[m]`, by parts: `Σ_m Σ_{m' ≥ m} sums[m']`.
pub(crate) fn weighted_sum<C: CurveAffine>(sums: &[AffinePoint<C::Base>]) -> C::Curve {
    let mut sum = C::Curve::identity();
    let mut running = C::Curve::identity();
    for point in sums.iter().rev() {
        if !point.is_identity() {
            running += point.to_affine::<C>();
        }
        sum += running;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pasta::{Eq, EqAffine, Fp};
    use rand::rngs::SysRng;
    use rand_core::UnwrapErr;

    fn random_point() -> EqAffine {
        (Eq::generator() * Fp::random(&mut UnwrapErr(SysRng))).to_affine()
    }

    /// The same sum with plain projective additions.
    fn reference(bases: &[EqAffine], entries: &[(usize, usize, bool)]) -> Eq {
        entries
            .iter()
            .fold(Eq::identity(), |sum, &(bucket, base, negative)| {
                let point = if negative { -bases[base] } else { bases[base] };
                sum + point * Fp::from(bucket as u64 + 1)
            })
    }

    fn check(bases: &[EqAffine], entries: &[(usize, usize, bool)], buckets: usize) {
        let packed: Vec<_> = entries
            .iter()
            .map(|&(bucket, base, negative)| BucketEntry::new(bucket, base, negative))
            .collect();
        let points: Vec<_> = bases.iter().map(AffinePoint::from_affine).collect();
        assert_eq!(
            weighted_bucket_sum::<EqAffine>(&points, &packed, buckets),
            reference(bases, entries)
        );
    }

    #[test]
    fn matches_projective_sums_for_spread_and_crowded_buckets() {
        let bases: Vec<_> = (0..300).map(|_| random_point()).collect();
        let spread: Vec<_> = (0..300).map(|i| ((i * 7) % 64, i, i % 3 == 0)).collect();
        check(&bases, &spread, 64);
        let crowded: Vec<_> = (0..300).map(|i| (i % 2, i, i % 5 == 0)).collect();
        check(&bases, &crowded, 4);
        check(&bases, &[], 8);
        check(&bases, &[(3, 7, false)], 8);
    }

    /// zkinfer patch: entries given in batches, each batch's sums carried into the next, sum
    /// to what they sum to at once, also when a carried sum is doubled, cancelled or the
    /// identity.
    #[test]
    fn batches_carry_their_sums() {
        let mut bases: Vec<_> = (0..40).map(|_| random_point()).collect();
        bases.push(Eq::identity().to_affine());
        let identity = bases.len() - 1;
        let mut entries: Vec<_> = (0..200)
            .map(|i| ((i * 7) % 9, i % 40, i % 3 == 0))
            .collect();
        // Across batches: a point, then the same point (a doubling of the carried sum), then
        // its negation twice (back to the identity), then the identity alone.
        entries.extend([(9, 5, false), (9, 5, false), (9, 5, true), (9, 5, true)]);
        entries.extend([(10, identity, false), (10, 6, false), (10, 6, true)]);
        let points: Vec<_> = bases.iter().map(AffinePoint::from_affine).collect();
        let packed: Vec<_> = entries
            .iter()
            .map(|&(bucket, base, negative)| BucketEntry::new(bucket, base, negative))
            .collect();
        let at_once = bucket_sums::<EqAffine>(&points, &packed, 11);
        for batch in [1, 2, 3, 7, 64, 500] {
            let mut sums = vec![AffinePoint::IDENTITY; 11];
            for chunk in packed.chunks(batch) {
                bucket_sums_into::<EqAffine>(&points, chunk, &mut sums);
            }
            assert_eq!(sums, at_once, "batches of {batch}");
        }
        assert_eq!(
            weighted_sum::<EqAffine>(&at_once),
            reference(&bases, &entries)
        );
    }

    #[test]
    fn handles_doublings_cancellations_and_the_identity() {
        let mut bases: Vec<_> = (0..8).map(|_| random_point()).collect();
        bases.push(Eq::identity().to_affine());
        let identity = bases.len() - 1;
        let entries = [
            // A doubling: the same point twice in one bucket.
            (0, 1, false),
            (0, 1, false),
            // A cancellation, then the identity added to what is left.
            (1, 2, false),
            (1, 2, true),
            (1, 3, false),
            (1, identity, false),
            // Only the identity.
            (2, identity, true),
            // A point, its double and its negation in one bucket.
            (3, 4, false),
            (3, 4, false),
            (3, 4, true),
            (3, 5, false),
        ];
        check(&bases, &entries, 5);
    }
}
