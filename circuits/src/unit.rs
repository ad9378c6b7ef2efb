//! The unit: one small exact computation per row — rescale, ReLU, max, add, multiply, affine,
//! division or square root — with the range checks that make it sound, and no lookup tables.
//!
//! A unit reads operands `a`, `b` and writes `y` and, in shapes that divide, the remainder `z`
//! (advice, equality on: a later unit can check a division's remainder against its divisor). The
//! prover supplies the quotient `q` as 6 base-4 digits `Q_i` of `q + 2^11` and the remainder as 6
//! base-4 digits `R_j`.
//! Fixed columns carry the computation ([`UnitKind`]) of each row:
//!
//! | gate | constraint |
//! |---|---|
//! | `unit decompose` | `ca·a + cb·b + cab·a·b + caa·a² + c0 = q·(qmul + div·b + sqrt·q) + active·r` |
//! | `unit digit` | `active·d·(d−1)·(d−2)·(d−3) = 0` for all 12 digits |
//! | `unit output` | `active·y = relu·s(Q_5)·q + linear·q + out_b·b + out_c` |
//! | `unit nonneg` | `nonneg·(1 − s(Q_5)) = 0` |
//! | `unit remainder` | `active·(z − r) = 0` (shapes with `z` only) |
//!
//! where `q = Σ 4^i·Q_i − active·2^11`, `r = Σ 4^j·R_j`, and `s(d) = d(d−1)(7−2d)/6` is 1 for the
//! top digits 2 and 3 — exactly when `q ≥ 0` — and 0 for 0 and 1.
//!
//! In rescale mode (`qmul = 2^12`, `div = sqrt = 0`) the fixed coefficients are the computation's
//! coefficients times `2^(12−shift)` (and `c0` includes the rounding half), so the gate reads
//! `(v + half)·2^(12−s) = q·2^12 + r`. The digits bound `q ∈ [−2^11, 2^11)` and `r ∈ [0, 2^12)`;
//! every value is far below half the field size (the network's interval analysis guarantees it),
//! so the field equation is the integer equation, whose only solution is
//! `q = floor((v + half)/2^s)` with `r` the remainder scaled by `2^(16−s)`. Scaling the remainder
//! instead of masking digits lets one set of columns serve every shift. In divide mode
//! (`v = q·b + r`) and square-root mode (`v = q² + r`) the remainder is only bounded by `2^12`;
//! the missing checks `r < b` and `r ≤ 2q` are separate units with `nonneg` set, built by the
//! compiler and required by [`Network::validate`](crate::Network::validate). The remainder cell
//! `z` holds the remainder as the digits encode it, so a rescale's is scaled: only division and
//! square root expose it to other units.

use ff::PrimeField;
use halo2_proofs::{
    circuit::{AssignedCell, Region, Value},
    plonk::{Advice, Column, ConstraintSystem, Error, Expression, Fixed},
    poly::Rotation,
};

use crate::arith::{
    digits, rounding_half, to_field, to_field_wide, ACTIVATION_BITS, MAX_SHIFT, QUOTIENT_DIGITS,
    REMAINDER_DIGITS,
};
use crate::ops::{UnitFailure, UnitKind, UnitMode};

/// Advice columns of one lane (`a`, `b`, `y`, the digits, and `z` if `remainder`).
pub fn advice_columns(remainder: bool) -> usize {
    3 + QUOTIENT_DIGITS + REMAINDER_DIGITS + usize::from(remainder)
}
/// Fixed columns of one lane.
pub const FIXED_COLUMNS: usize = 14;

const QUOTIENT_OFFSET: i64 = 1 << (ACTIVATION_BITS - 1);

/// Columns of one unit lane.
#[derive(Clone, Debug)]
pub struct UnitConfig {
    /// Operand `a` (equality on).
    pub a: Column<Advice>,
    /// Operand `b` (equality on).
    pub b: Column<Advice>,
    /// Output `y` (equality on).
    pub y: Column<Advice>,
    /// The remainder `r` (equality on), in shapes whose units divide.
    pub z: Option<Column<Advice>>,
    /// Base-4 digits of `q + 2^11`, least significant first.
    pub quotient: Vec<Column<Advice>>,
    /// Base-4 digits of the (scaled) remainder, least significant first.
    pub remainder: Vec<Column<Advice>>,
    /// `[active, ca, cb, cab, caa, c0, qmul, div, sqrt, relu, linear, out_b, out_c, nonneg]`.
    pub fixed: [Column<Fixed>; FIXED_COLUMNS],
}

