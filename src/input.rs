//! Input files in the form zkML users already have: `{"input_data": [[f32, ...], ...]}`.
//!
//! Each list is one flat, row-major sample; a list whose length is a multiple of the model's
//! input size holds several samples back to back. Calibration files use the same form.

use serde::Deserialize;

use crate::error::InputError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InputFile {
    input_data: Vec<Vec<f64>>,
    // Fixture files may carry labels and reference logits next to the inputs.
    #[serde(default)]
    labels: Option<Vec<usize>>,
    #[serde(default, rename = "float_logits")]
    _float_logits: Option<serde_json::Value>,
}

/// Reads the samples of an input file for a model taking `input_len` values.
///
/// Fails with a message naming the list or value at fault: malformed JSON, an empty file, a list
/// whose length is not a multiple of `input_len`, or a value that is not a finite `f32`.
pub fn parse_samples(json: &[u8], input_len: usize) -> Result<Vec<Vec<f32>>, InputError> {
    let file: InputFile =
        serde_json::from_slice(json).map_err(|e| InputError::Malformed(e.to_string()))?;
    let mut samples = Vec::new();
    for (list, values) in file.input_data.iter().enumerate() {
        if values.is_empty() || input_len == 0 || values.len() % input_len != 0 {
            return Err(InputError::Length {
                list,
                got: values.len(),
                expected: input_len,
            });
        }
        for chunk in values.chunks(input_len) {
            let sample = samples.len();
            let converted = chunk
                .iter()
                .enumerate()
                .map(|(index, &v)| {
                    let f = v as f32;
                    if f.is_finite() {
                        Ok(f)
                    } else {
                        Err(InputError::NotFinite {
                            sample,
                            index,
                            value: v,
                        })
                    }
                })
                .collect::<Result<Vec<f32>, _>>()?;
            samples.push(converted);
        }
    }
    if samples.is_empty() {
        return Err(InputError::Empty);
    }
    Ok(samples)
}

/// The `labels` of an input file (one class index per sample), if it has them.
pub fn parse_labels(json: &[u8]) -> Result<Option<Vec<usize>>, InputError> {
    let file: InputFile =
        serde_json::from_slice(json).map_err(|e| InputError::Malformed(e.to_string()))?;
    Ok(file.labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_list_per_sample_or_back_to_back() {
        let s = parse_samples(br#"{"input_data": [[1, 2], [3, 4]]}"#, 2).unwrap();
        assert_eq!(s, vec![vec![1.0, 2.0], vec![3.0, 4.0]]);
        let s = parse_samples(br#"{"input_data": [[1, 2, 3, 4]]}"#, 2).unwrap();
        assert_eq!(s, vec![vec![1.0, 2.0], vec![3.0, 4.0]]);
    }

    #[test]
    fn bad_inputs_name_the_problem() {
        let e = parse_samples(br#"{"input_data": [[1, 2, 3]]}"#, 2).unwrap_err();
        assert!(e.to_string().contains("has 3 values"), "{e}");
        let e = parse_samples(br#"{"input_data": []}"#, 2).unwrap_err();
        assert_eq!(e, InputError::Empty);
        let e = parse_samples(br#"{"input_data": [[1, 1e40]]}"#, 2).unwrap_err();
        assert!(matches!(e, InputError::NotFinite { index: 1, .. }), "{e}");
        let e = parse_samples(br#"{"input_data": [[1, NaN]]}"#, 2).unwrap_err();
        assert!(matches!(e, InputError::Malformed(_)), "{e}");
        let e = parse_samples(br#"{"inputs": [[1, 2]]}"#, 2).unwrap_err();
        assert!(
            e.to_string().contains("input_data") || e.to_string().contains("unknown field"),
            "{e}"
        );
    }
}
