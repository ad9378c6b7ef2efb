//! The integer network: the single definition of what a quantised model computes.
//!
//! A network is a list of operators ([`ops`](crate::ops)) in topological order over flat
//! integer tensors. Its [`forward`](Network::forward) pass is the native integer inference, the
//! source of every witness value, and the oracle the circuit is tested against.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::arith::{activation_in_range, ACTIVATION_MAX, ACTIVATION_MIN, MAX_MAGNITUDE, MAX_SHIFT};
use crate::ops::{FunctionTable, LinearOp, Op, UnitKind, UnitMode, UnitOp};

/// Most values a tensor may hold (element indices are `u32`).
pub const MAX_TENSOR_LEN: usize = u32::MAX as usize;

/// Largest magnitude a unit's `v = ca·a + cb·b + cab·a·b + caa·a² + c0` may reach: the forward
/// pass computes it in `i128`, and the gate multiplies it by at most `2^12`, far below the field.
const MAX_UNIT_INPUT: f64 = (1u128 << 120) as f64;

/// Index of a tensor in [`Network::tensors`].
pub type TensorId = usize;

/// A tensor's name and shape (its values are flat, row-major).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorInfo {
    /// Name (the ONNX tensor it came from).
    pub name: String,
    /// Shape.
    pub shape: Vec<usize>,
}

impl TensorInfo {
    /// Number of values (saturating: [`Network::validate`] refuses a shape of more than
    /// [`MAX_TENSOR_LEN`] values).
    pub fn len(&self) -> usize {
        self.shape.iter().fold(1usize, |n, &d| n.saturating_mul(d))
    }

    /// Whether the tensor has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One operator application.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// Name (the ONNX node it came from), used in error messages.
    pub name: String,
    /// The operator.
    pub op: Op,
    /// Input tensors.
    pub inputs: Vec<TensorId>,
    /// Output tensor.
    pub output: TensorId,
}

/// An integer network with one input and one output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    /// Every tensor.
    pub tensors: Vec<TensorInfo>,
    /// The input tensor.
    pub input: TensorId,
    /// The output tensor.
    pub output: TensorId,
    /// Operators in topological order; each writes a distinct tensor.
    pub nodes: Vec<Node>,
    /// Function tables used by [`TableOp`](crate::ops::TableOp)s.
    pub tables: Vec<FunctionTable>,
    /// What proofs reveal of the input (see [`commitment`](crate::commitment)).
    #[serde(default)]
    pub input_visibility: Visibility,
    /// What proofs reveal of the output. A network proving a claim about its output keeps it
    /// private and checks the claim with nodes after it (see [`checks`](crate::checks)).
    #[serde(default)]
    pub output_visibility: Visibility,
    /// For a hashed input: the tensor of range-checked input values the commitment hashes.
    #[serde(default)]
    pub committed_input: Option<TensorId>,
    /// For a hashed output: the tensor of range-checked output values the commitment hashes.
    #[serde(default)]
    pub committed_output: Option<TensorId>,
    /// Committed weights: the model's parameters as private values bound by a public Poseidon
    /// commitment instead of fixed columns (see
    /// [`with_committed_weights`](crate::commitment::with_committed_weights)).
    #[serde(default)]
    pub params: Option<Parameters>,
    /// For one slice of a sliced model: the values it reads from and writes to link columns,
    /// shared with other slices' proofs (see [`slicing`](crate::slicing)). Never read from a
    /// model file: slices are derived from the whole network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<Links>,
}

/// The link columns of one slice: values the slice shares with the proofs of other slices.
///
/// Link-in values are source tensors, like the input: the prover supplies them in the slice's
/// link-in columns, and the proof of the slice that computed them holds the same values in
/// link-out columns with the same commitment. The link-in tensors' values, one tensor after
/// the other, make up the link-in segments (one per slice they come from); each segment starts
/// a column of its own, so a segment's columns hold nothing else. Likewise the link-out
/// tensor's values make up the link-out segments (one per slice that reads them).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Links {
    /// The link-in tensors, in column order, each with the worst-case magnitude of its values
    /// (from the whole network's interval analysis).
    pub inputs: Vec<LinkInput>,
    /// Lengths of the link-in segments, in order.
    pub input_segments: Vec<usize>,
    /// The tensor whose values the slice writes to its link-out columns, if any.
    pub output: Option<TensorId>,
    /// Lengths of the link-out segments, in order.
    pub output_segments: Vec<usize>,
}

