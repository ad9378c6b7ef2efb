//! A binary Merkle tree over BLAKE2b-256, with domain-separated leaves, nodes and root.
//!
//! Leaves are hashed by [`super::leaf`]; this module combines them. Level by level, nodes are
//! paired left to right (`2i`, `2i + 1`) into `H_node(left ‖ right)`; a last node without a
//! partner moves up unchanged. The tree of `n` leaves thus has no padding and no duplicated
//! node, and a path is the list of partners met on the way up (its length depends on the index
//! and `n`, which the verifier knows). The root a receipt publishes binds the tree's top node,
//! the number of leaves and the model (see [`bound_root`]), so a path cannot be replayed in a
//! tree of another size or for another model.

use crate::error::AuditError;

/// A BLAKE2b-256 digest.
pub type Digest = [u8; 32];

/// BLAKE2b personalisation of inner nodes.
const NODE: &[u8; 16] = b"zkinfer-aud-node";
/// BLAKE2b personalisation of the published root.
const ROOT: &[u8; 16] = b"zkinfer-aud-root";

/// BLAKE2b-256 with a 16-byte personalisation (the domain) over `parts`, in order.
pub(crate) fn hash(personal: &[u8; 16], parts: &[&[u8]]) -> Digest {
    let mut state = blake2b_simd::Params::new()
        .hash_length(32)
        .personal(personal)
        .to_state();
    for part in parts {
        state.update(part);
    }
    state
        .finalize()
        .as_bytes()
        .try_into()
        .expect("32-byte hash")
}

/// The inner node over two children.
fn node(left: &Digest, right: &Digest) -> Digest {
    hash(NODE, &[left, right])
}

/// The root a receipt publishes: the tree's top node bound to the number of leaves and to the
/// model (its audit digest, see [`super::model_digest`]).
pub fn bound_root(model: &Digest, count: usize, top: &Digest) -> Digest {
    hash(ROOT, &[model, &(count as u64).to_le_bytes(), top])
}

/// A Merkle tree over a non-empty list of leaf hashes, every level kept (for paths).
#[derive(Clone, Debug)]
pub struct MerkleTree {
    /// `levels[0]` are the leaves, the last level is the single top node.
    levels: Vec<Vec<Digest>>,
}

impl MerkleTree {
    /// Builds the tree; `None` for an empty list.
    pub fn new(leaves: Vec<Digest>) -> Option<Self> {
        if leaves.is_empty() {
            return None;
        }
        let mut levels = vec![leaves];
        while levels.last().is_some_and(|l| l.len() > 1) {
            let below = levels.last().expect("a level");
            let above = below
                .chunks(2)
                .map(|pair| match pair {
                    [left, right] => node(left, right),
                    [single] => *single,
                    _ => unreachable!("chunks of two"),
                })
                .collect();
            levels.push(above);
        }
        Some(Self { levels })
    }

    /// Number of leaves.
    pub fn len(&self) -> usize {
        self.levels[0].len()
    }

    /// Always false: a tree has at least one leaf.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The leaf hashes.
    pub fn leaves(&self) -> &[Digest] {
        &self.levels[0]
    }

    /// The top node.
    pub fn top(&self) -> Digest {
        self.levels.last().expect("a level")[0]
    }

    /// The partners of leaf `index` from the bottom up; `None` if there is no such leaf.
    pub fn path(&self, index: usize) -> Option<Vec<Digest>> {
        if index >= self.len() {
            return None;
        }
        let mut pos = index;
        let mut path = Vec::new();
        for level in &self.levels[..self.levels.len() - 1] {
            if let Some(partner) = level.get(pos ^ 1) {
                path.push(*partner);
            }
            pos /= 2;
        }
        Some(path)
    }
}

/// The top node that `leaf` at `index` of a tree of `count` leaves leads to along `path`.
///
/// Fails if `index` is not below `count`, or the path is too short or too long for that
/// position: a path has exactly one partner per level where the node has one.
pub fn top_from_path(
    leaf: &Digest,
    index: usize,
    count: usize,
    path: &[Digest],
) -> Result<Digest, AuditError> {
    let invalid = |reason: String| AuditError::PathInvalid { index, reason };
    if index >= count {
        return Err(invalid(format!("the tree has {count} leaves")));
    }
    let mut partners = path.iter();
    let (mut pos, mut width, mut current) = (index, count, *leaf);
    while width > 1 {
        if (pos ^ 1) < width {
            let partner = partners
                .next()
                .ok_or_else(|| invalid(format!("the path has {} nodes, too few", path.len())))?;
            current = if pos % 2 == 0 {
                node(&current, partner)
            } else {
                node(partner, &current)
            };
        }
        pos /= 2;
        width = width.div_ceil(2);
    }
    if partners.next().is_some() {
        return Err(invalid(format!(
            "the path has {} nodes, too many",
            path.len()
        )));
    }
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Digest> {
        (0..n as u64)
            .map(|i| hash(b"zkinfer-test-lf0", &[&i.to_le_bytes()]))
            .collect()
    }

    #[test]
    fn every_path_of_every_size_leads_to_the_top() {
        for n in 1..40 {
            let tree = MerkleTree::new(leaves(n)).unwrap();
            for i in 0..n {
                let path = tree.path(i).unwrap();
                assert_eq!(
                    top_from_path(&tree.leaves()[i], i, n, &path).unwrap(),
                    tree.top(),
                    "n = {n}, i = {i}"
                );
            }
            assert!(tree.path(n).is_none());
        }
    }

    #[test]
    fn wrong_leaf_index_or_path_is_refused() {
        let n = 13;
        let tree = MerkleTree::new(leaves(n)).unwrap();
        let path = tree.path(5).unwrap();
        let leaf = tree.leaves()[5];
        // Another leaf, another index, a changed partner: another top.
        assert_ne!(
            top_from_path(&tree.leaves()[4], 5, n, &path).unwrap(),
            tree.top()
        );
        assert_ne!(top_from_path(&leaf, 4, n, &path).unwrap(), tree.top());
        let mut changed = path.clone();
        changed[1][0] ^= 1;
        assert_ne!(top_from_path(&leaf, 5, n, &changed).unwrap(), tree.top());
        // A path of the wrong length, or an index out of range.
        assert!(top_from_path(&leaf, 5, n, &path[1..]).is_err());
        let mut long = path.clone();
        long.push(leaf);
        assert!(top_from_path(&leaf, 5, n, &long).is_err());
        assert!(top_from_path(&leaf, n, n, &path).is_err());
    }

    #[test]
    fn the_bound_root_depends_on_model_count_and_top() {
        let top = [7u8; 32];
        let model = [1u8; 32];
        let root = bound_root(&model, 10, &top);
        assert_ne!(root, bound_root(&[2u8; 32], 10, &top));
        assert_ne!(root, bound_root(&model, 11, &top));
        assert_ne!(root, bound_root(&model, 10, &[8u8; 32]));
        assert_eq!(MerkleTree::new(Vec::new()).map(|t| t.top()), None);
    }
}
