//! The dense tile: many multiply-accumulates per row, with the weights in fixed columns.
//!
//! A row holds `I` activations `x_i` (advice), `O` accumulators `acc_j` (advice) and the `O × I`
//! weights `w_ji` of that tile of the weight matrix (fixed). One gate, `dense mac`, relates a row to
//! the previous one:
//!
//! | column      | kind   | meaning                                                     |
//! |-------------|--------|-------------------------------------------------------------|
//! | `x_i`       | advice | the activations of this row's input chunk (equality on)     |
//! | `acc_j`     | advice | running dot product of output `j` (equality on)             |
//! | `w_ji`      | fixed  | weight of output `j`, input `i`, plus `K = 2^15` on active rows |
//! | `bias_j`    | fixed  | bias of output `j` on the first row of a chain, else 0      |
//! | `active`    | fixed  | 1 on rows that hold a tile, else 0                          |
//! | `chain`     | fixed  | 1 if the row continues the previous row's dot products      |
//!
//! ```text
//! dense mac (for every j):
//!     active·acc_j(cur) − chain·acc_j(prev) − bias_j − Σ_i (w_ji − K·active)·x_i(cur) = 0
//! ```
//!
//! Every term is a product of one fixed and one advice value, so the gate has degree 2 and costs
//! nothing in the quotient degree. On inactive rows every fixed value is zero and the gate is
//! trivially satisfied. A dot product longer than `I` is a chain of rows over consecutive input
//! chunks; the verifying key commits to the weights, so it binds the model.

use ff::PrimeField;
use halo2_proofs::{
    circuit::{AssignedCell, Region, Value},
    plonk::{Advice, Column, ConstraintSystem, Error, Expression, Fixed},
    poly::Rotation,
};

use crate::arith::to_field;

/// Added to every weight stored on an active row, so that the fixed columns hold small
/// non-negative numbers: committing to them (key generation) is several times cheaper than to
/// the full-width field elements negative weights would be. The gate subtracts it again.
pub const WEIGHT_OFFSET: i64 = 1 << 15;

/// Columns of the dense tile.
#[derive(Clone, Debug)]
pub struct DenseConfig {
    /// Activation inputs, one per tile input.
    pub inputs: Vec<Column<Advice>>,
    /// Running accumulators, one per tile output.
    pub accumulators: Vec<Column<Advice>>,
    /// `weights[j][i]`: the weight from tile input `i` to tile output `j`.
    pub weights: Vec<Vec<Column<Fixed>>>,
    /// Bias added on the first row of a chain.
    pub bias: Vec<Column<Fixed>>,
    /// 1 where a tile row is active.
    pub active: Column<Fixed>,
    /// 1 where a row continues the chain of the row above it.
    pub chain: Column<Fixed>,
}

/// The values of one tile row.
#[derive(Clone, Debug)]
pub struct TileRow<'a> {
    /// The weight block: `weights[j][i]`, at most `O × I`; missing entries are zero.
    pub weights: &'a [&'a [i64]],
    /// Bias per output (only on the first row of a chain); missing entries are zero.
    pub bias: &'a [i64],
    /// Whether this row continues the chain of the previous row.
    pub chain: bool,
    /// The activations of this row (at most `I`); missing entries are assigned zero.
    pub inputs: &'a [Value<i64>],
    /// The accumulator values after this row (at most `O`); missing entries are assigned zero.
    pub accumulators: &'a [Value<i64>],
}

/// The cells of one assigned tile row.
#[derive(Clone, Debug)]
pub struct TileRowCells<F: PrimeField> {
    /// Input cells, one per tile input (padding included).
    pub inputs: Vec<AssignedCell<F, F>>,
    /// Accumulator cells, one per tile output (padding included).
    pub accumulators: Vec<AssignedCell<F, F>>,
}

/// Field elements of the integers a tile's weight cells hold (`w + K`), converted once per
/// operator.
struct FieldCache<F> {
    /// `to_field(v)` at `v − (K − CACHED / 2)` for `|v − K| < CACHED / 2`, filled on first use.
    values: Vec<Option<F>>,
}

/// Cached values around [`WEIGHT_OFFSET`]: every weight of up to 14 bits (the default).
const CACHED: i64 = 1 << 14;

impl<F: PrimeField> Default for FieldCache<F> {
    fn default() -> Self {
        Self { values: Vec::new() }
    }
}

impl<F: PrimeField> FieldCache<F> {
    fn get(&mut self, value: i64) -> F {
        let index = value - (WEIGHT_OFFSET - CACHED / 2);
        if !(0..CACHED).contains(&index) {
            return to_field(value);
        }
        if self.values.is_empty() {
            self.values = vec![None; CACHED as usize];
        }
        *self.values[index as usize].get_or_insert_with(|| to_field(value))
    }
}

/// The dense tile chip.
#[derive(Clone, Debug)]
pub struct DenseChip {
    config: DenseConfig,
}

