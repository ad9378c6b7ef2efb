//! The entry point of the library: an imported ONNX model.

use std::sync::Arc;

use crate::compile::{CompileOptions, CompiledModel};
use crate::error::{Error, ImportError};
use crate::fidelity;
use crate::graph::Graph;
use crate::onnx::import_onnx;
use crate::quantize::{quantize, QuantizeOptions, QuantizedModel};
use crate::reference::FloatReference;

/// An imported ONNX model: its float graph and the original bytes (for float reference runs).
#[derive(Clone, Debug)]
pub struct Model {
    graph: Graph,
    onnx: Arc<[u8]>,
}

impl Model {
    /// Imports an ONNX model. Fails listing every unsupported operator, or naming the node whose
    /// use of a supported operator zkinfer cannot handle.
    pub fn from_onnx(bytes: &[u8]) -> Result<Self, ImportError> {
        Ok(Self {
            graph: import_onnx(bytes)?,
            onnx: bytes.into(),
        })
    }

    /// The float graph.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// tract's float inference of the original ONNX model.
    pub fn float_reference(&self) -> Result<FloatReference, Error> {
        FloatReference::from_onnx(&self.onnx, self.graph.input())
    }

    /// Quantises with scales chosen from `calibration` (flat input samples); with no samples,
    /// from worst-case ranges for inputs in `[−1, 1]`.
    pub fn quantize(
        &self,
        calibration: &[Vec<f32>],
        options: QuantizeOptions,
    ) -> Result<QuantizedModel, Error> {
        Ok(quantize(&self.graph, calibration, options)?)
    }

    /// Compares the quantised model of `compiled` with the float model on held-out `samples`
    /// (accuracy too, given one label per sample).
    pub fn fidelity(
        &self,
        compiled: &CompiledModel,
        samples: &[Vec<f32>],
        labels: Option<&[usize]>,
    ) -> Result<fidelity::FidelityReport, Error> {
        fidelity::measure(&self.float_reference()?, &compiled.model, samples, labels)
    }

    /// Quantises, compiles, and measures fidelity against the float model on the calibration
    /// samples (when there are any).
    pub fn compile(
        &self,
        calibration: &[Vec<f32>],
        quantize_options: QuantizeOptions,
        compile_options: CompileOptions,
    ) -> Result<CompiledModel, Error> {
        let quantized = self.quantize(calibration, quantize_options)?;
        let mut compiled = CompiledModel::new(quantized, compile_options)?;
        if !calibration.is_empty() {
            let reference = self.float_reference()?;
            compiled.fidelity = Some(fidelity::measure(
                &reference,
                &compiled.model,
                calibration,
                None,
            )?);
        }
        Ok(compiled)
    }
}
