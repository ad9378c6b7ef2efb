//! Sliced networks: a network too large for one circuit, cut into consecutive slices that are
//! proven on their own and linked.
//!
//! A slice is a run of consecutive operators of the whole network. Its circuit is an ordinary
//! network circuit ([`NetworkCircuit`](crate::NetworkCircuit)) over a network of its own
//! ([`Slice::network`]) with *link columns* ([`Links`]): the values it reads that an earlier
//! slice computed sit in its link-in columns, and the values it computes that later slices read
//! are copied into its link-out columns. A *link* carries the values one slice computes for one
//! later slice, in a fixed order ([`Link::elements`]), so the producer's link-out columns and the
//! consumer's link-in columns for that link hold the same values. When both proofs also take
//! those columns' blinding from the same secret, the columns' commitments are equal, and a
//! verifier checks every link by comparing commitments.
//!
//! Gathers (reshapes, slices, concatenations) cost no rows, so they are never cut: every slice
//! reads the values it needs through them, back to the operator that computed them (or to the
//! network's input, which every slice that reads it takes as a public value of its own).
//!
//! [`SliceGraph`] analyses a network once: what each operator takes of each engine, which values
//! cross each possible cut, and [`SliceGraph::plan`] picks the cuts: the fewest slices that fit,
//! then the fewest values crossing between slices.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;

use thiserror::Error;

use crate::commitment;
use crate::network::{LinkInput, Links, Network, NetworkError, Node, TensorId, Visibility};
use crate::ops::{Op, TableOp};
use crate::shape::ShapeParams;
use crate::split::{new_tensor, push_gather, EngineUse};
use crate::table::table_rows;

/// Where a value an operator reads comes from, looking through gathers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Base {
    /// An element of the network's input.
    Input(u32),
    /// An element of a tensor an operator (not a gather) writes.
    Element(TensorId, u32),
}

/// One value crossing slices: element `index` of `tensor` of the whole network.
pub type Element = (TensorId, u32);

/// The values one slice computes for one later slice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// The slice that computes them.
    pub from: usize,
    /// The slice that reads them.
    pub to: usize,
    /// The values, in column order: elements of the whole network's tensors, sorted.
    pub elements: Vec<Element>,
}

/// One slice: a run of operators, and the network its circuit proves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slice {
    /// Position in the chain.
    pub index: usize,
    /// The operators of the whole network it holds (gathers in the range are not copied: the
    /// slice reads through them).
    pub nodes: Range<usize>,
    /// Its network: the operators, gathers rebuilding what they read, and the links.
    pub network: Network,
}

/// A network cut into slices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slicing {
    /// The slices, in order.
    pub slices: Vec<Slice>,
    /// The links, ordered by producer, then consumer.
    pub links: Vec<Link>,
}

impl Slicing {
    /// The values of slice `slice`'s link-in columns, from a trace of the whole network.
    pub fn link_in_values(&self, slice: usize, values: &[Vec<i64>]) -> Vec<i64> {
        self.links
            .iter()
            .filter(|l| l.to == slice)
            .flat_map(|l| l.elements.iter().map(|&(t, e)| values[t][e as usize]))
            .collect()
    }

    /// The values of slice `slice`'s link-out columns, from a trace of the whole network.
    pub fn link_out_values(&self, slice: usize, values: &[Vec<i64>]) -> Vec<i64> {
        self.links
            .iter()
            .filter(|l| l.from == slice)
            .flat_map(|l| l.elements.iter().map(|&(t, e)| values[t][e as usize]))
            .collect()
    }

    /// Values crossing between slices, over all links.
    pub fn linked_values(&self) -> usize {
        self.links.iter().map(|l| l.elements.len()).sum()
    }
}

/// A network that cannot be sliced as asked.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum SliceError {
    /// The network itself is invalid.
    #[error(transparent)]
    Network(#[from] NetworkError),
    /// Some operator needs more rows than a slice holds, even alone.
    #[error(
        "a slice holding node '{node}' needs {rows} rows for {what}, more than the {max_rows} it has; raise --max-k"
    )]
    TooLarge {
        /// The node.
        node: String,
        /// What takes the rows.
        what: &'static str,
        /// Rows it needs.
        rows: usize,
        /// Rows a slice holds.
        max_rows: usize,
    },
    /// More slices were asked for than there are operators to put in them.
    #[error("{requested} slices asked for, but the network has only {operators} operators")]
    TooManySlices {
        /// Slices asked for.
        requested: usize,
        /// Operators (gathers excluded).
        operators: usize,
    },
    /// The requested number of slices cannot hold the network.
    #[error(
        "{requested} slices of {max_rows} rows cannot hold the network; it needs at least {needed}"
    )]
    TooFewSlices {
        /// Slices asked for.
        requested: usize,
        /// The smallest number that fits.
        needed: usize,
        /// Rows a slice holds.
        max_rows: usize,
    },
    /// A mode of the network that slicing does not support yet.
    #[error("{0}")]
    Unsupported(String),
}

