//! The network circuit: the engines of a [`Shape`] wired together by copy constraints, with the
//! input and output exposed as public values.
//!
//! Every tensor element is a *source*: a public input, or a cell some engine wrote. Each node
//! copies its operands from their sources into its own cells and records its outputs as new
//! sources; gathers only rearrange sources. The output's sources are copied to the public
//! output (unless the network keeps its output private). Everything the gates need is decided by the [`Network`] (fixed columns) and the
//! [`CircuitWitness`] (advice), so the verifying key binds the network and nothing else.

use std::marker::PhantomData;
use std::sync::Arc;

use ff::{FromUniformBytes, PrimeField};
use halo2_gadgets::poseidon::primitives::{P128Pow5T3, Spec};
use halo2_proofs::{
    circuit::{AssignedCell, Cell, Layouter, Region, SimpleFloorPlanner, Value},
    plonk::{Advice, Circuit, Column, ConstraintSystem, Error, Instance},
};

use crate::arith::to_field;
use crate::commitment::{self, CommitmentConfig};
use crate::dense::{DenseChip, DenseConfig, TileRow};
use crate::layout::{Layout, LinkColumns, Placement};
use crate::network::{Network, Node};
use crate::ops::{LinearOp, Op};
use crate::product::{ProductChip, ProductConfig};
use crate::shape::Shape;
use crate::table::{configure_table, load_table, LookupChip, LookupConfig, TableColumns};
use crate::tiling::tile_rows;
use crate::unit::{UnitChip, UnitConfig};
use crate::witness::CircuitWitness;

/// Columns of a network circuit.
#[derive(Clone, Debug)]
pub struct NetworkConfig<F: PrimeField> {
    dense: Option<DenseConfig>,
    units: Vec<UnitConfig>,
    product: Option<ProductConfig>,
    table: Option<TableColumns>,
    lookups: Vec<LookupConfig>,
    commitment: Option<CommitmentConfig<F>>,
    instance: Vec<Column<Instance>>,
    /// Link-in columns of a linked slice (see [`Links`](crate::network::Links)).
    link_in: Vec<Column<Advice>>,
    /// Link-out columns of a linked slice.
    link_out: Vec<Column<Advice>>,
}

/// A network laid out on shape `S`, with or without a witness.
#[derive(Clone, Debug)]
pub struct NetworkCircuit<S: Shape> {
    network: Arc<Network>,
    layout: Arc<Layout>,
    witness: Option<Arc<CircuitWitness>>,
    _shape: PhantomData<S>,
}

impl<S: Shape> NetworkCircuit<S> {
    /// A circuit for key generation (no witness). `layout` must be `network`'s layout on `S`.
    pub fn new(network: Arc<Network>, layout: Arc<Layout>) -> Self {
        debug_assert_eq!(layout.shape, S::PARAMS);
        Self {
            network,
            layout,
            witness: None,
            _shape: PhantomData,
        }
    }

    /// The same circuit with a witness, for proving.
    pub fn with_witness(&self, witness: Arc<CircuitWitness>) -> Self {
        Self {
            witness: Some(witness),
            ..self.clone()
        }
    }

    /// Rows a circuit of this shape reserves for blinding (plus the last, unusable row).
    pub fn reserved_rows<F: PrimeField + FromUniformBytes<64>>() -> usize
    where
        P128Pow5T3: Spec<F, 3, 2>,
    {
        let mut meta = ConstraintSystem::<F>::default();
        Self::configure(&mut meta);
        meta.blinding_factors() + 1
    }

    /// The indices, among the circuit's advice columns, of its link-in and link-out columns
    /// (empty for a network that is not a linked slice): where a proof's commitments to them
    /// sit in its transcript.
    pub fn link_column_indices<F: PrimeField + FromUniformBytes<64>>(
        &self,
    ) -> (Vec<usize>, Vec<usize>)
    where
        P128Pow5T3: Spec<F, 3, 2>,
    {
        let mut meta = ConstraintSystem::<F>::default();
        let config = self.configure_from(&mut meta);
        let indices = |columns: &[Column<Advice>]| columns.iter().map(|c| c.index()).collect();
        (indices(&config.link_in), indices(&config.link_out))
    }

