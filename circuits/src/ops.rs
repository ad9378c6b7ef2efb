//! The integer operators a network is made of, and their exact semantics.
//!
//! Each operator maps onto one engine of the circuit:
//!
//! | operator | engine | used for |
//! |---|---|---|
//! | [`LinearOp`] | dense tile (fixed weights) | Gemm, MatMul by a constant, Conv, pooling sums, reductions |
//! | [`UnitOp`] | unit lanes | rescale, ReLU, max, add/sub/mul, affine, division, square root |
//! | [`ProductOp`] | product chip | MatMul of two activations |
//! | [`TableOp`] | lookup lanes | sigmoid, tanh, erf, exp (fixed tables) |
//! | [`GatherOp`] | none (copy constraints) | reshape, transpose, slice, concat |

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::arith::{activation_in_range, isqrt, relu, rescale, MAX_SHIFT};

/// Weighted sums with fixed weights over gathered inputs:
/// `y[c, p] = bias[c] + Σ_k weights[c][k] · x[gather[g(c)][p][k]]`, where a missing tap
/// (`None`, zero padding) contributes nothing and `g(c) = c / (channels / groups)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinearOp {
    /// Output channels.
    pub channels: usize,
    /// Weights per channel.
    pub taps: usize,
    /// `[channels][taps]`.
    pub weights: Vec<i64>,
    /// One per channel.
    pub bias: Vec<i64>,
    /// Channel groups (1 for dense layers and ordinary convolutions).
    pub groups: usize,
    /// Output positions per channel.
    pub positions: usize,
    /// `[groups][positions][taps]`: the input element each tap reads.
    pub gather: Vec<Option<u32>>,
    /// Output index of `(c, p)`: `c·positions + p` if true, else `p·channels + c`.
    pub channel_major: bool,
    /// Whether the weights and bias are part of the architecture rather than trained
    /// parameters: pooling windows, the all-ones row sums of softmax and layer norm, the sums
    /// that join a split operator's parts. With committed weights a structural operator keeps
    /// its weights in fixed columns, public in the verifying key and in the verifier's copy of
    /// the model; only the other (trained) operators' weights and biases are committed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub structural: bool,
}

impl LinearOp {
    /// The weights of channel `c`.
    pub fn row(&self, c: usize) -> &[i64] {
        &self.weights[c * self.taps..(c + 1) * self.taps]
    }

    /// The group of channel `c`.
    pub fn group(&self, c: usize) -> usize {
        c / (self.channels / self.groups)
    }

    /// The inputs read at position `p` by group `g`.
    pub fn taps_at(&self, g: usize, p: usize) -> &[Option<u32>] {
        let start = (g * self.positions + p) * self.taps;
        &self.gather[start..start + self.taps]
    }

    /// Flat output index of channel `c` at position `p`.
    pub fn output_index(&self, c: usize, p: usize) -> usize {
        if self.channel_major {
            c * self.positions + p
        } else {
            p * self.channels + c
        }
    }

    /// Number of outputs (saturating: [`Network::validate`](crate::Network::validate) refuses
    /// an operator whose sizes overflow).
    pub fn len(&self) -> usize {
        self.channels.saturating_mul(self.positions)
    }

    /// Whether the operator has no outputs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Exact integer evaluation.
    pub fn eval(&self, x: &[i64]) -> Vec<i64> {
        let mut y = vec![0i64; self.len()];
        let values: Vec<(usize, i64)> = (0..self.len())
            .into_par_iter()
            .with_min_len(64)
            .map(|o| {
                let (c, p) = (o / self.positions, o % self.positions);
                let taps = self.taps_at(self.group(c), p);
                let sum = self
                    .row(c)
                    .iter()
                    .zip(taps)
                    .filter_map(|(&w, t)| t.map(|i| i128::from(w) * i128::from(x[i as usize])))
                    .sum::<i128>();
                (
                    self.output_index(c, p),
                    (i128::from(self.bias[c]) + sum) as i64,
                )
            })
            .collect();
        for (index, value) in values {
            y[index] = value;
        }
        y
    }
}

