use super::circuit::{Any, Column};
// zkinfer patch: `EvaluationDomain` for `ProvingKey::from_permutations`.
use crate::{
    arithmetic::CurveAffine,
    poly::{Coeff, EvaluationDomain, ExtendedLagrangeCoeff, LagrangeCoeff, Polynomial},
};

pub(crate) mod keygen;
pub(crate) mod prover;
pub(crate) mod verifier;

/// A permutation argument.
#[derive(Debug, Clone)]
pub(crate) struct Argument {
    /// A sequence of columns involved in the argument.
    columns: Vec<Column<Any>>,
}

impl Argument {
    pub(crate) fn new() -> Self {
        Argument { columns: vec![] }
    }

    /// Returns the minimum circuit degree required by the permutation argument.
    /// The argument may use larger degree gates depending on the actual
    /// circuit's degree and how many columns are involved in the permutation.
    pub(crate) fn required_degree(&self) -> usize {
        // degree 2:
        // l_0(X) * (1 - z(X)) = 0
        //
        // We will fit as many polynomials p_i(X) as possible
        // into the required degree of the circuit, so the
        // following will not affect the required degree of
        // this middleware.
        //
        // (1 - (l_last(X) + l_blind(X))) * (
        //   z(\omega X) \prod (p(X) + \beta s_i(X) + \gamma)
        // - z(X) \prod (p(X) + \delta^i \beta X + \gamma)
        // )
        //
        // On the first sets of columns, except the first
        // set, we will do
        //
        // l_0(X) * (z(X) - z'(\omega^(last) X)) = 0
        //
        // where z'(X) is the permutation for the previous set
        // of columns.
        //
        // On the final set of columns, we will do
        //
        // degree 3:
        // l_last(X) * (z'(X)^2 - z'(X)) = 0
        //
        // which will allow the last value to be zero to
        // ensure the argument is perfectly complete.

        // There are constraints of degree 3 regardless of the
        // number of columns involved.
        3
    }

    pub(crate) fn add_column(&mut self, column: Column<Any>) {
        if !self.columns.contains(&column) {
            self.columns.push(column);
        }
    }

    pub(crate) fn get_columns(&self) -> Vec<Column<Any>> {
        self.columns.clone()
    }
}

/// The verifying key for a single permutation argument.
#[derive(Clone, Debug)]
pub(crate) struct VerifyingKey<C: CurveAffine> {
    commitments: Vec<C>,
}

impl<C: CurveAffine> VerifyingKey<C> {
    // zkinfer patch: also used by `plonk::stored_keys` (was behind the fingerprint feature).
    /// The commitments to the permutation columns (one per column).
    pub(crate) fn commitments(&self) -> &[C] {
        &self.commitments
    }

    // zkinfer patch: a key from commitments checked by `plonk::stored_keys`.
    /// The key holding these commitments.
    pub(crate) fn from_commitments(commitments: Vec<C>) -> Self {
        VerifyingKey { commitments }
    }
}

/// The proving key for a single permutation argument.
#[derive(Clone, Debug)]
pub(crate) struct ProvingKey<C: CurveAffine> {
    permutations: Vec<Polynomial<C::Scalar, LagrangeCoeff>>,
    polys: Vec<Polynomial<C::Scalar, Coeff>>,
    pub(super) cosets: Vec<Polynomial<C::Scalar, ExtendedLagrangeCoeff>>,
}

impl<C: CurveAffine> ProvingKey<C> {
    // zkinfer patch: `keygen::Assembly::build_pk` split in two, so that keys built from stored
    // commitments (`plonk::stored_keys`) reuse the permutation polynomials they check.
    /// The key for these permutation polynomials (Lagrange form): their coefficients and their
    /// evaluations on the extended domain.
    pub(crate) fn from_permutations(
        domain: &EvaluationDomain<C::Scalar>,
        permutations: Vec<Polynomial<C::Scalar, LagrangeCoeff>>,
    ) -> Self {
        // Store permutation polynomial and precompute its coset evaluation (each column a task
        // of its own).
        let (polys, cosets) = super::keygen::map_tasks(&permutations, |permutation_poly| {
            let poly = domain.lagrange_to_coeff(permutation_poly.clone());
            let coset = domain.coeff_to_extended(poly.clone());
            (poly, coset)
        })
        .into_iter()
        .unzip();
        ProvingKey {
            permutations,
            polys,
            cosets,
        }
    }

    // zkinfer patch (new): the key from polynomials computed elsewhere (the cosets read from
    // a file, see `plonk::stored_keys`).
    /// The key from the permutation polynomials in Lagrange and coefficient form and their
    /// evaluations on the extended domain, one of each per column.
    pub(crate) fn from_parts(
        permutations: Vec<Polynomial<C::Scalar, LagrangeCoeff>>,
        polys: Vec<Polynomial<C::Scalar, Coeff>>,
        cosets: Vec<Polynomial<C::Scalar, ExtendedLagrangeCoeff>>,
    ) -> Self {
        ProvingKey {
            permutations,
            polys,
            cosets,
        }
    }
}
