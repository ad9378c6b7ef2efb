//! This module contains an implementation of the polynomial commitment scheme
//! described in the [Halo][halo] paper.
//!
//! [halo]: https://eprint.iacr.org/2019/1021

use super::{Coeff, LagrangeCoeff, Polynomial};
// zkinfer patch: `parallelize_chunks`, the fixed-base tables and their shared cell.
use crate::arithmetic::{
    best_fft, best_multiexp, parallelize, parallelize_chunks, CurveAffine, CurveExt,
};
use crate::helpers::CurveRead;

use ff::{Field, PrimeField};
use group::Group;
use std::ops::{Add, AddAssign, Mul, MulAssign};

mod fixed_base;
mod msm;
mod prover;
mod verifier;

pub use msm::MSM;
pub use prover::create_proof;
pub use verifier::{verify_proof, Accumulator, Guard};

use std::io;
// zkinfer patch: the tables, built once and shared between clones of the parameters.
use std::sync::{Arc, OnceLock};

use fixed_base::{table_window, FixedBaseTable};

/// These are the public parameters for the polynomial commitment scheme.
#[derive(Clone, Debug)]
pub struct Params<C: CurveAffine> {
    pub(crate) k: u32,
    pub(crate) n: u64,
    pub(crate) g: Vec<C>,
    pub(crate) g_lagrange: Vec<C>,
    pub(crate) w: C,
    pub(crate) u: C,
    /// zkinfer patch: precomputed multiples of the commitment bases, shared between clones;
    /// empty until [`Params::precompute_commitment_tables`].
    pub(crate) tables: Arc<OnceLock<CommitmentTables<C>>>,
}

/// zkinfer patch: the fixed-base tables of `G ‖ W` and `G_lagrange ‖ W`.
#[derive(Debug)]
pub(crate) struct CommitmentTables<C: CurveAffine> {
    g: FixedBaseTable<C>,
    g_lagrange: FixedBaseTable<C>,
}

/// zkinfer patch: the largest `k` for which [`Params::precompute_commitment_tables`] builds
/// tables (two tables of `(2^k + 1) · (256/11 + 1)` affine points: 48 MiB at `k = 14`).
pub const MAX_COMMITMENT_TABLE_K: u32 = 14;

/// zkinfer patch: the memory, in bytes, that [`Params::precompute_commitment_tables`] takes
/// for parameters of size `k` (0 above [`MAX_COMMITMENT_TABLE_K`]).
pub fn commitment_tables_bytes<C: CurveAffine>(k: u32) -> usize {
    if k > MAX_COMMITMENT_TABLE_K {
        return 0;
    }
    let scalar_bits = <C::Scalar as PrimeField>::Repr::default().as_ref().len() * 8;
    let windows = scalar_bits / table_window(k) + 1;
    2 * ((1usize << k) + 1)
        * windows
        * std::mem::size_of::<crate::arithmetic::affine_buckets::AffinePoint<C::Base>>()
}