/// How a unit relates its quotient `q` and remainder `r` to `v` (see [`UnitKind`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum UnitMode {
    /// `v + half = q·2^shift + r`, `0 ≤ r < 2^shift`: rounding division by a power of two.
    Rescale {
        /// The shift, at most [`MAX_SHIFT`].
        shift: u32,
    },
    /// `v = q·b + r`, `0 ≤ r < 2^12`: floor division by the operand `b` (which must be positive;
    /// `r < b` is checked by a second unit, which [`Network::validate`](crate::Network::validate)
    /// requires, as it requires the operator to output its remainders).
    Divide,
    /// `v = q² + r`, `q ≥ 0`, `0 ≤ r < 2^12`: integer square root (`r ≤ 2q` is checked by a second
    /// unit, which [`Network::validate`](crate::Network::validate) requires).
    Sqrt,
}

/// The coefficients of one unit computation on operands `a` and `b`:
///
/// ```text
/// v = ca·a + cb·b + cab·a·b + caa·a² + c0
/// q, r from v by `mode`, with q ∈ [ACTIVATION_MIN, ACTIVATION_MAX]
/// y = relu·max(q, 0) + linear·q + out_b·b + out_c
/// ```
///
/// and, if `nonneg`, the check `q ≥ 0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitKind {
    /// How `q` follows from `v`.
    pub mode: UnitMode,
    /// Coefficient of `a`.
    pub ca: i64,
    /// Coefficient of `b`.
    pub cb: i64,
    /// Coefficient of `a·b`.
    pub cab: i64,
    /// Coefficient of `a²`.
    pub caa: i64,
    /// Constant term.
    pub c0: i64,
    /// Coefficient of `max(q, 0)` in the output.
    pub relu: i64,
    /// Coefficient of `q` in the output.
    pub linear: i64,
    /// Coefficient of `b` in the output.
    pub out_b: i64,
    /// Constant added to the output.
    pub out_c: i64,
    /// Whether the circuit asserts `q ≥ 0`.
    pub nonneg: bool,
}

impl UnitKind {
    /// `y = act(round(ca·a / 2^shift))`: a plain rescale, with an optional ReLU.
    pub fn rescale(shift: u32, relu: bool) -> Self {
        Self {
            mode: UnitMode::Rescale { shift },
            ca: 1,
            cb: 0,
            cab: 0,
            caa: 0,
            c0: 0,
            relu: i64::from(relu),
            linear: i64::from(!relu),
            out_b: 0,
            out_c: 0,
            nonneg: false,
        }
    }

    /// The quotient and remainder for operands `a`, `b`, or why there are none.
    pub fn quotient(&self, a: i64, b: i64) -> Result<(i64, i64), UnitFailure> {
        let (a, b) = (i128::from(a), i128::from(b));
        let v = i128::from(self.ca) * a
            + i128::from(self.cb) * b
            + i128::from(self.cab) * a * b
            + i128::from(self.caa) * a * a
            + i128::from(self.c0);
        let (q, r) = match self.mode {
            UnitMode::Rescale { shift } => rescale(v, shift),
            UnitMode::Divide => {
                if b <= 0 {
                    return Err(UnitFailure::NonPositiveDivisor(b as i64));
                }
                (v.div_euclid(b), v.rem_euclid(b))
            }
            UnitMode::Sqrt => {
                if v < 0 {
                    return Err(UnitFailure::NegativeSqrt(v as i64));
                }
                let q = isqrt(v);
                (q, v - q * q)
            }
        };
        let q = i64::try_from(q).unwrap_or(i64::MAX);
        if !activation_in_range(q) {
            return Err(UnitFailure::OutOfRange(q));
        }
        if r >= 1 << MAX_SHIFT {
            return Err(UnitFailure::RemainderTooLarge(r as i64));
        }
        if self.nonneg && q < 0 {
            return Err(UnitFailure::Negative(q));
        }
        Ok((q, r as i64))
    }