/// The fixed values of one unit row, as assigned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FixedRow([i128; FIXED_COLUMNS]);

impl FixedRow {
    fn new(kind: &UnitKind) -> Self {
        let (scale, half, qmul, div, sqrt) = match kind.mode {
            UnitMode::Rescale { shift } => (
                1i128 << (MAX_SHIFT - shift),
                i128::from(rounding_half(shift)),
                1i128 << MAX_SHIFT,
                0,
                0,
            ),
            UnitMode::Divide => (1, 0, 0, 1, 0),
            UnitMode::Sqrt => (1, 0, 0, 0, 1),
        };
        let c = |v: i64| i128::from(v) * scale;
        FixedRow([
            1,
            c(kind.ca),
            c(kind.cb),
            c(kind.cab),
            c(kind.caa),
            (i128::from(kind.c0) + half) * scale,
            qmul,
            div,
            sqrt,
            i128::from(kind.relu),
            i128::from(kind.linear),
            i128::from(kind.out_b),
            i128::from(kind.out_c),
            i128::from(kind.nonneg),
        ])
    }
}

/// The advice values of one unit. Honest values come from [`UnitWitness::honest`]; tests build
/// corrupted ones by editing the fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitWitness {
    /// Operand `a`.
    pub a: i64,
    /// Operand `b`.
    pub b: i64,
    /// Output.
    pub y: i64,
    /// The remainder as the digits encode it (scaled by `2^(16−shift)` in rescale mode).
    pub z: i64,
    /// Digits of `q + 2^11` (each honestly in 0..4).
    pub quotient: [i64; QUOTIENT_DIGITS],
    /// Digits of the (scaled) remainder (each honestly in 0..4).
    pub remainder: [i64; REMAINDER_DIGITS],
}

impl UnitWitness {
    /// The honest witness of `kind` on operands `a`, `b`.
    pub fn honest(kind: &UnitKind, a: i64, b: i64) -> Result<Self, UnitFailure> {
        let (q, r) = kind.quotient(a, b)?;
        let scaled = match kind.mode {
            UnitMode::Rescale { shift } => i128::from(r) << (MAX_SHIFT - shift),
            _ => i128::from(r),
        };
        Ok(Self {
            a,
            b,
            y: kind.output(q, b),
            z: scaled as i64,
            quotient: digits(i128::from(q + QUOTIENT_OFFSET)),
            remainder: digits(scaled),
        })
    }

    /// The quotient the digits encode.
    pub fn quotient(&self) -> i64 {
        crate::arith::from_digits(&self.quotient) as i64 - QUOTIENT_OFFSET
    }
}

/// The cells of one unit that other chips connect to.
#[derive(Clone, Debug)]
pub struct UnitCells<F: PrimeField> {
    /// Operand `a`.
    pub a: AssignedCell<F, F>,
    /// Operand `b`.
    pub b: AssignedCell<F, F>,
    /// Output `y`.
    pub y: AssignedCell<F, F>,
    /// The remainder `z`, in shapes whose units divide.
    pub z: Option<AssignedCell<F, F>>,
}

/// One unit lane.
#[derive(Clone, Debug)]
pub struct UnitChip {
    config: UnitConfig,
}

fn digit_check<F: PrimeField>(d: Expression<F>) -> Expression<F> {
    let c = |v: u64| Expression::Constant(F::from(v));
    d.clone() * (d.clone() - c(1)) * (d.clone() - c(2)) * (d - c(3))
}

/// `s(d) = d(d−1)(7−2d)/6`: 0 for digits 0 and 1, 1 for digits 2 and 3.
fn sign<F: PrimeField>(d: Expression<F>) -> Expression<F> {
    let c = |v: u64| Expression::Constant(F::from(v));
    let sixth = F::from(6).invert().unwrap();
    d.clone() * (d.clone() - c(1)) * (c(7) - d * F::from(2)) * sixth
}