/// One link-in tensor of a slice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkInput {
    /// The tensor.
    pub tensor: TensorId,
    /// Worst-case magnitude of its values.
    pub bound: u64,
}

/// The parameters of a network with committed weights: a source tensor like the input, whose
/// values the prover supplies and a public commitment pins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parameters {
    /// The tensor holding the parameters.
    pub tensor: TensorId,
    /// Its values: the weights, the bias digits and the constants the products use.
    pub values: Vec<i64>,
    /// The tensor of range-checked parameters the commitment hashes.
    pub checked: TensorId,
}

/// What a proof reveals of a network's input or output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// The quantised values are public values of the proof.
    #[default]
    Public,
    /// The values are private witness: the proof reveals nothing of them.
    Private,
    /// The values are private; the proof exposes a Poseidon commitment to them.
    Hashed,
}

/// Every tensor value of one forward pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    /// Indexed by tensor id.
    pub values: Vec<Vec<i64>>,
    /// The network's output tensor id.
    pub output: TensorId,
    /// The network's input tensor id.
    pub input: TensorId,
}

impl Trace {
    /// The network's input.
    pub fn input(&self) -> &[i64] {
        &self.values[self.input]
    }

    /// The network's output.
    pub fn output(&self) -> &[i64] {
        &self.values[self.output]
    }
}

/// A network that cannot be laid out in a circuit.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum NetworkError {
    /// The network is structurally broken (dangling tensor, wrong sizes...).
    #[error("node '{node}': {problem}")]
    Malformed {
        /// Node name (or "network").
        node: String,
        /// What is wrong.
        problem: String,
    },
    /// The circuit would not prove the node's computation as the forward pass performs it: a
    /// cell the computation reads is not wired, a mode disagrees between the two, or a division
    /// or square root lacks the unit that checks its remainder.
    #[error("node '{node}': {problem}")]
    Unproven {
        /// Node name.
        node: String,
        /// What the circuit would leave unchecked.
        problem: String,
    },
    /// Some value could grow beyond what the circuit is sound for.
    #[error(
        "node '{node}': values can reach {bound:.3e}, beyond the supported magnitude 2^60; \
         lower the weight precision"
    )]
    Unbounded {
        /// Node name.
        node: String,
        /// Worst-case magnitude.
        bound: f64,
    },
}

/// An input the network cannot run on.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ForwardError {
    /// The input vector has the wrong length.
    #[error("input has {got} values, the network expects {expected}")]
    InputLength {
        /// Expected length.
        expected: usize,
        /// Given length.
        got: usize,
    },
    /// An input value lies outside the activation range.
    #[error(
        "input value {value} at index {index} is outside the quantised range [{ACTIVATION_MIN}, {ACTIVATION_MAX}]"
    )]
    InputOutOfRange {
        /// Position in the input vector.
        index: usize,
        /// The quantised value.
        value: i64,
    },
    /// A node produced a value the circuit cannot represent.
    #[error("node '{node}': element {index}: {failure}; recompile with calibration data that covers this input")]
    Unit {
        /// Node name.
        node: String,
        /// Element index within the node's output.
        index: usize,
        /// What went wrong.
        failure: String,
    },
    /// The link-in values of a slice have the wrong length.
    #[error("{got} link-in values given, the slice reads {expected}")]
    LinkLength {
        /// Expected length.
        expected: usize,
        /// Given length.
        got: usize,
    },
    /// A table lookup fell outside the table's domain.
    #[error("node '{node}': element {index}: input {value} is outside the table domain [{lo}, {hi}] of {table}")]
    TableDomain {
        /// Node name.
        node: String,
        /// Element index.
        index: usize,
        /// The input.
        value: i64,
        /// Table name.
        table: String,
        /// Domain start.
        lo: i64,
        /// Domain end (inclusive).
        hi: i64,
    },
}

impl Network {
    /// Length of the input vector.
    pub fn input_len(&self) -> usize {
        self.tensors[self.input].len()
    }