/// A network analysed for slicing on one shape.
#[derive(Clone, Debug)]
pub struct SliceGraph {
    network: Network,
    shape: ShapeParams,
    /// Per tensor: the node writing it.
    writer: Vec<Option<usize>>,
    /// Per tensor written by a gather: the base of each element.
    through_gathers: Vec<Option<Vec<Base>>>,
    /// Worst-case magnitude of every tensor.
    bounds: Vec<f64>,
    /// The operators (not gathers), by node index.
    operators: Vec<usize>,
    /// Prefix sums of the operators' engine use.
    use_prefix: Vec<EngineUse>,
    /// Prefix counts of the operators that read the network's input (through gathers or not).
    input_readers: Vec<usize>,
    /// Per function table: prefix counts of the operators that look it up.
    table_users: Vec<Vec<usize>>,
    /// The operator writing the range-checked input a hashed input's commitment hashes.
    committed_input_writer: Option<usize>,
    /// `crossing[c]`: values computed before operator `c` and read from operator `c` on.
    crossing: Vec<usize>,
    /// Unit slots kept free in the last slice for the checks of a claim about the output.
    claim_slots: usize,
}

impl SliceGraph {
    /// Analyses `network` (validated here) for slicing on `shape`.
    pub fn new(network: Network, shape: ShapeParams) -> Result<Self, SliceError> {
        if network.params.is_some() {
            return Err(SliceError::Unsupported(
                "committed weights cannot be combined with slicing yet".into(),
            ));
        }
        if network.links.is_some() {
            return Err(SliceError::Unsupported(
                "the network is already a slice".into(),
            ));
        }
        let bounds = network.bounds()?;
        let mut writer = vec![None; network.tensors.len()];
        for (i, node) in network.nodes.iter().enumerate() {
            writer[node.output] = Some(i);
        }
        let mut through_gathers: Vec<Option<Vec<Base>>> = vec![None; network.tensors.len()];
        for node in &network.nodes {
            if let Op::Gather(op) = &node.op {
                let bases = op
                    .sources
                    .iter()
                    .map(|&(i, e)| base_of(&network, &through_gathers, node.inputs[i as usize], e))
                    .collect();
                through_gathers[node.output] = Some(bases);
            }
        }
        let mut graph = Self {
            operators: (0..network.nodes.len())
                .filter(|&i| !matches!(network.nodes[i].op, Op::Gather(_)))
                .collect(),
            network,
            shape,
            writer,
            through_gathers,
            bounds,
            use_prefix: Vec::new(),
            input_readers: Vec::new(),
            table_users: Vec::new(),
            committed_input_writer: None,
            crossing: Vec::new(),
            claim_slots: 0,
        };
        graph.analyse();
        Ok(graph)
    }

    /// The network.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The network, given back.
    pub fn into_network(self) -> Network {
        self.network
    }

    /// Number of operators (gathers excluded): at most this many slices.
    pub fn operators(&self) -> usize {
        self.operators.len()
    }

    fn base(&self, tensor: TensorId, element: u32) -> Base {
        base_of(&self.network, &self.through_gathers, tensor, element)
    }

