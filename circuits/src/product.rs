//! The product chip: dot products of two activations (MatMul between tensors, e.g. attention).
//!
//! A row holds `T` pairs `(a_i, b_i)` and an accumulator (advice, equality on); fixed columns
//! mark the row active, chained to the previous row, and which pairs are used:
//!
//! ```text
//! product mac:  active·acc(cur) − chain·acc(prev) − Σ_i used_i·a_i·b_i = 0
//! ```
//!
//! A dot product longer than `T` chains rows. Unused pairs are masked by fixed zeros, so the
//! prover cannot slip extra terms in.

use ff::PrimeField;
use halo2_proofs::{
    circuit::{AssignedCell, Region, Value},
    plonk::{Advice, Column, ConstraintSystem, Error, Expression, Fixed},
    poly::Rotation,
};

use crate::arith::to_field;

/// Columns of the product chip.
#[derive(Clone, Debug)]
pub struct ProductConfig {
    /// First factors.
    pub a: Vec<Column<Advice>>,
    /// Second factors.
    pub b: Vec<Column<Advice>>,
    /// Running sum.
    pub acc: Column<Advice>,
    /// 1 on active rows.
    pub active: Column<Fixed>,
    /// 1 where the row continues the previous row's sum.
    pub chain: Column<Fixed>,
    /// 1 for each pair in use.
    pub used: Vec<Column<Fixed>>,
}

/// The values of one product row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProductRow {
    /// First factors (at most `T`).
    pub a: Vec<i64>,
    /// Second factors (same length as `a`).
    pub b: Vec<i64>,
    /// The running sum after this row.
    pub acc: i64,
}

/// Assigned cells of one row.
#[derive(Clone, Debug)]
pub struct ProductCells<F: PrimeField> {
    /// First factors.
    pub a: Vec<AssignedCell<F, F>>,
    /// Second factors.
    pub b: Vec<AssignedCell<F, F>>,
    /// Running sum.
    pub acc: AssignedCell<F, F>,
}

/// The product chip.
#[derive(Clone, Debug)]
pub struct ProductChip {
    config: ProductConfig,
}

impl ProductChip {
    /// Allocates `terms` pairs per row and the gate.
    pub fn configure<F: PrimeField>(meta: &mut ConstraintSystem<F>, terms: usize) -> ProductConfig {
        let a: Vec<_> = (0..terms).map(|_| meta.advice_column()).collect();
        let b: Vec<_> = (0..terms).map(|_| meta.advice_column()).collect();
        let acc = meta.advice_column();
        let active = meta.fixed_column();
        let chain = meta.fixed_column();
        let used: Vec<_> = (0..terms).map(|_| meta.fixed_column()).collect();
        for &c in a.iter().chain(&b).chain([&acc]) {
            meta.enable_equality(c);
        }
        meta.create_gate("product mac", |meta| {
            let active = meta.query_fixed(active);
            let chain = meta.query_fixed(chain);
            let cur = meta.query_advice(acc, Rotation::cur());
            let prev = meta.query_advice(acc, Rotation::prev());
            let sum = (0..terms).fold(Expression::Constant(F::ZERO), |s, i| {
                s + meta.query_fixed(used[i])
                    * meta.query_advice(a[i], Rotation::cur())
                    * meta.query_advice(b[i], Rotation::cur())
            });
            vec![active * cur - chain * prev - sum]
        });
        ProductConfig {
            a,
            b,
            acc,
            active,
            chain,
            used,
        }
    }

    /// Wraps a configuration.
    pub fn construct(config: ProductConfig) -> Self {
        Self { config }
    }

