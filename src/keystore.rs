//! Stored keys: the commitments of a circuit's verifying key, kept on disk and checked on use.
//!
//! Building a verifying key is one commitment per fixed column and per column of the
//! permutation argument: almost all of key generation for a large circuit. The store keeps
//! those commitments in `keys/` of the parameter cache folder, one file per circuit, named by a
//! digest of everything that defines the circuit. A stored file is never trusted: the vendored
//! `halo2_proofs` rebuilds the key from the circuit and checks every stored commitment at once
//! by a random linear combination (`keygen_vk_from_commitments`, one commitment's work instead
//! of hundreds), so the key used is exactly the one key generation would give — the same
//! pinned key and model digest — or the file is refused, the key rebuilt and the file rewritten.
//! See SECURITY.md.
//!
//! File layout (little-endian): the magic `zkinfer-key-commitments\n`, a format version (u32),
//! `k` (u32), the circuit digest (32 bytes), the number of fixed and of permutation commitments
//! (u32 each), the commitments (32-byte compressed points), and a BLAKE2b-256 checksum of all
//! that precedes it.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use group::GroupEncoding;
use halo2_proofs::plonk::KeyCommitments;

use crate::params::{Curve, ParamsCache};

const MAGIC: &[u8] = b"zkinfer-key-commitments\n";
const VERSION: u32 = 1;
const POINT_BYTES: usize = 32;
const CHECKSUM_BYTES: usize = 32;
/// No circuit of a supported `k` has more columns than this; a header claiming more is damage.
const MAX_COMMITMENTS: usize = 1 << 16;

/// Where stored keys live, or nowhere (keys are then built each time).
#[derive(Clone, Debug, Default)]
pub struct KeyStore {
    dir: Option<PathBuf>,
}

/// How a key was obtained.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// Rebuilt from stored commitments, which passed the check.
    Stored,
    /// Generated: no store, or nothing stored for this circuit yet.
    Generated,
    /// Generated because the stored file was refused (the reason); the file was rewritten.
    Replaced(String),
}

impl KeyStore {
    /// A store that keeps nothing: every key is generated.
    pub fn none() -> Self {
        Self { dir: None }
    }

    /// A store in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: Some(dir.into()),
        }
    }

    /// The store inside a parameter cache folder (`keys/`).
    pub fn in_cache(cache: &ParamsCache) -> Self {
        Self::new(cache.dir().join("keys"))
    }

    /// The folder, if any.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The file for the circuit with this digest.
    pub fn path(&self, circuit: &[u8; 32]) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|dir| dir.join(format!("{}.keyc", hex::encode(circuit))))
    }

    /// The stored commitments for a circuit: `Ok(None)` if nothing is stored, `Err(reason)` if
    /// the file is there but unreadable or damaged.
    pub fn load(
        &self,
        circuit: &[u8; 32],
        k: u32,
    ) -> Result<Option<KeyCommitments<Curve>>, String> {
        let Some(path) = self.path(circuit) else {
            return Ok(None);
        };
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        decode(&bytes, circuit, k)
            .map(Some)
            .map_err(|why| format!("{}: {why}", path.display()))
    }

    /// Stores a circuit's commitments (atomically: a reader never sees half a file). Errors
    /// are returned, not fatal: a key that cannot be stored is rebuilt next time.
    pub fn save(
        &self,
        circuit: &[u8; 32],
        k: u32,
        commitments: &KeyCommitments<Curve>,
    ) -> std::io::Result<()> {
        let (Some(dir), Some(path)) = (&self.dir, self.path(circuit)) else {
            return Ok(());
        };
        fs::create_dir_all(dir)?;
        static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = path.with_extension(format!("tmp{}-{n}", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut file = fs::File::create(&tmp)?;
            file.write_all(&encode(circuit, k, commitments))?;
            file.sync_all()
        };
        write()
            .and_then(|()| fs::rename(&tmp, &path))
            .inspect_err(|_| {
                let _ = fs::remove_file(&tmp);
            })
    }
}

fn checksum(bytes: &[u8]) -> [u8; CHECKSUM_BYTES] {
    let hash = blake2b_simd::Params::new()
        .hash_length(CHECKSUM_BYTES)
        .personal(b"zkinfer-keyc-sum")
        .hash(bytes);
    hash.as_bytes().try_into().expect("32-byte hash")
}

fn encode(circuit: &[u8; 32], k: u32, commitments: &KeyCommitments<Curve>) -> Vec<u8> {
    let points = commitments.fixed.len() + commitments.permutation.len();
    let mut out = Vec::with_capacity(MAGIC.len() + 48 + points * POINT_BYTES + CHECKSUM_BYTES);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&k.to_le_bytes());
    out.extend_from_slice(circuit);
    for count in [commitments.fixed.len(), commitments.permutation.len()] {
        out.extend_from_slice(&(count as u32).to_le_bytes());
    }
    for point in commitments.fixed.iter().chain(&commitments.permutation) {
        out.extend_from_slice(point.to_bytes().as_ref());
    }
    let sum = checksum(&out);
    out.extend_from_slice(&sum);
    out
}

