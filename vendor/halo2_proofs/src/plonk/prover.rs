use ff::Field;
use rand_core::Rng;
use std::iter;
use std::ops::RangeTo;

// zkinfer patch: imports for the gathered gate terms, the query evaluations and the parallel
// advice commitments (`eval_polynomial` is no longer used here).
use super::{
    bilinear,
    circuit::{
        Advice, Any, Assignment, Circuit, Column, ConstraintSystem, Expression, Fixed,
        FloorPlanner, Instance, Selector,
    },
    lookup, permutation, vanishing, ChallengeBeta, ChallengeGamma, ChallengeTheta, ChallengeX,
    ChallengeY, Error, ProvingKey,
};
use crate::{
    arithmetic::{compute_inner_product, parallelize_chunks, CurveAffine, CurveExt},
    circuit::Value,
    plonk::Assigned,
    poly::{
        self,
        commitment::{Blind, Params},
        multiopen::{self, ProverQuery},
        Coeff, ExtendedLagrangeCoeff, LagrangeCoeff, Polynomial, Rotation,
    },
};
use crate::{
    poly::batch_invert_assigned,
    transcript::{EncodedChallenge, TranscriptWrite},
};

/// zkinfer patch: evaluates the queried polynomials in parallel (a circuit with hundreds of
/// fixed columns spent a noticeable part of a proof here on one thread), each as an inner
/// product with the powers of its point, which pipelines where Horner's rule waits on every
/// multiplication.
fn evaluate_queries<'p, Q: Sync, F: ff::WithSmallOrderMulGroup<3>>(
    queries: &[Q],
    powers: &PointPowers<F>,
    poly: impl Fn(&Q) -> (&'p [F], Rotation) + Send + Sync,
) -> Vec<F> {
    let mut evals = vec![F::ZERO; queries.len()];
    parallelize_chunks(&mut evals, 1, |evals, start| {
        for (eval_at, query) in evals.iter_mut().zip(&queries[start..]) {
            let (poly, at) = poly(query);
            *eval_at = compute_inner_product(poly, &powers.of(at)[..poly.len()]);
        }
    });
    evals
}

/// zkinfer patch: `1, p, p², …, p^(n−1)` for each point `p = ω^r·x` the queries open at.
struct PointPowers<F> {
    powers: Vec<(Rotation, Vec<F>)>,
}

impl<F: ff::WithSmallOrderMulGroup<3>> PointPowers<F> {
    fn new(
        domain: &poly::EvaluationDomain<F>,
        x: F,
        rotations: impl IntoIterator<Item = Rotation>,
    ) -> Self {
        let mut distinct: Vec<Rotation> = Vec::new();
        for rotation in rotations {
            if !distinct.contains(&rotation) {
                distinct.push(rotation);
            }
        }
        let n = 1usize << domain.k();
        let powers = distinct
            .into_iter()
            .map(|rotation| {
                let point = domain.rotate_omega(x, rotation);
                let mut powers = Vec::with_capacity(n);
                let mut power = F::ONE;
                for _ in 0..n {
                    powers.push(power);
                    power *= point;
                }
                (rotation, powers)
            })
            .collect();
        PointPowers { powers }
    }

    fn of(&self, rotation: Rotation) -> &[F] {
        &self
            .powers
            .iter()
            .find(|(r, _)| *r == rotation)
            .expect("powers of every queried point")
            .1
    }
}

/// This creates a proof for the provided `circuit` when given the public
/// parameters `params` and the proving key [`ProvingKey`] that was
/// generated previously for the same circuit. The provided `instances`
/// are zero-padded internally.
pub fn create_proof<
    C: CurveAffine,
    E: EncodedChallenge<C>,
    R: Rng,
    T: TranscriptWrite<C, E>,
    ConcreteCircuit: Circuit<C::Scalar>,
>(
    params: &Params<C>,
    pk: &ProvingKey<C>,
    circuits: &[ConcreteCircuit],
    instances: &[&[&[C::Scalar]]],
    rng: R,
    transcript: &mut T,
) -> Result<(), Error> {
    let shared = vec![&[][..]; circuits.len()];
    create_proof_with_shared_blinding(params, pk, circuits, instances, &shared, rng, transcript)
}

