//! zkinfer patch: gate terms that are a fixed column times an advice column, evaluated by
//! combining the fixed columns first.
//!
//! The quotient's numerator is `Σ_t y^(E−1−t) · P_t(X)` over the `E` constraints `P_t`. A
//! top-level term `c · f(X) · a(X)` of a gate (`f` a fixed column, `a` an advice column, both
//! queried at the current row) contributes `c · y^(E−1−t) · f(X) · a(X)`. Gathered by advice
//! column, all such terms are `Σ_a a(X) · W_a(X)` with `W_a = Σ c · y^(E−1−t) · f`: a linear
//! combination of the proving key's fixed polynomials, formed in coefficient form (`n` values)
//! and evaluated on the `2n` points of the extended domain's coset `ζ·H_2n` by one FFT. Each
//! product `a · W_a` has degree below `2n`, so their sum is formed on those points and
//! interpolated onto the extended domain once. A gate with many such terms per advice column —
//! a dense layer whose weights sit in fixed columns has hundreds per row — then costs `n`
//! multiplications per term instead of two per point of the (4–8 times larger) extended domain.
//! Terms without an advice column (`c · f`, constants) are gathered the same way.
//!
//! Only advice columns with at least [`MIN_GROUP_TERMS`] such terms are worth their FFT; an
//! addend is taken out of its constraint only if it expands entirely into such terms, so a
//! circuit without them is evaluated exactly as before. The numerator, and so the proof, is
//! unchanged.

use std::collections::{BTreeMap, HashMap};

use ff::{Field, WithSmallOrderMulGroup};

use super::circuit::Expression;
use crate::multicore;
use crate::poly::{Coeff, EvaluationDomain, ExtendedLagrangeCoeff, Polynomial, Rotation};

/// Terms per advice column from which gathering them pays for the FFT.
pub(crate) const MIN_GROUP_TERMS: usize = 8;

/// Expansions larger than this are left as they are (they are not the products this module is
/// for, and expanding them would cost more than it saves).
const MAX_EXPANSION: usize = 4096;

/// `coeff · fixed · advice`, where a missing column stands for the constant 1.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Term<F> {
    pub(crate) coeff: F,
    /// Index of the fixed column, queried at the current row.
    pub(crate) fixed: Option<usize>,
    /// Index of the advice column, queried at the current row.
    pub(crate) advice: Option<usize>,
}

/// An addend of a constraint with its coefficient, and its terms if it expands into them.
type Addend<'a, F> = (F, &'a Expression<F>, Option<Vec<Term<F>>>);

/// One constraint, split into gathered terms and the addends left as expressions.
#[derive(Debug)]
pub(crate) struct SplitConstraint<'a, F> {
    /// Addends evaluated as before, with their coefficients.
    pub(crate) rest: Vec<(F, &'a Expression<F>)>,
    /// Terms gathered into the combined fixed polynomials.
    pub(crate) terms: Vec<Term<F>>,
}

/// The constraints of a circuit's gates, split.
#[derive(Debug)]
pub(crate) struct Plan<'a, F> {
    /// One entry per gate polynomial, in the order of the gates.
    pub(crate) constraints: Vec<SplitConstraint<'a, F>>,
}

