use group::ff::{Field, PrimeField};
// zkinfer patch: imports for the parallel sets and evaluations.
use group::Group;
use pasta_curves::arithmetic::{CurveExt, VartimeBatchInvert};
use rand_core::Rng;
use std::iter;

use super::super::{circuit::Any, ChallengeBeta, ChallengeGamma, ChallengeX};
use super::{Argument, ProvingKey};
use crate::{
    arithmetic::{eval_polynomial, parallelize, parallelize_chunks, CurveAffine},
    plonk::{self, Error},
    poly::{
        self,
        commitment::{Blind, Params},
        multiopen::ProverQuery,
        Coeff, ExtendedLagrangeCoeff, LagrangeCoeff, Polynomial, Rotation,
    },
    transcript::{EncodedChallenge, TranscriptWrite},
};

pub struct CommittedSet<C: CurveAffine, Ev> {
    permutation_product_poly: Polynomial<C::Scalar, Coeff>,
    permutation_product_coset: poly::AstLeaf<Ev, ExtendedLagrangeCoeff>,
    permutation_product_blind: Blind<C::Scalar>,
}

pub(crate) struct Committed<C: CurveAffine, Ev> {
    sets: Vec<CommittedSet<C, Ev>>,
}

pub struct ConstructedSet<C: CurveAffine> {
    permutation_product_poly: Polynomial<C::Scalar, Coeff>,
    permutation_product_blind: Blind<C::Scalar>,
}

pub(crate) struct Constructed<C: CurveAffine> {
    sets: Vec<ConstructedSet<C>>,
}

pub(crate) struct Evaluated<C: CurveAffine> {
    constructed: Constructed<C>,
}

impl Argument {
    #[allow(clippy::too_many_arguments)]
    pub(in crate::plonk) fn commit<
        C: CurveAffine,
        E: EncodedChallenge<C>,
        Ev: Copy + Send + Sync,
        R: Rng,
        T: TranscriptWrite<C, E>,
    >(
        &self,
        params: &Params<C>,
        pk: &plonk::ProvingKey<C>,
        pkey: &ProvingKey<C>,
        advice: &[Polynomial<C::Scalar, LagrangeCoeff>],
        fixed: &[Polynomial<C::Scalar, LagrangeCoeff>],
        instance: &[Polynomial<C::Scalar, LagrangeCoeff>],
        beta: ChallengeBeta<C>,
        gamma: ChallengeGamma<C>,
        // zkinfer patch: the evaluator borrows (see `poly::Evaluator`).
        evaluator: &mut poly::Evaluator<'_, Ev, C::Scalar, ExtendedLagrangeCoeff>,
        mut rng: R,
        transcript: &mut T,
    ) -> Result<Committed<C, Ev>, Error> {
        let domain = &pk.vk.domain;

        // How many columns can be included in a single permutation polynomial?
        // We need to multiply by z(X) and (1 - (l_last(X) + l_blind(X))). This
        // will never underflow because of the requirement of at least a degree
        // 3 circuit for the permutation argument.
        assert!(pk.vk.cs_degree >= 3);
        let chunk_len = pk.vk.cs_degree - 2;
        let blinding_factors = pk.vk.cs.blinding_factors();

        // zkinfer patch: the sets are independent except for the running product carried
        // from one to the next, so their ratios, commitments and extended-domain evaluations
        // are each computed for all sets at once (in parallel), and only the running
        // products, which are cheap, one set after another. Transcript and randomness are
        // consumed in the same order as before.
        let sets_columns: Vec<_> = self
            .columns
            .chunks(chunk_len)
            .zip(pkey.permutations.chunks(chunk_len))
            .collect();

        // Each column gets its own delta power: the first column of set `s` starts at
        // delta^(s · chunk_len).
        let mut first_deltaomega = Vec::with_capacity(sets_columns.len());
        let mut deltaomega = C::Scalar::ONE;
        for (columns, _) in &sets_columns {
            first_deltaomega.push(deltaomega);
            for _ in columns.iter() {
                deltaomega *= &C::Scalar::DELTA;
            }
        }

        let mut ratios: Vec<Vec<C::Scalar>> = vec![Vec::new(); sets_columns.len()];
        crate::multicore::scope(|scope| {
            for ((ratio, (columns, permutations)), &deltaomega) in
                ratios.iter_mut().zip(&sets_columns).zip(&first_deltaomega)
            {
                scope.spawn(move |_| {
                    *ratio = set_ratios(
                        domain,
                        params.n as usize,
                        columns,
                        permutations,
                        deltaomega,
                        advice,
                        fixed,
                        instance,
                        beta,
                        gamma,
                    );
                });
            }
        });

        // Compute the evaluations of the permutation product polynomials over our domain,
        // each starting where the previous one ended (the first at 1).
        let mut last_z = C::Scalar::ONE;
        let mut products = Vec::with_capacity(ratios.len());
        for modified_values in &ratios {
            let mut z = vec![last_z];
            for row in 1..(params.n as usize) {
                let mut tmp = z[row - 1];

                tmp *= &modified_values[row - 1];
                z.push(tmp);
            }
            let mut z = domain.lagrange_from_vec(z);
            // Set blinding factors
            for z in &mut z[params.n as usize - blinding_factors..] {
                *z = C::Scalar::random(&mut rng);
            }
            // Set new last_z
            last_z = z[params.n as usize - (blinding_factors + 1)];

            let blind = Blind(C::Scalar::random(&mut rng));
            products.push((z, blind));
        }
        drop(ratios);

        // zkinfer patch: every set's commitment and transforms are a task of their own; the
        // commitments are then written in the sets' order, as before.
        let mut commitments = vec![C::Curve::identity(); products.len()];
        let mut transformed = vec![None; products.len()];
        crate::multicore::scope(|scope| {
            for ((commitment, transformed), (z, blind)) in commitments
                .iter_mut()
                .zip(transformed.iter_mut())
                .zip(&products)
            {
                scope.spawn(move |_| {
                    *commitment = params.commit_lagrange(z, *blind);
                    let coefficients = domain.lagrange_to_coeff(z.clone());
                    let coset = domain.coeff_to_extended(coefficients.clone());
                    *transformed = Some((coefficients, coset));
                });
            }
        });
        let mut commitments_affine = vec![C::identity(); commitments.len()];
        C::Curve::batch_normalize_vartime(&commitments, &mut commitments_affine);

        let mut sets = Vec::with_capacity(products.len());
        for ((commitment, transformed), (_, blind)) in commitments_affine
            .into_iter()
            .zip(transformed)
            .zip(products)
        {
            let (permutation_product_poly, coset) = transformed.expect("every set transformed");
            let permutation_product_coset = evaluator.register_poly(coset);

            // Hash the permutation product commitment
            transcript.write_point(commitment)?;

            sets.push(CommittedSet {
                permutation_product_poly,
                permutation_product_coset,
                permutation_product_blind: blind,
            });
        }

        Ok(Committed { sets })
    }
}

