//! The rescale unit: rounding division by a power of two, a range check, and an optional ReLU,
//! all without lookup tables.
//!
//! A unit turns an accumulator `v` (at scale `2^(s_in + s_w)`) into an activation `y` (at scale
//! `2^s_out`), with `shift = s = s_in + s_w − s_out`:
//!
//! ```text
//! q = floor((v + half) / 2^s)        half = 2^(s−1) (0 when s = 0): round to nearest
//! y = relu ? max(q, 0) : q           q must lie in [−2^(Q−1), 2^(Q−1))
//! ```
//!
//! with `Q = ACTIVATION_BITS` and `R = MAX_SHIFT`. The prover supplies `Q` quotient bits `b_i` and
//! `R` remainder bits `r_j`; with `scale = 2^(R−s)` (fixed) the gates are
//!
//! | gate               | constraint                                                          |
//! |--------------------|---------------------------------------------------------------------|
//! | `rescale decompose`| `scale·(v + half) + active·2^(R+Q−1) = active·(Σ_i 2^(R+i)·b_i + Σ_j 2^j·r_j)` |
//! | `rescale q bit`    | `active·b_i·(1 − b_i) = 0` for every `i`                            |
//! | `rescale r bit`    | `active·r_j·(1 − r_j) = 0` for every `j`                            |
//! | `rescale output`   | `active·y = relu·b_(Q−1)·q + (active − relu)·q`, `q = Σ_i 2^i·b_i − 2^(Q−1)` |
//!
//! Columns: `v`, `y` (advice, equality on), `b_0..b_(Q−1)`, `r_0..r_(R−1)` (advice), and `active`,
//! `scale`, `scaled_half = scale·half`, `relu` (fixed).
//!
//! Why it is sound: the bits make the right-hand side of `rescale decompose` an integer in
//! `[0, 2^(Q+R))`, i.e. `q ∈ [−2^(Q−1), 2^(Q−1))` and `r = Σ 2^j r_j ∈ [0, 2^R)`. The left-hand side
//! is `(v + half)·2^(R−s)`, an integer far below half the field size (the compiler bounds `|v|` by
//! [`MAX_ACCUMULATOR`](crate::arith::MAX_ACCUMULATOR)), so the field equation is an integer
//! equation: `(v + half)·2^(R−s) = q·2^R + r` with `0 ≤ r < 2^R`, whose only solution is
//! `q = floor((v + half)/2^s)` (and `r` the remainder times `2^(R−s)`). The top bit of `q + 2^(Q−1)`
//! is 1 exactly when `q ≥ 0`, which is what the ReLU selects on. Scaling the remainder instead of
//! masking bits lets one set of `R` bit columns serve every shift.

use ff::PrimeField;
use halo2_proofs::{
    circuit::{AssignedCell, Region, Value},
    plonk::{Advice, Column, ConstraintSystem, Error, Expression, Fixed},
    poly::Rotation,
};

use crate::arith::{rescale, rounding_half, to_field, ACTIVATION_BITS, MAX_SHIFT};

const Q: usize = ACTIVATION_BITS as usize;
const R: usize = MAX_SHIFT as usize;

/// Advice columns of one lane: input, output and the bits.
pub const ADVICE_COLUMNS: usize = 2 + Q + R;
/// Fixed columns of one lane.
pub const FIXED_COLUMNS: usize = 4;

/// Columns of one rescale lane.
#[derive(Clone, Debug)]
pub struct RescaleConfig {
    /// The accumulator to rescale (equality on).
    pub input: Column<Advice>,
    /// The resulting activation (equality on).
    pub output: Column<Advice>,
    /// Bits of `q + 2^(Q−1)`, least significant first.
    pub quotient_bits: Vec<Column<Advice>>,
    /// Bits of the remainder scaled to `R` bits, least significant first.
    pub remainder_bits: Vec<Column<Advice>>,
    /// 1 where the unit is used.
    pub active: Column<Fixed>,
    /// `2^(R − shift)` where active.
    pub scale: Column<Fixed>,
    /// `2^(R − shift) · half` where active.
    pub scaled_half: Column<Fixed>,
    /// 1 where the unit applies a ReLU.
    pub relu: Column<Fixed>,
}

/// What one unit does: its shift and whether it applies a ReLU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RescaleOp {
    /// Right shift in bits, at most [`MAX_SHIFT`].
    pub shift: u32,
    /// Whether a ReLU follows the rescale.
    pub relu: bool,
}