    /// Public values standing for the input: the input itself, its commitment, or none.
    pub fn public_input_len(&self) -> usize {
        match self.input_visibility {
            Visibility::Public => self.input_len(),
            Visibility::Private => 0,
            Visibility::Hashed => 1,
        }
    }

    /// Public values standing for the output: the output itself, its commitment, or none.
    pub fn public_output_len(&self) -> usize {
        match self.output_visibility {
            Visibility::Public => self.output_len(),
            Visibility::Private => 0,
            Visibility::Hashed => 1,
        }
    }

    /// Public values standing for the weights: their commitment if they are committed.
    pub fn public_weights_len(&self) -> usize {
        usize::from(self.params.is_some())
    }

    /// Whether the input is a public value.
    pub fn input_public(&self) -> bool {
        self.input_visibility == Visibility::Public
    }

    /// Whether the output is a public value.
    pub fn output_public(&self) -> bool {
        self.output_visibility == Visibility::Public
    }

    /// Length of the output vector.
    pub fn output_len(&self) -> usize {
        self.tensors[self.output].len()
    }

    /// Multiply-accumulates of one inference (linear and product operators).
    pub fn macs(&self) -> usize {
        self.nodes
            .iter()
            .map(|n| match &n.op {
                Op::Linear(l) => l.channels * l.positions * l.taps,
                Op::Product(p) => p.a.len(),
                _ => 0,
            })
            .sum()
    }

    /// Checks the structure (indices, sizes, topological order), that every value stays within
    /// [`MAX_MAGNITUDE`] for every input in the activation range (interval analysis), and that
    /// the circuit proves exactly what the forward pass computes:
    ///
    /// - no unit computation reads an operand that is not wired (a unit without a `b` operand
    ///   may not read `b`: the forward pass takes it as 0, the circuit would leave it free);
    /// - only division and square-root units output their remainder (a rescale's remainder
    ///   cell holds the remainder scaled by `2^(12 − shift)`), and those two must;
    /// - every division element has a unit asserting `divisor − remainder − 1 ≥ 0` over its own
    ///   remainder and divisor cells, and every square root `q` (asserted non-negative and
    ///   output unchanged) one asserting `2q − remainder ≥ 0`: without them the circuit accepts
    ///   other quotients and roots (checked on whole networks; a linked slice's checks may sit
    ///   in another slice, and were checked on the network it was cut from);
    /// - every coefficient, weight and table entry stays within [`MAX_MAGNITUDE`], so the native
    ///   arithmetic never overflows.
    pub fn validate(&self) -> Result<(), NetworkError> {
        self.bounds().map(|_| ())
    }