/// The ratios of one set of columns of the permutation argument, row by row:
///
/// (p_j(\omega^i) + \delta^j \omega^i \beta + \gamma) /
/// (p_j(\omega^i) + \beta s_j(\omega^i) + \gamma)
///
/// multiplied over the set's columns `j`, with `deltaomega` the delta power of its first
/// column.
///
/// zkinfer patch (new): the published loop body for one set, moved into a function so that
/// the sets run as parallel tasks; the arithmetic is unchanged.
#[allow(clippy::too_many_arguments)]
fn set_ratios<C: CurveAffine>(
    domain: &crate::poly::EvaluationDomain<C::Scalar>,
    n: usize,
    columns: &[plonk::Column<Any>],
    permutations: &[Polynomial<C::Scalar, LagrangeCoeff>],
    mut deltaomega: C::Scalar,
    advice: &[Polynomial<C::Scalar, LagrangeCoeff>],
    fixed: &[Polynomial<C::Scalar, LagrangeCoeff>],
    instance: &[Polynomial<C::Scalar, LagrangeCoeff>],
    beta: ChallengeBeta<C>,
    gamma: ChallengeGamma<C>,
) -> Vec<C::Scalar> {
    let mut modified_values = vec![C::Scalar::ONE; n];

    // Iterate over each column of the permutation
    for (&column, permuted_column_values) in columns.iter().zip(permutations.iter()) {
        let values = match column.column_type() {
            Any::Advice => advice,
            Any::Fixed => fixed,
            Any::Instance => instance,
        };
        parallelize(&mut modified_values, |modified_values, start| {
            for ((modified_values, value), permuted_value) in modified_values
                .iter_mut()
                .zip(values[column.index()][start..].iter())
                .zip(permuted_column_values[start..].iter())
            {
                *modified_values *= &(*beta * permuted_value + &*gamma + value);
            }
        });
    }

    // Invert to obtain the denominator for the permutation product polynomial
    modified_values.batch_invert_vartime();

    // Iterate over each column again, this time finishing the computation
    // of the entire fraction by computing the numerators
    for &column in columns.iter() {
        let omega = domain.get_omega();
        let values = match column.column_type() {
            Any::Advice => advice,
            Any::Fixed => fixed,
            Any::Instance => instance,
        };
        parallelize(&mut modified_values, |modified_values, start| {
            let mut deltaomega = deltaomega * &omega.pow_vartime([start as u64]);
            for (modified_values, value) in modified_values
                .iter_mut()
                .zip(values[column.index()][start..].iter())
            {
                // Multiply by p_j(\omega^i) + \delta^j \omega^i \beta
                *modified_values *= &(deltaomega * &*beta + &*gamma + value);
                deltaomega *= &omega;
            }
        });
        deltaomega *= &C::Scalar::DELTA;
    }
    modified_values
}

