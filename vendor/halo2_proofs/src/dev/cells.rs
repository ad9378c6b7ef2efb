//! zkinfer patch (new module, `MockProver` only): cell-level access to a [`MockProver`]'s
//! assignment, for under-constraint sweeps.
//!
//! Checking that every advice cell is constrained by running [`MockProver::verify`] once per
//! changed cell costs a whole verification per cell. A [`CellChecker`] owns a `MockProver` and
//! re-checks only what can read given cells: every gate constraint at the rows whose queries
//! land on them (row `r − rotation` for each query of the cell's column at `rotation`), every
//! lookup whose input expressions land on them (at usable rows, as `verify` checks inputs), and
//! the copy constraints through them (the cell against its successor and predecessor in its
//! copy cycle). Those are exactly the checks of `verify` whose outcome a change to the cells can
//! alter, evaluated as `verify` evaluates them; nothing here is on the prover's or verifier's
//! path.

use std::collections::HashMap;

use ff::Field;
use pasta_curves::arithmetic::VartimeField;

use super::{util, CellValue, MockProver, Value};
use crate::plonk::{Any, Column, Expression};

/// The state of an advice cell of a [`MockProver`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdviceCell<F> {
    /// Never assigned by the circuit (read as zero, as the real prover's advice vectors hold).
    Unassigned,
    /// Assigned this value.
    Assigned(F),
    /// A row past the usable rows (blinding factors and the last row).
    Unusable,
}

/// A constraint of the circuit at one place.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CellConstraint {
    /// Constraint `constraint` of gate `gate` (named `name`), at `row`.
    Gate {
        /// The gate's index.
        gate: usize,
        /// The gate's name.
        name: &'static str,
        /// The constraint's index within the gate.
        constraint: usize,
        /// The row the gate is evaluated at.
        row: usize,
    },
    /// Lookup `lookup`, its input at `row`.
    Lookup {
        /// The lookup's index.
        lookup: usize,
        /// The input row.
        row: usize,
    },
    /// The copy constraint from the cell at `column`, `row` to the next cell of its cycle.
    Copy {
        /// The cell's column.
        column: Column<Any>,
        /// The cell's row.
        row: usize,
    },
}

/// A lookup's table, as `verify` builds it (the table expressions read no advice).
#[derive(Debug)]
struct Table<F: Field> {
    fill_row: Vec<Value<F>>,
    rows: Vec<Vec<Value<F>>>,
}

/// zkinfer patch: what queries an advice column (see [`CellChecker::column_queries`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnQueries {
    /// `(gate name, rotation)` for every gate that queries it (each once).
    pub gates: Vec<(&'static str, i32)>,
    /// `(lookup, rotation)` for every lookup whose input queries it (each once).
    pub lookups: Vec<(usize, i32)>,
    /// Whether it takes part in copy constraints.
    pub copy: bool,
}

/// zkinfer patch: random values for [`CellChecker::readers`].
#[derive(Clone, Debug)]
pub struct ReadRandomness<F> {
    others: Vec<F>,
    x: [F; 2],
}

/// A [`MockProver`] with an index of which constraints read which advice columns.
#[derive(Debug)]
pub struct CellChecker<F: Field> {
    prover: MockProver<F>,
    /// Per advice column: `(rotation, gate, constraint)` for every constraint querying it.
    gate_readers: Vec<Vec<(i32, usize, usize)>>,
    /// Per advice column: `(rotation, lookup)` for every lookup whose input queries it.
    lookup_readers: Vec<Vec<(i32, usize)>>,
    /// Per lookup: its table, unless the table expressions query advice (then rebuilt per
    /// check).
    tables: Vec<Option<Table<F>>>,
    /// The permutation's columns.
    permutation_columns: Vec<Column<Any>>,
    /// Per advice column: its index among the permutation's columns.
    permutation_index: Vec<Option<usize>>,
    /// The permutation's cycles backwards: `inverse[column][row]` maps to `(column, row)`.
    inverse: Vec<Vec<(usize, usize)>>,
}