impl<C: CurveAffine> Params<C> {
    /// Initializes parameters for the curve, given a random oracle to draw
    /// points from.
    pub fn new(k: u32) -> Self {
        // This is usually a limitation on the curve, but we also want 32-bit
        // architectures to be supported.
        assert!(k < 32);

        // In src/arithmetic/fields.rs we ensure that usize is at least 32 bits.

        let n: u64 = 1 << k;

        let g_projective = {
            let mut g = Vec::with_capacity(n as usize);
            g.resize(n as usize, C::Curve::identity());

            // zkinfer patch: a chunk per thread however few points (a hash to the curve each).
            parallelize_chunks(&mut g, 1, move |g, start| {
                let hasher = C::CurveExt::hash_to_curve("Halo2-Parameters");

                for (i, g) in g.iter_mut().enumerate() {
                    let i = (i + start) as u32;

                    let mut message = [0u8; 5];
                    message[1..5].copy_from_slice(&i.to_le_bytes());

                    *g = hasher(&message);
                }
            });

            g
        };

        let g = {
            let mut g = vec![C::identity(); n as usize];
            parallelize(&mut g, |g, starts| {
                C::Curve::batch_normalize_vartime(&g_projective[starts..(starts + g.len())], g);
            });
            g
        };

        // Let's evaluate all of the Lagrange basis polynomials
        // using an inverse FFT.
        let mut alpha_inv = <<C as group::CurveAffine>::Curve as Group>::Scalar::ROOT_OF_UNITY_INV;
        for _ in k..C::Scalar::S {
            alpha_inv = alpha_inv.square();
        }
        let mut g_lagrange_projective = g_projective;
        best_fft(&mut g_lagrange_projective, alpha_inv, k);
        let minv = C::Scalar::TWO_INV.pow_vartime([k as u64]);
        // zkinfer patch: a chunk per thread however few points (curve arithmetic).
        parallelize_chunks(&mut g_lagrange_projective, 1, |g, _| {
            for g in g.iter_mut() {
                *g *= minv;
            }
        });

        let g_lagrange = {
            let mut g_lagrange = vec![C::identity(); n as usize];
            parallelize(&mut g_lagrange, |g_lagrange, starts| {
                C::Curve::batch_normalize_vartime(
                    &g_lagrange_projective[starts..(starts + g_lagrange.len())],
                    g_lagrange,
                );
            });
            drop(g_lagrange_projective);
            g_lagrange
        };

        let hasher = C::CurveExt::hash_to_curve("Halo2-Parameters");
        let w = hasher(&[1]).to_affine_vartime();
        let u = hasher(&[2]).to_affine_vartime();

        Params {
            k,
            n,
            g,
            g_lagrange,
            w,
            u,
            // zkinfer patch: no tables until `precompute_commitment_tables`.
            tables: Arc::default(),
        }
    }

    /// zkinfer patch: precomputes multiples of the commitment bases, so that every later
    /// [`Params::commit`] and [`Params::commit_lagrange`] with these parameters (and their
    /// clones) runs without doublings: about twice as fast for random polynomials and
    /// several times for columns of small values. Does nothing above
    /// [`MAX_COMMITMENT_TABLE_K`] or when the tables exist. Costs `2^k · 256` doublings once
    /// and `2^(k+1) · (256/c + 1)` affine points of memory (`c` = 7..11 by `k`).
    pub fn precompute_commitment_tables(&self) {
        if self.k > MAX_COMMITMENT_TABLE_K {
            return;
        }
        self.tables.get_or_init(|| {
            let window = table_window(self.k);
            let with_w = |bases: &[C]| {
                let mut all = bases.to_vec();
                all.push(self.w);
                FixedBaseTable::new(&all, window)
            };
            CommitmentTables {
                g: with_w(&self.g),
                g_lagrange: with_w(&self.g_lagrange),
            }
        });
    }

