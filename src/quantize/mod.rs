//! Quantisation: float [`Graph`] → integer [`Network`] with power-of-two scales.
//!
//! Every tensor `t` gets a scale exponent `s`: its integer form is `round(t · 2^s)`.
//!
//! - **Activations**: `s` is the largest exponent that maps the largest magnitude of the tensor
//!   (seen on the calibration data, or its worst case over inputs in `[−1, 1]` without
//!   calibration) to at most `2^(activation_bits−1) − 1` (default 10 bits: 511). The circuit
//!   accepts up to ±2047, so inputs beyond the calibration range have 4× headroom; a value beyond
//!   that is refused with an error naming the node — never wrapped.
//! - **Weights and constants**: per tensor, the largest magnitude maps to at most
//!   `2^(weight_bits−1) − 1` (default 14 bits). They live in fixed columns, so their width costs
//!   the prover nothing.
//! - **Rescale**: products are divided by a power of two with rounding to nearest (ties up); a
//!   shift above 12 bits lowers the constant's precision instead.
//! - **Non-linear functions** (sigmoid, tanh, erf, exp) are tables over a clamped input domain
//!   with `2^table_bits` entries; softmax and layer normalisation are exact integer algorithms
//!   (max, table exp, division; mean, integer square root, division) — see [`lower`].
//!
//! Each operator's lowering documents its error bound; the fidelity report measures the end
//! result against the float model.

mod fold;
mod lower;
mod nonlinear;
mod ranges;

use serde::{Deserialize, Serialize};
use zkinfer_circuits::arith::{ACTIVATION_BITS, ACTIVATION_MAX, ACTIVATION_MIN};
use zkinfer_circuits::Network;

use crate::error::{InputError, QuantizeError};
use crate::graph::{Graph, TensorSpec};

/// Choices that shape quantisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuantizeOptions {
    /// Bits the largest calibration activation is mapped to (signed), 2 ..= 14.
    pub activation_bits: u32,
    /// Bits the largest weight of a tensor is mapped to (signed), 2 ..= 24.
    pub weight_bits: u32,
    /// log2 of the entries of each function table, 4 ..= 12.
    #[serde(default = "default_table_bits")]
    pub table_bits: u32,
}

fn default_table_bits() -> u32 {
    9
}

impl Default for QuantizeOptions {
    fn default() -> Self {
        Self {
            activation_bits: 10,
            weight_bits: 14,
            table_bits: default_table_bits(),
        }
    }
}

impl QuantizeOptions {
    /// Bits the largest weight maps to by default for weights placed as `weights` says.
    pub fn default_weight_bits(weights: crate::compile::WeightVisibility) -> u32 {
        match weights {
            crate::compile::WeightVisibility::Fixed => 14,
            crate::compile::WeightVisibility::Committed => 11,
        }
    }
}

/// A quantised model: the integer network plus what is needed to move between floats and
/// integers at its boundary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuantizedModel {
    /// The model input.
    pub input: TensorSpec,
    /// The model output.
    pub output: TensorSpec,
    /// Scale exponent of the input.
    pub input_scale: i32,
    /// Scale exponent of the output.
    pub output_scale: i32,
    /// Scale exponent of every float tensor that has an integer counterpart, by name.
    pub scales: Vec<(String, i32)>,
    /// The integer network: the single source of truth for what the model computes.
    pub network: Network,
    /// The options used.
    pub options: QuantizeOptions,
    /// Number of calibration samples used (0: worst-case ranges over inputs in [−1, 1]).
    pub calibration_samples: usize,
    /// Where quantisation had to give up precision, and why.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// Largest exponent `s` with `magnitude · 2^s ≤ 2^(bits−1) − 1`.
pub(crate) fn scale_for(magnitude: f64, bits: u32) -> i32 {
    let limit = f64::from((1u32 << (bits - 1)) - 1);
    if magnitude <= 0.0 || !magnitude.is_finite() {
        return bits as i32 - 1;
    }
    let mut s = (limit / magnitude).log2().floor() as i32;
    // Guard against floating-point edge cases on exact powers of two.
    while magnitude * 2f64.powi(s) > limit {
        s -= 1;
    }
    while magnitude * 2f64.powi(s + 1) <= limit {
        s += 1;
    }
    s
}

/// `round(value · 2^scale)`.
pub(crate) fn quantize_value(value: f64, scale: i32) -> i64 {
    (value * 2f64.powi(scale)).round() as i64
}