impl UnitChip {
    /// Allocates a lane's columns and gates; with `remainder`, the lane also exposes each unit's
    /// remainder as a cell `z` (needed by division and square root).
    pub fn configure<F: PrimeField>(meta: &mut ConstraintSystem<F>, remainder: bool) -> UnitConfig {
        let a = meta.advice_column();
        let b = meta.advice_column();
        let y = meta.advice_column();
        let z = remainder.then(|| meta.advice_column());
        let quotient: Vec<_> = (0..QUOTIENT_DIGITS).map(|_| meta.advice_column()).collect();
        let remainder: Vec<_> = (0..REMAINDER_DIGITS)
            .map(|_| meta.advice_column())
            .collect();
        let fixed: [Column<Fixed>; FIXED_COLUMNS] = std::array::from_fn(|_| meta.fixed_column());
        for column in [a, b, y].into_iter().chain(z) {
            meta.enable_equality(column);
        }
        let pow = |base: u64, e: usize| F::from(base).pow_vartime([e as u64]);
        let combine = |meta: &mut halo2_proofs::plonk::VirtualCells<'_, F>,
                       cols: &[Column<Advice>]| {
            cols.iter()
                .enumerate()
                .fold(Expression::Constant(F::ZERO), |acc, (i, &c)| {
                    acc + meta.query_advice(c, Rotation::cur()) * pow(4, i)
                })
        };

        meta.create_gate("unit decompose", |meta| {
            let [active, ca, cb, cab, caa, c0, qmul, div, sqrt, ..] =
                fixed.map(|c| meta.query_fixed(c));
            let a = meta.query_advice(a, Rotation::cur());
            let b = meta.query_advice(b, Rotation::cur());
            let q = combine(meta, &quotient) - active.clone() * F::from(QUOTIENT_OFFSET as u64);
            let r = combine(meta, &remainder);
            let v = ca * a.clone()
                + cb * b.clone()
                + cab * a.clone() * b.clone()
                + caa * a.clone() * a
                + c0;
            vec![v - q.clone() * (qmul + div * b + sqrt * q) - active * r]
        });
        meta.create_gate("unit digit", |meta| {
            let active = meta.query_fixed(fixed[0]);
            quotient
                .iter()
                .chain(&remainder)
                .map(|&c| active.clone() * digit_check(meta.query_advice(c, Rotation::cur())))
                .collect::<Vec<_>>()
        });
        meta.create_gate("unit output", |meta| {
            let active = meta.query_fixed(fixed[0]);
            let [relu, linear, out_b, out_c] = [9, 10, 11, 12].map(|i| meta.query_fixed(fixed[i]));
            let y = meta.query_advice(y, Rotation::cur());
            let b = meta.query_advice(b, Rotation::cur());
            let top = meta.query_advice(quotient[QUOTIENT_DIGITS - 1], Rotation::cur());
            let q = combine(meta, &quotient) - active.clone() * F::from(QUOTIENT_OFFSET as u64);
            vec![active * y - relu * sign(top) * q.clone() - linear * q - out_b * b - out_c]
        });
        meta.create_gate("unit nonneg", |meta| {
            let nonneg = meta.query_fixed(fixed[13]);
            let top = meta.query_advice(quotient[QUOTIENT_DIGITS - 1], Rotation::cur());
            vec![nonneg * (Expression::Constant(F::ONE) - sign(top))]
        });

        if let Some(z) = z {
            meta.create_gate("unit remainder", |meta| {
                let active = meta.query_fixed(fixed[0]);
                let z = meta.query_advice(z, Rotation::cur());
                let r = combine(meta, &remainder);
                vec![active * (z - r)]
            });
        }

        UnitConfig {
            a,
            b,
            y,
            z,
            quotient,
            remainder,
            fixed,
        }
    }

    /// Wraps a configuration.
    pub fn construct(config: UnitConfig) -> Self {
        Self { config }
    }

