//! Hand-edited model files (`.zkm`): a model file is the verifier's whole idea of the model, so
//! an edited one must either be refused by `CompiledModel::from_json` — with an error naming
//! the node and the problem, never a panic — or be a model whose circuit accepts exactly the
//! witnesses of its own forward pass.
//!
//! The targeted tests forge witnesses for edits the circuit used to accept (a unary unit
//! reading its unwired `b` operand, a division or square root without its check, a rescale
//! exposing its remainder); the sweep edits every field of one operator of each kind in the
//! compiled fixtures and checks each outcome with `MockProver` on the forward pass's witness.
//! An attacker also fixes the cost report an edit changes, so the tests re-sign it.
//! `ZKM_SWEEP_DETAIL=1 cargo test --test zkm_tampering -- --nocapture` lists every edit of the
//! sweeps with its outcome (the refusal message, or what the accepted model did).

mod common;

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::LazyLock;

use serde_json::{json, Value};
use zkinfer::{CompileOptions, CompiledModel, QuantizeOptions, QuantizedModel, ShapeKind};
use zkinfer_circuits::layout::Placement;
use zkinfer_circuits::testing::claimed_unit;
use zkinfer_circuits::unit::UnitWitness;
use zkinfer_circuits::{CircuitWitness, Network, Op, Trace, UnitMode};

/// A compiled fixture, its model file as JSON, and the forward pass of its first input.
struct Fixture {
    compiled: CompiledModel,
    json: Value,
    input: Vec<i64>,
    trace: Trace,
    witness: CircuitWitness,
}

fn fixture(dir: &str) -> Fixture {
    let model = common::model(dir);
    let len = model.graph().input().len();
    let calibration = common::samples(dir, "calibration.json", len);
    // Quantise and compile without the float reference (the fidelity report is not needed).
    let quantized = model
        .quantize(&calibration, QuantizeOptions::default())
        .unwrap();
    let compiled = CompiledModel::new(quantized, CompileOptions::default()).unwrap();
    let json = serde_json::from_slice(&compiled.to_json()).unwrap();
    let sample = &common::samples(dir, "input.json", len)[0];
    let input = compiled.model.quantize_input(0, sample).unwrap();
    let (trace, witness) = compiled.witness(&input).unwrap();
    assert_eq!(compiled.mock_check(&witness, &witness.public), Ok(()));
    Fixture {
        compiled,
        json,
        input,
        trace,
        witness,
    }
}

static MLP: LazyLock<Fixture> = LazyLock::new(|| fixture("mlp_64_32_10"));
static LENET: LazyLock<Fixture> = LazyLock::new(|| fixture("lenet5"));
static TRANSFORMER: LazyLock<Fixture> = LazyLock::new(|| fixture("transformer_block"));

/// What loading an edited model file gave.
enum Loaded {
    Accepted(Box<CompiledModel>),
    Refused(String),
    Panicked(String),
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(no message)".into())
}

fn from_json(json: &Value) -> Loaded {
    let bytes = serde_json::to_vec(json).unwrap();
    match catch_unwind(|| CompiledModel::from_json(&bytes)) {
        Ok(Ok(model)) => Loaded::Accepted(Box::new(model)),
        Ok(Err(e)) => Loaded::Refused(e.to_string()),
        Err(payload) => Loaded::Panicked(panic_message(payload)),
    }
}

/// Loads an edited model file the way an attacker would ship it: with the cost report and `k`
/// recomputed for the edited network when those are all that give the edit away.
fn load_resigned(json: &Value) -> Loaded {
    match from_json(json) {
        Loaded::Refused(e) if e.contains("it records") => {
            let resigned = catch_unwind(AssertUnwindSafe(|| {
                let model: QuantizedModel = serde_json::from_value(json["model"].clone()).ok()?;
                let shape: ShapeKind = serde_json::from_value(json["shape"].clone()).ok()?;
                let options = CompileOptions {
                    shape: Some(shape),
                    ..CompileOptions::default()
                };
                let compiled = CompiledModel::new(model, options).ok()?;
                let mut json = json.clone();
                json["cost"] = serde_json::to_value(&compiled.cost).unwrap();
                json["k"] = json!(compiled.k);
                Some(json)
            }));
            match resigned {
                Ok(Some(json)) => from_json(&json),
                Ok(None) => Loaded::Refused(e),
                Err(payload) => Loaded::Panicked(panic_message(payload)),
            }
        }
        loaded => loaded,
    }
}

