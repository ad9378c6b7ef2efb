//! Prove and verify a convolutional network: LeNet-5 by default, or your own ONNX file.
//!
//! ```text
//! cargo run --release --example cnn                       # fixtures/lenet5
//! cargo run --release --example cnn fixtures/resnet_small # a folder with model.onnx, input.json, ...
//! cargo run --release --example cnn my.onnx input.json calibration.json test.json
//! ```
//!
//! Supported layers: Conv (stride, padding, groups), BatchNormalization (folded), MaxPool,
//! AveragePool, GlobalAveragePool, residual Add, Relu/Clip/LeakyRelu, Gemm — see the README.

mod common;

fn main() -> zkinfer::Result<()> {
    common::prove_and_verify(&common::ModelFiles::from_args("lenet5"))
}