/// The advice values of one unit. Honest values come from [`UnitWitness::honest`]; tests build
/// corrupted ones by editing the fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitWitness {
    /// The accumulator.
    pub input: i64,
    /// The activation.
    pub output: i64,
    /// Bits of `q + 2^(Q−1)` (each honestly 0 or 1).
    pub quotient_bits: [i64; Q],
    /// Bits of the scaled remainder (each honestly 0 or 1).
    pub remainder_bits: [i64; R],
}

impl UnitWitness {
    /// The honest witness for rescaling `input`. The caller must have checked that the quotient
    /// is in the activation range; outside it, the bits cannot represent it and the circuit
    /// rejects the witness.
    pub fn honest(input: i64, op: RescaleOp) -> Self {
        let (quotient, remainder) = rescale(input, op.shift);
        let output = if op.relu { quotient.max(0) } else { quotient };
        let biased = quotient + (1 << (Q - 1));
        let scaled_remainder = remainder << (R as u32 - op.shift);
        Self {
            input,
            output,
            quotient_bits: std::array::from_fn(|i| (biased >> i) & 1),
            remainder_bits: std::array::from_fn(|j| (scaled_remainder >> j) & 1),
        }
    }

    /// The quotient the bits encode.
    pub fn quotient(&self) -> i64 {
        self.quotient_bits
            .iter()
            .enumerate()
            .map(|(i, b)| b << i)
            .sum::<i64>()
            - (1 << (Q - 1))
    }
}

/// The assigned cells of one unit that other chips connect to.
#[derive(Clone, Debug)]
pub struct UnitCells<F: PrimeField> {
    /// The accumulator cell.
    pub input: AssignedCell<F, F>,
    /// The activation cell.
    pub output: AssignedCell<F, F>,
}

/// One rescale lane.
#[derive(Clone, Debug)]
pub struct RescaleChip {
    config: RescaleConfig,
}

impl RescaleChip {
    /// Allocates a lane's columns and gates.
    pub fn configure<F: PrimeField>(meta: &mut ConstraintSystem<F>) -> RescaleConfig {
        let input = meta.advice_column();
        let output = meta.advice_column();
        let quotient_bits: Vec<_> = (0..Q).map(|_| meta.advice_column()).collect();
        let remainder_bits: Vec<_> = (0..R).map(|_| meta.advice_column()).collect();
        let active = meta.fixed_column();
        let scale = meta.fixed_column();
        let scaled_half = meta.fixed_column();
        let relu = meta.fixed_column();
        meta.enable_equality(input);
        meta.enable_equality(output);

        let pow2 = |e: usize| F::from(2).pow_vartime([e as u64]);
        let sum = |terms: Vec<Expression<F>>| {
            terms
                .into_iter()
                .fold(Expression::Constant(F::ZERO), |a, b| a + b)
        };

        meta.create_gate("rescale decompose", |meta| {
            let active = meta.query_fixed(active);
            let scale = meta.query_fixed(scale);
            let scaled_half = meta.query_fixed(scaled_half);
            let v = meta.query_advice(input, Rotation::cur());
            let mut terms: Vec<Expression<F>> = quotient_bits
                .iter()
                .enumerate()
                .map(|(i, &c)| meta.query_advice(c, Rotation::cur()) * pow2(R + i))
                .collect();
            terms.extend(
                remainder_bits
                    .iter()
                    .enumerate()
                    .map(|(j, &c)| meta.query_advice(c, Rotation::cur()) * pow2(j)),
            );
            let bits = sum(terms);
            let offset = active.clone() * pow2(R + Q - 1);
            vec![scale * v + scaled_half + offset - active * bits]
        });

        let boolean =
            |meta: &mut ConstraintSystem<F>, name: &'static str, cols: &[Column<Advice>]| {
                let cols = cols.to_vec();
                meta.create_gate(name, move |meta| {
                    let active = meta.query_fixed(active);
                    cols.iter()
                        .map(|&c| {
                            let b = meta.query_advice(c, Rotation::cur());
                            active.clone() * b.clone() * (Expression::Constant(F::ONE) - b)
                        })
                        .collect::<Vec<_>>()
                });
            };
        boolean(meta, "rescale q bit", &quotient_bits);
        boolean(meta, "rescale r bit", &remainder_bits);

