//! Constant tensors: initializers, `Constant` nodes, and computations folded at import.

use tract_onnx::pb;

use crate::error::ImportError;

/// A constant tensor, as f64 values (row-major).
#[derive(Clone, Debug, PartialEq)]
pub struct Constant {
    /// Shape.
    pub shape: Vec<usize>,
    /// Values.
    pub values: Vec<f64>,
}

impl Constant {
    /// A scalar.
    pub fn scalar(v: f64) -> Self {
        Self {
            shape: vec![],
            values: vec![v],
        }
    }

    /// A 1-D tensor.
    pub fn vector(values: Vec<f64>) -> Self {
        Self {
            shape: vec![values.len()],
            values,
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether it has no values.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The values as integers (for shapes, axes, indices).
    pub fn ints(&self) -> Vec<i64> {
        self.values.iter().map(|&v| v as i64).collect()
    }

    /// The values as f32.
    pub fn floats(&self) -> Vec<f32> {
        self.values.iter().map(|&v| v as f32).collect()
    }

    /// The single value of a one-element tensor.
    pub fn single(&self) -> Option<f64> {
        (self.values.len() == 1).then(|| self.values[0])
    }

    /// Reads a numeric tensor proto.
    pub fn from_proto(tensor: &pb::TensorProto, name: &str) -> Result<Self, ImportError> {
        use pb::tensor_proto::DataType;
        let err = |problem: String| ImportError::Tensor {
            name: name.to_string(),
            problem,
        };
        let numeric = [
            DataType::Float,
            DataType::Double,
            DataType::Float16,
            DataType::Int8,
            DataType::Int16,
            DataType::Int32,
            DataType::Int64,
            DataType::Uint8,
            DataType::Bool,
        ];
        if !numeric.iter().any(|&d| d as i32 == tensor.data_type) {
            return Err(err(format!(
                "unsupported element type {}",
                tensor.data_type
            )));
        }
        if tensor.data_location == Some(pb::tensor_proto::DataLocation::External as i32) {
            return Err(err(
                "external tensor data is not supported; save the model with its weights inside"
                    .into(),
            ));
        }
        let loaded = std::panic::catch_unwind(|| {
            tract_onnx::tensor::load_tensor(
                &tract_onnx::data_resolver::FopenDataResolver,
                tensor,
                None,
            )
        })
        .map_err(|_| err("cannot be decoded".into()))?
        .map_err(|e| err(format!("{e:#}")))?;
        let values = loaded
            .cast_to::<f64>()
            .and_then(|t| {
                Ok(t.to_plain_array_view::<f64>()?
                    .iter()
                    .copied()
                    .collect::<Vec<f64>>())
            })
            .map_err(|e| err(format!("{e:#}")))?;
        if let Some(v) = values.iter().find(|v| !v.is_finite()) {
            return Err(err(format!("holds a non-finite value ({v})")));
        }
        Ok(Self {
            shape: loaded.shape().to_vec(),
            values,
        })
    }

    /// The value of a `Constant` node's attribute.
    pub fn from_attribute(a: &pb::AttributeProto, name: &str) -> Result<Self, String> {
        match a.name.as_str() {
            "value" => {
                a.t.as_ref()
                    .ok_or_else(|| "empty tensor".to_string())
                    .and_then(|t| Self::from_proto(t, name).map_err(|e| e.to_string()))
            }
            "value_float" => Ok(Self::scalar(f64::from(a.f))),
            "value_floats" => Ok(Self::vector(
                a.floats.iter().map(|&v| f64::from(v)).collect(),
            )),
            "value_int" => Ok(Self::scalar(a.i as f64)),
            "value_ints" => Ok(Self::vector(a.ints.iter().map(|&v| v as f64).collect())),
            other => Err(format!("value kind '{other}' is not supported")),
        }
    }

    /// Broadcasts the constant to `len` elements of a tensor of `shape` (numpy rules).
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Vec<f64>, String> {
        let map = super::shapes::broadcast(shape, &self.shape)?;
        if map.shape != shape {
            return Err(format!(
                "a constant of shape {:?} cannot apply to shape {shape:?}",
                self.shape
            ));
        }
        Ok(map.b.iter().map(|&i| self.values[i as usize]).collect())
    }

    /// Elementwise combination of two constants with broadcasting.
    pub fn zip(&self, other: &Constant, f: impl Fn(f64, f64) -> f64) -> Result<Constant, String> {
        let map = super::shapes::broadcast(&self.shape, &other.shape)?;
        Ok(Constant {
            shape: map.shape,
            values: map
                .a
                .iter()
                .zip(&map.b)
                .map(|(&i, &j)| f(self.values[i as usize], other.values[j as usize]))
                .collect(),
        })
    }

    /// Rearranges the constant by an index map.
    pub fn gather(&self, shape: Vec<usize>, sources: &[u32]) -> Constant {
        Constant {
            shape,
            values: sources.iter().map(|&i| self.values[i as usize]).collect(),
        }
    }
}
