//! Stored keys: what rebuilds a circuit's verifying key, kept on disk.
//!
//! Building a verifying key is one commitment per fixed column and per column of the
//! permutation argument: almost all of key generation for a large circuit. The store keeps
//! those commitments, and the rows each selector is enabled on, in `keys/` of the parameter
//! cache folder, one file per circuit, named by a digest of everything that defines the circuit.
//!
//! Each file is sealed: a keyed BLAKE2b-256 of its contents under a secret kept next to it
//! (`keys/seal.key`, made on first use, readable by its owner only). A file carries this
//! store's seal only if this store wrote it, and this store writes a file only after building
//! the key from scratch or checking every stored commitment against the circuit. A sealed file
//! is therefore believed as the parameter cache is: the verifying key is rebuilt from it
//! without synthesising the circuit (`keygen_vk_from_trusted`). Any other file — copied from
//! another machine, written by someone who does not hold the secret, or damaged — is not
//! trusted: the vendored `halo2_proofs` rebuilds the key from the circuit and checks every
//! stored commitment at once by a random linear combination (`keygen_vk_from_commitments`, one
//! commitment's work instead of hundreds), so the key used is exactly the one key generation
//! would give, or the file is refused, the key rebuilt and the file rewritten. See SECURITY.md.
//!
//! File layout (little-endian): the magic `zkinfer-key-commitments\n`, a format version (u32),
//! `k` (u32), the circuit digest (32 bytes), the number of fixed, of permutation commitments and
//! of selectors (u32 each), the commitments (32-byte compressed points), each selector's rows
//! (`2^k` bits, least significant bit first), a BLAKE2b-256 checksum of all that precedes it,
//! and the seal (32 bytes) of the same.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use group::GroupEncoding;
use halo2_proofs::plonk::{KeyCommitments, ProvingKey, SelectorRows};
use halo2_proofs::poly::commitment::{Params, MAX_COMMITMENT_TABLE_K};
use rand_core::Rng;

use crate::params::{Curve, ParamsCache};

const MAGIC: &[u8] = b"zkinfer-key-commitments\n";
const VERSION: u32 = 2;
const POINT_BYTES: usize = 32;
const CHECKSUM_BYTES: usize = 32;
const SEAL_BYTES: usize = 32;
/// The secret that seals a store's files, in its folder.
const SEAL_KEY_FILE: &str = "seal.key";
/// No circuit of a supported `k` has more columns than this; a header claiming more is damage.
const MAX_COMMITMENTS: usize = 1 << 16;
/// Nor more selectors.
const MAX_SELECTORS: usize = 1 << 12;
/// The magic opening a file of stored extended-domain evaluations (then the circuit digest).
const COSETS_MAGIC: &[u8] = b"zkinfer-extended-cosets-v1\n";
/// The largest proving-key evaluations the store keeps (per circuit): beyond, they are computed
/// each time rather than fill the disk (about 180 MB for a 2.5 M-MAC CNN at `k = 13`).
pub const MAX_STORED_COSETS_BYTES: usize = 1 << 30;
/// The largest `k` a stored file may claim (its selector rows are `2^k` bits each).
const MAX_K: u32 = 28;

/// Where stored keys live, or nowhere (keys are then built each time).
#[derive(Clone, Debug, Default)]
pub struct KeyStore {
    dir: Option<PathBuf>,
}

/// What a stored file holds for one circuit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredKey {
    /// The verifying key's commitments.
    pub commitments: KeyCommitments<Curve>,
    /// The rows each selector is enabled on.
    pub selectors: SelectorRows,
    /// Whether the file carries this store's seal (this store wrote it after building or
    /// checking the key), so it is believed without the check.
    pub sealed: bool,
}

/// A file of stored extended-domain evaluations, read whole.
#[derive(Debug, PartialEq, Eq)]
pub struct StoredCosetsFile {
    bytes: Vec<u8>,
    start: usize,
}

impl StoredCosetsFile {
    /// The evaluations, as `ProvingKey::write_extended_cosets` wrote them.
    pub fn evaluations(&self) -> &[u8] {
        &self.bytes[self.start..]
    }
}

