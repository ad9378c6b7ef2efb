//! `Network::validate` accepts only networks whose circuit proves exactly their forward pass.
//!
//! Each test builds a small network the circuit would get wrong, shows with `MockProver` what
//! the circuit would let through (a forged witness passing, or the honest one failing), and
//! checks that `validate` refuses it with a typed error naming the node — and accepts the
//! sound pattern next to it.

use std::sync::Arc;

use halo2_proofs::dev::{MockProver, VerifyFailure};
use pasta_curves::Fp;
use zkinfer_circuits::{
    builder::{dense, NetworkBuilder},
    ops::{GatherOp, TableOp},
    shape::{Shape, Tiny},
    split::split_nodes,
    testing::{assert_rejected_by, claimed_unit},
    unit::UnitWitness,
    CircuitWitness, FunctionTable, Layout, Network, NetworkCircuit, NetworkError, Op, TensorId,
    UnitKind, UnitMode, UnitOp,
};

/// `MockProver` on `network` (laid out on the tiny shape, whatever `validate` says) with the
/// honest witness of `input` edited by `forge`, against the public values it leaves.
fn mock(
    network: &Network,
    input: &[i64],
    forge: impl FnOnce(&Layout, &mut CircuitWitness),
) -> Result<(), Vec<VerifyFailure>> {
    let layout = Layout::new(network, Tiny::PARAMS).unwrap();
    let trace = network.forward(input).unwrap();
    let mut witness = CircuitWitness::new(network, &layout, &trace).unwrap();
    forge(&layout, &mut witness);
    let k = NetworkCircuit::<Tiny>::min_k::<Fp>(&layout);
    let instances = layout.instances::<Fp>(&witness.public);
    let circuit = NetworkCircuit::<Tiny>::new(Arc::new(network.clone()), Arc::new(layout))
        .with_witness(Arc::new(witness));
    MockProver::run(k, &circuit, instances).unwrap().verify()
}

/// Asserts `validate` refuses with [`NetworkError::Unproven`] naming `node`, its message
/// containing `words`.
#[track_caller]
fn assert_unproven(network: &Network, node: &str, words: &[&str]) {
    match network.validate() {
        Err(e @ NetworkError::Unproven { .. }) => {
            let message = e.to_string();
            assert!(
                message.starts_with(&format!("node '{node}': ")),
                "{message}"
            );
            for word in words {
                assert!(message.contains(word), "'{word}' missing: {message}");
            }
        }
        other => panic!("expected node '{node}' to be refused as unproven, got {other:?}"),
    }
}

const INPUT: [i64; 4] = [37, -5, 12, 3];

/// A unit kind by its coefficients (a rescale by 2^0 unless `mode` says otherwise).
fn kind(edit: impl FnOnce(&mut UnitKind)) -> UnitKind {
    let mut kind = UnitKind::rescale(0, false);
    edit(&mut kind);
    kind
}

fn unit(a: Vec<u32>, b: Vec<u32>, kind: UnitKind, with_remainder: bool) -> Op {
    Op::Unit(UnitOp {
        a,
        b,
        kinds: vec![kind],
        kind_of: Vec::new(),
        with_remainder,
    })
}

// ---------------------------------------------------------------------------------------------
// A unary unit reading `b`.

/// `y = unit(x)` elementwise, with no `b` operand.
fn unary(kind: UnitKind) -> Network {
    let (mut b, x) = NetworkBuilder::new("x", vec![4]);
    let y = b.push(
        "scale",
        unit((0..4).collect(), vec![], kind, false),
        vec![x],
        vec![4],
    );
    b.finish(y)
}

