//! The training loop: seeded random subsets, Rprop/Adam steps, a stopping rule and a report.
//!
//! Stopping rule: every `check_every` steps the mean loss of the last `check_every` steps is
//! compared with the mean of the `check_every` steps before; training stops (converged) when
//! `(previous − current) / initial < tol`, scikit-learn's relative-decrease test applied to
//! windowed means so that the noise of random subsets does not trigger it. `tol = 0` runs every
//! step.

use crate::divergence::Divergence;
use crate::error::{Error, Result};
use crate::model::{Model, Sampling, Trainer};
use crate::optim::{Optimizer, OptimizerConfig};
use crate::points::TfPoints;
use rand::{RngCore, SeedableRng};
use serde::{Deserialize, Serialize};
use std::ops::ControlFlow;
use std::time::Instant;

/// Which parameters a fit leaves as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Freeze {
    /// Train W and H.
    #[default]
    None,
    /// Keep W fixed (e.g. refit H at a new resolution, or activations with frozen templates).
    W,
    /// Keep the first `n` components of W fixed and train the rest of W and all of H
    /// (supervised templates plus free components learned on the data: semi-supervised
    /// separation, arXiv 2404.04439 §3.4).
    WComponents {
        /// Number of leading components of W kept fixed.
        n: usize,
    },
    /// Keep H fixed (train the templates for given activations).
    H,
}

/// Settings of one fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitConfig {
    /// Maximum number of optimizer steps.
    pub steps: usize,
    /// Fraction of the points drawn at random for each step (1 = full batch).
    pub fraction: f64,
    /// Relative-decrease tolerance (0 disables early stopping).
    pub tol: f64,
    /// Steps per stopping check.
    pub check_every: usize,
    /// Optimizer.
    pub optimizer: OptimizerConfig,
    /// Loss.
    pub divergence: Divergence,
    /// Seed of the subset draws.
    pub seed: u64,
    /// Parameters kept fixed.
    #[serde(default)]
    pub freeze: Freeze,
    /// Optimizer of H when it should differ from W's (`None`: [`optimizer`](Self::optimizer)
    /// for both). A network W and a table H want different steps: Rprop's step bound suits a
    /// table's raw values but lets a network's weights jump by up to `step_max` at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub h_optimizer: Option<OptimizerConfig>,
    /// How the networks are evaluated at the points' distinct coordinates (a checked grid
    /// where that saves at least half the work, or always exactly: the default). Left out of
    /// the JSON at its default, so settings written before it existed keep their bytes.
    #[serde(default, skip_serializing_if = "Sampling::is_exact")]
    pub sampling: Sampling,
}

impl Default for FitConfig {
    fn default() -> Self {
        FitConfig {
            steps: 1000,
            fraction: 1.0,
            tol: 0.0,
            check_every: 10,
            optimizer: OptimizerConfig::rprop(1e-3),
            divergence: Divergence::kl(),
            seed: 0,
            freeze: Freeze::None,
            h_optimizer: None,
            sampling: Sampling::Exact,
        }
    }
}

/// Most optimizer steps a fit may take (a larger request is a typo, not a plan).
pub const MAX_STEPS: usize = 100_000_000;

/// Checks a count of iterations that all run (NMF's, a warm start's, phase refinement's)
/// against [`MAX_STEPS`]; `unit` names them in the message ("iterations").
///
/// # Errors
/// [`Error::InvalidParameter`] naming `name` and its value.
pub fn check_iterations(name: &'static str, n: usize, unit: &str) -> Result<()> {
    if n > MAX_STEPS {
        return Err(Error::param(name, n, format!("at most {MAX_STEPS} {unit}")));
    }
    Ok(())
}

impl FitConfig {
    /// Checks the settings (the model-dependent part, `Freeze::WComponents` against the rank, is
    /// checked by [`fit`]).
    pub fn validate(&self) -> Result<()> {
        if self.steps == 0 || self.steps > MAX_STEPS {
            return Err(Error::param(
                "steps",
                self.steps,
                format!("between 1 and {MAX_STEPS}"),
            ));
        }
        if !(self.fraction > 0.0 && self.fraction <= 1.0) {
            return Err(Error::param("fraction", self.fraction, "a value in (0, 1]"));
        }
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return Err(Error::param("tol", self.tol, "a finite value >= 0"));
        }
        if self.check_every == 0 {
            return Err(Error::param("check_every", 0, "at least 1"));
        }
        if let Some(h) = &self.h_optimizer {
            h.validate()?;
        }
        self.optimizer.validate()
    }
}

/// What happened during a fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    /// Steps taken.
    pub steps: usize,
    /// Loss of every step (on that step's subset, before the update).
    pub loss_history: Vec<f64>,
    /// Loss on all points after the last step.
    pub final_loss: f64,
    /// True when the tolerance stopped training before the step limit.
    pub converged: bool,
    /// Wall-clock seconds.
    pub elapsed_s: f64,
    /// Points per step.
    pub points_per_step: usize,
}

/// Progress callback: `(step, steps, loss)` after every step; returning
/// [`ControlFlow::Break`] stops the fit, which then fails with [`Error::Interrupted`] (a user's
/// Ctrl-C, a cancelled job) and leaves the model as it was after that step.
pub type Progress<'a> = &'a mut dyn FnMut(usize, usize, f64) -> ControlFlow<()>;