/// Quantises `graph`, choosing activation scales from `calibration` (one flat input per sample)
/// or, when it is empty, from worst-case ranges over inputs in `[−1, 1]`.
pub fn quantize(
    graph: &Graph,
    calibration: &[Vec<f32>],
    options: QuantizeOptions,
) -> Result<QuantizedModel, QuantizeError> {
    if !(2..=ACTIVATION_BITS).contains(&options.activation_bits) {
        return Err(QuantizeError::Calibration(format!(
            "activation bits must be between 2 and {ACTIVATION_BITS}, got {}",
            options.activation_bits
        )));
    }
    if !(2..=24).contains(&options.weight_bits) {
        return Err(QuantizeError::Calibration(format!(
            "weight bits must be between 2 and 24, got {}",
            options.weight_bits
        )));
    }
    if !(4..=12).contains(&options.table_bits) {
        return Err(QuantizeError::Calibration(format!(
            "table bits must be between 4 and 12, got {}",
            options.table_bits
        )));
    }
    let input_len = graph.input().len();
    if let Some((i, s)) = calibration
        .iter()
        .enumerate()
        .find(|(_, s)| s.len() != input_len)
    {
        return Err(QuantizeError::Calibration(format!(
            "sample {i} has {} values, the model takes {input_len}",
            s.len()
        )));
    }
    let original = graph;
    let graph = &fold::fold_affines(graph);
    let ranges = if calibration.is_empty() {
        ranges::worst_case(graph)
    } else {
        ranges::observed(graph, calibration)
    };
    let lowered = lower::lower(graph, &ranges, options)?;
    lowered.network.validate()?;
    Ok(QuantizedModel {
        input: original.input().clone(),
        output: original.output().clone(),
        input_scale: lowered.input_scale,
        output_scale: lowered.output_scale,
        scales: lowered.scales,
        network: lowered.network,
        options,
        calibration_samples: calibration.len(),
        warnings: lowered.warnings,
    })
}

impl QuantizedModel {
    /// Quantises one input sample. `sample` is only used in error messages.
    pub fn quantize_input(&self, sample: usize, values: &[f32]) -> Result<Vec<i64>, InputError> {
        if values.len() != self.network.input_len() {
            return Err(InputError::Length {
                list: sample,
                got: values.len(),
                expected: self.network.input_len(),
            });
        }
        let scale = 2f64.powi(self.input_scale);
        values
            .iter()
            .enumerate()
            .map(|(index, &v)| {
                let v = f64::from(v);
                if !v.is_finite() {
                    return Err(InputError::NotFinite {
                        sample,
                        index,
                        value: v,
                    });
                }
                let q = (v * scale).round();
                if q < ACTIVATION_MIN as f64 || q > ACTIVATION_MAX as f64 {
                    return Err(InputError::OutOfRange {
                        sample,
                        index,
                        value: v,
                        min: (ACTIVATION_MIN as f64 - 0.5) / scale,
                        max: (ACTIVATION_MAX as f64 + 0.5) / scale,
                        scale: self.input_scale,
                    });
                }
                Ok(q as i64)
            })
            .collect()
    }

    /// Converts quantised outputs back to floats.
    pub fn dequantize_output(&self, values: &[i64]) -> Vec<f32> {
        let scale = 2f64.powi(-self.output_scale);
        values.iter().map(|&v| (v as f64 * scale) as f32).collect()
    }

    /// Converts quantised inputs back to floats (what the proof's public input means).
    pub fn dequantize_input(&self, values: &[i64]) -> Vec<f32> {
        let scale = 2f64.powi(-self.input_scale);
        values.iter().map(|&v| (v as f64 * scale) as f32).collect()
    }

    /// Quantised inference on one float sample: quantise, run the integer network, dequantise.
    pub fn run(&self, sample: usize, values: &[f32]) -> crate::Result<Vec<f32>> {
        let input = self.quantize_input(sample, values)?;
        let trace = self.network.forward(&input)?;
        Ok(self.dequantize_output(trace.output()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_maps_the_largest_value_into_range() {
        assert_eq!(scale_for(1.0, 8), 6); // 1·64 ≤ 127 < 128
        assert_eq!(scale_for(127.0, 8), 0);
        assert_eq!(scale_for(128.0, 8), -1);
        assert_eq!(scale_for(0.01, 10), 15); // 0.01·32768 = 327 ≤ 511
        for m in [1e-4, 0.3, 1.0, 5.5, 16.0, 1000.0] {
            let s = scale_for(m, 10);
            assert!(
                m * 2f64.powi(s) <= 511.0 && m * 2f64.powi(s + 1) > 511.0,
                "{m} {s}"
            );
        }
    }
}