impl DenseChip {
    /// Allocates the tile's columns and its gate.
    pub fn configure<F: PrimeField>(
        meta: &mut ConstraintSystem<F>,
        tile_inputs: usize,
        tile_outputs: usize,
    ) -> DenseConfig {
        let inputs: Vec<_> = (0..tile_inputs).map(|_| meta.advice_column()).collect();
        let accumulators: Vec<_> = (0..tile_outputs).map(|_| meta.advice_column()).collect();
        let weights: Vec<Vec<_>> = (0..tile_outputs)
            .map(|_| (0..tile_inputs).map(|_| meta.fixed_column()).collect())
            .collect();
        let bias: Vec<_> = (0..tile_outputs).map(|_| meta.fixed_column()).collect();
        let active = meta.fixed_column();
        let chain = meta.fixed_column();
        for &column in inputs.iter().chain(&accumulators) {
            meta.enable_equality(column);
        }

        meta.create_gate("dense mac", |meta| {
            let active = meta.query_fixed(active);
            let chain = meta.query_fixed(chain);
            let xs: Vec<Expression<F>> = inputs
                .iter()
                .map(|&c| meta.query_advice(c, Rotation::cur()))
                .collect();
            // Σ_i (w_ji + K)·x_i − K·active·Σ_i x_i = Σ_i w_ji·x_i on active rows.
            let offset_sum = xs
                .iter()
                .fold(Expression::Constant(F::ZERO), |sum, x| sum + x.clone())
                * active.clone()
                * to_field::<F>(WEIGHT_OFFSET);
            (0..tile_outputs)
                .map(|j| {
                    let acc = meta.query_advice(accumulators[j], Rotation::cur());
                    let prev = meta.query_advice(accumulators[j], Rotation::prev());
                    let bias = meta.query_fixed(bias[j]);
                    let dot = weights[j]
                        .iter()
                        .zip(&xs)
                        .map(|(&w, x)| meta.query_fixed(w) * x.clone())
                        .fold(Expression::Constant(F::ZERO), |sum, term| sum + term);
                    active.clone() * acc - chain.clone() * prev - bias - dot + offset_sum.clone()
                })
                .collect::<Vec<_>>()
        });

        DenseConfig {
            inputs,
            accumulators,
            weights,
            bias,
            active,
            chain,
        }
    }

    /// Wraps a configuration.
    pub fn construct(config: DenseConfig) -> Self {
        Self { config }
    }

    /// The chip's columns.
    pub fn config(&self) -> &DenseConfig {
        &self.config
    }

    /// Assigns one tile row at `offset`, its weights included.
    pub fn assign_row<F: PrimeField>(
        &self,
        region: &mut Region<'_, F>,
        offset: usize,
        row: &TileRow<'_>,
    ) -> Result<TileRowCells<F>, Error> {
        self.assign_weights(region, offset, 1, |_, j, i| {
            row.weights
                .get(j)
                .and_then(|r| r.get(i))
                .copied()
                .unwrap_or(0)
        })?;
        self.assign_row_cells(region, offset, row)
    }

    /// The weight cells of `rows` consecutive tile rows from `offset`, assigned a column at a
    /// time (one call per column instead of one per cell: key generation spends most of its
    /// synthesis here). `weight(r, j, i)` is the weight of output lane `j` and input lane `i`
    /// on row `offset + r` (0 for unused lanes). Every weight cell of an active row holds
    /// `w + K` (so 0 for unused lanes is `K`).
    pub fn assign_weights<F: PrimeField>(
        &self,
        region: &mut Region<'_, F>,
        offset: usize,
        rows: usize,
        weight: impl Fn(usize, usize, usize) -> i64,
    ) -> Result<(), Error> {
        let mut values = Vec::with_capacity(rows);
        let mut fields = FieldCache::<F>::default();
        for (j, column) in self.config.weights.iter().enumerate() {
            for (i, &cell) in column.iter().enumerate() {
                values.clear();
                values.extend((0..rows).map(|r| fields.get(weight(r, j, i) + WEIGHT_OFFSET)));
                region.assign_fixed_values(cell, offset, &values)?;
            }
        }
        Ok(())
    }