    /// Every integer coefficient, by field name.
    pub fn coefficients(&self) -> [(&'static str, i64); 9] {
        [
            ("ca", self.ca),
            ("cb", self.cb),
            ("cab", self.cab),
            ("caa", self.caa),
            ("c0", self.c0),
            ("relu", self.relu),
            ("linear", self.linear),
            ("out_b", self.out_b),
            ("out_c", self.out_c),
        ]
    }

    /// The output for quotient `q` and operand `b`.
    pub fn output(&self, q: i64, b: i64) -> i64 {
        self.relu * relu(q) + self.linear * q + self.out_b * b + self.out_c
    }
}

/// Why a unit cannot compute a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnitFailure {
    /// The quotient is outside the activation range.
    OutOfRange(i64),
    /// A remainder does not fit the remainder digits.
    RemainderTooLarge(i64),
    /// Division by a value that is not positive.
    NonPositiveDivisor(i64),
    /// Square root of a negative value.
    NegativeSqrt(i64),
    /// A check that the quotient is non-negative failed.
    Negative(i64),
}

impl std::fmt::Display for UnitFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UnitFailure::OutOfRange(q) => write!(
                f,
                "value {q} is outside the quantised range [{}, {}]",
                crate::arith::ACTIVATION_MIN,
                crate::arith::ACTIVATION_MAX
            ),
            UnitFailure::RemainderTooLarge(r) => write!(f, "remainder {r} exceeds 2^{MAX_SHIFT}"),
            UnitFailure::NonPositiveDivisor(b) => {
                write!(f, "division by {b}, which is not positive")
            }
            UnitFailure::NegativeSqrt(v) => write!(f, "square root of the negative value {v}"),
            UnitFailure::Negative(q) => write!(f, "value {q} should not be negative"),
        }
    }
}

/// An elementwise computation through the unit lanes: element `i` computes
/// `kinds[kind_of[i]]` on operands `x0[a[i]]` and `x1[b[i]]` (`b` is empty for unary units,
/// whose `b` operand is 0 — and whose kinds may not read it: the circuit does not wire it).
/// The output holds `y` per element, or `(y, r)` pairs when `with_remainder` is set (a division
/// or square root whose remainder a later unit checks; only those output remainders).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitOp {
    /// Per element, the index of operand `a` in the first input.
    pub a: Vec<u32>,
    /// Per element, the index of operand `b` in the second input (empty: no `b`).
    pub b: Vec<u32>,
    /// The distinct computations.
    pub kinds: Vec<UnitKind>,
    /// Per element, the index of its computation (empty: all use `kinds[0]`).
    pub kind_of: Vec<u16>,
    /// Whether the output interleaves each element's remainder after its value.
    #[serde(default)]
    pub with_remainder: bool,
}

impl UnitOp {
    /// A unary unit applying `kind` to every element of an input of `len` values.
    pub fn elementwise(len: usize, kind: UnitKind) -> Self {
        Self {
            a: (0..len as u32).collect(),
            b: Vec::new(),
            kinds: vec![kind],
            kind_of: Vec::new(),
            with_remainder: false,
        }
    }

    /// Number of computations (units).
    pub fn len(&self) -> usize {
        self.a.len()
    }

    /// Whether the operator has no computations.
    pub fn is_empty(&self) -> bool {
        self.a.is_empty()
    }

    /// Number of output values.
    pub fn output_len(&self) -> usize {
        self.len() * if self.with_remainder { 2 } else { 1 }
    }

    /// The computation of element `i`.
    pub fn kind(&self, i: usize) -> &UnitKind {
        &self.kinds[self.kind_of.get(i).map_or(0, |&k| k as usize)]
    }

    /// The operands of element `i`.
    pub fn operands(&self, i: usize, x0: &[i64], x1: Option<&[i64]>) -> (i64, i64) {
        let a = x0[self.a[i] as usize];
        let b = match (self.b.get(i), x1) {
            (Some(&j), Some(x1)) => x1[j as usize],
            _ => 0,
        };
        (a, b)
    }