/// zkinfer patch: the randomness of one advice column supplied by the caller instead of drawn
/// from the prover's generator: the values of its last `blinding_factors() + 1` rows (the
/// rows the circuit cannot use) and the blind of its commitment.
///
/// Two proofs that lay the same values in a column and take that column's randomness from
/// the same `SharedBlinding` write the same commitment for it, so a verifier holding both can
/// see that the column holds the same values in both (Pedersen commitments are binding). The
/// values must stay secret to keep the column hidden, and the column is opened in each proof:
/// see zkinfer's SECURITY.md for the count of evaluations this reveals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedBlinding<F> {
    /// Index of the advice column (its position among the circuit's advice columns).
    pub column: usize,
    /// The values of the column's unusable rows, in row order.
    pub tail: Vec<F>,
    /// The blind of the column's commitment.
    pub blind: F,
}

/// zkinfer patch: [`create_proof`], with the randomness of some advice columns of each circuit
/// (`shared[i]` for `circuits[i]`) supplied by the caller (see [`SharedBlinding`]). Every other
/// random value is drawn from `rng` in the same order as [`create_proof`] draws it, so with no
/// shared columns the proof is byte for byte the one [`create_proof`] makes; the verifier is
/// unchanged.
pub fn create_proof_with_shared_blinding<
    C: CurveAffine,
    E: EncodedChallenge<C>,
    R: Rng,
    T: TranscriptWrite<C, E>,
    ConcreteCircuit: Circuit<C::Scalar>,
