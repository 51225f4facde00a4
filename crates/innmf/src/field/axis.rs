//! Mapping physical coordinates (Hz, seconds) to network inputs.
//!
//! A model stores the domain it was fit on and maps coordinates itself, so a model trained at
//! one window size, sample rate or transform can be evaluated anywhere (DESIGN.md decision 2).

use crate::error::{Error, Num, Result};
use serde::{Deserialize, Serialize};

/// Linear or logarithmic coordinate axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AxisScale {
    /// `u = (x − lo) / (hi − lo)`.
    #[default]
    Linear,
    /// `u = (ln x − ln lo) / (ln hi − ln lo)`; x is clamped to ≥ lo (so 0 Hz maps to 0).
    Log,
}

/// An input domain `[lo, hi]` mapped to network inputs `u ∈ [0, 1]` (values outside the domain
/// extrapolate linearly in `u`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Axis {
    /// Coordinate mapped to u = 0.
    pub lo: f64,
    /// Coordinate mapped to u = 1.
    pub hi: f64,
    /// Linear or log mapping.
    #[serde(default)]
    pub scale: AxisScale,
}

impl Axis {
    /// A linear axis on `[lo, hi]`.
    pub fn linear(lo: f64, hi: f64) -> Result<Self> {
        Axis::new(lo, hi, AxisScale::Linear)
    }

    /// The identity map: network inputs are the raw coordinates (`lo = 0`, `hi = 1`).
    pub fn identity() -> Self {
        Axis {
            lo: 0.0,
            hi: 1.0,
            scale: AxisScale::Linear,
        }
    }

    /// A validated axis.
    pub fn new(lo: f64, hi: f64, scale: AxisScale) -> Result<Self> {
        if !(lo.is_finite() && hi.is_finite() && hi > lo) {
            return Err(Error::param(
                "axis domain",
                format!("[{}, {}]", Num(lo), Num(hi)),
                "finite bounds with hi > lo",
            ));
        }
        if scale == AxisScale::Log && lo <= 0.0 {
            return Err(Error::param("axis lo (log scale)", lo, "a value > 0"));
        }
        Ok(Axis { lo, hi, scale })
    }

    /// Maps a physical coordinate to the network input.
    pub fn map(&self, x: f64) -> f64 {
        match self.scale {
            AxisScale::Linear => (x - self.lo) / (self.hi - self.lo),
            AxisScale::Log => (x.max(self.lo).ln() - self.lo.ln()) / (self.hi.ln() - self.lo.ln()),
        }
    }

    /// Maps every coordinate.
    pub fn map_all(&self, xs: &[f64]) -> Vec<f64> {
        xs.iter().map(|&x| self.map(x)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_domain_to_unit_interval() {
        let a = Axis::linear(0.0, 8000.0).unwrap();
        assert_eq!(a.map(0.0), 0.0);
        assert_eq!(a.map(8000.0), 1.0);
        assert_eq!(a.map(4000.0), 0.5);
        let l = Axis::new(20.0, 2000.0, AxisScale::Log).unwrap();
        assert!((l.map(200.0) - 0.5).abs() < 1e-12);
        assert_eq!(l.map(0.0), 0.0);
        assert!(Axis::linear(1.0, 1.0).is_err());
        assert!(Axis::new(0.0, 1.0, AxisScale::Log).is_err());
    }
}
