//! ONNX import: supported forms import with the right semantics, unsupported ones fail naming
//! every offending node.

mod common;

use common::{fixture, model, samples};
use zkinfer::error::ImportError;
use zkinfer::input::parse_samples;
use zkinfer::Model;

fn load(path: &str) -> Result<Model, ImportError> {
    Model::from_onnx(&std::fs::read(fixture(path)).unwrap())
}

fn reference_output(name: &str) -> Vec<f32> {
    let all: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("variants/reference_outputs.json")).unwrap())
            .unwrap();
    serde_json::from_value(all[name]["output"].clone()).unwrap()
}

#[track_caller]
fn assert_close(a: &[f32], b: &[f32], tolerance: f32) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= tolerance, "{a:?} vs {b:?}");
    }
}

#[test]
fn fixture_mlps_import_with_their_layers() {
    let small = model("mlp_64_32_10");
    let g = small.graph();
    assert_eq!(
        (g.input.shape.clone(), g.output.shape.clone()),
        (vec![1, 64], vec![1, 10])
    );
    let dims: Vec<_> = g
        .layers
        .iter()
        .map(|l| (l.name.as_str(), l.inputs(), l.outputs(), l.relu))
        .collect();
    assert_eq!(dims, [("fc1", 64, 32, true), ("fc2", 32, 10, false)]);

    let big = model("mlp_784_128_64_10");
    let dims: Vec<_> = big
        .graph()
        .layers
        .iter()
        .map(|l| (l.inputs(), l.outputs(), l.relu))
        .collect();
    assert_eq!(dims, [(784, 128, true), (128, 64, true), (64, 10, false)]);
    assert_eq!(big.graph().input.shape, vec![1, 1, 28, 28]);
}

#[test]
fn imported_float_graph_matches_onnxruntime_and_tract() {
    for dir in ["mlp_64_32_10", "mlp_784_128_64_10"] {
        let m = model(dir);
        let len = m.graph().input.len();
        let test = std::fs::read(fixture(&format!("{dir}/test.json"))).unwrap();
        let inputs = parse_samples(&test, len).unwrap();
        let logits: Vec<Vec<f32>> = serde_json::from_value(
            serde_json::from_slice::<serde_json::Value>(&test).unwrap()["float_logits"].clone(),
        )
        .unwrap();
        let tract = m.float_reference().unwrap();
        for (x, expected) in inputs.iter().zip(&logits).take(25) {
            assert_close(&m.graph().forward(x), expected, 1e-4);
            assert_close(&tract.run(x).unwrap(), expected, 1e-4);
        }
    }
}

#[test]
fn gemm_attributes_and_shape_ops_follow_onnx_semantics() {
    for name in [
        "gemm_alpha_beta",
        "gemm_transA",
        "identity_reshape",
        "matmul_no_bias",
    ] {
        let m = load(&format!("variants/{name}.onnx")).unwrap_or_else(|e| panic!("{name}: {e}"));
        let input = samples(
            "variants",
            &format!("{name}.input.json"),
            m.graph().input.len(),
        )
        .remove(0);
        assert_close(&m.graph().forward(&input), &reference_output(name), 1e-4);
    }
}

#[test]
fn every_unsupported_node_is_listed() {
    let err = load("variants/unsupported_ops.onnx").unwrap_err();
    let ImportError::UnsupportedOps(nodes) = &err else {
        panic!("{err}")
    };
    let listed: Vec<_> = nodes
        .iter()
        .map(|n| (n.op.as_str(), n.node.as_str()))
        .collect();
    assert_eq!(
        listed,
        [("Sigmoid", "act_sigmoid"), ("Softmax", "head_softmax")]
    );

    let err = load("variants/lstm.onnx").unwrap_err().to_string();
    assert!(err.contains("LSTM (node 'rnn')"), "{err}");
}

#[test]
fn garbage_is_not_an_onnx_model() {
    assert!(matches!(
        Model::from_onnx(b"definitely not protobuf"),
        Err(ImportError::Parse(_))
    ));
    assert!(matches!(Model::from_onnx(&[]), Err(ImportError::Parse(_))));
}