fn advice_queries<F: Field>(expression: &Expression<F>, out: &mut Vec<(usize, i32)>) {
    match expression {
        Expression::Advice(query) => out.push((query.column_index, query.rotation.0)),
        Expression::Negated(a) | Expression::Scaled(a, _) => advice_queries(a, out),
        Expression::Sum(a, b) | Expression::Product(a, b) => {
            advice_queries(a, out);
            advice_queries(b, out);
        }
        Expression::Constant(_)
        | Expression::Selector(_)
        | Expression::Fixed(_)
        | Expression::Instance(_) => {}
    }
}

impl<F: VartimeField + Ord> MockProver<F> {
    /// zkinfer patch: the rows circuits may assign (every row but the blinding rows and the
    /// last).
    pub fn usable_rows(&self) -> std::ops::Range<usize> {
        self.usable_rows.clone()
    }

    /// zkinfer patch: the number of advice columns.
    pub fn advice_columns(&self) -> usize {
        self.advice.len()
    }

    /// zkinfer patch: the state of advice cell `column`, `row`.
    pub fn advice_cell(&self, column: usize, row: usize) -> AdviceCell<F> {
        match self.advice[column][row] {
            CellValue::Unassigned => AdviceCell::Unassigned,
            CellValue::Assigned(v) => AdviceCell::Assigned(v),
            CellValue::Poison(_) => AdviceCell::Unusable,
        }
    }

    /// zkinfer patch: sets advice cell `column`, `row` (a usable row) to `cell`, as if the
    /// circuit had assigned it so (or left it unassigned).
    pub fn set_advice_cell(&mut self, column: usize, row: usize, cell: AdviceCell<F>) {
        assert!(self.usable_rows.contains(&row), "row {row} is not usable");
        self.advice[column][row] = match cell {
            AdviceCell::Unassigned => CellValue::Unassigned,
            AdviceCell::Assigned(v) => CellValue::Assigned(v),
            AdviceCell::Unusable => panic!("a usable row cannot be made unusable"),
        };
    }

    /// zkinfer patch: the copy classes of the circuit with at least two cells (every cell of a
    /// class must hold the same value), each in cycle order.
    pub fn copy_classes(&self) -> Vec<Vec<(Column<Any>, usize)>> {
        let columns = self.cs.permutation.get_columns();
        let mapping = &self.permutation.mapping;
        let mut seen: Vec<Vec<bool>> = mapping.iter().map(|c| vec![false; c.len()]).collect();
        let mut classes = Vec::new();
        for (column, rows) in mapping.iter().enumerate() {
            for (row, &next) in rows.iter().enumerate() {
                if seen[column][row] || next == (column, row) {
                    continue;
                }
                let mut class = Vec::new();
                let mut at = (column, row);
                while !seen[at.0][at.1] {
                    seen[at.0][at.1] = true;
                    class.push((columns[at.0], at.1));
                    at = mapping[at.0][at.1];
                }
                classes.push(class);
            }
        }
        classes
    }

    fn permutation_cell(
        &self,
        columns: &[Column<Any>],
        (column, row): (usize, usize),
    ) -> CellValue<F> {
        let c = columns[column];
        match c.column_type() {
            Any::Advice => self.advice[c.index()][row],
            Any::Fixed => self.fixed[c.index()][row],
            Any::Instance => CellValue::Assigned(self.instance[c.index()][row].value()),
        }
    }
}