/// Fits `model` to `points`, updating it in place: the one training loop of the library (model
/// training, activation fits with frozen templates, refits on other representations).
///
/// # Errors
/// Invalid settings, a `Freeze::WComponents` count above the rank, weights that do not match
/// the points, a diverging loss ([`Error::Diverged`]), a progress callback that asked to stop
/// ([`Error::Interrupted`]).
pub fn fit(
    model: &mut Model,
    points: &TfPoints,
    config: &FitConfig,
    weights: Option<&[f64]>,
    progress: Option<Progress<'_>>,
) -> Result<FitReport> {
    config.validate()?;
    if points.m().iter().all(|&v| v == 0.0) {
        return Err(Error::param(
            "points",
            format!("{} points, every magnitude 0", points.len()),
            "a point set with some energy (a silent input has nothing to fit)",
        ));
    }
    // the trainer holds its targets in f32: a larger magnitude is infinite there, and the loss
    // NaN at the first step (the fit would report a divergence, not the data)
    let top = points.m().iter().copied().fold(0.0, f64::max);
    if top > f64::from(f32::MAX) {
        return Err(Error::param(
            "training data",
            format!("a magnitude of {top:e}"),
            "magnitudes below 3.4e38 (training runs in f32): rescale the data",
        ));
    }
    let k = model.rank();
    let frozen_w_params = match config.freeze {
        Freeze::WComponents { n } if n > k => {
            return Err(Error::param(
                "frozen components",
                n,
                format!("at most the rank {k}"),
            ));
        }
        // components are stored one after the other with equal parameter counts
        Freeze::WComponents { n } => model.w.params().len() / k * n,
        _ => 0,
    };
    let train_w = !matches!(config.freeze, Freeze::W)
        && !matches!(config.freeze, Freeze::WComponents { n } if n == k);
    let train_h = config.freeze != Freeze::H;
    let start = Instant::now();
    let mut trainer =
        Trainer::with_sampling(model, points, config.divergence, weights, config.sampling)?;
    if !train_w {
        trainer.freeze_w(model);
    }
    let mut opt_w = Optimizer::new(config.optimizer, model.w.params().len())?;
    let mut opt_h = Optimizer::new(
        config.h_optimizer.unwrap_or(config.optimizer),
        model.h.params().len(),
    )?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(config.seed);
    let n = points.len();
    let n_sel = ((n as f64 * config.fraction).round() as usize).clamp(1, n);
    // the indices of a random subset (none to hold when every step takes every point)
    let mut subset: Vec<u32> = Vec::with_capacity(if n_sel < n { n_sel } else { 0 });
    let mut history = Vec::with_capacity(config.steps.min(1 << 20));
    let mut converged = false;
    let mut progress = progress;
    let w = config.check_every;
    for step in 0..config.steps {
        let sel = if n_sel < n {
            select_sorted(n, n_sel, &mut rng, &mut subset);
            Some(subset.as_slice())
        } else {
            None
        };
        let loss = trainer.loss_and_grad(model, sel, true);
        if !loss.is_finite() {
            return Err(Error::Diverged { step, loss });
        }
        history.push(loss);
        if train_w {
            trainer.grad_w[..frozen_w_params].fill(0.0);
            opt_w.step(model.w.params_mut(), &trainer.grad_w);
        }
        if train_h {
            opt_h.step(model.h.params_mut(), &trainer.grad_h);
        }
        if let Some(p) = progress.as_mut() {
            if p(step + 1, config.steps, loss).is_break() {
                return Err(Error::Interrupted { step: step + 1 });
            }
        }
        let s = history.len();
        if config.tol > 0.0 && s >= 2 * w && s % w == 0 {
            let cur: f64 = history[s - w..].iter().sum::<f64>() / w as f64;
            let prev: f64 = history[s - 2 * w..s - w].iter().sum::<f64>() / w as f64;
            if (prev - cur) / history[0].abs().max(f64::MIN_POSITIVE) < config.tol {
                converged = true;
                break;
            }
        }
    }
    let final_loss = trainer.loss_and_grad(model, None, false);
    Ok(FitReport {
        steps: history.len(),
        loss_history: history,
        final_loss,
        converged,
        elapsed_s: start.elapsed().as_secs_f64(),
        points_per_step: n_sel,
    })
}

/// Draws `k` of `0..n` uniformly without replacement, in increasing order (selection sampling,
/// Knuth's Algorithm S): one pass, exact size, sorted output for cache-friendly gathers.
pub fn select_sorted(n: usize, k: usize, rng: &mut impl RngCore, out: &mut Vec<u32>) {
    out.clear();
    out.resize(n, 0);
    let mut needed = k as u64;
    let mut count = 0usize;
    for i in 0..n {
        let remaining = (n - i) as u64;
        // uniform in 0..remaining by Lemire's multiply-shift (bias < remaining/2^32, negligible);
        // written branch-free: store always, advance only when selected
        let take = (((rng.next_u32() as u64 * remaining) >> 32) < needed) as usize;
        out[count] = i as u32;
        count += take;
        needed -= take as u64;
    }
    out.truncate(count);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_sampling_is_exact_sorted_and_uniform() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut out = Vec::new();
        let mut counts = vec![0usize; 10];
        for _ in 0..20000 {
            select_sorted(10, 5, &mut rng, &mut out);
            assert_eq!(out.len(), 5);
            assert!(out.windows(2).all(|w| w[0] < w[1]));
            for &i in &out {
                counts[i as usize] += 1;
            }
        }
        for c in counts {
            assert!((c as f64 - 10000.0).abs() < 400.0, "{c}");
        }
    }
}
