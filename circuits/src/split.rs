//! Operators too large for one slice, cut into parts that compute the same values.
//!
//! A sliced model bounds every slice by the rows of its `k`, so no single operator may need
//! more. [`split_nodes`] replaces each operator that does by parts of at most a given number of
//! rows, followed by a gather that puts the parts' outputs back in the operator's order: the
//! network computes exactly the same tensors (the tests check the forward pass), and the parts
//! can go to different slices.
//!
//! - A [`LinearOp`] is cut into blocks of output positions (a convolution's rows of pixels),
//!   and, where one position is still too large, into blocks of output channels (whole groups
//!   for grouped convolutions, whole tile blocks otherwise). Each part reads only the inputs
//!   its positions need.
//! - A [`UnitOp`] and a [`ProductOp`] are cut into ranges of elements, a [`TableOp`] into ranges
//!   of elements read through a gather of its input.
//! - A gather takes no rows and is never cut.

use thiserror::Error;

use crate::layout::product_chunks;
use crate::network::{Network, Node, TensorId, TensorInfo};
use crate::ops::{GatherOp, LinearOp, Op, ProductOp, TableOp, UnitOp};
use crate::shape::ShapeParams;
use crate::tiling::Tiling;

/// What one operator takes of each engine of a shape.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineUse {
    /// Dense tile rows.
    pub tile_rows: usize,
    /// Unit slots.
    pub unit_slots: usize,
    /// Product chip rows.
    pub product_rows: usize,
    /// Lookup slots.
    pub lookup_slots: usize,
}

impl EngineUse {
    /// The engines `node` of `network` uses on `shape` (as [`Layout`](crate::Layout) places it).
    pub fn of(node: &Node, network: &Network, shape: &ShapeParams) -> Self {
        match &node.op {
            Op::Linear(op) => Self {
                tile_rows: Tiling::new(op, shape.tile_inputs, shape.tile_outputs).rows(op),
                ..Self::default()
            },
            Op::Unit(op) => Self {
                unit_slots: op.len(),
                ..Self::default()
            },
            Op::Product(op) => Self {
                product_rows: op.len() * product_chunks(op, shape.product_terms.max(1)),
                ..Self::default()
            },
            Op::Table(_) => Self {
                lookup_slots: network.tensors[node.output].len(),
                ..Self::default()
            },
            Op::Gather(_) => Self::default(),
        }
    }

    /// The sum of two uses.
    pub fn plus(self, other: Self) -> Self {
        Self {
            tile_rows: self.tile_rows + other.tile_rows,
            unit_slots: self.unit_slots + other.unit_slots,
            product_rows: self.product_rows + other.product_rows,
            lookup_slots: self.lookup_slots + other.lookup_slots,
        }
    }

    /// The difference of two uses (`self` must include `other`).
    pub fn minus(self, other: Self) -> Self {
        Self {
            tile_rows: self.tile_rows - other.tile_rows,
            unit_slots: self.unit_slots - other.unit_slots,
            product_rows: self.product_rows - other.product_rows,
            lookup_slots: self.lookup_slots - other.lookup_slots,
        }
    }

    /// Rows the use takes: its longest engine.
    pub fn rows(&self, shape: &ShapeParams) -> usize {
        [
            self.tile_rows,
            self.unit_slots.div_ceil(shape.unit_lanes.max(1)),
            self.product_rows,
            self.lookup_slots.div_ceil(shape.lookup_lanes.max(1)),
        ]
        .into_iter()
        .max()
        .unwrap_or(0)
    }
}

/// An operator that cannot be cut small enough.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error(
    "node '{node}': {what} needs {rows} rows, more than the {max_rows} a slice can hold; raise --max-k"
)]
pub struct SplitError {
    /// The node.
    pub node: String,
    /// The smallest piece that cannot be cut.
    pub what: String,
    /// Rows it needs.
    pub rows: usize,
    /// Rows available.
    pub max_rows: usize,
}