    /// [`validate`](Self::validate), returning the worst-case magnitude of every tensor's
    /// values (0 for a tensor nothing writes).
    pub fn bounds(&self) -> Result<Vec<f64>, NetworkError> {
        let malformed = |node: &str, problem: String| NetworkError::Malformed {
            node: node.to_string(),
            problem,
        };
        let n = self.tensors.len();
        for (t, tensor) in self.tensors.iter().enumerate() {
            let len = tensor
                .shape
                .iter()
                .try_fold(1usize, |n, &d| n.checked_mul(d));
            if len.is_none_or(|len| len > MAX_TENSOR_LEN) {
                return Err(malformed(
                    "network",
                    format!(
                        "tensor {t} ('{}') of shape {:?} has more than 2^32 values",
                        tensor.name, tensor.shape
                    ),
                ));
            }
        }
        if self.input >= n || self.output >= n {
            return Err(malformed(
                "network",
                "input or output tensor does not exist".into(),
            ));
        }
        for table in &self.tables {
            validate_table(table).map_err(|p| malformed("network", p))?;
        }
        let mut bound: Vec<Option<f64>> = vec![None; n];
        bound[self.input] = Some(-(ACTIVATION_MIN as f64));
        if let Some(params) = &self.params {
            if params.tensor >= n || params.tensor == self.input {
                return Err(malformed(
                    "network",
                    "the parameter tensor does not exist".into(),
                ));
            }
            if params.values.len() != self.tensors[params.tensor].len()
                || !params.values.iter().all(|&v| activation_in_range(v))
            {
                return Err(malformed(
                    "network",
                    "parameter values do not match their tensor or the activation range".into(),
                ));
            }
            bound[params.tensor] = Some(-(ACTIVATION_MIN as f64));
        }
        if let Some(links) = &self.links {
            self.validate_links(links, &mut bound)?;
        }
        for node in &self.nodes {
            let name = node.name.as_str();
            if node.output >= n {
                return Err(malformed(
                    name,
                    format!("writes tensor {}, which does not exist", node.output),
                ));
            }
            if bound[node.output].is_some() {
                return Err(malformed(
                    name,
                    format!(
                        "writes tensor {}, which is a source or written before",
                        node.output
                    ),
                ));
            }
            let inputs: Vec<(usize, f64)> = node
                .inputs
                .iter()
                .map(|&t| {
                    bound
                        .get(t)
                        .copied()
                        .flatten()
                        .map(|b| (self.tensors[t].len(), b))
                        .ok_or_else(|| {
                            malformed(name, format!("reads tensor {t} before it is written"))
                        })
                })
                .collect::<Result<_, _>>()?;
            let out_len = self.tensors[node.output].len();
            let b =
                op_bound(node, &inputs, out_len, &self.tables).map_err(|p| malformed(name, p))?;
            if let Op::Unit(op) = &node.op {
                unit_modes(op).map_err(|problem| NetworkError::Unproven {
                    node: name.to_string(),
                    problem,
                })?;
            }
            if b.is_nan() || b >= MAX_MAGNITUDE as f64 {
                return Err(NetworkError::Unbounded {
                    node: name.to_string(),
                    bound: b,
                });
            }
            bound[node.output] = Some(b);
        }
        if bound[self.output].is_none() {
            return Err(malformed(
                "network",
                "the output tensor is never written".into(),
            ));
        }
        if let Some(output) = self.links.as_ref().and_then(|l| l.output) {
            if bound.get(output).copied().flatten().is_none() {
                return Err(malformed(
                    "network",
                    "the link-out tensor is never written".into(),
                ));
            }
        }
        if let Some(i) = (0..self.output_len()).find(|&i| self.is_input_copy(self.output, i)) {
            return Err(malformed(
                "network",
                format!(
                    "output element {i} is a copy of an input element; route it through a unit"
                ),
            ));
        }
        if self.links.is_none() {
            self.validate_remainder_checks()?;
        }
        Ok(bound.into_iter().map(|b| b.unwrap_or(0.0)).collect())
    }

    /// Checks that every division and square root has the unit that checks its remainder (see
    /// [`validate`](Self::validate)). The network must be otherwise valid.
    fn validate_remainder_checks(&self) -> Result<(), NetworkError> {
        let mut producer: Vec<Option<usize>> = vec![None; self.tensors.len()];
        for (i, node) in self.nodes.iter().enumerate() {
            producer[node.output] = Some(i);
        }
        // The element a tensor element is a copy of, through gathers: cells with equal bases
        // are copies of one cell.
        let base = |mut tensor: TensorId, index: u32| -> (TensorId, usize) {
            let mut index = index as usize;
            while let Some(node) = producer[tensor].map(|i| &self.nodes[i]) {
                let Op::Gather(op) = &node.op else { break };
                let (input, element) = op.sources[index];
                tensor = node.inputs[input as usize];
                index = element as usize;
            }
            (tensor, index)
        };
        // The (a, b) elements every check unit compares, by the check it makes.
        let mut below = HashSet::new();
        let mut root = HashSet::new();
        for node in &self.nodes {
            let Op::Unit(op) = &node.op else { continue };
            if op.b.is_empty() {
                continue;
            }
            for i in 0..op.len() {
                let set = match RemainderCheck::of(op.kind(i)) {
                    Some(RemainderCheck::BelowDivisor) => &mut below,
                    Some(RemainderCheck::AtMostTwiceRoot) => &mut root,
                    None => continue,
                };
                set.insert((base(node.inputs[0], op.a[i]), base(node.inputs[1], op.b[i])));
            }
        }
        for node in &self.nodes {
            let Op::Unit(op) = &node.op else { continue };
            for i in 0..op.len() {
                let (quotient, remainder) = ((node.output, 2 * i), (node.output, 2 * i + 1));
                let problem = match op.kind(i).mode {
                    UnitMode::Divide
                        if !below.contains(&(remainder, base(node.inputs[1], op.b[i]))) =>
                    {
                        format!(
                            "element {i} divides by operand b, but no unit checks its remainder \
                             against its divisor (a non-negative unit computing divisor − \
                             remainder − 1 from both cells), so the circuit would accept other \
                             quotients"
                        )
                    }
                    UnitMode::Sqrt if !root.contains(&(quotient, remainder)) => format!(
                        "element {i} takes a square root q, but no unit checks its remainder \
                         r ≤ 2q (a non-negative unit computing 2q − r from both cells), so the \
                         circuit would accept smaller roots"
                    ),
                    _ => continue,
                };
                return Err(NetworkError::Unproven {
                    node: node.name.clone(),
                    problem,
                });
            }
        }
        Ok(())
    }