    /// The smallest `k` whose usable rows hold `layout`.
    pub fn min_k<F: PrimeField + FromUniformBytes<64>>(layout: &Layout) -> u32
    where
        P128Pow5T3: Spec<F, 3, 2>,
    {
        let needed = layout.rows() + Self::reserved_rows::<F>();
        let mut k = 4;
        while (1usize << k) < needed {
            k += 1;
        }
        k
    }
}

/// Where a tensor element's value comes from.
#[derive(Clone, Debug)]
enum Source<F: PrimeField> {
    Public(usize),
    /// A committed parameter (see [`weights`](crate::weights)): private, read once.
    Param(usize),
    Cell(AssignedCell<F, F>),
}

/// A link-in tensor and the cells holding its values.
type LinkedCells<F> = (usize, Vec<AssignedCell<F, F>>);

/// Copy constraints of one synthesis: between cells, and from cells to public values.
struct Wiring<F: PrimeField> {
    public: Vec<(Cell, usize)>,
    /// For a private or hashed input, which input values have been read: each is private
    /// witness that must be read exactly once (by the range check in front of the network), or
    /// different operators could see different values. `None` for a public input, whose every
    /// use is a copy of the instance column.
    private_input: Option<Vec<bool>>,
    /// Which committed parameters have been read: like a private input, each must be read
    /// exactly once (by the range check in front of the commitment).
    params_read: Vec<bool>,
    _marker: PhantomData<F>,
}

/// Marks private value `index` read; refuses a second read.
fn read_once(read: &mut [bool], index: usize) -> Result<(), Error> {
    match read.get_mut(index) {
        Some(seen) if !*seen => {
            *seen = true;
            Ok(())
        }
        _ => Err(Error::Synthesis),
    }
}

impl<F: PrimeField> Wiring<F> {
    fn connect(
        &mut self,
        region: &mut Region<'_, F>,
        cell: &AssignedCell<F, F>,
        source: &Source<F>,
    ) -> Result<(), Error> {
        match source {
            Source::Param(index) => read_once(&mut self.params_read, *index),
            Source::Public(index) => match &mut self.private_input {
                Some(read) => read_once(read, *index),
                None => {
                    self.public.push((cell.cell(), *index));
                    Ok(())
                }
            },
            Source::Cell(from) => region.constrain_equal(from.cell(), cell.cell()),
        }
    }
}

impl<F, S: Shape> Circuit<F> for NetworkCircuit<S>
where
    F: PrimeField + FromUniformBytes<64>,
    P128Pow5T3: Spec<F, 3, 2>,
{
    type Config = NetworkConfig<F>;
    type FloorPlanner = SimpleFloorPlanner;

    fn without_witnesses(&self) -> Self {
        Self {
            witness: None,
            ..self.clone()
        }
    }

    fn configure(meta: &mut ConstraintSystem<F>) -> NetworkConfig<F> {
        configure_network::<F, S>(meta, &LinkColumns::default())
    }

    /// A linked slice has link columns besides the shape's (their number depends on the slice,
    /// which only the circuit value knows).
    fn configure_from(&self, meta: &mut ConstraintSystem<F>) -> NetworkConfig<F> {
        configure_network::<F, S>(meta, &self.layout.links)
    }

    fn synthesize(
        &self,
        config: NetworkConfig<F>,
        layouter: impl Layouter<F>,
    ) -> Result<(), Error> {
        self.synthesize_network(config, layouter)
    }
}