/// `network` with every operator that needs more than `max_rows` rows on `shape` replaced by
/// parts of at most `max_rows` rows each and a gather restoring its output. Every tensor of
/// `network` keeps its index and its values.
pub fn split_nodes(
    network: &Network,
    shape: &ShapeParams,
    max_rows: usize,
) -> Result<Network, SplitError> {
    if max_rows < 2 {
        return Err(SplitError {
            node: "network".into(),
            what: "any operator".into(),
            rows: 2,
            max_rows,
        });
    }
    let mut split = network.clone();
    split.nodes = Vec::with_capacity(network.nodes.len());
    for node in &network.nodes {
        split_node(&mut split, node.clone(), shape, max_rows)?;
    }
    Ok(split)
}

/// Appends `node` to `split`, cut into parts if it needs more than `max_rows` rows.
fn split_node(
    split: &mut Network,
    node: Node,
    shape: &ShapeParams,
    max_rows: usize,
) -> Result<(), SplitError> {
    if EngineUse::of(&node, split, shape).rows(shape) <= max_rows {
        split.nodes.push(node);
        return Ok(());
    }
    let parts = match &node.op {
        Op::Linear(op) => {
            let tiling = Tiling::new(op, shape.tile_inputs, shape.tile_outputs);
            if tiling.chunks > max_rows {
                // One chain is longer than a slice: partial sums over ranges of taps.
                let taps = ranges(op.taps, max_rows * shape.tile_inputs);
                let parts = taps.iter().enumerate().map(|(j, r)| {
                    let part = LinearOp {
                        taps: r.len(),
                        weights: (0..op.channels)
                            .flat_map(|c| op.row(c)[r.clone()].iter().copied())
                            .collect(),
                        bias: if j == 0 {
                            op.bias.clone()
                        } else {
                            vec![0; op.channels]
                        },
                        gather: (0..op.groups)
                            .flat_map(|g| {
                                (0..op.positions)
                                    .flat_map(move |p| op.taps_at(g, p)[r.clone()].iter().copied())
                            })
                            .collect(),
                        ..op.clone()
                    };
                    (Op::Linear(part), op.len())
                });
                return partial_sums(split, &node, parts.collect(), shape, max_rows);
            }
            linear_parts(&node, op, shape, max_rows)
        }
        Op::Unit(op) => ranges(op.len(), max_rows * shape.unit_lanes.max(1))
            .into_iter()
            .map(|r| Part {
                op: Op::Unit(unit_part(op, r.clone())),
                inputs: node.inputs.clone(),
                len: r.len() * if op.with_remainder { 2 } else { 1 },
                table_input: None,
                block: None,
            })
            .collect(),
        Op::Product(op) => {
            let chunks = product_chunks(op, shape.product_terms.max(1));
            if chunks > max_rows {
                // One output's terms are longer than a slice: partial sums over ranges of terms.
                let terms = ranges(op.terms, max_rows * shape.product_terms);
                let parts = terms.iter().map(|r| {
                    let pick = |indices: &[u32]| -> Vec<u32> {
                        (0..op.len())
                            .flat_map(|o| indices[o * op.terms..][r.clone()].iter().copied())
                            .collect()
                    };
                    let part = ProductOp {
                        terms: r.len(),
                        a: pick(&op.a),
                        b: pick(&op.b),
                    };
                    (Op::Product(part), op.len())
                });
                return partial_sums(split, &node, parts.collect(), shape, max_rows);
            }
            ranges(op.len(), max_rows / chunks)
                .into_iter()
                .map(|r| Part {
                    op: Op::Product(ProductOp {
                        terms: op.terms,
                        a: op.a[r.start * op.terms..r.end * op.terms].to_vec(),
                        b: op.b[r.start * op.terms..r.end * op.terms].to_vec(),
                    }),
                    inputs: node.inputs.clone(),
                    len: r.len(),
                    table_input: None,
                    block: None,
                })
                .collect()
        }
        Op::Table(op) => ranges(
            split.tensors[node.output].len(),
            max_rows * shape.lookup_lanes.max(1),
        )
        .into_iter()
        .map(|r| Part {
            op: Op::Table(TableOp { table: op.table }),
            inputs: node.inputs.clone(),
            len: r.len(),
            table_input: Some(r),
            block: None,
        })
        .collect(),
        Op::Gather(_) => unreachable!("a gather takes no rows"),
    };
    push_parts(split, &node, parts, shape, max_rows)
}

