//! Typed errors. Every failure names what went wrong and where, so a user can act on it.

use std::path::PathBuf;

use thiserror::Error;
use zkinfer_circuits::{ForwardError, NetworkError};

/// Any zkinfer error.
#[derive(Debug, Error)]
pub enum Error {
    /// The ONNX model could not be imported.
    #[error(transparent)]
    Import(#[from] ImportError),
    /// The model could not be quantised.
    #[error(transparent)]
    Quantize(#[from] QuantizeError),
    /// The quantised model does not fit a circuit.
    #[error(transparent)]
    Compile(#[from] CompileError),
    /// An input could not be used.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The integer forward pass refused an input.
    #[error(transparent)]
    Forward(#[from] ForwardError),
    /// Proving failed.
    #[error(transparent)]
    Prove(#[from] ProveError),
    /// A proof did not verify.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// An artifact (compiled model, proof) is malformed or of another format.
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    /// Public parameters could not be loaded or stored.
    #[error(transparent)]
    Params(#[from] ParamsError),
    /// A claim about the output could not be made or checked.
    #[error(transparent)]
    Claim(#[from] ClaimError),
    /// Parts of a sliced proof could not be joined.
    #[error(transparent)]
    Join(#[from] JoinError),
    /// A sampled audit of a committed batch failed or could not be made.
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// Some proofs of a batch did not verify.
    #[error("{failed} of {total} proofs are invalid: {which}")]
    BatchRejected {
        /// Number of invalid proofs.
        failed: usize,
        /// Number of proofs.
        total: usize,
        /// The invalid proofs.
        which: String,
    },
    /// Float inference with tract failed.
    #[error("float reference inference failed: {0}")]
    Reference(String),
    /// A problem with the contents of a file.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: Box<Error>,
    },
    /// A file could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// "cannot read", "cannot write", ...
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl Error {
    /// The same error, attributed to the file `path`.
    pub fn in_file(self, path: impl Into<PathBuf>) -> Self {
        Error::File {
            path: path.into(),
            source: Box::new(self),
        }
    }
}

/// Convenience alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An ONNX model that zkinfer cannot import.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ImportError {
    /// The bytes are not an ONNX protobuf.
    #[error("not a valid ONNX model: {0}")]
    Parse(String),
    /// Nodes whose operators zkinfer does not support, all of them.
    #[error("unsupported ONNX operators: {}", list_nodes(.0))]
    UnsupportedOps(Vec<UnsupportedNode>),
    /// A supported operator used in a way zkinfer does not support.
    #[error("node '{node}' ({op}): {problem}")]
    Unsupported {
        /// Node name.
        node: String,
        /// Operator type.
        op: String,
        /// What is not supported.
        problem: String,
    },
    /// The graph's inputs or outputs are not what zkinfer supports.
    #[error("model graph: {0}")]
    Graph(String),
    /// A tensor could not be read.
    #[error("tensor '{name}': {problem}")]
    Tensor {
        /// Tensor name.
        name: String,
        /// What is wrong.
        problem: String,
    },
}

/// One node with an unsupported operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedNode {
    /// Operator type, e.g. `LSTM`.
    pub op: String,
    /// Node name (or `#index` when the node has none).
    pub node: String,
}

fn list_nodes(nodes: &[UnsupportedNode]) -> String {
    nodes
        .iter()
        .map(|n| format!("{} (node '{}')", n.op, n.node))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A model that cannot be quantised.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum QuantizeError {
    /// Calibration data is unusable.
    #[error("calibration data: {0}")]
    Calibration(String),
    /// A tensor's values cannot be represented.
    #[error("layer '{layer}': {problem}")]
    Range {
        /// Layer name.
        layer: String,
        /// What does not fit.
        problem: String,
    },
    /// The quantised network is not valid.
    #[error(transparent)]
    Network(#[from] NetworkError),
}

/// A quantised model that cannot be compiled to a circuit.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum CompileError {
    /// The requested shape lacks an engine the network needs.
    #[error("shape '{shape}' has no {engine}, which node '{node}' needs")]
    Unsupported {
        /// The shape.
        shape: String,
        /// The node.
        node: String,
        /// The missing engine.
        engine: String,
    },
    /// A verifier's copy without weights was asked of a model with fixed weights.
    #[error(
        "a verifier's copy without weights needs --weights committed: fixed weights are part of \
         the verifying key"
    )]
    FixedWeightsCopy,
    /// The weights cannot be committed (`--weights committed`).
    #[error(transparent)]
    Weights(#[from] zkinfer_circuits::weights::WeightsError),
    /// The model cannot be cut into slices as asked.
    #[error("cannot slice the model: {0}")]
    Slicing(#[from] zkinfer_circuits::slicing::SliceError),
    /// A slicing request that makes no sense.
    #[error("{0}")]
    SliceRequest(String),
}

/// An input that cannot be fed to the model.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum InputError {
    /// The input file is not valid JSON of the expected form.
    #[error("input file is not valid: {0}")]
    Malformed(String),
    /// The file holds no samples.
    #[error("input file holds no samples")]
    Empty,
    /// A sample has the wrong length.
    #[error(
        "input list {list} has {got} values, but the model takes {expected} per sample \
         (a list may also hold several samples back to back)"
    )]
    Length {
        /// Index of the list in `input_data`.
        list: usize,
        /// Its length.
        got: usize,
        /// The model's input size.
        expected: usize,
    },
    /// A value is NaN or infinite.
    #[error("input sample {sample}, index {index}: value {value} is not a finite number")]
    NotFinite {
        /// Sample index.
        sample: usize,
        /// Position within the sample.
        index: usize,
        /// The value.
        value: f64,
    },
    /// A value is outside the range the input scale can represent.
    #[error(
        "input sample {sample}, index {index}: value {value} is outside the quantisation range \
         [{min}, {max}] of the input (scale 2^{scale}); recompile with calibration data that covers it"
    )]
    OutOfRange {
        /// Sample index.
        sample: usize,
        /// Position within the sample.
        index: usize,
        /// The value.
        value: f64,
        /// Smallest representable value.
        min: f64,
        /// Largest representable value.
        max: f64,
        /// Input scale exponent.
        scale: i32,
    },
    /// The requested sample does not exist.
    #[error("sample {requested} requested, but the input file holds {available}")]
    NoSuchSample {
        /// Requested index.
        requested: usize,
        /// Samples available.
        available: usize,
    },
}

/// Proving failed.
#[derive(Debug, Error)]
pub enum ProveError {
    /// halo2 refused to create the proof (the witness does not satisfy the circuit).
    #[error("the prover failed: {0}")]
    Halo2(String),
    /// The model is a verifier's copy, without its committed weights.
    #[error(
        "this model file is a verifier's copy without its weights: it verifies proofs but cannot \
         run or prove the model; use the model file the copy was made from"
    )]
    WeightsWithheld,
    /// A whole-model key or proof was asked of a sliced model, or a slice of an unsliced one.
    #[error("{0}")]
    Slicing(String),
    /// The requested slice does not exist.
    #[error("slice {requested} requested, but the model has {count} slices (0 to {})", .count - 1)]
    NoSuchSlice {
        /// Requested index.
        requested: usize,
        /// Slices of the model.
        count: usize,
    },
    /// A slice computed link values other than the whole network's (a bug: never proven).
    #[error(
        "slice {0} computed link values that differ from the whole network's; please report it"
    )]
    LinkValues(usize),
}

