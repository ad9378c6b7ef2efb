//! The systematic under-constraint test (issue 14): in the circuits `compile` emits, every
//! advice cell that is not tied to a fixed or public cell, changed on its own (and with its copy
//! class), makes `MockProver` fail; the cells that stay free are listed and shown harmless.
//!
//! The sweep runs on a `MockProver` of an honest witness through the fork's dev-only
//! `CellChecker` (vendor/halo2_proofs/src/dev/cells.rs), which re-checks exactly the checks of
//! `MockProver::verify` that read the changed cells (gate constraints at `row − rotation` for each
//! query of the column, lookup inputs, the copy constraints through the cells). For every usable
//! advice cell (or a seeded sample of them on the larger fixtures in CI):
//!
//! - in a copy class with a fixed or instance cell: *pinned* (a constant or a public value);
//! - in a copy class of advice cells only: changed alone, it breaks a copy constraint by
//!   construction (checked for every such cell through the checker's copy check, and on samples
//!   through `MockProver::verify`); the whole class changed together must break a gate or lookup;
//! - in no copy class: changed alone (to `v + 1`, `v − 1` and a random value) it must break a
//!   gate or lookup.
//!
//! A cell (or class) that stays free must be *unread*: no gate constraint or lookup input at any
//! row depends on it whatever the other advice cells hold (the checker's `readers`, evaluated with
//! random values for every other advice cell), and it is in no copy class with a cell that is
//! read. Such a cell cannot influence any constrained value. A free cell that is read is a
//! soundness finding and fails the test.
//!
//! One property is about direction, which a constraint system does not know: an *operand* cell
//! (a unit's `a` or `b`, a dense tile input, a product factor, a lookup input) that a constraint
//! reads must be wired (copy-constrained to its source), or the prover chooses it — the unwired
//! `b` of issue 14 was read by the unit's gates, so no single change of it went unnoticed, yet it
//! was a free input. The sweep therefore also fails on read operand cells in no copy class.
//!
//! `cargo test --test free_cells -- --ignored --nocapture` runs the full sweep of every fixture
//! and prints the figures (SECURITY.md quotes them).

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;

use ff::Field;
use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::dev::{
    AdviceCell, CellChecker, CellConstraint, MockProver, ReadRandomness, VerifyFailure,
};
use halo2_proofs::plonk::{Advice, Any, Circuit, Column, ConstraintSystem, Error, Selector};
use halo2_proofs::poly::Rotation;
use pasta_curves::Fp;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;
use zkinfer::{
    ClaimSpec, CompileOptions, CompiledModel, QuantizeOptions, Visibility, WeightVisibility,
};
use zkinfer_circuits::layout::Placement;
use zkinfer_circuits::{with_shape, CircuitWitness, NetworkCircuit, Op};

// ---------------------------------------------------------------------------------------------
// The sweep (generic over circuits)

/// What a column is for, from the gates and lookups that query it (see [`role`]).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Role {
    name: String,
    /// An operand: its value must come from a copy constraint when anything reads it.
    operand: bool,
}

/// A lookup lane's columns, before [`sweep`] tells input from output.
const LOOKUP_LANE: &str = "lookup lane";