#[test]
fn a_unary_unit_reading_b_is_forgeable_and_refused() {
    for (field, k) in [
        ("cb", kind(|k| k.cb = 1)),
        ("cab", kind(|k| k.cab = 1)),
        ("out_b", kind(|k| k.out_b = 1)),
    ] {
        let network = unary(k);
        // The forward pass takes b = 0 ...
        let honest = network.forward(&INPUT).unwrap();
        assert_eq!(honest.output(), &INPUT);
        // ... the circuit takes any b: output[0] = 37 + 7 (or 37·8) proves.
        let forged = mock(&network, &INPUT, |_, w| {
            w.units[0] = UnitWitness::honest(&k, INPUT[0], 7).unwrap();
            w.public[4] = w.units[0].y;
        });
        assert_eq!(forged, Ok(()), "{field}");
        assert_unproven(&network, "scale", &["operand b", field]);
    }
    // Division by the missing operand: the forward pass refuses (b = 0), the circuit divides by
    // whatever b the prover picks.
    let (mut b, x) = NetworkBuilder::new("x", vec![4]);
    let divide = kind(|k| k.mode = UnitMode::Divide);
    let y = b.push(
        "scale",
        unit((0..4).collect(), vec![], divide, true),
        vec![x],
        vec![8],
    );
    let network = b.finish(y);
    assert!(network.forward(&INPUT).is_err());
    assert_unproven(&network, "scale", &["operand b", "divides"]);
    // With the operand wired, reading b is fine.
    let (mut b, x) = NetworkBuilder::new("x", vec![4]);
    let y = b.push(
        "add",
        unit(
            (0..4).collect(),
            (0..4).rev().collect(),
            kind(|k| k.cb = 1),
            false,
        ),
        vec![x, x],
        vec![4],
    );
    let network = b.finish(y);
    network.validate().unwrap();
    assert_eq!(mock(&network, &INPUT, |_, _| {}), Ok(()));
}

// ---------------------------------------------------------------------------------------------
// A division without the check of its remainder.

/// `q = floor(64·x / (relu(x) + 1))` with its (q, r) pairs, the check `r < divisor` if
/// `check` is given (as `(kind, a, b)` over the pairs and the divisors), and the quotients as
/// the output. Returns the network and the pairs' tensor.
fn division(check: Option<(UnitKind, Vec<u32>, Vec<u32>)>) -> (Network, TensorId) {
    let (mut b, x) = NetworkBuilder::new("x", vec![4]);
    let divisor = b.push(
        "divisor",
        unit(
            (0..4).collect(),
            vec![],
            kind(|k| {
                k.relu = 1;
                k.linear = 0;
                k.out_c = 1;
            }),
            false,
        ),
        vec![x],
        vec![4],
    );
    let divide = kind(|k| {
        k.mode = UnitMode::Divide;
        k.ca = 64;
    });
    let pairs = b.push(
        "divide",
        unit((0..4).collect(), (0..4).collect(), divide, true),
        vec![x, divisor],
        vec![8],
    );
    if let Some((check, a, b_)) = check {
        b.push(
            "check",
            unit(a, b_, check, false),
            vec![pairs, divisor],
            vec![4],
        );
    }
    let q = b.push(
        "quotients",
        Op::Gather(GatherOp {
            sources: (0..4).map(|i| (0, 2 * i)).collect(),
        }),
        vec![pairs],
        vec![4],
    );
    (b.finish(q), pairs)
}

/// `divisor − remainder − 1 ≥ 0`, as the compiler builds it.
fn below() -> UnitKind {
    kind(|k| {
        k.ca = -1;
        k.cb = 1;
        k.c0 = -1;
        k.linear = 0;
        k.nonneg = true;
    })
}

/// Claims quotient q − 1 and remainder r + b for element `element` of the division (unit slot
/// 4 + `element`, after the divisors) and exposes it; recomputes the check of the element (unit
/// slot 8 + `element`) on the forged remainder if there is one (`check`).
fn forge_division(
    element: usize,
    check: Option<UnitKind>,
) -> impl FnOnce(&Layout, &mut CircuitWitness) {
    move |_, w| {
        let honest = w.units[4 + element].clone();
        let (q, b) = (honest.quotient(), honest.b);
        let divide = kind(|k| {
            k.mode = UnitMode::Divide;
            k.ca = 64;
        });
        let forged = claimed_unit(&divide, honest.a, b, q - 1, honest.z + b);
        if let Some(check) = check {
            // A check that fails: its quotient v = ca·r + cb·b + c0, claimed as it is.
            let v = check.ca * forged.z + check.cb * b + check.c0;
            w.units[8 + element] = UnitWitness::honest(&check, forged.z, b)
                .unwrap_or_else(|_| claimed_unit(&check, forged.z, b, v, 0));
        }
        w.units[4 + element] = forged;
        w.public[4 + element] = q - 1;
    }
}

