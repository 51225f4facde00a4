//! Optimizers with PyTorch's semantics: Rprop (iRprop⁻) and Adam.

use crate::error::{Error, Num, Result};
use crate::simd::simd_fn;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Optimizer choice and hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum OptimizerConfig {
    /// `torch.optim.Rprop`: per-parameter step sizes adapted by the sign of successive gradients.
    Rprop {
        /// Initial step size (lr).
        lr: f32,
        /// Shrink factor on a sign change.
        eta_minus: f32,
        /// Growth factor on equal signs.
        eta_plus: f32,
        /// Smallest step size.
        step_min: f32,
        /// Largest step size.
        step_max: f32,
    },
    /// `torch.optim.Adam` (no weight decay, no amsgrad).
    Adam {
        /// Learning rate.
        lr: f32,
        /// First-moment decay.
        beta1: f32,
        /// Second-moment decay.
        beta2: f32,
        /// Denominator floor.
        eps: f32,
    },
}

impl OptimizerConfig {
    /// The paper's optimizer: Rprop with lr 1e-3, etas (0.5, 1.2), steps in [1e-6, 50].
    pub fn rprop(lr: f32) -> Self {
        OptimizerConfig::Rprop {
            lr,
            eta_minus: 0.5,
            eta_plus: 1.2,
            step_min: 1e-6,
            step_max: 50.0,
        }
    }

    /// Adam with PyTorch's defaults and the given learning rate.
    pub fn adam(lr: f32) -> Self {
        OptimizerConfig::Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }

    /// Checks the hyper-parameters.
    pub fn validate(&self) -> Result<()> {
        let lr = match *self {
            OptimizerConfig::Rprop {
                lr,
                eta_minus,
                eta_plus,
                step_min,
                step_max,
            } => {
                if !(0.0 < eta_minus && eta_minus < 1.0 && eta_plus > 1.0) {
                    return Err(Error::param(
                        "rprop etas",
                        format!("({}, {})", Num(eta_minus), Num(eta_plus)),
                        "0 < eta_minus < 1 < eta_plus",
                    ));
                }
                if !(0.0 <= step_min && step_min <= step_max) {
                    return Err(Error::param(
                        "rprop step bounds",
                        format!("[{}, {}]", Num(step_min), Num(step_max)),
                        "0 <= min <= max",
                    ));
                }
                lr
            }
            OptimizerConfig::Adam {
                lr, beta1, beta2, ..
            } => {
                if !((0.0..1.0).contains(&beta1) && (0.0..1.0).contains(&beta2)) {
                    return Err(Error::param(
                        "adam betas",
                        format!("({}, {})", Num(beta1), Num(beta2)),
                        "values in [0, 1)",
                    ));
                }
                lr
            }
        };
        if !(lr.is_finite() && lr > 0.0 && lr <= MAX_LR) {
            return Err(Error::param(
                "lr",
                lr,
                "a learning rate in (0, 1000] (1e-3 in the paper): a step is about lr per \
                 parameter, and a larger one throws the networks' sine arguments past the range \
                 of their f32 evaluation (6433) at the first update",
            ));
        }
        Ok(())
    }
}

/// The largest learning rate accepted. Rprop's first step and Adam's every step move each
/// parameter by about `lr`: well before 1000 the networks' sine arguments leave the range of
/// their f32 evaluation (|ω·z| < 6433) and training diverges at step 1; explicit tables, whose
/// parameters are magnitudes in softplus space, can use steps up to the data's magnitudes.
pub const MAX_LR: f32 = 1000.0;

/// Optimizer state for one flat parameter vector.
#[derive(Debug, Clone)]
pub struct Optimizer {
    config: OptimizerConfig,
    a: Vec<f32>,
    b: Vec<f32>,
    t: u32,
}

