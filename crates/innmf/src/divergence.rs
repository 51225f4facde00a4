//! The β-divergence family, pointwise, with its derivative in the estimate.
//!
//! For data `x ≥ 0`, estimate `y ≥ 0` and a small `ε > 0`:
//!
//! | β | name | d(x‖y) | ∂d/∂y |
//! |---|---|---|---|
//! | 2 | Euclidean | ½(x − y)² | y − x |
//! | 1 | Kullback–Leibler (I-divergence) | x·ln((x+ε)/(y+ε)) − x + y | 1 − x/(y+ε) |
//! | 0 | Itakura–Saito | (x+ε)/(y+ε) − ln((x+ε)/(y+ε)) − 1 | 1/(y+ε) − (x+ε)/(y+ε)² |
//! | other | β-divergence | (x^β + (β−1)ŷ^β − β·x·ŷ^(β−1)) / (β(β−1)), ŷ = y+ε | ŷ^(β−1) − x·ŷ^(β−2) |
//!
//! The KL row with ε = 1e-8 is exactly the paper's loss. Every row is ≥ 0 and zero at `x = y`
//! (up to ε). The model's loss is the (optionally weighted) mean over points, accumulated in f64.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// The largest |β| accepted anywhere (fit, nmf, separate, the Python classes, experiment
/// configurations). The β terms raise magnitudes and the ε floor (1e-8) to the powers β and
/// β − 2: beyond ±10 they leave f64's range (1e-8^−12 is 1e96; 1e-8^−40 overflows) or vanish,
/// so the loss is infinite or NaN at the first step. The useful range is about [−1, 3].
pub const MAX_ABS_BETA: f64 = 10.0;

/// Checks a β: finite and within ±[`MAX_ABS_BETA`]. The one check behind every β option.
pub fn check_beta(beta: f64) -> Result<()> {
    if beta.is_finite() && beta.abs() <= MAX_ABS_BETA {
        Ok(())
    } else {
        Err(Error::param(
            "beta",
            beta,
            "a finite β in [−10, 10] (0 Itakura–Saito, 1 Kullback–Leibler, 2 Euclidean; beyond \
             ±10 the terms x^β and x^(β−2) overflow or vanish in f64 and the loss is NaN from the \
             first step)",
        ))
    }
}

/// A member of the β-divergence family with its ε.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Divergence {
    /// β: 0 Itakura–Saito, 1 Kullback–Leibler, 2 Euclidean, anything else in between or beyond.
    pub beta: f64,
    /// Floor added inside logarithms and ratios.
    pub eps: f64,
}

impl Default for Divergence {
    fn default() -> Self {
        Divergence::kl()
    }
}

impl Divergence {
    /// Kullback–Leibler with the paper's ε = 1e-8.
    pub fn kl() -> Self {
        Divergence {
            beta: 1.0,
            eps: 1e-8,
        }
    }

    /// A validated divergence: β through [`check_beta`], ε finite and > 0.
    pub fn new(beta: f64, eps: f64) -> Result<Self> {
        check_beta(beta)?;
        if !(eps.is_finite() && eps > 0.0) {
            return Err(Error::param("eps", eps, "a finite value > 0"));
        }
        Ok(Divergence { beta, eps })
    }

    /// Human-readable name.
    pub fn name(&self) -> String {
        match self.beta {
            0.0 => "itakura-saito".into(),
            1.0 => "kullback-leibler".into(),
            2.0 => "euclidean".into(),
            b => format!("beta={b}"),
        }
    }

    /// d(x‖y).
    #[inline]
    pub fn value(&self, x: f64, y: f64) -> f64 {
        let eps = self.eps;
        match self.beta {
            2.0 => 0.5 * (x - y) * (x - y),
            1.0 => {
                let l = if x > 0.0 {
                    x * ((x + eps) / (y + eps)).ln()
                } else {
                    0.0
                };
                l - x + y
            }
            0.0 => {
                let r = (x + eps) / (y + eps);
                r - r.ln() - 1.0
            }
            b => {
                let yh = y + eps;
                (x.powf(b) + (b - 1.0) * yh.powf(b) - b * x * yh.powf(b - 1.0)) / (b * (b - 1.0))
            }
        }
    }

