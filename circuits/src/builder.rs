//! Helpers to assemble networks: a builder that tracks tensors, and the gather maps of dense
//! layers and 2-D convolutions.

use crate::network::{Network, Node, TensorId, TensorInfo, Visibility};
use crate::ops::{FunctionTable, LinearOp, Op};

/// Assembles a [`Network`] node by node.
#[derive(Clone, Debug)]
pub struct NetworkBuilder {
    tensors: Vec<TensorInfo>,
    nodes: Vec<Node>,
    tables: Vec<FunctionTable>,
}

impl NetworkBuilder {
    /// A builder whose input tensor is `name` with `shape` (returned as tensor 0).
    pub fn new(name: &str, shape: Vec<usize>) -> (Self, TensorId) {
        let builder = Self {
            tensors: vec![TensorInfo {
                name: name.to_string(),
                shape,
            }],
            nodes: Vec::new(),
            tables: Vec::new(),
        };
        (builder, 0)
    }

    /// The shape of a tensor.
    pub fn shape(&self, tensor: TensorId) -> &[usize] {
        &self.tensors[tensor].shape
    }

    /// Adds a node writing a new tensor of `shape`; returns the tensor.
    pub fn push(
        &mut self,
        name: &str,
        op: Op,
        inputs: Vec<TensorId>,
        shape: Vec<usize>,
    ) -> TensorId {
        let output = self.tensors.len();
        self.tensors.push(TensorInfo {
            name: name.to_string(),
            shape,
        });
        self.nodes.push(Node {
            name: name.to_string(),
            op,
            inputs,
            output,
        });
        output
    }

    /// Registers a function table; returns its index.
    pub fn table(&mut self, table: FunctionTable) -> usize {
        if let Some(i) = self.tables.iter().position(|t| *t == table) {
            return i;
        }
        self.tables.push(table);
        self.tables.len() - 1
    }

    /// The network with `output` as its output.
    pub fn finish(self, output: TensorId) -> Network {
        Network {
            tensors: self.tensors,
            input: 0,
            output,
            nodes: self.nodes,
            tables: self.tables,
            input_visibility: Visibility::Public,
            output_visibility: Visibility::Public,
            committed_input: None,
            committed_output: None,
            params: None,
            links: None,
        }
    }
}

/// A dense layer `y = W·x + b` over `inputs` values (`weights` is `[outputs][inputs]`).
pub fn dense(inputs: usize, outputs: usize, weights: Vec<i64>, bias: Vec<i64>) -> LinearOp {
    LinearOp {
        channels: outputs,
        taps: inputs,
        weights,
        bias,
        groups: 1,
        positions: 1,
        gather: (0..inputs as u32).map(Some).collect(),
        channel_major: true,
        structural: false,
    }
}

/// The geometry of a 2-D convolution (or pooling window) over an NCHW tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2d {
    /// Input channels.
    pub in_channels: usize,
    /// Input height and width.
    pub input: (usize, usize),
    /// Kernel height and width.
    pub kernel: (usize, usize),
    /// Strides (height, width).
    pub stride: (usize, usize),
    /// Padding: top, left, bottom, right.
    pub pads: [usize; 4],
    /// Dilations (height, width).
    pub dilation: (usize, usize),
    /// Channel groups.
    pub groups: usize,
}

impl Conv2d {
    /// Output height and width.
    pub fn output(&self) -> (usize, usize) {
        let extent = |size: usize, pad: usize, kernel: usize, stride: usize, dilation: usize| {
            (size + pad - dilation * (kernel - 1) - 1) / stride + 1
        };
        (
            extent(
                self.input.0,
                self.pads[0] + self.pads[2],
                self.kernel.0,
                self.stride.0,
                self.dilation.0,
            ),
            extent(
                self.input.1,
                self.pads[1] + self.pads[3],
                self.kernel.1,
                self.stride.1,
                self.dilation.1,
            ),
        )
    }

    /// Taps per output channel: `(in_channels / groups) · kh · kw`.
    pub fn taps(&self) -> usize {
        self.in_channels / self.groups * self.kernel.0 * self.kernel.1
    }

    /// `[groups][positions][taps]` input indices, in the tap order `(channel, ky, kx)`; taps in
    /// the padding are `None`.
    pub fn gather(&self) -> Vec<Option<u32>> {
        let (oh, ow) = self.output();
        let (ih, iw) = self.input;
        let per_group = self.in_channels / self.groups;
        let mut gather = Vec::with_capacity(self.groups * oh * ow * self.taps());
        for g in 0..self.groups {
            for oy in 0..oh {
                for ox in 0..ow {
                    for c in g * per_group..(g + 1) * per_group {
                        for ky in 0..self.kernel.0 {
                            for kx in 0..self.kernel.1 {
                                let y = (oy * self.stride.0 + ky * self.dilation.0) as isize
                                    - self.pads[0] as isize;
                                let x = (ox * self.stride.1 + kx * self.dilation.1) as isize
                                    - self.pads[1] as isize;
                                let inside =
                                    (0..ih as isize).contains(&y) && (0..iw as isize).contains(&x);
                                gather.push(
                                    inside.then(|| {
                                        (c * ih * iw + y as usize * iw + x as usize) as u32
                                    }),
                                );
                            }
                        }
                    }
                }
            }
        }
        gather
    }

    /// A convolution with `weights` `[out_channels][taps]` and `bias`, writing NCHW output.
    pub fn linear(&self, out_channels: usize, weights: Vec<i64>, bias: Vec<i64>) -> LinearOp {
        let (oh, ow) = self.output();
        LinearOp {
            channels: out_channels,
            taps: self.taps(),
            weights,
            bias,
            groups: self.groups,
            positions: oh * ow,
            gather: self.gather(),
            channel_major: true,
            structural: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conv_gather_reads_the_right_pixels_and_pads() {
        // 1 channel 3×3, kernel 2×2, stride 1, pad 1 on top/left only -> 3×3 output.
        let conv = Conv2d {
            in_channels: 1,
            input: (3, 3),
            kernel: (2, 2),
            stride: (1, 1),
            pads: [1, 1, 0, 0],
            dilation: (1, 1),
            groups: 1,
        };
        assert_eq!(conv.output(), (3, 3));
        let g = conv.gather();
        assert_eq!(&g[..4], &[None, None, None, Some(0)]); // top-left window
        assert_eq!(&g[3 * 4..4 * 4], &[None, Some(0), None, Some(3)]); // position (1, 0)
        assert_eq!(&g[8 * 4..], &[Some(4), Some(5), Some(7), Some(8)]); // bottom-right
    }

    #[test]
    fn strided_grouped_conv_sizes() {
        let conv = Conv2d {
            in_channels: 4,
            input: (8, 8),
            kernel: (3, 3),
            stride: (2, 2),
            pads: [1, 1, 1, 1],
            dilation: (1, 1),
            groups: 2,
        };
        assert_eq!(conv.output(), (4, 4));
        assert_eq!(conv.taps(), 18);
        assert_eq!(conv.gather().len(), 2 * 16 * 18);
        // Group 1 reads channels 2 and 3 only.
        let group1 = &conv.gather()[16 * 18..];
        assert!(group1.iter().flatten().all(|&i| i >= 128));
    }
}