#[test]
fn a_division_without_its_check_is_forgeable_and_refused() {
    let (network, _) = division(None);
    assert_eq!(network.forward(&INPUT).unwrap().output()[0], 64 * 37 / 38);
    // 64·37 = 38·62 + 12 = 38·61 + 50: without r < 38, the circuit takes 61 as well.
    assert_eq!(mock(&network, &INPUT, forge_division(0, None)), Ok(()));
    assert_unproven(&network, "divide", &["element 0", "divisor"]);

    // The compiler's check: the forgery fails, the honest witness passes.
    let check = || {
        Some((
            below(),
            (0..4).map(|i| 2 * i + 1).collect(),
            (0..4).collect(),
        ))
    };
    let (network, _) = division(check());
    network.validate().unwrap();
    assert_eq!(mock(&network, &INPUT, |_, _| {}), Ok(()));
    assert_rejected_by(
        &mock(&network, &INPUT, forge_division(0, Some(below()))),
        &["unit nonneg"],
    );

    // A check of another element's remainder, or of a weaker inequality, does not do.
    let (network, _) = division(Some((below(), vec![3, 3, 5, 7], (0..4).collect())));
    assert_unproven(&network, "divide", &["element 0"]);
    // r ≤ divisor instead of r < divisor: the exact division 64·3 = 4·48 also takes 47.
    let (network, _) = division(Some((
        UnitKind { c0: 0, ..below() },
        (0..4).map(|i| 2 * i + 1).collect(),
        (0..4).collect(),
    )));
    assert_eq!(network.forward(&INPUT).unwrap().output()[3], 48);
    let weak = UnitKind { c0: 0, ..below() };
    assert_eq!(
        mock(&network, &INPUT, forge_division(3, Some(weak))),
        Ok(())
    );
    assert_unproven(&network, "divide", &["element 0"]);
    let (network, _) = division(Some((
        below(),
        (0..4).map(|i| 2 * i + 1).collect(),
        vec![1, 0, 2, 3],
    )));
    assert_unproven(&network, "divide", &["element 0"]);
    // A stronger check is a check.
    let (network, _) = division(Some((
        UnitKind { c0: -2, ..below() },
        (0..4).map(|i| 2 * i + 1).collect(),
        (0..4).collect(),
    )));
    network.validate().unwrap();
}

#[test]
fn a_check_reading_through_gathers_and_split_operators_counts() {
    // The check reads the remainders through a gather (as after a reshape), and the whole
    // network is cut into parts of at most two rows (as for slicing).
    let (mut network, pairs) = division(None);
    let remainders = network.tensors.len();
    network.tensors.push(zkinfer_circuits::TensorInfo {
        name: "remainders".into(),
        shape: vec![4],
    });
    let divisor = network.nodes[0].output;
    network.nodes.insert(
        2,
        zkinfer_circuits::Node {
            name: "remainders".into(),
            op: Op::Gather(GatherOp {
                sources: (0..4).map(|i| (0, 2 * i + 1)).collect(),
            }),
            inputs: vec![pairs],
            output: remainders,
        },
    );
    let check = network.tensors.len();
    network.tensors.push(zkinfer_circuits::TensorInfo {
        name: "check".into(),
        shape: vec![4],
    });
    network.nodes.insert(
        3,
        zkinfer_circuits::Node {
            name: "check".into(),
            op: unit((0..4).collect(), (0..4).collect(), below(), false),
            inputs: vec![remainders, divisor],
            output: check,
        },
    );
    network.validate().unwrap();
    let split = split_nodes(&network, &Tiny::PARAMS, 2).unwrap();
    assert!(split.nodes.len() > network.nodes.len());
    split.validate().unwrap();
    assert_eq!(mock(&split, &INPUT, |_, _| {}), Ok(()));
}

// ---------------------------------------------------------------------------------------------
// A square root without the check of its remainder.

