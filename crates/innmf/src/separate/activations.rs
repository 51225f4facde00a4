//! Step 2 of a separation: the activations `H` of every source's frozen templates (plus free
//! components) fitted to the mixture's points.

use super::templates::{nmf_model, sample_templates, TemplateSet};
use super::SeparateConfig;
use crate::divergence::Divergence;
use crate::error::{Error, Num, Result};
use crate::field::{Factor, Table};
use crate::fit::{fit, FitConfig, FitReport, Freeze, Progress};
use crate::model::Model;
use crate::nmf::{Init, NmfParams};
use crate::points::TfPoints;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// How the activations `H` are fitted to the mixture with the templates frozen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum HSolver {
    /// Gradient steps of [`SeparateConfig::optimizer`] on softplus-parametrized `H` (the
    /// authors' iN-NMF separation: 100 Rprop steps).
    #[default]
    Rprop,
    /// β multiplicative updates of [`crate::nmf`] with `W` fixed (the authors' NMF separation:
    /// 3000 KL-MU iterations); `steps` iterations, no early stop.
    Mu,
}

crate::error::from_str_by_serde_name!(HSolver, "solver", "rprop, mu");

/// Step 2 of [`separate`](super::separate()) on its own: samples every template set's `W` at
/// the grid's bin frequencies, freezes it, and fits a fresh explicit `H` (plus `cfg.free` free
/// components) to the grid point set `points` (e.g. `|STFT|^p` of a mixture, or of a solo signal
/// to measure how well the templates reconstruct it). Uses `cfg.steps`, `cfg.optimizer`,
/// `cfg.solver`, `cfg.beta`, `cfg.free` and `cfg.seed`. Returns the model (explicit `W` and `H`
/// tables on the grid's coordinates), the components per output, and the fit report.
///
/// # Errors
/// No template sets and no free components, a point set that is not a grid (MU solver), a
/// template that is zero at every bin or non-finite somewhere, a diverging fit.
pub fn fit_activations(
    points: &TfPoints,
    templates: &[TemplateSet<'_>],
    cfg: &SeparateConfig,
    progress: Option<Progress<'_>>,
) -> Result<(Model, Vec<usize>, FitReport)> {
    if templates.is_empty() && cfg.free == 0 {
        return Err(Error::Empty {
            what: "template sets (and no free components)",
        });
    }
    if cfg.steps == 0 {
        return Err(Error::param("steps", 0, "at least 1"));
    }
    let freqs = points.unique_freqs().to_vec();
    let times = points.unique_times().to_vec();
    let (nf, nt) = (freqs.len(), times.len());
    // W: every template set's W at the mixture bins, then the free components
    let mut ranks: Vec<usize> = templates.iter().map(|s| s.model.rank()).collect();
    let k_fixed: usize = ranks.iter().sum();
    let k = k_fixed + cfg.free;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut w_vals = Vec::with_capacity(k * nf);
    for (s, set) in templates.iter().enumerate() {
        let w = sample_templates(set, &freqs);
        if let Some(i) = w.iter().position(|v| !v.is_finite()) {
            return Err(Error::param(
                "templates",
                format!(
                    "set {}, component {} at {} Hz: {}",
                    s + 1,
                    i / nf + 1,
                    Num(freqs[i % nf]),
                    w[i]
                ),
                "finite templates (the model's W overflows or holds a non-finite value there)",
            ));
        }
        w_vals.extend(w);
    }
    if cfg.free > 0 {
        ranks.push(cfg.free);
        // the scale of the fixed templates (or 1), times U[0.5, 1.5)
        let pos: Vec<f64> = w_vals.iter().copied().filter(|&v| v > 0.0).collect();
        let scale = if pos.is_empty() {
            1.0
        } else {
            pos.iter().sum::<f64>() / pos.len() as f64
        };
        for _ in 0..cfg.free * nf {
            w_vals.push(scale * rng.random_range(0.5..1.5));
        }
    }
    for (c, row) in w_vals.chunks_exact(nf).enumerate() {
        if row.iter().all(|&v| v <= 0.0) {
            return Err(Error::param(
                "templates",
                format!("component {c} is zero at every mixture frequency"),
                "templates with energy below the mixture's Nyquist frequency",
            ));
        }
    }

    // H: U[0,1) in softplus space, scaled so that mean(V̂) = mean(|X|^p)
    let h_table = Table::new(k, times.clone(), &mut rng)?;
    let h0: Vec<f64> = h_table.values().iter().map(|&v| v as f64).collect();
    let wsum: Vec<f64> = w_vals.chunks_exact(nf).map(|r| r.iter().sum()).collect();
    let vhat_mean: f64 = (0..k)
        .map(|c| wsum[c] * h0[c * nt..(c + 1) * nt].iter().sum::<f64>())
        .sum::<f64>()
        / (nf * nt) as f64;
    let target_mean = points.m().iter().sum::<f64>() / points.len() as f64;
    let scale = if vhat_mean > 0.0 && target_mean > 0.0 {
        target_mean / vhat_mean
    } else {
        1.0
    };
    let h_vals: Vec<f64> = h0.iter().map(|v| (v * scale).max(1e-12)).collect();
    let mut model = Model::new(
        Factor::Explicit(Table::from_values(k, freqs.clone(), &w_vals)?),
        Factor::Explicit(Table::from_values(k, times.clone(), &h_vals)?),
    )?;
    let divergence = Divergence::new(cfg.beta, 1e-8)?;
    let fit_report = if cfg.solver == HSolver::Mu {
        fit_mu(&mut model, points, cfg, k_fixed, &freqs, &times)?
    } else {
        let fit_cfg = FitConfig {
            steps: cfg.steps,
            fraction: cfg.fraction,
            tol: cfg.tol,
            optimizer: cfg.optimizer,
            divergence,
            seed: cfg.seed,
            freeze: if cfg.free == 0 {
                Freeze::W
            } else {
                Freeze::WComponents { n: k_fixed }
            },
            ..Default::default()
        };
        fit(&mut model, points, &fit_cfg, None, progress)?
    };

    Ok((model, ranks, fit_report))
}

/// The activation fit by multiplicative updates: `W` = the model's first `k_fixed` rows fixed,
/// the free rows and all of `H` fitted from the [`crate::nmf`] random start; the result is written
/// back into `model` as explicit tables.
fn fit_mu(
    model: &mut Model,
    points: &TfPoints,
    cfg: &SeparateConfig,
    k_fixed: usize,
    freqs: &[f64],
    times: &[f64],
) -> Result<FitReport> {
    let (nf, nt) = (freqs.len(), times.len());
    let k = model.rank();
    let v = points.grid_values().ok_or_else(|| {
        Error::Shape("the mixture points are not a full grid (needed by the MU solver)".into())
    })?;
    let wk: Vec<f64> = model.w.evaluate(freqs).iter().map(|&x| x as f64).collect();
    // [K, F] -> F×K_fixed
    let mut w_fixed = vec![0.0; nf * k_fixed];
    for c in 0..k_fixed {
        for f in 0..nf {
            w_fixed[f * k_fixed + c] = wk[c * nf + f].max(0.0);
        }
    }
    let nmf = NmfParams::new(k)
        .beta(cfg.beta)
        .init(Init::Random)
        .max_iter(cfg.steps)
        .tol(0.0)
        .check_every(super::MU_CHECK_EVERY)
        .seed(cfg.seed);
    let (w, h, rep) = nmf.fit_partial_as(cfg.mu_precision, &v, nf, nt, &w_fixed)?;
    *model = nmf_model(&w, &h, freqs, times)?;
    Ok(nmf_fit_report(&rep, nf * nt))
}

/// An NMF report in the form of the gradient engine's [`FitReport`].
pub(crate) fn nmf_fit_report(rep: &crate::nmf::NmfReport, points: usize) -> FitReport {
    FitReport {
        steps: rep.n_iter,
        loss_history: rep.loss_history.iter().map(|l| l.loss).collect(),
        final_loss: rep.final_loss,
        converged: rep.converged,
        elapsed_s: rep.elapsed_s,
        points_per_step: points,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::separate::nmf_model;

    #[test]
    fn non_finite_templates_are_reported_as_non_finite_not_as_silent() {
        let freqs = [0.0, 100.0, 200.0];
        let times = [0.0, 0.1];
        let points = TfPoints::from_grid(&freqs, &times, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        // W F×K = 3×1, H K×T = 1×2; then a NaN where a corrupt file or an overflow puts one
        let mut model = nmf_model(&[1.0, 2.0, 3.0], &[1.0, 1.0], &freqs, &times).unwrap();
        model.w.params_mut().fill(f32::NAN);
        let cfg = SeparateConfig::default();
        let err = fit_activations(&points, &[TemplateSet::from(&model)], &cfg, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("NaN") && err.contains("finite templates"),
            "{err}"
        );
        assert!(!err.contains("zero at every"), "{err}");
        assert!(err.contains("set 1, component 1 at 0 Hz"), "{err}");
    }
}