/// Replaces `node` by `parts` (operators reading `node`'s inputs, each writing `len` partial
/// sums in `node`'s output order) and a linear operator adding them up (itself cut further if
/// needed). Partial sums are exact integers, like the sums they add up to.
fn partial_sums(
    split: &mut Network,
    node: &Node,
    parts: Vec<(Op, usize)>,
    shape: &ShapeParams,
    max_rows: usize,
) -> Result<(), SplitError> {
    let count = parts.len();
    let mut tensors = Vec::with_capacity(count);
    for (j, (op, len)) in parts.into_iter().enumerate() {
        let name = format!("{}#partial{j}", node.name);
        let output = new_tensor(split, &name, len);
        split_node(
            split,
            Node {
                name,
                op,
                inputs: node.inputs.clone(),
                output,
            },
            shape,
            max_rows,
        )?;
        tensors.push(output);
    }
    let len = split.tensors[node.output].len();
    let name = format!("{}#partials", node.name);
    let concatenated = new_tensor(split, &name, count * len);
    let elements = tensors
        .iter()
        .flat_map(|&t| (0..len as u32).map(move |e| (t, e)))
        .collect();
    push_gather(split, &name, elements, concatenated);
    let sum = LinearOp {
        channels: 1,
        taps: count,
        weights: vec![1; count],
        bias: vec![0],
        groups: 1,
        positions: len,
        gather: (0..len)
            .flat_map(|o| (0..count).map(move |j| Some((j * len + o) as u32)))
            .collect(),
        channel_major: true,
        structural: true,
    };
    split_node(
        split,
        Node {
            name: node.name.clone(),
            op: Op::Linear(sum),
            inputs: vec![concatenated],
            output: node.output,
        },
        shape,
        max_rows,
    )
}

/// One part of a cut operator, before its tensors are added.
struct Part {
    op: Op,
    inputs: Vec<TensorId>,
    /// Length of its output.
    len: usize,
    /// For a table part: the range of the input it reads (through a gather of its own).
    table_input: Option<std::ops::Range<usize>>,
    /// For a linear part: the output channels and positions it computes.
    block: Option<(std::ops::Range<usize>, std::ops::Range<usize>)>,
}

/// `len` elements in the fewest ranges of at most `max` elements, of nearly equal sizes.
fn ranges(len: usize, max: usize) -> Vec<std::ops::Range<usize>> {
    let count = len.div_ceil(max.max(1)).max(1);
    let size = len.div_ceil(count);
    (0..count)
        .map(|i| i * size..((i + 1) * size).min(len))
        .filter(|r| !r.is_empty())
        .collect()
}

fn unit_part(op: &UnitOp, r: std::ops::Range<usize>) -> UnitOp {
    UnitOp {
        a: op.a[r.clone()].to_vec(),
        b: if op.b.is_empty() {
            Vec::new()
        } else {
            op.b[r.clone()].to_vec()
        },
        kinds: op.kinds.clone(),
        kind_of: if op.kind_of.is_empty() {
            Vec::new()
        } else {
            op.kind_of[r].to_vec()
        },
        with_remainder: op.with_remainder,
    }
}

