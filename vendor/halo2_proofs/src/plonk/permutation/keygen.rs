// zkinfer patch: imports for `polys`, generic over the field.
use group::ff::WithSmallOrderMulGroup;
use pasta_curves::arithmetic::CurveExt;

use super::{Argument, ProvingKey, VerifyingKey};
use crate::{
    arithmetic::CurveAffine,
    plonk::{Any, Column, Error},
    poly::{
        commitment::{Blind, Params},
        EvaluationDomain, LagrangeCoeff, Polynomial,
    },
};

#[derive(Debug)]
pub(crate) struct Assembly {
    columns: Vec<Column<Any>>,
    pub(crate) mapping: Vec<Vec<(usize, usize)>>,
    aux: Vec<Vec<(usize, usize)>>,
    sizes: Vec<Vec<usize>>,
}

impl Assembly {
    pub(crate) fn new(n: usize, p: &Argument) -> Self {
        // Initialize the copy vector to keep track of copy constraints in all
        // the permutation arguments.
        let mut columns = vec![];
        for i in 0..p.columns.len() {
            // Computes [(i, 0), (i, 1), ..., (i, n - 1)]
            columns.push((0..n).map(|j| (i, j)).collect());
        }

        // Before any equality constraints are applied, every cell in the permutation is
        // in a 1-cycle; therefore mapping and aux are identical, because every cell is
        // its own distinguished element.
        Assembly {
            columns: p.columns.clone(),
            mapping: columns.clone(),
            aux: columns,
            sizes: vec![vec![1usize; n]; p.columns.len()],
        }
    }

    pub(crate) fn copy(
        &mut self,
        left_column: Column<Any>,
        left_row: usize,
        right_column: Column<Any>,
        right_row: usize,
    ) -> Result<(), Error> {
        let left_column = self
            .columns
            .iter()
            .position(|c| c == &left_column)
            .ok_or(Error::ColumnNotInPermutation(left_column))?;
        let right_column = self
            .columns
            .iter()
            .position(|c| c == &right_column)
            .ok_or(Error::ColumnNotInPermutation(right_column))?;

        // Check bounds
        if left_row >= self.mapping[left_column].len()
            || right_row >= self.mapping[right_column].len()
        {
            return Err(Error::BoundsFailure);
        }

        // See book/src/design/permutation.md for a description of this algorithm.

        let mut left_cycle = self.aux[left_column][left_row];
        let mut right_cycle = self.aux[right_column][right_row];

        // If left and right are in the same cycle, do nothing.
        if left_cycle == right_cycle {
            return Ok(());
        }

        if self.sizes[left_cycle.0][left_cycle.1] < self.sizes[right_cycle.0][right_cycle.1] {
            std::mem::swap(&mut left_cycle, &mut right_cycle);
        }

        // Merge the right cycle into the left one.
        self.sizes[left_cycle.0][left_cycle.1] += self.sizes[right_cycle.0][right_cycle.1];
        let mut i = right_cycle;
        loop {
            self.aux[i.0][i.1] = left_cycle;
            i = self.mapping[i.0][i.1];
            if i == right_cycle {
                break;
            }
        }

        let tmp = self.mapping[left_column][left_row];
        self.mapping[left_column][left_row] = self.mapping[right_column][right_row];
        self.mapping[right_column][right_row] = tmp;

        Ok(())
    }

    // zkinfer patch: the permutation polynomials are computed by `polys`, shared by
    // `build_vk`, `build_pk` and the keys built from stored commitments
    // (`plonk::stored_keys`); the values are the published crate's.
    /// The permutation polynomial of every column, in Lagrange form.
    pub(crate) fn polys<F: WithSmallOrderMulGroup<3>>(
        &self,
        domain: &EvaluationDomain<F>,
        p: &Argument,
    ) -> Vec<Polynomial<F, LagrangeCoeff>> {
        let n = self.mapping.first().map_or(0, Vec::len);
        // Compute [omega^0, omega^1, ..., omega^{params.n - 1}]
        let mut omega_powers = Vec::with_capacity(n);
        {
            let mut cur = F::ONE;
            for _ in 0..n {
                omega_powers.push(cur);
                cur *= &domain.get_omega();
            }
        }

        // zkinfer patch: as published, over the field `F` instead of `C::Scalar`.
        // Compute [omega_powers * \delta^0, omega_powers * \delta^1, ..., omega_powers * \delta^m]
        let mut deltaomega = Vec::with_capacity(p.columns.len());
        {
            let mut cur = F::ONE;
            for _ in 0..p.columns.len() {
                let mut omega_powers = omega_powers.clone();
                for o in &mut omega_powers {
                    *o *= &cur;
                }

                deltaomega.push(omega_powers);

                cur *= &F::DELTA;
            }
        }

        // zkinfer patch: the published loop of `build_vk` and `build_pk`, returning the
        // polynomials (the commitments are `build_vk`'s, the cosets `build_pk`'s).
        (0..p.columns.len())
            .map(|i| {
                // Computes the permutation polynomial based on the permutation
                // description in the assembly.
                let mut permutation_poly = domain.empty_lagrange();
                for (j, p) in permutation_poly.iter_mut().enumerate() {
                    let (permuted_i, permuted_j) = self.mapping[i][j];
                    *p = deltaomega[permuted_i][permuted_j];
                }
                permutation_poly
            })
            .collect()
    }

    pub(crate) fn build_vk<C: CurveAffine>(
        self,
        params: &Params<C>,
        domain: &EvaluationDomain<C::Scalar>,
        p: &Argument,
    ) -> VerifyingKey<C> {
        // Pre-compute commitments for the URS.
        let commitments = self
            .polys(domain, p)
            .iter()
            .map(|permutation_poly| {
                // Compute commitment to permutation polynomial
                params
                    .commit_lagrange(permutation_poly, Blind::default())
                    .to_affine_vartime()
            })
            .collect();
        VerifyingKey { commitments }
    }

    // zkinfer patch: no `params` (the published one read only `params.n`, now the mapping's
    // length); the polynomials from `polys`, their transforms in `ProvingKey::from_permutations`.
    pub(crate) fn build_pk<C: CurveAffine>(
        self,
        domain: &EvaluationDomain<C::Scalar>,
        p: &Argument,
    ) -> ProvingKey<C> {
        ProvingKey::from_permutations(domain, self.polys(domain, p))
    }
}
