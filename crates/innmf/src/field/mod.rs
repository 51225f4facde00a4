//! Factors: the functions `W_k(f)` and `H_k(t)`.
//!
//! A factor is either *implicit* ([`Mlp`]: K coordinate networks, evaluable anywhere) or
//! *explicit* ([`Table`]: one value per coordinate it was created for, as in classical NMF).
//! Both expose the same interface: values `[K, N]` at a bound set of coordinates, and the
//! gradient of the loss with respect to their parameters given ∂loss/∂values. So the four
//! W/H combinations share one code path (DESIGN.md decision 4).

pub mod axis;
pub mod fourier;
pub(crate) mod kernels;
pub mod mlp;
pub mod reference;
pub mod resample;
pub mod table;

pub use axis::{Axis, AxisScale};
pub use mlp::{Mlp, MlpConfig, MlpInit, MlpWorkspace, OutputMap, RowBlock};
pub use table::Table;

use crate::error::{Error, Result};

/// An implicit or explicit factor.
#[derive(Debug, Clone, PartialEq)]
pub enum Factor {
    /// Coordinate networks.
    Implicit(Mlp),
    /// A softplus-parameterized table.
    Explicit(Table),
}

impl Factor {
    /// Number of components K.
    pub fn components(&self) -> usize {
        match self {
            Factor::Implicit(m) => m.config.components,
            Factor::Explicit(t) => t.components,
        }
    }

    /// Trainable parameters.
    pub fn params(&self) -> &[f32] {
        match self {
            Factor::Implicit(m) => &m.params,
            Factor::Explicit(t) => &t.params,
        }
    }

    /// Trainable parameters, mutable.
    pub fn params_mut(&mut self) -> &mut [f32] {
        match self {
            Factor::Implicit(m) => &mut m.params,
            Factor::Explicit(t) => &mut t.params,
        }
    }

    /// "implicit" or "explicit".
    pub fn kind(&self) -> &'static str {
        match self {
            Factor::Implicit(_) => "implicit",
            Factor::Explicit(_) => "explicit",
        }
    }

    /// Values `[K, N]` at arbitrary physical coordinates (tables interpolate linearly).
    pub fn evaluate(&self, coords: &[f64]) -> Vec<f32> {
        match self {
            Factor::Implicit(m) => m.evaluate(coords),
            Factor::Explicit(t) => t.evaluate(coords),
        }
    }

    /// A workspace bound to `coords` (sorted unique coordinates). An explicit factor can only be
    /// bound to exactly the coordinates it was created for.
    pub fn workspace(&self, coords: &[f64]) -> Result<FactorWorkspace> {
        match self {
            Factor::Implicit(m) => Ok(FactorWorkspace::Implicit(MlpWorkspace::new(m, coords))),
            Factor::Explicit(t) => {
                if t.coords.len() != coords.len()
                    || t.coords
                        .iter()
                        .zip(coords)
                        .any(|(a, b)| a.to_bits() != b.to_bits())
                {
                    return Err(Error::Shape(format!(
                        "an explicit factor defined at {} coordinates cannot be trained on a \
                         point set with {} other coordinates; create a new table for it",
                        t.coords.len(),
                        coords.len()
                    )));
                }
                Ok(FactorWorkspace::Explicit { n: coords.len() })
            }
        }
    }
}

/// Buffers for evaluating and differentiating a factor at fixed coordinates.
#[derive(Debug, Clone)]
pub enum FactorWorkspace {
    /// Network activations.
    Implicit(MlpWorkspace),
    /// Tables need no buffers.
    Explicit {
        /// Number of coordinates.
        n: usize,
    },
}

impl FactorWorkspace {
    /// Runs the network kernels at `level` (clamped to the CPU; every level gives the same bits).
    pub fn set_level(&mut self, level: crate::simd::Level) {
        if let FactorWorkspace::Implicit(ws) = self {
            ws.set_level(level);
        }
    }

    /// Computes the values `[K, N]` into `out`.
    #[track_caller]
    pub fn forward(&mut self, factor: &Factor, out: &mut [f32]) {
        match (self, factor) {
            (FactorWorkspace::Implicit(ws), Factor::Implicit(m)) => {
                ws.forward(&m.params);
                ws.values_into(out);
            }
            (FactorWorkspace::Explicit { .. }, Factor::Explicit(t)) => t.values_into(out),
            _ => panic!("factor workspace used with a factor of the other kind"),
        }
    }

    /// Writes ∂loss/∂params into `grad` from ∂loss/∂values (`[K, N]`).
    #[track_caller]
    pub fn backward(&mut self, factor: &Factor, dvalues: &[f32], grad: &mut [f32]) {
        match (self, factor) {
            (FactorWorkspace::Implicit(ws), Factor::Implicit(m)) => {
                ws.backward(&m.params, dvalues, grad)
            }
            (FactorWorkspace::Explicit { .. }, Factor::Explicit(t)) => t.backward(dvalues, grad),
            _ => panic!("factor workspace used with a factor of the other kind"),
        }
    }
}