/// The parts of a linear operator: blocks of positions, and of channels if one position needs
/// more than `max_rows` rows. Parts are channel-major; the reassembly follows `op`'s order.
fn linear_parts(node: &Node, op: &LinearOp, shape: &ShapeParams, max_rows: usize) -> Vec<Part> {
    let tiling = Tiling::new(op, shape.tile_inputs, shape.tile_outputs);
    let per_group = op.channels / op.groups;
    // A channel unit is a group (grouped convolutions) or a block of tile outputs; each takes
    // `unit_rows` rows per position.
    let (unit_channels, units, unit_rows) = if op.groups > 1 {
        (per_group, op.groups, tiling.blocks * tiling.chunks)
    } else {
        (shape.tile_outputs, tiling.blocks, tiling.chunks)
    };
    if unit_rows > max_rows {
        // One group's position is longer than a slice: a part per group, each cut further as
        // an ungrouped operator.
        return (0..op.groups)
            .map(|g| {
                let channels = g * per_group..(g + 1) * per_group;
                let part = LinearOp {
                    channels: per_group,
                    weights: op.weights[channels.start * op.taps..channels.end * op.taps].to_vec(),
                    bias: op.bias[channels.clone()].to_vec(),
                    groups: 1,
                    gather: op.gather[g * op.positions * op.taps..(g + 1) * op.positions * op.taps]
                        .to_vec(),
                    channel_major: true,
                    ..op.clone()
                };
                Part {
                    len: part.len(),
                    op: Op::Linear(part),
                    inputs: node.inputs.clone(),
                    table_input: None,
                    block: Some((channels, 0..op.positions)),
                }
            })
            .collect();
    }
    let positions_per_part = max_rows / (units * unit_rows);
    let (channel_ranges, position_ranges) = if positions_per_part >= 1 {
        (
            std::iter::once(0..op.channels).collect(),
            ranges(op.positions, positions_per_part),
        )
    } else {
        let units_per_part = max_rows / unit_rows;
        let channel_ranges: Vec<std::ops::Range<usize>> = ranges(units, units_per_part)
            .into_iter()
            .map(|r| r.start * unit_channels..(r.end * unit_channels).min(op.channels))
            .collect();
        (channel_ranges, ranges(op.positions, 1))
    };
    let mut parts = Vec::with_capacity(channel_ranges.len() * position_ranges.len());
    for channels in &channel_ranges {
        for positions in &position_ranges {
            let groups: std::ops::Range<usize> = if op.groups > 1 {
                channels.start / per_group..channels.end / per_group
            } else {
                0..1
            };
            let gather = groups
                .clone()
                .flat_map(|g| {
                    positions
                        .clone()
                        .flat_map(move |p| op.taps_at(g, p).iter().copied())
                })
                .collect();
            let part = LinearOp {
                channels: channels.len(),
                taps: op.taps,
                weights: op.weights[channels.start * op.taps..channels.end * op.taps].to_vec(),
                bias: op.bias[channels.clone()].to_vec(),
                groups: groups.len(),
                positions: positions.len(),
                gather,
                channel_major: true,
                structural: op.structural,
            };
            parts.push(Part {
                len: part.len(),
                op: Op::Linear(part),
                inputs: node.inputs.clone(),
                table_input: None,
                block: Some((channels.clone(), positions.clone())),
            });
        }
    }
    parts
}

/// Adds `parts` of `node` to `split` (new tensors, the parts — cut further if needed — then a
/// gather writing `node`'s output in its original order).
fn push_parts(
    split: &mut Network,
    node: &Node,
    parts: Vec<Part>,
    shape: &ShapeParams,
    max_rows: usize,
) -> Result<(), SplitError> {
    let sources = reassembly(node, &parts);
    let mut part_tensors = Vec::with_capacity(parts.len());
    for (i, part) in parts.into_iter().enumerate() {
        let name = format!("{}#part{i}", node.name);
        let mut inputs = part.inputs;
        if let Some(range) = &part.table_input {
            // The table reads its range of the input through a gather of its own.
            let gathered = new_tensor(split, &format!("{name}.input"), range.len());
            let elements = range.clone().map(|e| (inputs[0], e as u32)).collect();
            push_gather(split, &format!("{name}.input"), elements, gathered);
            inputs = vec![gathered];
        }
        let output = new_tensor(split, &name, part.len);
        let part = Node {
            name,
            op: part.op,
            inputs,
            output,
        };
        split_node(split, part, shape, max_rows)?;
        part_tensors.push(output);
    }
    let elements = sources
        .into_iter()
        .map(|(part, element)| (part_tensors[part], element))
        .collect();
    push_gather(split, &node.name, elements, node.output);
    Ok(())
}