    /// Assigns one tile row at `offset` except its weights (see [`DenseChip::assign_weights`]).
    pub fn assign_row_cells<F: PrimeField>(
        &self,
        region: &mut Region<'_, F>,
        offset: usize,
        row: &TileRow<'_>,
    ) -> Result<TileRowCells<F>, Error> {
        let c = &self.config;
        region.assign_fixed(|| "", c.active, offset, || Value::known(F::ONE))?;
        if row.chain {
            region.assign_fixed(|| "", c.chain, offset, || Value::known(F::ONE))?;
        }
        for (j, &b) in row.bias.iter().enumerate() {
            if b != 0 {
                region.assign_fixed(|| "", c.bias[j], offset, || Value::known(to_field::<F>(b)))?;
            }
        }
        let assign = |region: &mut Region<'_, F>, column, value: Option<&Value<i64>>| {
            let value = value.copied().unwrap_or(Value::known(0));
            region.assign_advice(|| "", column, offset, || value.map(to_field::<F>))
        };
        let inputs = c
            .inputs
            .iter()
            .enumerate()
            .map(|(i, &column)| assign(region, column, row.inputs.get(i)))
            .collect::<Result<Vec<_>, _>>()?;
        let accumulators = c
            .accumulators
            .iter()
            .enumerate()
            .map(|(j, &column)| assign(region, column, row.accumulators.get(j)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TileRowCells {
            inputs,
            accumulators,
        })
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

    const IN: usize = 3;
    const OUT: usize = 2;

    /// One dense product `W·x + b` with 7 inputs and 2 outputs, as a chain of three 3-input rows.
    #[derive(Clone)]
    struct Chain {
        weights: [[i64; 7]; OUT],
        bias: [i64; OUT],
        x: [i64; 7],
        /// Accumulator values per row (honest: partial sums).
        accumulators: Vec<[i64; OUT]>,
    }

    impl Chain {
        fn honest() -> Self {
            let weights = [[3, -1, 4, 1, -5, 9, 2], [-6, 5, 3, -5, 8, 9, -7]];
            let bias = [10, -20];
            let x = [1, -2, 3, 4, -5, 6, 7];
            let mut acc = bias;
            let accumulators = (0..3)
                .map(|chunk| {
                    for (j, a) in acc.iter_mut().enumerate() {
                        for i in chunk * IN..((chunk + 1) * IN).min(7) {
                            *a += weights[j][i] * x[i];
                        }
                    }
                    acc
                })
                .collect();
            Self {
                weights,
                bias,
                x,
                accumulators,
            }
        }
        fn result(&self) -> [i64; OUT] {
            std::array::from_fn(|j| {
                self.bias[j] + (0..7).map(|i| self.weights[j][i] * self.x[i]).sum::<i64>()
            })
        }
    }

    impl Circuit<Fp> for Chain {
        type Config = DenseConfig;
        type FloorPlanner = SimpleFloorPlanner;
        fn without_witnesses(&self) -> Self {
            self.clone()
        }
        fn configure(meta: &mut ConstraintSystem<Fp>) -> DenseConfig {
            DenseChip::configure(meta, IN, OUT)
        }
        fn synthesize(
            &self,
            config: DenseConfig,
            mut layouter: impl Layouter<Fp>,
        ) -> Result<(), Error> {
            let chip = DenseChip::construct(config);
            layouter.assign_region(
                || "chain",
                |mut region| {
                    // Row 0 is left inactive so the chain does not start at the first row.
                    for chunk in 0..3 {
                        let inputs = chunk * IN..((chunk + 1) * IN).min(7);
                        let weights: Vec<&[i64]> =
                            self.weights.iter().map(|w| &w[inputs.clone()]).collect();
                        let x: Vec<Value<i64>> =
                            self.x[inputs].iter().map(|&v| Value::known(v)).collect();
                        let acc: Vec<Value<i64>> = self.accumulators[chunk]
                            .iter()
                            .map(|&v| Value::known(v))
                            .collect();
                        chip.assign_row(
                            &mut region,
                            1 + chunk,
                            &TileRow {
                                weights: &weights,
                                bias: if chunk == 0 { &self.bias } else { &[] },
                                chain: chunk > 0,
                                inputs: &x,
                                accumulators: &acc,
                            },
                        )?;
                    }
                    Ok(())
                },
            )
        }
    }

    fn check(chain: &Chain) -> Result<(), Vec<VerifyFailure>> {
        MockProver::run(5, chain, vec![]).unwrap().verify()
    }

    #[test]
    fn honest_chain_passes_and_computes_the_product() {
        let chain = Chain::honest();
        assert_eq!(*chain.accumulators.last().unwrap(), chain.result());
        assert_eq!(check(&chain), Ok(()));
    }

    #[test]
    fn changed_output_is_rejected() {
        let mut chain = Chain::honest();
        chain.accumulators[2][1] += 1;
        assert_rejected_by(&check(&chain), &["dense mac"]);
    }

    #[test]
    fn changed_intermediate_accumulator_is_rejected() {
        let mut chain = Chain::honest();
        chain.accumulators[1][0] -= 3;
        assert_rejected_by(&check(&chain), &["dense mac"]);
    }

    #[test]
    fn changed_input_is_rejected() {
        let mut chain = Chain::honest();
        chain.x[4] += 1;
        assert_rejected_by(&check(&chain), &["dense mac"]);
    }

    #[test]
    fn bias_is_added_exactly_once() {
        // Accumulators that leave out the bias are rejected.
        let mut chain = Chain::honest();
        for acc in &mut chain.accumulators {
            acc[0] -= chain.bias[0];
        }
        assert_rejected_by(&check(&chain), &["dense mac"]);
    }
}