    /// Checks the link tensors and their segments; marks the link-in tensors as sources with
    /// their bounds.
    fn validate_links(&self, links: &Links, bound: &mut [Option<f64>]) -> Result<(), NetworkError> {
        let malformed = |problem: &str| NetworkError::Malformed {
            node: "network".into(),
            problem: problem.into(),
        };
        let n = self.tensors.len();
        let output_len = match links.output {
            Some(t) if t < n => self.tensors[t].len(),
            Some(_) => return Err(malformed("the link-out tensor does not exist")),
            None => 0,
        };
        let mut input_len = 0;
        for link in &links.inputs {
            let fresh = link.tensor < n
                && link.tensor != self.input
                && links.output != Some(link.tensor)
                && bound[link.tensor].is_none();
            if !fresh || link.bound as f64 >= MAX_MAGNITUDE as f64 {
                return Err(malformed("a link-in tensor is not a fresh, bounded source"));
            }
            bound[link.tensor] = Some(link.bound as f64);
            input_len += self.tensors[link.tensor].len();
        }
        let consistent = |segments: &[usize], len: usize| {
            !segments.contains(&0) && segments.iter().sum::<usize>() == len
        };
        if !consistent(&links.input_segments, input_len)
            || !consistent(&links.output_segments, output_len)
            || (links.output.is_some() && links.output_segments.is_empty())
        {
            return Err(malformed("link segments do not match the link tensors"));
        }
        Ok(())
    }

    /// Length of the link-in values (0 for a network that is not a linked slice).
    pub fn link_input_len(&self) -> usize {
        self.links.as_ref().map_or(0, |l| {
            l.inputs.iter().map(|i| self.tensors[i.tensor].len()).sum()
        })
    }

    /// Whether element `index` of `tensor` is, through gathers only, an element of the input.
    pub fn is_input_copy(&self, mut tensor: TensorId, mut index: usize) -> bool {
        loop {
            if tensor == self.input {
                return true;
            }
            let Some(node) = self.nodes.iter().find(|n| n.output == tensor) else {
                return false;
            };
            let Op::Gather(op) = &node.op else {
                return false;
            };
            let (input, element) = op.sources[index];
            tensor = node.inputs[input as usize];
            index = element as usize;
        }
    }

    /// Runs the exact integer forward pass, keeping every tensor.
    ///
    /// Fails if the input has the wrong length or lies outside the activation range, or if some
    /// node cannot represent a value. The network must have passed [`validate`](Self::validate).
    pub fn forward(&self, input: &[i64]) -> Result<Trace, ForwardError> {
        self.forward_linked(input, &[])
    }