    /// The lane's columns.
    pub fn config(&self) -> &UnitConfig {
        &self.config
    }

    /// Assigns one unit at `offset`: the fixed values of `kind` and the advice values of
    /// `witness` (unknown during key generation).
    pub fn assign<F: PrimeField>(
        &self,
        region: &mut Region<'_, F>,
        offset: usize,
        kind: &UnitKind,
        witness: Option<&UnitWitness>,
    ) -> Result<UnitCells<F>, Error> {
        let c = &self.config;
        for (&column, &value) in c.fixed.iter().zip(&FixedRow::new(kind).0) {
            if value != 0 {
                region.assign_fixed(
                    || "",
                    column,
                    offset,
                    || Value::known(to_field_wide::<F>(value)),
                )?;
            }
        }
        let advice = |region: &mut Region<'_, F>, column, value: Option<i64>| {
            let value = value.map_or(Value::unknown(), |v| Value::known(to_field::<F>(v)));
            region.assign_advice(|| "", column, offset, || value)
        };
        let a = advice(region, c.a, witness.map(|w| w.a))?;
        let b = advice(region, c.b, witness.map(|w| w.b))?;
        let y = advice(region, c.y, witness.map(|w| w.y))?;
        let z =
            c.z.map(|column| advice(region, column, witness.map(|w| w.z)))
                .transpose()?;
        for (i, &column) in c.quotient.iter().enumerate() {
            advice(region, column, witness.map(|w| w.quotient[i]))?;
        }
        for (j, &column) in c.remainder.iter().enumerate() {
            advice(region, column, witness.map(|w| w.remainder[j]))?;
        }
        Ok(UnitCells { a, b, y, z })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arith::{ACTIVATION_MAX, ACTIVATION_MIN};
    use crate::testing::assert_rejected_by;
    use halo2_proofs::{
        circuit::{Layouter, SimpleFloorPlanner},
        dev::{MockProver, VerifyFailure},
        plonk::Circuit,
    };
    use pasta_curves::Fp;

    /// One lane holding the given units, one per row.
    #[derive(Clone, Default)]
    struct Units(Vec<(UnitKind, UnitWitness)>);

    impl Circuit<Fp> for Units {
        type Config = UnitConfig;
        type FloorPlanner = SimpleFloorPlanner;
        fn without_witnesses(&self) -> Self {
            self.clone()
        }
        fn configure(meta: &mut ConstraintSystem<Fp>) -> UnitConfig {
            meta.set_minimum_degree(5);
            UnitChip::configure(meta, true)
        }
        fn synthesize(
            &self,
            config: UnitConfig,
            mut layouter: impl Layouter<Fp>,
        ) -> Result<(), Error> {
            let chip = UnitChip::construct(config);
            layouter.assign_region(
                || "units",
                |mut region| {
                    for (row, (kind, witness)) in self.0.iter().enumerate() {
                        chip.assign(&mut region, row, kind, Some(witness))?;
                    }
                    Ok(())
                },
            )
        }
    }

    fn check(units: Vec<(UnitKind, UnitWitness)>) -> Result<(), Vec<VerifyFailure>> {
        MockProver::run(8, &Units(units), vec![]).unwrap().verify()
    }

    fn honest(kind: UnitKind, a: i64, b: i64) -> (UnitKind, UnitWitness) {
        (kind, UnitWitness::honest(&kind, a, b).unwrap())
    }