    /// zkinfer patch: writes the tables [`Params::precompute_commitment_tables`] built (an
    /// error if there are none), for [`Params::read_commitment_tables`].
    pub fn write_commitment_tables<W: io::Write>(&self, writer: &mut W) -> io::Result<()> {
        let tables = self.tables.get().ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, "no commitment tables were built")
        })?;
        tables.g.write(writer)?;
        tables.g_lagrange.write(writer)
    }

    /// zkinfer patch: installs tables written by [`Params::write_commitment_tables`] for
    /// parameters of the same `k` instead of computing them; the file is checked for damage
    /// (see `FixedBaseTable::read`). Does nothing if the tables exist or `k` is above
    /// [`MAX_COMMITMENT_TABLE_K`].
    pub fn read_commitment_tables<R: io::Read>(&self, reader: &mut R) -> io::Result<()> {
        if self.k > MAX_COMMITMENT_TABLE_K || self.tables.get().is_some() {
            return Ok(());
        }
        let window = table_window(self.k);
        let with_w = |bases: &[C]| {
            let mut all = bases.to_vec();
            all.push(self.w);
            all
        };
        let g = FixedBaseTable::read(reader, &with_w(&self.g), window)?;
        let g_lagrange = FixedBaseTable::read(reader, &with_w(&self.g_lagrange), window)?;
        let _ = self.tables.set(CommitmentTables { g, g_lagrange });
        Ok(())
    }

    /// zkinfer patch: whether [`Params::precompute_commitment_tables`] built tables.
    pub fn has_commitment_tables(&self) -> bool {
        self.tables.get().is_some()
    }

    /// zkinfer patch: `Σ coeffs[i] · G[first + i]` from the tables, if they were built.
    pub(crate) fn multiexp_g_from(&self, first: usize, coeffs: &[C::Scalar]) -> Option<C::Curve> {
        let tables = self.tables.get()?;
        Some(tables.g.multiexp_from(first, coeffs))
    }

    /// This computes a commitment to a polynomial described by the provided
    /// slice of coefficients. The commitment will be blinded by the blinding
    /// factor `r`.
    pub fn commit(&self, poly: &Polynomial<C::Scalar, Coeff>, r: Blind<C::Scalar>) -> C::Curve {
        let mut tmp_scalars = Vec::with_capacity(poly.len() + 1);
        let mut tmp_bases = Vec::with_capacity(poly.len() + 1);

        tmp_scalars.extend(poly.iter());
        tmp_scalars.push(r.0);

        // zkinfer patch: with the fixed-base tables, the same commitment from the tables. A
        // polynomial of another length than the parameters' `n` is refused as the published
        // crate refuses it (`best_multiexp`'s length assertion): taken from the tables, its
        // blind would silently land on a base of `G` instead of `W`.
        if let Some(tables) = self.tables.get() {
            assert_eq!(tmp_scalars.len(), tables.g.len());
            return tables.g.multiexp(&tmp_scalars);
        }
        tmp_bases.extend(self.g.iter());
        tmp_bases.push(self.w);

        best_multiexp::<C>(&tmp_scalars, &tmp_bases)
    }

    /// This commits to a polynomial using its evaluations over the $2^k$ size
    /// evaluation domain. The commitment will be blinded by the blinding factor
    /// `r`.
    pub fn commit_lagrange(
        &self,
        poly: &Polynomial<C::Scalar, LagrangeCoeff>,
        r: Blind<C::Scalar>,
    ) -> C::Curve {
        let mut tmp_scalars = Vec::with_capacity(poly.len() + 1);
        let mut tmp_bases = Vec::with_capacity(poly.len() + 1);

        tmp_scalars.extend(poly.iter());
        tmp_scalars.push(r.0);

        // zkinfer patch: with the fixed-base tables, the same commitment from the tables. A
        // polynomial of another length than the parameters' `n` is refused as the published
        // crate refuses it (`best_multiexp`'s length assertion): taken from the tables, its
        // blind would silently land on a base of `G` instead of `W`.
        if let Some(tables) = self.tables.get() {
            assert_eq!(tmp_scalars.len(), tables.g_lagrange.len());
            return tables.g_lagrange.multiexp(&tmp_scalars);
        }
        tmp_bases.extend(self.g_lagrange.iter());
        tmp_bases.push(self.w);

        best_multiexp::<C>(&tmp_scalars, &tmp_bases)
    }

    /// This commits to an instance polynomial using its evaluations over the $2^k$ size
    /// evaluation domain. The commitment has no blinding factor, because instance
    /// polynomials are public.
    ///
    /// # Panics
    ///
    /// Panics if `instance.len() <= 1 << k`.
    pub(crate) fn commit_lagrange_instance(&self, instance: &[C::Scalar]) -> C::Curve {
        assert!(instance.len() <= self.n as usize);

        let mut tmp_scalars = Vec::with_capacity(instance.len() + 1);
        let mut tmp_bases = Vec::with_capacity(instance.len() + 1);

        tmp_scalars.extend(instance);
        tmp_scalars.push(Blind::default().0);

        tmp_bases.extend(&self.g_lagrange[..instance.len()]);
        tmp_bases.push(self.w);

        best_multiexp::<C>(&tmp_scalars, &tmp_bases)
    }

    /// Generates an empty multiscalar multiplication struct using the
    /// appropriate params.
    pub fn empty_msm(&self) -> MSM<'_, C> {
        MSM::new(self)
    }

    /// Getter for g generators
    pub fn get_g(&self) -> Vec<C> {
        self.g.clone()
    }

    /// Get the circuit size parameter k
    pub fn k(&self) -> u32 {
        self.k
    }

    /// Writes params to a buffer.
    pub fn write<W: io::Write>(&self, writer: &mut W) -> io::Result<()> {
        writer.write_all(&self.k.to_le_bytes())?;
        for g_element in &self.g {
            writer.write_all(g_element.to_bytes().as_ref())?;
        }
        for g_lagrange_element in &self.g_lagrange {
            writer.write_all(g_lagrange_element.to_bytes().as_ref())?;
        }
        writer.write_all(self.w.to_bytes().as_ref())?;
        writer.write_all(self.u.to_bytes().as_ref())?;

        Ok(())
    }

    /// Reads params from a buffer.
    pub fn read<R: io::Read>(reader: &mut R) -> io::Result<Self> {
        let mut k = [0u8; 4];
        reader.read_exact(&mut k[..])?;
        let k = u32::from_le_bytes(k);

        let n: u64 = 1 << k;

        let g: Vec<_> = (0..n).map(|_| C::read(reader)).collect::<Result<_, _>>()?;
        let g_lagrange: Vec<_> = (0..n).map(|_| C::read(reader)).collect::<Result<_, _>>()?;

        let w = C::read(reader)?;
        let u = C::read(reader)?;

        Ok(Params {
            k,
            n,
            g,
            g_lagrange,
            w,
            u,
            // zkinfer patch: no tables until `precompute_commitment_tables`.
            tables: Arc::default(),
        })
    }
}