    /// Assigns one row: `pairs` pairs in use, chained to the previous row if `chain`.
    pub fn assign_row<F: PrimeField>(
        &self,
        region: &mut Region<'_, F>,
        offset: usize,
        pairs: usize,
        chain: bool,
        values: Option<&ProductRow>,
    ) -> Result<ProductCells<F>, Error> {
        let c = &self.config;
        let one = || Value::known(F::ONE);
        region.assign_fixed(|| "", c.active, offset, one)?;
        if chain {
            region.assign_fixed(|| "", c.chain, offset, one)?;
        }
        for &used in &c.used[..pairs] {
            region.assign_fixed(|| "", used, offset, one)?;
        }
        let advice = |region: &mut Region<'_, F>, column, value: Option<i64>| {
            let value = value.map_or(Value::unknown(), |v| Value::known(to_field::<F>(v)));
            region.assign_advice(|| "", column, offset, || value)
        };
        let factor =
            |values: Option<&Vec<i64>>, i: usize| values.map(|v| v.get(i).copied().unwrap_or(0));
        let a = (0..pairs)
            .map(|i| advice(region, c.a[i], factor(values.map(|v| &v.a), i)))
            .collect::<Result<Vec<_>, _>>()?;
        let b = (0..pairs)
            .map(|i| advice(region, c.b[i], factor(values.map(|v| &v.b), i)))
            .collect::<Result<Vec<_>, _>>()?;
        let acc = advice(region, c.acc, values.map(|v| v.acc))?;
        Ok(ProductCells { a, b, acc })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::assert_rejected_by;
    use halo2_proofs::{
        circuit::{Layouter, SimpleFloorPlanner},
        dev::{MockProver, VerifyFailure},
        plonk::Circuit,
    };
    use pasta_curves::Fp;

    const T: usize = 3;

    /// `Σ a_i·b_i` over 5 pairs: two chained rows (3 + 2 pairs).
    #[derive(Clone)]
    struct Dot(Vec<ProductRow>);

    impl Dot {
        fn honest() -> Self {
            let (a, b) = ([3i64, -1, 4, 1, -5], [9i64, 2, -6, 5, 3]);
            let first = 3 * 9 - 2 - 24;
            Dot(vec![
                ProductRow {
                    a: a[..3].to_vec(),
                    b: b[..3].to_vec(),
                    acc: first,
                },
                ProductRow {
                    a: a[3..].to_vec(),
                    b: b[3..].to_vec(),
                    acc: first + 5 - 15,
                },
            ])
        }
    }

    impl Circuit<Fp> for Dot {
        type Config = ProductConfig;
        type FloorPlanner = SimpleFloorPlanner;
        fn without_witnesses(&self) -> Self {
            self.clone()
        }
        fn configure(meta: &mut ConstraintSystem<Fp>) -> ProductConfig {
            ProductChip::configure(meta, T)
        }
        fn synthesize(
            &self,
            config: ProductConfig,
            mut layouter: impl Layouter<Fp>,
        ) -> Result<(), Error> {
            let chip = ProductChip::construct(config);
            layouter.assign_region(
                || "dot",
                |mut region| {
                    for (i, row) in self.0.iter().enumerate() {
                        chip.assign_row(&mut region, 1 + i, row.a.len(), i > 0, Some(row))?;
                    }
                    Ok(())
                },
            )
        }
    }

    fn check(dot: &Dot) -> Result<(), Vec<VerifyFailure>> {
        MockProver::run(4, dot, vec![]).unwrap().verify()
    }

    #[test]
    fn honest_dot_product_passes() {
        assert_eq!(check(&Dot::honest()), Ok(()));
    }

    #[test]
    fn changed_output_is_rejected() {
        let mut dot = Dot::honest();
        dot.0[1].acc += 1;
        assert_rejected_by(&check(&dot), &["product mac"]);
    }

    #[test]
    fn changed_intermediate_sum_or_factor_is_rejected() {
        let mut dot = Dot::honest();
        dot.0[0].acc -= 2;
        assert_rejected_by(&check(&dot), &["product mac"]);
        let mut dot = Dot::honest();
        dot.0[1].b[0] += 1;
        assert_rejected_by(&check(&dot), &["product mac"]);
    }
}