    const RELU_4: UnitKind = UnitKind {
        mode: UnitMode::Rescale { shift: 4 },
        ca: 1,
        cb: 0,
        cab: 0,
        caa: 0,
        c0: 0,
        relu: 1,
        linear: 0,
        out_b: 0,
        out_c: 0,
        nonneg: false,
    };
    const PLAIN_7: UnitKind = UnitKind {
        mode: UnitMode::Rescale { shift: 7 },
        relu: 0,
        linear: 1,
        ..RELU_4
    };
    /// max(a, b) = relu(a − b) + b.
    const MAX: UnitKind = UnitKind {
        mode: UnitMode::Rescale { shift: 0 },
        cb: -1,
        out_b: 1,
        ..RELU_4
    };
    /// round((a·b + 3·a² − 5) / 2^3).
    const MUL: UnitKind = UnitKind {
        mode: UnitMode::Rescale { shift: 3 },
        ca: 0,
        cab: 1,
        caa: 3,
        c0: -5,
        ..PLAIN_7
    };
    /// floor(1000 / b).
    const RECIPROCAL: UnitKind = UnitKind {
        mode: UnitMode::Divide,
        ca: 0,
        c0: 1000,
        ..PLAIN_7
    };
    /// floor(sqrt(a)).
    const SQRT: UnitKind = UnitKind {
        mode: UnitMode::Sqrt,
        nonneg: true,
        ..PLAIN_7
    };
    /// Asserts b − a − 1 ≥ 0.
    const LESS: UnitKind = UnitKind {
        mode: UnitMode::Rescale { shift: 0 },
        ca: -1,
        cb: 1,
        c0: -1,
        nonneg: true,
        ..PLAIN_7
    };

    #[test]
    fn honest_units_pass_in_every_mode() {
        let mut units = Vec::new();
        for shift in [0, 1, 4, 7, MAX_SHIFT] {
            for relu in [false, true] {
                let kind = UnitKind::rescale(shift, relu);
                let scale = 1i64 << shift;
                for v in [
                    0,
                    1,
                    -1,
                    5 * scale + 3,
                    -(7 * scale) - 1,
                    ACTIVATION_MAX * scale,
                    ACTIVATION_MIN * scale,
                ] {
                    units.push(honest(kind, v, 0));
                }
            }
        }
        units.extend([
            honest(MAX, 5, -3),
            honest(MAX, -9, 4),
            honest(MUL, -7, 12),
            honest(RECIPROCAL, 0, 7),
            honest(RECIPROCAL, 0, 1000),
            honest(SQRT, 99, 0),
            honest(SQRT, 100, 0),
            honest(LESS, 3, 4),
        ]);
        assert!(units.len() < 256 - 8);
        assert_eq!(check(units), Ok(()));
    }

    #[test]
    fn honest_witness_matches_the_integer_semantics() {
        assert_eq!(UnitWitness::honest(&MAX, 5, -3).unwrap().y, 5);
        assert_eq!(UnitWitness::honest(&MAX, -9, 4).unwrap().y, 4);
        assert_eq!(
            UnitWitness::honest(&MUL, -7, 12).unwrap().y,
            (-84 + 147 - 5 + 4) >> 3
        );
        assert_eq!(UnitWitness::honest(&RECIPROCAL, 0, 7).unwrap().y, 142);
        assert_eq!(UnitWitness::honest(&SQRT, 99, 0).unwrap().y, 9);
        assert!(UnitWitness::honest(&LESS, 4, 4).is_err());
        for v in [-1000, -17, -8, 0, 7, 8, 1000] {
            let w = UnitWitness::honest(&RELU_4, v, 0).unwrap();
            let (q, _) = crate::arith::rescale(i128::from(v), 4);
            assert_eq!(i128::from(w.quotient()), q);
            assert_eq!(i128::from(w.y), q.max(0));
        }
    }

    #[test]
    fn changed_output_is_rejected() {
        let (kind, mut w) = honest(PLAIN_7, 1000, 0);
        w.y += 1;
        assert_rejected_by(&check(vec![(kind, w)]), &["unit output"]);
        let (kind, mut w) = honest(MAX, 5, -3);
        w.y = -3;
        assert_rejected_by(&check(vec![(kind, w)]), &["unit output"]);
    }

    #[test]
    fn flipped_relu_is_rejected() {
        // A negative quotient must become 0; claiming the ReLU passed it through fails.
        let (kind, mut w) = honest(RELU_4, -100, 0);
        assert_eq!(w.y, 0);
        w.y = w.quotient();
        assert_rejected_by(&check(vec![(kind, w)]), &["unit output"]);
        // And a positive quotient must not be zeroed.
        let (kind, mut w) = honest(RELU_4, 100, 0);
        w.y = 0;
        assert_rejected_by(&check(vec![(kind, w)]), &["unit output"]);
    }

