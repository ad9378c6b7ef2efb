//! Quantisation keeps the float model's decisions: on held-out data for every fixture, and for
//! models whose activations are very large or very small.

mod common;

use common::{fixture, model, samples};
use zkinfer::fidelity::argmax;
use zkinfer::graph::FloatOp;
use zkinfer::input::parse_labels;
use zkinfer::{CompileOptions, QuantizeOptions};

#[test]
fn every_fixture_keeps_argmax_and_accuracy_on_held_out_data() {
    for dir in [
        "mlp_64_32_10",
        "mlp_784_128_64_10",
        "lenet5",
        "cifar_cnn",
        "resnet_small",
        "transformer_block",
        "transformer_block_legacy",
    ] {
        let m = model(dir);
        let len = m.graph().input().len();
        let calibration = samples(dir, "calibration.json", len);
        let compiled = m
            .compile(
                &calibration,
                QuantizeOptions::default(),
                CompileOptions::default(),
            )
            .unwrap();
        let test = std::fs::read(fixture(&format!("{dir}/test.json"))).unwrap();
        let held_out = samples(dir, "test.json", len);
        let labels = parse_labels(&test).unwrap().unwrap();
        let report = m.fidelity(&compiled, &held_out, Some(&labels)).unwrap();
        assert!(report.argmax_agreement() >= 0.99, "{dir}: {report}");
        assert!(
            report.accuracy_drop_points().unwrap() <= 0.5,
            "{dir}: {report}"
        );
        assert_eq!(report.refused, 0, "{dir}: {report}");
    }
}

#[test]
fn large_and_small_activations_keep_their_accuracy() {
    // Scaling the first layer by f and the second by 1/f leaves the logits unchanged (ReLU is
    // positively homogeneous) but makes the hidden activations f times larger.
    let base = model("mlp_64_32_10");
    let len = base.graph().input().len();
    let calibration = samples("mlp_64_32_10", "calibration.json", len);
    let held_out = samples("mlp_64_32_10", "test.json", len);
    for factor in [16.0f32, 0.01] {
        let mut graph = base.graph().clone();
        let mut linears = graph.nodes.iter_mut().filter_map(|n| match &mut n.op {
            FloatOp::Linear { weights, bias, .. } => Some((weights, bias)),
            _ => None,
        });
        let (w1, b1) = linears.next().unwrap();
        w1.iter_mut()
            .chain(b1.iter_mut())
            .for_each(|v| *v *= factor);
        let (w2, _) = linears.next().unwrap();
        w2.iter_mut().for_each(|v| *v /= factor);
        drop(linears);
        let hidden = graph.forward_all(&calibration[0]);
        let peak = hidden[2].iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(
            if factor > 1.0 { peak > 8.0 } else { peak < 0.2 },
            "hidden peak {peak}"
        );

        let quantized =
            zkinfer::quantize::quantize(&graph, &calibration, QuantizeOptions::default()).unwrap();
        let agree = held_out
            .iter()
            .enumerate()
            .filter(|(i, x)| argmax(&quantized.run(*i, x).unwrap()) == argmax(&graph.forward(x)))
            .count();
        assert!(
            agree as f64 >= 0.99 * held_out.len() as f64,
            "factor {factor}: {agree}/{}",
            held_out.len()
        );
    }
}
