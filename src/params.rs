//! Public parameters, cached on disk per `k`.
//!
//! IPA over Pasta needs no trusted setup: `Params::new(k)` derives everything from `k` by hashing
//! to the curve, but it is slow (about a second at k = 10, a minute at k = 16). The cache stores
//! each `k` once, in `--cache-dir`, else `$ZKINFER_CACHE_DIR`, else `$XDG_CACHE_HOME/zkinfer`,
//! else `~/.cache/zkinfer`. Files are written atomically and checked for size and `k` when read;
//! a damaged file is regenerated.
//!
//! The cache is trusted local state: whoever can write it can make proofs fail to verify (see
//! the README's security notes).

use std::fs;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use halo2_proofs::poly::commitment::Params;
use pasta_curves::vesta;

use crate::error::ParamsError;

/// The curve zkinfer commits with (its scalar field is the circuit field `Fp`).
pub type Curve = vesta::Affine;

/// Environment variable naming the cache folder.
pub const CACHE_ENV: &str = "ZKINFER_CACHE_DIR";

/// Size in bytes of the file for `k`: `k`, `2^k` bases twice, `w` and `u`, each point as its
/// two coordinates (uncompressed: reading checks that each point is on the curve, about 20
/// times faster than decompressing it).
fn file_size(k: u32) -> u64 {
    4 + (2 * (1u64 << k) + 2) * 64
}

/// What the cache did to produce parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamsSource {
    /// Read from the cache.
    Cached,
    /// Generated (and stored, unless storing failed).
    Generated,
}

/// A folder of cached parameters.
#[derive(Clone, Debug)]
pub struct ParamsCache {
    dir: PathBuf,
}

impl ParamsCache {
    /// A cache in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The cache folder chosen by the environment (see the module docs).
    pub fn from_env() -> Self {
        if let Some(dir) = std::env::var_os(CACHE_ENV).filter(|d| !d.is_empty()) {
            return Self::new(dir);
        }
        if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
            return Self::new(PathBuf::from(dir).join("zkinfer"));
        }
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
        Self::new(home.join(".cache").join("zkinfer"))
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file holding `k`.
    pub fn path(&self, k: u32) -> PathBuf {
        self.dir.join(format!("ipa-pasta-k{k}-xy.params"))
    }

    /// Loads the parameters for `k`, generating and storing them if needed. `on_generate` is
    /// called before a (slow) generation starts, so callers can tell the user.
    pub fn load_or_generate(
        &self,
        k: u32,
        on_generate: impl FnOnce(&Path),
    ) -> Result<(Params<Curve>, ParamsSource), ParamsError> {
        let path = self.path(k);
        if let Some(params) = read(&path, k) {
            return Ok((params, ParamsSource::Cached));
        }
        on_generate(&path);
        let params = Params::<Curve>::new(k);
        self.store(&params, &path)?;
        Ok((params, ParamsSource::Generated))
    }

    fn store(&self, params: &Params<Curve>, path: &Path) -> Result<(), ParamsError> {
        let cache_err = |path: &Path, source| ParamsError::Cache {
            path: path.to_path_buf(),
            source,
        };
        fs::create_dir_all(&self.dir).map_err(|e| cache_err(&self.dir, e))?;
        // Unique per process and call, so concurrent writers never share a temporary file.
        static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = path.with_extension(format!("tmp{}-{n}", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut out = BufWriter::new(fs::File::create(&tmp)?);
            params.write_uncompressed(&mut out)?;
            out.flush()?;
            out.get_ref().sync_all()?;
            Ok(())
        };
        write().and_then(|()| fs::rename(&tmp, path)).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            cache_err(path, e)
        })
    }
}

/// Reads a cached file, or `None` if it is missing or damaged.
fn read(path: &Path, k: u32) -> Option<Params<Curve>> {
    let file = fs::File::open(path).ok()?;
    if file.metadata().ok()?.len() != file_size(k) {
        return None;
    }
    let mut reader = BufReader::new(file);
    let mut header = [0u8; 4];
    reader.read_exact(&mut header).ok()?;
    if u32::from_le_bytes(header) != k {
        return None;
    }
    let mut full = header.chain(reader);
    let params = Params::<Curve>::read_uncompressed(&mut full).ok()?;
    (params.k() == k).then_some(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caches_and_regenerates_damaged_files() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ParamsCache::new(dir.path().join("nested"));
        let mut generated = 0;
        let (a, source) = cache.load_or_generate(4, |_| generated += 1).unwrap();
        assert_eq!((source, generated), (ParamsSource::Generated, 1));
        let (b, source) = cache.load_or_generate(4, |_| generated += 1).unwrap();
        assert_eq!((source, generated), (ParamsSource::Cached, 1));
        assert_eq!(a.get_g(), b.get_g());

        // A truncated file is regenerated, not trusted.
        let path = cache.path(4);
        let bytes = fs::read(&path).unwrap();
        fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        let (_, source) = cache.load_or_generate(4, |_| generated += 1).unwrap();
        assert_eq!((source, generated), (ParamsSource::Generated, 2));
        // A file for another k is not used either.
        fs::copy(cache.path(4), cache.path(5)).unwrap();
        let (c, source) = cache.load_or_generate(5, |_| generated += 1).unwrap();
        assert_eq!((source, c.k()), (ParamsSource::Generated, 5));
    }

    #[test]
    fn uncompressed_files_hold_the_generated_points_and_refuse_points_off_the_curve() {
        let params = Params::<Curve>::new(4);
        let mut bytes = Vec::new();
        params.write_uncompressed(&mut bytes).unwrap();
        assert_eq!(bytes.len() as u64, file_size(4));
        // The same parameters as the published format's round trip.
        let read = Params::<Curve>::read_uncompressed(&mut bytes.as_slice()).unwrap();
        let (mut published, mut reread) = (Vec::new(), Vec::new());
        params.write(&mut published).unwrap();
        read.write(&mut reread).unwrap();
        assert_eq!(published, reread);
        // Any change of a coordinate (first point, a Lagrange base, u) leaves the curve or the
        // field; the reader refuses it rather than use another point.
        for offset in [4, 4 + 63, 4 + 16 * 64 + 40, bytes.len() - 1] {
            let mut damaged = bytes.clone();
            damaged[offset] ^= 1;
            assert!(
                Params::<Curve>::read_uncompressed(&mut damaged.as_slice()).is_err(),
                "byte {offset}"
            );
        }
    }
}
