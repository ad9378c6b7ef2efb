#![allow(clippy::int_plus_one)]

use std::ops::Range;

use ff::{Field, FromUniformBytes, WithSmallOrderMulGroup};
use pasta_curves::arithmetic::CurveExt;

// zkinfer patch: `bilinear` and `Expression` for `fixed_columns_on_extended_domain`.
use super::{
    circuit::{
        Advice, Any, Assignment, Circuit, Column, ConstraintSystem, Fixed, FloorPlanner, Instance,
        Selector,
    },
    bilinear, permutation, Assigned, Error, Expression, LagrangeCoeff, Polynomial, ProvingKey,
    VerifyingKey,
};
use crate::{
    arithmetic::CurveAffine,
    circuit::Value,
    // zkinfer patch: no `batch_invert_assigned` (fixed cells are stored evaluated).
    poly::{
        commitment::{Blind, Params},
        Coeff, EvaluationDomain, ExtendedLagrangeCoeff,
    },
};

pub(crate) fn create_domain<C, ConcreteCircuit>(
    params: &Params<C>,
    // zkinfer patch: the circuit value, for `Circuit::configure_from`.
    circuit: &ConcreteCircuit,
) -> (
    EvaluationDomain<C::Scalar>,
    ConstraintSystem<C::Scalar>,
    ConcreteCircuit::Config,
)
where
    C: CurveAffine,
    ConcreteCircuit: Circuit<C::Scalar>,
{
    let mut cs = ConstraintSystem::default();
    // zkinfer patch: configured from the circuit value (see `Circuit::configure_from`).
    let config = circuit.configure_from(&mut cs);

    let degree = cs.degree();

    let domain = EvaluationDomain::new(degree as u32, params.k);

    (domain, cs, config)
}

/// Assembly to be used in circuit synthesis.
#[derive(Debug)]
struct Assembly<F: Field> {
    k: u32,
    // zkinfer patch: each fixed cell is stored evaluated (`Assigned::evaluate`, which gives the
    // value `batch_invert_assigned` gave) instead of as an `Assigned<F>` inverted in a batch
    // after the synthesis: half the memory and no second pass. Circuits assign rational values
    // to fixed cells rarely, if ever, so batching their inversions saves nothing.
    fixed: Vec<Polynomial<F, LagrangeCoeff>>,
    permutation: permutation::keygen::Assembly,
    selectors: Vec<Vec<bool>>,
    // A range of available rows for assignment and copies.
    usable_rows: Range<usize>,
    _marker: std::marker::PhantomData<F>,
}

impl<F: Field> Assignment<F> for Assembly<F> {
    fn enter_region<NR, N>(&mut self, _: N)
    where
        NR: Into<String>,
        N: FnOnce() -> NR,
    {
        // Do nothing; we don't care about regions in this context.
    }

    fn exit_region(&mut self) {
        // Do nothing; we don't care about regions in this context.
    }

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

        // There is no instance in this context.
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
        // We only care about fixed columns here
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

        *self
            .fixed
            .get_mut(column.index())
            .and_then(|v| v.get_mut(row))
            .ok_or(Error::BoundsFailure)? = to().into_field().assign()?.evaluate();

        Ok(())
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

        let col = self
            .fixed
            .get_mut(column.index())
            .ok_or(Error::BoundsFailure)?;

        let filler = to.assign()?.evaluate();
        for row in self.usable_rows.clone().skip(from_row) {
            col[row] = filler;
        }

        Ok(())
    }

    // zkinfer patch: a column segment copied at once (see `Assignment::assign_fixed_values`).
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
        self.fixed
            .get_mut(column.index())
            .ok_or(Error::BoundsFailure)?[..][row..end]
            .copy_from_slice(values);
        Ok(())
    }

    fn push_namespace<NR, N>(&mut self, _: N)
    where
        NR: Into<String>,
        N: FnOnce() -> NR,
    {
        // Do nothing; we don't care about namespaces in this context.
    }

    fn pop_namespace(&mut self, _: Option<String>) {
        // Do nothing; we don't care about namespaces in this context.
    }
}

