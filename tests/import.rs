//! ONNX import: every fixture imports with the semantics onnxruntime gives it, and unsupported
//! models fail naming every offending node.

mod common;

use common::{fixture, model, samples};
use zkinfer::error::ImportError;
use zkinfer::graph::{FloatOp, LinearGeometry};
use zkinfer::input::parse_samples;
use zkinfer::Model;

const MODELS: &[&str] = &[
    "mlp_64_32_10",
    "mlp_784_128_64_10",
    "lenet5",
    "cifar_cnn",
    "resnet_small",
    "transformer_block",
    "transformer_block_legacy",
];

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

fn op_names(m: &Model) -> Vec<String> {
    m.graph()
        .nodes
        .iter()
        .map(|n| match &n.op {
            FloatOp::Linear {
                geometry: LinearGeometry::Conv(_),
                ..
            } => format!("conv:{}", n.name),
            FloatOp::Linear { .. } => format!("linear:{}", n.name),
            FloatOp::Relu => "relu".into(),
            other => format!("{other:?}").chars().take(12).collect(),
        })
        .collect()
}

#[test]
fn fixture_mlps_import_with_their_layers() {
    let small = model("mlp_64_32_10");
    assert_eq!(small.graph().input().shape, vec![1, 64]);
    assert_eq!(small.graph().output().shape, vec![1, 10]);
    assert_eq!(op_names(&small), ["linear:fc1", "relu", "linear:fc2"]);
    let big = model("mlp_784_128_64_10");
    assert_eq!(big.graph().input().shape, vec![1, 1, 28, 28]);
    assert_eq!(big.graph().macs(), 784 * 128 + 128 * 64 + 64 * 10);
}

#[test]
fn batch_norm_after_a_convolution_is_folded_into_it() {
    let m = model("cifar_cnn");
    assert!(m
        .graph()
        .nodes
        .iter()
        .all(|n| !matches!(n.op, FloatOp::Affine { .. })));
    let convs = m
        .graph()
        .nodes
        .iter()
        .filter(|n| {
            matches!(
                &n.op,
                FloatOp::Linear {
                    geometry: LinearGeometry::Conv(_),
                    ..
                }
            )
        })
        .count();
    assert_eq!(convs, 3 + 1); // three convolutions and the global average pool
}

#[test]
fn the_legacy_layer_norm_pattern_becomes_one_operator() {
    let count = |m: &Model| {
        m.graph()
            .nodes
            .iter()
            .filter(|n| matches!(n.op, FloatOp::LayerNorm { .. }))
            .count()
    };
    assert_eq!(count(&model("transformer_block")), 2);
    assert_eq!(count(&model("transformer_block_legacy")), 2);
}

#[test]
fn imported_float_graphs_match_onnxruntime_and_tract() {
    for dir in MODELS {
        let m = model(dir);
        let len = m.graph().input().len();
        let test = std::fs::read(fixture(&format!("{dir}/test.json"))).unwrap();
        let inputs = parse_samples(&test, len).unwrap();
        let logits: Vec<Vec<f32>> = serde_json::from_value(
            serde_json::from_slice::<serde_json::Value>(&test).unwrap()["float_logits"].clone(),
        )
        .unwrap();
        let tract = m.float_reference().unwrap();
        for (x, expected) in inputs.iter().zip(&logits).take(10) {
            assert_close(&m.graph().forward(x), expected, 2e-4);
            assert_close(&tract.run(x).unwrap(), expected, 2e-4);
        }
    }
}

#[test]
fn onnx_edge_cases_follow_onnx_semantics() {
    for name in [
        "gemm_alpha_beta",
        "gemm_transA",
        "identity_reshape",
        "matmul_no_bias",
        "unsupported_ops",
    ] {
        let m = load(&format!("variants/{name}.onnx")).unwrap_or_else(|e| panic!("{name}: {e}"));
        let input = samples(
            "variants",
            &format!("{name}.input.json"),
            m.graph().input().len(),
        )
        .remove(0);
        assert_close(&m.graph().forward(&input), &reference_output(name), 1e-4);
    }
}

#[test]
fn every_unsupported_node_is_listed() {
    let err = load("variants/many_unsupported.onnx").unwrap_err();
    let ImportError::UnsupportedOps(nodes) = &err else {
        panic!("{err}")
    };
    let listed: Vec<_> = nodes
        .iter()
        .map(|n| (n.op.as_str(), n.node.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            ("InstanceNormalization", "inorm"),
            ("Elu", "elu"),
            ("Resize", "upsample")
        ]
    );

    let err = load("variants/lstm.onnx").unwrap_err().to_string();
    assert!(err.contains("LSTM (node 'rnn')"), "{err}");
    let err = load("variants/conv_unsupported.onnx")
        .unwrap_err()
        .to_string();
    assert!(err.contains("Resize (node 'upsample')"), "{err}");
}

#[test]
fn garbage_is_not_an_onnx_model() {
    assert!(matches!(
        Model::from_onnx(b"definitely not protobuf"),
        Err(ImportError::Parse(_))
    ));
    assert!(matches!(Model::from_onnx(&[]), Err(ImportError::Parse(_))));
}
