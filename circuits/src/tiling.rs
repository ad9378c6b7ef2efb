//! How a [`LinearOp`] is cut into dense tile rows.
//!
//! A *chain* is the work of one output block at one (group, position): `blocks` per group and
//! position, each accumulating `chunks` rows of at most `I` taps into at most `O` channels. Small
//! chains (at most `I` taps and `O` channels, one row each) are packed side by side, several per
//! row with block-diagonal weights — a 2×2 pooling window or a depthwise filter would otherwise
//! use a handful of the tile's `I × O` weights.
//!
//! The witness and the synthesis both walk [`tile_rows`], so they agree by construction.

use std::ops::Range;

use crate::ops::LinearOp;

/// How a linear node is cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tiling {
    /// Output blocks per group and position.
    pub blocks: usize,
    /// Rows per chain.
    pub chunks: usize,
    /// Chains per row (more than 1 only when `blocks == chunks == 1`).
    pub pack: usize,
}

impl Tiling {
    /// The tiling of `op` on an `inputs × outputs` tile.
    pub fn new(op: &LinearOp, inputs: usize, outputs: usize) -> Self {
        let per_group = op.channels / op.groups;
        let blocks = per_group.div_ceil(outputs);
        let chunks = op.taps.div_ceil(inputs);
        let pack = if blocks == 1 && chunks == 1 {
            (inputs / op.taps.max(1))
                .min(outputs / per_group.max(1))
                .max(1)
        } else {
            1
        };
        Self {
            blocks,
            chunks,
            pack,
        }
    }

    /// Number of chains.
    pub fn chains(&self, op: &LinearOp) -> usize {
        op.groups * op.positions * self.blocks
    }

    /// Tile rows used.
    pub fn rows(&self, op: &LinearOp) -> usize {
        self.chains(op).div_ceil(self.pack) * self.chunks
    }
}

/// One chain's share of a tile row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Channel group.
    pub group: usize,
    /// Output position.
    pub position: usize,
    /// Output channels (global channel indices).
    pub channels: Range<usize>,
    /// Taps read on this row.
    pub taps: Range<usize>,
    /// First tile input lane used.
    pub input_lane: usize,
    /// First tile output lane used.
    pub output_lane: usize,
}

/// One tile row of a linear node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TileRowPlan {
    /// Absolute row.
    pub row: usize,
    /// Whether the row continues the previous row's sums (else it adds the bias).
    pub chain: bool,
    /// Whether the row ends its chains (its accumulators are the outputs).
    pub last: bool,
    /// The chains on the row.
    pub segments: Vec<Segment>,
}

/// Every tile row of `op`, starting at `first_row`.
pub fn tile_rows(
    op: &LinearOp,
    tiling: Tiling,
    first_row: usize,
    inputs: usize,
    outputs: usize,
) -> Vec<TileRowPlan> {
    let per_group = op.channels / op.groups;
    let chain_segment = |chain: usize, chunk: usize, lane: usize| {
        let block = chain % tiling.blocks;
        let position = (chain / tiling.blocks) % op.positions;
        let group = chain / tiling.blocks / op.positions;
        let first = group * per_group + block * outputs;
        Segment {
            group,
            position,
            channels: first..(first + outputs).min((group + 1) * per_group),
            taps: chunk * inputs..((chunk + 1) * inputs).min(op.taps),
            input_lane: lane * op.taps.min(inputs),
            output_lane: lane * per_group.min(outputs),
        }
    };
    let chains = tiling.chains(op);
    let mut rows = Vec::with_capacity(tiling.rows(op));
    for (row_index, first_chain) in (0..chains).step_by(tiling.pack).enumerate() {
        for chunk in 0..tiling.chunks {
            let segments = (first_chain..(first_chain + tiling.pack).min(chains))
                .enumerate()
                .map(|(lane, chain)| chain_segment(chain, chunk, lane))
                .collect();
            rows.push(TileRowPlan {
                row: first_row + row_index * tiling.chunks + chunk,
                chain: chunk > 0,
                last: chunk + 1 == tiling.chunks,
                segments,
            });
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::{dense, Conv2d};

    #[test]
    fn dense_layers_chain_chunks_within_blocks() {
        let op = dense(70, 20, vec![0; 1400], vec![0; 20]);
        let t = Tiling::new(&op, 32, 16);
        assert_eq!(
            t,
            Tiling {
                blocks: 2,
                chunks: 3,
                pack: 1
            }
        );
        let rows = tile_rows(&op, t, 1, 32, 16);
        assert_eq!(rows.len(), 6);
        assert_eq!(rows[2].segments[0].taps, 64..70);
        assert_eq!(rows[3].segments[0].channels, 16..20);
        assert!(rows[3].row == 4 && !rows[3].chain && rows[5].last);
    }

    #[test]
    fn small_windows_are_packed_side_by_side() {
        // Depthwise 2×2 average pooling of 3 channels of 4×4: 12 chains of 4 taps, 1 channel.
        let pool = Conv2d {
            in_channels: 3,
            input: (4, 4),
            kernel: (2, 2),
            stride: (2, 2),
            pads: [0; 4],
            dilation: (1, 1),
            groups: 3,
        };
        let op = pool.linear(3, vec![1; 12], vec![0; 3]);
        let t = Tiling::new(&op, 32, 16);
        assert_eq!(t.pack, 8);
        let rows = tile_rows(&op, t, 1, 32, 16);
        assert_eq!(rows.len(), 2);
        let last = &rows[0].segments[7];
        assert_eq!((last.input_lane, last.output_lane), (28, 7));
        assert_eq!(rows[1].segments.len(), 4);
        assert_eq!(
            (rows[1].segments[3].group, rows[1].segments[3].position),
            (2, 3)
        );
    }
}
