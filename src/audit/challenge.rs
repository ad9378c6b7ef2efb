//! The challenged indices: `S` distinct samples drawn from the committed root and the
//! verifier's seed by a hash-based generator, so anyone holding both recomputes them.
//!
//! The generator is BLAKE2b-256 (personalisation `zkinfer-aud-chal`) in counter mode over
//! `root ‖ len(seed): u64 LE ‖ seed ‖ block: u64 LE`, each 32-byte block read as four
//! little-endian `u64`. A number below `bound` is drawn by rejection (a word is used only if it
//! is below the largest multiple of `bound` that fits, then reduced), so there is no modulo
//! bias; the `S` indices are the first `S` positions of a Fisher–Yates shuffle of `0..N`, so
//! they are distinct by construction, each `S`-subset equally likely.

use std::collections::HashMap;

use super::merkle::{hash, Digest};
use crate::error::AuditError;

/// BLAKE2b personalisation of the challenge generator.
const CHALLENGE: &[u8; 16] = b"zkinfer-aud-chal";

/// A deterministic stream of `u64` words from the root and the seed.
struct Words<'a> {
    root: &'a Digest,
    seed: &'a [u8],
    block: u64,
    words: Vec<u64>,
}

impl<'a> Words<'a> {
    fn new(root: &'a Digest, seed: &'a [u8]) -> Self {
        Self {
            root,
            seed,
            block: 0,
            words: Vec::new(),
        }
    }

    fn next_word(&mut self) -> u64 {
        if self.words.is_empty() {
            let digest = hash(
                CHALLENGE,
                &[
                    self.root,
                    &(self.seed.len() as u64).to_le_bytes(),
                    self.seed,
                    &self.block.to_le_bytes(),
                ],
            );
            self.block += 1;
            // Popped from the back: reversed so the words come out in order.
            self.words = digest
                .chunks_exact(8)
                .rev()
                .map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes")))
                .collect();
        }
        self.words.pop().expect("a fresh block has four words")
    }

    /// A uniform number in `0..bound` (`bound ≥ 1`), by rejection sampling.
    fn below(&mut self, bound: u64) -> u64 {
        // The largest multiple of `bound` that fits in a u64 (as an exclusive limit).
        let zone = u64::MAX - (u64::MAX - bound + 1) % bound;
        loop {
            let word = self.next_word();
            if word <= zone {
                return word % bound;
            }
        }
    }
}

/// The `samples` distinct indices (sorted) that `root` and `seed` select among `count`.
///
/// Fails unless `1 ≤ samples ≤ count` and the seed is not empty.
pub fn derive_indices(
    root: &Digest,
    seed: &[u8],
    count: usize,
    samples: usize,
) -> Result<Vec<usize>, AuditError> {
    if samples == 0 || samples > count {
        return Err(AuditError::Parameter(format!(
            "cannot challenge {samples} samples of a batch of {count}: choose 1 to {count}"
        )));
    }
    if seed.is_empty() {
        return Err(AuditError::Parameter("the seed is empty".into()));
    }
    let mut words = Words::new(root, seed);
    // A partial Fisher–Yates shuffle of 0..count, with the swapped positions kept in a map.
    let mut moved: HashMap<usize, usize> = HashMap::with_capacity(samples);
    let mut indices = Vec::with_capacity(samples);
    for i in 0..samples {
        let j = i + words.below((count - i) as u64) as usize;
        let at_i = moved.get(&i).copied().unwrap_or(i);
        let at_j = moved.get(&j).copied().unwrap_or(j);
        moved.insert(j, at_i);
        indices.push(at_j);
    }
    indices.sort_unstable();
    Ok(indices)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_are_distinct_in_range_and_reproducible() {
        let root = [3u8; 32];
        for (count, samples) in [(1, 1), (10, 10), (1000, 20), (7, 3), (u32::MAX as usize, 5)] {
            let a = derive_indices(&root, b"seed", count, samples).unwrap();
            assert_eq!(a, derive_indices(&root, b"seed", count, samples).unwrap());
            assert_eq!(a.len(), samples);
            assert!(a.windows(2).all(|w| w[0] < w[1]), "{a:?}");
            assert!(a.iter().all(|&i| i < count));
        }
        assert_eq!(
            derive_indices(&root, b"s", 10, 10).unwrap(),
            (0..10).collect::<Vec<_>>()
        );
    }

    #[test]
    fn root_and_seed_both_change_the_indices() {
        let a = derive_indices(&[0; 32], b"seed", 1_000_000, 8).unwrap();
        assert_ne!(a, derive_indices(&[1; 32], b"seed", 1_000_000, 8).unwrap());
        assert_ne!(a, derive_indices(&[0; 32], b"seeD", 1_000_000, 8).unwrap());
    }

    #[test]
    fn bad_requests_are_refused() {
        assert!(derive_indices(&[0; 32], b"seed", 10, 0).is_err());
        assert!(derive_indices(&[0; 32], b"seed", 10, 11).is_err());
        assert!(derive_indices(&[0; 32], b"", 10, 1).is_err());
    }

    #[test]
    fn draws_are_uniform() {
        // Each index of 0..5 should be the first draw about a fifth of the time.
        let mut words = Words::new(&[9; 32], b"uniform");
        let mut counts = [0u32; 5];
        for _ in 0..20_000 {
            counts[words.below(5) as usize] += 1;
        }
        for c in counts {
            assert!((3700..4300).contains(&c), "{counts:?}");
        }
        assert_eq!(Words::new(&[9; 32], b"x").below(1), 0);
    }
}