impl<'a, F: Field> Plan<'a, F> {
    /// Splits `constraints` (every gate polynomial, in order).
    pub(crate) fn new(constraints: &[&'a Expression<F>]) -> Self {
        let expanded: Vec<Vec<Addend<'a, F>>> = constraints
            .iter()
            .map(|constraint| {
                let mut addends = Vec::new();
                top_level_addends(constraint, F::ONE, &mut addends);
                addends
                    .into_iter()
                    .map(|(coeff, addend)| (coeff, addend, expand(addend, coeff)))
                    .collect()
            })
            .collect();
        let mut per_advice: HashMap<Option<usize>, usize> = HashMap::new();
        for (_, _, terms) in expanded.iter().flatten() {
            for term in terms.iter().flatten() {
                *per_advice.entry(term.advice).or_default() += 1;
            }
        }
        let gathered = |term: &Term<F>| per_advice[&term.advice] >= MIN_GROUP_TERMS;
        let constraints = expanded
            .into_iter()
            .map(|addends| {
                let mut split = SplitConstraint {
                    rest: Vec::new(),
                    terms: Vec::new(),
                };
                for (coeff, addend, terms) in addends {
                    match terms {
                        Some(terms) if terms.iter().all(gathered) => split.terms.extend(terms),
                        _ => split.rest.push((coeff, addend)),
                    }
                }
                split
            })
            .collect();
        Self { constraints }
    }

    /// Whether any term is gathered (if not, the prover evaluates the gates as before).
    pub(crate) fn gathers_any(&self) -> bool {
        self.constraints.iter().any(|c| !c.terms.is_empty())
    }
}

/// The gathered terms' share of the quotient's numerator, `Σ_t y^(E−1−t) · (terms of P_t)`,
/// on the extended domain.
///
/// `advice_cosets[i]` are the advice columns of circuit instance `i` on the extended domain,
/// and `gate_offsets[i]` the index among all `total` constraints of that instance's first gate
/// polynomial (its gate polynomials follow in the order of [`Plan::constraints`]).
pub(crate) fn gathered_numerator<F: WithSmallOrderMulGroup<3>>(
    plan: &Plan<'_, F>,
    domain: &EvaluationDomain<F>,
    fixed_polys: &[Polynomial<F, Coeff>],
    advice_cosets: &[&[Polynomial<F, ExtendedLagrangeCoeff>]],
    gate_offsets: &[usize],
    total: usize,
    y: F,
) -> Polynomial<F, ExtendedLagrangeCoeff> {
    // y^(total − 1 − t) for every constraint t.
    let mut weights = vec![F::ONE; total];
    for t in (0..total.saturating_sub(1)).rev() {
        weights[t] = weights[t + 1] * y;
    }
    // Per (instance, advice column): the coefficient of each fixed column (None: constant).
    type Group<F> = BTreeMap<Option<usize>, F>;
    let mut groups: BTreeMap<(usize, Option<usize>), Group<F>> = BTreeMap::new();
    for (instance, &offset) in gate_offsets.iter().enumerate() {
        for (i, split) in plan.constraints.iter().enumerate() {
            let weight = weights[offset + i];
            for term in &split.terms {
                *groups
                    .entry((instance, term.advice))
                    .or_default()
                    .entry(term.fixed)
                    .or_insert(F::ZERO) += term.coeff * weight;
            }
        }
    }
    let groups: Vec<_> = groups.into_iter().collect();
    // Each product `a·W_a` has degree below 2n, so it is formed on the coset of 2n points
    // inside the extended domain (every `stride`-th point), and their sum interpolated onto
    // the extended domain once: half-size FFTs for every advice column.
    let stride = domain.half_extended_stride();
    let mut parts: Vec<Option<Vec<F>>> = vec![None; groups.len()];
    multicore::scope(|scope| {
        for (slot, ((instance, advice), coefficients)) in parts.iter_mut().zip(&groups) {
            scope.spawn(move |_| {
                let mut combined = domain.empty_coeff();
                for (fixed, &coeff) in coefficients {
                    match fixed {
                        Some(fixed) => {
                            for (acc, value) in combined.iter_mut().zip(fixed_polys[*fixed].iter())
                            {
                                *acc += coeff * value;
                            }
                        }
                        None => combined[0] += coeff,
                    }
                }
                let mut values = domain.coeff_to_half_extended(combined);
                if let Some(advice) = advice {
                    let advice = advice_cosets[*instance][*advice].iter().step_by(stride);
                    for (value, a) in values.iter_mut().zip(advice) {
                        *value *= a;
                    }
                }
                *slot = Some(values);
            });
        }
    });
    let sum = parts.into_iter().flatten().reduce(|mut sum, part| {
        for (sum, value) in sum.iter_mut().zip(&part) {
            *sum += value;
        }
        sum
    });
    match sum {
        Some(sum) => domain.half_extended_to_extended(sum),
        None => domain.empty_extended(),
    }
}

/// The addends of a sum (through negations and scalings), each with its coefficient.
fn top_level_addends<'a, F: Field>(
    expression: &'a Expression<F>,
    coeff: F,
    out: &mut Vec<(F, &'a Expression<F>)>,
) {
    match expression {
        Expression::Sum(a, b) => {
            top_level_addends(a, coeff, out);
            top_level_addends(b, coeff, out);
        }
        Expression::Negated(a) => top_level_addends(a, -coeff, out),
        Expression::Scaled(a, scalar) => top_level_addends(a, coeff * scalar, out),
        _ => out.push((coeff, expression)),
    }
}

/// `coeff · expression` as a sum of terms, if it is one (at most one fixed and one advice
/// column per product, all at the current row).
fn expand<F: Field>(expression: &Expression<F>, coeff: F) -> Option<Vec<Term<F>>> {
    let constant = |coeff| Term {
        coeff,
        fixed: None,
        advice: None,
    };
    let terms = match expression {
        Expression::Constant(c) => vec![constant(coeff * c)],
        Expression::Fixed(query) if query.rotation == Rotation::cur() => vec![Term {
            fixed: Some(query.column_index),
            ..constant(coeff)
        }],
        Expression::Advice(query) if query.rotation == Rotation::cur() => vec![Term {
            advice: Some(query.column_index),
            ..constant(coeff)
        }],
        Expression::Negated(a) => expand(a, -coeff)?,
        Expression::Scaled(a, scalar) => expand(a, coeff * scalar)?,
        Expression::Sum(a, b) => {
            let mut terms = expand(a, coeff)?;
            terms.extend(expand(b, coeff)?);
            terms
        }
        Expression::Product(a, b) => {
            let (a, b) = (expand(a, coeff)?, expand(b, F::ONE)?);
            if a.len() * b.len() > MAX_EXPANSION {
                return None;
            }
            let mut terms = Vec::with_capacity(a.len() * b.len());
            for x in &a {
                for y in &b {
                    terms.push(Term {
                        coeff: x.coeff * y.coeff,
                        fixed: only_one(x.fixed, y.fixed)?,
                        advice: only_one(x.advice, y.advice)?,
                    });
                }
            }
            terms
        }
        _ => return None,
    };
    // Terms that are zero (the `0` a folded sum starts from) are dropped.
    let terms: Vec<_> = terms
        .into_iter()
        .filter(|term| !bool::from(term.coeff.is_zero()))
        .collect();
    (terms.len() <= MAX_EXPANSION).then_some(terms)
}

/// The column of a product of two factors that may each hold one: `None` if both do.
fn only_one(a: Option<usize>, b: Option<usize>) -> Option<Option<usize>> {
    match (a, b) {
        (Some(_), Some(_)) => None,
        (a, b) => Some(a.or(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pasta::Fp;
    use crate::plonk::{Advice, Column, ConstraintSystem, Fixed};

    /// One constraint per output `j`: `active·acc_j − Σ_i w_ji·x_i + 7·active·Σ_i x_i −
    /// acc_j(prev)²`, like a dense tile.
    fn dense_like(
        meta: &mut ConstraintSystem<Fp>,
        inputs: usize,
        outputs: usize,
    ) -> Vec<Expression<Fp>> {
        let xs: Vec<Column<Advice>> = (0..inputs).map(|_| meta.advice_column()).collect();
        let accs: Vec<Column<Advice>> = (0..outputs).map(|_| meta.advice_column()).collect();
        let ws: Vec<Vec<Column<Fixed>>> = (0..outputs)
            .map(|_| (0..inputs).map(|_| meta.fixed_column()).collect())
            .collect();
        let active = meta.fixed_column();
        let mut polys = Vec::new();
        meta.create_gate("dense", |meta| {
            let active = meta.query_fixed(active);
            let sum_x = xs
                .iter()
                .map(|&x| meta.query_advice(x, Rotation::cur()))
                .fold(Expression::Constant(Fp::ZERO), |s, t| s + t);
            for (ws, &acc) in ws.iter().zip(&accs) {
                let acc_cur = meta.query_advice(acc, Rotation::cur());
                let acc_prev = meta.query_advice(acc, Rotation::prev());
                let dot = ws
                    .iter()
                    .zip(&xs)
                    .map(|(&w, &x)| meta.query_fixed(w) * meta.query_advice(x, Rotation::cur()))
                    .fold(Expression::Constant(Fp::ZERO), |s, t| s + t);
                polys.push(
                    active.clone() * acc_cur - dot + sum_x.clone() * active.clone() * Fp::from(7)
                        - acc_prev.clone() * acc_prev,
                );
            }
            polys.clone()
        });
        polys
    }

    #[test]
    fn gathers_fixed_times_advice_and_keeps_the_rest() {
        let mut meta = ConstraintSystem::<Fp>::default();
        let polys = dense_like(&mut meta, 10, 4);
        let refs: Vec<_> = polys.iter().collect();
        let plan = Plan::new(&refs);
        assert!(plan.gathers_any());
        for split in &plan.constraints {
            // Each input: its weight and the offset term, 8 terms per input column over the
            // four constraints. `active·acc_j` is the only term of its column, too few to
            // gather; the square of `acc_j(prev)` is not bilinear.
            assert_eq!(split.terms.len(), 20);
            assert!(split
                .terms
                .iter()
                .all(|t| t.advice.is_some() && t.fixed.is_some()));
            assert_eq!(split.rest.len(), 2);
        }
    }

    #[test]
    fn leaves_small_circuits_alone() {
        let mut meta = ConstraintSystem::<Fp>::default();
        let polys = dense_like(&mut meta, 3, 1);
        let refs: Vec<_> = polys.iter().collect();
        assert!(!Plan::new(&refs).gathers_any());
    }

    #[test]
    fn expands_only_bilinear_products_at_the_current_row() {
        let mut meta = ConstraintSystem::<Fp>::default();
        let (a, f) = (meta.advice_column(), meta.fixed_column());
        meta.create_gate("g", |meta| {
            let a_cur = meta.query_advice(a, Rotation::cur());
            let a_next = meta.query_advice(a, Rotation::next());
            let f_cur = meta.query_fixed(f);
            let c = |v| Expression::Constant(Fp::from(v));
            assert!(expand(&(f_cur.clone() * (a_cur.clone() + c(2))), Fp::ONE).is_some());
            assert!(expand(&(a_cur.clone() * a_cur.clone()), Fp::ONE).is_none());
            assert!(expand(&(f_cur.clone() * f_cur.clone()), Fp::ONE).is_none());
            assert!(expand(&(f_cur.clone() * a_next), Fp::ONE).is_none());
            let terms = expand(&((f_cur * c(3)) * -(a_cur.clone())), Fp::from(2)).unwrap();
            assert_eq!(terms.len(), 1);
            assert_eq!(terms[0].coeff, -Fp::from(6));
            vec![a_cur]
        });
    }
}