/// `σ = isqrt(x² + 5)` with its (σ, r) pairs, the check `r ≤ 2σ` if `check`, and the roots as
/// the output.
fn square_root(root: UnitKind, check: Option<UnitKind>) -> Network {
    let (mut b, x) = NetworkBuilder::new("x", vec![4]);
    let square = b.push(
        "square",
        unit(
            (0..4).collect(),
            vec![],
            kind(|k| {
                k.ca = 0;
                k.caa = 1;
                k.c0 = 5;
            }),
            false,
        ),
        vec![x],
        vec![4],
    );
    let pairs = b.push(
        "sqrt",
        unit((0..4).collect(), vec![], root, true),
        vec![square],
        vec![8],
    );
    if let Some(check) = check {
        b.push(
            "sqrt_check",
            unit(
                (0..4).map(|i| 2 * i).collect(),
                (0..4).map(|i| 2 * i + 1).collect(),
                check,
                false,
            ),
            vec![pairs, pairs],
            vec![4],
        );
    }
    let roots = b.push(
        "roots",
        Op::Gather(GatherOp {
            sources: (0..4).map(|i| (0, 2 * i)).collect(),
        }),
        vec![pairs],
        vec![4],
    );
    b.finish(roots)
}

fn sqrt_kind() -> UnitKind {
    kind(|k| {
        k.mode = UnitMode::Sqrt;
        k.nonneg = true;
    })
}

fn root_check() -> UnitKind {
    kind(|k| {
        k.ca = 2;
        k.cb = -1;
        k.linear = 0;
        k.nonneg = true;
    })
}

/// Claims root σ − 1 and remainder r + 2σ − 1 for element 0 (unit slot 4), and recomputes
/// its check (unit slot 8) on them if `checked`.
fn forge_root(checked: bool) -> impl FnOnce(&Layout, &mut CircuitWitness) {
    move |_, w| {
        let honest = w.units[4].clone();
        let q = honest.quotient();
        let forged = claimed_unit(&sqrt_kind(), honest.a, 0, q - 1, honest.z + 2 * q - 1);
        if checked {
            // 2(σ − 1) − (r + 2σ − 1) = −r − 1, claimed as it is.
            let v = 2 * forged.y - forged.z;
            w.units[8] = claimed_unit(&root_check(), forged.y, forged.z, v, 0);
        }
        w.units[4] = forged;
        w.public[4] = q - 1;
    }
}

#[test]
fn a_square_root_without_its_check_is_forgeable_and_refused() {
    let network = square_root(sqrt_kind(), None);
    assert_eq!(network.forward(&INPUT).unwrap().output()[0], 37); // isqrt(1374)
    assert_eq!(mock(&network, &INPUT, forge_root(false)), Ok(()));
    assert_unproven(&network, "sqrt", &["element 0", "2q"]);

    let network = square_root(sqrt_kind(), Some(root_check()));
    network.validate().unwrap();
    assert_eq!(mock(&network, &INPUT, |_, _| {}), Ok(()));
    assert_rejected_by(&mock(&network, &INPUT, forge_root(true)), &["unit nonneg"]);

    // A root the check does not pin: not asserted non-negative, or not output as is.
    for (what, root) in [
        (
            "nonneg",
            UnitKind {
                nonneg: false,
                ..sqrt_kind()
            },
        ),
        (
            "out_c",
            UnitKind {
                out_c: 1,
                ..sqrt_kind()
            },
        ),
        (
            "relu",
            UnitKind {
                relu: 1,
                ..sqrt_kind()
            },
        ),
    ] {
        let network = square_root(root, Some(root_check()));
        assert_unproven(&network, "sqrt", &["square root"]);
        let _ = what;
    }
    // Without remainders, nothing can check it.
    let mut network = square_root(sqrt_kind(), None);
    if let Op::Unit(op) = &mut network.nodes[1].op {
        op.with_remainder = false;
    }
    network.tensors[network.nodes[1].output].shape = vec![4];
    network.nodes.pop();
    network.output = network.nodes[1].output;
    assert_unproven(&network, "sqrt", &["with_remainder"]);
}

// ---------------------------------------------------------------------------------------------
// A rescale that outputs its remainder.