    /// [`forward`](Self::forward) for a linked slice: `link_in` are the values of its link-in
    /// tensor (empty for a network without one).
    pub fn forward_linked(&self, input: &[i64], link_in: &[i64]) -> Result<Trace, ForwardError> {
        if link_in.len() != self.link_input_len() {
            return Err(ForwardError::LinkLength {
                expected: self.link_input_len(),
                got: link_in.len(),
            });
        }
        if input.len() != self.input_len() {
            return Err(ForwardError::InputLength {
                expected: self.input_len(),
                got: input.len(),
            });
        }
        if let Some((index, &value)) = input
            .iter()
            .enumerate()
            .find(|(_, &v)| !activation_in_range(v))
        {
            return Err(ForwardError::InputOutOfRange { index, value });
        }
        let mut values: Vec<Vec<i64>> = vec![Vec::new(); self.tensors.len()];
        values[self.input] = input.to_vec();
        if let Some(params) = &self.params {
            values[params.tensor] = params.values.clone();
        }
        if let Some(links) = &self.links {
            let mut rest = link_in;
            for link in &links.inputs {
                let (these, others) = rest.split_at(self.tensors[link.tensor].len());
                values[link.tensor] = these.to_vec();
                rest = others;
            }
        }
        for node in &self.nodes {
            let x = |i: usize| values[node.inputs[i]].as_slice();
            let y = match &node.op {
                Op::Linear(op) => op.eval(x(0)),
                Op::Unit(op) => {
                    let values = op.eval(x(0), node.inputs.get(1).map(|_| x(1))).map_err(
                        |(index, failure)| ForwardError::Unit {
                            node: node.name.clone(),
                            index,
                            failure: failure.to_string(),
                        },
                    )?;
                    if op.with_remainder {
                        values.iter().flat_map(|u| [u.y, u.r]).collect()
                    } else {
                        values.iter().map(|u| u.y).collect()
                    }
                }
                Op::Product(op) => op.eval(x(0), x(1)),
                Op::Table(op) => {
                    let table = &self.tables[op.table];
                    x(0).iter()
                        .enumerate()
                        .map(|(index, &v)| {
                            table.get(v).ok_or_else(|| ForwardError::TableDomain {
                                node: node.name.clone(),
                                index,
                                value: v,
                                table: table.name.clone(),
                                lo: table.lo,
                                hi: table.hi(),
                            })
                        })
                        .collect::<Result<_, _>>()?
                }
                Op::Gather(op) => op
                    .sources
                    .iter()
                    .map(|&(i, e)| x(i as usize)[e as usize])
                    .collect(),
            };
            values[node.output] = y;
        }
        Ok(Trace {
            values,
            output: self.output,
            input: self.input,
        })
    }
}

/// Whether a linear operator's lists and counts agree with each other and with its output
/// length `out_len` (without overflowing).
fn linear_sizes_consistent(op: &LinearOp, out_len: usize) -> bool {
    let product = |factors: &[usize]| factors.iter().try_fold(1usize, |n, &f| n.checked_mul(f));
    op.groups != 0
        && op.channels % op.groups == 0
        && product(&[op.channels, op.taps]) == Some(op.weights.len())
        && op.bias.len() == op.channels
        && product(&[op.groups, op.positions, op.taps]) == Some(op.gather.len())
        && product(&[op.channels, op.positions]) == Some(out_len)
}

/// A table whose domain and values the native arithmetic holds.
fn validate_table(table: &FunctionTable) -> Result<(), String> {
    let max = MAX_MAGNITUDE as i128;
    let lo = i128::from(table.lo);
    let hi = lo + table.values.len() as i128 - 1;
    if lo < -max || hi > max || table.values.len() > MAX_TENSOR_LEN {
        return Err(format!(
            "table '{}': its domain [{lo}, {hi}] exceeds the supported magnitude 2^60",
            table.name
        ));
    }
    if let Some(v) = table.values.iter().find(|v| v.unsigned_abs() > max as u64) {
        return Err(format!(
            "table '{}': value {v} exceeds the supported magnitude 2^60",
            table.name
        ));
    }
    Ok(())
}

/// The units that check a division's or a square root's remainder (see
/// [`Network::validate`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RemainderCheck {
    /// `b − a + c0 ≥ 0` with `c0 ≤ −1`: `a < b` (`a` a remainder, `b` its divisor).
    BelowDivisor,
    /// `2a − b + c0 ≥ 0` with `c0 ≤ 0`: `b ≤ 2a` (`a` a root, `b` its remainder).
    AtMostTwiceRoot,
}

impl RemainderCheck {
    /// The check `kind` makes, if it is one.
    fn of(kind: &UnitKind) -> Option<Self> {
        let exact = kind.mode == UnitMode::Rescale { shift: 0 }
            && kind.cab == 0
            && kind.caa == 0
            && kind.nonneg;
        match (kind.ca, kind.cb) {
            (-1, 1) if exact && kind.c0 <= -1 => Some(Self::BelowDivisor),
            (2, -1) if exact && kind.c0 <= 0 => Some(Self::AtMostTwiceRoot),
            _ => None,
        }
    }
}

