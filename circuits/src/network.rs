//! The integer network: the single definition of what a quantised model computes.
//!
//! A network is a list of operators ([`ops`](crate::ops)) in topological order over flat
//! integer tensors. Its [`forward`](Network::forward) pass is the native integer inference, the
//! source of every witness value, and the oracle the circuit is tested against.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::arith::{activation_in_range, ACTIVATION_MAX, ACTIVATION_MIN, MAX_MAGNITUDE, MAX_SHIFT};
use crate::ops::{FunctionTable, Op, UnitMode};

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
    /// Number of values.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
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

    /// Checks the structure (indices, sizes, topological order) and that every value stays
    /// within [`MAX_MAGNITUDE`] for every input in the activation range (interval analysis).
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
        if self.input >= n || self.output >= n {
            return Err(malformed(
                "network",
                "input or output tensor does not exist".into(),
            ));
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
            if node.output >= n || bound[node.output].is_some() {
                return Err(malformed(
                    name,
                    "writes a tensor that exists or is written twice".into(),
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
        Ok(bound.into_iter().map(|b| b.unwrap_or(0.0)).collect())
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
            if op.groups == 0
                || op.channels % op.groups != 0
                || op.weights.len() != op.channels * op.taps
                || op.bias.len() != op.channels
                || op.gather.len() != op.groups * op.positions * op.taps
                || op.len() != out_len
            {
                return Err("inconsistent linear operator sizes".into());
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
            if inputs.is_empty() || inputs.len() > 2 || op.output_len() != out_len {
                return Err("inconsistent unit operator".into());
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
            for kind in &op.kinds {
                if let UnitMode::Rescale { shift } = kind.mode {
                    if shift > MAX_SHIFT {
                        return Err(format!("shift {shift} exceeds {MAX_SHIFT}"));
                    }
                }
                let v = kind.ca.unsigned_abs() as f64 * a
                    + kind.cb.unsigned_abs() as f64 * b
                    + kind.cab.unsigned_abs() as f64 * a * b
                    + kind.caa.unsigned_abs() as f64 * a * a
                    + kind.c0.unsigned_abs() as f64;
                // The gate multiplies v by at most 2^12; keep it far below the field size.
                if v.is_nan() || v >= 2f64.powi(180) {
                    return Err(format!("unit input can reach {v:.3e}"));
                }
                let q = activation;
                let y = (kind.relu.unsigned_abs() + kind.linear.unsigned_abs()) as f64 * q
                    + kind.out_b.unsigned_abs() as f64 * b
                    + kind.out_c.unsigned_abs() as f64;
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