    /// Per-operator facts and the values crossing each cut.
    fn analyse(&mut self) {
        let n = self.operators.len();
        let mut prefix = vec![EngineUse::default(); n + 1];
        let mut reads_input = vec![false; n];
        let mut table_users = vec![vec![0; n + 1]; self.network.tables.len()];
        // Per tensor written by an operator: the last operator reading each element.
        let mut last_reader: HashMap<TensorId, Vec<usize>> = HashMap::new();
        let mut operator_of = vec![usize::MAX; self.network.nodes.len()];
        for (o, &i) in self.operators.iter().enumerate() {
            operator_of[i] = o;
        }
        for (o, &i) in self.operators.iter().enumerate() {
            let node = &self.network.nodes[i];
            prefix[o + 1] = prefix[o].plus(EngineUse::of(node, &self.network, &self.shape));
            for (t, users) in table_users.iter_mut().enumerate() {
                users[o + 1] =
                    users[o] + usize::from(matches!(&node.op, Op::Table(op) if op.table == t));
            }
            for_each_read(node, &self.network, |input, element| {
                match self.base(node.inputs[input], element) {
                    Base::Input(_) => reads_input[o] = true,
                    Base::Element(t, e) => {
                        let len = self.network.tensors[t].len();
                        let readers = last_reader.entry(t).or_insert_with(|| vec![0; len]);
                        readers[e as usize] = readers[e as usize].max(o);
                    }
                }
            });
        }
        // A value computed by operator w and last read by operator r crosses cuts w+1 ..= r.
        let mut diff = vec![0isize; n + 2];
        for (t, readers) in &last_reader {
            let w = self.writer[*t].map_or(0, |i| operator_of[i]);
            for &r in readers.iter().filter(|&&r| r > w) {
                diff[w + 1] += 1;
                diff[r + 1] -= 1;
            }
        }
        let mut running = 0isize;
        self.crossing = (0..=n)
            .map(|c| {
                running += diff[c];
                running as usize
            })
            .collect();
        self.use_prefix = prefix;
        self.input_readers = std::iter::once(0)
            .chain(reads_input.iter().scan(0, |count, &r| {
                *count += usize::from(r);
                Some(*count)
            }))
            .collect();
        self.table_users = table_users;
        self.committed_input_writer = self
            .network
            .committed_input
            .and_then(|t| self.writer[t])
            .map(|i| operator_of[i]);
        // Room for an `argmax` claim (n − 1 comparisons) or a `ge` one; a `topk` claim with
        // many comparisons may not fit, and is then refused when it is made.
        self.claim_slots = self.network.output_len();
    }

    /// Rows a slice of operators `range` takes (the last slice also holds the output, its
    /// commitment and the room for a claim's checks).
    pub fn rows(&self, range: Range<usize>) -> usize {
        self.row_needs(range)
            .into_iter()
            .map(|(_, rows)| rows)
            .max()
            .unwrap_or(0)
    }