/// How a key was obtained.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// Rebuilt from a file this store sealed, without synthesising the circuit or checking.
    Sealed,
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

    /// What is stored for a circuit: `Ok(None)` if nothing is stored, `Err(reason)` if the
    /// file is there but unreadable or damaged.
    pub fn load(&self, circuit: &[u8; 32], k: u32) -> Result<Option<StoredKey>, String> {
        let Some(path) = self.path(circuit) else {
            return Ok(None);
        };
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let (body, seal) = bytes.split_at(bytes.len().saturating_sub(SEAL_BYTES));
        let (commitments, selectors) =
            decode(body, circuit, k).map_err(|why| format!("{}: {why}", path.display()))?;
        let sealed = self
            .seal_key(false)
            .is_some_and(|key| seal_of(&key, body) == seal);
        Ok(Some(StoredKey {
            commitments,
            selectors,
            sealed,
        }))
    }

    /// Stores and seals a circuit's key (atomically: a reader never sees half a file). Only
    /// for a key this process built or checked against the circuit: the seal says so. Errors
    /// are returned, not fatal: a key that cannot be stored is rebuilt next time.
    pub fn save(
        &self,
        circuit: &[u8; 32],
        k: u32,
        commitments: &KeyCommitments<Curve>,
        selectors: &SelectorRows,
    ) -> std::io::Result<()> {
        let (Some(dir), Some(path)) = (&self.dir, self.path(circuit)) else {
            return Ok(());
        };
        fs::create_dir_all(dir)?;
        let key = self
            .seal_key(true)
            .ok_or_else(|| std::io::Error::other("the store's seal key cannot be made"))?;
        let mut bytes = encode(circuit, k, commitments, selectors);
        let seal = seal_of(&key, &bytes);
        bytes.extend_from_slice(&seal);
        write_atomically(&path, |file| file.write_all(&bytes))
    }

    /// Gives `params` their commitment tables (see `Params::precompute_commitment_tables`):
    /// read from the store when it holds them for this `k` and they pass the damage checks,
    /// else computed and stored. They are derived from the parameters alone and trusted like
    /// them; wrong tables could only make the prover's own proofs fail.
    pub fn attach_commitment_tables(&self, params: &Params<Curve>) {
        if params.has_commitment_tables() || params.k() > MAX_COMMITMENT_TABLE_K {
            return;
        }
        let Some(dir) = &self.dir else {
            params.precompute_commitment_tables();
            return;
        };
        let path = dir.join(format!("commitment-tables-k{}.bin", params.k()));
        if let Ok(file) = fs::File::open(&path) {
            let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
            if params.read_commitment_tables(&mut reader).is_ok() {
                return;
            }
        }
        params.precompute_commitment_tables();
        // Tables that cannot be stored are computed again next time: not an error.
        let _ = fs::create_dir_all(dir).and_then(|()| {
            write_atomically(&path, |file| {
                let mut writer = std::io::BufWriter::with_capacity(1 << 20, file);
                params.write_commitment_tables(&mut writer)?;
                writer.flush()
            })
        });
    }

    /// The extended-domain evaluations stored for a circuit's proving key (see
    /// `keygen_pk_from_trusted`, which checks them before use), if any.
    pub fn load_cosets(&self, circuit: &[u8; 32]) -> Option<StoredCosetsFile> {
        let bytes = fs::read(self.cosets_path(circuit)?).ok()?;
        let header = [COSETS_MAGIC, circuit.as_slice()].concat();
        bytes.starts_with(&header).then_some(StoredCosetsFile {
            bytes,
            start: header.len(),
        })
    }

    /// Stores the extended-domain evaluations of a circuit's proving key, unless they take more
    /// than [`MAX_STORED_COSETS_BYTES`]. Errors are returned, not fatal: they are computed
    /// again next time.
    pub fn save_cosets(&self, circuit: &[u8; 32], pk: &ProvingKey<Curve>) -> std::io::Result<()> {
        let (Some(dir), Some(path)) = (&self.dir, self.cosets_path(circuit)) else {
            return Ok(());
        };
        if pk.extended_cosets_bytes() > MAX_STORED_COSETS_BYTES {
            return Ok(());
        }
        fs::create_dir_all(dir)?;
        write_atomically(&path, |file| {
            let mut writer = std::io::BufWriter::with_capacity(1 << 20, file);
            writer.write_all(COSETS_MAGIC)?;
            writer.write_all(circuit)?;
            pk.write_extended_cosets(&mut writer)?;
            writer.flush()
        })
    }

    fn cosets_path(&self, circuit: &[u8; 32]) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|dir| dir.join(format!("{}.cosets", hex::encode(circuit))))
    }

    /// The secret sealing this store's files; made (readable by its owner only) if `create`
    /// and there is none. `None` if there is none, or it cannot be read or made.
    fn seal_key(&self, create: bool) -> Option<[u8; 32]> {
        let path = self.dir.as_ref()?.join(SEAL_KEY_FILE);
        let read = || fs::read(&path).ok()?.try_into().ok();
        if let Some(key) = read() {
            return Some(key);
        }
        if !create {
            return None;
        }
        let mut key = [0u8; 32];
        rand_core::UnwrapErr(rand::rngs::SysRng).fill_bytes(&mut key);
        // Written aside, then linked into place: linking never replaces a key another process
        // made meanwhile (whichever is there is read back).
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let made = write_private(&tmp, &key).and_then(|()| fs::hard_link(&tmp, &path));
        let _ = fs::remove_file(&tmp);
        if let Err(e) = made {
            if e.kind() != std::io::ErrorKind::AlreadyExists {
                return None;
            }
        }
        read()
    }
}