// zkinfer patch: a second file format for the parameters, with affine coordinates instead of
// compressed points, so that reading costs a curve check per point instead of a square root
// (about 25 ms instead of 0.4 s for k = 13). `write`/`read` are unchanged.
impl<C: CurveAffine> Params<C> {
    /// Writes the parameters with uncompressed points: `k`, then the `x` and `y` coordinates of
    /// every point of `g`, `g_lagrange`, `w` and `u` (all zero for the identity).
    pub fn write_uncompressed<W: io::Write>(&self, writer: &mut W) -> io::Result<()> {
        writer.write_all(&self.k.to_le_bytes())?;
        for point in self.g.iter().chain(&self.g_lagrange).chain([&self.w, &self.u]) {
            let (x, y) = Option::from(point.coordinates())
                .map_or((C::Base::ZERO, C::Base::ZERO), |c: crate::arithmetic::Coordinates<C>| {
                    (*c.x(), *c.y())
                });
            writer.write_all(x.to_repr().as_ref())?;
            writer.write_all(y.to_repr().as_ref())?;
        }
        Ok(())
    }

    /// Reads parameters written by [`Params::write_uncompressed`]. Every point must lie on the
    /// curve (or be the identity, written as zeros), as decompression would guarantee.
    pub fn read_uncompressed<R: io::Read>(reader: &mut R) -> io::Result<Self> {
        let mut k = [0u8; 4];
        reader.read_exact(&mut k[..])?;
        let k = u32::from_le_bytes(k);
        if k > 32 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "k is too large"));
        }
        let n: u64 = 1 << k;
        let mut read_point = || -> io::Result<C> {
            let mut coordinate = || -> io::Result<C::Base> {
                let mut repr = <C::Base as PrimeField>::Repr::default();
                reader.read_exact(repr.as_mut())?;
                Option::from(C::Base::from_repr(repr)).ok_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidData, "invalid field element")
                })
            };
            let (x, y) = (coordinate()?, coordinate()?);
            if bool::from(x.is_zero() & y.is_zero()) {
                return Ok(C::identity());
            }
            Option::from(C::from_xy(x, y))
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "point not on the curve"))
        };
        let g = (0..n).map(|_| read_point()).collect::<Result<Vec<_>, _>>()?;
        let g_lagrange = (0..n).map(|_| read_point()).collect::<Result<Vec<_>, _>>()?;
        let w = read_point()?;
        let u = read_point()?;
        Ok(Params {
            k,
            n,
            g,
            g_lagrange,
            w,
            u,
            tables: Arc::default(),
        })
    }
}

/// Wrapper type around a blinding factor.
#[derive(Copy, Clone, Eq, PartialEq, Debug)]
pub struct Blind<F>(pub F);

impl<F: Field> Default for Blind<F> {
    fn default() -> Self {
        Blind(F::ONE)
    }
}