// zkinfer patch: the synthesis shared by `keygen_vk`, `keygen_pk` and the keys built from
// stored commitments (`plonk::stored_keys`) is `assemble`, and the proving key's polynomials
// are computed by `finish_pk`; the steps and their results are the published crate's.
/// A circuit synthesised for key generation: its domain, its constraint system (selectors
/// compressed), every fixed column's values (selector columns last), its copy constraints and
/// the rows each selector was enabled on (before compression).
pub(crate) struct Assembled<C: CurveAffine> {
    pub(crate) domain: EvaluationDomain<C::Scalar>,
    pub(crate) cs: ConstraintSystem<C::Scalar>,
    pub(crate) fixed: Vec<Polynomial<C::Scalar, LagrangeCoeff>>,
    pub(crate) permutation: permutation::keygen::Assembly,
    pub(crate) selectors: Vec<Vec<bool>>,
}

/// Synthesises `circuit` for key generation.
pub(crate) fn assemble<C, ConcreteCircuit>(
    params: &Params<C>,
    circuit: &ConcreteCircuit,
) -> Result<Assembled<C>, Error>
where
    C: CurveAffine,
    ConcreteCircuit: Circuit<C::Scalar>,
{
    let (domain, cs, config) = create_domain::<C, ConcreteCircuit>(params, circuit);

    if (params.n as usize) < cs.minimum_rows() {
        return Err(Error::not_enough_rows_available(params.k));
    }

    let mut assembly: Assembly<C::Scalar> = Assembly {
        k: params.k,
        fixed: vec![domain.empty_lagrange(); cs.num_fixed_columns],
        permutation: permutation::keygen::Assembly::new(params.n as usize, &cs.permutation),
        selectors: vec![vec![false; params.n as usize]; cs.num_selectors],
        usable_rows: 0..params.n as usize - (cs.blinding_factors() + 1),
        _marker: std::marker::PhantomData,
    };

    // Synthesize the circuit to obtain URS
    ConcreteCircuit::FloorPlanner::synthesize(
        &mut assembly,
        circuit,
        config,
        cs.constants.clone(),
    )?;

    let mut fixed = assembly.fixed;
    // zkinfer patch: the selector rows are kept (see `stored_keys::SelectorRows`).
    let selectors = assembly.selectors.clone();
    let (cs, selector_polys) = cs.compress_selectors(assembly.selectors);
    fixed.extend(
        selector_polys
            .into_iter()
            .map(|poly| domain.lagrange_from_vec(poly)),
    );
    // zkinfer patch: the synthesis ends here; `keygen_vk` (below) and `keygen_pk` continue
    // from its result.
    Ok(Assembled {
        domain,
        cs,
        fixed,
        permutation: assembly.permutation,
        selectors,
    })
}

/// Generate a `VerifyingKey` from an instance of `Circuit`.
pub fn keygen_vk<C, ConcreteCircuit>(
    params: &Params<C>,
    circuit: &ConcreteCircuit,
) -> Result<VerifyingKey<C>, Error>
where
    C: CurveAffine,
    C::Scalar: FromUniformBytes<64>,
    ConcreteCircuit: Circuit<C::Scalar>,
{
    Ok(vk_from_assembled(params, assemble(params, circuit)?))
}

// zkinfer patch: the rest of `keygen_vk` after the synthesis, shared with
// `stored_keys::keygen_vk_with_selectors`; the published steps.
/// The verifying key of a synthesised circuit: one commitment per fixed and permutation column.
pub(crate) fn vk_from_assembled<C>(params: &Params<C>, assembled: Assembled<C>) -> VerifyingKey<C>
where
    C: CurveAffine,
    C::Scalar: FromUniformBytes<64>,
{
    let Assembled {
        domain,
        cs,
        fixed,
        permutation,
        ..
    } = assembled;

    let permutation_vk = permutation.build_vk(params, &domain, &cs.permutation);

    let fixed_commitments = fixed
        .iter()
        .map(|poly| {
            params
                .commit_lagrange(poly, Blind::default())
                .to_affine_vartime()
        })
        .collect();

    VerifyingKey::from_parts(domain, fixed_commitments, permutation_vk, cs)
}