/// Checks that the circuit computes each kind of `op` as the forward pass does: no kind reads a
/// `b` operand the operator does not wire, remainders are output exactly by division and square
/// root, and a square root is asserted non-negative and output unchanged (so that its check
/// `r ≤ 2q` binds it).
fn unit_modes(op: &UnitOp) -> Result<(), String> {
    for (k, kind) in op.kinds.iter().enumerate() {
        if op.b.is_empty() {
            let reads = [("cb", kind.cb), ("cab", kind.cab), ("out_b", kind.out_b)]
                .into_iter()
                .find(|&(_, v)| v != 0);
            if let Some((field, value)) = reads {
                return Err(format!(
                    "kind {k} reads operand b ({field} = {value}), but the operator has no \
                     operand b: the forward pass takes b = 0 while the circuit would leave the \
                     b cell free"
                ));
            }
            if kind.mode == UnitMode::Divide {
                return Err(format!(
                    "kind {k} divides by operand b, but the operator has no operand b: the \
                     forward pass takes b = 0 while the circuit would leave the b cell free"
                ));
            }
        }
        match kind.mode {
            UnitMode::Rescale { shift } if op.with_remainder => {
                return Err(format!(
                    "the operator outputs remainders (with_remainder), but kind {k} is a rescale \
                     by 2^{shift}, whose remainder cell holds the remainder times \
                     2^{} where the forward pass outputs it unscaled; only division and \
                     square-root units output remainders",
                    MAX_SHIFT - shift.min(MAX_SHIFT)
                ))
            }
            UnitMode::Divide | UnitMode::Sqrt if !op.with_remainder => {
                return Err(format!(
                    "kind {k} is a {}, but the operator does not output remainders \
                     (with_remainder), so no unit can check them",
                    if kind.mode == UnitMode::Divide {
                        "division"
                    } else {
                        "square root"
                    }
                ))
            }
            UnitMode::Sqrt
                if !(kind.nonneg
                    && i128::from(kind.relu) + i128::from(kind.linear) == 1
                    && kind.out_b == 0
                    && kind.out_c == 0) =>
            {
                return Err(format!(
                    "kind {k} is a square root that is not asserted non-negative (nonneg) or \
                     not output unchanged (relu + linear = 1, out_b = out_c = 0), so its check \
                     r ≤ 2q would not pin it"
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

/// Worst-case magnitude of a node's output given its inputs' `(length, bound)`; checks that
/// every index the node uses exists.
fn op_bound(
    node: &Node,
    inputs: &[(usize, f64)],
    out_len: usize,
    tables: &[FunctionTable],
) -> Result<f64, String> {
    let need = |count: usize| -> Result<(), String> {
        if inputs.len() == count {
            Ok(())
        } else {
            Err(format!("takes {count} inputs, has {}", inputs.len()))
        }
    };
    let check_indices = |mut indices: Box<dyn Iterator<Item = usize> + '_>,
                         len: usize,
                         what: &str|
     -> Result<(), String> {
        match indices.find(|&i| i >= len) {
            Some(i) => Err(format!("{what} index {i} is out of range (length {len})")),
            None => Ok(()),
        }
    };
    let activation = -(ACTIVATION_MIN as f64);
    match &node.op {
        Op::Linear(op) => {
            need(1)?;
            let (len, x) = inputs[0];
            if !linear_sizes_consistent(op, out_len) {
                return Err("inconsistent linear operator sizes".into());
            }
            if op.taps == 0 {
                return Err("a linear operator needs at least one tap".into());
            }
            if let Some(w) = op
                .weights
                .iter()
                .chain(&op.bias)
                .find(|w| w.unsigned_abs() > MAX_MAGNITUDE as u64)
            {
                return Err(format!(
                    "weight or bias {w} exceeds the supported magnitude 2^60"
                ));
            }
            check_indices(
                Box::new(op.gather.iter().flatten().map(|&i| i as usize)),
                len,
                "gather",
            )?;
            Ok((0..op.channels)
                .map(|c| {
                    op.bias[c].unsigned_abs() as f64
                        + op.row(c)
                            .iter()
                            .map(|w| w.unsigned_abs() as f64)
                            .sum::<f64>()
                            * x
                })
                .fold(0.0, f64::max))
        }
        Op::Unit(op) => {
            if inputs.is_empty() || inputs.len() > 2 {
                return Err(format!("takes 1 or 2 inputs, has {}", inputs.len()));
            }
            if op.output_len() != out_len {
                return Err(format!(
                    "computes {} values, but its output tensor holds {out_len}",
                    op.output_len()
                ));
            }
            if op.kinds.is_empty() || (!op.kind_of.is_empty() && op.kind_of.len() != op.len()) {
                return Err("unit operator has no computation for some element".into());
            }
            check_indices(
                Box::new(op.kind_of.iter().map(|&k| k as usize)),
                op.kinds.len(),
                "kind",
            )?;
            check_indices(
                Box::new(op.a.iter().map(|&i| i as usize)),
                inputs[0].0,
                "operand a",
            )?;
            let b = if op.b.is_empty() {
                0.0
            } else {
                let &(len, b) = inputs.get(1).ok_or("operand b has no input")?;
                if op.b.len() != op.len() {
                    return Err("operand b list has the wrong length".into());
                }
                check_indices(Box::new(op.b.iter().map(|&i| i as usize)), len, "operand b")?;
                b
            };
            let a = inputs[0].1;
            let mut worst: f64 = 0.0;
            for (k, kind) in op.kinds.iter().enumerate() {
                if let UnitMode::Rescale { shift } = kind.mode {
                    if shift > MAX_SHIFT {
                        return Err(format!("shift {shift} exceeds {MAX_SHIFT}"));
                    }
                }
                if let Some((field, value)) = kind
                    .coefficients()
                    .into_iter()
                    .find(|(_, v)| v.unsigned_abs() > MAX_MAGNITUDE as u64)
                {
                    return Err(format!(
                        "kind {k}: coefficient {field} = {value} exceeds the supported magnitude \
                         2^60"
                    ));
                }
                let m = |c: i64| c.unsigned_abs() as f64;
                let v = m(kind.ca) * a
                    + m(kind.cb) * b
                    + m(kind.cab) * a * b
                    + m(kind.caa) * a * a
                    + m(kind.c0);
                // The forward pass computes v in i128; the gate multiplies it by at most 2^12.
                if v.is_nan() || v >= MAX_UNIT_INPUT {
                    return Err(format!(
                        "kind {k}: the unit input can reach {v:.3e}, beyond the supported 2^120"
                    ));
                }
                let q = activation;
                let y = (m(kind.relu) + m(kind.linear)) * q + m(kind.out_b) * b + m(kind.out_c);
                let remainder = if op.with_remainder {
                    f64::from(1u32 << MAX_SHIFT)
                } else {
                    0.0
                };
                worst = worst.max(y).max(remainder);
            }
            Ok(worst)
        }
        Op::Product(op) => {
            need(2)?;
            if op.terms == 0
                || op.a.len() != op.b.len()
                || op.a.len() % op.terms != 0
                || op.len() != out_len
            {
                return Err("inconsistent product operator".into());
            }
            check_indices(
                Box::new(op.a.iter().map(|&i| i as usize)),
                inputs[0].0,
                "operand a",
            )?;
            check_indices(
                Box::new(op.b.iter().map(|&i| i as usize)),
                inputs[1].0,
                "operand b",
            )?;
            Ok(op.terms as f64 * inputs[0].1 * inputs[1].1)
        }
        Op::Table(op) => {
            need(1)?;
            let table = tables.get(op.table).ok_or("table does not exist")?;
            if inputs[0].0 != out_len {
                return Err("table output length differs from its input".into());
            }
            Ok(table
                .values
                .iter()
                .map(|v| v.unsigned_abs() as f64)
                .fold(0.0, f64::max))
        }
        Op::Gather(op) => {
            if op.sources.len() != out_len {
                return Err("gather has the wrong number of sources".into());
            }
            let mut worst: f64 = 0.0;
            for &(i, e) in &op.sources {
                let &(len, b) = inputs
                    .get(i as usize)
                    .ok_or("gather reads a missing input")?;
                if e as usize >= len {
                    return Err(format!("gather index {e} is out of range (length {len})"));
                }
                worst = worst.max(b);
            }
            Ok(worst)
        }
    }
}
