//! `zkinfer.compile`: import an ONNX model, quantise it and compile it, as `zkinfer compile`.

use std::path::{Path, PathBuf};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use serde::de::DeserializeOwned;
use zkinfer::input::parse_samples;
use zkinfer::{CompileOptions, Error, Model, QuantizeOptions, WeightVisibility};

use crate::errors::guard;
use crate::model::NativeModel;

/// Reads a whole file, naming it in the error.
pub fn read(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|source| Error::Io {
        action: "cannot read",
        path: path.to_path_buf(),
        source,
    })
}

/// Reads samples (`{"input_data": [[...], ...]}`) for a model taking `input_len` values.
pub fn load_samples(path: &Path, input_len: usize) -> Result<Vec<Vec<f32>>, Error> {
    parse_samples(&read(path)?, input_len).map_err(|e| Error::Input(e).in_file(path))
}

/// A choice given by name (`"hashed"`, `"conv32x16"`, `"committed"`), as the files store it.
fn by_name<T: DeserializeOwned>(what: &str, name: &str, names: &str) -> PyResult<T> {
    serde_json::from_value(serde_json::Value::String(name.to_string()))
        .map_err(|_| PyValueError::new_err(format!("unknown {what} '{name}': expected {names}")))
}

/// The names of every shape.
fn shape_names() -> String {
    zkinfer::ShapeKind::ALL
        .iter()
        .map(|s| s.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where the calibration samples come from.
#[derive(FromPyObject)]
pub enum Calibration {
    /// Samples, one flat list per sample.
    Samples(Vec<Vec<f32>>),
    /// A file of samples.
    File(PathBuf),
}

/// Imports, quantises and compiles an ONNX model (see `zkinfer.compile`).
#[pyfunction]
#[pyo3(signature = (
    onnx_path, calibration=None, *, max_k=None, slices=None, shape=None,
    input_visibility="public", output_visibility="public", weights="fixed",
    activation_bits=10, weight_bits=None, table_bits=9, cache_dir=None, key_cache=true
))]
#[allow(clippy::too_many_arguments)]
pub fn compile(
    py: Python<'_>,
    onnx_path: PathBuf,
    calibration: Option<Calibration>,
    max_k: Option<u32>,
    slices: Option<usize>,
    shape: Option<String>,
    input_visibility: &str,
    output_visibility: &str,
    weights: &str,
    activation_bits: u32,
    weight_bits: Option<u32>,
    table_bits: u32,
    cache_dir: Option<PathBuf>,
    key_cache: bool,
) -> PyResult<NativeModel> {
    const VISIBILITIES: &str = "public, private or hashed";
    let weights: WeightVisibility = by_name("weights placement", weights, "fixed or committed")?;
    let options = CompileOptions {
        shape: shape
            .as_deref()
            .map(|s| by_name("shape", s, &shape_names()))
            .transpose()?,
        max_k,
        slices,
        input: by_name("input visibility", input_visibility, VISIBILITIES)?,
        output: by_name("output visibility", output_visibility, VISIBILITIES)?,
        weights,
    };
    let quantize = QuantizeOptions {
        activation_bits,
        weight_bits: weight_bits.unwrap_or_else(|| QuantizeOptions::default_weight_bits(weights)),
        table_bits,
    };
    let compiled = py.detach(|| {
        guard(|| {
            let model = Model::from_onnx(&read(&onnx_path)?)
                .map_err(|e| Error::Import(e).in_file(&onnx_path))?;
            let input_len = model.graph().input().len();
            let calibration = match calibration {
                None => Vec::new(),
                Some(Calibration::Samples(samples)) => samples,
                Some(Calibration::File(path)) => load_samples(&path, input_len)?,
            };
            model.compile(&calibration, quantize, options)
        })
    })?;
    Ok(NativeModel::new(compiled, cache_dir, key_cache))
}