    /// ∂d(x‖y)/∂y.
    #[inline]
    pub fn grad(&self, x: f64, y: f64) -> f64 {
        let eps = self.eps;
        match self.beta {
            2.0 => y - x,
            1.0 => 1.0 - x / (y + eps),
            0.0 => {
                let yh = y + eps;
                1.0 / yh - (x + eps) / (yh * yh)
            }
            b => {
                let yh = y + eps;
                yh.powf(b - 1.0) - x * yh.powf(b - 2.0)
            }
        }
    }

    /// Σᵢ d(xᵢ‖yᵢ) in f64.
    #[track_caller]
    pub fn sum(&self, x: &[f64], y: &[f64]) -> f64 {
        assert_eq!(x.len(), y.len());
        x.iter().zip(y).map(|(&a, &b)| self.value(a, b)).sum()
    }

    /// Mean of d(xᵢ‖yᵢ) in f64.
    #[track_caller]
    pub fn mean(&self, x: &[f64], y: &[f64]) -> f64 {
        self.sum(x, y) / x.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beta_is_bounded_by_one_check() {
        for beta in [-10.0, -1.0, 0.0, 1.0, 2.0, 3.5, 10.0] {
            assert!(Divergence::new(beta, 1e-8).is_ok(), "{beta}");
            assert!(check_beta(beta).is_ok());
        }
        // these gave "training diverged at step 0: loss = NaN" (exit 1) in fit and nmf
        for beta in [1e300, -1e300, 1e5, -1000.0, 10.5, f64::NAN, f64::INFINITY] {
            let m = Divergence::new(beta, 1e-8).unwrap_err().to_string();
            assert!(m.contains("[−10, 10]") && m.len() < 260, "{m}");
            let m = crate::nmf::NmfParams::new(2)
                .beta(beta)
                .check()
                .unwrap_err();
            assert!(m.to_string().contains("[−10, 10]"), "{m}");
        }
        let m = Divergence::new(1e300, 1e-8).unwrap_err().to_string();
        assert!(m.starts_with("invalid parameter beta = 1e300: "), "{m}");
    }

    #[test]
    fn zero_at_equality_and_positive_elsewhere() {
        for beta in [0.0, 0.5, 1.0, 1.5, 2.0, 3.0] {
            let d = Divergence::new(beta, 1e-12).unwrap();
            for &x in &[0.1, 1.0, 7.0] {
                assert!(d.value(x, x).abs() < 1e-9, "beta {beta}");
                assert!(d.value(x, 1.3 * x) > 0.0);
                assert!(d.value(x, 0.7 * x) > 0.0);
            }
        }
    }

    #[test]
    fn gradient_matches_finite_differences() {
        for beta in [0.0, 0.5, 1.0, 1.5, 2.0, -0.5] {
            let d = Divergence::new(beta, 1e-8).unwrap();
            for &(x, y) in &[(0.0, 0.5), (0.3, 0.9), (2.0, 0.4)] {
                if x == 0.0 && beta <= 0.0 {
                    continue;
                }
                let h = 1e-6;
                let num = (d.value(x, y + h) - d.value(x, y - h)) / (2.0 * h);
                assert!(
                    (d.grad(x, y) - num).abs() < 1e-6 * (1.0 + num.abs()),
                    "beta {beta}"
                );
            }
        }
    }

    #[test]
    fn general_formula_is_continuous_in_beta() {
        for &(x, y) in &[(0.3, 0.9), (2.0, 0.4)] {
            for target in [0.0, 1.0, 2.0] {
                let exact = Divergence::new(target, 1e-12).unwrap().value(x, y);
                let near = Divergence::new(target + 1e-7, 1e-12).unwrap().value(x, y);
                assert!(
                    (exact - near).abs() < 1e-5,
                    "beta {target}: {exact} vs {near}"
                );
            }
        }
    }

    #[test]
    fn rejects_bad_parameters() {
        assert!(Divergence::new(f64::NAN, 1e-8).is_err());
        assert!(Divergence::new(1.0, 0.0).is_err());
    }
}