impl<C: CurveAffine, Ev: Copy + Send + Sync> Committed<C, Ev> {
    #[allow(clippy::too_many_arguments)]
    pub(in crate::plonk) fn construct<'a>(
        self,
        pk: &'a plonk::ProvingKey<C>,
        p: &'a Argument,
        advice_cosets: &'a [poly::AstLeaf<Ev, ExtendedLagrangeCoeff>],
        fixed_cosets: &'a [poly::AstLeaf<Ev, ExtendedLagrangeCoeff>],
        instance_cosets: &'a [poly::AstLeaf<Ev, ExtendedLagrangeCoeff>],
        permutation_cosets: &'a [poly::AstLeaf<Ev, ExtendedLagrangeCoeff>],
        l0: poly::AstLeaf<Ev, ExtendedLagrangeCoeff>,
        l_blind: poly::AstLeaf<Ev, ExtendedLagrangeCoeff>,
        l_last: poly::AstLeaf<Ev, ExtendedLagrangeCoeff>,
        beta: ChallengeBeta<C>,
        gamma: ChallengeGamma<C>,
    ) -> (
        Constructed<C>,
        impl Iterator<Item = poly::Ast<Ev, C::Scalar, ExtendedLagrangeCoeff>> + 'a,
    ) {
        let chunk_len = pk.vk.cs_degree - 2;
        let blinding_factors = pk.vk.cs.blinding_factors();
        let last_rotation = Rotation(-((blinding_factors + 1) as i32));

        let constructed = Constructed {
            sets: self
                .sets
                .iter()
                .map(|set| ConstructedSet {
                    permutation_product_poly: set.permutation_product_poly.clone(),
                    permutation_product_blind: set.permutation_product_blind,
                })
                .collect(),
        };

        let expressions = iter::empty()
            // Enforce only for the first set.
            // l_0(X) * (1 - z_0(X)) = 0
            .chain(
                self.sets
                    .first()
                    .map(|first_set| (poly::Ast::one() - first_set.permutation_product_coset) * l0),
            )
            // Enforce only for the last set.
            // l_last(X) * (z_l(X)^2 - z_l(X)) = 0
            .chain(self.sets.last().map(|last_set| {
                ((poly::Ast::from(last_set.permutation_product_coset)
                    * last_set.permutation_product_coset)
                    - last_set.permutation_product_coset)
                    * l_last
            }))
            // Except for the first set, enforce.
            // l_0(X) * (z_i(X) - z_{i-1}(\omega^(last) X)) = 0
            .chain(
                self.sets
                    .iter()
                    .skip(1)
                    .zip(self.sets.iter())
                    .map(|(set, last_set)| {
                        (poly::Ast::from(set.permutation_product_coset)
                            - last_set
                                .permutation_product_coset
                                .with_rotation(last_rotation))
                            * l0
                    })
                    .collect::<Vec<_>>(),
            )
            // And for all the sets we enforce:
            // (1 - (l_last(X) + l_blind(X))) * (
            //   z_i(\omega X) \prod_j (p(X) + \beta s_j(X) + \gamma)
            // - z_i(X) \prod_j (p(X) + \delta^j \beta X + \gamma)
            // )
            .chain(
                self.sets
                    .into_iter()
                    .zip(p.columns.chunks(chunk_len))
                    .zip(permutation_cosets.chunks(chunk_len))
                    .enumerate()
                    .map(move |(chunk_index, ((set, columns), cosets))| {
                        let mut left = poly::Ast::<_, C::Scalar, _>::from(
                            set.permutation_product_coset
                                .with_rotation(Rotation::next()),
                        );
                        for (values, permutation) in columns
                            .iter()
                            .map(|&column| match column.column_type() {
                                Any::Advice => &advice_cosets[column.index()],
                                Any::Fixed => &fixed_cosets[column.index()],
                                Any::Instance => &instance_cosets[column.index()],
                            })
                            .zip(cosets.iter())
                        {
                            left *= poly::Ast::<_, C::Scalar, _>::from(*values)
                                + (poly::Ast::ConstantTerm(*beta) * poly::Ast::from(*permutation))
                                + poly::Ast::ConstantTerm(*gamma);
                        }

                        let mut right = poly::Ast::from(set.permutation_product_coset);
                        let mut current_delta = *beta
                            * &(C::Scalar::DELTA.pow_vartime([(chunk_index * chunk_len) as u64]));
                        for values in columns.iter().map(|&column| match column.column_type() {
                            Any::Advice => &advice_cosets[column.index()],
                            Any::Fixed => &fixed_cosets[column.index()],
                            Any::Instance => &instance_cosets[column.index()],
                        }) {
                            right *= poly::Ast::from(*values)
                                + poly::Ast::LinearTerm(current_delta)
                                + poly::Ast::ConstantTerm(*gamma);
                            current_delta *= &C::Scalar::DELTA;
                        }

                        (left - right) * (poly::Ast::one() - (poly::Ast::from(l_last) + l_blind))
                    }),
            );

        (constructed, expressions)
    }
}