/// Why a proof was rejected.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum VerifyError {
    /// The proof was made for a different model.
    #[error("the proof is for another model (proof digest {proof}, model digest {model})")]
    ModelMismatch {
        /// Digest in the proof.
        proof: String,
        /// Digest of the model given to the verifier.
        model: String,
    },
    /// The public values do not have the model's shape.
    #[error("the proof's {what} have {got} values, the model has {expected}")]
    PublicShape {
        /// "inputs" or "outputs".
        what: &'static str,
        /// Count in the proof.
        got: usize,
        /// Count expected.
        expected: usize,
    },
    /// The proof states scales that differ from the model's.
    #[error("the proof's {what} scale 2^{got} differs from the model's 2^{expected}")]
    ScaleMismatch {
        /// "input" or "output".
        what: &'static str,
        /// Scale in the proof.
        got: i32,
        /// The model's scale.
        expected: i32,
    },
    /// The proof was made with a different circuit size.
    #[error("the proof is for k = {got}, the model compiles to k = {expected}")]
    WrongK {
        /// k in the proof.
        got: u32,
        /// The model's k.
        expected: u32,
    },
    /// A public input lies outside the activation range (no honest proof has one).
    #[error("the proof's input {index} is {value}, outside the quantised range")]
    InputOutOfRange {
        /// Position in the input.
        index: usize,
        /// The value.
        value: i64,
    },
    /// The transcript does not have the length every proof of this model has.
    #[error("the proof transcript has {got} bytes, proofs of this model have {expected}")]
    TranscriptLength {
        /// Length found.
        got: usize,
        /// Length of every proof of this model.
        expected: usize,
    },
    /// The proof's digest is not that of the model's circuit for the proof's claim: the model or
    /// the claim was changed.
    #[error("the proof does not match this model with the claim '{claim}' (proof digest {proof}, expected {model}): the claim or the model differs")]
    ClaimCircuitMismatch {
        /// The claim.
        claim: String,
        /// Digest in the proof.
        proof: String,
        /// Digest of the model's circuit for the claim.
        model: String,
    },
    /// The model hashes its input (or output), and the proof has no commitment to it.
    #[error("the model hashes its {0}, but the proof has no {0}_commitment")]
    MissingCommitment(&'static str),
    /// The model does not hash its input (or output), and the proof carries a commitment.
    #[error("the model does not hash its {0}, but the proof carries an {0}_commitment")]
    UnexpectedCommitment(&'static str),
    /// The model commits its weights, and the proof carries no or another weights commitment.
    #[error(
        "the proof's weights_commitment {proof} is not the model's {model}: it was made with \
         other weights"
    )]
    WeightsMismatch {
        /// The proof's commitment ("none" if absent).
        proof: String,
        /// The model's.
        model: String,
    },
    /// The input commitment is not the hex of a field element.
    #[error("the proof's input_commitment '{0}' is not a field element (64 hex digits)")]
    MalformedCommitment(String),
    /// The proof states another claim than the circuit it is checked against.
    #[error("the proof claims {proof}, the verifier checks {expected}")]
    ClaimMismatch {
        /// The proof's claim ("the outputs" for a plain proof).
        proof: String,
        /// The claim the verifier's circuit proves.
        expected: String,
    },
    /// The cryptographic check failed: the transcript does not prove these public values.
    #[error("the proof is invalid: it does not prove these inputs and outputs for this model")]
    Invalid,
    /// A sliced proof for a model compiled as one circuit, or the other way round.
    #[error("{0}")]
    Slicing(String),
    /// A sliced proof lacks a slice.
    #[error("slice {slice} is missing: the proof has {got} slices, the model {expected}")]
    MissingSlice {
        /// The first missing slice.
        slice: usize,
        /// Slices in the proof.
        got: usize,
        /// Slices of the model.
        expected: usize,
    },
    /// A sliced proof has more slices than the model.
    #[error("the proof has {got} slices, the model only {expected}")]
    ExtraSlices {
        /// Slices in the proof.
        got: usize,
        /// Slices of the model.
        expected: usize,
    },
    /// A sliced proof holds a slice twice.
    #[error("slice {0} appears twice in the proof")]
    RepeatedSlice(usize),
    /// A slice proof sits at the wrong place (repeated or reordered slices).
    #[error(
        "position {position} of the proof holds slice {found}: slices are repeated or out of order"
    )]
    SliceOutOfPlace {
        /// Position in the proof's list.
        position: usize,
        /// The slice index it states.
        found: usize,
    },
    /// A slice proof is not for this model's slice.
    #[error("slice {slice} is not a slice of this model (its digest {proof}, the model's slice {model})")]
    ForeignSlice {
        /// The slice.
        slice: usize,
        /// Digest in the slice proof.
        proof: String,
        /// Digest of the model's slice.
        model: String,
    },
    /// A slice proof's listed link commitments are not the ones its transcript holds.
    #[error("slice {0} lists link commitments that are not the ones in its transcript")]
    LinkListing(usize),
    /// Two slices' commitments to the values they share differ: the slices were not proven on
    /// the same values (e.g. one comes from a proof of another input).
    #[error("the link from slice {from} to slice {to} does not match: the two slices were not proven on the same values")]
    LinkMismatch {
        /// The slice computing the values.
        from: usize,
        /// The slice reading them.
        to: usize,
    },
    /// The cryptographic check of one slice failed.
    #[error("slice {0} is invalid: its transcript does not prove its part of the computation")]
    SliceInvalid(usize),
}