#[test]
fn a_rescale_exposing_its_remainder_disagrees_and_is_refused() {
    let (mut b, x) = NetworkBuilder::new("x", vec![4]);
    let y = b.push(
        "rescale",
        unit((0..4).collect(), vec![], UnitKind::rescale(3, false), true),
        vec![x],
        vec![8],
    );
    let network = b.finish(y);
    // The forward pass outputs r = (37 + 4) mod 8 = 1; the circuit's remainder cell holds
    // r·2^9: the honest proof fails, and the public value 512 (which `run` never gives) passes.
    let trace = network.forward(&INPUT).unwrap();
    assert_eq!(&trace.output()[..2], &[5, 1]);
    assert!(mock(&network, &INPUT, |_, _| {}).is_err());
    let scaled = mock(&network, &INPUT, |_, w| {
        for i in 0..4 {
            w.public[4 + 2 * i + 1] *= 512;
        }
    });
    assert_eq!(scaled, Ok(()));
    assert_unproven(&network, "rescale", &["remainder", "rescale"]);
}

// ---------------------------------------------------------------------------------------------
// Values the native arithmetic cannot hold: refused, never a panic.

#[test]
fn extreme_values_are_refused_without_a_panic() {
    let malformed = |network: &Network, words: &[&str]| {
        let error = network.validate().unwrap_err();
        let message = error.to_string();
        for word in words {
            assert!(message.contains(word), "'{word}' missing: {message}");
        }
    };
    // Coefficients beyond 2^60 (whose sums overflowed u64 in the bound analysis).
    let huge = unary(kind(|k| {
        k.relu = i64::MIN;
        k.linear = i64::MIN;
    }));
    malformed(&huge, &["node 'scale'", "relu"]);
    // A unit input beyond what i128 holds.
    let (mut b, x) = NetworkBuilder::new("x", vec![4]);
    let sums = b.push(
        "sums",
        Op::Linear(dense(4, 4, vec![1 << 40; 16], vec![0; 4])),
        vec![x],
        vec![4],
    );
    let y = b.push(
        "product",
        unit(
            (0..4).collect(),
            (0..4).collect(),
            kind(|k| {
                k.ca = 0;
                k.cab = 1 << 50;
            }),
            false,
        ),
        vec![sums, sums],
        vec![4],
    );
    malformed(&b.finish(y), &["node 'product'", "2^120"]);
    // A huge weight on a tensor that is always zero (bound 0): still refused.
    let (mut b, x) = NetworkBuilder::new("x", vec![4]);
    let zeros = b.push(
        "zeros",
        unit((0..4).collect(), vec![], kind(|k| k.linear = 0), false),
        vec![x],
        vec![4],
    );
    let acc = b.push(
        "dense",
        Op::Linear(dense(4, 1, vec![i64::MAX, 0, 0, 0], vec![1])),
        vec![zeros],
        vec![1],
    );
    let y = b.push(
        "out",
        unit(vec![0], vec![], UnitKind::rescale(0, false), false),
        vec![acc],
        vec![1],
    );
    malformed(&b.finish(y), &["node 'dense'", "weight"]);
    // Sizes whose products overflow.
    let mut network = unary(UnitKind::rescale(0, false));
    network.tensors.push(zkinfer_circuits::TensorInfo {
        name: "unused".into(),
        shape: vec![usize::MAX, 3],
    });
    malformed(&network, &["network", "unused"]);
    let (mut b, x) = NetworkBuilder::new("x", vec![4]);
    let mut linear = dense(4, 1, vec![1; 4], vec![0]);
    linear.channels = usize::MAX / 2 + 1;
    linear.taps = 2;
    let y = b.push("dense", Op::Linear(linear), vec![x], vec![1]);
    malformed(&b.finish(y), &["node 'dense'", "sizes"]);
    // A table whose domain runs off the end of i64.
    let (mut b, x) = NetworkBuilder::new("x", vec![4]);
    let table = b.table(FunctionTable {
        name: "edge".into(),
        lo: i64::MAX - 1,
        values: vec![1, 2, 3],
    });
    let y = b.push("lookup", Op::Table(TableOp { table }), vec![x], vec![4]);
    malformed(&b.finish(y), &["table 'edge'"]);
}
