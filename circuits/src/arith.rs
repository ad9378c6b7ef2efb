//! The integer arithmetic every part of zkinfer agrees on.
//!
//! The native forward pass, the witness generator and the gates all use these functions and
//! constants, so that "what the model computes" has exactly one definition.

use ff::PrimeField;

/// Width of the signed range every activation must fit after a rescale:
/// `[ACTIVATION_MIN, ACTIVATION_MAX] = [-2^(ACTIVATION_BITS-1), 2^(ACTIVATION_BITS-1) - 1]`.
///
/// The rescale unit decomposes each quotient into this many bits, so the range is enforced by
/// the circuit, not only by the witness generator.
pub const ACTIVATION_BITS: u32 = 12;

/// Smallest activation value the circuit accepts.
pub const ACTIVATION_MIN: i64 = -(1 << (ACTIVATION_BITS - 1));

/// Largest activation value the circuit accepts.
pub const ACTIVATION_MAX: i64 = (1 << (ACTIVATION_BITS - 1)) - 1;

/// Largest right shift a single rescale can perform (the remainder is decomposed into this many
/// bits).
pub const MAX_SHIFT: u32 = 16;

/// Largest magnitude of an accumulator (a dot product plus bias) the circuit can rescale.
///
/// The rescale gate multiplies the accumulator by `2^(MAX_SHIFT - shift)`; keeping the product far
/// below half the field modulus is what makes the field equation imply the integer one.
pub const MAX_ACCUMULATOR: i64 = 1 << 62 >> MAX_SHIFT;

/// The value added before a right shift by `shift` bits so that the shift rounds to nearest
/// (ties towards +∞).
pub fn rounding_half(shift: u32) -> i64 {
    if shift == 0 {
        0
    } else {
        1 << (shift - 1)
    }
}

/// Divides `value` by `2^shift`, rounding to nearest (ties towards +∞).
///
/// Returns `(quotient, remainder)` with `value + rounding_half(shift) = quotient·2^shift +
/// remainder` and `0 <= remainder < 2^shift`.
pub fn rescale(value: i64, shift: u32) -> (i64, i64) {
    debug_assert!(shift <= MAX_SHIFT);
    let shifted = value + rounding_half(shift);
    let quotient = shifted >> shift; // arithmetic shift: floor division
    (quotient, shifted - (quotient << shift))
}

/// The rectifier: `max(value, 0)`.
pub fn relu(value: i64) -> i64 {
    value.max(0)
}

/// Whether `value` lies in the activation range the circuit enforces.
pub fn activation_in_range(value: i64) -> bool {
    (ACTIVATION_MIN..=ACTIVATION_MAX).contains(&value)
}

/// Maps a signed integer into the field (`-x` becomes `p - x`).
pub fn to_field<F: PrimeField>(value: i64) -> F {
    let magnitude = F::from(value.unsigned_abs());
    if value < 0 {
        -magnitude
    } else {
        magnitude
    }
}

/// Reads a field element back as a signed integer, if it is within `i64` range on either side
/// of zero.
pub fn from_field<F: PrimeField>(value: F) -> Option<i64> {
    fn small<F: PrimeField>(v: F) -> Option<u64> {
        let repr = v.to_repr();
        let bytes = repr.as_ref();
        // PrimeField representations used here (Pasta) are little-endian.
        if bytes[8..].iter().any(|&b| b != 0) {
            return None;
        }
        Some(u64::from_le_bytes(bytes[..8].try_into().ok()?))
    }
    if let Some(v) = small(value) {
        return i64::try_from(v).ok();
    }
    small(-value)
        .and_then(|v| i64::try_from(v).ok())
        .map(|v| -v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pasta_curves::Fp;

    #[test]
    fn rescale_rounds_to_nearest() {
        assert_eq!(rescale(5, 1), (3, 0)); // 2.5 -> 3
        assert_eq!(rescale(-5, 1), (-2, 0)); // -2.5 -> -2 (ties towards +inf)
        assert_eq!(rescale(7, 2), (2, 1)); // 1.75 -> 2
        assert_eq!(rescale(-7, 2), (-2, 3)); // -1.75 -> -2
        assert_eq!(rescale(9, 0), (9, 0));
    }

    #[test]
    fn rescale_identity_holds_over_a_range() {
        for shift in 0..=MAX_SHIFT {
            for value in [-100_000i64, -12345, -1, 0, 1, 777, 99_999] {
                let (q, r) = rescale(value, shift);
                assert_eq!(value + rounding_half(shift), q * (1 << shift) + r);
                assert!((0..1 << shift).contains(&r));
                let exact = value as f64 / f64::from(1u32 << shift);
                assert!((q as f64 - exact).abs() <= 0.5);
            }
        }
    }

    #[test]
    fn field_round_trip() {
        for v in [i64::MIN + 1, -5, -1, 0, 1, 42, i64::MAX] {
            assert_eq!(from_field(to_field::<Fp>(v)), Some(v));
        }
        assert_eq!(from_field(Fp::from(u64::MAX)), None);
    }
}
