//! How far the quantised model is from the float model, measured on real samples.

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::quantize::QuantizedModel;
use crate::reference::FloatReference;

/// Quantised vs float outputs over a set of samples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FidelityReport {
    /// Samples compared.
    pub samples: usize,
    /// Largest absolute difference between a dequantised and a float output.
    pub max_abs_error: f64,
    /// Mean absolute difference over all outputs.
    pub mean_abs_error: f64,
    /// Samples whose quantised argmax equals the float argmax.
    pub argmax_matches: usize,
    /// Samples the quantised model refused (a value outside its range).
    pub refused: usize,
    /// With labels: samples the float model classifies correctly.
    #[serde(default)]
    pub float_correct: Option<usize>,
    /// With labels: samples the quantised model classifies correctly.
    #[serde(default)]
    pub quantized_correct: Option<usize>,
}

impl FidelityReport {
    /// With labels: accuracy drop in percentage points (float − quantised).
    pub fn accuracy_drop_points(&self) -> Option<f64> {
        let (f, q) = (self.float_correct?, self.quantized_correct?);
        Some(100.0 * (f as f64 - q as f64) / self.samples.max(1) as f64)
    }

    /// Fraction of samples whose argmax agrees (refused samples count as disagreeing).
    pub fn argmax_agreement(&self) -> f64 {
        if self.samples == 0 {
            return 1.0;
        }
        self.argmax_matches as f64 / self.samples as f64
    }
}

impl std::fmt::Display for FidelityReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} samples: max |quantised − float| = {:.5}, mean = {:.5}, argmax agreement {}/{} ({:.1} %)",
            self.samples,
            self.max_abs_error,
            self.mean_abs_error,
            self.argmax_matches,
            self.samples,
            100.0 * self.argmax_agreement()
        )?;
        if let (Some(fc), Some(qc)) = (self.float_correct, self.quantized_correct) {
            let n = self.samples.max(1) as f64;
            write!(
                f,
                "; accuracy float {:.2} % → quantised {:.2} % ({:+.2} points)",
                100.0 * fc as f64 / n,
                100.0 * qc as f64 / n,
                100.0 * (qc as f64 - fc as f64) / n
            )?;
        }
        if self.refused > 0 {
            write!(f, ", {} refused as out of range", self.refused)?;
        }
        Ok(())
    }
}

/// Index of the largest value (the first one on ties).
pub fn argmax(values: &[f32]) -> Option<usize> {
    values
        .iter()
        .enumerate()
        .fold(None, |best: Option<(usize, f32)>, (i, &v)| match best {
            Some((_, b)) if b >= v => best,
            _ => Some((i, v)),
        })
        .map(|(i, _)| i)
}

/// Compares `model` with the float `reference` on `samples` (and, given `labels`, both models'
/// accuracy).
pub fn measure(
    reference: &FloatReference,
    model: &QuantizedModel,
    samples: &[Vec<f32>],
    labels: Option<&[usize]>,
) -> Result<FidelityReport, Error> {
    let labels = labels.filter(|l| l.len() == samples.len());
    let mut report = FidelityReport {
        samples: samples.len(),
        max_abs_error: 0.0,
        mean_abs_error: 0.0,
        argmax_matches: 0,
        refused: 0,
        float_correct: labels.map(|_| 0),
        quantized_correct: labels.map(|_| 0),
    };
    let mut total_error = 0.0;
    let mut compared = 0usize;
    for (i, sample) in samples.iter().enumerate() {
        let float = reference.run(sample)?;
        let label = labels.map(|l| l[i]);
        if let (Some(label), Some(correct)) = (label, report.float_correct.as_mut()) {
            *correct += usize::from(argmax(&float) == Some(label));
        }
        let Ok(quantised) = model.run(i, sample) else {
            report.refused += 1;
            continue;
        };
        if let (Some(label), Some(correct)) = (label, report.quantized_correct.as_mut()) {
            *correct += usize::from(argmax(&quantised) == Some(label));
        }
        for (q, f) in quantised.iter().zip(&float) {
            let e = f64::from((q - f).abs());
            report.max_abs_error = report.max_abs_error.max(e);
            total_error += e;
            compared += 1;
        }
        if argmax(&quantised) == argmax(&float) {
            report.argmax_matches += 1;
        }
    }
    report.mean_abs_error = if compared == 0 {
        0.0
    } else {
        total_error / compared as f64
    };
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::argmax;

    #[test]
    fn argmax_takes_the_first_of_ties() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0, -1.0]), Some(1));
        assert_eq!(argmax(&[]), None);
    }
}
