//! Lowering of softmax, layer normalisation and tabulated functions.
//!
//! **Functions** (sigmoid, tanh, erf, exp): the input is rescaled to the table scale `s_t` and
//! saturated to the table domain `[−D, D)` by two units (the circuit enforces the saturation),
//! then looked up. `D` is 8 for sigmoid, 4 for tanh and erf (beyond which they are constant to
//! within 2^−10 or better), and the calibrated input range (rounded up to a power of two) for exp;
//! the table has `2^table_bits` entries, so `s_t = table_bits − 1 − log2 D`. Error: at most
//! `max|f'|·2^−(s_t+1)` from the input step plus `2^−(s_o+1)` from rounding the output.
//!
//! **Softmax** over rows of `n`: row maximum `m` (pairwise max units), `d = max(x − m, −16)`
//! at table scale, `e = exp(d)` by table at scale `s_e = 11 − ceil(log2 n)` (so a row sum stays
//! at most 2^11), the row sum `S` (dense tile), then per element `y = floor(e·2^s_y / S)` by a
//! division unit whose remainder a second unit checks against `S`. Error: `e^−16` from the clamp,
//! the table error, and one output step from the floor.
//!
//! **Layer normalisation** over rows of `n`: the row sum `S1` (dense tile), centred values
//! `c = round((n·x − S1)/2^t)` with `t = ceil(log2 n)` (more for a wide calibrated spread, so
//! that `σ` below fits), `SS = Σ c²` (product chip),
//! `σ = isqrt(SS·4^u + E)` (square-root unit, checked by a second unit) where `E` carries ε,
//! per element `q = floor(c·2^(10+u) / σ)` (division unit, checked), and finally
//! `round((γ√n·q + β·2^10)/2^shift)` with `γ, β` per element. `q` is the normalised value times
//! `2^10/√n`; the scale factors cancel exactly, so the error is the rounding of `c` and `σ`
//! (half a step of `c` against the row's `σ`: about `2^−10` relative for a row whose spread is
//! the calibrated maximum, proportionally more for a row with a smaller spread) and of `γ`, `β`.

use zkinfer_circuits::ops::GatherOp;
use zkinfer_circuits::{
    FunctionTable, Op, ProductOp, TableOp, TensorId, UnitKind, UnitMode, UnitOp,
};

use super::lower::{divide_kind, rescale_kind, Lowering};
use super::quantize_value;
use crate::error::QuantizeError;
use crate::graph::{FloatNode, Function, Tabulated};

/// Softmax inputs below the row maximum by more than this are treated as this far below.
const SOFTMAX_FLOOR: f64 = 16.0;

/// The largest layer-norm root `σ` the calibrated range may produce: the root check holds
/// `2σ − r ≤ 2σ`, which must fit in an activation (±2047) with room for rounding.
const SIGMA_LIMIT: f64 = 1000.0;

/// The inputs a table covers: `[lo, hi]` at scale `scale`.
#[derive(Clone, Copy, Debug)]
struct TableDomain {
    scale: i32,
    lo: i64,
    hi: i64,
}

fn ceil_log2(n: usize) -> i32 {
    (usize::BITS - (n.max(1) - 1).leading_zeros()) as i32
}