    /// What takes the rows of a slice of operators `range`: each need and its rows.
    fn row_needs(&self, range: Range<usize>) -> [(&'static str, usize); 4] {
        let last = range.end == self.operators.len();
        let shape = &self.shape;
        let mut used = self.use_prefix[range.end].minus(self.use_prefix[range.start]);
        if last {
            used.unit_slots += self.claim_slots;
        }
        let engines = used
            .rows(shape)
            .max(1 + used.tile_rows)
            .max(1 + used.product_rows);
        let tables: Vec<_> = self
            .table_users
            .iter()
            .enumerate()
            .filter(|(_, users)| users[range.end] > users[range.start])
            .map(|(t, _)| self.network.tables[t].clone())
            .collect();
        let tables = if tables.is_empty() {
            0
        } else {
            table_rows(&tables)
        };
        let network = &self.network;
        let mut public = 0;
        if self.input_readers[range.end] > self.input_readers[range.start] {
            public += network.public_input_len();
        }
        if last {
            public += network.public_output_len();
        }
        let mut hashed = 0;
        if self
            .committed_input_writer
            .is_some_and(|o| range.contains(&o))
        {
            hashed += commitment::rows(network.input_len());
        }
        if last && network.committed_output.is_some() {
            hashed += commitment::rows(network.output_len());
        }
        [
            ("its engines' rows", engines),
            ("its function tables", tables),
            (
                "the public input or output values in the instance columns",
                public.div_ceil(shape.instance_columns.max(1)),
            ),
            ("the commitment to a hashed value", hashed),
        ]
    }

    /// The first operator of each slice: `count` slices if given, else the fewest that fit,
    /// each in `max_rows` rows; among those, the cuts that the fewest values cross (ties go to
    /// the plan whose largest slice is smallest).
    pub fn plan(&self, max_rows: usize, count: Option<usize>) -> Result<Vec<usize>, SliceError> {
        let n = self.operators.len();
        // Every operator must fit on its own.
        for o in 0..n {
            let (what, rows) = self
                .row_needs(o..o + 1)
                .into_iter()
                .max_by_key(|&(_, rows)| rows)
                .expect("four needs");
            if rows > max_rows {
                let node = &self.network.nodes[self.operators[o]];
                return Err(SliceError::TooLarge {
                    node: node.name.clone(),
                    what,
                    rows,
                    max_rows,
                });
            }
        }
        let fits = |a: usize, b: usize| self.rows(a..b) <= max_rows;
        // The fewest slices: each as long as it can be.
        let mut fewest = 0;
        let mut start = 0;
        while start < n {
            let mut end = start + 1;
            while end < n && fits(start, end + 1) {
                end += 1;
            }
            fewest += 1;
            start = end;
        }
        let count = match count {
            Some(c) if c > n => {
                return Err(SliceError::TooManySlices {
                    requested: c,
                    operators: n,
                })
            }
            Some(c) if c < fewest => {
                return Err(SliceError::TooFewSlices {
                    requested: c,
                    needed: fewest,
                    max_rows,
                })
            }
            Some(c) => c,
            None => fewest,
        };
        // best[s][b]: (crossing values, largest slice) of operators 0..b in s slices.
        type Cost = (usize, usize);
        let mut best: Vec<Vec<Option<(Cost, usize)>>> = vec![vec![None; n + 1]; count + 1];
        best[0][0] = Some(((0, 0), 0));
        for s in 1..=count {
            for b in s..=n {
                let mut choice: Option<(Cost, usize)> = None;
                for a in (s - 1..b).rev() {
                    let rows = self.rows(a..b);
                    if rows > max_rows {
                        break;
                    }
                    let Some(((crossing, largest), _)) = best[s - 1][a] else {
                        continue;
                    };
                    let cut = if a > 0 { self.crossing[a] } else { 0 };
                    let cost = (crossing + cut, largest.max(rows));
                    if choice.is_none_or(|(c, _)| cost < c) {
                        choice = Some((cost, a));
                    }
                }
                best[s][b] = choice;
            }
        }
        let mut starts = vec![0; count];
        let mut b = n;
        for s in (1..=count).rev() {
            let (_, a) = best[s][b].expect("a plan with the fewest slices exists");
            starts[s - 1] = a;
            b = a;
        }
        Ok(starts)
    }

    /// Values crossing a cut before operator `operator`.
    pub fn crossing(&self, operator: usize) -> usize {
        self.crossing[operator]
    }

    /// The slices starting at operators `starts` (the first must be 0), with their links.
    pub fn slice(&self, starts: &[usize]) -> Result<Slicing, SliceError> {
        let n = self.operators.len();
        if starts.first() != Some(&0)
            || starts.windows(2).any(|w| w[0] >= w[1])
            || starts.last().is_some_and(|&s| s >= n)
        {
            return Err(SliceError::Unsupported(format!(
                "slice starts {starts:?} do not cut {n} operators into non-empty slices"
            )));
        }
        let ranges: Vec<Range<usize>> = starts
            .iter()
            .enumerate()
            .map(|(s, &a)| a..starts.get(s + 1).copied().unwrap_or(n))
            .collect();
        let mut slice_of_node = vec![usize::MAX; self.network.nodes.len()];
        for (s, range) in ranges.iter().enumerate() {
            for o in range.clone() {
                slice_of_node[self.operators[o]] = s;
            }
        }
        let slice_of = |t: TensorId| self.writer[t].map(|i| slice_of_node[i]);
        // What each slice reads from outside: per tensor it reads (not written in it), the
        // elements it needs.
        let needs: Vec<BTreeMap<TensorId, BTreeSet<u32>>> = ranges
            .iter()
            .enumerate()
            .map(|(s, range)| {
                let mut needs: BTreeMap<TensorId, BTreeSet<u32>> = BTreeMap::new();
                for o in range.clone() {
                    let node = &self.network.nodes[self.operators[o]];
                    for_each_read(node, &self.network, |input, element| {
                        let t = node.inputs[input];
                        if slice_of(t) != Some(s) {
                            needs.entry(t).or_default().insert(element);
                        }
                    });
                }
                let output = self.network.output;
                if s + 1 == ranges.len() && slice_of(output) != Some(s) {
                    needs
                        .entry(output)
                        .or_default()
                        .extend(0..self.network.output_len() as u32);
                }
                needs
            })
            .collect();
        // The links: every base element a slice needs that another slice computes.
        let mut linked: BTreeMap<(usize, usize), BTreeSet<Element>> = BTreeMap::new();
        for (s, needs) in needs.iter().enumerate() {
            for (&t, elements) in needs {
                for &e in elements {
                    if let Base::Element(bt, be) = self.base(t, e) {
                        let producer = slice_of(bt).expect("an operator writes every base");
                        if producer != s {
                            linked.entry((producer, s)).or_default().insert((bt, be));
                        }
                    }
                }
            }
        }
        let links: Vec<Link> = linked
            .into_iter()
            .map(|((from, to), elements)| Link {
                from,
                to,
                elements: elements.into_iter().collect(),
            })
            .collect();
        let slices = ranges
            .iter()
            .enumerate()
            .map(|(s, range)| self.slice_network(s, ranges.len(), range.clone(), &needs[s], &links))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Slicing { slices, links })
    }

