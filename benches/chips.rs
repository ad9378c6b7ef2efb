//! Criterion benchmarks of each engine on its own: a network that exercises one chip, proven on
//! the shape with every engine (`general`), at the `k` it needs.
//!
//! ```text
//! cargo bench --bench chips
//! ```

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use rand::SeedableRng;
use zkinfer::graph::{FloatNode, FloatOp, Function, Graph, LinearGeometry, Tabulated, TensorSpec};
use zkinfer::onnx::shapes;
use zkinfer::{CompileOptions, CompiledModel, ParamsCache, QuantizeOptions, ShapeKind};

/// A graph with one operator `op` from an input of `input` values to an output of `output`.
fn single(input: Vec<usize>, output: Vec<usize>, op: FloatOp, inputs: Vec<usize>) -> Graph {
    Graph {
        tensors: vec![
            TensorSpec {
                name: "x".into(),
                shape: input,
            },
            TensorSpec {
                name: "y".into(),
                shape: output,
            },
        ],
        nodes: vec![FloatNode {
            name: "op".into(),
            op,
            inputs,
            output: 1,
        }],
        output: 1,
    }
}

fn pseudo_random(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        })
        .collect()
}

fn bench_graph(c: &mut Criterion, name: &str, graph: Graph) {
    let len = graph.input().len();
    let calibration: Vec<Vec<f32>> = (0..4).map(|i| pseudo_random(len, i)).collect();
    let model =
        zkinfer::quantize::quantize(&graph, &calibration, QuantizeOptions::default()).unwrap();
    let compiled = Arc::new(
        CompiledModel::new(
            model,
            CompileOptions {
                shape: Some(ShapeKind::General),
                max_k: None,
                slices: None,
                ..CompileOptions::default()
            },
        )
        .unwrap(),
    );
    let (params, _) = ParamsCache::from_env()
        .load_or_generate(compiled.k, |_| {})
        .unwrap();
    let prover = compiled.prover(Arc::new(params)).unwrap();
    let input = compiled.model.quantize_input(0, &calibration[0]).unwrap();
    let mut group = c.benchmark_group(format!("chip/{name}"));
    group.sample_size(10);
    group.bench_function("witness", |b| b.iter(|| compiled.witness(&input).unwrap()));
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    group.bench_function(format!("prove_k{}", compiled.k), |b| {
        b.iter(|| prover.prove_quantized(&input, &mut rng).unwrap())
    });
    group.finish();
}

fn chips(c: &mut Criterion) {
    // Dense tile: a 256 → 64 layer (16 k multiply-accumulates).
    let dense = FloatOp::Linear {
        weights: pseudo_random(256 * 64, 7),
        bias: pseudo_random(64, 8),
        channels: 64,
        geometry: LinearGeometry::Rows { positions: 1 },
        structural: false,
    };
    bench_graph(
        c,
        "dense_tile",
        single(vec![1, 256], vec![1, 64], dense, vec![0]),
    );
    // Units: 512 ReLUs.
    bench_graph(
        c,
        "unit_relu",
        single(vec![512], vec![512], FloatOp::Relu, vec![0]),
    );
    // Product chip: a 16×16 by 16×16 matrix product of activations.
    let m = shapes::matmul(&[16, 16], &[16, 16]).unwrap();
    let product = FloatOp::MatMul {
        terms: m.terms,
        scale: 1.0,
        a: m.a,
        b: m.b,
    };
    bench_graph(
        c,
        "product",
        single(vec![16, 16], vec![16, 16], product, vec![0, 0]),
    );
    // Lookup lane: 256 sigmoids.
    let sigmoid = FloatOp::Function(Tabulated::plain(Function::Sigmoid));
    bench_graph(
        c,
        "lookup_sigmoid",
        single(vec![256], vec![256], sigmoid, vec![0]),
    );
}

criterion_group!(benches, chips);
criterion_main!(benches);