>(
    params: &Params<C>,
    pk: &ProvingKey<C>,
    circuits: &[ConcreteCircuit],
    instances: &[&[&[C::Scalar]]],
    shared: &[&[SharedBlinding<C::Scalar>]],
    mut rng: R,
    transcript: &mut T,
) -> Result<(), Error> {
    if circuits.len() != instances.len() || circuits.len() != shared.len() {
        return Err(Error::InvalidInstances);
    }

    for instance in instances.iter() {
        if instance.len() != pk.vk.cs.num_instance_columns {
            return Err(Error::InvalidInstances);
        }
    }

    // Hash verification key into transcript
    pk.vk.hash_into(transcript)?;

    let domain = &pk.vk.domain;
    let mut meta = ConstraintSystem::default();
    // zkinfer patch: configured from the circuit value (see `Circuit::configure_from`).
    let config = match circuits.first() {
        Some(circuit) => circuit.configure_from(&mut meta),
        None => ConcreteCircuit::configure(&mut meta),
    };

    // Selector optimizations cannot be applied here; use the ConstraintSystem
    // from the verification key.
    let meta = &pk.vk.cs;

    struct InstanceSingle<C: CurveAffine> {
        pub instance_values: Vec<Polynomial<C::Scalar, LagrangeCoeff>>,
        pub instance_polys: Vec<Polynomial<C::Scalar, Coeff>>,
        pub instance_cosets: Vec<Polynomial<C::Scalar, ExtendedLagrangeCoeff>>,
    }

    let instance: Vec<InstanceSingle<C>> = instances
        .iter()
        .map(|instance| -> Result<InstanceSingle<C>, Error> {
            let instance_values = instance
                .iter()
                .map(|values| {
                    let mut poly = domain.empty_lagrange();
                    assert_eq!(poly.len(), params.n as usize);
                    if values.len() > (poly.len() - (meta.blinding_factors() + 1)) {
                        return Err(Error::InstanceTooLarge);
                    }
                    for (poly, value) in poly.iter_mut().zip(values.iter()) {
                        *poly = *value;
                    }
                    Ok(poly)
                })
                .collect::<Result<Vec<_>, _>>()?;
            let instance_commitments_projective: Vec<_> = instance
                .iter()
                .map(|values| params.commit_lagrange_instance(values))
                .collect();
            let mut instance_commitments =
                vec![C::identity(); instance_commitments_projective.len()];
            C::Curve::batch_normalize_vartime(
                &instance_commitments_projective,
                &mut instance_commitments,
            );
            let instance_commitments = instance_commitments;
            drop(instance_commitments_projective);

            for commitment in &instance_commitments {
                transcript.common_point(*commitment)?;
            }

            let instance_polys: Vec<_> = instance_values
                .iter()
                .map(|poly| {
                    let lagrange_vec = domain.lagrange_from_vec(poly.to_vec());
                    domain.lagrange_to_coeff(lagrange_vec)
                })
                .collect();

            let instance_cosets: Vec<_> = instance_polys
                .iter()
                .map(|poly| domain.coeff_to_extended(poly.clone()))
                .collect();

            Ok(InstanceSingle {
                instance_values,
                instance_polys,
                instance_cosets,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;

    struct AdviceSingle<C: CurveAffine> {
        pub advice_values: Vec<Polynomial<C::Scalar, LagrangeCoeff>>,
        pub advice_polys: Vec<Polynomial<C::Scalar, Coeff>>,
        pub advice_cosets: Vec<Polynomial<C::Scalar, ExtendedLagrangeCoeff>>,
        pub advice_blinds: Vec<Blind<C::Scalar>>,
    }

    // zkinfer patch: each circuit with its shared columns (`.zip(shared.iter())`).
    let advice: Vec<AdviceSingle<C>> = circuits
        .iter()
        .zip(instances.iter())
        .zip(shared.iter())
        .map(|((circuit, instances), shared)| -> Result<AdviceSingle<C>, Error> {
            struct WitnessCollection<'a, F: Field> {
                k: u32,
                pub advice: Vec<Polynomial<Assigned<F>, LagrangeCoeff>>,
                instances: &'a [&'a [F]],
                usable_rows: RangeTo<usize>,
                _marker: std::marker::PhantomData<F>,
            }

            impl<'a, F: Field> Assignment<F> for WitnessCollection<'a, F> {
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

                fn enable_selector<A, AR>(
                    &mut self,
                    _: A,
                    _: &Selector,
                    _: usize,
                ) -> Result<(), Error>
                where
                    A: FnOnce() -> AR,
                    AR: Into<String>,
                {
                    // We only care about advice columns here

                    Ok(())
                }

                fn query_instance(
                    &self,
                    column: Column<Instance>,
                    row: usize,
                ) -> Result<Value<F>, Error> {
                    if !self.usable_rows.contains(&row) {
                        return Err(Error::not_enough_rows_available(self.k));
                    }

                    self.instances
                        .get(column.index())
                        .and_then(|column| column.get(row))
                        .map(|v| Value::known(*v))
                        .ok_or(Error::BoundsFailure)
                }

                fn assign_advice<V, VR, A, AR>(
                    &mut self,
                    _: A,
                    column: Column<Advice>,
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
                        .advice
                        .get_mut(column.index())
                        .and_then(|v| v.get_mut(row))
                        .ok_or(Error::BoundsFailure)? = to().into_field().assign()?;

                    Ok(())
                }

                fn assign_fixed<V, VR, A, AR>(
                    &mut self,
                    _: A,
                    _: Column<Fixed>,
                    _: usize,
                    _: V,
                ) -> Result<(), Error>
                where
                    V: FnOnce() -> Value<VR>,
                    VR: Into<Assigned<F>>,
                    A: FnOnce() -> AR,
                    AR: Into<String>,
                {
                    // We only care about advice columns here

                    Ok(())
                }

                fn copy(
                    &mut self,
                    _: Column<Any>,
                    _: usize,
                    _: Column<Any>,
                    _: usize,
                ) -> Result<(), Error> {
                    // We only care about advice columns here

                    Ok(())
                }

                fn fill_from_row(
                    &mut self,
                    _: Column<Fixed>,
                    _: usize,
                    _: Value<Assigned<F>>,
                ) -> Result<(), Error> {
                    Ok(())
                }

                // zkinfer patch: fixed segments are ignored at once, like single fixed cells.
                fn assign_fixed_values(
                    &mut self,
                    _: Column<Fixed>,
                    _: usize,
                    _: &[F],
                ) -> Result<(), Error> {
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

            let unusable_rows_start = params.n as usize - (meta.blinding_factors() + 1);

            let mut witness = WitnessCollection {
                k: params.k,
                advice: vec![domain.empty_lagrange_assigned(); meta.num_advice_columns],
                instances,
                // The prover will not be allowed to assign values to advice
                // cells that exist within inactive rows, which include some
                // number of blinding factors and an extra row for use in the
                // permutation argument.
                usable_rows: ..unusable_rows_start,
                _marker: std::marker::PhantomData,
            };

            // Synthesize the circuit to obtain the witness and other information.
            ConcreteCircuit::FloorPlanner::synthesize(
                &mut witness,
                circuit,
                config.clone(),
                meta.constants.clone(),
            )?;

            let mut advice = batch_invert_assigned(witness.advice);

            // zkinfer patch: the caller's randomness for its shared columns (checked first).
            let shared_of = |column: usize| shared.iter().find(|s| s.column == column);
            for (i, s) in shared.iter().enumerate() {
                if s.column >= advice.len()
                    || s.tail.len() != params.n as usize - unusable_rows_start
                    || shared[..i].iter().any(|t| t.column == s.column)
                {
                    return Err(Error::Synthesis);
                }
            }

            // Add blinding factors to advice columns
            for (column, advice) in advice.iter_mut().enumerate() {
                match shared_of(column) {
                    Some(s) => advice[unusable_rows_start..].copy_from_slice(&s.tail),
                    None => {
                        for cell in &mut advice[unusable_rows_start..] {
                            *cell = C::Scalar::random(&mut rng);
                        }
                    }
                }
            }

            // Compute commitments to advice column polynomials
            let advice_blinds: Vec<_> = (0..advice.len())
                .map(|column| match shared_of(column) {
                    Some(s) => Blind(s.blind),
                    None => Blind(C::Scalar::random(&mut rng)),
                })
                .collect();
            // zkinfer patch: every column's commitment is a task of its own (most columns
            // hold small values, whose commitments are too short to split well).
            let mut advice_commitments_projective =
                vec![<C::Curve as group::Group>::identity(); advice.len()];
            crate::multicore::scope(|scope| {
                for ((commitment, poly), blind) in advice_commitments_projective
                    .iter_mut()
                    .zip(&advice)
                    .zip(&advice_blinds)
                {
                    scope.spawn(move |_| *commitment = params.commit_lagrange(poly, *blind));
                }
            });
            let mut advice_commitments = vec![C::identity(); advice_commitments_projective.len()];
            C::Curve::batch_normalize_vartime(
                &advice_commitments_projective,
                &mut advice_commitments,
            );
            let advice_commitments = advice_commitments;
            drop(advice_commitments_projective);

            for commitment in &advice_commitments {
                transcript.write_point(*commitment)?;
            }

            // zkinfer patch: every column's interpolation and extended-domain evaluation is its
            // own task (the FFTs inside still split), so the threads stay busy between
            // columns instead of meeting after each small FFT.
            let mut transformed = vec![None; advice.len()];
            crate::multicore::scope(|scope| {
                for (slot, values) in transformed.iter_mut().zip(&advice) {
                    scope.spawn(move |_| {
                        let coefficients = domain.lagrange_to_coeff(values.clone());
                        let coset = domain.coeff_to_extended(coefficients.clone());
                        *slot = Some((coefficients, coset));
                    });
                }
            });
            let (advice_polys, advice_cosets): (Vec<_>, Vec<_>) = transformed
                .into_iter()
                .map(|pair| pair.expect("every column transformed"))
                .unzip();

            Ok(AdviceSingle {
                advice_values: advice,
                advice_polys,
                advice_cosets,
                advice_blinds,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;

    // Create polynomial evaluator context for values.
    let mut value_evaluator = poly::new_evaluator(|| {});

    // Register fixed values with the polynomial evaluator.
    // zkinfer patch: here and below, the evaluators borrow the proving key's polynomials and
    // the advice and instance columns (`register_borrowed`) instead of cloning each of them.
    let fixed_values: Vec<_> = pk
        .fixed_values
        .iter()
        .map(|poly| value_evaluator.register_borrowed(poly))
        .collect();

    // Register advice values with the polynomial evaluator.
    let advice_values: Vec<_> = advice
        .iter()
        .map(|advice| {
            advice
                .advice_values
                .iter()
                // zkinfer patch: borrowed, not cloned.
                .map(|poly| value_evaluator.register_borrowed(poly))
                .collect::<Vec<_>>()
        })
        .collect();

    // Register instance values with the polynomial evaluator.
    let instance_values: Vec<_> = instance
        .iter()
        .map(|instance| {
            instance
                .instance_values
                .iter()
                // zkinfer patch: borrowed, not cloned.
                .map(|poly| value_evaluator.register_borrowed(poly))
                .collect::<Vec<_>>()
        })
        .collect();

    // Create polynomial evaluator context for cosets.
    let mut coset_evaluator = poly::new_evaluator(|| {});

    // Register fixed cosets with the polynomial evaluator.
    let fixed_cosets: Vec<_> = pk
        .fixed_cosets
        .iter()
        // zkinfer patch: borrowed, not cloned.
        .map(|poly| coset_evaluator.register_borrowed(poly))
        .collect();

    // Register advice cosets with the polynomial evaluator.
    let advice_cosets: Vec<_> = advice
        .iter()
        .map(|advice| {
            advice
                .advice_cosets
                .iter()
                // zkinfer patch: borrowed, not cloned.
                .map(|poly| coset_evaluator.register_borrowed(poly))
                .collect::<Vec<_>>()
        })
        .collect();

    // Register instance cosets with the polynomial evaluator.
    let instance_cosets: Vec<_> = instance
        .iter()
        .map(|instance| {
            instance
                .instance_cosets
                .iter()
                // zkinfer patch: borrowed, not cloned.
                .map(|poly| coset_evaluator.register_borrowed(poly))
                .collect::<Vec<_>>()
        })
        .collect();

    // Register permutation cosets with the polynomial evaluator.
    let permutation_cosets: Vec<_> = pk
        .permutation
        .cosets
        .iter()
        // zkinfer patch: borrowed, not cloned.
        .map(|poly| coset_evaluator.register_borrowed(poly))
        .collect();

    // Register boundary polynomials used in the lookup and permutation arguments.
    let l0 = coset_evaluator.register_borrowed(&pk.l0);
    let l_blind = coset_evaluator.register_borrowed(&pk.l_blind);
    let l_last = coset_evaluator.register_borrowed(&pk.l_last);

    // Sample theta challenge for keeping lookup columns linearly independent
    let theta: ChallengeTheta<_> = transcript.squeeze_challenge_scalar();

    let lookups: Vec<Vec<lookup::prover::Permuted<C, _>>> = instance_values
        .iter()
        .zip(instance_cosets.iter())
        .zip(advice_values.iter())
        .zip(advice_cosets.iter())
        .map(|(((instance_values, instance_cosets), advice_values), advice_cosets)| -> Result<Vec<_>, Error> {
            // Construct and commit to permuted values for each lookup
            pk.vk
                .cs
                .lookups
                .iter()
                .map(|lookup| {
                    lookup.commit_permuted(
                        pk,
                        params,
                        domain,
                        &value_evaluator,
                        &mut coset_evaluator,
                        theta,
                        advice_values,
                        &fixed_values,
                        instance_values,
                        advice_cosets,
                        &fixed_cosets,
                        instance_cosets,
                        &mut rng,
                        transcript,
                    )
                })
                .collect()
        })
        .collect::<Result<Vec<_>, _>>()?;

    // Sample beta challenge
    let beta: ChallengeBeta<_> = transcript.squeeze_challenge_scalar();

    // Sample gamma challenge
    let gamma: ChallengeGamma<_> = transcript.squeeze_challenge_scalar();

    // Commit to permutations.
    let permutations: Vec<permutation::prover::Committed<C, _>> = instance
        .iter()
        .zip(advice.iter())
        .map(|(instance, advice)| {
            pk.vk.cs.permutation.commit(
                params,
                pk,
                &pk.permutation,
                &advice.advice_values,
                &pk.fixed_values,
                &instance.instance_values,
                beta,
                gamma,
                &mut coset_evaluator,
                &mut rng,
                transcript,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;

    let lookups: Vec<Vec<lookup::prover::Committed<C, _>>> = lookups
        .into_iter()
        .map(|lookups| -> Result<Vec<_>, _> {
            // Construct and commit to products for each lookup
            lookups
                .into_iter()
                .map(|lookup| {
                    lookup.commit_product(
                        pk,
                        params,
                        beta,
                        gamma,
                        &mut coset_evaluator,
                        &mut rng,
                        transcript,
                    )
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<Vec<_>, _>>()?;

    // Commit to the vanishing argument's random polynomial for blinding h(x_3)
    let vanishing = vanishing::Argument::commit(params, domain, &mut rng, transcript)?;

    // Obtain challenge for keeping all separate gates linearly independent
    let y: ChallengeY<_> = transcript.squeeze_challenge_scalar();

    // Evaluate the h(X) polynomial's constraint system expressions for the permutation constraints.
    let (permutations, permutation_expressions): (Vec<_>, Vec<_>) = permutations
        .into_iter()
        .zip(advice_cosets.iter())
        .zip(instance_cosets.iter())
        .map(|((permutation, advice), instance)| {
            permutation.construct(
                pk,
                &pk.vk.cs.permutation,
                advice,
                &fixed_cosets,
                instance,
                &permutation_cosets,
                l0,
                l_blind,
                l_last,
                beta,
                gamma,
            )
        })
        .unzip();

    let (lookups, lookup_expressions): (Vec<Vec<_>>, Vec<Vec<_>>) = lookups
        .into_iter()
        .map(|lookups| {
            // Evaluate the h(X) polynomial's constraint system expressions for the lookup constraints, if any.
            lookups
                .into_iter()
                .map(|p| p.construct(beta, gamma, l0, l_blind, l_last))
                .unzip()
        })
        .unzip();

    // zkinfer patch: gate terms that are a fixed column times an advice column are gathered
    // by advice column and evaluated through combined fixed polynomials (see `bilinear`); the
    // rest of each gate polynomial is evaluated as before.
    let gate_polynomials: Vec<_> = meta.gates.iter().flat_map(|g| g.polynomials()).collect();
    let plan = bilinear::Plan::new(&gate_polynomials);
    let mut expressions = Vec::new();
    let mut gate_offsets = Vec::new();
    for (((advice_cosets, instance_cosets), permutation_expressions), lookup_expressions) in
        advice_cosets
            .iter()
            .zip(instance_cosets.iter())
            .zip(permutation_expressions)
            .zip(lookup_expressions)
    {
        let to_ast = |expr: &Expression<C::Scalar>| {
            expr.evaluate(
                &poly::Ast::ConstantTerm,
                &|_| panic!("virtual selectors are removed during optimization"),
                &|query| {
                    fixed_cosets[query.column_index]
                        .with_rotation(query.rotation)
                        .into()
                },
                &|query| {
                    advice_cosets[query.column_index]
                        .with_rotation(query.rotation)
                        .into()
                },
                &|query| {
                    instance_cosets[query.column_index]
                        .with_rotation(query.rotation)
                        .into()
                },
                &|a| -a,
                &|a, b| a + b,
                &|a, b| a * b,
                &|a, scalar| a * scalar,
            )
        };
        gate_offsets.push(expressions.len());
        // Custom constraints
        for (split, &polynomial) in plan.constraints.iter().zip(&gate_polynomials) {
            if split.terms.is_empty() {
                expressions.push(to_ast(polynomial));
                continue;
            }
            let rest = split
                .rest
                .iter()
                .map(|&(coeff, addend)| {
                    let ast = to_ast(addend);
                    if coeff == C::Scalar::ONE {
                        ast
                    } else {
                        ast * coeff
                    }
                })
                .reduce(|sum, ast| sum + ast);
            expressions.push(rest.unwrap_or(poly::Ast::ConstantTerm(C::Scalar::ZERO)));
        }
        // Permutation constraints, if any.
        expressions.extend(permutation_expressions);
        // Lookup constraints, if any.
        expressions.extend(lookup_expressions.into_iter().flatten());
    }
    if plan.gathers_any() {
        let advice_polys: Vec<&[_]> = advice.iter().map(|a| &a.advice_cosets[..]).collect();
        let gathered = bilinear::gathered_numerator(
            &plan,
            domain,
            &pk.fixed_polys,
            &advice_polys,
            &gate_offsets,
            expressions.len(),
            *y,
        );
        // The last constraint has weight y^0: adding the gathered share there adds it as is.
        let gathered = poly::Ast::from(coset_evaluator.register_poly(gathered));
        let last = expressions.pop();
        expressions.push(match last {
            Some(last) => last + gathered,
            None => gathered,
        });
    }
    let expressions = expressions.into_iter();

    // Construct the vanishing argument's h(X) commitments
    let vanishing = vanishing.construct(
        params,
        domain,
        coset_evaluator,
        expressions,
        y,
        &mut rng,
        transcript,
    )?;

    let x: ChallengeX<_> = transcript.squeeze_challenge_scalar();
    let xn = x.pow([params.n, 0, 0, 0]);

    // zkinfer patch: the powers of every point the queries open at, and below each kind of
    // query evaluated by `evaluate_queries` (in parallel, as inner products) instead of by
    // `eval_polynomial` one after another; the values are the same.
    let powers = PointPowers::<C::Scalar>::new(
        domain,
        *x,
        meta.instance_queries
            .iter()
            .map(|(_, at)| *at)
            .chain(meta.advice_queries.iter().map(|(_, at)| *at))
            .chain(meta.fixed_queries.iter().map(|(_, at)| *at)),
    );
    // Compute and hash instance evals for each circuit instance
    for instance in instance.iter() {
        // Evaluate polynomials at omega^i x
        // zkinfer patch: see `evaluate_queries`.
        let instance_evals = evaluate_queries(&meta.instance_queries, &powers, |(column, at)| {
            (&instance.instance_polys[column.index()][..], *at)
        });

        // Hash each instance column evaluation
        for eval in instance_evals.iter() {
            transcript.write_scalar(*eval)?;
        }
    }

    // Compute and hash advice evals for each circuit instance
    for advice in advice.iter() {
        // Evaluate polynomials at omega^i x
        // zkinfer patch: see `evaluate_queries`.
        let advice_evals = evaluate_queries(&meta.advice_queries, &powers, |(column, at)| {
            (&advice.advice_polys[column.index()][..], *at)
        });

        // Hash each advice column evaluation
        for eval in advice_evals.iter() {
            transcript.write_scalar(*eval)?;
        }
    }

    // Compute and hash fixed evals (shared across all circuit instances)
    // zkinfer patch: see `evaluate_queries`.
    let fixed_evals = evaluate_queries(&meta.fixed_queries, &powers, |(column, at)| {
        (&pk.fixed_polys[column.index()][..], *at)
    });

    // Hash each fixed column evaluation
    for eval in fixed_evals.iter() {
        transcript.write_scalar(*eval)?;
    }

    let vanishing = vanishing.evaluate(x, xn, domain, transcript)?;

    // Evaluate common permutation data
    pk.permutation.evaluate(x, transcript)?;

    // Evaluate the permutations, if any, at omega^i x.
    let permutations: Vec<permutation::prover::Evaluated<C>> = permutations
        .into_iter()
        .map(|permutation| -> Result<_, _> { permutation.evaluate(pk, x, transcript) })
        .collect::<Result<Vec<_>, _>>()?;

    // Evaluate the lookups, if any, at omega^i x.
    let lookups: Vec<Vec<lookup::prover::Evaluated<C>>> = lookups
        .into_iter()
        .map(|lookups| -> Result<Vec<_>, _> {
            lookups
                .into_iter()
                .map(|p| p.evaluate(pk, x, transcript))
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<Vec<_>, _>>()?;

    let instances = instance
        .iter()
        .zip(advice.iter())
        .zip(permutations.iter())
        .zip(lookups.iter())
        .flat_map(|(((instance, advice), permutation), lookups)| {
            iter::empty()
                .chain(
                    pk.vk
                        .cs
                        .instance_queries
                        .iter()
                        .map(move |&(column, at)| ProverQuery {
                            point: domain.rotate_omega(*x, at),
                            poly: &instance.instance_polys[column.index()],
                            blind: Blind::default(),
                        }),
                )
                .chain(
                    pk.vk
                        .cs
                        .advice_queries
                        .iter()
                        .map(move |&(column, at)| ProverQuery {
                            point: domain.rotate_omega(*x, at),
                            poly: &advice.advice_polys[column.index()],
                            blind: advice.advice_blinds[column.index()],
                        }),
                )
                .chain(permutation.open(pk, x))
                .chain(lookups.iter().flat_map(move |p| p.open(pk, x)))
        })
        .chain(
            pk.vk
                .cs
                .fixed_queries
                .iter()
                .map(|&(column, at)| ProverQuery {
                    point: domain.rotate_omega(*x, at),
                    poly: &pk.fixed_polys[column.index()],
                    blind: Blind::default(),
                }),
        )
        .chain(pk.permutation.open(x))
        // We query the h(X) polynomial at x
        .chain(vanishing.open(x));

    multiopen::create_proof(params, rng, transcript, instances).map_err(|_| Error::Opening)
}

#[test]
fn test_commit_instance() {
    use pasta_curves::{EqAffine, Fp};

    let params: Params<EqAffine> = Params::new(3);
    let domain = crate::poly::EvaluationDomain::new(1, 3);
    let instance = [Fp::from(3), Fp::ZERO, Fp::from(5)];

    for instance in [&[][..], &instance[..]] {
        let mut poly = domain.empty_lagrange();
        for (coefficient, value) in poly.iter_mut().zip(instance.iter()) {
            *coefficient = *value;
        }

        assert_eq!(
            params.commit_lagrange_instance(instance),
            params.commit_lagrange(&poly, Blind::default())
        );
    }
}

#[test]
fn test_create_proof() {
    use crate::{
        circuit::SimpleFloorPlanner,
        plonk::{keygen_pk, keygen_vk},
        transcript::{Blake2bWrite, Challenge255},
    };
    use pasta_curves::EqAffine;
    use rand::rngs::SysRng;
    use rand_core::UnwrapErr;

    #[derive(Clone, Copy)]
    struct MyCircuit;

    impl<F: Field> Circuit<F> for MyCircuit {
        type Config = ();

        type FloorPlanner = SimpleFloorPlanner;

        fn without_witnesses(&self) -> Self {
            *self
        }

        fn configure(_meta: &mut ConstraintSystem<F>) -> Self::Config {}

        fn synthesize(
            &self,
            _config: Self::Config,
            _layouter: impl crate::circuit::Layouter<F>,
        ) -> Result<(), Error> {
            Ok(())
        }
    }

    let params: Params<EqAffine> = Params::new(3);
    let vk = keygen_vk(&params, &MyCircuit).expect("keygen_vk should not fail");
    let pk = keygen_pk(&params, vk, &MyCircuit).expect("keygen_pk should not fail");
    let mut transcript = Blake2bWrite::<_, _, Challenge255<_>>::init(vec![]);

    // Create proof with wrong number of instances
    let proof = create_proof(
        &params,
        &pk,
        &[MyCircuit, MyCircuit],
        &[],
        UnwrapErr(SysRng),
        &mut transcript,
    );
    assert!(matches!(proof.unwrap_err(), Error::InvalidInstances));

    // Create proof with correct number of instances
    create_proof(
        &params,
        &pk,
        &[MyCircuit, MyCircuit],
        &[&[], &[]],
        UnwrapErr(SysRng),
        &mut transcript,
    )
    .expect("proof generation should not fail");
}
