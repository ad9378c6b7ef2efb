//! Lookup lanes: `y = f(x)` for functions tabulated in fixed lookup tables.
//!
//! The table has three columns `(tag, x, f_tag(x))`; row 0 is `(0, 0, 0)` and each function of
//! the network ([`FunctionTable`]) follows with its own tag (its index + 1) over its domain.
//! A lane row holds `x`, `y` (advice, equality on) and the tag of the function (fixed); the
//! lookup checks
//!
//! ```text
//! (tag, active·x, active·y) ∈ table
//! ```
//!
//! so on active rows `y = f_tag(x)` with `x` in the function's domain, and inactive rows look up
//! `(0, 0, 0)`. The table is fixed, so the verifying key binds every function. Its size (the sum
//! of the domains, plus one) must fit in the circuit's usable rows.

use ff::PrimeField;
use halo2_proofs::{
    circuit::{AssignedCell, Layouter, Region, Value},
    plonk::{Advice, Column, ConstraintSystem, Error, Fixed, TableColumn},
    poly::Rotation,
};

use crate::arith::to_field;
use crate::ops::FunctionTable;

/// Columns of the lookup table.
#[derive(Clone, Copy, Debug)]
pub struct TableColumns {
    tag: TableColumn,
    x: TableColumn,
    y: TableColumn,
}

/// Columns of one lookup lane.
#[derive(Clone, Debug)]
pub struct LookupConfig {
    /// Function input (equality on).
    pub x: Column<Advice>,
    /// Function output (equality on).
    pub y: Column<Advice>,
    /// 1 on active rows.
    pub active: Column<Fixed>,
    /// The function's tag on active rows.
    pub tag: Column<Fixed>,
}

/// Allocates the table columns shared by all lanes.
pub fn configure_table<F: PrimeField>(meta: &mut ConstraintSystem<F>) -> TableColumns {
    TableColumns {
        tag: meta.lookup_table_column(),
        x: meta.lookup_table_column(),
        y: meta.lookup_table_column(),
    }
}

/// Number of table rows the functions need.
pub fn table_rows(functions: &[FunctionTable]) -> usize {
    1 + functions.iter().map(|f| f.values.len()).sum::<usize>()
}

/// Fills the table with the network's functions.
pub fn load_table<F: PrimeField>(
    layouter: &mut impl Layouter<F>,
    columns: TableColumns,
    functions: &[FunctionTable],
) -> Result<(), Error> {
    layouter.assign_table(
        || "functions",
        |mut table| {
            let mut row = 0;
            let mut put = |tag: u64, x: i64, y: i64| -> Result<(), Error> {
                table.assign_cell(|| "", columns.tag, row, || Value::known(F::from(tag)))?;
                table.assign_cell(|| "", columns.x, row, || Value::known(to_field::<F>(x)))?;
                table.assign_cell(|| "", columns.y, row, || Value::known(to_field::<F>(y)))?;
                row += 1;
                Ok(())
            };
            put(0, 0, 0)?;
            for (index, function) in functions.iter().enumerate() {
                for (i, &y) in function.values.iter().enumerate() {
                    put(index as u64 + 1, function.lo.saturating_add(i as i64), y)?;
                }
            }
            Ok(())
        },
    )
}

/// The input and output cells of one lookup.
pub type LookupCells<F> = (AssignedCell<F, F>, AssignedCell<F, F>);

/// One lookup lane.
#[derive(Clone, Debug)]
pub struct LookupChip {
    config: LookupConfig,
}

impl LookupChip {
    /// Allocates a lane and its lookup into `table`.
    pub fn configure<F: PrimeField>(
        meta: &mut ConstraintSystem<F>,
        table: TableColumns,
    ) -> LookupConfig {
        let x = meta.advice_column();
        let y = meta.advice_column();
        let active = meta.fixed_column();
        let tag = meta.fixed_column();
        meta.enable_equality(x);
        meta.enable_equality(y);
        meta.lookup(|meta| {
            let active = meta.query_fixed(active);
            let tag = meta.query_fixed(tag);
            let x = meta.query_advice(x, Rotation::cur());
            let y = meta.query_advice(y, Rotation::cur());
            vec![
                (tag, table.tag),
                (active.clone() * x, table.x),
                (active * y, table.y),
            ]
        });
        LookupConfig { x, y, active, tag }
    }