/// Writes a file at `path` with `write`, through a temporary file and a rename.
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp{}-{n}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut file = fs::File::create(&tmp)?;
        write(&mut file)?;
        file.sync_all()
    };
    write()
        .and_then(|()| fs::rename(&tmp, path))
        .inspect_err(|_| {
            let _ = fs::remove_file(&tmp);
        })
}

/// Writes a new file readable and writable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// The seal of a file's contents under a store's secret.
fn seal_of(key: &[u8; 32], body: &[u8]) -> [u8; SEAL_BYTES] {
    let hash = blake2b_simd::Params::new()
        .hash_length(SEAL_BYTES)
        .key(key)
        .personal(b"zkinfer-keyseal1")
        .hash(body);
    hash.as_bytes().try_into().expect("32-byte hash")
}

fn checksum(bytes: &[u8]) -> [u8; CHECKSUM_BYTES] {
    let hash = blake2b_simd::Params::new()
        .hash_length(CHECKSUM_BYTES)
        .personal(b"zkinfer-keyc-sum")
        .hash(bytes);
    hash.as_bytes().try_into().expect("32-byte hash")
}

fn encode(
    circuit: &[u8; 32],
    k: u32,
    commitments: &KeyCommitments<Curve>,
    selectors: &SelectorRows,
) -> Vec<u8> {
    let points = commitments.fixed.len() + commitments.permutation.len();
    let rows = 1usize << k;
    let mut out = Vec::with_capacity(
        MAGIC.len() + 52 + points * POINT_BYTES + selectors.len() * rows / 8 + CHECKSUM_BYTES,
    );
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&k.to_le_bytes());
    out.extend_from_slice(circuit);
    for count in [
        commitments.fixed.len(),
        commitments.permutation.len(),
        selectors.len(),
    ] {
        out.extend_from_slice(&(count as u32).to_le_bytes());
    }
    for point in commitments.fixed.iter().chain(&commitments.permutation) {
        out.extend_from_slice(point.to_bytes().as_ref());
    }
    for selector in selectors {
        let mut bits = vec![0u8; rows.div_ceil(8)];
        for (row, _) in selector.iter().enumerate().filter(|(_, &on)| on) {
            bits[row / 8] |= 1 << (row % 8);
        }
        out.extend_from_slice(&bits);
    }
    let sum = checksum(&out);
    out.extend_from_slice(&sum);
    out
}