/// Parts of a sliced proof that cannot be joined.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum JoinError {
    /// A part is for another model.
    #[error("part {part} is for another model (digest {found}, the model's {expected})")]
    OtherModel {
        /// Position of the part among the files given.
        part: usize,
        /// Its model digest.
        found: String,
        /// The model's.
        expected: String,
    },
    /// A part does not hold exactly one slice.
    #[error("part {0} holds {1} slices, a part holds one")]
    NotOnePart(usize, usize),
    /// Two parts prove the same slice.
    #[error("slice {0} is given twice")]
    Repeated(usize),
    /// No part proves a slice.
    #[error("slice {0} is missing: every slice needs its part")]
    Missing(usize),
    /// A slice index beyond the model's.
    #[error("part {part} proves slice {slice}, but the model has {count} slices")]
    NoSuchSlice {
        /// Position of the part.
        part: usize,
        /// Its slice.
        slice: usize,
        /// Slices of the model.
        count: usize,
    },
    /// Parts disagree on what the whole proof states (input, claim, commitments, scales).
    #[error("the parts disagree on the {0}: they are not parts of one proof")]
    Disagree(&'static str),
}

/// A claim about the output that cannot be made or checked.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ClaimError {
    /// The claim text is not `argmax`, `topk:K` or `ge:INDEX:VALUE`.
    #[error("cannot read the claim '{spec}': {reason}")]
    Parse {
        /// The text given.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The claim is false for this input: no proof of it can exist.
    #[error("the claim is false for this input: {claim} does not hold (the output is {actual})")]
    False {
        /// The claim.
        claim: String,
        /// The output value the claim is about.
        actual: f64,
    },
    /// The claim does not fit the model.
    #[error("the claim '{claim}' does not fit the model: {reason}")]
    Invalid {
        /// The claim.
        claim: String,
        /// Why.
        reason: String,
    },
}