impl<F: VartimeField + Ord> CellChecker<F> {
    /// zkinfer patch: indexes `prover`'s constraints by the advice columns they read.
    pub fn new(prover: MockProver<F>) -> Self {
        let columns = prover.cs.num_advice_columns;
        let mut gate_readers = vec![Vec::new(); columns];
        for (g, gate) in prover.cs.gates.iter().enumerate() {
            for (p, poly) in gate.polynomials().iter().enumerate() {
                let mut queries = Vec::new();
                advice_queries(poly, &mut queries);
                queries.sort_unstable();
                queries.dedup();
                for (column, rotation) in queries {
                    gate_readers[column].push((rotation, g, p));
                }
            }
        }
        let mut lookup_readers = vec![Vec::new(); columns];
        let mut tables = Vec::new();
        for (l, lookup) in prover.cs.lookups.iter().enumerate() {
            let mut queries = Vec::new();
            for e in &lookup.input_expressions {
                advice_queries(e, &mut queries);
            }
            queries.sort_unstable();
            queries.dedup();
            for (column, rotation) in queries {
                lookup_readers[column].push((rotation, l));
            }
            let mut table_queries = Vec::new();
            for e in &lookup.table_expressions {
                advice_queries(e, &mut table_queries);
            }
            tables.push(table_queries.is_empty().then(|| prover.table(l, &[])));
        }
        let permutation_columns = prover.cs.permutation.get_columns();
        let mut permutation_index = vec![None; columns];
        for (i, c) in permutation_columns.iter().enumerate() {
            if *c.column_type() == Any::Advice {
                permutation_index[c.index()] = Some(i);
            }
        }
        let mapping = &prover.permutation.mapping;
        let mut inverse: Vec<Vec<(usize, usize)>> = mapping
            .iter()
            .enumerate()
            .map(|(c, rows)| (0..rows.len()).map(|r| (c, r)).collect())
            .collect();
        for (c, rows) in mapping.iter().enumerate() {
            for (r, &(nc, nr)) in rows.iter().enumerate() {
                inverse[nc][nr] = (c, r);
            }
        }
        CellChecker {
            prover,
            gate_readers,
            lookup_readers,
            tables,
            permutation_columns,
            permutation_index,
            inverse,
        }
    }

    /// zkinfer patch: the prover (for [`MockProver::verify`] of the current assignment).
    pub fn prover(&self) -> &MockProver<F> {
        &self.prover
    }

    /// zkinfer patch: the prover back.
    pub fn into_prover(self) -> MockProver<F> {
        self.prover
    }

    /// zkinfer patch: what queries advice `column`.
    pub fn column_queries(&self, column: usize) -> ColumnQueries {
        let mut gates: Vec<_> = self.gate_readers[column]
            .iter()
            .map(|&(rotation, g, _)| (self.prover.cs.gates[g].name(), rotation))
            .collect();
        gates.sort_unstable();
        gates.dedup();
        let mut lookups: Vec<_> = self.lookup_readers[column]
            .iter()
            .map(|&(rotation, l)| (l, rotation))
            .collect();
        lookups.sort_unstable();
        lookups.dedup();
        ColumnQueries {
            gates,
            lookups,
            copy: self.permutation_index[column].is_some(),
        }
    }

    /// zkinfer patch: [`MockProver::advice_cell`].
    pub fn get(&self, column: usize, row: usize) -> AdviceCell<F> {
        self.prover.advice_cell(column, row)
    }

    /// zkinfer patch: [`MockProver::set_advice_cell`].
    pub fn set(&mut self, column: usize, row: usize, cell: AdviceCell<F>) {
        self.prover.set_advice_cell(column, row, cell)
    }

