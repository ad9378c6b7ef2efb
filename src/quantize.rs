//! Quantisation: float [`Graph`] → integer [`Network`] with power-of-two scales.
//!
//! Every tensor `t` gets a scale exponent `s`: its integer form is `round(t · 2^s)`.
//!
//! - **Activations** (the input and each layer's pre-activation): `s` is the largest exponent that
//!   maps the largest magnitude seen on the calibration data to at most `2^(activation_bits−1) − 1`
//!   (default 10 bits, 511). The circuit accepts up to [`ACTIVATION_MAX`] (2047), so inputs
//!   beyond the calibration range have 4× headroom before a value is refused. Without calibration
//!   data, inputs are assumed to lie in `[−1, 1]` and every layer's range is the worst case over
//!   that box (interval arithmetic): safe, but less precise.
//! - **Weights**: per layer, the largest magnitude maps to at most `2^(weight_bits−1) − 1`
//!   (default 14 bits). Weights live in fixed columns, so their width costs the prover nothing.
//! - **Bias**: at the scale of the products, `2^(s_in + s_w)`.
//! - **Rescale**: after each layer's dot product the accumulator is divided by
//!   `2^(s_in + s_w − s_out)` with rounding to nearest (ties up), then the ReLU if any. If that
//!   shift would exceed [`MAX_SHIFT`], the weight scale is lowered to fit.

use serde::{Deserialize, Serialize};
use zkinfer_circuits::arith::{ACTIVATION_MAX, ACTIVATION_MIN, MAX_SHIFT};
use zkinfer_circuits::{DenseLayer, Network};

use crate::error::{InputError, QuantizeError};
use crate::graph::{FloatLayer, Graph, TensorSpec};

/// Choices that shape quantisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuantizeOptions {
    /// Bits the largest calibration activation is mapped to (signed), 2 ..= 12.
    pub activation_bits: u32,
    /// Bits the largest weight of a layer is mapped to (signed), 2 ..= 24.
    pub weight_bits: u32,
}

impl Default for QuantizeOptions {
    fn default() -> Self {
        Self {
            activation_bits: 10,
            weight_bits: 14,
        }
    }
}

/// Scale exponents of one layer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerScales {
    /// Layer name.
    pub name: String,
    /// Scale of the layer's input.
    pub input: i32,
    /// Scale of the weights.
    pub weight: i32,
    /// Scale of the layer's output.
    pub output: i32,
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
    /// Per-layer scales.
    pub layer_scales: Vec<LayerScales>,
    /// The integer network: the single source of truth for what the model computes.
    pub network: Network,
    /// The options used.
    pub options: QuantizeOptions,
    /// Number of calibration samples used (0: worst-case ranges over inputs in [−1, 1]).
    pub calibration_samples: usize,
}

