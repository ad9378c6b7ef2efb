//! Compilation: a quantised model placed on a circuit shape, with its `k` and cost report.

use std::sync::Arc;

use pasta_curves::Fp;
use serde::{Deserialize, Serialize};
use zkinfer_circuits::{with_shape, Layout, Network, NetworkCircuit, ShapeKind};

use crate::error::CompileError;
use crate::fidelity::FidelityReport;
use crate::quantize::QuantizedModel;

/// Choices for compilation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompileOptions {
    /// The column budget to lay the model out on.
    pub shape: ShapeKind,
    /// Refuse circuits larger than `2^max_k` rows.
    pub max_k: Option<u32>,
}

impl Default for CompileOptions {
    fn default() -> Self {
        Self {
            shape: ShapeKind::Tile32x16,
            max_k: None,
        }
    }
}

/// What a circuit costs: deterministic numbers for comparing builds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostReport {
    /// log2 of the number of rows.
    pub k: u32,
    /// Rows the layout uses.
    pub rows: usize,
    /// Rows available at this `k` (the rest are reserved for blinding).
    pub usable_rows: usize,
    /// Rows used by dense tiles.
    pub tile_rows: usize,
    /// Rescale units used.
    pub rescale_units: usize,
    /// Advice columns.
    pub advice_columns: usize,
    /// Fixed columns.
    pub fixed_columns: usize,
    /// Instance columns.
    pub instance_columns: usize,
    /// Columns in the permutation argument.
    pub equality_columns: usize,
    /// Lookup arguments (the layout uses none).
    pub lookups: usize,
    /// Multiply-accumulates of one inference.
    pub macs: usize,
}

impl std::fmt::Display for CostReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "k = {}: {} of {} usable rows ({} dense tile rows, {} rescale units); columns: {} advice, \
             {} fixed, {} instance ({} with copy constraints); {} lookups; {} MACs",
            self.k,
            self.rows,
            self.usable_rows,
            self.tile_rows,
            self.rescale_units,
            self.advice_columns,
            self.fixed_columns,
            self.instance_columns,
            self.equality_columns,
            self.lookups,
            self.macs
        )
    }
}

/// A quantised model laid out on a circuit: everything needed to build keys and prove.
#[derive(Clone, Debug)]
pub struct CompiledModel {
    /// The quantised model.
    pub model: QuantizedModel,
    /// The column budget.
    pub shape: ShapeKind,
    /// The circuit's size.
    pub k: u32,
    /// Cost of the circuit.
    pub cost: CostReport,
    /// Fidelity measured at compile time, if calibration data was given.
    pub fidelity: Option<FidelityReport>,
    network: Arc<Network>,
    layout: Arc<Layout>,
}

impl CompiledModel {
    /// Places `model` on a shape and chooses the smallest `k` that holds it.
    pub fn new(model: QuantizedModel, options: CompileOptions) -> Result<Self, CompileError> {
        let network = Arc::new(model.network.clone());
        let layout = Arc::new(Layout::new(&network, options.shape.params()));
        let (k, reserved) = with_shape!(options.shape, S => (
            NetworkCircuit::<S>::min_k::<Fp>(&layout),
            NetworkCircuit::<S>::reserved_rows::<Fp>(),
        ));
        if let Some(max_k) = options.max_k {
            if k > max_k {
                return Err(CompileError::TooLarge {
                    needed: k,
                    rows: layout.rows(),
                    max_k,
                });
            }
        }
        let shape = options.shape.params();
        let cost = CostReport {
            k,
            rows: layout.rows(),
            usable_rows: (1usize << k) - reserved,
            tile_rows: layout.tile_rows,
            rescale_units: layout.units,
            advice_columns: shape.advice_columns(),
            fixed_columns: shape.fixed_columns(),
            instance_columns: shape.instance_columns,
            equality_columns: shape.equality_columns(),
            lookups: 0,
            macs: layout.macs,
        };
        Ok(Self {
            model,
            shape: options.shape,
            k,
            cost,
            fidelity: None,
            network,
            layout,
        })
    }

    /// The integer network.
    pub fn network(&self) -> &Arc<Network> {
        &self.network
    }

    /// The placement of the network in the circuit.
    pub fn layout(&self) -> &Arc<Layout> {
        &self.layout
    }
}