    /// zkinfer patch: the gate constraints, lookups and copy constraints that read any of the
    /// advice cells `changes` names (`((column, row), value)`, usable rows) and fail when those
    /// cells hold the given values instead of the prover's, as `verify` would report them.
    /// Empty if every check `verify` makes that reads these cells passes. The prover is not
    /// changed (so cells can be checked from several threads). (`verify` also requires the
    /// cells an enabled gate queries to be assigned; that is not re-checked here.)
    pub fn failures(&self, changes: &[((usize, usize), F)]) -> Vec<CellConstraint> {
        let p = &self.prover;
        let n = p.n as i32;
        let mut changes = changes.to_vec();
        changes.sort_unstable_by_key(|c| c.0);
        let changes = &changes[..];
        let mut gates = Vec::new();
        let mut lookups = Vec::new();
        for &((column, row), _) in changes {
            assert!(p.usable_rows.contains(&row), "row {row} is not usable");
            for &(rotation, g, c) in &self.gate_readers[column] {
                gates.push((g, c, (row as i32 - rotation).rem_euclid(n) as usize));
            }
            for &(rotation, l) in &self.lookup_readers[column] {
                let at = (row as i32 - rotation).rem_euclid(n) as usize;
                if p.usable_rows.contains(&at) {
                    lookups.push((l, at));
                }
            }
        }
        gates.sort_unstable();
        gates.dedup();
        lookups.sort_unstable();
        lookups.dedup();
        let mut failures = Vec::new();
        for (g, c, row) in gates {
            let gate = &p.cs.gates[g];
            let poly = &gate.polynomials()[c];
            match p.evaluate_changed(poly, row, changes) {
                Value::Real(x) if x.is_zero_vartime() => {}
                _ => failures.push(CellConstraint::Gate {
                    gate: g,
                    name: gate.name(),
                    constraint: c,
                    row,
                }),
            }
        }
        let mut rebuilt: HashMap<usize, Table<F>> = HashMap::new();
        for (l, row) in lookups {
            let table = match &self.tables[l] {
                Some(table) => table,
                None => rebuilt.entry(l).or_insert_with(|| p.table(l, changes)),
            };
            let input: Vec<_> = p.cs.lookups[l]
                .input_expressions
                .iter()
                .map(|e| p.evaluate_changed(e, row, changes))
                .collect();
            if input != table.fill_row && table.rows.binary_search(&input).is_err() {
                failures.push(CellConstraint::Lookup { lookup: l, row });
            }
        }
        let mut copies = Vec::new();
        for &((column, row), _) in changes {
            if let Some(i) = self.permutation_index[column] {
                copies.push(self.inverse[i][row]);
                copies.push((i, row));
            }
        }
        copies.sort_unstable();
        copies.dedup();
        let cell = |(c, row): (usize, usize)| {
            let column = self.permutation_columns[c];
            if *column.column_type() == Any::Advice {
                if let Ok(i) = changes.binary_search_by_key(&(column.index(), row), |c| c.0) {
                    return CellValue::Assigned(changes[i].1);
                }
            }
            p.permutation_cell(&self.permutation_columns, (c, row))
        };
        for (c, row) in copies {
            if cell((c, row)) != cell(p.permutation.mapping[c][row]) {
                failures.push(CellConstraint::Copy {
                    column: self.permutation_columns[c],
                    row,
                });
            }
        }
        failures
    }

    /// zkinfer patch: random values for [`CellChecker::readers`]: one per advice query of the
    /// circuit, and two for the cell itself. They may be drawn once and used for every cell
    /// (each test is a fixed polynomial identity at a point drawn independently of it; the
    /// probability that any of them errs is at most their number times the degree over the
    /// field's size).
    pub fn read_randomness<R: rand_core::Rng + ?Sized>(&self, rng: &mut R) -> ReadRandomness<F> {
        ReadRandomness {
            others: (0..self.prover.cs.advice_queries.len())
                .map(|_| F::random(&mut *rng))
                .collect(),
            x: [F::random(&mut *rng), F::random(&mut *rng)],
        }
    }