impl Lowering<'_> {
    /// `y = clamp(round(x · 2^(to − from)), lo, hi)` in two units: the table input.
    fn clamp_to_table(
        &mut self,
        name: &str,
        x: TensorId,
        from: i32,
        to: TableDomain,
        len: usize,
    ) -> TensorId {
        let TableDomain { scale, lo, hi } = to;
        let (ca, shift) = if scale >= from {
            (1i64 << (scale - from), 0)
        } else {
            (1, (from - scale) as u32)
        };
        let low = UnitKind {
            ca,
            c0: -lo << shift,
            out_c: lo,
            ..rescale_kind(shift, true)
        };
        let floor = self.push_unit(
            &format!("{name}/floor"),
            UnitOp::elementwise(len, low),
            vec![x],
            vec![len],
        );
        let high = UnitKind {
            ca: -1,
            c0: hi,
            relu: -1,
            out_c: hi,
            ..rescale_kind(0, true)
        };
        self.push_unit(
            &format!("{name}/ceiling"),
            UnitOp::elementwise(len, high),
            vec![floor],
            vec![len],
        )
    }

    /// The table of `f` on inputs `[lo, hi]` at scale `s_t`, outputs at scale `s_o`.
    fn table(&mut self, f: Tabulated, s_t: i32, lo: i64, hi: i64, s_o: i32) -> usize {
        let values = (lo..=hi)
            .map(|t| quantize_value(f.eval(t as f64 / 2f64.powi(s_t)), s_o))
            .collect();
        self.b.table(FunctionTable {
            name: format!(
                "{} (input 2^-{s_t}, output 2^-{s_o})",
                f.f.name().to_lowercase()
            ),
            lo,
            values,
        })
    }

    pub(super) fn function(
        &mut self,
        node: &FloatNode,
        t: Tabulated,
        range: f64,
    ) -> Result<(TensorId, i32), QuantizeError> {
        let (x, s_x) = self.input(node, 0)?;
        let len = self.graph.tensors[node.output].len();
        // The domain of x: where a·x + b stays inside the range f is not yet constant on.
        let saturation = |d: f64| {
            let (a, b) = (f64::from(t.a).abs().max(1e-12), f64::from(t.b));
            ((d - b) / a).abs().max(((-d - b) / a).abs())
        };
        let domain: f64 = match t.f {
            Function::Sigmoid => saturation(8.0),
            Function::Tanh | Function::Erf => saturation(4.0),
            Function::Exp => self.ranges[node.inputs[0]].max(1.0),
        };
        let log_d = domain.log2().ceil() as i32;
        let s_t = self.options.table_bits as i32 - 1 - log_d;
        let (lo, hi) = (-(1i64 << (log_d + s_t)), (1i64 << (log_d + s_t)) - 1);
        let s_o = self.act_scale(range);
        let input =
            self.clamp_to_table(&node.name, x, s_x, TableDomain { scale: s_t, lo, hi }, len);
        let table = self.table(t, s_t, lo, hi, s_o);
        let y = self.b.push(
            &node.name,
            Op::Table(TableOp { table }),
            vec![input],
            self.shape_of(node),
        );
        Ok((y, s_o))
    }

    /// A per-row sum of `x` (rows of `n` consecutive elements) on the dense tile.
    fn row_sums(&mut self, name: &str, x: TensorId, rows: usize, n: usize) -> TensorId {
        let op = zkinfer_circuits::LinearOp {
            channels: rows,
            taps: n,
            weights: vec![1; rows * n],
            bias: vec![0; rows],
            groups: rows,
            positions: 1,
            gather: (0..(rows * n) as u32).map(Some).collect(),
            channel_major: true,
            structural: true,
        };
        self.b.push(name, Op::Linear(op), vec![x], vec![rows])
    }

    pub(super) fn softmax(
        &mut self,
        node: &FloatNode,
        n: usize,
        range: f64,
    ) -> Result<(TensorId, i32), QuantizeError> {
        let (x, s_x) = self.input(node, 0)?;
        let len = self.graph.tensors[node.output].len();
        let rows = len / n;
        let name = &node.name;
        let row_of = |i: usize| (i / n) as u32;
        let groups = (0..rows)
            .map(|r| ((r * n) as u32..((r + 1) * n) as u32).collect())
            .collect();
        let max = self.max_tree(&format!("{name}/rowmax"), x, groups, vec![rows])?;

        // d = max(x − m, −16) at the table scale.
        let log_d = SOFTMAX_FLOOR.log2() as i32;
        let s_t = self.options.table_bits as i32 - log_d;
        let lo = -(1i64 << (log_d + s_t));
        let (k, shift) = if s_t >= s_x {
            (1i64 << (s_t - s_x), 0)
        } else {
            (1, (s_x - s_t) as u32)
        };
        let clamp = UnitKind {
            ca: k,
            cb: -k,
            c0: -lo << shift,
            out_c: lo,
            ..rescale_kind(shift, true)
        };
        let shifted = UnitOp {
            a: (0..len as u32).collect(),
            b: (0..len).map(row_of).collect(),
            kinds: vec![clamp],
            kind_of: vec![],
            with_remainder: false,
        };
        let d = self.push_unit(&format!("{name}/shift"), shifted, vec![x, max], vec![len]);

        // Σe ≤ n·2^s_e ≤ 2^11, so remainders and their checks fit the unit's ranges.
        let s_e = 11 - ceil_log2(n);
        let table = self.table(Tabulated::plain(Function::Exp), s_t, lo, 0, s_e);
        let e = self.b.push(
            &format!("{name}/exp"),
            Op::Table(TableOp { table }),
            vec![d],
            vec![len],
        );
        let sums = self.row_sums(&format!("{name}/sum"), e, rows, n);

        // A probability of 1 must fit below 2^11.
        let s_y = self.act_scale(range).min(10);
        let divide = UnitOp {
            a: (0..len as u32).collect(),
            b: (0..len).map(row_of).collect(),
            kinds: vec![divide_kind(1 << s_y, 0)],
            kind_of: vec![],
            with_remainder: true,
        };
        let quotients = self.push_unit(
            &format!("{name}/divide"),
            divide,
            vec![e, sums],
            vec![2 * len],
        );
        self.check_below(&format!("{name}/check"), quotients, sums, len, &|i| {
            row_of(i)
        })?;
        let sources = (0..len as u32).map(|i| (0u8, 2 * i)).collect();
        let y = self.b.push(
            name,
            Op::Gather(GatherOp { sources }),
            vec![quotients],
            self.shape_of(node),
        );
        Ok((y, s_y))
    }

    /// Units asserting `remainder_i < divisor[divisor_of(i)]` for the `(q, r)` pairs of a
    /// division unit op.
    fn check_below(
        &mut self,
        name: &str,
        pairs: TensorId,
        divisors: TensorId,
        len: usize,
        divisor_of: &dyn Fn(usize) -> u32,
    ) -> Result<(), QuantizeError> {
        let below = UnitKind {
            ca: -1,
            cb: 1,
            c0: -1,
            nonneg: true,
            linear: 0,
            ..rescale_kind(0, false)
        };
        let op = UnitOp {
            a: (0..len as u32).map(|i| 2 * i + 1).collect(),
            b: (0..len).map(divisor_of).collect(),
            kinds: vec![below],
            kind_of: vec![],
            with_remainder: false,
        };
        self.push_unit(name, op, vec![pairs, divisors], vec![len]);
        Ok(())
    }

    pub(super) fn layer_norm(
        &mut self,
        node: &FloatNode,
        gamma: &[f32],
        beta: &[f32],
        epsilon: f64,
        range: f64,
    ) -> Result<(TensorId, i32), QuantizeError> {
        let (x, s_x) = self.input(node, 0)?;
        let n = gamma.len();
        let len = self.graph.tensors[node.output].len();
        let rows = len / n;
        let name = &node.name;
        let row_of = |i: usize| (i / n) as u32;

        let sums = self.row_sums(&format!("{name}/sum"), x, rows, n);
        // The centring shift `t` keeps `c` in range; it grows past `log2 n` when the calibrated
        // spread would push the root `σ` past `SIGMA_LIMIT` (σ ≈ √n · κ · 2^s_x · std, κ = n/2^t).
        let std_max = self.ranges[node.inputs[0]].max(1e-6);
        let root_at = |t: i32| {
            let kappa = n as f64 / 2f64.powi(t);
            (n as f64).sqrt() * kappa * 2f64.powi(s_x) * std_max
        };
        let t0 = ceil_log2(n);
        let extra = (root_at(t0) / SIGMA_LIMIT).log2().ceil().max(0.0) as i32;
        let t = (t0 + extra).min(zkinfer_circuits::arith::MAX_SHIFT as i32);
        let centre = UnitKind {
            ca: n as i64,
            cb: -1,
            ..rescale_kind(t as u32, false)
        };
        let centred_op = UnitOp {
            a: (0..len as u32).collect(),
            b: (0..len).map(row_of).collect(),
            kinds: vec![centre],
            kind_of: vec![],
            with_remainder: false,
        };
        let c = self.push_unit(
            &format!("{name}/centre"),
            centred_op,
            vec![x, sums],
            vec![len],
        );

        let squares = ProductOp {
            terms: n,
            a: (0..len as u32).collect(),
            b: (0..len as u32).collect(),
        };
        let ss = self.b.push(
            &format!("{name}/squares"),
            Op::Product(squares),
            vec![c, c],
            vec![rows],
        );

        // σ = isqrt(SS·4^u + E) ≈ √n · κ · 2^(s_x+u) · std, with κ = n / 2^t; u gives σ about
        // 10 bits, so that the root check `2σ − r` (up to 2σ) stays inside the activation range.
        let kappa = n as f64 / 2f64.powi(t);
        let u = ((SIGMA_LIMIT / root_at(t)).log2().floor() as i32).clamp(0, 12);
        let e = (n as f64 * epsilon * kappa * kappa * 2f64.powi(2 * (s_x + u)))
            .round()
            .max(1.0) as i64;
        let sqrt = UnitKind {
            mode: UnitMode::Sqrt,
            ca: 1 << (2 * u),
            c0: e,
            nonneg: true,
            ..rescale_kind(0, false)
        };
        let sqrt_op = UnitOp {
            with_remainder: true,
            ..UnitOp::elementwise(rows, sqrt)
        };
        let sigma = self.push_unit(&format!("{name}/sqrt"), sqrt_op, vec![ss], vec![2 * rows]);
        // r ≤ 2σ, i.e. 2σ − r ≥ 0.
        let root_check = UnitKind {
            ca: 2,
            cb: -1,
            nonneg: true,
            linear: 0,
            ..rescale_kind(0, false)
        };
        let check_op = UnitOp {
            a: (0..rows as u32).map(|r| 2 * r).collect(),
            b: (0..rows as u32).map(|r| 2 * r + 1).collect(),
            kinds: vec![root_check],
            kind_of: vec![],
            with_remainder: false,
        };
        self.push_unit(
            &format!("{name}/sqrt_check"),
            check_op,
            vec![sigma, sigma],
            vec![rows],
        );

        // q = floor(c·2^(10+u) / σ): the normalised value times 2^10/√n.
        let divide = UnitOp {
            a: (0..len as u32).collect(),
            b: (0..len).map(|i| 2 * row_of(i)).collect(),
            kinds: vec![divide_kind(1 << (10 + u), 0)],
            kind_of: vec![],
            with_remainder: true,
        };
        let quotients = self.push_unit(
            &format!("{name}/divide"),
            divide,
            vec![c, sigma],
            vec![2 * len],
        );
        self.check_below(&format!("{name}/check"), quotients, sigma, len, &|i| {
            2 * row_of(i)
        })?;

        // y = γ·√n·q/2^10 + β.
        let g: Vec<f64> = gamma
            .iter()
            .map(|&v| f64::from(v) * (n as f64).sqrt())
            .collect();
        let m = self.weight_scale(g.iter().fold(0.0, |a, v| a.max(v.abs())));
        let m = m.min(self.act_scale(range) + zkinfer_circuits::arith::MAX_SHIFT as i32 - 10);
        let (shift, s_y) = self.shift_to(m + 10, range);
        let affine = self.kinds_per_element(node, len, |i| UnitKind {
            ca: quantize_value(g[i % n], m),
            c0: quantize_value(f64::from(beta[i % n]), m + 10),
            ..rescale_kind(shift, false)
        })?;
        let affine = UnitOp {
            a: (0..len as u32).map(|i| 2 * i).collect(),
            ..affine
        };
        Ok((
            self.push_unit(name, affine, vec![quotients], self.shape_of(node)),
            s_y,
        ))
    }
}