    /// Exact integer evaluation: per element `(a, b, q, r, y)`.
    pub fn eval(
        &self,
        x0: &[i64],
        x1: Option<&[i64]>,
    ) -> Result<Vec<UnitValues>, (usize, UnitFailure)> {
        (0..self.len())
            .into_par_iter()
            .with_min_len(256)
            .map(|i| {
                let (a, b) = self.operands(i, x0, x1);
                let kind = self.kind(i);
                let (q, r) = kind.quotient(a, b).map_err(|e| (i, e))?;
                Ok(UnitValues {
                    a,
                    b,
                    q,
                    r,
                    y: kind.output(q, b),
                })
            })
            .collect()
    }
}

/// The values of one unit computation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnitValues {
    /// Operand `a`.
    pub a: i64,
    /// Operand `b`.
    pub b: i64,
    /// Quotient.
    pub q: i64,
    /// Remainder (unscaled).
    pub r: i64,
    /// Output.
    pub y: i64,
}

/// Dot products of two activations: output `o` is `Σ_k x0[a[o][k]] · x1[b[o][k]]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductOp {
    /// Terms per output.
    pub terms: usize,
    /// `[outputs][terms]` indices into the first input.
    pub a: Vec<u32>,
    /// `[outputs][terms]` indices into the second input.
    pub b: Vec<u32>,
}

impl ProductOp {
    /// Number of outputs.
    pub fn len(&self) -> usize {
        self.a.len() / self.terms.max(1)
    }

    /// Whether the operator has no outputs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Exact integer evaluation.
    pub fn eval(&self, x0: &[i64], x1: &[i64]) -> Vec<i64> {
        (0..self.len())
            .into_par_iter()
            .with_min_len(64)
            .map(|o| {
                let range = o * self.terms..(o + 1) * self.terms;
                self.a[range.clone()]
                    .iter()
                    .zip(&self.b[range])
                    .map(|(&i, &j)| i128::from(x0[i as usize]) * i128::from(x1[j as usize]))
                    .sum::<i128>() as i64
            })
            .collect()
    }
}

/// A function tabulated on the contiguous integer domain `[lo, lo + values.len())`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionTable {
    /// What the table computes (for messages), e.g. `erf (in 2^-5, out 2^-10)`.
    pub name: String,
    /// First input of the domain.
    pub lo: i64,
    /// `values[i]` is the output for input `lo + i`.
    pub values: Vec<i64>,
}

impl FunctionTable {
    /// Last input of the domain.
    pub fn hi(&self) -> i64 {
        (self.values.len() as i64)
            .saturating_sub(1)
            .saturating_add(self.lo)
    }

    /// The output for `x`, if `x` is in the domain.
    pub fn get(&self, x: i64) -> Option<i64> {
        x.checked_sub(self.lo)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.values.get(i))
            .copied()
    }
}

/// Elementwise lookup: `y[i] = table(x[i])`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableOp {
    /// Index of the table in [`Network::tables`](crate::Network::tables).
    pub table: usize,
}

/// Pure data movement: output `i` is element `sources[i].1` of input `sources[i].0`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatherOp {
    /// Per output: (input number, element index).
    pub sources: Vec<(u8, u32)>,
}

/// One operator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// See [`LinearOp`].
    Linear(LinearOp),
    /// See [`UnitOp`].
    Unit(UnitOp),
    /// See [`ProductOp`].
    Product(ProductOp),
    /// See [`TableOp`].
    Table(TableOp),
    /// See [`GatherOp`].
    Gather(GatherOp),
}

impl Op {
    /// Short name of the operator kind.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Op::Linear(_) => "linear",
            Op::Unit(_) => "unit",
            Op::Product(_) => "product",
            Op::Table(_) => "table",
            Op::Gather(_) => "gather",
        }
    }
}