impl<F: Field> Add for Blind<F> {
    type Output = Self;

    fn add(self, rhs: Blind<F>) -> Self {
        Blind(self.0 + rhs.0)
    }
}

impl<F: Field> Mul for Blind<F> {
    type Output = Self;

    fn mul(self, rhs: Blind<F>) -> Self {
        Blind(self.0 * rhs.0)
    }
}

impl<F: Field> AddAssign for Blind<F> {
    fn add_assign(&mut self, rhs: Blind<F>) {
        self.0 += rhs.0;
    }
}

impl<F: Field> MulAssign for Blind<F> {
    fn mul_assign(&mut self, rhs: Blind<F>) {
        self.0 *= rhs.0;
    }
}

impl<F: Field> AddAssign<F> for Blind<F> {
    fn add_assign(&mut self, rhs: F) {
        self.0 += rhs;
    }
}

impl<F: Field> MulAssign<F> for Blind<F> {
    fn mul_assign(&mut self, rhs: F) {
        self.0 *= rhs;
    }
}

/// zkinfer patch: commitments with precomputed tables equal those without, for random and
/// small signed values, in both bases.
#[test]
fn commitment_tables_change_no_commitment() {
    use rand::rngs::SysRng;
    use rand_core::UnwrapErr;

    use crate::pasta::{EqAffine, Fp};
    for k in [3, 6, 8] {
        let plain = Params::<EqAffine>::new(k);
        let tabled = plain.clone();
        tabled.precompute_commitment_tables();
        assert!(tabled.has_commitment_tables() && plain.has_commitment_tables());
        let table_bytes = commitment_tables_bytes::<EqAffine>(k);
        assert!(
            table_bytes > (1 << k) * 64 * 20,
            "{table_bytes} bytes at k = {k}"
        );
        let fresh = Params::<EqAffine>::new(k);
        assert!(!fresh.has_commitment_tables());
        let domain = super::EvaluationDomain::new(1, k);
        let mut rng = UnwrapErr(SysRng);
        let mut values = domain.empty_lagrange();
        for (i, v) in values.iter_mut().enumerate() {
            *v = match i % 4 {
                0 => Fp::random(&mut rng),
                1 => Fp::from(i as u64 * 1_000_003),
                2 => -Fp::from(i as u64),
                _ => Fp::ZERO,
            };
        }
        let coeffs = domain.lagrange_to_coeff(values.clone());
        let blind = Blind(Fp::random(&mut rng));
        assert_eq!(
            tabled.commit_lagrange(&values, blind),
            fresh.commit_lagrange(&values, blind)
        );
        assert_eq!(tabled.commit(&coeffs, blind), fresh.commit(&coeffs, blind));
    }
}

/// zkinfer patch: with or without tables, a polynomial shorter or longer than the parameters'
/// `n` is refused (the published crate's `best_multiexp` asserts equal lengths), never
/// committed with its blind on the wrong base.
#[test]
fn commitments_refuse_a_polynomial_of_the_wrong_length() {
    use crate::pasta::{EqAffine, Fp};
    use std::panic::{catch_unwind, AssertUnwindSafe};

    let k = 4;
    let plain = Params::<EqAffine>::new(k);
    let tabled = Params::<EqAffine>::new(k);
    tabled.precompute_commitment_tables();
    for other_k in [k - 1, k + 1] {
        let domain = super::EvaluationDomain::<Fp>::new(1, other_k);
        let values = domain.empty_lagrange();
        let coeffs = domain.empty_coeff();
        for params in [&plain, &tabled] {
            let blind = Blind(Fp::ONE);
            let lagrange =
                catch_unwind(AssertUnwindSafe(|| params.commit_lagrange(&values, blind)));
            let coeff = catch_unwind(AssertUnwindSafe(|| params.commit(&coeffs, blind)));
            assert!(
                lagrange.is_err() && coeff.is_err(),
                "a polynomial of 2^{other_k} values was committed with 2^{k} bases (tables: {})",
                params.has_commitment_tables()
            );
        }
    }
}