/// Generate a `ProvingKey` from a `VerifyingKey` and an instance of `Circuit`.
pub fn keygen_pk<C, ConcreteCircuit>(
    params: &Params<C>,
    vk: VerifyingKey<C>,
    circuit: &ConcreteCircuit,
) -> Result<ProvingKey<C>, Error>
where
    C: CurveAffine,
    ConcreteCircuit: Circuit<C::Scalar>,
{
    let Assembled {
        cs,
        fixed,
        permutation,
        ..
    } = assemble(params, circuit)?;
    let permutation_pk = permutation.build_pk(&vk.domain, &cs.permutation);
    Ok(finish_pk(params, vk, &cs, fixed, permutation_pk))
}

/// The proving key for `vk`, from the fixed columns' values and the permutation's key.
pub(crate) fn finish_pk<C: CurveAffine>(
    params: &Params<C>,
    vk: VerifyingKey<C>,
    cs: &ConstraintSystem<C::Scalar>,
    fixed: Vec<Polynomial<C::Scalar, LagrangeCoeff>>,
    permutation_pk: permutation::ProvingKey<C>,
) -> ProvingKey<C> {
    // zkinfer patch: every column's transforms are a task of their own (see `map_tasks`).
    let fixed_polys: Vec<_> = map_tasks(&fixed, |poly| vk.domain.lagrange_to_coeff(poly.clone()));
    let fixed_cosets = fixed_cosets(&vk.domain, cs, &fixed_polys);
    pk_from_parts(params, vk, cs, fixed, fixed_polys, fixed_cosets, permutation_pk)
}

// zkinfer patch: `finish_pk`'s fixed cosets, and the rest of it (`pk_from_parts`), apart, so
// that a proving key can be completed with extended-domain evaluations read from a file
// (`stored_keys::keygen_pk_from_trusted`).
/// The fixed columns' evaluations on the extended domain, where the prover needs them.
pub(crate) fn fixed_cosets<F: WithSmallOrderMulGroup<3>>(
    domain: &EvaluationDomain<F>,
    cs: &ConstraintSystem<F>,
    fixed_polys: &[Polynomial<F, Coeff>],
) -> Vec<Polynomial<F, ExtendedLagrangeCoeff>> {
    // zkinfer patch: only the fixed columns the prover evaluates on the extended domain get
    // their coset there; the others (a dense tile's weights, whose products the prover gathers
    // in coefficient form, see `bilinear`) hold an empty placeholder.
    let on_extended_domain = fixed_columns_on_extended_domain(cs);
    let columns: Vec<_> = fixed_polys.iter().zip(&on_extended_domain).collect();
    map_tasks(&columns, |&(poly, &needed)| {
        if needed {
            domain.coeff_to_extended(poly.clone())
        } else {
            Polynomial::unused()
        }
    })
}