/// Reads a little-endian `u32` at `at`.
fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn decode(bytes: &[u8], circuit: &[u8; 32], k: u32) -> Result<KeyCommitments<Curve>, String> {
    let body_len = bytes
        .len()
        .checked_sub(CHECKSUM_BYTES)
        .ok_or("the file is truncated")?;
    let (body, sum) = bytes.split_at(body_len);
    if !body.starts_with(MAGIC) {
        return Err("not a key-commitments file".into());
    }
    if checksum(body) != sum {
        return Err("the checksum does not match: the file is damaged".into());
    }
    let mut at = MAGIC.len();
    let version = u32_at(body, at).ok_or("the header is truncated")?;
    if version != VERSION {
        return Err(format!("format version {version}, expected {VERSION}"));
    }
    at += 4;
    let stored_k = u32_at(body, at).ok_or("the header is truncated")?;
    if stored_k != k {
        return Err(format!(
            "stored for k = {stored_k}, the circuit has k = {k}"
        ));
    }
    at += 4;
    if body.get(at..at + 32) != Some(circuit.as_slice()) {
        return Err("stored for another circuit".into());
    }
    at += 32;
    let fixed = u32_at(body, at).ok_or("the header is truncated")? as usize;
    let permutation = u32_at(body, at + 4).ok_or("the header is truncated")? as usize;
    at += 8;
    if fixed + permutation > MAX_COMMITMENTS
        || body.len() != at + (fixed + permutation) * POINT_BYTES
    {
        return Err(format!(
            "{fixed} + {permutation} commitments do not match the file's length"
        ));
    }
    let points = body[at..]
        .chunks_exact(POINT_BYTES)
        .enumerate()
        .map(|(i, chunk)| {
            let mut repr = <Curve as GroupEncoding>::Repr::default();
            repr.as_mut().copy_from_slice(chunk);
            Option::<Curve>::from(Curve::from_bytes(&repr))
                .ok_or_else(|| format!("commitment {i} is not a curve point"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (fixed, permutation) = points.split_at(fixed);
    Ok(KeyCommitments {
        fixed: fixed.to_vec(),
        permutation: permutation.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use group::{Curve as _, Group};

    fn sample() -> KeyCommitments<Curve> {
        let g = pasta_curves::Eq::generator();
        let point = |n: u64| (g * pasta_curves::Fp::from(n)).to_affine();
        KeyCommitments {
            fixed: vec![point(2), pasta_curves::Eq::identity().to_affine(), point(5)],
            permutation: vec![point(7)],
        }
    }

    #[test]
    fn stored_commitments_read_back_and_damage_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::new(dir.path().join("keys"));
        let circuit = [7u8; 32];
        assert_eq!(store.load(&circuit, 9), Ok(None));
        store.save(&circuit, 9, &sample()).unwrap();
        assert_eq!(store.load(&circuit, 9), Ok(Some(sample())));

        // Another k or another circuit's digest inside the file is refused.
        assert!(store.load(&circuit, 10).unwrap_err().contains("k = 9"));
        let path = store.path(&circuit).unwrap();
        let other = [8u8; 32];
        fs::copy(&path, store.path(&other).unwrap()).unwrap();
        assert!(store
            .load(&other, 9)
            .unwrap_err()
            .contains("another circuit"));

        // Every flipped byte and every truncation is detected.
        let bytes = fs::read(&path).unwrap();
        for i in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[i] ^= 1;
            assert!(decode(&damaged, &circuit, 9).is_err(), "byte {i}");
        }
        for len in 0..bytes.len() {
            assert!(decode(&bytes[..len], &circuit, 9).is_err(), "length {len}");
        }
    }

    #[test]
    fn a_count_field_cannot_ask_for_a_huge_allocation() {
        let circuit = [1u8; 32];
        let mut bytes = encode(&circuit, 9, &sample());
        let at = MAGIC.len() + 40;
        bytes[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        let body_len = bytes.len() - CHECKSUM_BYTES;
        let sum = checksum(&bytes[..body_len]);
        bytes[body_len..].copy_from_slice(&sum);
        let err = decode(&bytes, &circuit, 9).unwrap_err();
        assert!(err.contains("do not match the file's length"), "{err}");
    }

    #[test]
    fn a_store_without_a_folder_keeps_nothing() {
        let store = KeyStore::none();
        store.save(&[0; 32], 9, &sample()).unwrap();
        assert_eq!(store.load(&[0; 32], 9), Ok(None));
    }
}