/// Reads a little-endian `u32` at `at`.
fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// Reads a file without its seal: the commitments and selector rows, or why not.
fn decode(
    bytes: &[u8],
    circuit: &[u8; 32],
    k: u32,
) -> Result<(KeyCommitments<Curve>, SelectorRows), String> {
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
    if stored_k != k || k > MAX_K {
        return Err(format!(
            "stored for k = {stored_k}, the circuit has k = {k}"
        ));
    }
    at += 4;
    if body.get(at..at + 32) != Some(circuit.as_slice()) {
        return Err("stored for another circuit".into());
    }
    at += 32;
    let count = |at: usize| -> Result<usize, String> {
        Ok(u32_at(body, at).ok_or("the header is truncated")? as usize)
    };
    let (fixed, permutation, selectors) = (count(at)?, count(at + 4)?, count(at + 8)?);
    at += 12;
    let row_bytes = (1usize << k).div_ceil(8);
    if fixed + permutation > MAX_COMMITMENTS
        || selectors > MAX_SELECTORS
        || body.len() != at + (fixed + permutation) * POINT_BYTES + selectors * row_bytes
    {
        return Err(format!(
            "{fixed} + {permutation} commitments and {selectors} selectors do not match the \
             file's length"
        ));
    }
    let points_end = at + (fixed + permutation) * POINT_BYTES;
    let points = body[at..points_end]
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
    let selectors = body[points_end..]
        .chunks_exact(row_bytes)
        .map(|bits| {
            (0..1usize << k)
                .map(|row| bits[row / 8] >> (row % 8) & 1 == 1)
                .collect()
        })
        .collect();
    Ok((
        KeyCommitments {
            fixed: fixed.to_vec(),
            permutation: permutation.to_vec(),
        },
        selectors,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use group::{Curve as _, Group};

    fn sample() -> (KeyCommitments<Curve>, SelectorRows) {
        let g = pasta_curves::Eq::generator();
        let point = |n: u64| (g * pasta_curves::Fp::from(n)).to_affine();
        let commitments = KeyCommitments {
            fixed: vec![point(2), pasta_curves::Eq::identity().to_affine(), point(5)],
            permutation: vec![point(7)],
        };
        let selectors = (0..3)
            .map(|s| (0..1 << 9).map(|row| (row + s) % 5 == 0).collect())
            .collect();
        (commitments, selectors)
    }

    fn save(store: &KeyStore, circuit: &[u8; 32]) {
        let (commitments, selectors) = sample();
        store.save(circuit, 9, &commitments, &selectors).unwrap();
    }

    fn stored(sealed: bool) -> StoredKey {
        let (commitments, selectors) = sample();
        StoredKey {
            commitments,
            selectors,
            sealed,
        }
    }

    #[test]
    fn stored_keys_read_back_sealed_and_damage_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::new(dir.path().join("keys"));
        let circuit = [7u8; 32];
        assert_eq!(store.load(&circuit, 9), Ok(None));
        save(&store, &circuit);
        assert_eq!(store.load(&circuit, 9), Ok(Some(stored(true))));

        // Another k or another circuit's digest inside the file is refused.
        assert!(store.load(&circuit, 10).unwrap_err().contains("k = 9"));
        let path = store.path(&circuit).unwrap();
        let other = [8u8; 32];
        fs::copy(&path, store.path(&other).unwrap()).unwrap();
        assert!(store
            .load(&other, 9)
            .unwrap_err()
            .contains("another circuit"));

        // Every flipped byte and every truncation is detected: the body's by its checksum, the
        // seal's as a file that is no longer sealed.
        let bytes = fs::read(&path).unwrap();
        let body = &bytes[..bytes.len() - SEAL_BYTES];
        for i in 0..body.len() {
            let mut damaged = body.to_vec();
            damaged[i] ^= 1;
            assert!(decode(&damaged, &circuit, 9).is_err(), "byte {i}");
        }
        for len in 0..body.len() {
            assert!(decode(&body[..len], &circuit, 9).is_err(), "length {len}");
        }
        for i in body.len()..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[i] ^= 1;
            fs::write(&path, &damaged).unwrap();
            assert_eq!(store.load(&circuit, 9), Ok(Some(stored(false))), "byte {i}");
        }
    }

    #[test]
    fn only_the_store_that_wrote_a_file_believes_it() {
        let dir = tempfile::tempdir().unwrap();
        let (ours, theirs) = (
            KeyStore::new(dir.path().join("ours")),
            KeyStore::new(dir.path().join("theirs")),
        );
        let circuit = [3u8; 32];
        save(&theirs, &circuit);
        save(&ours, &[4u8; 32]);
        fs::copy(theirs.path(&circuit).unwrap(), ours.path(&circuit).unwrap()).unwrap();
        assert_eq!(ours.load(&circuit, 9), Ok(Some(stored(false))));
        assert_eq!(theirs.load(&circuit, 9), Ok(Some(stored(true))));

        // The secret is the owner's alone, and is kept when files are rewritten.
        let key_path = dir.path().join("ours").join(SEAL_KEY_FILE);
        let key = fs::read(&key_path).unwrap();
        assert_eq!(key.len(), 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&key_path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "mode {mode:o}");
        }
        save(&ours, &circuit);
        assert_eq!(fs::read(&key_path).unwrap(), key);
        assert_eq!(ours.load(&circuit, 9), Ok(Some(stored(true))));

        // Without its secret, a store believes none of its files.
        fs::remove_file(&key_path).unwrap();
        assert_eq!(ours.load(&circuit, 9), Ok(Some(stored(false))));
    }

    #[test]
    fn a_count_field_cannot_ask_for_a_huge_allocation() {
        let circuit = [1u8; 32];
        let (commitments, selectors) = sample();
        for field in [0, 4, 8] {
            let mut bytes = encode(&circuit, 9, &commitments, &selectors);
            let at = MAGIC.len() + 40 + field;
            bytes[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
            let body_len = bytes.len() - CHECKSUM_BYTES;
            let sum = checksum(&bytes[..body_len]);
            bytes[body_len..].copy_from_slice(&sum);
            let err = decode(&bytes, &circuit, 9).unwrap_err();
            assert!(err.contains("do not match the file's length"), "{err}");
        }
    }

    #[test]
    fn a_store_without_a_folder_keeps_nothing() {
        let store = KeyStore::none();
        save(&store, &[0; 32]);
        assert_eq!(store.load(&[0; 32], 9), Ok(None));
    }
}