    /// The network of slice `s` of `count`, holding operators `range`.
    fn slice_network(
        &self,
        s: usize,
        count: usize,
        range: Range<usize>,
        needs: &BTreeMap<TensorId, BTreeSet<u32>>,
        links: &[Link],
    ) -> Result<Slice, SliceError> {
        let whole = &self.network;
        let last = s + 1 == count;
        let mut net = Network {
            tensors: vec![whole.tensors[whole.input].clone()],
            input: 0,
            output: 0,
            nodes: Vec::new(),
            tables: Vec::new(),
            input_visibility: Visibility::Private,
            output_visibility: Visibility::Private,
            committed_input: None,
            committed_output: None,
            params: None,
            links: None,
        };
        // Link-in tensors: per link into this slice, one tensor per tensor it carries values of.
        let mut linked_at: HashMap<Element, Element> = HashMap::new();
        let mut links_info = Links::default();
        for link in links.iter().filter(|l| l.to == s) {
            links_info.input_segments.push(link.elements.len());
            let mut start = 0;
            while start < link.elements.len() {
                let t = link.elements[start].0;
                let end = start + link.elements[start..].partition_point(|&(u, _)| u == t);
                let name = format!("{}@slice{}", whole.tensors[t].name, link.from);
                let tensor = new_tensor(&mut net, &name, end - start);
                for (position, &element) in link.elements[start..end].iter().enumerate() {
                    linked_at.insert(element, (tensor, position as u32));
                }
                links_info.inputs.push(LinkInput {
                    tensor,
                    bound: self.bounds[t].ceil() as u64,
                });
                start = end;
            }
        }
        let mut local: HashMap<TensorId, TensorId> = HashMap::new();
        let mut reads_input = false;
        let mut tables: Vec<usize> = Vec::new();
        for o in range.clone() {
            let node = &self.network.nodes[self.operators[o]];
            let mut inputs = Vec::with_capacity(node.inputs.len());
            for &t in &node.inputs {
                let mapped = match local.get(&t) {
                    Some(&m) => m,
                    None => {
                        let elements = needs.get(&t).ok_or_else(|| {
                            SliceError::Unsupported(format!(
                                "node '{}' reads a tensor the slicer did not trace",
                                node.name
                            ))
                        })?;
                        let m = self.rebuild(&mut net, t, elements, &local, &linked_at);
                        reads_input |= self.reads_base_input(t, elements);
                        local.insert(t, m);
                        m
                    }
                };
                inputs.push(mapped);
            }
            let mut op = node.op.clone();
            if let Op::Table(TableOp { table }) = &mut op {
                let position = tables.iter().position(|&u| u == *table).unwrap_or_else(|| {
                    tables.push(*table);
                    tables.len() - 1
                });
                *table = position;
            }
            let output = net.tensors.len();
            net.tensors.push(whole.tensors[node.output].clone());
            net.nodes.push(Node {
                name: node.name.clone(),
                op,
                inputs,
                output,
            });
            local.insert(node.output, output);
        }
        net.tables = tables.iter().map(|&t| whole.tables[t].clone()).collect();
        // Link-out: the values later slices read, link by link.
        let mut out_elements: Vec<(TensorId, u32)> = Vec::new();
        for link in links.iter().filter(|l| l.from == s) {
            links_info.output_segments.push(link.elements.len());
            out_elements.extend(link.elements.iter().map(|&(t, e)| (local[&t], e)));
        }
        if !out_elements.is_empty() {
            let tensor = new_tensor(&mut net, "link out", out_elements.len());
            push_gather(&mut net, "link out", out_elements, tensor);
            links_info.output = Some(tensor);
        }
        // The output: the network's for the last slice, else the link-out values (private).
        if last {
            let output = match local.get(&whole.output) {
                Some(&m) => m,
                None => {
                    let elements = &needs[&whole.output];
                    reads_input |= self.reads_base_input(whole.output, elements);
                    self.rebuild(&mut net, whole.output, elements, &local, &linked_at)
                }
            };
            net.output = output;
            net.output_visibility = whole.output_visibility;
            net.committed_output = match whole.committed_output {
                Some(t) => Some(*local.get(&t).ok_or_else(|| {
                    SliceError::Unsupported(
                        "the range check of a hashed output must be in the last slice".into(),
                    )
                })?),
                None => None,
            };
        } else {
            net.output = links_info
                .output
                .unwrap_or_else(|| net.nodes.last().map_or(0, |n| n.output));
        }
        if reads_input {
            net.input_visibility = whole.input_visibility;
        }
        if let Some(t) = whole.committed_input {
            if let Some(&m) = local.get(&t) {
                net.committed_input = Some(m);
                net.input_visibility = Visibility::Hashed;
            }
        }
        if reads_input && whole.input_visibility != Visibility::Public && s != 0 {
            return Err(SliceError::Unsupported(
                "a private or hashed input must be read by the first slice only".into(),
            ));
        }
        net.links = Some(links_info);
        net.validate()?;
        Ok(Slice {
            index: s,
            nodes: self.operators[range.start]..self.operators[range.end - 1] + 1,
            network: net,
        })
    }

