//! File access and progress messages for the commands.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use halo2_proofs::poly::commitment::Params;
use zkinfer::params::{Curve, ParamsSource};
use zkinfer::{CompiledModel, Error, KeySource, KeyStore, ParamsCache, Result};

use super::CacheArgs;

/// Reads a whole file.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io {
        action: "cannot read",
        path: path.to_path_buf(),
        source,
    })
}

/// Writes a whole file, atomically (a temporary file renamed into place).
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    let io_err = |source| Error::Io {
        action: "cannot write",
        path: path.to_path_buf(),
        source,
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io_err(e)
        })
}

/// Reads a compiled model file.
pub fn load_compiled(path: &Path) -> Result<Arc<CompiledModel>> {
    let bytes = read(path)?;
    CompiledModel::from_json(&bytes)
        .map(Arc::new)
        .map_err(|e| Error::Artifact(e).in_file(path))
}

impl CacheArgs {
    /// The parameter cache chosen by `--cache-dir` or the environment.
    fn params_cache(&self) -> ParamsCache {
        self.cache_dir
            .clone()
            .map_or_else(ParamsCache::from_env, ParamsCache::new)
    }

    /// Where key commitments are stored (nowhere with `--no-key-cache`).
    pub fn keys(&self) -> KeyStore {
        if self.no_key_cache {
            KeyStore::none()
        } else {
            KeyStore::in_cache(&self.params_cache())
        }
    }
}

/// Tells the user when a stored key was refused (and rebuilt).
pub fn report_key_source(source: &KeySource) {
    if let KeySource::Replaced(reason) = source {
        progress(&format!(
            "  stored key commitments refused ({reason}); rebuilt and stored again"
        ));
    }
}

/// Loads (or generates and caches) the parameters for `k`, telling the user when it is slow.
pub fn load_params(cache: &CacheArgs, k: u32) -> Result<Arc<Params<Curve>>> {
    let cache = cache.params_cache();
    let start = Instant::now();
    let (params, source) = cache.load_or_generate(k, |path| {
        progress(&format!(
            "generating public parameters for k = {k} (one-time; cached at {})",
            path.display()
        ));
    })?;
    if source == ParamsSource::Generated {
        progress(&format!("  done in {:.1} s", start.elapsed().as_secs_f64()));
    }
    Ok(Arc::new(params))
}

/// A progress line on stderr.
pub fn progress(message: &str) {
    eprintln!("{message}");
}

/// Runs `f`, reporting how long the stage took.
pub fn stage<T>(name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    progress(&format!("{name}…"));
    let start = Instant::now();
    let value = f()?;
    progress(&format!("  done in {:.2} s", start.elapsed().as_secs_f64()));
    Ok(value)
}