    /// Wraps a configuration.
    pub fn construct(config: LookupConfig) -> Self {
        Self { config }
    }

    /// Assigns `y = f(x)` for function number `function` at `offset`.
    pub fn assign<F: PrimeField>(
        &self,
        region: &mut Region<'_, F>,
        offset: usize,
        function: usize,
        values: Option<(i64, i64)>,
    ) -> Result<LookupCells<F>, Error> {
        let c = &self.config;
        region.assign_fixed(|| "", c.active, offset, || Value::known(F::ONE))?;
        region.assign_fixed(
            || "",
            c.tag,
            offset,
            || Value::known(F::from(function as u64 + 1)),
        )?;
        let cell = |v: Option<i64>| v.map_or(Value::unknown(), |v| Value::known(to_field::<F>(v)));
        let x = region.assign_advice(|| "", c.x, offset, || cell(values.map(|v| v.0)))?;
        let y = region.assign_advice(|| "", c.y, offset, || cell(values.map(|v| v.1)))?;
        Ok((x, y))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::assert_rejected_by;
    use halo2_proofs::{
        circuit::SimpleFloorPlanner,
        dev::{MockProver, VerifyFailure},
        plonk::Circuit,
    };
    use pasta_curves::Fp;

    fn functions() -> Vec<FunctionTable> {
        vec![
            FunctionTable {
                name: "square".into(),
                lo: -4,
                values: (-4i64..=4).map(|x| x * x).collect(),
            },
            FunctionTable {
                name: "negate".into(),
                lo: 0,
                values: (0i64..8).map(|x| -x).collect(),
            },
        ]
    }

    #[derive(Clone)]
    struct Lookups(Vec<(usize, i64, i64)>);

    #[derive(Clone, Debug)]
    struct Config {
        table: TableColumns,
        lane: LookupConfig,
    }

    impl Circuit<Fp> for Lookups {
        type Config = Config;
        type FloorPlanner = SimpleFloorPlanner;
        fn without_witnesses(&self) -> Self {
            self.clone()
        }
        fn configure(meta: &mut ConstraintSystem<Fp>) -> Config {
            let table = configure_table(meta);
            let lane = LookupChip::configure(meta, table);
            Config { table, lane }
        }
        fn synthesize(&self, config: Config, mut layouter: impl Layouter<Fp>) -> Result<(), Error> {
            load_table(&mut layouter, config.table, &functions())?;
            let chip = LookupChip::construct(config.lane);
            layouter.assign_region(
                || "lookups",
                |mut region| {
                    for (row, &(f, x, y)) in self.0.iter().enumerate() {
                        chip.assign(&mut region, row, f, Some((x, y)))?;
                    }
                    Ok(())
                },
            )
        }
    }

    fn check(rows: Vec<(usize, i64, i64)>) -> Result<(), Vec<VerifyFailure>> {
        MockProver::run(5, &Lookups(rows), vec![]).unwrap().verify()
    }

    #[test]
    fn honest_lookups_pass() {
        assert_eq!(
            check(vec![(0, -3, 9), (0, 4, 16), (1, 5, -5), (0, 0, 0)]),
            Ok(())
        );
    }

    #[test]
    fn wrong_output_is_rejected() {
        assert_rejected_by(&check(vec![(0, -3, 9), (0, 2, 5)]), &["lookup"]);
    }

    #[test]
    fn output_of_another_function_is_rejected() {
        // (5, −5) is in the table, but under the tag of "negate", not "square".
        assert_rejected_by(&check(vec![(0, 5, -5)]), &["lookup"]);
    }

    #[test]
    fn input_outside_the_domain_is_rejected() {
        assert_rejected_by(&check(vec![(0, 5, 25)]), &["lookup"]);
    }
}