impl<C: CurveAffine> super::ProvingKey<C> {
    pub(in crate::plonk) fn open(
        &self,
        x: ChallengeX<C>,
    ) -> impl Iterator<Item = ProverQuery<'_, C>> + Clone {
        self.polys.iter().map(move |poly| ProverQuery {
            point: *x,
            poly,
            blind: Blind::default(),
        })
    }

    pub(in crate::plonk) fn evaluate<E: EncodedChallenge<C>, T: TranscriptWrite<C, E>>(
        &self,
        x: ChallengeX<C>,
        transcript: &mut T,
    ) -> Result<(), Error> {
        // Hash permutation evals. zkinfer patch: evaluated in parallel.
        let mut evals = vec![C::Scalar::ZERO; self.polys.len()];
        parallelize_chunks(&mut evals, 1, |evals, start| {
            for (eval, poly) in evals.iter_mut().zip(&self.polys[start..]) {
                *eval = eval_polynomial(poly, *x);
            }
        });
        for eval in evals {
            transcript.write_scalar(eval)?;
        }

        Ok(())
    }
}

impl<C: CurveAffine> Constructed<C> {
    pub(in crate::plonk) fn evaluate<E: EncodedChallenge<C>, T: TranscriptWrite<C, E>>(
        self,
        pk: &plonk::ProvingKey<C>,
        x: ChallengeX<C>,
        transcript: &mut T,
    ) -> Result<Evaluated<C>, Error> {
        let domain = &pk.vk.domain;
        let blinding_factors = pk.vk.cs.blinding_factors();

        // zkinfer patch: every set's evaluations are computed in parallel, then hashed in the
        // same order as before: at x, at ωx, and — for every set but the last, to chain its
        // running product into the next set's — at ω^(−(blinding_factors + 1))·x.
        let last_rotation = Rotation(-((blinding_factors + 1) as i32));
        let points = [
            *x,
            domain.rotate_omega(*x, Rotation::next()),
            domain.rotate_omega(*x, last_rotation),
        ];
        // Three evaluations per set, in transcript order; the last set has no third.
        let mut evals = vec![C::Scalar::ZERO; (3 * self.sets.len()).saturating_sub(1)];
        parallelize_chunks(&mut evals, 1, |evals, start| {
            for (offset, eval) in evals.iter_mut().enumerate() {
                let index = start + offset;
                let poly = &self.sets[index / 3].permutation_product_poly;
                *eval = eval_polynomial(poly, points[index % 3]);
            }
        });
        for eval in evals {
            transcript.write_scalar(eval)?;
        }

        Ok(Evaluated { constructed: self })
    }
}

impl<C: CurveAffine> Evaluated<C> {
    pub(in crate::plonk) fn open<'a>(
        &'a self,
        pk: &'a plonk::ProvingKey<C>,
        x: ChallengeX<C>,
    ) -> impl Iterator<Item = ProverQuery<'a, C>> + Clone {
        let blinding_factors = pk.vk.cs.blinding_factors();
        let x_next = pk.vk.domain.rotate_omega(*x, Rotation::next());
        let x_last = pk
            .vk
            .domain
            .rotate_omega(*x, Rotation(-((blinding_factors + 1) as i32)));

        iter::empty()
            .chain(self.constructed.sets.iter().flat_map(move |set| {
                iter::empty()
                    // Open permutation product commitments at x and \omega x
                    .chain(Some(ProverQuery {
                        point: *x,
                        poly: &set.permutation_product_poly,
                        blind: set.permutation_product_blind,
                    }))
                    .chain(Some(ProverQuery {
                        point: x_next,
                        poly: &set.permutation_product_poly,
                        blind: set.permutation_product_blind,
                    }))
            }))
            // Open it at \omega^{last} x for all but the last set. This rotation is only
            // sensical for the first row, but we only use this rotation in a constraint
            // that is gated on l_0.
            .chain(
                self.constructed
                    .sets
                    .iter()
                    .rev()
                    .skip(1)
                    .flat_map(move |set| {
                        Some(ProverQuery {
                            point: x_last,
                            poly: &set.permutation_product_poly,
                            blind: set.permutation_product_blind,
                        })
                    }),
            )
    }
}