    /// Whether any of `elements` of `tensor` is an element of the network's input.
    fn reads_base_input(&self, tensor: TensorId, elements: &BTreeSet<u32>) -> bool {
        elements
            .iter()
            .any(|&e| matches!(self.base(tensor, e), Base::Input(_)))
    }

    /// Adds to `net` a tensor standing for `tensor` of the whole network, gathered from the
    /// slice's input, its link-in tensors and its own tensors (`local`); elements the slice does
    /// not read take any source. Returns the new tensor.
    fn rebuild(
        &self,
        net: &mut Network,
        tensor: TensorId,
        needed: &BTreeSet<u32>,
        local: &HashMap<TensorId, TensorId>,
        linked_at: &HashMap<Element, Element>,
    ) -> TensorId {
        let source = |e: u32| -> Element {
            match self.base(tensor, e) {
                Base::Input(i) => (0, i),
                Base::Element(t, i) => match local.get(&t) {
                    Some(&m) => (m, i),
                    None => linked_at[&(t, i)],
                },
            }
        };
        let placeholder = needed.first().map_or((0, 0), |&e| source(e));
        let len = self.network.tensors[tensor].len();
        let elements = (0..len as u32)
            .map(|e| {
                if needed.contains(&e) {
                    source(e)
                } else {
                    placeholder
                }
            })
            .collect();
        let info = self.network.tensors[tensor].clone();
        let rebuilt = net.tensors.len();
        net.tensors.push(info.clone());
        push_gather(net, &info.name, elements, rebuilt);
        rebuilt
    }
}

/// The base of element `element` of `tensor`, given the bases of the gathers before it.
fn base_of(
    network: &Network,
    through_gathers: &[Option<Vec<Base>>],
    tensor: TensorId,
    element: u32,
) -> Base {
    if tensor == network.input {
        return Base::Input(element);
    }
    match &through_gathers[tensor] {
        Some(bases) => bases[element as usize],
        None => Base::Element(tensor, element),
    }
}

/// Calls `f(input, element)` for every element an operator reads (not for gathers, which read
/// nothing themselves).
fn for_each_read(node: &Node, network: &Network, mut f: impl FnMut(usize, u32)) {
    match &node.op {
        Op::Linear(op) => op.gather.iter().flatten().for_each(|&i| f(0, i)),
        Op::Unit(op) => {
            op.a.iter().for_each(|&i| f(0, i));
            op.b.iter().for_each(|&i| f(1, i));
        }
        Op::Product(op) => {
            op.a.iter().for_each(|&i| f(0, i));
            op.b.iter().for_each(|&i| f(1, i));
        }
        Op::Table(_) => (0..network.tensors[node.inputs[0]].len() as u32).for_each(|i| f(0, i)),
        Op::Gather(_) => {}
    }
}