#[test]
fn test_commit_lagrange_epaffine() {
    const K: u32 = 6;

    use rand::rngs::SysRng;
    use rand_core::UnwrapErr;

    use crate::pasta::{EpAffine, Fq};
    let params = Params::<EpAffine>::new(K);
    let domain = super::EvaluationDomain::new(1, K);

    let mut a = domain.empty_lagrange();

    for (i, a) in a.iter_mut().enumerate() {
        *a = Fq::from(i as u64);
    }

    let b = domain.lagrange_to_coeff(a.clone());

    let alpha = Blind(Fq::random(&mut UnwrapErr(SysRng)));

    assert_eq!(params.commit(&b, alpha), params.commit_lagrange(&a, alpha));
}

#[test]
fn test_commit_lagrange_eqaffine() {
    const K: u32 = 6;

    use rand::rngs::SysRng;
    use rand_core::UnwrapErr;

    use crate::pasta::{EqAffine, Fp};
    let params = Params::<EqAffine>::new(K);
    let domain = super::EvaluationDomain::new(1, K);

    let mut a = domain.empty_lagrange();

    for (i, a) in a.iter_mut().enumerate() {
        *a = Fp::from(i as u64);
    }

    let b = domain.lagrange_to_coeff(a.clone());

    let alpha = Blind(Fp::random(&mut UnwrapErr(SysRng)));

    assert_eq!(params.commit(&b, alpha), params.commit_lagrange(&a, alpha));
}

#[test]
fn test_opening_proof() {
    const K: u32 = 6;

    use ff::Field;
    use rand::rngs::SysRng;
    use rand_core::UnwrapErr;

    use super::{
        commitment::{Blind, Params},
        EvaluationDomain,
    };
    use crate::arithmetic::eval_polynomial;
    use crate::pasta::{EpAffine, Fq};
    use crate::transcript::{
        Blake2bRead, Blake2bWrite, Challenge255, Transcript, TranscriptRead, TranscriptWrite,
    };

    let mut rng = UnwrapErr(SysRng);

    let params = Params::<EpAffine>::new(K);
    let mut params_buffer = vec![];
    params.write(&mut params_buffer).unwrap();
    let params: Params<EpAffine> = Params::read::<_>(&mut &params_buffer[..]).unwrap();

    let domain = EvaluationDomain::new(1, K);

    let mut px = domain.empty_coeff();

    for (i, a) in px.iter_mut().enumerate() {
        *a = Fq::from(i as u64);
    }

    let blind = Blind(Fq::random(&mut rng));

    let p = params.commit(&px, blind).to_affine_vartime();

    let mut transcript = Blake2bWrite::<Vec<u8>, EpAffine, Challenge255<EpAffine>>::init(vec![]);
    transcript.write_point(p).unwrap();
    let x = transcript.squeeze_challenge_scalar::<()>();
    // Evaluate the polynomial
    let v = eval_polynomial(&px, *x);
    transcript.write_scalar(v).unwrap();

    let (proof, ch_prover) = {
        create_proof(&params, rng, &mut transcript, &px, blind, *x).unwrap();
        let ch_prover = transcript.squeeze_challenge();
        (transcript.finalize(), ch_prover)
    };

    // Verify the opening proof
    let mut transcript = Blake2bRead::<&[u8], EpAffine, Challenge255<EpAffine>>::init(&proof[..]);
    let p_prime = transcript.read_point().unwrap();
    assert_eq!(p, p_prime);
    let x_prime = transcript.squeeze_challenge_scalar::<()>();
    assert_eq!(*x, *x_prime);
    let v_prime = transcript.read_scalar().unwrap();
    assert_eq!(v, v_prime);

    let mut commitment_msm = params.empty_msm();
    commitment_msm.append_term(Field::ONE, p);
    let guard = verify_proof(&params, commitment_msm, &mut transcript, *x, v).unwrap();
    let ch_verifier = transcript.squeeze_challenge();
    assert_eq!(*ch_prover, *ch_verifier);

    // Test guard behavior prior to checking another proof
    {
        // Test use_challenges()
        let msm_challenges = guard.clone().use_challenges();
        assert!(msm_challenges.eval());

        // Test use_g()
        let g = guard.compute_g();
        let (msm_g, _accumulator) = guard.clone().use_g(g);
        assert!(msm_g.eval());
    }
}