/// Names a column by what queries it. zkinfer's chips have distinct signatures; an unknown one
/// is named by its signature (and is not treated as an operand).
fn role(gates: &[(&'static str, i32)], lookups: &[(usize, i32)], copy: bool) -> Role {
    let names: BTreeSet<&str> = gates.iter().map(|g| g.0).collect();
    let prev = gates.iter().any(|g| g.1 == -1);
    let names: Vec<&str> = names.into_iter().collect();
    let (name, operand) = match (names.as_slice(), lookups.is_empty(), copy, prev) {
        (["dense mac"], true, true, false) => ("dense tile input x", true),
        (["dense mac"], true, true, true) => ("dense tile accumulator", false),
        (["unit decompose"], true, true, _) => ("unit operand a", true),
        (["unit decompose", "unit output"], true, true, _) => ("unit operand b", true),
        (["unit output"], true, true, _) => ("unit output y", false),
        (["unit remainder"], true, true, _) => ("unit remainder z", false),
        (["unit decompose", "unit digit", "unit output"], true, false, _)
        | (["unit decompose", "unit digit", "unit nonneg", "unit output"], true, false, _) => {
            ("unit quotient digit", false)
        }
        (["unit decompose", "unit digit"], true, false, _)
        | (["unit decompose", "unit digit", "unit remainder"], true, false, _) => {
            ("unit remainder digit", false)
        }
        (["product mac"], true, true, false) => ("product factor", true),
        (["product mac"], true, true, true) => ("product accumulator", false),
        ([], false, true, _) if lookups.len() == 1 => (LOOKUP_LANE, false),
        ([], true, true, _) => ("link column (no gate)", false),
        _ => {
            let mut s: Vec<String> = names.iter().map(|n| n.to_string()).collect();
            if !lookups.is_empty() {
                s.push(format!("lookups {lookups:?}"));
            }
            if copy {
                s.push("copy".into());
            }
            return Role {
                name: format!("[{}]", s.join(", ")),
                operand: false,
            };
        }
    };
    Role {
        name: name.into(),
        operand,
    }
}

/// Free cells of one kind.
#[derive(Clone, Debug, Default)]
struct FreeKind {
    cells: usize,
    /// The first few, as (column, row).
    examples: Vec<(usize, usize)>,
}

/// What the sweep found in one circuit.
#[derive(Debug, Default)]
struct Report {
    name: String,
    k: u32,
    advice_columns: usize,
    /// Advice cells in usable rows.
    cells: usize,
    /// Cells checked (all of them, or the sample).
    checked: usize,
    /// Checked cells in a copy class with a fixed or instance cell.
    pinned: usize,
    /// Checked cells in no copy class, each changed alone.
    alone: usize,
    /// Checked cells in copy classes of advice cells only.
    in_classes: usize,
    /// Copy classes changed as a whole.
    classes: usize,
    /// Free cells (changed alone), by (column role, assigned by the circuit or not).
    free: BTreeMap<(String, bool), FreeKind>,
    /// Free copy classes (changed whole), by the roles of their cells.
    free_classes: BTreeMap<String, usize>,
    /// Soundness findings: free cells or classes that something reads, read operands without a
    /// copy constraint.
    findings: Vec<String>,
    /// Checked operand cells that hold the statement's private values (see [`PrivateValues`]).
    private_values: usize,
    /// Samples cross-checked with a full `MockProver::verify`.
    verified: usize,
    seconds: f64,
    /// Of which: the honest witness's `verify`, the sweep, the samples' `verify`.
    phases: [f64; 3],
}

impl Report {
    fn free_cells(&self) -> usize {
        self.free.values().map(|k| k.cells).sum()
    }

    fn print(&self) {
        println!(
            "{}: k = {}, {} advice columns, {} usable advice cells; {} checked ({} pinned to fixed \
             or public cells, {} alone, {} in {} copy classes of advice cells); {} free cells, {} \
             free classes, {} findings; {} operand cells hold private values; {} samples through \
             MockProver::verify; {:.1} s (verify {:.1} s, sweep {:.1} s, samples {:.1} s)",
            self.name,
            self.k,
            self.advice_columns,
            self.cells,
            self.checked,
            self.pinned,
            self.alone,
            self.in_classes,
            self.classes,
            self.free_cells(),
            self.free_classes.values().sum::<usize>(),
            self.findings.len(),
            self.private_values,
            self.verified,
            self.seconds,
            self.phases[0],
            self.phases[1],
            self.phases[2],
        );
        for ((role, assigned), kind) in &self.free {
            println!(
                "    free: {} cells of {role}, {} (e.g. column {}, row {})",
                kind.cells,
                if *assigned {
                    "assigned"
                } else {
                    "never assigned"
                },
                kind.examples[0].0,
                kind.examples[0].1
            );
        }
        for (roles, count) in &self.free_classes {
            println!("    free: {count} copy classes of {roles}");
        }
        for finding in &self.findings {
            println!("    FINDING: {finding}");
        }
    }
}

/// How many cells to check.
#[derive(Clone, Copy, Debug)]
enum Coverage {
    /// Every usable advice cell and every copy class.
    Full,
    /// `rows` random usable rows of every advice column (seeded), and their classes.
    Sample { rows: usize, seed: u64 },
}

fn value_of(cell: AdviceCell<Fp>) -> Fp {
    match cell {
        AdviceCell::Assigned(v) => v,
        AdviceCell::Unassigned => Fp::ZERO,
        AdviceCell::Unusable => unreachable!("only usable rows are swept"),
    }
}

/// The changes tried: `v + 1`, `v − 1` and `v + shift` (`shift` random, drawn once per sweep).
fn changes(v: Fp, shift: Fp) -> [Fp; 3] {
    [v + Fp::ONE, v - Fp::ONE, v + shift]
}

/// Reads other than copy constraints.
fn constraint_readers(readers: Vec<CellConstraint>) -> Vec<CellConstraint> {
    readers
        .into_iter()
        .filter(|r| !matches!(r, CellConstraint::Copy { .. }))
        .collect()
}

/// The private values of a statement, as unit lanes' operand cells `(lane, row)`: the cells a
/// private or hashed input, or committed weights, live in (each read once, by the range check in
/// front of the network or of the commitment). The prover chooses them by design; they are bound
/// by the commitment (hashed input, committed weights) or by nothing (a private input).
type PrivateValues = BTreeSet<(usize, usize)>;

/// Cells changed together to one value, and what `MockProver::verify` must say.
type Sample = (Vec<(usize, usize)>, Fp, Expect);

/// A copy class's cells, the change that broke nothing (if any), and what reads its cells.
type ClassOutcome = (Vec<(usize, usize)>, Option<Fp>, Vec<CellConstraint>);

/// What the sweep found for one cell.
enum Outcome {
    /// In a copy class with a fixed or instance cell.
    Pinned,
    /// In copy class `class` of advice cells only; whether changing it alone broke a copy
    /// constraint.
    InClass { class: usize, copy_broken: bool },
    /// In no copy class, and some change broke nothing: the change, and what reads the cell.
    Free {
        change: Fp,
        readers: Vec<CellConstraint>,
        assigned: bool,
    },
    /// In no copy class, and every change broke a gate or lookup.
    Constrained,
}

/// Sweeps `prover` (an honest witness's; it must verify).
fn sweep(
    name: &str,
    k: u32,
    prover: MockProver<Fp>,
    private: &PrivateValues,
    coverage: Coverage,
) -> Report {
    let start = Instant::now();
    assert_eq!(
        prover.verify(),
        Ok(()),
        "{name}: the honest witness verifies"
    );
    let verified_at = Instant::now();
    let mut checker = CellChecker::new(prover);
    let mut rng = StdRng::seed_from_u64(match coverage {
        Coverage::Full => 14,
        Coverage::Sample { seed, .. } => seed,
    });
    let usable = checker.prover().usable_rows();
    let columns = checker.prover().advice_columns();
    let mut roles: Vec<Role> = (0..columns)
        .map(|c| {
            let q = checker.column_queries(c);
            role(&q.gates, &q.lookups, q.copy)
        })
        .collect();
    // A lookup lane allocates its input `x`, then its output `y`.
    let mut lane_input = true;
    for r in roles.iter_mut().filter(|r| r.name == LOOKUP_LANE) {
        *r = Role {
            name: if lane_input {
                "lookup input x"
            } else {
                "lookup output y"
            }
            .into(),
            operand: lane_input,
        };
        lane_input = !lane_input;
    }
    // Drawn once: see `CellChecker::read_randomness`.
    let randomness: ReadRandomness<Fp> = checker.read_randomness(&mut rng);
    let shift = Fp::random(&mut rng);
    let operand_a: Vec<usize> = (0..columns)
        .filter(|&c| roles[c].name == "unit operand a")
        .collect();
    let private: BTreeSet<(usize, usize)> = private
        .iter()
        .map(|&(lane, row)| (operand_a[lane], row))
        .collect();
    let cap = match coverage {
        Coverage::Full => 2,
        Coverage::Sample { .. } => 1,
    };

    let classes = checker.prover().copy_classes();
    let mut class_of: HashMap<(usize, usize), usize> = HashMap::new();
    let mut pinned = vec![false; classes.len()];
    for (i, class) in classes.iter().enumerate() {
        for &(column, row) in class {
            match column.column_type() {
                Any::Advice => {
                    class_of.insert((column.index(), row), i);
                }
                Any::Fixed | Any::Instance => pinned[i] = true,
            }
        }
    }

    let cells: Vec<(usize, usize)> = match coverage {
        Coverage::Full => (0..columns)
            .flat_map(|c| usable.clone().map(move |r| (c, r)))
            .collect(),
        Coverage::Sample { rows, .. } => (0..columns)
            .flat_map(|c| {
                let mut picked = BTreeSet::new();
                while picked.len() < rows.min(usable.len()) {
                    picked.insert(rng.random_range(usable.clone()));
                }
                picked.into_iter().map(move |r| (c, r))
            })
            .collect(),
    };

    let mut report = Report {
        name: name.into(),
        k,
        advice_columns: columns,
        cells: columns * usable.len(),
        checked: cells.len(),
        ..Report::default()
    };

    let value = |column: usize, row: usize| value_of(checker.get(column, row));
    let outcomes: Vec<Outcome> = cells
        .par_iter()
        .map(|&(column, row)| {
            let v = value(column, row);
            match class_of.get(&(column, row)) {
                Some(&i) if pinned[i] => Outcome::Pinned,
                Some(&i) => Outcome::InClass {
                    class: i,
                    copy_broken: checker
                        .failures(&[((column, row), v + Fp::ONE)])
                        .iter()
                        .any(|f| matches!(f, CellConstraint::Copy { .. })),
                },
                None => match changes(v, shift)
                    .into_iter()
                    .find(|&change| checker.failures(&[((column, row), change)]).is_empty())
                {
                    Some(change) => Outcome::Free {
                        change,
                        readers: checker.readers(column, row, &randomness),
                        assigned: checker.get(column, row) != AdviceCell::Unassigned,
                    },
                    None => Outcome::Constrained,
                },
            }
        })
        .collect();

    // Samples for the cross-check with `verify`.
    let mut samples: Vec<Sample> = Vec::new();
    let sample = |samples: &mut Vec<Sample>, cells: Vec<(usize, usize)>, change, expect| {
        if samples.iter().filter(|s| s.2 == expect).count() < cap {
            samples.push((cells, change, expect));
        }
    };
    let mut classes_to_check = BTreeSet::new();
    for (&(column, row), outcome) in cells.iter().zip(outcomes) {
        let role = &roles[column];
        match outcome {
            Outcome::Pinned => report.pinned += 1,
            Outcome::InClass { class, copy_broken } => {
                report.in_classes += 1;
                classes_to_check.insert(class);
                assert!(
                    copy_broken,
                    "{name}: cell ({column}, {row}) of a copy class changed alone keeps every \
                     copy constraint"
                );
                let change = value(column, row) + Fp::ONE;
                sample(&mut samples, vec![(column, row)], change, Expect::Copy);
            }
            Outcome::Free {
                change,
                readers,
                assigned,
            } => {
                report.alone += 1;
                if readers.is_empty() {
                    let kind = report
                        .free
                        .entry((role.name.clone(), assigned))
                        .or_default();
                    kind.cells += 1;
                    if kind.examples.len() < 3 {
                        kind.examples.push((column, row));
                    }
                    sample(&mut samples, vec![(column, row)], change, Expect::Pass);
                } else {
                    report.findings.push(format!(
                        "cell ({column}, {row}) of {} can change to {change:?} alone, yet \
                         {readers:?} read it",
                        role.name
                    ));
                }
            }
            Outcome::Constrained => {
                report.alone += 1;
                let change = value(column, row) + Fp::ONE;
                sample(&mut samples, vec![(column, row)], change, Expect::Fail);
                if private.contains(&(column, row)) {
                    report.private_values += 1;
                } else if role.operand {
                    // Read (a change broke something), yet wired to nothing.
                    report.findings.push(format!(
                        "operand cell ({column}, {row}) of {} is read but copied from nothing: \
                         the prover chooses it",
                        role.name
                    ));
                }
            }
        }
    }

    let classes_to_check: Vec<usize> = classes_to_check.into_iter().collect();
    report.classes = classes_to_check.len();
    let class_outcomes: Vec<ClassOutcome> = classes_to_check
        .par_iter()
        .map(|&i| {
            let members: Vec<(usize, usize)> =
                classes[i].iter().map(|&(c, r)| (c.index(), r)).collect();
            let v = value(members[0].0, members[0].1);
            let free = changes(v, shift).into_iter().find(|&change| {
                let changed: Vec<_> = members.iter().map(|&m| (m, change)).collect();
                let failures = checker.failures(&changed);
                assert!(
                    !failures
                        .iter()
                        .any(|f| matches!(f, CellConstraint::Copy { .. })),
                    "{name}: a whole class changed breaks no copy constraint"
                );
                failures.is_empty()
            });
            let read = match free {
                Some(_) => members
                    .iter()
                    .flat_map(|&(c, r)| constraint_readers(checker.readers(c, r, &randomness)))
                    .collect(),
                None => Vec::new(),
            };
            (members, free, read)
        })
        .collect();
    for (members, free, read) in class_outcomes {
        let names: BTreeSet<&str> = members
            .iter()
            .map(|&(c, _)| roles[c].name.as_str())
            .collect();
        let names = names.into_iter().collect::<Vec<_>>().join(" + ");
        match free {
            Some(change) if read.is_empty() => {
                *report.free_classes.entry(names).or_default() += 1;
                sample(&mut samples, members, change, Expect::Pass);
            }
            Some(change) => report.findings.push(format!(
                "copy class {members:?} ({names}) can change to {change:?}, yet {read:?} read it"
            )),
            None => {
                let change = value(members[0].0, members[0].1) + Fp::ONE;
                sample(&mut samples, members, change, Expect::ClassFail);
            }
        }
    }

    let swept_at = Instant::now();
    // The checker against the real thing: each sample through `MockProver::verify`.
    for (cells, change, expect) in samples {
        let before: Vec<AdviceCell<Fp>> = cells.iter().map(|&(c, r)| checker.get(c, r)).collect();
        for &(c, r) in &cells {
            checker.set(c, r, AdviceCell::Assigned(change));
        }
        let result = checker.prover().verify();
        for (&(c, r), &b) in cells.iter().zip(&before) {
            checker.set(c, r, b);
        }
        let copy_failure = |f: &VerifyFailure| matches!(f, VerifyFailure::Permutation { .. });
        match (expect, &result) {
            (Expect::Pass, Ok(())) => {}
            (Expect::Fail, Err(_)) => {}
            (Expect::Copy, Err(f)) if f.iter().any(copy_failure) => {}
            (Expect::ClassFail, Err(f)) if !f.iter().any(copy_failure) => {}
            _ => panic!(
                "{name}: {cells:?} changed to {change:?}: expected {expect:?}, verify gave \
                 {result:?}"
            ),
        }
        report.verified += 1;
    }
    report.seconds = start.elapsed().as_secs_f64();
    report.phases = [
        verified_at - start,
        swept_at - verified_at,
        swept_at.elapsed(),
    ]
    .map(|d| d.as_secs_f64());
    report
}

/// What `MockProver::verify` must say of a sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// A free cell or class changed: satisfied.
    Pass,
    /// A constrained cell changed alone: some failure.
    Fail,
    /// A cell of a copy class changed alone: a copy-constraint failure.
    Copy,
    /// A whole class changed: failures, none of them a copy constraint.
    ClassFail,
}

// ---------------------------------------------------------------------------------------------
// The compiled fixtures

/// A MockProver of `compiled`'s circuit on `witness`.
fn mock(compiled: &CompiledModel, witness: CircuitWitness) -> MockProver<Fp> {
    let instances = witness.instances(compiled.layout());
    with_shape!(compiled.shape, S => {
        let circuit = NetworkCircuit::<S>::new(compiled.network().clone(), compiled.layout().clone())
            .with_witness(Arc::new(witness));
        MockProver::run(compiled.k, &circuit, instances).unwrap()
    })
}

/// A fixture compiled with `quantize` and `options` (no float reference), and its first input
/// quantised.
fn compiled(
    dir: &str,
    quantize: QuantizeOptions,
    options: CompileOptions,
) -> (Arc<CompiledModel>, Vec<i64>) {
    let model = common::model(dir);
    let len = model.graph().input().len();
    let calibration = common::samples(dir, "calibration.json", len);
    let quantized = model.quantize(&calibration, quantize).unwrap();
    let compiled = CompiledModel::new(quantized, options).unwrap();
    let sample = &common::samples(dir, "input.json", len)[0];
    let input = compiled.model.quantize_input(0, sample).unwrap();
    (Arc::new(compiled), input)
}

/// The unit operand cells `(lane, row)` of `compiled`'s circuit that hold a private input's or
/// committed weights' values (see [`PrivateValues`]).
fn private_values(compiled: &CompiledModel) -> PrivateValues {
    let network = compiled.network();
    let layout = compiled.layout();
    let private: Vec<_> = (!network.input_public())
        .then_some(network.input)
        .into_iter()
        .chain(network.params.as_ref().map(|p| p.tensor))
        .collect();
    let mut cells = BTreeSet::new();
    for &tensor in &private {
        // Each private value is operand `a` of exactly one unit (its range check) and read by
        // nothing else, or different operators could see different values.
        let mut reads = vec![0usize; network.tensors[tensor].len()];
        for (node, placement) in network.nodes.iter().zip(&layout.placements) {
            if !node.inputs.contains(&tensor) {
                continue;
            }
            let (Op::Unit(op), &Placement::Unit { first_slot }) = (&node.op, placement) else {
                panic!(
                    "{}: a private value is read by a {}",
                    node.name,
                    node.op.kind_name()
                )
            };
            assert_eq!(node.inputs, [tensor], "{}", node.name);
            for (i, &a) in op.a.iter().enumerate() {
                reads[a as usize] += 1;
                let (row, lane) = layout.unit_slot(first_slot + i);
                cells.insert((lane, row));
            }
        }
        // (A slice that does not read the model's input has it, unread, as a private input.)
        let once = |&r: &usize| r == 1 || (r == 0 && network.links.is_some());
        assert!(
            reads.iter().all(once),
            "private values read {reads:?} times"
        );
    }
    cells
}

/// A circuit to sweep: its name, `k`, a `MockProver` of an honest witness, and its private
/// values.
type Swept = (String, u32, MockProver<Fp>, PrivateValues);

/// The circuits to sweep, by name.
fn circuits(name: &str) -> Vec<Swept> {
    let whole = |compiled: &CompiledModel, input: &[i64]| {
        let (_, witness) = compiled.witness(input).unwrap();
        (mock(compiled, witness), private_values(compiled))
    };
    let plain = |dir: &str| {
        let (compiled, input) =
            compiled(dir, QuantizeOptions::default(), CompileOptions::default());
        let (prover, private) = whole(&compiled, &input);
        vec![(dir.to_string(), compiled.k, prover, private)]
    };
    match name {
        "hashed" => {
            let (compiled, input) = compiled(
                "mlp_64_32_10",
                QuantizeOptions::default(),
                CompileOptions {
                    input: Visibility::Hashed,
                    output: Visibility::Hashed,
                    ..CompileOptions::default()
                },
            );
            let (prover, private) = whole(&compiled, &input);
            let name = "mlp_64_32_10, hashed input and output";
            vec![(name.into(), compiled.k, prover, private)]
        }
        "private" => {
            let (compiled, input) = compiled(
                "mlp_64_32_10",
                QuantizeOptions::default(),
                CompileOptions {
                    input: Visibility::Private,
                    output: Visibility::Private,
                    ..CompileOptions::default()
                },
            );
            let (prover, private) = whole(&compiled, &input);
            let name = "mlp_64_32_10, private input and output";
            vec![(name.into(), compiled.k, prover, private)]
        }
        "committed" => {
            let (compiled, input) = compiled(
                "mlp_64_32_10",
                QuantizeOptions {
                    weight_bits: 11,
                    ..QuantizeOptions::default()
                },
                CompileOptions {
                    weights: WeightVisibility::Committed,
                    ..CompileOptions::default()
                },
            );
            let (prover, private) = whole(&compiled, &input);
            let name = "mlp_64_32_10, committed weights";
            vec![(name.into(), compiled.k, prover, private)]
        }
        "claims" => {
            let (compiled, input) = compiled(
                "mlp_64_32_10",
                QuantizeOptions::default(),
                CompileOptions::default(),
            );
            let output = compiled
                .network()
                .forward(&input)
                .unwrap()
                .output()
                .to_vec();
            let scale = compiled.model.output_scale;
            let threshold = (output[4] as f64 - 0.5) * 2f64.powi(-scale);
            [
                ClaimSpec::Argmax,
                ClaimSpec::TopK(3),
                ClaimSpec::AtLeast {
                    index: 4,
                    value: threshold,
                },
            ]
            .into_iter()
            .map(|spec| {
                let claim = spec.resolve(&output, scale).unwrap();
                let circuit = compiled.with_claim(&claim).unwrap();
                let (prover, private) = whole(&circuit, &input);
                let name = format!("mlp_64_32_10, claim {claim}");
                (name, circuit.k, prover, private)
            })
            .collect()
        }
        "sliced" => {
            let (compiled, input) = compiled(
                "mlp_64_32_10",
                QuantizeOptions::default(),
                CompileOptions {
                    slices: Some(3),
                    ..CompileOptions::default()
                },
            );
            let sliced = compiled.sliced().expect("sliced");
            let values = sliced.network.forward(&input).unwrap().values;
            sliced
                .slices
                .iter()
                .enumerate()
                .map(|(i, slice)| {
                    let link_in = sliced.slicing.link_in_values(i, &values);
                    let trace = slice.network().forward_linked(&input, &link_in).unwrap();
                    let witness =
                        CircuitWitness::new(slice.network(), slice.layout(), &trace).unwrap();
                    (
                        format!("mlp_64_32_10, slice {} of {}", i + 1, sliced.len()),
                        slice.k,
                        mock(slice, witness),
                        private_values(slice),
                    )
                })
                .collect()
        }
        dir => plain(dir),
    }
}

fn run(name: &str, coverage: Coverage) -> Vec<Report> {
    circuits(name)
        .into_iter()
        .map(|(label, k, prover, private)| {
            let report = sweep(&label, k, prover, &private, coverage);
            report.print();
            report
        })
        .collect()
}

/// Fails on any finding, and on a sweep that checked nothing.
fn assert_sound(reports: &[Report]) {
    for r in reports {
        assert!(
            r.alone > 0 && r.classes > 0,
            "{}: nothing was checked",
            r.name
        );
        assert!(r.findings.is_empty(), "{}: {:#?}", r.name, r.findings);
    }
}

/// Rows per column checked in CI on the larger fixtures (`k` ≥ 11).
const SAMPLE_ROWS: usize = 24;

fn sampled(seed: u64) -> Coverage {
    Coverage::Sample {
        rows: SAMPLE_ROWS,
        seed,
    }
}

#[test]
fn mlp_full_sweep() {
    assert_sound(&run("mlp_64_32_10", Coverage::Full));
}

#[test]
fn claims_full_sweep() {
    assert_sound(&run("claims", Coverage::Full));
}

#[test]
fn sliced_full_sweep() {
    assert_sound(&run("sliced", Coverage::Full));
}

#[test]
fn hashed_input_and_output_full_sweep() {
    assert_sound(&run("hashed", Coverage::Full));
}

#[test]
fn private_input_and_output_full_sweep() {
    assert_sound(&run("private", Coverage::Full));
}

#[test]
fn committed_weights_sampled() {
    assert_sound(&run("committed", sampled(1402)));
}

#[test]
fn lenet5_sampled() {
    assert_sound(&run("lenet5", sampled(1403)));
}

#[test]
fn transformer_block_sampled() {
    assert_sound(&run("transformer_block", sampled(1404)));
}

#[test]
fn resnet_small_sampled() {
    assert_sound(&run("resnet_small", sampled(1405)));
}

#[test]
#[ignore = "the full sweep of every fixture; run with --ignored --nocapture for the figures"]
fn every_fixture_full_sweep() {
    let mut all = Vec::new();
    for name in [
        "mlp_64_32_10",
        "lenet5",
        "transformer_block",
        "resnet_small",
        "hashed",
        "private",
        "committed",
        "claims",
        "sliced",
    ] {
        all.extend(run(name, Coverage::Full));
    }
    assert_sound(&all);
}

// ---------------------------------------------------------------------------------------------
// The sweep can fail

/// A small circuit with one cell of every kind the sweep distinguishes: `c = a·b` (all
/// constrained), `d` read by `d·(d − 1) = 0` only (free to flip between 0 and 1: a finding),
/// `e` assigned and read by nothing (free and harmless), `f`, `g` copies of each other read by
/// nothing (a free, harmless class), `h` a copy of `c` (a class the gate pins).
#[derive(Clone, Default)]
struct Loose;

#[derive(Clone, Debug)]
struct LooseConfig {
    a: Column<Advice>,
    b: Column<Advice>,
    c: Column<Advice>,
    d: Column<Advice>,
    e: Column<Advice>,
    s: Selector,
}

impl Circuit<Fp> for Loose {
    type Config = LooseConfig;
    type FloorPlanner = SimpleFloorPlanner;
    fn without_witnesses(&self) -> Self {
        Self
    }
    fn configure(meta: &mut ConstraintSystem<Fp>) -> LooseConfig {
        let [a, b, c, d, e] = [(); 5].map(|_| meta.advice_column());
        let s = meta.selector();
        for column in [c, e] {
            meta.enable_equality(column);
        }
        meta.create_gate("mul", |meta| {
            let s = meta.query_selector(s);
            let [a, b, c] = [a, b, c].map(|x| meta.query_advice(x, Rotation::cur()));
            vec![s * (a * b - c)]
        });
        meta.create_gate("bit", |meta| {
            let s = meta.query_selector(s);
            let d = meta.query_advice(d, Rotation::cur());
            vec![s * d.clone() * (d - halo2_proofs::plonk::Expression::Constant(Fp::ONE))]
        });
        LooseConfig { a, b, c, d, e, s }
    }
    fn synthesize(&self, cfg: LooseConfig, mut layouter: impl Layouter<Fp>) -> Result<(), Error> {
        layouter.assign_region(
            || "loose",
            |mut region| {
                cfg.s.enable(&mut region, 0)?;
                let v = |x: u64| Value::known(Fp::from(x));
                region.assign_advice(|| "a", cfg.a, 0, || v(2))?;
                region.assign_advice(|| "b", cfg.b, 0, || v(3))?;
                let c = region.assign_advice(|| "c", cfg.c, 0, || v(6))?;
                region.assign_advice(|| "d", cfg.d, 0, || v(1))?;
                region.assign_advice(|| "e", cfg.e, 0, || v(5))?;
                let f = region.assign_advice(|| "f", cfg.e, 1, || v(7))?;
                let g = region.assign_advice(|| "g", cfg.e, 2, || v(7))?;
                region.constrain_equal(f.cell(), g.cell())?;
                let h = region.assign_advice(|| "h", cfg.c, 1, || v(6))?;
                region.constrain_equal(c.cell(), h.cell())?;
                Ok(())
            },
        )
    }
}

#[test]
fn a_deliberately_loose_cell_is_found() {
    let prover = MockProver::run(4, &Loose, vec![]).unwrap();
    let report = sweep("loose", 4, prover, &PrivateValues::new(), Coverage::Full);
    report.print();
    // d (column 3, row 0) is the only finding.
    assert_eq!(report.findings.len(), 1, "{:#?}", report.findings);
    assert!(report.findings[0].starts_with("cell (3, 0) of [bit]"));
    // e is free and unread; so is the class {f, g}; {c, h} is pinned by the gate.
    let assigned_free: usize = report
        .free
        .iter()
        .filter(|((_, assigned), _)| *assigned)
        .map(|(_, k)| k.cells)
        .sum();
    assert_eq!(assigned_free, 1, "{:#?}", report.free);
    assert_eq!(report.free_classes.values().sum::<usize>(), 1);
    assert_eq!(report.classes, 2);
}

/// The unwired operand of issue 14, rebuilt: a unary unit of the compiled MLP whose kind also
/// reads `b` (`out_b = 1`), its `b` cell copied from nothing. Its forward pass (which takes `b`
/// as 0) and so its witness are unchanged; `validate` refuses such a network, but the circuit is
/// built here directly. The sweep must report the `b` cells it reads.
#[test]
fn an_unwired_operand_is_found() {
    let (compiled, input) = compiled(
        "mlp_64_32_10",
        QuantizeOptions::default(),
        CompileOptions::default(),
    );
    let (trace, _) = compiled.witness(&input).unwrap();
    let mut network = (**compiled.network()).clone();
    let node = network
        .nodes
        .iter()
        .position(|n| matches!(&n.op, Op::Unit(u) if u.b.is_empty()))
        .expect("a unary unit");
    let Op::Unit(op) = &mut network.nodes[node].op else {
        unreachable!()
    };
    for kind in &mut op.kinds {
        kind.out_b = 1;
    }
    let units = op.len();
    let network = Arc::new(network);
    let witness = CircuitWitness::new(&network, compiled.layout(), &trace).unwrap();
    let instances = witness.instances(compiled.layout());
    let prover = with_shape!(compiled.shape, S => {
        let circuit = NetworkCircuit::<S>::new(network.clone(), compiled.layout().clone())
            .with_witness(Arc::new(witness));
        MockProver::run(compiled.k, &circuit, instances).unwrap()
    });
    let report = sweep(
        "mlp_64_32_10, unwired b",
        compiled.k,
        prover,
        &PrivateValues::new(),
        Coverage::Full,
    );
    let unwired = report
        .findings
        .iter()
        .filter(|f| f.contains("unit operand b is read but copied from nothing"))
        .count();
    assert_eq!(unwired, units, "{:#?}", report.findings);
    assert_eq!(report.findings.len(), units, "{:#?}", report.findings);
}
