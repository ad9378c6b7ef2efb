//! zkinfer patch (new module): the check of stored key commitments without the fixed columns.
//!
//! [`keygen_vk_from_commitments`](super::keygen_vk_from_commitments) checks stored commitments
//! `Cᵢ` by one random linear combination, `Commit(Σ rᵢ·pᵢ) = Σ rᵢ·Cᵢ` (see `stored_keys`).
//! A verifying key needs nothing else from the fixed columns `pᵢ`, so instead of storing every
//! column (`keygen_vk` holds `columns × 2^k` cells) the synthesis here adds each fixed cell,
//! times its column's `rᵢ`, into a single column `Σ rᵢ·pᵢ` as it is assigned. The selector
//! and permutation columns, which only exist after the synthesis, are added afterwards.
//!
//! `keygen_vk` keeps the *last* value assigned to a cell; a sum cannot take a value back, so a
//! synthesis that assigns some fixed cell twice is reported ([`Combined::Reassigned`]) and the
//! caller falls back to the synthesis that stores the columns.

use std::ops::Range;

use ff::Field;
use rand_core::Rng;

use super::{
    circuit::{Advice, Any, Assignment, Circuit, Column, Fixed, FloorPlanner, Instance, Selector},
    keygen::create_domain,
    permutation, Assigned, Error,
};
use crate::{
    arithmetic::{parallelize, CurveAffine},
    circuit::Value,
    poly::{commitment::Params, EvaluationDomain, LagrangeCoeff, Polynomial},
};

/// The outcome of a combining synthesis.
pub(crate) enum Combined<C: CurveAffine> {
    /// `Σ rᵢ·pᵢ` over every fixed column (selector columns last) and then every permutation
    /// column, with the `rᵢ` used, and the circuit's domain and constraint system.
    Sum {
        combined: Polynomial<C::Scalar, LagrangeCoeff>,
        weights: Vec<C::Scalar>,
        domain: EvaluationDomain<C::Scalar>,
        cs: super::ConstraintSystem<C::Scalar>,
        /// The rows each selector was enabled on (before compression).
        selectors: Vec<Vec<bool>>,
    },
    /// The circuit has another number of columns than `(fixed, permutation)` commitments.
    Count {
        what: &'static str,
        expected: usize,
        found: usize,
    },
    /// Some fixed cell was assigned twice: the sum cannot be formed.
    Reassigned,
}

/// Synthesises `circuit` and forms `Σ rᵢ·pᵢ` over its `fixed` + `permutation` key columns,
/// with fresh `rᵢ` from `rng` (drawn before the synthesis).
pub(crate) fn combine<C, ConcreteCircuit>(
    params: &Params<C>,
    circuit: &ConcreteCircuit,
    (fixed, permutation): (usize, usize),
    mut rng: impl Rng,
) -> Result<Combined<C>, Error>
where
    C: CurveAffine,
    ConcreteCircuit: Circuit<C::Scalar>,
{
    let (domain, cs, config) = create_domain::<C, ConcreteCircuit>(params, circuit);
    let n = params.n as usize;
    if n < cs.minimum_rows() {
        return Err(Error::not_enough_rows_available(params.k));
    }
    let columns = cs.num_fixed_columns;
    let weights: Vec<C::Scalar> = (0..columns.max(fixed) + permutation)
        .map(|_| C::Scalar::random(&mut rng))
        .collect();
    let mut assembly = Combining {
        k: params.k,
        n,
        weights: weights[..columns].to_vec(),
        combined: vec![C::Scalar::ZERO; n],
        assigned: vec![0; (columns * n).div_ceil(64)],
        reassigned: false,
        permutation: permutation::keygen::Assembly::new(n, &cs.permutation),
        selectors: vec![vec![false; n]; cs.num_selectors],
        usable_rows: 0..n - (cs.blinding_factors() + 1),
    };
    ConcreteCircuit::FloorPlanner::synthesize(
        &mut assembly,
        circuit,
        config,
        cs.constants.clone(),
    )?;
    if assembly.reassigned {
        return Ok(Combined::Reassigned);
    }
    let selectors = assembly.selectors.clone();
    let (cs, selector_polys) = cs.compress_selectors(assembly.selectors);
    let expected = columns + selector_polys.len();
    if expected != fixed {
        return Ok(Combined::Count {
            what: "fixed",
            expected,
            found: fixed,
        });
    }
    let permutations = assembly.permutation.polys(&domain, &cs.permutation);
    if permutations.len() != permutation {
        return Ok(Combined::Count {
            what: "permutation",
            expected: permutations.len(),
            found: permutation,
        });
    }
    let mut combined = assembly.combined;
    let rest: Vec<(&[C::Scalar], &C::Scalar)> = selector_polys
        .iter()
        .map(Vec::as_slice)
        .chain(permutations.iter().map(|p| &p[..]))
        .zip(&weights[columns..])
        .collect();
    parallelize(&mut combined, |chunk, start| {
        for (poly, weight) in &rest {
            for (acc, value) in chunk.iter_mut().zip(&poly[start..]) {
                if !bool::from(value.is_zero()) {
                    *acc += *value * *weight;
                }
            }
        }
    });
    Ok(Combined::Sum {
        combined: domain.lagrange_from_vec(combined),
        weights,
        domain,
        cs,
        selectors,
    })
}