/// The columns and gates of shape `S`, then the link columns (after every other column, so a
/// slice's other columns have the indices they have in an unlinked circuit).
fn configure_network<F, S: Shape>(
    meta: &mut ConstraintSystem<F>,
    links: &LinkColumns,
) -> NetworkConfig<F>
where
    F: PrimeField + FromUniformBytes<64>,
    P128Pow5T3: Spec<F, 3, 2>,
{
    let shape = S::PARAMS;
    // A degree of 5 fits the unit's digit checks and lets the permutation argument pack
    // three equality columns into each grand product. Measured on LeNet-5 at k = 11: degree 5
    // proves in 3.3 s, degree 7 in 4.6 s, degree 9 in 4.0 s (fewer grand products, but a
    // twice larger evaluation domain for every column).
    meta.set_minimum_degree(shape.min_degree);
    let dense = (shape.tile_inputs > 0)
        .then(|| DenseChip::configure(meta, shape.tile_inputs, shape.tile_outputs));
    let units = (0..shape.unit_lanes)
        .map(|_| UnitChip::configure(meta, shape.unit_remainder))
        .collect();
    let product =
        (shape.product_terms > 0).then(|| ProductChip::configure(meta, shape.product_terms));
    let table = (shape.lookup_lanes > 0).then(|| configure_table(meta));
    let lookups = table
        .map(|t| {
            (0..shape.lookup_lanes)
                .map(|_| LookupChip::configure(meta, t))
                .collect()
        })
        .unwrap_or_default();
    let commitment = shape.hash.then(|| commitment::configure(meta));
    let instance = (0..shape.instance_columns)
        .map(|_| {
            let column = meta.instance_column();
            meta.enable_equality(column);
            column
        })
        .collect();
    let mut link_columns = |count: usize| -> Vec<Column<Advice>> {
        (0..count)
            .map(|_| {
                let column = meta.advice_column();
                meta.enable_equality(column);
                column
            })
            .collect()
    };
    let link_in = link_columns(links.input_columns());
    let link_out = link_columns(links.output_columns());
    NetworkConfig {
        dense,
        units,
        product,
        table,
        lookups,
        commitment,
        instance,
        link_in,
        link_out,
    }
}