    /// zkinfer patch: the constraints whose value depends on advice cell `column`, `row`,
    /// whatever the other advice cells hold: each gate constraint and lookup input that queries
    /// the cell is evaluated with the key's fixed values, the instance values, random values
    /// for every other advice cell it queries, and two random values for this cell; it reads
    /// the cell if the two results differ (a constraint that does depend on the cell is missed
    /// with probability at most its degree over the field's size). A copy constraint reads the
    /// cell if the cell's copy class has another cell. Empty: nothing the verifier checks can
    /// see the cell.
    pub fn readers(
        &self,
        column: usize,
        row: usize,
        randomness: &ReadRandomness<F>,
    ) -> Vec<CellConstraint> {
        let p = &self.prover;
        let n = p.n as i32;
        let mut readers = Vec::new();
        let others = &randomness.others;
        assert_eq!(
            others.len(),
            p.cs.advice_queries.len(),
            "randomness of another circuit"
        );
        let [x1, x2] = randomness.x;
        let evaluate = |e: &Expression<F>, at: usize, x: F| {
            let load = |index: usize| {
                let (c, rotation) = p.cs.advice_queries[index];
                let r = (at as i32 + rotation.0).rem_euclid(n) as usize;
                if c.index() == column && r == row {
                    x
                } else {
                    others[index]
                }
            };
            p.evaluate_with(e, at, &|q| Value::Real(load(q.index)))
        };
        for &(rotation, g, c) in &self.gate_readers[column] {
            let at = (row as i32 - rotation).rem_euclid(n) as usize;
            let gate = &p.cs.gates[g];
            let poly = &gate.polynomials()[c];
            if evaluate(poly, at, x1) != evaluate(poly, at, x2) {
                readers.push(CellConstraint::Gate {
                    gate: g,
                    name: gate.name(),
                    constraint: c,
                    row: at,
                });
            }
        }
        for &(rotation, l) in &self.lookup_readers[column] {
            let at = (row as i32 - rotation).rem_euclid(n) as usize;
            if !p.usable_rows.contains(&at) {
                continue;
            }
            let inputs = &p.cs.lookups[l].input_expressions;
            if inputs
                .iter()
                .any(|e| evaluate(e, at, x1) != evaluate(e, at, x2))
            {
                readers.push(CellConstraint::Lookup { lookup: l, row: at });
            }
        }
        if let Some(i) = self.permutation_index[column] {
            if p.permutation.mapping[i][row] != (i, row) {
                readers.push(CellConstraint::Copy {
                    column: self.permutation_columns[i],
                    row,
                });
            }
        }
        readers
    }
}

impl<F: VartimeField + Ord> MockProver<F> {
    /// `e` at `row` as `verify` evaluates it, with the advice cells of `changes` (sorted by
    /// cell) holding the given values.
    fn evaluate_changed(
        &self,
        e: &Expression<F>,
        row: usize,
        changes: &[((usize, usize), F)],
    ) -> Value<F> {
        let n = self.n as i32;
        let advice = |query: crate::plonk::AdviceQuery| {
            let (column, rotation) = self.cs.advice_queries[query.index];
            let r = (row as i32 + rotation.0).rem_euclid(n) as usize;
            match changes.binary_search_by_key(&(column.index(), r), |c| c.0) {
                Ok(i) => Value::Real(changes[i].1),
                Err(_) => self.advice[column.index()][r].into(),
            }
        };
        self.evaluate_with(e, row, &advice)
    }

    /// `e` at `row` with the given advice values.
    fn evaluate_with(
        &self,
        e: &Expression<F>,
        row: usize,
        advice: &impl Fn(crate::plonk::AdviceQuery) -> Value<F>,
    ) -> Value<F> {
        let n = self.n as i32;
        let row = n + row as i32;
        e.evaluate(
            &|scalar| Value::Real(scalar),
            &|_| panic!("virtual selectors are removed during optimization"),
            &util::load(n, row, &self.cs.fixed_queries, &self.fixed),
            advice,
            &util::load_instance(n, row, &self.cs.instance_queries, &self.instance),
            &|a| -a,
            &|a, b| a + b,
            &|a, b| a * b,
            &|a, scalar| a * scalar,
        )
    }

    /// Lookup `l`'s table as `verify` builds it (with `changes`, as in `evaluate_changed`): its
    /// rows at the usable rows, and the fill row.
    fn table(&self, l: usize, changes: &[((usize, usize), F)]) -> Table<F> {
        let lookup = &self.cs.lookups[l];
        let load = |row| -> Vec<Value<F>> {
            lookup
                .table_expressions
                .iter()
                .map(|e| self.evaluate_changed(e, row, changes))
                .collect()
        };
        let fill_row = load(self.usable_rows.end - 1);
        let mut rows: Vec<_> = self.usable_rows.clone().map(load).collect();
        rows.sort_unstable();
        rows.dedup();
        Table { fill_row, rows }
    }
}

#[cfg(test)]
mod tests {
    use super::{AdviceCell, CellChecker, CellConstraint};
    use crate::{
        circuit::{Layouter, SimpleFloorPlanner, Value},
        dev::MockProver,
        plonk::{
            Advice, Any, Circuit, Column, ConstraintSystem, Error, Fixed, Selector, TableColumn,
        },
        poly::Rotation,
    };
    use ff::Field;
    use pasta_curves::Fp;
    use rand::rngs::SysRng;
    use rand_core::UnwrapErr;