        meta.create_gate("rescale output", |meta| {
            let active = meta.query_fixed(active);
            let relu = meta.query_fixed(relu);
            let y = meta.query_advice(output, Rotation::cur());
            let bits: Vec<_> = quotient_bits
                .iter()
                .map(|&c| meta.query_advice(c, Rotation::cur()))
                .collect();
            let sign = bits[Q - 1].clone();
            let q = sum(bits
                .into_iter()
                .enumerate()
                .map(|(i, b)| b * pow2(i))
                .collect())
                - Expression::Constant(pow2(Q - 1));
            vec![active.clone() * y - relu.clone() * sign * q.clone() - (active - relu) * q]
        });

        RescaleConfig {
            input,
            output,
            quotient_bits,
            remainder_bits,
            active,
            scale,
            scaled_half,
            relu,
        }
    }

    /// Wraps a configuration.
    pub fn construct(config: RescaleConfig) -> Self {
        Self { config }
    }

    /// The lane's columns.
    pub fn config(&self) -> &RescaleConfig {
        &self.config
    }

    /// Assigns one unit at `offset`: the fixed values of `op` and the advice values of
    /// `witness` (unknown during key generation).
    pub fn assign<F: PrimeField>(
        &self,
        region: &mut Region<'_, F>,
        offset: usize,
        op: RescaleOp,
        witness: Option<&UnitWitness>,
    ) -> Result<UnitCells<F>, Error> {
        let c = &self.config;
        let fixed = |region: &mut Region<'_, F>, column, value: F| {
            region
                .assign_fixed(|| "", column, offset, || Value::known(value))
                .map(|_| ())
        };
        let scale = 1i64 << (MAX_SHIFT - op.shift);
        fixed(region, c.active, F::ONE)?;
        fixed(region, c.scale, to_field(scale))?;
        fixed(
            region,
            c.scaled_half,
            to_field(scale * rounding_half(op.shift)),
        )?;
        if op.relu {
            fixed(region, c.relu, F::ONE)?;
        }

        let advice = |region: &mut Region<'_, F>, column, value: Option<i64>| {
            let value = match value {
                Some(v) => Value::known(to_field::<F>(v)),
                None => Value::unknown(),
            };
            region.assign_advice(|| "", column, offset, || value)
        };
        let input = advice(region, c.input, witness.map(|w| w.input))?;
        let output = advice(region, c.output, witness.map(|w| w.output))?;
        for (i, &column) in c.quotient_bits.iter().enumerate() {
            advice(region, column, witness.map(|w| w.quotient_bits[i]))?;
        }
        for (j, &column) in c.remainder_bits.iter().enumerate() {
            advice(region, column, witness.map(|w| w.remainder_bits[j]))?;
        }
        Ok(UnitCells { input, output })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arith::{ACTIVATION_MAX, ACTIVATION_MIN};
    use crate::testing::assert_rejected_by;
    use halo2_proofs::{
        circuit::{Layouter, SimpleFloorPlanner},
        dev::MockProver,
        plonk::Circuit,
    };
    use pasta_curves::Fp;

    /// One lane holding the given units, one per row.
    #[derive(Clone, Default)]
    struct Units(Vec<(RescaleOp, UnitWitness)>);

    impl Circuit<Fp> for Units {
        type Config = RescaleConfig;
        type FloorPlanner = SimpleFloorPlanner;
        fn without_witnesses(&self) -> Self {
            self.clone()
        }
        fn configure(meta: &mut ConstraintSystem<Fp>) -> RescaleConfig {
            RescaleChip::configure(meta)
        }
        fn synthesize(
            &self,
            config: RescaleConfig,
            mut layouter: impl Layouter<Fp>,
        ) -> Result<(), Error> {
            let chip = RescaleChip::construct(config);
            layouter.assign_region(
                || "units",
                |mut region| {
                    for (row, (op, witness)) in self.0.iter().enumerate() {
                        chip.assign(&mut region, row, *op, Some(witness))?;
                    }
                    Ok(())
                },
            )
        }
    }

    fn check(
        units: Vec<(RescaleOp, UnitWitness)>,
    ) -> Result<(), Vec<halo2_proofs::dev::VerifyFailure>> {
        MockProver::run(7, &Units(units), vec![]).unwrap().verify()
    }

    const RELU_4: RescaleOp = RescaleOp {
        shift: 4,
        relu: true,
    };
    const PLAIN_7: RescaleOp = RescaleOp {
        shift: 7,
        relu: false,
    };

    #[test]
    fn honest_units_pass() {
        let mut units = Vec::new();
        for shift in [0, 1, 4, 7, MAX_SHIFT] {
            for relu in [false, true] {
                let op = RescaleOp { shift, relu };
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
                    units.push((op, UnitWitness::honest(v, op)));
                }
            }
        }
        assert!(units.len() < 128 - 6);
        assert_eq!(check(units), Ok(()));
    }

    #[test]
    fn honest_witness_matches_integer_semantics() {
        for v in [-1000, -17, -8, 0, 7, 8, 1000] {
            let w = UnitWitness::honest(v, RELU_4);
            let (q, _) = rescale(v, 4);
            assert_eq!(w.quotient(), q);
            assert_eq!(w.output, q.max(0));
        }
    }

    #[test]
    fn changed_output_is_rejected() {
        let mut w = UnitWitness::honest(1000, PLAIN_7);
        w.output += 1;
        assert_rejected_by(&check(vec![(PLAIN_7, w)]), &["rescale output"]);
    }

    #[test]
    fn flipped_relu_is_rejected() {
        // A negative quotient must become 0; claiming the ReLU passed it through fails.
        let mut w = UnitWitness::honest(-100, RELU_4);
        assert_eq!(w.output, 0);
        w.output = w.quotient();
        assert_rejected_by(&check(vec![(RELU_4, w)]), &["rescale output"]);
        // And a positive quotient must not be zeroed.
        let mut w = UnitWitness::honest(100, RELU_4);
        w.output = 0;
        assert_rejected_by(&check(vec![(RELU_4, w)]), &["rescale output"]);
    }

    #[test]
    fn wrong_remainder_is_rejected() {
        let mut w = UnitWitness::honest(1000, PLAIN_7);
        // Flip the lowest remainder bit that the shift uses.
        let lowest = (MAX_SHIFT - PLAIN_7.shift) as usize;
        w.remainder_bits[lowest] ^= 1;
        assert_rejected_by(&check(vec![(PLAIN_7, w)]), &["rescale decompose"]);
    }

    #[test]
    fn quotient_off_by_one_with_compensating_remainder_is_rejected() {
        // Claim q − 1 with remainder r + 2^s: the integer identity still holds, but the scaled
        // remainder (r + 2^s)·2^(R−s) = r·2^(R−s) + 2^R no longer fits R bits, so the cheat has
        // to put a non-boolean value in a remainder bit.
        let op = PLAIN_7;
        let mut w = UnitWitness::honest(1000, op);
        let cheat = UnitWitness::honest((w.quotient() - 1) << op.shift, op);
        w.quotient_bits = cheat.quotient_bits;
        w.output = cheat.output;
        w.remainder_bits[R - 1] += 2; // + 2·2^(R−1) = 2^R
        assert_rejected_by(&check(vec![(op, w)]), &["rescale r bit"]);
    }

    #[test]
    fn out_of_range_quotient_is_rejected() {
        // The true quotient ACTIVATION_MAX + 1 has no Q-bit representation; encoding it with a
        // non-boolean top bit satisfies decomposition but not the bit check.
        let op = RescaleOp {
            shift: 0,
            relu: false,
        };
        let v = ACTIVATION_MAX + 1;
        let mut w = UnitWitness::honest(0, op);
        w.input = v;
        w.output = v;
        let biased = v + (1 << (Q - 1)); // = 2^Q
        w.quotient_bits = [0; Q];
        w.quotient_bits[Q - 1] = biased >> (Q - 1); // = 2, not a bit
        assert_rejected_by(&check(vec![(op, w)]), &["rescale q bit"]);
    }

    #[test]
    fn non_boolean_remainder_bit_is_rejected() {
        let op = PLAIN_7;
        let mut w = UnitWitness::honest(1000, op);
        // Move weight between two remainder bits: 2·2^j + 0 = 0 + 1·2^(j+1).
        let j = (MAX_SHIFT - op.shift) as usize;
        if w.remainder_bits[j + 1] == 1 {
            w.remainder_bits[j + 1] = 0;
            w.remainder_bits[j] += 2;
        } else {
            w.remainder_bits[j + 1] = 1;
            w.remainder_bits[j] -= 2;
        }
        assert_rejected_by(&check(vec![(op, w)]), &["rescale r bit"]);
    }
}
