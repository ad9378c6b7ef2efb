//! Float inference of the original ONNX file with tract: the reference quantisation is measured
//! against, and the "native" side of the slowdown benchmark.

use std::sync::Arc;

use tract_onnx::prelude::*;

use crate::error::Error;
use crate::graph::TensorSpec;

/// A runnable float model.
#[derive(Clone)]
pub struct FloatReference {
    plan: Arc<TypedRunnableModel>,
    input_shape: Vec<usize>,
}

impl std::fmt::Debug for FloatReference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FloatReference")
            .field("input_shape", &self.input_shape)
            .finish_non_exhaustive()
    }
}

fn reference_error(e: impl std::fmt::Display) -> Error {
    Error::Reference(e.to_string())
}

impl FloatReference {
    /// Loads and optimises an ONNX model for batch-1 inference on `input`.
    pub fn from_onnx(bytes: &[u8], input: &TensorSpec) -> Result<Self, Error> {
        let fact = f32::fact(input.shape.clone());
        let plan = tract_onnx::onnx()
            .model_for_read(&mut &bytes[..])
            .and_then(|m| m.with_input_fact(0, fact.into()))
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(|e| reference_error(format!("{e:#}")))?;
        Ok(Self {
            plan,
            input_shape: input.shape.clone(),
        })
    }

    fn tensor(&self, input: &[f32]) -> Result<TValue, Error> {
        Tensor::from_shape(&self.input_shape, input)
            .map(IntoTValue::into_tvalue)
            .map_err(reference_error)
    }

    /// Runs one sample and returns the flattened first output.
    pub fn run(&self, input: &[f32]) -> Result<Vec<f32>, Error> {
        let outputs = self
            .plan
            .run(tvec!(self.tensor(input)?))
            .map_err(reference_error)?;
        let output = outputs
            .first()
            .ok_or_else(|| reference_error("the model produced no output"))?;
        let view = output
            .to_plain_array_view::<f32>()
            .map_err(reference_error)?;
        Ok(view.iter().copied().collect())
    }

    /// Median wall time of one inference in microseconds, on the calling thread, over at least
    /// `min_runs` runs and about `budget` of time (after a warm-up).
    pub fn median_latency_us(
        &self,
        input: &[f32],
        min_runs: usize,
        budget: std::time::Duration,
    ) -> Result<f64, Error> {
        let mut state = self.plan.spawn().map_err(reference_error)?;
        let tensor = self.tensor(input)?;
        for _ in 0..min_runs.min(100) {
            state.run(tvec!(tensor.clone())).map_err(reference_error)?;
        }
        let mut times = Vec::with_capacity(min_runs);
        let start = std::time::Instant::now();
        while times.len() < min_runs || start.elapsed() < budget {
            let t = std::time::Instant::now();
            let out = state.run(tvec!(tensor.clone())).map_err(reference_error)?;
            times.push(t.elapsed().as_secs_f64() * 1e6);
            std::hint::black_box(out);
        }
        times.sort_by(f64::total_cmp);
        Ok(times[times.len() / 2])
    }
}