/// Largest exponent `s` with `magnitude · 2^s ≤ 2^(bits−1) − 1`.
fn scale_for(magnitude: f64, bits: u32) -> i32 {
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

fn quantize_value(value: f64, scale: i32) -> i64 {
    (value * 2f64.powi(scale)).round() as i64
}

/// Largest magnitudes of the input and of each layer's pre-activation.
struct Ranges {
    input: f64,
    layers: Vec<f64>,
}

impl Ranges {
    fn from_calibration(graph: &Graph, samples: &[Vec<f32>]) -> Self {
        let mut ranges = Ranges {
            input: 0.0,
            layers: vec![0.0; graph.layers.len()],
        };
        for sample in samples {
            for &x in sample {
                ranges.input = ranges.input.max(f64::from(x.abs()));
            }
            for (range, values) in ranges.layers.iter_mut().zip(graph.forward_trace(sample)) {
                for &v in &values.pre_activation {
                    *range = range.max(f64::from(v.abs()));
                }
            }
        }
        ranges
    }

    /// Worst case over inputs in `[−1, 1]`, by interval arithmetic.
    fn worst_case(graph: &Graph) -> Self {
        let mut lo = vec![-1.0f64; graph.input.len()];
        let mut hi = vec![1.0f64; graph.input.len()];
        let mut layers = Vec::with_capacity(graph.layers.len());
        for layer in &graph.layers {
            let (mut new_lo, mut new_hi) = (Vec::new(), Vec::new());
            for (row, &b) in layer.weights.outer_iter().zip(&layer.bias) {
                let (mut l, mut h) = (f64::from(b), f64::from(b));
                for ((&w, &xl), &xh) in row.iter().zip(&lo).zip(&hi) {
                    let (a, c) = (f64::from(w) * xl, f64::from(w) * xh);
                    l += a.min(c);
                    h += a.max(c);
                }
                new_lo.push(l);
                new_hi.push(h);
            }
            layers.push(
                new_lo
                    .iter()
                    .chain(&new_hi)
                    .fold(0.0f64, |m, v| m.max(v.abs())),
            );
            if layer.relu {
                new_lo.iter_mut().for_each(|v| *v = v.max(0.0));
                new_hi.iter_mut().for_each(|v| *v = v.max(0.0));
            }
            lo = new_lo;
            hi = new_hi;
        }
        Ranges { input: 1.0, layers }
    }
}

/// Quantises `graph`, choosing activation scales from `calibration` (one flat input per sample)
/// or, when it is empty, from worst-case ranges over inputs in `[−1, 1]`.
pub fn quantize(
    graph: &Graph,
    calibration: &[Vec<f32>],
    options: QuantizeOptions,
) -> Result<QuantizedModel, QuantizeError> {
    if !(2..=zkinfer_circuits::arith::ACTIVATION_BITS).contains(&options.activation_bits) {
        return Err(QuantizeError::Calibration(format!(
            "activation bits must be between 2 and {}, got {}",
            zkinfer_circuits::arith::ACTIVATION_BITS,
            options.activation_bits
        )));
    }
    if !(2..=24).contains(&options.weight_bits) {
        return Err(QuantizeError::Calibration(format!(
            "weight bits must be between 2 and 24, got {}",
            options.weight_bits
        )));
    }
    if let Some((i, s)) = calibration
        .iter()
        .enumerate()
        .find(|(_, s)| s.len() != graph.input.len())
    {
        return Err(QuantizeError::Calibration(format!(
            "sample {i} has {} values, the model takes {}",
            s.len(),
            graph.input.len()
        )));
    }
    let ranges = if calibration.is_empty() {
        Ranges::worst_case(graph)
    } else {
        Ranges::from_calibration(graph, calibration)
    };

    let input_scale = scale_for(ranges.input, options.activation_bits);
    let mut scale_in = input_scale;
    let mut layers = Vec::with_capacity(graph.layers.len());
    let mut layer_scales = Vec::with_capacity(graph.layers.len());
    for (layer, &range) in graph.layers.iter().zip(&ranges.layers) {
        let (dense, scales) = quantize_layer(layer, scale_in, range, options)?;
        scale_in = scales.output;
        layers.push(dense);
        layer_scales.push(scales);
    }
    let network = Network {
        input_len: graph.input.len(),
        layers,
    };
    network.validate()?;
    Ok(QuantizedModel {
        input: graph.input.clone(),
        output: graph.output.clone(),
        input_scale,
        output_scale: scale_in,
        layer_scales,
        network,
        options,
        calibration_samples: calibration.len(),
    })
}

fn quantize_layer(
    layer: &FloatLayer,
    input_scale: i32,
    range: f64,
    options: QuantizeOptions,
) -> Result<(DenseLayer, LayerScales), QuantizeError> {
    let max_weight = layer
        .weights
        .iter()
        .fold(0.0f64, |m, &w| m.max(f64::from(w.abs())));
    let mut weight_scale = scale_for(max_weight, options.weight_bits);
    let mut output_scale = scale_for(range, options.activation_bits);
    let mut shift = input_scale + weight_scale - output_scale;
    if shift > MAX_SHIFT as i32 {
        weight_scale -= shift - MAX_SHIFT as i32;
        shift = MAX_SHIFT as i32;
    }
    if shift < 0 {
        output_scale += shift;
        shift = 0;
    }
    let product_scale = input_scale + weight_scale;
    let weights: Vec<i64> = layer
        .weights
        .iter()
        .map(|&w| quantize_value(f64::from(w), weight_scale))
        .collect();
    let bias: Vec<i64> = layer
        .bias
        .iter()
        .map(|&b| quantize_value(f64::from(b), product_scale))
        .collect();
    if let Some(b) = layer
        .bias
        .iter()
        .find(|b| (f64::from(b.abs()) * 2f64.powi(product_scale)) >= 2f64.powi(62))
    {
        return Err(QuantizeError::Range {
            layer: layer.name.clone(),
            problem: format!("bias {b} is too large for the product scale 2^{product_scale}"),
        });
    }
    let dense = DenseLayer {
        name: layer.name.clone(),
        inputs: layer.inputs(),
        outputs: layer.outputs(),
        weights,
        bias,
        shift: shift as u32,
        relu: layer.relu,
    };
    let scales = LayerScales {
        name: layer.name.clone(),
        input: input_scale,
        weight: weight_scale,
        output: output_scale,
    };
    Ok((dense, scales))
}

impl QuantizedModel {
    /// Quantises one input sample. `sample` is only used in error messages.
    pub fn quantize_input(&self, sample: usize, values: &[f32]) -> Result<Vec<i64>, InputError> {
        if values.len() != self.network.input_len {
            return Err(InputError::Length {
                list: sample,
                got: values.len(),
                expected: self.network.input_len,
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
