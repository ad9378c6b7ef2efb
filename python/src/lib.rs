//! Python bindings of zkinfer: the extension module `zkinfer._native`, built by maturin.
//!
//! It mirrors the library (`CompiledModel`, `Prover`, `Verifier`, `SliceProver`, `join`, the
//! key store) as a model object that builds its keys once and keeps them, and a `Proof` whose
//! JSON is the command line's proof file. The pure-Python package `zkinfer` (python/zkinfer)
//! wraps it: input conversion (lists, numpy arrays, files), docstrings, and proving on Ray.
//! The GIL is released while compiling, proving and verifying; errors become exceptions of
//! the `zkinfer.ZkinferError` family with the command line's messages.

mod audit;
mod bench;
mod compile;
mod errors;
mod keys;
mod model;
mod proof;

use pyo3::prelude::*;

/// A fresh link secret (64 hex digits) for the parts of one sliced proof made apart.
#[pyfunction]
fn link_secret() -> String {
    zkinfer::LinkSecret::random().to_hex()
}

/// The samples of an input file (`{"input_data": [[...], ...]}`) for a model taking
/// `input_len` values, each a flat list.
#[pyfunction]
fn load_samples(
    py: Python<'_>,
    path: std::path::PathBuf,
    input_len: usize,
) -> PyResult<Vec<Vec<f32>>> {
    py.detach(|| errors::guard(|| compile::load_samples(&path, input_len)))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    m.add_class::<model::NativeModel>()?;
    m.add_class::<proof::PyProof>()?;
    m.add_function(wrap_pyfunction!(compile::compile, m)?)?;
    m.add_function(wrap_pyfunction!(link_secret, m)?)?;
    m.add_function(wrap_pyfunction!(load_samples, m)?)?;
    m.add_function(wrap_pyfunction!(audit::audit_commit, m)?)?;
    m.add_function(wrap_pyfunction!(audit::audit_challenge, m)?)?;
    m.add_function(wrap_pyfunction!(audit::audit_prove, m)?)?;
    m.add_function(wrap_pyfunction!(audit::audit_verify, m)?)?;
    m.add_function(wrap_pyfunction!(audit::audit_reexecute, m)?)?;
    m.add_function(wrap_pyfunction!(audit::audit_plan, m)?)?;
    m.add_function(wrap_pyfunction!(audit::audit_detection, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