    #[test]
    fn wrong_rescale_remainder_is_rejected() {
        let (kind, mut w) = honest(PLAIN_7, 1000, 0);
        // Change a digit the scaled remainder uses (bits 8–9 of r·2^(12−7)).
        w.remainder[4] = (w.remainder[4] + 2) % 4;
        w.z = crate::arith::from_digits(&w.remainder) as i64;
        assert_rejected_by(&check(vec![(kind, w)]), &["unit decompose"]);
    }

    #[test]
    fn quotient_off_by_one_with_compensating_remainder_is_rejected() {
        // Claim q − 1 with remainder r + 2^s: the integer identity holds, but the scaled remainder
        // (r + 2^s)·2^(12−s) = r·2^(12−s) + 2^12 no longer fits 6 base-4 digits, so some digit has
        // to leave 0..4.
        let (kind, mut w) = honest(PLAIN_7, 1000, 0);
        let q = w.quotient();
        w.quotient = digits(i128::from(q - 1 + QUOTIENT_OFFSET));
        w.y = q - 1;
        w.remainder[REMAINDER_DIGITS - 1] += 4; // + 4·4^5 = 2^12
        w.z = crate::arith::from_digits(&w.remainder) as i64;
        assert_rejected_by(&check(vec![(kind, w)]), &["unit digit"]);
    }

    #[test]
    fn out_of_range_quotient_is_rejected() {
        // The true quotient ACTIVATION_MAX + 1 has no 7-digit representation; encoding it with a
        // top digit of 4 satisfies the decomposition but not the digit check.
        let kind = UnitKind::rescale(0, false);
        let v = ACTIVATION_MAX + 1;
        let (_, mut w) = honest(kind, 0, 0);
        w.a = v;
        w.y = v;
        w.quotient = [0; QUOTIENT_DIGITS];
        w.quotient[QUOTIENT_DIGITS - 1] = 4; // 4·4^5 = 2^12 = v + 2^11
        assert_rejected_by(&check(vec![(kind, w)]), &["unit digit"]);
    }

    #[test]
    fn wrong_division_is_rejected() {
        // 1000 / 7: claiming 141 (remainder 13) breaks nothing in this unit alone — the remainder
        // check r < b is a separate unit — so claim 143 with remainder −1 instead.
        let (kind, mut w) = honest(RECIPROCAL, 0, 7);
        let q = w.quotient();
        w.quotient = digits(i128::from(q + 1 + QUOTIENT_OFFSET));
        w.y = q + 1;
        assert_rejected_by(&check(vec![(kind, w)]), &["unit decompose"]);
        // And the companion check rejects a remainder that is not below the divisor.
        let (kind, w) = honest(LESS, 3, 4);
        let mut bad = w.clone();
        bad.a = 4; // r = 4, b = 4: b − r − 1 = −1
        assert_rejected_by(&check(vec![(kind, bad)]), &["unit decompose"]);
    }

    #[test]
    fn negative_value_is_rejected_where_nonnegativity_is_asserted() {
        // b − a − 1 = −1 encoded honestly as a quotient of −1.
        let kind = LESS;
        let w = UnitWitness {
            a: 4,
            b: 4,
            y: -1,
            z: 0,
            quotient: digits(i128::from(-1 + QUOTIENT_OFFSET)),
            remainder: [0; REMAINDER_DIGITS],
        };
        assert_rejected_by(&check(vec![(kind, w)]), &["unit nonneg"]);
    }

    #[test]
    fn remainder_output_is_bound_to_the_digits() {
        let (kind, mut w) = honest(RECIPROCAL, 0, 7);
        assert_eq!(w.z, 1000 % 7);
        w.z += 1;
        assert_rejected_by(&check(vec![(kind, w)]), &["unit remainder"]);
    }

    #[test]
    fn wrong_square_root_is_rejected() {
        let (kind, mut w) = honest(SQRT, 99, 0);
        w.quotient = digits(i128::from(10 + QUOTIENT_OFFSET));
        w.y = 10;
        assert_rejected_by(&check(vec![(kind, w)]), &["unit decompose"]);
    }
}