    /// `c = a·b` on rows 0..4, `acc(cur) = acc(prev) + c` from row 1, `a` looked up in a table of
    /// 0..8 where `f` is 1, `c` copied to `d` (and row 3's `d` to the instance), `e` read only
    /// with a fixed coefficient that is zero.
    #[derive(Clone, Default)]
    struct Small;

    #[derive(Clone, Debug)]
    struct Config {
        a: Column<Advice>,
        b: Column<Advice>,
        c: Column<Advice>,
        d: Column<Advice>,
        e: Column<Advice>,
        acc: Column<Advice>,
        f: Column<Fixed>,
        zero: Column<Fixed>,
        s: Selector,
        t: Selector,
        table: TableColumn,
        instance: Column<crate::plonk::Instance>,
    }

    impl Circuit<Fp> for Small {
        type Config = Config;
        type FloorPlanner = SimpleFloorPlanner;
        fn without_witnesses(&self) -> Self {
            Self
        }
        fn configure(meta: &mut ConstraintSystem<Fp>) -> Config {
            let [a, b, c, d, e, acc] = [(); 6].map(|_| meta.advice_column());
            let [f, zero] = [(); 2].map(|_| meta.fixed_column());
            let (s, t) = (meta.selector(), meta.selector());
            let table = meta.lookup_table_column();
            let instance = meta.instance_column();
            for column in [c, d] {
                meta.enable_equality(column);
            }
            meta.enable_equality(instance);
            meta.create_gate("mul", |meta| {
                let s = meta.query_selector(s);
                let [a, b, c] = [a, b, c].map(|x| meta.query_advice(x, Rotation::cur()));
                let e = meta.query_advice(e, Rotation::cur());
                let zero = meta.query_fixed(zero);
                vec![s * (a * b - c + zero * e)]
            });
            meta.create_gate("acc", |meta| {
                let t = meta.query_selector(t);
                let cur = meta.query_advice(acc, Rotation::cur());
                let prev = meta.query_advice(acc, Rotation::prev());
                let c = meta.query_advice(c, Rotation::cur());
                vec![t * (cur - prev - c)]
            });
            meta.lookup(|meta| {
                let f = meta.query_fixed(f);
                vec![(f * meta.query_advice(a, Rotation::cur()), table)]
            });
            Config {
                a,
                b,
                c,
                d,
                e,
                acc,
                f,
                zero,
                s,
                t,
                table,
                instance,
            }
        }
        fn synthesize(&self, cfg: Config, mut layouter: impl Layouter<Fp>) -> Result<(), Error> {
            layouter.assign_table(
                || "table",
                |mut table| {
                    for i in 0..8 {
                        table.assign_cell(
                            || "",
                            cfg.table,
                            i,
                            || Value::known(Fp::from(i as u64)),
                        )?;
                    }
                    Ok(())
                },
            )?;
            let last = layouter.assign_region(
                || "rows",
                |mut region| {
                    let mut acc = 0;
                    let mut last = None;
                    for row in 0..4 {
                        let (a, b) = (row as u64 + 1, 3);
                        acc += a * b;
                        cfg.s.enable(&mut region, row)?;
                        let v = |x: u64| Value::known(Fp::from(x));
                        region.assign_fixed(|| "", cfg.f, row, || v(1))?;
                        region.assign_fixed(|| "", cfg.zero, row, || v(0))?;
                        region.assign_advice(|| "", cfg.a, row, || v(a))?;
                        region.assign_advice(|| "", cfg.b, row, || v(b))?;
                        let c = region.assign_advice(|| "", cfg.c, row, || v(a * b))?;
                        let d = region.assign_advice(|| "", cfg.d, row, || v(a * b))?;
                        region.constrain_equal(c.cell(), d.cell())?;
                        region.assign_advice(|| "", cfg.e, row, || v(7))?;
                        region.assign_advice(|| "", cfg.acc, row, || v(acc))?;
                        if row > 0 {
                            cfg.t.enable(&mut region, row)?;
                        }
                        last = Some(d);
                    }
                    Ok(last.unwrap())
                },
            )?;
            layouter.constrain_instance(last.cell(), cfg.instance, 0)
        }
    }