impl<S: Shape> NetworkCircuit<S> {
    fn synthesize_network<F>(
        &self,
        config: NetworkConfig<F>,
        mut layouter: impl Layouter<F>,
    ) -> Result<(), Error>
    where
        F: PrimeField + FromUniformBytes<64>,
        P128Pow5T3: Spec<F, 3, 2>,
    {
        if let Some(table) = config.table {
            load_table(&mut layouter, table, &self.network.tables)?;
        }
        let engines = Engines {
            dense: config.dense.clone().map(DenseChip::construct),
            units: config
                .units
                .iter()
                .cloned()
                .map(UnitChip::construct)
                .collect(),
            product: config.product.clone().map(ProductChip::construct),
            lookups: config
                .lookups
                .iter()
                .cloned()
                .map(LookupChip::construct)
                .collect(),
        };
        let network = &*self.network;
        let (public, packed) = layouter.assign_region(
            || "network",
            |mut region| {
                let mut wiring = Wiring {
                    public: Vec::new(),
                    private_input: (!network.input_public())
                        .then(|| vec![false; network.input_len()]),
                    params_read: vec![false; network.params.as_ref().map_or(0, |p| p.values.len())],
                    _marker: PhantomData,
                };
                let mut sources: Vec<Option<Vec<Source<F>>>> = vec![None; network.tensors.len()];
                sources[network.input] =
                    Some((0..network.input_len()).map(Source::Public).collect());
                if let Some(params) = &network.params {
                    sources[params.tensor] =
                        Some((0..params.values.len()).map(Source::Param).collect());
                }
                for (tensor, cells) in self.assign_link_in(&mut region, &config)? {
                    sources[tensor] = Some(cells.into_iter().map(Source::Cell).collect());
                }
                for (node, placement) in network.nodes.iter().zip(&self.layout.placements) {
                    let inputs: Vec<&[Source<F>]> = node
                        .inputs
                        .iter()
                        .map(|&t| sources[t].as_deref().ok_or(Error::Synthesis))
                        .collect::<Result<_, _>>()?;
                    let outputs = self.synthesize_node(
                        &engines,
                        &mut region,
                        &mut wiring,
                        node,
                        placement,
                        &inputs,
                    )?;
                    sources[node.output] = Some(outputs);
                }
                self.assign_link_out(&mut region, &config, &mut wiring, &sources)?;
                let output = sources[network.output].as_ref().ok_or(Error::Synthesis)?;
                let input_len = network.public_input_len();
                let exposed = if network.output_public() {
                    &output[..]
                } else {
                    &[]
                };
                for (index, source) in exposed.iter().enumerate() {
                    match source {
                        Source::Cell(cell) => wiring.public.push((cell.cell(), input_len + index)),
                        // An output that is a copy of an input has no cell to expose.
                        Source::Public(_) | Source::Param(_) => return Err(Error::Synthesis),
                    }
                }
                // The range-checked values the commitments hash.
                let cells_of = |tensor: Option<usize>| -> Result<_, Error> {
                    let Some(t) = tensor else { return Ok(None) };
                    let cells = sources[t]
                        .as_ref()
                        .ok_or(Error::Synthesis)?
                        .iter()
                        .map(|s| match s {
                            Source::Cell(cell) => Ok(cell.clone()),
                            Source::Public(_) | Source::Param(_) => Err(Error::Synthesis),
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(Some(cells))
                };
                let packed = [
                    cells_of(network.committed_input)?,
                    cells_of(network.committed_output)?,
                    cells_of(network.params.as_ref().map(|p| p.checked))?,
                ];
                Ok((wiring.public, packed))
            },
        )?;
        // The commitments: the input's in the first public slot, the output's after the
        // public input values, the weights' last.
        let [input, output, weights] = packed;
        for (cells, slot) in [
            (input, 0),
            (output, network.public_input_len()),
            (
                weights,
                network.public_input_len() + network.public_output_len(),
            ),
        ] {
            let Some(cells) = cells else { continue };
            let chip = config.commitment.as_ref().ok_or(Error::Synthesis)?;
            let commitment = commitment::commit_cells(chip, &mut layouter, &cells)?;
            let (column, row) = self.layout.public_slot(slot);
            layouter.constrain_instance(commitment.cell(), config.instance[column], row)?;
        }
        for (cell, index) in public {
            let (column, row) = self.layout.public_slot(index);
            layouter.constrain_instance(cell, config.instance[column], row)?;
        }
        Ok(())
    }
}

impl<S: Shape> NetworkCircuit<S> {
    /// Assigns the link-in values to the link-in columns; returns each link-in tensor with its
    /// cells.
    fn assign_link_in<F: PrimeField>(
        &self,
        region: &mut Region<'_, F>,
        config: &NetworkConfig<F>,
    ) -> Result<Vec<LinkedCells<F>>, Error> {
        let Some(links) = &self.network.links else {
            return Ok(Vec::new());
        };
        let slots = self
            .layout
            .links
            .slots(&links.input_segments, &self.layout.links.input);
        let values = self.witness.as_deref().map(|w| &w.link_in);
        let mut slots = slots.iter().enumerate();
        links
            .inputs
            .iter()
            .map(|link| {
                let cells = slots
                    .by_ref()
                    .take(self.network.tensors[link.tensor].len())
                    .map(|(i, &(column, row))| {
                        let column = *config.link_in.get(column).ok_or(Error::Synthesis)?;
                        let value = values
                            .and_then(|v| v.get(i))
                            .map_or(Value::unknown(), |&v| Value::known(to_field::<F>(v)));
                        region.assign_advice(|| "link in", column, row, || value)
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                if cells.len() != self.network.tensors[link.tensor].len() {
                    return Err(Error::Synthesis);
                }
                Ok((link.tensor, cells))
            })
            .collect()
    }

    /// Copies the link-out tensor's values into the link-out columns.
    fn assign_link_out<F: PrimeField>(
        &self,
        region: &mut Region<'_, F>,
        config: &NetworkConfig<F>,
        wiring: &mut Wiring<F>,
        sources: &[Option<Vec<Source<F>>>],
    ) -> Result<(), Error> {
        let Some(links) = &self.network.links else {
            return Ok(());
        };
        let Some(tensor) = links.output else {
            return Ok(());
        };
        let outputs = sources[tensor].as_ref().ok_or(Error::Synthesis)?;
        let slots = self
            .layout
            .links
            .slots(&links.output_segments, &self.layout.links.output);
        if slots.len() != outputs.len() {
            return Err(Error::Synthesis);
        }
        let values = self.witness.as_deref().map(|w| &w.link_out);
        for (i, (&(column, row), source)) in slots.iter().zip(outputs).enumerate() {
            let column = *config.link_out.get(column).ok_or(Error::Synthesis)?;
            let value = values
                .and_then(|v| v.get(i))
                .map_or(Value::unknown(), |&v| Value::known(to_field::<F>(v)));
            let cell = region.assign_advice(|| "link out", column, row, || value)?;
            wiring.connect(region, &cell, source)?;
        }
        Ok(())
    }
}

/// The chips of one synthesis.
struct Engines {
    dense: Option<DenseChip>,
    units: Vec<UnitChip>,
    product: Option<ProductChip>,
    lookups: Vec<LookupChip>,
}

impl<S: Shape> NetworkCircuit<S> {
    /// Assigns one node and returns the sources of its output elements.
    fn synthesize_node<F: PrimeField>(
        &self,
        engines: &Engines,
        region: &mut Region<'_, F>,
        wiring: &mut Wiring<F>,
        node: &Node,
        placement: &Placement,
        inputs: &[&[Source<F>]],
    ) -> Result<Vec<Source<F>>, Error> {
        let witness = self.witness.as_deref();
        let layout = &*self.layout;
        match (&node.op, placement) {
            (Op::Linear(op), Placement::Linear { .. }) => {
                let dense = engines.dense.as_ref().ok_or(Error::Synthesis)?;
                self.synthesize_linear(dense, region, wiring, op, placement, inputs[0])
            }
            (Op::Unit(op), &Placement::Unit { first_slot }) => {
                let mut outputs = Vec::with_capacity(op.output_len());
                for i in 0..op.len() {
                    let (row, lane) = layout.unit_slot(first_slot + i);
                    let w = witness.map(|w| &w.units[first_slot + i]);
                    let cells = engines.units[lane].assign(region, row, op.kind(i), w)?;
                    wiring.connect(region, &cells.a, &inputs[0][op.a[i] as usize])?;
                    if let Some(&b) = op.b.get(i) {
                        wiring.connect(region, &cells.b, &inputs[1][b as usize])?;
                    }
                    outputs.push(Source::Cell(cells.y));
                    if op.with_remainder {
                        outputs.push(Source::Cell(cells.z.ok_or(Error::Synthesis)?));
                    }
                }
                Ok(outputs)
            }
            (Op::Product(op), &Placement::Product { first_row, chunks }) => {
                let chip = engines.product.as_ref().ok_or(Error::Synthesis)?;
                let terms = layout.shape.product_terms;
                (0..op.len())
                    .map(|o| {
                        let mut last = None;
                        for chunk in 0..chunks {
                            let row = first_row + o * chunks + chunk;
                            let range = o * op.terms + chunk * terms
                                ..o * op.terms + ((chunk + 1) * terms).min(op.terms);
                            let values = witness.map(|w| &w.product_rows[row]);
                            let cells =
                                chip.assign_row(region, row, range.len(), chunk > 0, values)?;
                            for ((cell, &i), (cell_b, &j)) in cells
                                .a
                                .iter()
                                .zip(&op.a[range.clone()])
                                .zip(cells.b.iter().zip(&op.b[range]))
                            {
                                wiring.connect(region, cell, &inputs[0][i as usize])?;
                                wiring.connect(region, cell_b, &inputs[1][j as usize])?;
                            }
                            last = Some(cells.acc);
                        }
                        last.map(Source::Cell).ok_or(Error::Synthesis)
                    })
                    .collect()
            }
            (Op::Table(op), &Placement::Table { first_slot }) => inputs[0]
                .iter()
                .enumerate()
                .map(|(i, source)| {
                    let (row, lane) = layout.lookup_slot(first_slot + i);
                    let values = witness.map(|w| w.lookups[first_slot + i]);
                    let (x, y) = engines.lookups[lane].assign(region, row, op.table, values)?;
                    wiring.connect(region, &x, source)?;
                    Ok(Source::Cell(y))
                })
                .collect(),
            (Op::Gather(op), Placement::Gather) => Ok(op
                .sources
                .iter()
                .map(|&(i, e)| inputs[i as usize][e as usize].clone())
                .collect()),
            _ => Err(Error::Synthesis),
        }
    }

    fn synthesize_linear<F: PrimeField>(
        &self,
        dense: &DenseChip,
        region: &mut Region<'_, F>,
        wiring: &mut Wiring<F>,
        op: &LinearOp,
        placement: &Placement,
        input: &[Source<F>],
    ) -> Result<Vec<Source<F>>, Error> {
        let &Placement::Linear { first_row, tiling } = placement else {
            return Err(Error::Synthesis);
        };
        let witness = self.witness.as_deref();
        let (tile_inputs, tile_outputs) = (
            self.layout.shape.tile_inputs,
            self.layout.shape.tile_outputs,
        );
        let mut outputs: Vec<Option<Source<F>>> = vec![None; op.len()];
        // The weight blocks of the operator's rows (consecutive from `first_row`), assigned a
        // column at a time once every row is placed.
        let block = tile_inputs * tile_outputs;
        let mut blocks: Vec<i64> = Vec::new();
        for plan in tile_rows(op, tiling, first_row, tile_inputs, tile_outputs) {
            if plan.row != first_row + blocks.len() / block {
                return Err(Error::Synthesis);
            }
            let used_inputs = plan
                .segments
                .last()
                .map_or(0, |s| s.input_lane + s.taps.len());
            let used_outputs = plan
                .segments
                .last()
                .map_or(0, |s| s.output_lane + s.channels.len());
            // Block-diagonal weights; padding taps (no input) get weight 0, so their cell is free.
            let mut weights = vec![vec![0i64; used_inputs]; used_outputs];
            let mut bias = vec![0i64; used_outputs];
            for segment in &plan.segments {
                let taps = &op.taps_at(segment.group, segment.position)[segment.taps.clone()];
                for (j, c) in segment.channels.clone().enumerate() {
                    let lane = &mut weights[segment.output_lane + j][segment.input_lane..];
                    for ((w, &weight), tap) in lane
                        .iter_mut()
                        .zip(&op.row(c)[segment.taps.clone()])
                        .zip(taps)
                    {
                        *w = if tap.is_some() { weight } else { 0 };
                    }
                    if !plan.chain {
                        bias[segment.output_lane + j] = op.bias[c];
                    }
                }
            }
            let weight_rows: Vec<&[i64]> = weights.iter().map(Vec::as_slice).collect();
            let start = blocks.len();
            blocks.resize(start + block, 0);
            for (j, lane) in weights.iter().enumerate() {
                blocks[start + j * tile_inputs..][..lane.len()].copy_from_slice(lane);
            }
            let known = |values: Option<&Vec<i64>>, n: usize| -> Vec<Value<i64>> {
                values.map_or_else(
                    || vec![Value::unknown(); n],
                    |v| v.iter().map(|&x| Value::known(x)).collect(),
                )
            };
            let values = witness.map(|w| &w.tile_rows[plan.row]);
            let cells = dense.assign_row_cells(
                region,
                plan.row,
                &TileRow {
                    weights: &weight_rows,
                    bias: &bias,
                    chain: plan.chain,
                    inputs: &known(values.map(|v| &v.inputs), used_inputs),
                    accumulators: &known(values.map(|v| &v.accumulators), used_outputs),
                },
            )?;
            for segment in &plan.segments {
                let taps = &op.taps_at(segment.group, segment.position)[segment.taps.clone()];
                for (cell, tap) in cells.inputs[segment.input_lane..].iter().zip(taps) {
                    if let Some(i) = tap {
                        wiring.connect(region, cell, &input[*i as usize])?;
                    }
                }
                if plan.last {
                    for (j, c) in segment.channels.clone().enumerate() {
                        let acc = cells.accumulators[segment.output_lane + j].clone();
                        outputs[op.output_index(c, segment.position)] = Some(Source::Cell(acc));
                    }
                }
            }
        }
        dense.assign_weights(region, first_row, blocks.len() / block, |r, j, i| {
            blocks[r * block + j * tile_inputs + i]
        })?;
        outputs
            .into_iter()
            .map(|o| o.ok_or(Error::Synthesis))
            .collect()
    }
}