/// A malformed artifact.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ArtifactError {
    /// Not JSON, or JSON of the wrong form.
    #[error("{what} is malformed: {problem}")]
    Malformed {
        /// "compiled model", "proof".
        what: &'static str,
        /// Parser message.
        problem: String,
    },
    /// Another kind of file.
    #[error("{what} has format '{found}', expected '{expected}'")]
    WrongFormat {
        /// "compiled model", "proof".
        what: &'static str,
        /// Format found.
        found: String,
        /// Format expected.
        expected: &'static str,
    },
    /// A version this build cannot read.
    #[error("{what} has format version {found}, this zkinfer reads version {expected}")]
    WrongVersion {
        /// "compiled model", "proof".
        what: &'static str,
        /// Version found.
        found: u32,
        /// Version supported.
        expected: u32,
    },
    /// Internally inconsistent contents.
    #[error("{what} is inconsistent: {problem}")]
    Inconsistent {
        /// "compiled model", "proof".
        what: &'static str,
        /// What disagrees.
        problem: String,
    },
}

/// Public parameters could not be loaded or stored.
#[derive(Debug, Error)]
pub enum ParamsError {
    /// The cache folder cannot be used.
    #[error("parameter cache {path}: {source}")]
    Cache {
        /// The folder or file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Why a sampled audit of a committed batch (see [`crate::audit`]) failed or could not be made.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum AuditError {
    /// The receipt was made with another model.
    #[error(
        "the receipt is for another model (receipt model {receipt}, this model {model}): audit it \
         with the model it was committed with"
    )]
    ModelMismatch {
        /// The model digest in the receipt.
        receipt: String,
        /// The digest of the model given.
        model: String,
    },
    /// The model cannot be audited as asked.
    #[error("{0}")]
    Unsupported(String),
    /// A parameter of the audit makes no sense (sample count, fraction, confidence, seed).
    #[error("{0}")]
    Parameter(String),
    /// The receipt is internally inconsistent.
    #[error("the receipt is inconsistent: {0}")]
    Receipt(String),
    /// The receipt's output for a sample is not an output of this model.
    #[error("sample {index}: the receipt's output {problem}")]
    OutputShape {
        /// The sample.
        index: usize,
        /// What is wrong with it.
        problem: String,
    },
    /// The batch holds another number of samples than the receipt.
    #[error("the batch holds {batch} samples, the receipt commits to {receipt}")]
    BatchSize {
        /// Samples in the input file.
        batch: usize,
        /// The receipt's count.
        receipt: usize,
    },
    /// The batch's inputs and the receipt's outputs do not rebuild the committed root.
    #[error(
        "the batch's inputs and the receipt's outputs do not rebuild the receipt's root: the \
         receipt does not commit to this batch, or its outputs are not the committed ones"
    )]
    RootMismatch,
    /// The challenge belongs to another receipt.
    #[error("the challenge is for another receipt: {0}")]
    ChallengeMismatch(String),
    /// The challenge's indices are not those its root and seed derive.
    #[error(
        "the challenge's indices are not the ones its root and seed derive (first difference at \
         position {position}: {found}, derived {derived})"
    )]
    IndicesMismatch {
        /// Position in the sorted list.
        position: usize,
        /// The index found in the challenge ("none" if the list is short).
        found: String,
        /// The index derived ("none" if the list is long).
        derived: String,
    },
    /// The audit is for another receipt (its root differs).
    #[error("the audit is for another receipt (audit root {audit}, receipt root {receipt})")]
    AuditRootMismatch {
        /// Root in the audit file.
        audit: String,
        /// Root in the receipt.
        receipt: String,
    },
    /// A challenged index has no proof in the audit.
    #[error("sample {0} is challenged but the audit holds no proof of it")]
    MissingIndex(usize),
    /// The audit proves an index that was not challenged.
    #[error("sample {0} is not challenged but the audit holds a proof of it")]
    ExtraIndex(usize),
    /// The audit proves an index twice.
    #[error("sample {0} appears twice in the audit")]
    RepeatedIndex(usize),
    /// A Merkle path does not lead from the proven sample to the committed root.
    #[error(
        "sample {index}: its Merkle path does not lead to the committed root ({reason}): the \
         proven input and output are not the committed ones"
    )]
    PathInvalid {
        /// The sample.
        index: usize,
        /// What failed.
        reason: String,
    },
    /// The receipt's output for a challenged sample is not the committed (and proven) one.
    #[error("sample {index}: the receipt's output differs from the committed and proven output")]
    ReceiptOutput {
        /// The sample.
        index: usize,
    },
    /// A proof failed.
    #[error("sample {index}: {source}")]
    ProofInvalid {
        /// The sample.
        index: usize,
        /// Why.
        source: VerifyError,
    },
    /// Several proofs failed.
    #[error("{} proofs are invalid: {}", .0.len(), .0.iter().map(|(i, e)| format!("sample {i}: {e}")).collect::<Vec<_>>().join("; "))]
    ProofsInvalid(Vec<(usize, VerifyError)>),
    /// The model's output for a sample differs from the committed one: the operator committed a
    /// falsified result (found by the prover, which cannot prove it, or by re-execution).
    #[error(
        "sample {index}: the model's output differs from the committed one (the committed \
         result is falsified)"
    )]
    Falsified {
        /// The sample.
        index: usize,
    },
}
