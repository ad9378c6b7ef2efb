//! The integer arithmetic every part of zkinfer agrees on.
//!
//! The native forward pass, the witness generator and the gates all use these functions and
//! constants, so that "what the model computes" has exactly one definition.

use ff::PrimeField;

/// Width of the signed range of every unit quotient — in particular of every activation leaving a
/// rescale: `[ACTIVATION_MIN, ACTIVATION_MAX] = [−2^(ACTIVATION_BITS−1), 2^(ACTIVATION_BITS−1) − 1]`.
///
/// The unit decomposes each quotient into base-4 digits, so the range is enforced by the
/// circuit, not only by the witness generator.
pub const ACTIVATION_BITS: u32 = 12;

/// Smallest activation value the circuit accepts.
pub const ACTIVATION_MIN: i64 = -(1 << (ACTIVATION_BITS - 1));

/// Largest activation value the circuit accepts.
pub const ACTIVATION_MAX: i64 = (1 << (ACTIVATION_BITS - 1)) - 1;

/// Largest right shift a single rescale can perform; also the width of the unit remainder.
pub const MAX_SHIFT: u32 = 12;

/// Base of the digit decomposition used for range checks (digits are checked by a degree-4
/// polynomial, which fits the circuit's degree of 5).
pub const DIGIT_BASE: i64 = 4;

/// Base-4 digits of a unit quotient.
pub const QUOTIENT_DIGITS: usize = (ACTIVATION_BITS / 2) as usize;

/// Base-4 digits of a unit remainder.
pub const REMAINDER_DIGITS: usize = (MAX_SHIFT / 2) as usize;

/// Bound on the magnitude of every tensor value, so that native arithmetic never overflows and
/// every field equation the gates check is an integer equation (values stay far below half the
/// ~2^254 field size).
pub const MAX_MAGNITUDE: i64 = 1 << 60;

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
pub fn rescale(value: i128, shift: u32) -> (i128, i128) {
    debug_assert!(shift <= MAX_SHIFT);
    let shifted = value + i128::from(rounding_half(shift));
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

/// Integer square root: the largest `r` with `r² ≤ value` (`value ≥ 0`).
pub fn isqrt(value: i128) -> i128 {
    debug_assert!(value >= 0);
    let mut r = (value as f64).sqrt() as i128;
    while r * r > value {
        r -= 1;
    }
    while (r + 1) * (r + 1) <= value {
        r += 1;
    }
    r
}

/// The `count` least significant base-4 digits of `value` (`value ≥ 0`).
pub fn digits<const N: usize>(value: i128) -> [i64; N] {
    std::array::from_fn(|i| ((value >> (2 * i)) & 3) as i64)
}

/// Recomposes base-4 digits (least significant first).
pub fn from_digits(digits: &[i64]) -> i128 {
    digits
        .iter()
        .rev()
        .fold(0i128, |acc, &d| acc * 4 + i128::from(d))
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

/// Maps a signed 128-bit integer into the field.
pub fn to_field_wide<F: PrimeField>(value: i128) -> F {
    let magnitude = value.unsigned_abs();
    let low = F::from(magnitude as u64);
    let field = match (magnitude >> 64) as u64 {
        0 => low,
        high => F::from(high) * F::from(2).pow_vartime([64]) + low,
    };
    if value < 0 {
        -field
    } else {
        field
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
    use ff::Field;
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
            for value in [-100_000i128, -12345, -1, 0, 1, 777, 99_999] {
                let (q, r) = rescale(value, shift);
                assert_eq!(
                    value + i128::from(rounding_half(shift)),
                    q * (1 << shift) + r
                );
                assert!((0..1 << shift).contains(&r));
                let exact = value as f64 / f64::from(1u32 << shift);
                assert!((q as f64 - exact).abs() <= 0.5);
            }
        }
    }

    #[test]
    fn isqrt_and_digits() {
        for v in [0i128, 1, 2, 3, 4, 15, 16, 17, 1 << 40, (1 << 40) - 1] {
            let r = isqrt(v);
            assert!(r * r <= v && (r + 1) * (r + 1) > v, "{v}");
        }
        let d: [i64; 4] = digits(0b11_10_01_00);
        assert_eq!(d, [0, 1, 2, 3]);
        assert_eq!(from_digits(&d), 0b11_10_01_00);
    }

    #[test]
    fn field_round_trip() {
        for v in [i64::MIN + 1, -5, -1, 0, 1, 42, i64::MAX] {
            assert_eq!(from_field(to_field::<Fp>(v)), Some(v));
            assert_eq!(to_field_wide::<Fp>(i128::from(v)), to_field::<Fp>(v));
        }
        assert_eq!(from_field(Fp::from(u64::MAX)), None);
        assert_eq!(
            to_field_wide::<Fp>(-(1i128 << 100)),
            -Fp::from(2).pow_vartime([100])
        );
    }
}