/// Synthesis for the check: `keygen::Assembly` with every fixed column replaced by its share
/// of one weighted sum.
struct Combining<F: Field> {
    k: u32,
    n: usize,
    /// `rᵢ` of each fixed column the synthesis assigns.
    weights: Vec<F>,
    /// `Σ rᵢ·pᵢ` over the cells assigned so far.
    combined: Vec<F>,
    /// One bit per fixed cell (`column · n + row`): assigned.
    assigned: Vec<u64>,
    /// Whether some fixed cell was assigned twice.
    reassigned: bool,
    permutation: permutation::keygen::Assembly,
    selectors: Vec<Vec<bool>>,
    /// The rows available for assignments and copies.
    usable_rows: Range<usize>,
}

impl<F: Field> Combining<F> {
    /// Adds `values` at rows `row`, `row + 1`, … of fixed `column` to the sum, noting cells
    /// assigned before.
    fn add(&mut self, column: usize, row: usize, values: &[F]) -> Result<(), Error> {
        let weight = *self.weights.get(column).ok_or(Error::BoundsFailure)?;
        let first = column * self.n + row;
        for bit in first..first + values.len() {
            let (word, mask) = (bit / 64, 1u64 << (bit % 64));
            self.reassigned |= self.assigned[word] & mask != 0;
            self.assigned[word] |= mask;
        }
        // On the calling thread: a segment is one column of one operator's rows (thousands of
        // cells at most), too short to pay for waking other threads (measured: the scheduler
        // took a fifth of a `zkinfer verify`).
        for (acc, value) in self.combined[row..].iter_mut().zip(values) {
            *acc += *value * weight;
        }
        Ok(())
    }
}

impl<F: Field> Assignment<F> for Combining<F> {
    fn enter_region<NR, N>(&mut self, _: N)
    where
        NR: Into<String>,
        N: FnOnce() -> NR,
    {
    }

    fn exit_region(&mut self) {}

    fn enable_selector<A, AR>(&mut self, _: A, selector: &Selector, row: usize) -> Result<(), Error>
    where
        A: FnOnce() -> AR,
        AR: Into<String>,
    {
        if !self.usable_rows.contains(&row) {
            return Err(Error::not_enough_rows_available(self.k));
        }
        self.selectors[selector.0][row] = true;
        Ok(())
    }

    fn query_instance(&self, _: Column<Instance>, row: usize) -> Result<Value<F>, Error> {
        if !self.usable_rows.contains(&row) {
            return Err(Error::not_enough_rows_available(self.k));
        }
        Ok(Value::unknown())
    }

    fn assign_advice<V, VR, A, AR>(
        &mut self,
        _: A,
        _: Column<Advice>,
        _: usize,
        _: V,
    ) -> Result<(), Error>
    where
        V: FnOnce() -> Value<VR>,
        VR: Into<Assigned<F>>,
        A: FnOnce() -> AR,
        AR: Into<String>,
    {
        Ok(())
    }

    fn assign_fixed<V, VR, A, AR>(
        &mut self,
        _: A,
        column: Column<Fixed>,
        row: usize,
        to: V,
    ) -> Result<(), Error>
    where
        V: FnOnce() -> Value<VR>,
        VR: Into<Assigned<F>>,
        A: FnOnce() -> AR,
        AR: Into<String>,
    {
        if !self.usable_rows.contains(&row) {
            return Err(Error::not_enough_rows_available(self.k));
        }
        // `batch_invert_assigned` gives each cell its `evaluate()` value.
        let value = to().into_field().assign()?.evaluate();
        self.add(column.index(), row, &[value])
    }

    fn copy(
        &mut self,
        left_column: Column<Any>,
        left_row: usize,
        right_column: Column<Any>,
        right_row: usize,
    ) -> Result<(), Error> {
        if !self.usable_rows.contains(&left_row) || !self.usable_rows.contains(&right_row) {
            return Err(Error::not_enough_rows_available(self.k));
        }
        self.permutation
            .copy(left_column, left_row, right_column, right_row)
    }

    fn fill_from_row(
        &mut self,
        column: Column<Fixed>,
        from_row: usize,
        to: Value<Assigned<F>>,
    ) -> Result<(), Error> {
        if !self.usable_rows.contains(&from_row) {
            return Err(Error::not_enough_rows_available(self.k));
        }
        if column.index() >= self.weights.len() {
            return Err(Error::BoundsFailure);
        }
        let filler = to.assign()?.evaluate();
        // The rows `keygen::Assembly::fill_from_row` fills.
        for row in self.usable_rows.clone().skip(from_row) {
            self.add(column.index(), row, &[filler])?;
        }
        Ok(())
    }

    fn assign_fixed_values(
        &mut self,
        column: Column<Fixed>,
        row: usize,
        values: &[F],
    ) -> Result<(), Error> {
        let end = row + values.len();
        if !values.is_empty()
            && (!self.usable_rows.contains(&row) || !self.usable_rows.contains(&(end - 1)))
        {
            return Err(Error::not_enough_rows_available(self.k));
        }
        self.add(column.index(), row, values)
    }

    fn push_namespace<NR, N>(&mut self, _: N)
    where
        NR: Into<String>,
        N: FnOnce() -> NR,
    {
    }

    fn pop_namespace(&mut self, _: Option<String>) {}
}
