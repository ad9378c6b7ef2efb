//! zkinfer's errors as Python exceptions, and a guard that turns a Rust panic into one.
//!
//! Every exception derives from [`ZkinferError`]; `str(e)` is the message the command line
//! prints after `error:`. The class says which stage failed, so callers can catch just that.

use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use zkinfer::Error;

pyo3::create_exception!(
    zkinfer,
    ZkinferError,
    PyException,
    "Any zkinfer error; str(e) is the message `zkinfer` prints after `error:`."
);
pyo3::create_exception!(
    zkinfer,
    ModelImportError,
    ZkinferError,
    "The ONNX model cannot be imported (every unsupported node is named)."
);
pyo3::create_exception!(
    zkinfer,
    QuantizeError,
    ZkinferError,
    "The model cannot be quantised."
);
pyo3::create_exception!(
    zkinfer,
    CompileError,
    ZkinferError,
    "The quantised model does not fit a circuit (or cannot be sliced as asked)."
);
pyo3::create_exception!(
    zkinfer,
    InputError,
    ZkinferError,
    "An input cannot be used: wrong length, NaN, a value beyond the circuit's range."
);
pyo3::create_exception!(zkinfer, ProveError, ZkinferError, "Proving failed.");
pyo3::create_exception!(
    zkinfer,
    VerifyError,
    ZkinferError,
    "The proof is invalid: the message names the field, slice or link at fault."
);
pyo3::create_exception!(
    zkinfer,
    ArtifactError,
    ZkinferError,
    "A compiled model or proof is malformed, or of another format or version."
);
pyo3::create_exception!(
    zkinfer,
    ParamsError,
    ZkinferError,
    "Public parameters cannot be loaded or stored."
);
pyo3::create_exception!(
    zkinfer,
    ClaimError,
    ZkinferError,
    "A claim about the output cannot be parsed, made (it is false) or checked."
);
pyo3::create_exception!(
    zkinfer,
    JoinError,
    ZkinferError,
    "The parts of a sliced proof cannot be joined (missing, repeated or foreign)."
);
pyo3::create_exception!(
    zkinfer,
    AuditError,
    ZkinferError,
    "A sampled audit failed or cannot be made: the message names the sample at fault."
);
pyo3::create_exception!(
    zkinfer,
    IoError,
    ZkinferError,
    "A file cannot be read or written."
);

/// The error a file error wraps (its class decides the exception's).
fn root(error: &Error) -> &Error {
    match error {
        Error::File { source, .. } => root(source),
        other => other,
    }
}

/// The Python exception for a zkinfer error, with the same message.
pub fn to_py(error: Error) -> PyErr {
    let message = error.to_string();
    match root(&error) {
        Error::Import(_) => ModelImportError::new_err(message),
        Error::Quantize(_) => QuantizeError::new_err(message),
        Error::Compile(_) => CompileError::new_err(message),
        Error::Input(_) | Error::Forward(_) => InputError::new_err(message),
        Error::Prove(_) => ProveError::new_err(message),
        Error::Verify(_) | Error::BatchRejected { .. } => VerifyError::new_err(message),
        Error::Artifact(_) => ArtifactError::new_err(message),
        Error::Params(_) => ParamsError::new_err(message),
        Error::Claim(_) => ClaimError::new_err(message),
        Error::Join(_) => JoinError::new_err(message),
        Error::Audit(_) => AuditError::new_err(message),
        Error::Io { .. } => IoError::new_err(message),
        Error::Reference(_) | Error::File { .. } => ZkinferError::new_err(message),
    }
}

/// Runs `f`, turning its error into the matching exception and a panic (a bug) into a
/// `ZkinferError` naming it, so no Rust panic reaches the interpreter.
pub fn guard<T>(f: impl FnOnce() -> Result<T, Error>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result.map_err(to_py),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into());
            Err(ZkinferError::new_err(format!(
                "internal error ({what}); please report it"
            )))
        }
    }
}

/// Adds the exception classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("ZkinferError", py.get_type::<ZkinferError>())?;
    m.add("ModelImportError", py.get_type::<ModelImportError>())?;
    m.add("QuantizeError", py.get_type::<QuantizeError>())?;
    m.add("CompileError", py.get_type::<CompileError>())?;
    m.add("InputError", py.get_type::<InputError>())?;
    m.add("ProveError", py.get_type::<ProveError>())?;
    m.add("VerifyError", py.get_type::<VerifyError>())?;
    m.add("ArtifactError", py.get_type::<ArtifactError>())?;
    m.add("ParamsError", py.get_type::<ParamsError>())?;
    m.add("ClaimError", py.get_type::<ClaimError>())?;
    m.add("JoinError", py.get_type::<JoinError>())?;
    m.add("AuditError", py.get_type::<AuditError>())?;
    m.add("IoError", py.get_type::<IoError>())?;
    Ok(())
}