/// Adds a tensor of `len` values named `name`; returns it.
pub(crate) fn new_tensor(network: &mut Network, name: &str, len: usize) -> TensorId {
    network.tensors.push(TensorInfo {
        name: name.to_string(),
        shape: vec![len],
    });
    network.tensors.len() - 1
}

/// Adds gathers writing `output` from `elements` (tensor, element), one per output value.
/// A gather reads at most 255 tensors; more are first concatenated by gathers of their own.
pub(crate) fn push_gather(
    network: &mut Network,
    name: &str,
    elements: Vec<(TensorId, u32)>,
    output: TensorId,
) {
    let mut inputs: Vec<TensorId> = Vec::new();
    for &(t, _) in &elements {
        if !inputs.contains(&t) {
            inputs.push(t);
        }
    }
    if inputs.len() > usize::from(u8::MAX) {
        // Concatenate the inputs in groups, then gather from the concatenations.
        let mut offset_of = std::collections::HashMap::new();
        let mut concatenations = Vec::new();
        for (g, group) in inputs.chunks(usize::from(u8::MAX)).enumerate() {
            let len = group.iter().map(|&t| network.tensors[t].len()).sum();
            let concatenation = new_tensor(network, &format!("{name}.concat{g}"), len);
            let mut concatenated = Vec::with_capacity(len);
            for &t in group {
                offset_of.insert(t, (concatenation, concatenated.len()));
                concatenated.extend((0..network.tensors[t].len()).map(|e| (t, e as u32)));
            }
            push_gather(
                network,
                &format!("{name}.concat{g}"),
                concatenated,
                concatenation,
            );
            concatenations.push(concatenation);
        }
        let elements = elements
            .into_iter()
            .map(|(t, e)| {
                let (c, offset) = offset_of[&t];
                (c, (offset + e as usize) as u32)
            })
            .collect();
        return push_gather(network, name, elements, output);
    }
    let position: std::collections::HashMap<TensorId, u8> = inputs
        .iter()
        .enumerate()
        .map(|(i, &t)| (t, i as u8))
        .collect();
    let sources = elements
        .into_iter()
        .map(|(t, e)| (position[&t], e))
        .collect();
    network.nodes.push(Node {
        name: name.to_string(),
        op: Op::Gather(GatherOp { sources }),
        inputs,
        output,
    });
}

/// Per element of `node`'s output: (part, element of the part) holding it.
fn reassembly(node: &Node, parts: &[Part]) -> Vec<(usize, u32)> {
    match &node.op {
        Op::Linear(op) => {
            let blocks: Vec<_> = parts
                .iter()
                .map(|p| p.block.clone().expect("linear parts have blocks"))
                .collect();
            (0..op.len())
                .map(|o| {
                    let (c, p) = if op.channel_major {
                        (o / op.positions, o % op.positions)
                    } else {
                        (o % op.channels, o / op.channels)
                    };
                    let (i, (channels, positions)) = blocks
                        .iter()
                        .enumerate()
                        .find(|(_, (cs, ps))| cs.contains(&c) && ps.contains(&p))
                        .expect("the parts cover every output");
                    let element = (c - channels.start) * positions.len() + (p - positions.start);
                    (i, element as u32)
                })
                .collect()
        }
        _ => parts
            .iter()
            .enumerate()
            .flat_map(|(i, part)| (0..part.len).map(move |e| (i, e as u32)))
            .collect(),
    }
}