/// The proving key from all its column polynomials: adds the Lagrange polynomials the prover
/// uses on the extended domain.
pub(crate) fn pk_from_parts<C: CurveAffine>(
    params: &Params<C>,
    vk: VerifyingKey<C>,
    cs: &ConstraintSystem<C::Scalar>,
    fixed: Vec<Polynomial<C::Scalar, LagrangeCoeff>>,
    fixed_polys: Vec<Polynomial<C::Scalar, Coeff>>,
    fixed_cosets: Vec<Polynomial<C::Scalar, ExtendedLagrangeCoeff>>,
    permutation_pk: permutation::ProvingKey<C>,
) -> ProvingKey<C> {
    // Compute l_0(X)
    // TODO: this can be done more efficiently
    let mut l0 = vk.domain.empty_lagrange();
    l0[0] = C::Scalar::ONE;
    let l0 = vk.domain.lagrange_to_coeff(l0);
    let l0 = vk.domain.coeff_to_extended(l0);

    // Compute l_blind(X) which evaluates to 1 for each blinding factor row
    // and 0 otherwise over the domain.
    let mut l_blind = vk.domain.empty_lagrange();
    for evaluation in l_blind[..].iter_mut().rev().take(cs.blinding_factors()) {
        *evaluation = C::Scalar::ONE;
    }
    let l_blind = vk.domain.lagrange_to_coeff(l_blind);
    let l_blind = vk.domain.coeff_to_extended(l_blind);

    // Compute l_last(X) which evaluates to 1 on the first inactive row (just
    // before the blinding factors) and 0 otherwise over the domain
    let mut l_last = vk.domain.empty_lagrange();
    l_last[params.n as usize - cs.blinding_factors() - 1] = C::Scalar::ONE;
    let l_last = vk.domain.lagrange_to_coeff(l_last);
    let l_last = vk.domain.coeff_to_extended(l_last);

    // zkinfer patch: `finish_pk` cannot fail (the published `keygen_pk` returned `Ok(..)` here).
    ProvingKey {
        vk,
        l0,
        l_blind,
        l_last,
        fixed_values: fixed,
        fixed_polys,
        fixed_cosets,
        permutation: permutation_pk,
    }
}

// zkinfer patch (new): which fixed columns the prover needs on the extended domain.
/// For each fixed column of `cs` (selectors compressed), whether the prover evaluates it on the
/// extended domain: it is queried by a gate addend that the prover evaluates there (not one
/// gathered by [`bilinear::Plan`], which uses the coefficient form), by a lookup, or it is in
/// the permutation argument.
pub(crate) fn fixed_columns_on_extended_domain<F: Field>(cs: &ConstraintSystem<F>) -> Vec<bool> {
    let mut needed = vec![false; cs.num_fixed_columns];
    let mut mark = |expression: &Expression<F>| {
        for column in fixed_columns_queried(expression) {
            needed[column] = true;
        }
    };
    let gate_polynomials: Vec<_> = cs.gates.iter().flat_map(|g| g.polynomials()).collect();
    let plan = bilinear::Plan::new(&gate_polynomials);
    for (split, polynomial) in plan.constraints.iter().zip(&gate_polynomials) {
        if split.terms.is_empty() {
            mark(polynomial);
        } else {
            for (_, addend) in &split.rest {
                mark(addend);
            }
        }
    }
    for lookup in &cs.lookups {
        for expression in lookup
            .input_expressions
            .iter()
            .chain(&lookup.table_expressions)
        {
            mark(expression);
        }
    }
    for column in cs.permutation.get_columns() {
        if *column.column_type() == Any::Fixed {
            needed[column.index()] = true;
        }
    }
    needed
}

/// The fixed columns an expression queries.
fn fixed_columns_queried<F: Field>(expression: &Expression<F>) -> Vec<usize> {
    expression.evaluate(
        &|_| vec![],
        &|_| vec![],
        &|query| vec![query.column_index],
        &|_| vec![],
        &|_| vec![],
        &|a| a,
        &|mut a, b| {
            a.extend(b);
            a
        },
        &|mut a, b| {
            a.extend(b);
            a
        },
        &|a, _| a,
    )
}

// zkinfer patch (new): per-column work as tasks.
/// `f` applied to every item, each call a task of its own: the threads stay busy from column to
/// column instead of meeting after each small FFT or commitment (whose inner parallelism
/// splits badly at zkinfer's sizes).
pub(crate) fn map_tasks<T: Sync, U: Send>(items: &[T], f: impl Fn(&T) -> U + Sync) -> Vec<U> {
    let mut results: Vec<Option<U>> = items.iter().map(|_| None).collect();
    crate::multicore::scope(|scope| {
        for (result, item) in results.iter_mut().zip(items) {
            let f = &f;
            scope.spawn(move |_| *result = Some(f(item)));
        }
    });
    results
        .into_iter()
        .map(|result| result.expect("every task ran"))
        .collect()
}