    fn checker() -> CellChecker<Fp> {
        let prover = MockProver::run(5, &Small, vec![vec![Fp::from(12)]]).unwrap();
        assert_eq!(prover.verify(), Ok(()));
        CellChecker::new(prover)
    }

    /// For every usable cell changed alone (by +1 and to a random value), the checker fails
    /// exactly when `verify` does.
    #[test]
    fn failures_agree_with_verify() {
        let mut checker = checker();
        let mut rng = UnwrapErr(SysRng);
        let mut failing = 0;
        for column in 0..checker.prover().advice_columns() {
            for row in checker.prover().usable_rows() {
                let before = checker.get(column, row);
                let v = match before {
                    AdviceCell::Assigned(v) => v,
                    _ => Fp::ZERO,
                };
                for change in [v + Fp::ONE, Fp::random(&mut rng)] {
                    let failures = checker.failures(&[((column, row), change)]);
                    checker.set(column, row, AdviceCell::Assigned(change));
                    let verified = checker.prover().verify();
                    checker.set(column, row, before);
                    assert_eq!(
                        failures.is_empty(),
                        verified.is_ok(),
                        "cell ({column}, {row}) changed to {change:?}: {failures:?} / {verified:?}"
                    );
                    failing += usize::from(!failures.is_empty());
                }
            }
        }
        // a, b, c, d and acc on rows 0..4 fail both changes.
        assert_eq!(failing, 2 * 5 * 4);
        assert_eq!(checker.into_prover().verify(), Ok(()));
    }

    #[test]
    fn copy_classes_and_class_changes() {
        let checker = checker();
        let mut classes = checker.prover().copy_classes();
        for class in &mut classes {
            class.sort_by_key(|&(c, r)| (*c.column_type() == Any::Instance, c.index(), r));
        }
        classes.sort_by_key(|class| class[0].1);
        // c and d of every row; row 3's also with the instance.
        assert_eq!(classes.len(), 4);
        assert_eq!(classes[3].len(), 3);
        // c and d of row 1 changed together: the copy holds, the gates fail.
        let failures = checker.failures(&[((2, 1), Fp::from(9)), ((3, 1), Fp::from(9))]);
        assert!(!failures.is_empty());
        assert!(failures
            .iter()
            .all(|f| matches!(f, CellConstraint::Gate { .. })));
        // d of row 1 alone: only the copy constraint fails.
        let failures = checker.failures(&[((3, 1), Fp::from(9))]);
        assert!(failures
            .iter()
            .all(|f| matches!(f, CellConstraint::Copy { .. })));
        assert!(!failures.is_empty());
    }

    #[test]
    fn readers_see_what_reads_a_cell() {
        let checker = checker();
        let randomness = checker.read_randomness(&mut UnwrapErr(SysRng));
        // e is multiplied by a fixed zero: nothing reads it.
        assert_eq!(checker.readers(4, 1, &randomness), vec![]);
        // a at row 1: the gate at row 1 and the lookup at row 1.
        let readers = checker.readers(0, 1, &randomness);
        assert_eq!(readers.len(), 2, "{readers:?}");
        // acc at row 1: the gates at rows 1 and 2.
        let mut rows: Vec<usize> = checker
            .readers(5, 1, &randomness)
            .iter()
            .map(|r| match r {
                CellConstraint::Gate { row, .. } => *row,
                _ => panic!("{r:?}"),
            })
            .collect();
        rows.sort_unstable();
        assert_eq!(rows, vec![1, 2]);
        // a at row 6 (no selector, no table flag): nothing.
        assert_eq!(checker.readers(0, 6, &randomness), vec![]);
        // d at row 2: its copy constraint only.
        assert!(matches!(
            checker.readers(3, 2, &randomness)[..],
            [CellConstraint::Copy { .. }]
        ));
    }
}