impl Optimizer {
    /// Fresh state for `n` parameters.
    pub fn new(config: OptimizerConfig, n: usize) -> Result<Self> {
        config.validate()?;
        let (a, b) = match config {
            // a: previous gradient, b: step sizes (initialized to lr)
            OptimizerConfig::Rprop { lr, .. } => (vec![0.0; n], vec![lr; n]),
            // a: first moment, b: second moment
            OptimizerConfig::Adam { .. } => (vec![0.0; n], vec![0.0; n]),
        };
        Ok(Optimizer { config, a, b, t: 0 })
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &OptimizerConfig {
        &self.config
    }

    /// One update of `params` with gradient `grad` (element-wise, in parallel over blocks of
    /// parameters: the result does not depend on the thread count or SIMD level).
    #[track_caller]
    pub fn step(&mut self, params: &mut [f32], grad: &[f32]) {
        self.step_at(crate::simd::level(), params, grad, 1 << 14);
    }

    /// [`step`](Self::step) at a given SIMD level and parallel block size (for tests).
    #[track_caller]
    fn step_at(
        &mut self,
        level: crate::simd::Level,
        params: &mut [f32],
        grad: &[f32],
        block: usize,
    ) {
        assert!(params.len() == self.a.len() && grad.len() == self.a.len());
        self.t += 1;
        let blocks = params
            .par_chunks_mut(block)
            .zip(grad.par_chunks(block))
            .zip(self.a.par_chunks_mut(block))
            .zip(self.b.par_chunks_mut(block));
        match self.config {
            OptimizerConfig::Rprop {
                eta_minus,
                eta_plus,
                step_min,
                step_max,
                ..
            } => blocks.for_each(|(((p, g), prev), step)| {
                rprop(
                    level, p, g, prev, step, eta_minus, eta_plus, step_min, step_max,
                )
            }),
            OptimizerConfig::Adam {
                lr,
                beta1,
                beta2,
                eps,
            } => {
                let bc1 = 1.0 - (beta1 as f64).powi(self.t as i32);
                let bc2 = 1.0 - (beta2 as f64).powi(self.t as i32);
                let step_size = (lr as f64 / bc1) as f32;
                let bc2_sqrt = bc2.sqrt() as f32;
                blocks.for_each(|(((p, g), m), v)| {
                    adam(level, p, g, m, v, beta1, beta2, eps, step_size, bc2_sqrt)
                })
            }
        }
    }
}

simd_fn! {
    /// iRprop⁻ on a block: step sizes grow on equal gradient signs and shrink (and skip the
    /// update) on a sign change; written with selects so it vectorizes.
    fn rprop(
        params: &mut [f32],
        grad: &[f32],
        prev: &mut [f32],
        steps: &mut [f32],
        eta_minus: f32,
        eta_plus: f32,
        step_min: f32,
        step_max: f32,
    ) {
        for (((p, &g), pv), st) in params
            .iter_mut()
            .zip(grad)
            .zip(prev.iter_mut())
            .zip(steps.iter_mut())
        {
            let s = g * *pv;
            let factor = if s > 0.0 {
                eta_plus
            } else if s < 0.0 {
                eta_minus
            } else {
                1.0
            };
            *st = (*st * factor).clamp(step_min, step_max);
            let g_eff = if s < 0.0 { 0.0 } else { g };
            let sign = if g_eff > 0.0 {
                1.0
            } else if g_eff < 0.0 {
                -1.0
            } else {
                0.0
            };
            *p -= sign * *st;
            *pv = g_eff;
        }
    }
}

simd_fn! {
    /// Adam on a block (bias corrections precomputed by the caller).
    fn adam(
        params: &mut [f32],
        grad: &[f32],
        m: &mut [f32],
        v: &mut [f32],
        beta1: f32,
        beta2: f32,
        eps: f32,
        step_size: f32,
        bc2_sqrt: f32,
    ) {
        for (((p, &g), m), v) in params
            .iter_mut()
            .zip(grad)
            .zip(m.iter_mut())
            .zip(v.iter_mut())
        {
            *m = beta1 * *m + (1.0 - beta1) * g;
            *v = beta2 * *v + (1.0 - beta2) * g * g;
            let denom = v.sqrt() / bc2_sqrt + eps;
            *p -= step_size * *m / denom;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learning_rate_is_bounded() {
        for lr in [1e-3, 1.0, MAX_LR] {
            assert!(OptimizerConfig::rprop(lr).validate().is_ok(), "{lr}");
        }
        // 1e30 gave "training diverged at step 1" (exit 1)
        for lr in [1e30f32, 1001.0, 0.0, -1.0, f32::NAN] {
            let m = OptimizerConfig::rprop(lr)
                .validate()
                .unwrap_err()
                .to_string();
            assert!(m.contains("(0, 1000]"), "{m}");
        }
        let m = OptimizerConfig::rprop(1e30)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(m.starts_with("invalid parameter lr = 1e30: "), "{m}");
    }

    #[test]
    fn rprop_follows_the_irprop_minus_rules() {
        let mut o = Optimizer::new(OptimizerConfig::rprop(0.1), 1).unwrap();
        let mut p = [0.0f32];
        o.step(&mut p, &[2.0]); // first step: prev = 0 → factor 1, step 0.1
        assert!((p[0] + 0.1).abs() < 1e-7);
        o.step(&mut p, &[1.0]); // same sign → step 0.12
        assert!((p[0] + 0.22).abs() < 1e-6);
        o.step(&mut p, &[-1.0]); // sign change → step 0.06, no move, prev = 0
        assert!((p[0] + 0.22).abs() < 1e-6);
        o.step(&mut p, &[-1.0]); // prev 0 → factor 1, move +0.06
        assert!((p[0] + 0.16).abs() < 1e-6);
    }

    #[test]
    fn adam_minimizes_a_quadratic() {
        let mut o = Optimizer::new(OptimizerConfig::adam(0.05), 2).unwrap();
        let mut p = [3.0f32, -2.0];
        for _ in 0..2000 {
            let g = [2.0 * p[0], 2.0 * (p[1] - 1.0)];
            o.step(&mut p, &g);
        }
        assert!(p[0].abs() < 1e-2 && (p[1] - 1.0).abs() < 1e-2, "{p:?}");
    }

    #[test]
    fn every_simd_level_and_block_size_gives_the_same_bits() {
        let n = 40_000; // more than two blocks of 2^14
        let grads: Vec<Vec<f32>> = (0..6)
            .map(|s| {
                (0..n)
                    .map(|i| ((i * 7 + s * 13) as f32 * 0.37).sin())
                    .collect()
            })
            .collect();
        for cfg in [OptimizerConfig::rprop(1e-2), OptimizerConfig::adam(1e-2)] {
            let run = |l: crate::simd::Level, block: usize| {
                let mut o = Optimizer::new(cfg, n).unwrap();
                let mut p = vec![0.5f32; n];
                for g in &grads {
                    o.step_at(l, &mut p, g, block);
                }
                p
            };
            let want = run(crate::simd::Level::Scalar, n);
            assert!(want.iter().any(|&v| v != 0.5));
            for l in crate::simd::Level::available() {
                for block in [n, 1 << 14, 1000] {
                    assert_eq!(run(l, block), want, "{l} {block}");
                }
            }
        }
    }

    #[test]
    fn invalid_settings_are_rejected() {
        assert!(Optimizer::new(OptimizerConfig::rprop(-1.0), 1).is_err());
        assert!(Optimizer::new(OptimizerConfig::adam(f32::NAN), 1).is_err());
    }
}