/// The index of the node named `name` in the model file.
fn node_index(json: &Value, name: &str) -> usize {
    json["model"]["network"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .position(|n| n["name"] == name)
        .unwrap_or_else(|| panic!("no node '{name}'"))
}

/// The model file with `edit` applied to node `name`.
fn edit_node(fixture: &Fixture, name: &str, edit: impl FnOnce(&mut Value)) -> Value {
    let mut json = fixture.json.clone();
    let index = node_index(&json, name);
    edit(&mut json["model"]["network"]["nodes"][index]);
    json
}

/// The forward pass of `network` with the output of node `at` edited by `patch`: the values a
/// cheating prover computes from a forged value on.
fn forward_patched(
    network: &Network,
    input: &[i64],
    at: usize,
    patch: &dyn Fn(&mut Vec<i64>),
) -> Option<Trace> {
    let mut values: Vec<Vec<i64>> = vec![Vec::new(); network.tensors.len()];
    values[network.input] = input.to_vec();
    for (n, node) in network.nodes.iter().enumerate() {
        let x = |i: usize| values[node.inputs[i]].as_slice();
        let mut y: Vec<i64> = match &node.op {
            Op::Linear(op) => op.eval(x(0)),
            Op::Unit(op) => {
                let units = op.eval(x(0), node.inputs.get(1).map(|_| x(1))).ok()?;
                if op.with_remainder {
                    units.iter().flat_map(|u| [u.y, u.r]).collect()
                } else {
                    units.iter().map(|u| u.y).collect()
                }
            }
            Op::Product(op) => op.eval(x(0), x(1)),
            Op::Table(op) => x(0)
                .iter()
                .map(|&v| network.tables[op.table].get(v))
                .collect::<Option<_>>()?,
            Op::Gather(op) => op
                .sources
                .iter()
                .map(|&(i, e)| x(i as usize)[e as usize])
                .collect(),
        };
        if n == at {
            patch(&mut y);
        }
        values[node.output] = y;
    }
    Some(Trace {
        values,
        output: network.output,
        input: network.input,
    })
}

/// A forged unit: element `element` of node `node` gets the unit witness `forged` (whose output
/// `y`, and remainder if the node outputs remainders, replace the honest ones), everything
/// downstream is recomputed from it. `MockProver`'s verdict on the forgery, if the forged
/// values stay within the network's ranges.
fn forge_unit(
    model: &CompiledModel,
    input: &[i64],
    node: usize,
    element: usize,
    forged: UnitWitness,
) -> Option<Result<(), String>> {
    let network = model.network();
    let Op::Unit(op) = &network.nodes[node].op else {
        panic!("node {node} is not a unit")
    };
    let with_remainder = op.with_remainder;
    let (y, z) = (forged.y, forged.z);
    let trace = forward_patched(network, input, node, &|values| {
        if with_remainder {
            values[2 * element] = y;
            values[2 * element + 1] = z;
        } else {
            values[element] = y;
        }
    })?;
    let mut witness = CircuitWitness::new(network, model.layout(), &trace).ok()?;
    let Placement::Unit { first_slot } = model.layout().placements[node] else {
        panic!("node {node} is not placed on the units")
    };
    witness.units[first_slot + element] = forged;
    Some(model.mock_check(&witness, &witness.public))
}

/// Asserts that `from_json` refuses `json` with a message naming `node` and containing every
/// one of `words`; on acceptance, `forge` tries to show what the accepted model lets through.
#[track_caller]
fn assert_refused(
    json: &Value,
    node: &str,
    words: &[&str],
    what: &str,
    forge: impl FnOnce(&CompiledModel) -> String,
) {
    match load_resigned(json) {
        Loaded::Refused(e) => {
            assert!(
                e.contains(&format!("node '{node}'")),
                "{what}: the error does not name node '{node}': {e}"
            );
            for word in words {
                assert!(e.contains(word), "{what}: the error lacks '{word}': {e}");
            }
        }
        Loaded::Panicked(p) => panic!("{what}: from_json panicked: {p}"),
        Loaded::Accepted(model) => panic!("{what}: accepted; {}", forge(&model)),
    }
}

// ---------------------------------------------------------------------------------------------
// 1. A unary unit whose computation reads `b`.

#[test]
fn a_unary_unit_reading_its_unwired_b_operand_is_refused() {
    let fx = &*MLP;
    let name = "fc2";
    let node = node_index(&fx.json, name);
    assert_eq!(
        fx.compiled.network().nodes[node].output,
        fx.compiled.network().output
    );
    let Op::Unit(op) = &fx.compiled.network().nodes[node].op else {
        panic!("fc2 is a unit")
    };
    assert!(op.b.is_empty(), "fc2 is unary");
    let honest = fx.trace.output().to_vec();
    for (field, value) in [
        ("cb", json!(1)),
        ("cab", json!(1)),
        ("out_b", json!(1)),
        ("mode", json!("Divide")),
    ] {
        let json = edit_node(fx, name, |n| n["op"]["Unit"]["kinds"][0][field] = value);
        let what = format!("fc2 with {field} edited");
        assert_refused(&json, name, &["operand b"], &what, |model| {
            // The forward pass takes b = 0; the circuit takes whatever b the prover writes.
            let kind = *match &model.network().nodes[node].op {
                Op::Unit(op) => op.kind(0),
                _ => unreachable!(),
            };
            let a = fx.trace.values[model.network().nodes[node].inputs[0]][0];
            for b in [1, 5, 4096, 3 * 4096, -4096, 1 << 20] {
                let Ok(forged) = UnitWitness::honest(&kind, a, b) else {
                    continue;
                };
                if forged.y == honest[0] {
                    continue;
                }
                let y = forged.y;
                if let Some(Ok(())) = forge_unit(model, &fx.input, node, 0, forged) {
                    return format!(
                        "a witness with operand b = {b} proves output[0] = {y}, which `run` \
                         never gives (it gives {})",
                        honest[0]
                    );
                }
            }
            "no forgery found".into()
        });
    }
}

// ---------------------------------------------------------------------------------------------
// 2. A division or square root without the unit that checks its remainder.

/// The model file without the node named `name`.
fn without_node(fixture: &Fixture, name: &str) -> Value {
    let mut json = fixture.json.clone();
    let index = node_index(&json, name);
    json["model"]["network"]["nodes"]
        .as_array_mut()
        .unwrap()
        .remove(index);
    json
}

/// Forges element `element` of divide or square-root node `name` of `model` (its check removed)
/// with the quotient one lower and the remainder that makes the identity hold.
fn forge_lower_quotient(model: &CompiledModel, input: &[i64], name: &str) -> String {
    let network = model.network();
    let node = network.nodes.iter().position(|n| n.name == name).unwrap();
    let n = &network.nodes[node];
    let Op::Unit(op) = &n.op else { unreachable!() };
    let trace = network.forward(input).unwrap();
    for element in 0..op.len() {
        let (a, b) = op.operands(
            element,
            &trace.values[n.inputs[0]],
            n.inputs.get(1).map(|&t| trace.values[t].as_slice()),
        );
        let kind = op.kind(element);
        let (q, r) = kind.quotient(a, b).unwrap();
        let (q2, r2) = match kind.mode {
            UnitMode::Divide => (q - 1, r + b),
            UnitMode::Sqrt => (q - 1, r + 2 * q - 1),
            UnitMode::Rescale { .. } => unreachable!(),
        };
        if q2 < 0 || r2 >= 1 << 12 {
            continue;
        }
        let forged = claimed_unit(kind, a, b, q2, r2);
        if let Some(Ok(())) = forge_unit(model, input, node, element, forged) {
            return format!(
                "a witness claiming {name}[{element}] = {q2} (remainder {r2}) instead of {q} \
                 satisfies the circuit"
            );
        }
    }
    "no forgery found".into()
}

#[test]
fn a_division_or_square_root_without_its_check_is_refused() {
    let fx = &*TRANSFORMER;
    for (check, checked, words) in [
        ("attn_softmax/check", "attn_softmax/divide", ["divisor"]),
        ("ln1/check", "ln1/divide", ["divisor"]),
        ("ln1/sqrt_check", "ln1/sqrt", ["2q"]),
    ] {
        let json = without_node(fx, check);
        let what = format!("without '{check}'");
        assert_refused(&json, checked, &words, &what, |model| {
            forge_lower_quotient(model, &fx.input, checked)
        });
    }
    // A check that reads another element's remainder leaves this one unchecked.
    let json = edit_node(fx, "attn_softmax/check", |n| {
        n["op"]["Unit"]["a"][0] = n["op"]["Unit"]["a"][1].clone();
    });
    assert_refused(
        &json,
        "attn_softmax/divide",
        &["divisor"],
        "a check reading the wrong remainder",
        |model| forge_lower_quotient(model, &fx.input, "attn_softmax/divide"),
    );
    // A weaker check (r < b + 1) does not pin the quotient either.
    let json = edit_node(fx, "attn_softmax/check", |n| {
        n["op"]["Unit"]["kinds"][0]["c0"] = json!(0);
    });
    assert_refused(
        &json,
        "attn_softmax/divide",
        &["divisor"],
        "a weakened check",
        |model| forge_lower_quotient(model, &fx.input, "attn_softmax/divide"),
    );
    // A root that is not asserted non-negative, or not output as is, escapes its check.
    for (field, value) in [("nonneg", json!(false)), ("out_c", json!(1))] {
        let json = edit_node(fx, "ln1/sqrt", |n| {
            n["op"]["Unit"]["kinds"][0][field] = value
        });
        assert_refused(
            &json,
            "ln1/sqrt",
            &["square root"],
            &format!("ln1/sqrt with {field} edited"),
            |_| "accepted".into(),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 3. A rescale that outputs its remainder.

#[test]
fn a_rescale_exposing_its_remainder_is_refused() {
    // The transformer's last unit (a rescale by 2^12), made a rescale by 2^11 that outputs
    // (y, r) pairs: the forward pass gives r, the circuit's remainder cell holds r·2.
    let fx = &*TRANSFORMER;
    let name = "head";
    let mut json = edit_node(fx, name, |n| {
        n["op"]["Unit"]["with_remainder"] = json!(true);
        n["op"]["Unit"]["kinds"][0]["mode"] = json!({"Rescale": {"shift": 11}});
    });
    let output = fx.compiled.network().output;
    let doubled = json!([1, 2 * fx.compiled.network().output_len()]);
    json["model"]["network"]["tensors"][output]["shape"] = doubled.clone();
    json["model"]["output"]["shape"] = doubled;
    assert_refused(
        &json,
        name,
        &["remainder"],
        "head with remainders",
        |model| scaled_remainders_verify(fx, model),
    );
}

/// What the circuit of a model whose output interleaves rescale remainders (scaled by 2 in the
/// circuit) makes of the honest output and of the output with doubled remainders.
fn scaled_remainders_verify(fx: &Fixture, model: &CompiledModel) -> String {
    let (trace, witness) = match model.witness(&fx.input) {
        Ok(w) => w,
        Err(e) => return format!("the forward pass refuses: {e}"),
    };
    let honest = model.mock_check(&witness, &witness.public);
    let inputs = fx.input.len();
    let mut scaled = witness.public.clone();
    for (i, v) in trace.output().iter().enumerate().skip(1).step_by(2) {
        scaled[inputs + i] = v * 2;
    }
    let forged = model.mock_check(&witness, &scaled);
    format!(
        "the honest witness {} the circuit, and the public outputs {:?} (remainders doubled, \
         which `run` never gives) {} it",
        verdict(honest),
        &scaled[inputs..],
        verdict(forged)
    )
}

// ---------------------------------------------------------------------------------------------
// Fields the compiler derives and a model file never holds.

#[test]
fn compiler_derived_network_fields_are_refused_in_a_model_file() {
    let fx = &*MLP;
    let network = fx.compiled.network();
    let hidden = network.nodes[1].output;
    let mut edits: Vec<(&str, Value)> = vec![
        (
            "links",
            json!({"inputs": [{"tensor": hidden, "bound": 2048}], "input_segments": [32],
                   "output": null, "output_segments": []}),
        ),
        ("committed_input", json!(network.input)),
        ("committed_output", json!(network.output)),
        (
            "params",
            json!({"tensor": network.tensors.len(), "values": [0], "checked": hidden}),
        ),
    ];
    for (field, value) in edits.drain(..) {
        let mut json = fx.json.clone();
        json["model"]["network"][field] = value;
        if field == "params" {
            json["model"]["network"]["tensors"]
                .as_array_mut()
                .unwrap()
                .push(json!({"name": "weights", "shape": [1]}));
        }
        if field == "links" {
            // The linked tensor becomes a free value: drop the node that computed it.
            json["model"]["network"]["nodes"]
                .as_array_mut()
                .unwrap()
                .remove(1);
        }
        match load_resigned(&json) {
            Loaded::Refused(e) => assert!(e.contains(field), "{field}: {e}"),
            Loaded::Panicked(p) => panic!("{field}: from_json panicked: {p}"),
            Loaded::Accepted(_) => panic!("a model file setting '{field}' was accepted"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Values the native arithmetic cannot hold.

#[test]
fn extreme_values_are_refused_without_a_panic() {
    let fx = &*TRANSFORMER;
    let big = json!(i64::MAX);
    let cases: Vec<(&str, Value)> = vec![
        ("relu and linear at i64::MIN", {
            edit_node(fx, "head", |n| {
                n["op"]["Unit"]["kinds"][0]["relu"] = json!(i64::MIN);
                n["op"]["Unit"]["kinds"][0]["linear"] = json!(i64::MIN);
            })
        }),
        ("a huge weight on a zero input", {
            // ln1/check outputs zeros only (relu = linear = 0): any weight reading it is "bounded".
            let mut json = fx.json.clone();
            let check = node_index(&json, "ln1/check");
            let zeros = json["model"]["network"]["nodes"][check]["output"].clone();
            let head = node_index(&json, "head/sum");
            let node = &mut json["model"]["network"]["nodes"][head];
            node["inputs"] = json!([zeros]);
            node["op"]["Linear"]["weights"][0] = big.clone();
            json
        }),
        ("a table domain at the end of i64", {
            let mut json = fx.json.clone();
            json["model"]["network"]["tables"][0]["lo"] = big.clone();
            json
        }),
        ("a tensor shape whose product overflows", {
            let mut json = fx.json.clone();
            let unused = node_index(&json, "ln1/check");
            let t = json["model"]["network"]["nodes"][unused]["output"]
                .as_u64()
                .unwrap() as usize;
            json["model"]["network"]["tensors"][t]["shape"] = json!([u64::MAX, u64::MAX]);
            json
        }),
        ("a model input shape whose product overflows", {
            let mut json = fx.json.clone();
            json["model"]["input"]["shape"] = json!([u64::MAX, 3]);
            json
        }),
    ];
    for (what, json) in cases {
        match load_resigned(&json) {
            Loaded::Refused(e) => {
                assert!(e.contains("node '") || e.contains("network"), "{what}: {e}")
            }
            Loaded::Panicked(p) => panic!("{what}: from_json panicked: {p}"),
            Loaded::Accepted(model) => {
                // Accepted: the forward pass and the circuit must agree, without a panic.
                let result = catch_unwind(AssertUnwindSafe(|| check_agreement(fx, &model)));
                match result {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => panic!("{what}: {e}"),
                    Err(p) => panic!("{what}: accepted, then panicked: {}", panic_message(p)),
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The sweep: every field of one operator of each kind.

/// What an accepted edited model does on the fixture's input.
#[derive(Debug, PartialEq, Eq)]
enum Agreement {
    /// Its forward pass refuses the input (so do `run` and `prove`).
    ForwardRefuses,
    /// The forward pass's witness satisfies the circuit, and the output is the original one.
    SameOutput,
    /// The forward pass's witness satisfies the circuit; the output changed and the original
    /// witness does not satisfy the edited circuit.
    NewOutput,
}

/// Checks that an accepted model's circuit accepts its forward pass's witness, and, if the
/// output changed (and the layout did not), refuses the original model's witness: the circuit
/// proves the new output and only that.
fn check_agreement(fx: &Fixture, model: &CompiledModel) -> Result<Agreement, String> {
    check_agreement_with(fx, model, true)
}

/// [`check_agreement`], checking the original witness against a changed output only if
/// `old_witness` (a second `MockProver` run).
fn check_agreement_with(
    fx: &Fixture,
    model: &CompiledModel,
    old_witness: bool,
) -> Result<Agreement, String> {
    let (trace, witness) = match model.witness(&fx.input) {
        Ok(w) => w,
        Err(_) => return Ok(Agreement::ForwardRefuses),
    };
    model
        .mock_check(&witness, &witness.public)
        .map_err(|e| format!("the forward pass's witness fails the circuit:\n{e}"))?;
    if trace.output() == fx.trace.output() {
        return Ok(Agreement::SameOutput);
    }
    if old_witness
        && model.layout() == fx.compiled.layout()
        && model.mock_check(&fx.witness, &fx.witness.public).is_ok()
    {
        return Err("the output changed, yet the original witness still passes".into());
    }
    Ok(Agreement::NewOutput)
}

/// Variants of a JSON value: what a hand edit might write instead.
fn variants(value: &Value) -> Vec<(String, Value)> {
    match value {
        Value::Bool(b) => vec![("flipped".into(), json!(!b))],
        Value::Number(n) => {
            let x = n.as_i64().unwrap_or(i64::MAX);
            let mut out: Vec<(String, Value)> = vec![
                ("+1".into(), json!(x.saturating_add(1))),
                ("-1".into(), json!(x.saturating_sub(1))),
                ("0".into(), json!(0)),
                ("negated".into(), json!(x.saturating_neg())),
                ("2^40".into(), json!(1i64 << 40)),
                ("i64::MAX".into(), json!(i64::MAX)),
                ("i64::MIN".into(), json!(i64::MIN)),
            ];
            out.retain(|(_, v)| v.as_i64() != Some(x));
            out.dedup_by(|a, b| a.1 == b.1);
            out
        }
        Value::Null => vec![("0 instead of null".into(), json!(0))],
        Value::String(_) => vec![("renamed".into(), json!("tampered"))],
        Value::Array(items) => {
            let mut out: Vec<(String, Value)> = vec![("emptied".into(), json!([]))];
            if let Some(last) = items.last() {
                let mut v = items.clone();
                v.pop();
                out.push(("last dropped".into(), Value::Array(v)));
                let mut v = items.clone();
                v.push(last.clone());
                out.push(("last repeated".into(), Value::Array(v)));
            }
            if items.len() >= 2 {
                let mut v = items.clone();
                v.swap(0, 1);
                out.push(("first two swapped".into(), Value::Array(v)));
            }
            for (index, label) in [(0, "[0]"), (items.len().wrapping_sub(1), "[last]")] {
                let Some(item) = items.get(index) else {
                    continue;
                };
                if index != 0 && items.len() < 2 {
                    continue;
                }
                // An element: the scalar edits that matter for indices and weights.
                for (what, v) in variants(item)
                    .into_iter()
                    .filter(|(w, _)| !matches!(w.as_str(), "2^40" | "i64::MIN" | "negated"))
                {
                    let mut copy = items.clone();
                    copy[index] = v;
                    out.push((format!("{label} {what}"), Value::Array(copy)));
                }
            }
            out
        }
        Value::Object(_) => Vec::new(),
    }
}

/// Every unit mode, as a model file writes it.
fn modes() -> Vec<(String, Value)> {
    [
        json!({"Rescale": {"shift": 0}}),
        json!({"Rescale": {"shift": 5}}),
        json!({"Rescale": {"shift": 12}}),
        json!({"Rescale": {"shift": 13}}),
        json!("Divide"),
        json!("Sqrt"),
    ]
    .into_iter()
    .map(|m| (format!("mode {m}"), m))
    .collect()
}

/// Every (path, label, new value) edit of `value` and its fields, recursively; `path` locates
/// `value` as a JSON pointer.
fn edits(path: &str, value: &Value, out: &mut Vec<(String, String, Value)>) {
    match value {
        Value::Object(fields) => {
            for (key, field) in fields {
                let path = format!("{path}/{key}");
                if key == "mode" {
                    for (label, v) in modes() {
                        if v != *field {
                            out.push((path.clone(), label, v));
                        }
                    }
                    continue;
                }
                edits(&path, field, out);
            }
        }
        Value::Array(items) if items.first().is_some_and(Value::is_object) => {
            // Lists of objects (the kinds of a unit): edit the list, then the first object.
            for (label, v) in variants(value) {
                if !label.starts_with("[0]") && !label.starts_with("[last]") {
                    out.push((path.to_string(), label, v));
                }
            }
            edits(&format!("{path}/0"), &items[0], out);
        }
        _ => {
            for (label, v) in variants(value) {
                out.push((path.to_string(), label, v));
            }
        }
    }
}

/// Which fields of a node a sweep edits.
#[derive(Clone, Copy)]
enum Fields {
    /// Every field but the name.
    All,
    /// Every field but the name and these.
    Except(&'static [&'static str]),
}

impl Fields {
    fn includes(self, field: &str) -> bool {
        field != "name"
            && match self {
                Fields::All => true,
                Fields::Except(fields) => !fields.contains(&field),
            }
    }
}

/// The field a JSON pointer ends in (list positions skipped).
fn field_name(path: &str) -> &str {
    path.rsplit('/')
        .find(|segment| segment.parse::<usize>().is_err())
        .unwrap_or(path)
}

/// A unit's value coefficients, which the MLP's sweep edits (the transformer's sweep edits the
/// structure of its units: operands, kinds, modes, the checks' coefficients).
const VALUE_COEFFICIENTS: &[&str] = &["ca", "caa", "c0", "relu", "linear", "out_c"];
/// A check unit's output coefficients: its output is read by nothing.
const CHECK_OUTPUTS: &[&str] = &["relu", "linear", "out_b", "out_c"];

/// The outcome of each edit of every field of the named nodes (and of the network's
/// `"boundary"` — input, output, their visibility — and `"tables"`, as `network` lists) of a
/// fixture, as a tally; fails on a panic, a refusal that does not say where, or an accepted
/// model whose circuit and forward pass disagree (or, if `old_witness`, whose changed output
/// the original witness still proves).
fn sweep(
    fx: &Fixture,
    nodes: &[(&str, Fields)],
    network: &[&str],
    old_witness: bool,
) -> BTreeMap<String, usize> {
    let mut targets: Vec<(String, String, Value)> = Vec::new();
    for &(name, fields) in nodes {
        let index = node_index(&fx.json, name);
        let path = format!("/model/network/nodes/{index}");
        let mut out = Vec::new();
        edits(&path, &fx.json.pointer(&path).unwrap().clone(), &mut out);
        targets.extend(
            out.into_iter()
                .filter(|(p, _, _)| fields.includes(field_name(p)))
                .map(|(p, l, v)| (format!("{name}: {p}"), l, v)),
        );
    }
    let net = &fx.json["model"]["network"];
    let mut out = Vec::new();
    if network.contains(&"boundary") {
        // The input and output tensors, the output's shape and what proofs reveal of them.
        for field in ["input", "output"] {
            edits(&format!("/model/network/{field}"), &net[field], &mut out);
        }
        let output = net["output"].as_u64().unwrap();
        let shape = format!("/model/network/tensors/{output}/shape");
        edits(&shape, fx.json.pointer(&shape).unwrap(), &mut out);
        for field in ["input_visibility", "output_visibility"] {
            for v in ["private", "hashed"] {
                out.push((format!("/model/network/{field}"), v.into(), json!(v)));
            }
        }
    }
    if network.contains(&"tables") {
        for field in ["lo", "values"] {
            let path = format!("/model/network/tables/0/{field}");
            edits(&path, fx.json.pointer(&path).unwrap(), &mut out);
        }
    }
    targets.extend(
        out.into_iter()
            .map(|(p, l, v)| (format!("network: {p}"), l, v)),
    );

    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for (target, label, value) in &targets {
        let (node_part, path) = target.split_once(": ").unwrap();
        let mut json = fx.json.clone();
        *json.pointer_mut(path).unwrap() = value.clone();
        if json == fx.json {
            continue; // not an edit (emptying an empty list, swapping equal elements)
        }
        let what = format!("{node_part} {path} {label}");
        let outcome = match load_resigned(&json) {
            Loaded::Panicked(p) => {
                failures.push(format!("{what}: from_json panicked: {p}"));
                "panicked".to_string()
            }
            Loaded::Refused(e) => {
                if std::env::var("ZKM_SWEEP_DETAIL").is_ok() {
                    println!("{what}: {e}");
                }
                // A decoding error names the field and its position; anything else names the
                // node (or the network) and the problem.
                let decoding = e.starts_with("compiled model is malformed");
                if !decoding && !e.contains("node '") && !e.contains("network") {
                    failures.push(format!("{what}: the refusal does not say where: {e}"));
                }
                "refused".to_string()
            }
            Loaded::Accepted(model) => {
                match catch_unwind(AssertUnwindSafe(|| {
                    check_agreement_with(fx, &model, old_witness)
                })) {
                    Ok(Ok(agreement)) => format!("accepted, {agreement:?}"),
                    Ok(Err(e)) => {
                        failures.push(format!("{what}: accepted, but {e}"));
                        "disagrees".to_string()
                    }
                    Err(p) => {
                        failures.push(format!("{what}: accepted, then panicked: {}", {
                            panic_message(p)
                        }));
                        "panicked".to_string()
                    }
                }
            }
        };
        if std::env::var("ZKM_SWEEP_DETAIL").is_ok() {
            println!("{what}: {outcome}");
        }
        *tally.entry(outcome).or_default() += 1;
    }
    assert!(
        failures.is_empty(),
        "{} of {} edits went wrong:\n{}",
        failures.len(),
        targets.len(),
        failures.join("\n")
    );
    tally
}

#[test]
fn every_field_of_a_dense_layer_and_a_rescale_is_refused_or_agrees() {
    // Linear (dense) and a unary unit, and the network-level fields, on the 64-32-10 MLP.
    let tally = sweep(
        &MLP,
        &[("fc1/sum", Fields::All), ("fc1", Fields::All)],
        &["boundary"],
        true,
    );
    println!("mlp_64_32_10: {tally:?}");
    assert!(tally.get("refused").is_some_and(|&n| n > 0));
    assert!(tally.get("accepted, NewOutput").is_some_and(|&n| n > 0));
}

#[test]
fn every_field_of_every_transformer_operator_kind_is_refused_or_agrees() {
    // Units with per-element kinds, a pairwise max (binary), a square root, a division and
    // their checks; a product, a table (and the tables), a gather. (Dense layers and unary
    // rescales: the MLP's sweep; grouped linear operators: LeNet's.)
    let structure = Fields::Except(VALUE_COEFFICIENTS);
    let check = Fields::Except(CHECK_OUTPUTS);
    let tally = sweep(
        &TRANSFORMER,
        &[
            ("pos_add", structure),
            ("attn_softmax/rowmax/max0", structure),
            ("ln1/squares", Fields::All),
            ("ln1/sqrt", Fields::All),
            ("ln1/sqrt_check", check),
            ("attn_softmax/exp", Fields::All),
            (
                "attn_softmax/divide",
                Fields::Except(&["caa", "relu", "linear", "out_c"]),
            ),
            ("attn_softmax/check", check),
            ("attn_softmax", Fields::All),
        ],
        &["tables"],
        // One MockProver run per edit at this k; the old witness: the other sweeps.
        false,
    );
    println!("transformer_block: {tally:?}");
    assert!(tally.get("refused").is_some_and(|&n| n > 0));
    assert!(tally.get("accepted, NewOutput").is_some_and(|&n| n > 0));
}

#[test]
fn every_field_of_a_pooling_layer_is_refused_or_agrees() {
    // A grouped linear operator over many positions: LeNet's 2×2 average pooling (its
    // weights and biases: the MLP's sweep).
    let tally = sweep(
        &LENET,
        &[("pool1/sum", Fields::Except(&["weights", "bias"]))],
        &[],
        true,
    );
    println!("lenet5: {tally:?}");
    assert!(tally.get("refused").is_some_and(|&n| n > 0));
}

#[test]
fn a_max_without_its_second_operand_is_refused() {
    // LeNet's second pooling maxima with their `b` operands removed: the forward pass then
    // takes max(a, 0), but the circuit leaves the `b` cells free, so the original witness
    // (the true maxima) still satisfies it — two outputs for one input.
    let fx = &*LENET;
    let name = "pool2/max1";
    let json = edit_node(fx, name, |n| n["op"]["Unit"]["b"] = json!([]));
    assert_refused(&json, name, &["operand b"], "max without b", |model| {
        let (trace, witness) = match model.witness(&fx.input) {
            Ok(w) => w,
            Err(e) => return format!("the forward pass refuses: {e}"),
        };
        format!(
            "the edited forward pass gives {:?}, the original {:?}; the original witness {} \
             the edited circuit, and the edited forward pass's witness {} it",
            trace.output(),
            fx.trace.output(),
            verdict(model.mock_check(&fx.witness, &fx.witness.public)),
            verdict(model.mock_check(&witness, &witness.public)),
        )
    });
}

/// "satisfies" or "fails" for a `MockProver` verdict.
fn verdict(result: Result<(), String>) -> &'static str {
    if result.is_ok() {
        "satisfies"
    } else {
        "fails"
    }
}

// ---------------------------------------------------------------------------------------------
// An accepted edit that changes the output: the old witness and output no longer pass.

#[test]
fn an_accepted_edit_that_changes_the_output_refuses_the_old_witness() {
    let fx = &*MLP;
    let json = edit_node(fx, "fc2/sum", |n| {
        let bias = &mut n["op"]["Linear"]["bias"][0];
        *bias = json!(bias.as_i64().unwrap() + 3 * 4096);
    });
    let Loaded::Accepted(model) = load_resigned(&json) else {
        panic!("a changed bias is a model of its own")
    };
    assert_eq!(model.layout(), fx.compiled.layout());
    let (trace, witness) = model.witness(&fx.input).unwrap();
    assert_ne!(trace.output(), fx.trace.output());
    assert_eq!(trace.output()[0], fx.trace.output()[0] + 3);
    assert_eq!(model.mock_check(&witness, &witness.public), Ok(()));
    assert!(model.mock_check(&fx.witness, &fx.witness.public).is_err());
    let mut stale = witness.public.clone();
    stale[fx.input.len()..].copy_from_slice(fx.trace.output());
    assert!(model.mock_check(&witness, &stale).is_err());
    assert_eq!(
        check_agreement(fx, &model),
        Ok(Agreement::NewOutput),
        "the sweep's own check"
    );
}

#[test]
fn the_compilers_own_model_files_load_and_agree() {
    for fx in [&*MLP, &*TRANSFORMER] {
        let Loaded::Accepted(model) = from_json(&fx.json) else {
            panic!("a compiled model file must load")
        };
        assert_eq!(check_agreement(fx, &model), Ok(Agreement::SameOutput));
    }
}
