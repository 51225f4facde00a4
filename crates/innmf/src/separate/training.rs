//! How iN-NMF's templates are trained beyond the paper's protocol (issue 15): the training
//! options and the named presets, the NMF warm start, the fits of W alone (to the data or to
//! NMF's templates), frequency midpoints, and [`train`], the one training path of `innmf fit`,
//! Python's `ImplicitNMF.fit` and [`learn_templates`](super::learn_templates).

use crate::error::{Error, Result};
use crate::field::{Factor, OutputMap, Table};
use crate::fit::{fit, FitConfig, FitReport, Freeze, Progress};
use crate::model::Model;
use crate::nmf::{Init, NmfParams, Precision};
use crate::optim::OptimizerConfig;
use crate::transform::Representation;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// iN-NMF training options beyond the paper's protocol (arXiv 2404.04439 §3), found while
/// looking for why iN-NMF trailed NMF. The default is the paper's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct TrainingOptions {
    /// Start at the data's scale
    /// ([`ModelSpec::match_scale`](crate::model::ModelSpec::match_scale)).
    pub match_scale: bool,
    /// Output map of W's networks.
    pub output: OutputMap,
    /// Optimizer of the explicit H (`None`: the templates' optimizer).
    pub h_optimizer: Option<OptimizerConfig>,
    /// Warm start from classical NMF when positive: this many KL multiplicative updates
    /// ([`crate::nmf`], the authors' `10 + N(0, 1)` start, no early stop) on the training
    /// spectrogram; H starts at NMF's H (rescaled with [`match_scale`](Self::match_scale) to the
    /// networks' initial scale), W's networks are fitted to the data with that H frozen for
    /// [`w_steps`](Self::w_steps) steps, then W and H train together for the templates' `steps`
    /// (W alone with [`freeze_h`](Self::freeze_h)). The networks can represent NMF's templates
    /// (they get within a few % of its KL from this start) but do not find them from a random
    /// one.
    pub nmf_warm_start: usize,
    /// Steps of the W-only stage of [`nmf_warm_start`](Self::nmf_warm_start).
    pub w_steps: usize,
    /// The main fit trains W alone, H frozen at the NMF warm start's activations (needs
    /// [`nmf_warm_start`](Self::nmf_warm_start) > 0): W's networks are fitted to the data
    /// through NMF's converged activations instead of moving with H (issue 15: the joint stage
    /// lowers the training KL and separates worse). Left out of the JSON when false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub freeze_h: bool,
    /// Points inserted between adjacent frequency bins of the training spectrogram for the W
    /// fits (the warm start's W-only stage and the main fit), their magnitudes interpolated
    /// linearly (0: the analysis's bins only). The networks
    /// then follow the interpolant between bins, where a mixture at another window samples them,
    /// instead of ringing there. Needs points on one grid. Left out of the JSON when 0.
    #[serde(skip_serializing_if = "is_zero")]
    pub freq_midpoints: usize,
    /// What the fits of W alone (the warm start's W-only stage, and the main fit with
    /// [`freeze_h`](Self::freeze_h)) fit W's networks to: the training data through NMF's
    /// activations (`data`, the default), or NMF's templates themselves (`templates`: each
    /// network to its own NMF template divided by the template's mean, by the same divergence,
    /// with that mean moved into H; [`match_scale`](Self::match_scale) then has nothing to do).
    /// Left out of the JSON when `data`.
    #[serde(skip_serializing_if = "WTarget::is_data")]
    pub w_target: WTarget,
    /// The arithmetic of the NMF warm start's multiplicative updates
    /// ([`Precision`]): `f64` (the default) iterates on the data as
    /// given; `f32` on the fused KL engine (2–4× faster for β = 1; the templates agree with
    /// f64's to f32 rounding). Left out of the JSON when `f64`.
    #[serde(skip_serializing_if = "Precision::is_f64")]
    pub nmf_precision: Precision,
}

/// What the W-only stage of an NMF warm start fits W's networks to
/// ([`TrainingOptions::w_target`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum WTarget {
    /// The training spectrogram, through NMF's activations (H frozen).
    #[default]
    Data,
    /// NMF's templates: network k is fitted to template k alone (H frozen at the identity on
    /// a grid whose frames are the templates), so a component's fit does not depend on how
    /// much of the data the other components explain.
    Templates,
}

impl WTarget {
    fn is_data(&self) -> bool {
        *self == WTarget::Data
    }
}

crate::error::from_str_by_serde_name!(WTarget, "w_target", "data, templates");

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Most points [`TrainingOptions::freq_midpoints`] inserts between two bins.
pub const MAX_FREQ_MIDPOINTS: usize = 7;

/// `m` within [`MAX_FREQ_MIDPOINTS`].
fn check_midpoints(m: usize) -> Result<()> {
    if m > MAX_FREQ_MIDPOINTS {
        return Err(Error::param(
            "freq_midpoints",
            m,
            format!("at most {MAX_FREQ_MIDPOINTS} (each one adds a copy of the training points)"),
        ));
    }
    Ok(())
}

/// `points` (one time-frequency grid) with `m` points inserted between adjacent frequencies,
/// their magnitudes interpolated linearly along frequency in each frame.
///
/// # Errors
/// Points that are not one grid, or `m` above [`MAX_FREQ_MIDPOINTS`].
pub fn with_freq_midpoints(
    points: &crate::points::TfPoints,
    m: usize,
) -> Result<crate::points::TfPoints> {
    with_freq_midpoints_weighted(points, None, m).map(|(p, _)| p)
}

/// [`with_freq_midpoints`], and per-point `weights` (in `points`' order) interpolated the same
/// way, in the new point set's order.
fn with_freq_midpoints_weighted(
    points: &crate::points::TfPoints,
    weights: Option<&[f64]>,
    m: usize,
) -> Result<(crate::points::TfPoints, Option<Vec<f64>>)> {
    check_midpoints(m)?;
    let not_grid = || {
        Error::param(
            "training points",
            "not one time-frequency grid",
            "points on a single grid (an stft or vqt analysis) for freq_midpoints",
        )
    };
    let v = points.grid_values().ok_or_else(not_grid)?;
    let (freqs, times) = (points.unique_freqs(), points.unique_times());
    let nt = times.len();
    // the new set's size, before it is allocated
    let n2 = ((freqs.len() - 1) * (m + 1) + 1).saturating_mul(nt);
    if n2 > u32::MAX as usize {
        return Err(Error::param(
            "freq_midpoints",
            m,
            format!("fewer: {n2} points would exceed the limit of 2^32 - 1"),
        ));
    }
    let (f2, v2) = midpoint_rows(freqs, &v, nt, m);
    let w2 = match weights {
        None => None,
        Some(w) if w.len() != points.len() => {
            return Err(Error::LengthMismatch {
                what: "weights vs points".into(),
                expected: points.len(),
                got: w.len(),
            })
        }
        // the weights in the grid's cell order, as the magnitudes
        Some(w) if points.is_row_major_grid() => Some(midpoint_rows(freqs, w, nt, m).1),
        Some(w) => {
            let grid = points.grid().ok_or_else(not_grid)?;
            let cells: Vec<f64> = grid.cell_to_point.iter().map(|&i| w[i as usize]).collect();
            Some(midpoint_rows(freqs, &cells, nt, m).1)
        }
    };
    let fine = crate::points::TfPoints::from_grid_owned(f2, times.to_vec(), v2)?;
    Ok((fine, w2))
}

/// The frequencies `freqs` with `m` points inserted between neighbours, and the rows of the
/// row-major `freqs.len() × nt` matrix `v` interpolated linearly to them.
fn midpoint_rows(freqs: &[f64], v: &[f64], nt: usize, m: usize) -> (Vec<f64>, Vec<f64>) {
    let nf = freqs.len();
    let nf2 = (nf - 1) * (m + 1) + 1;
    let mut f2 = Vec::with_capacity(nf2);
    let mut v2 = Vec::with_capacity(nf2 * nt);
    for i in 0..nf {
        f2.push(freqs[i]);
        v2.extend_from_slice(&v[i * nt..(i + 1) * nt]);
        if i + 1 == nf {
            break;
        }
        let (lo, hi) = (&v[i * nt..(i + 1) * nt], &v[(i + 1) * nt..(i + 2) * nt]);
        for s in 1..=m {
            let a = s as f64 / (m + 1) as f64;
            f2.push(freqs[i] + a * (freqs[i + 1] - freqs[i]));
            v2.extend(lo.iter().zip(hi).map(|(&x, &y)| (1.0 - a) * x + a * y));
        }
    }
    (f2, v2)
}

impl TrainingOptions {
    /// True for the paper's protocol.
    pub fn is_paper(&self) -> bool {
        *self == TrainingOptions::default()
    }

    /// True when the NMF warm start has a W-only stage, which can then be the whole training
    /// (zero main steps).
    pub fn has_w_only_stage(&self) -> bool {
        self.nmf_warm_start > 0 && self.w_steps > 0
    }

    /// What the main fit keeps fixed: H with [`freeze_h`](Self::freeze_h), else nothing.
    pub fn main_freeze(&self) -> Freeze {
        if self.freeze_h {
            Freeze::H
        } else {
            Freeze::None
        }
    }

    /// Checks the combination: [`freeze_h`](Self::freeze_h) needs an NMF warm start (a frozen
    /// random H would leave W nothing to learn), and an `h_optimizer` must be valid.
    ///
    /// # Errors
    /// The first invalid setting, named.
    pub fn validate(&self) -> Result<()> {
        // the fits' own limit (a warm start of 2^63 updates ran for ever)
        crate::fit::check_iterations(
            "nmf_warm_start",
            self.nmf_warm_start,
            "multiplicative updates",
        )?;
        if self.freeze_h && self.nmf_warm_start == 0 {
            return Err(Error::param(
                "freeze_h",
                true,
                "an NMF warm start (nmf_warm_start > 0): H is frozen at its activations",
            ));
        }
        if self.w_target == WTarget::Templates
            && !(self.nmf_warm_start > 0 && (self.w_steps > 0 || self.freeze_h))
        {
            return Err(Error::param(
                "w_target",
                "templates",
                "an NMF warm start (nmf_warm_start > 0) with a fit of W alone (w_steps > 0 or \
                 freeze_h): that fit is what follows NMF's templates",
            ));
        }
        if let Some(h) = &self.h_optimizer {
            h.validate()?;
        }
        check_midpoints(self.freq_midpoints)
    }
}

/// A named iN-NMF protocol: how the templates are trained and how activations are fitted on a
/// mixture. `Paper` is the authors' (arXiv 2404.04439 §3–4: a random start, 1000 full-batch
/// Rprop steps at lr 1e-3, 100 Rprop steps for the activations on a mixture); `Innmf` is the
/// protocol that closed most of the gap to NMF on our speech corpus (issue 15, see the README's
/// findings): classical NMF (3000 multiplicative updates, in f32 on the fused KL engine) is
/// fitted to the training data, each of W's networks is fitted to its NMF template for the
/// same 1000 Rprop steps
/// ([`WTarget::Templates`], with one interpolated frequency between adjacent bins,
/// [`TrainingOptions::freq_midpoints`]), H keeps NMF's activations, and the activations on a
/// mixture are fitted as NMF fits them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// The authors' exact protocol.
    #[default]
    Paper,
    /// Ours: [`Preset::training`] and [`Preset::activations`] say what it sets.
    Innmf,
}

crate::error::from_str_by_serde_name!(Preset, "preset", "paper, innmf");

impl std::fmt::Display for Preset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Preset::Paper => "paper",
            Preset::Innmf => "innmf",
        })
    }
}

impl Preset {
    /// The training options of the preset (the main fit's steps and optimizer are the paper's
    /// in both).
    pub fn training(self) -> TrainingOptions {
        match self {
            Preset::Paper => TrainingOptions::default(),
            Preset::Innmf => TrainingOptions {
                match_scale: true,
                nmf_warm_start: INNMF_WARM_NMF_ITERS,
                w_steps: 0,
                freeze_h: true,
                freq_midpoints: INNMF_FREQ_MIDPOINTS,
                w_target: WTarget::Templates,
                nmf_precision: Precision::F32,
                ..TrainingOptions::default()
            },
        }
    }

    /// The preset a separation uses when none is named (`innmf separate`, Python's
    /// `innmf.separate` and `learn_templates`): [`Preset::Innmf`], the best we found, on an
    /// STFT (`None`: the mixture's STFT of [`super::SeparateConfig`]), where it was chosen and
    /// tested (issue 15) and where its NMF warm start and multiplicative updates find one grid;
    /// `None` on other representations (the separation's own settings and the paper's training).
    pub fn separation_default(representation: Option<&Representation>) -> Option<Preset> {
        match representation {
            None | Some(Representation::Stft(_)) => Some(Preset::Innmf),
            Some(_) => None,
        }
    }

    /// The preset whose training options are `opts`, if any.
    pub fn of_training(opts: &TrainingOptions) -> Option<Preset> {
        [Preset::Paper, Preset::Innmf]
            .into_iter()
            .find(|p| p.training() == *opts)
    }

    /// The activation solver on a mixture and its steps (Rprop steps or MU iterations).
    pub fn activations(self) -> (super::HSolver, usize) {
        match self {
            Preset::Paper => (super::HSolver::Rprop, 100),
            Preset::Innmf => (INNMF_SOLVER, INNMF_SOLVER_STEPS),
        }
    }
}

const INNMF_WARM_NMF_ITERS: usize = 3000;

/// Interpolated frequencies between adjacent training bins in the `innmf` preset (issue 15:
/// one closes the networks' interference deficit at the windows they were not trained at;
/// three gained no more on the dev part at 1.75× the training time).
const INNMF_FREQ_MIDPOINTS: usize = 1;
const INNMF_SOLVER: super::HSolver = super::HSolver::Mu;
const INNMF_SOLVER_STEPS: usize = 3000;

/// The `training` record a model file keeps (`innmf fit`, Python's `ImplicitNMF.fit`,
/// [`learn_templates`](super::learn_templates)): the model's spec, the fit's settings and
/// outcome, the warm start when one ran (`warm` not null), [`TrainingOptions::freq_midpoints`]
/// and [`TrainingOptions::w_target`] when set. Callers add their own keys (`preset`, `method`).
pub fn training_record(
    spec: &impl serde::Serialize,
    fit_cfg: &FitConfig,
    report: &FitReport,
    warm: serde_json::Value,
    opts: &TrainingOptions,
) -> serde_json::Value {
    let mut training = serde_json::json!({
        "spec": spec, "fit": fit_cfg, "final_loss": report.final_loss, "steps": report.steps,
        "converged": report.converged,
    });
    if !warm.is_null() {
        training["warm_start"] = warm;
    }
    if opts.freq_midpoints > 0 {
        training["freq_midpoints"] = serde_json::json!(opts.freq_midpoints);
    }
    if opts.w_target != WTarget::Data {
        training["w_target"] = serde_json::json!(opts.w_target);
    }
    if !opts.nmf_precision.is_f64() {
        training["nmf_precision"] = serde_json::json!(opts.nmf_precision);
    }
    training
}

/// The main fit of a training run with `opts`: [`fit`] on `points`, or, with
/// [`TrainingOptions::freq_midpoints`], on `points` with that many interpolated frequencies
/// inserted between adjacent bins ([`with_freq_midpoints`]). `innmf fit`, Python's
/// `ImplicitNMF.fit` and [`learn_templates`](super::learn_templates) all train through it.
///
/// Per-point `weights` are interpolated to the inserted points as the magnitudes are.
///
/// # Errors
/// Points that are not one grid (with midpoints), those of [`fit`].
pub fn fit_with_options(
    model: &mut Model,
    points: &crate::points::TfPoints,
    opts: &TrainingOptions,
    cfg: &FitConfig,
    weights: Option<&[f64]>,
    progress: Option<Progress<'_>>,
) -> Result<FitReport> {
    if opts.freq_midpoints == 0 {
        return fit(model, points, cfg, weights, progress);
    }
    let (fine, fine_weights) = with_freq_midpoints_weighted(points, weights, opts.freq_midpoints)?;
    fit(model, &fine, cfg, fine_weights.as_deref(), progress)
}

/// The warm start of [`TrainingOptions`] before the main fit: when
/// [`nmf_warm_start`](TrainingOptions::nmf_warm_start) is positive, H from that many β-NMF
/// multiplicative updates (the authors' `10 + N(0, 1)` start, seeded with `seed`) on the grid of
/// `points`, rescaled with [`match_scale`](TrainingOptions::match_scale), then
/// [`w_steps`](TrainingOptions::w_steps) steps of `fit_cfg` on W alone (fitted to the data, or
/// to NMF's templates with H then carrying their means: [`TrainingOptions::w_target`]). A
/// main fit that follows the templates too goes through [`train`]. `model` needs an explicit
/// H over the points' times. Returns a summary with the seconds spent (`secs`), or `null` when
/// there is no warm start.
///
/// `progress` is called as the main fit calls it, with step 0 of `fit_cfg.steps` and the warm
/// start's current mean loss (so a progress bar stays at its start); returning
/// [`std::ops::ControlFlow::Break`] stops the warm start with [`Error::Interrupted`].
///
/// # Errors
/// A model whose H is not an explicit table, points that are not one time-frequency grid, an
/// NMF or fit error.
pub fn warm_start(
    model: &mut Model,
    points: &crate::points::TfPoints,
    opts: &TrainingOptions,
    beta: f64,
    seed: u64,
    fit_cfg: &FitConfig,
    progress: Option<Progress<'_>>,
) -> Result<serde_json::Value> {
    warm_start_with_target(model, points, opts, beta, seed, fit_cfg, progress).map(|(s, _)| s)
}

/// [`warm_start`], and NMF's templates as the target of later fits of W alone with
/// [`WTarget::Templates`].
fn warm_start_with_target(
    model: &mut Model,
    points: &crate::points::TfPoints,
    opts: &TrainingOptions,
    beta: f64,
    seed: u64,
    fit_cfg: &FitConfig,
    mut progress: Option<Progress<'_>>,
) -> Result<(serde_json::Value, Option<TemplateTarget>)> {
    if opts.nmf_warm_start == 0 {
        return Ok((serde_json::Value::Null, None));
    }
    let main_steps = fit_cfg.steps;
    let mut tick = |_: usize, _: usize, loss: f64| match progress.as_deref_mut() {
        Some(p) => p(0, main_steps, loss),
        None => std::ops::ControlFlow::Continue(()),
    };
    let start = Instant::now();
    if !matches!(model.h, Factor::Explicit(_)) {
        return Err(Error::param(
            "h",
            model.h.kind(),
            "an explicit H for the NMF warm start (it starts H at NMF's activations)",
        ));
    }
    let v = points.grid_values().ok_or_else(|| {
        Error::param(
            "training points",
            "not one time-frequency grid",
            "points on a single grid (an stft or vqt analysis) for the NMF warm start",
        )
    })?;
    let rank = model.rank();
    let (nf, nt) = (points.unique_freqs().len(), points.unique_times().len());
    let nmf = NmfParams::new(rank)
        .beta(beta)
        .init(Init::Paper)
        .max_iter(opts.nmf_warm_start)
        .tol(0.0)
        .check_every(super::MU_CHECK_EVERY)
        .seed(seed);
    if opts.nmf_precision == Precision::F32 {
        let top = v.iter().copied().fold(0.0, f64::max);
        if top > f64::from(f32::MAX) {
            return Err(Error::param(
                "training data",
                format!("a magnitude of {top:e}"),
                "magnitudes below 3.4e38 for an f32 NMF warm start (nmf_precision f32, the \
                 innmf preset's): rescale the data, or set nmf_precision to f64",
            ));
        }
    }
    let (w, mut h, rep) = nmf.fit_observed_as(opts.nmf_precision, &v, nf, nt, Some(&mut tick))?;
    let nmf_secs = start.elapsed().as_secs_f64();
    let w_cfg = FitConfig {
        steps: opts.w_steps,
        freeze: Freeze::H,
        ..fit_cfg.clone()
    };
    let times = points.unique_times().to_vec();
    let mut summary = serde_json::json!({
        "nmf_iters": opts.nmf_warm_start, "nmf_final_loss": rep.final_loss,
        "nmf_secs": nmf_secs, "w_steps": opts.w_steps,
    });
    if !opts.nmf_precision.is_f64() {
        summary["nmf_precision"] = serde_json::json!(opts.nmf_precision);
    }
    let mut target = None;
    let w_loss = match opts.w_target {
        WTarget::Data => {
            model.h = Factor::Explicit(Table::from_values(rank, times, &h)?);
            if opts.match_scale {
                model.match_scale(points)?;
            }
            if opts.w_steps > 0 {
                Some(
                    fit_with_options(model, points, opts, &w_cfg, None, Some(&mut tick))?
                        .final_loss,
                )
            } else {
                None
            }
        }
        WTarget::Templates => {
            let (targets, scales) = normalised_templates(&w, nf, rank);
            // H: NMF's activations, each row carrying its template's mean
            for (c, s) in scales.iter().enumerate() {
                h[c * nt..(c + 1) * nt].iter_mut().for_each(|x| *x *= s);
            }
            let t = TemplateTarget {
                points: crate::points::TfPoints::from_grid_owned(
                    points.unique_freqs().to_vec(),
                    (0..rank).map(|c| c as f64).collect(),
                    targets,
                )?,
                data_h: Table::from_values(rank, times, &h)?,
            };
            model.h = Factor::Explicit(t.data_h.clone());
            let w_loss = if opts.w_steps > 0 {
                let (fitted, template_loss) =
                    t.fit(model, points, opts, &w_cfg, Some(&mut tick))?;
                summary["template_final_loss"] = serde_json::json!(template_loss);
                Some(fitted.final_loss)
            } else {
                None
            };
            target = Some(t);
            w_loss
        }
    };
    summary["w_final_loss"] = serde_json::json!(w_loss);
    summary["secs"] = serde_json::json!(start.elapsed().as_secs_f64());
    Ok((summary, target))
}

/// NMF's templates as the target of the fits of W alone ([`WTarget::Templates`]).
struct TemplateTarget {
    /// The normalised templates as a grid: the training frequencies × one frame per template.
    points: crate::points::TfPoints,
    /// The data's H: NMF's activations times the templates' means.
    data_h: Table,
}

impl TemplateTarget {
    /// Fits W's networks alone (H frozen at the identity) to the templates for `cfg.steps`
    /// steps, with `opts`' frequency midpoints, and puts the data's H back. The report's losses
    /// are the data's (`points`), as a fit of W on the data reports them, before and after the
    /// fit (the steps' losses are the templates', which only the progress callback sees).
    /// Returns it with the templates' final loss.
    fn fit(
        &self,
        model: &mut Model,
        points: &crate::points::TfPoints,
        opts: &TrainingOptions,
        cfg: &FitConfig,
        progress: Option<Progress<'_>>,
    ) -> Result<(FitReport, f64)> {
        let rank = model.rank();
        model.h = Factor::Explicit(self.data_h.clone());
        let before = model.loss(points, &cfg.divergence);
        let identity: Vec<f64> = (0..rank * rank)
            .map(|i| if i % (rank + 1) == 0 { 1.0 } else { 0.0 })
            .collect();
        model.h = Factor::Explicit(Table::from_values(
            rank,
            self.points.unique_times().to_vec(),
            &identity,
        )?);
        let cfg = FitConfig {
            freeze: Freeze::H,
            ..cfg.clone()
        };
        let fitted = fit_with_options(model, &self.points, opts, &cfg, None, progress);
        model.h = Factor::Explicit(self.data_h.clone());
        let mut report = fitted?;
        let template_loss = report.final_loss;
        report.final_loss = model.loss(points, &cfg.divergence);
        report.loss_history = vec![before, report.final_loss];
        Ok((report, template_loss))
    }
}

/// Zero main steps only after a W-only stage, which is then the whole training.
pub(super) fn check_main_steps(steps: usize, opts: &TrainingOptions) -> Result<()> {
    if steps == 0 && !opts.has_w_only_stage() {
        return Err(Error::param(
            "training steps",
            0,
            "at least 1 (0 only after an NMF warm start with w_steps > 0: its W-only stage is \
             then the whole training)",
        ));
    }
    Ok(())
}

/// A whole training run with `opts`: the warm start ([`warm_start`]) and the main fit of
/// `fit_cfg.steps` steps ([`fit_with_options`], with per-point `weights`; with
/// [`WTarget::Templates`] and [`freeze_h`](TrainingOptions::freeze_h) a fit of W's networks to
/// NMF's templates). Zero main steps are allowed after a W-only stage, which is then the whole
/// training. `innmf fit`, Python's `ImplicitNMF.fit` and
/// [`learn_templates`](super::learn_templates) all train through it. Returns the report (the
/// warm start's seconds included) and the warm start's summary.
///
/// # Errors
/// Zero steps without a W-only stage, per-point weights with the templates as the target
/// (they weigh the data's points, which that fit does not see), those of [`warm_start`] and
/// [`fit_with_options`].
#[allow(clippy::too_many_arguments)]
pub fn train(
    model: &mut Model,
    points: &crate::points::TfPoints,
    opts: &TrainingOptions,
    beta: f64,
    seed: u64,
    fit_cfg: &FitConfig,
    weights: Option<&[f64]>,
    progress: Option<Progress<'_>>,
) -> Result<(FitReport, serde_json::Value)> {
    opts.validate()?;
    check_main_steps(fit_cfg.steps, opts)?;
    if weights.is_some() && opts.w_target == WTarget::Templates {
        return Err(Error::param(
            "weights",
            "given",
            "none with w_target templates: the networks are fitted to NMF's templates, not to \
             the weighted points",
        ));
    }
    let mut progress = progress;
    let mut forward = |s: usize, n: usize, loss: f64| match progress.as_deref_mut() {
        Some(p) => p(s, n, loss),
        None => std::ops::ControlFlow::Continue(()),
    };
    let (mut warm, target) =
        warm_start_with_target(model, points, opts, beta, seed, fit_cfg, Some(&mut forward))?;
    let mut report = match (fit_cfg.steps, warm["w_final_loss"].as_f64(), &target) {
        // no main fit: the templates are the W-only stage's
        (0, Some(loss), _) => FitReport {
            steps: 0,
            loss_history: vec![loss],
            final_loss: loss,
            converged: false,
            elapsed_s: 0.0,
            points_per_step: points.len(),
        },
        (_, _, Some(t)) if opts.freeze_h => {
            let (report, template_loss) =
                t.fit(model, points, opts, fit_cfg, Some(&mut forward))?;
            warm["template_final_loss"] = serde_json::json!(template_loss);
            report
        }
        _ => fit_with_options(model, points, opts, fit_cfg, weights, Some(&mut forward))?,
    };
    report.elapsed_s += warm["secs"].as_f64().unwrap_or(0.0);
    Ok((report, warm))
}

/// NMF's templates `w` (`nf × rank`, row-major) each divided by its mean, as a row-major
/// `nf × rank` grid (frequencies × templates), and the means (1 for a template that is zero
/// everywhere).
fn normalised_templates(w: &[f64], nf: usize, rank: usize) -> (Vec<f64>, Vec<f64>) {
    let mut scales = vec![0.0; rank];
    for row in w.chunks_exact(rank) {
        scales.iter_mut().zip(row).for_each(|(s, &x)| *s += x);
    }
    for s in &mut scales {
        *s /= nf as f64;
        if !(*s > 0.0 && s.is_finite()) {
            *s = 1.0;
        }
    }
    let targets = w
        .chunks_exact(rank)
        .flat_map(|row| row.iter().zip(&scales).map(|(&x, &s)| x / s))
        .collect();
    (targets, scales)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::points::TfPoints;

    /// Weights follow the magnitudes to the inserted points, whatever order the points came in.
    #[test]
    fn midpoint_weights_follow_the_cells_in_any_point_order() {
        let (freqs, times) = ([100.0, 200.0, 400.0], [0.0, 0.1]);
        let mag = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let w = [1.0, 0.0, 3.0, 2.0, 0.5, 1.0];
        let grid = TfPoints::from_grid(&freqs, &times, &mag).unwrap();
        let (fine, fw) = with_freq_midpoints_weighted(&grid, Some(&w), 1).unwrap();
        assert_eq!(fine.unique_freqs(), &[100.0, 150.0, 200.0, 300.0, 400.0]);
        let fw = fw.unwrap();
        assert_eq!(fw, vec![1.0, 0.0, 2.0, 1.0, 3.0, 2.0, 1.75, 1.5, 0.5, 1.0]);
        // the same cells as a cloud in reverse order
        let (mut t, mut f, mut m, mut wc) = (vec![], vec![], vec![], vec![]);
        for c in (0..6).rev() {
            f.push(freqs[c / 2]);
            t.push(times[c % 2]);
            m.push(mag[c]);
            wc.push(w[c]);
        }
        let cloud = TfPoints::new(t, f, m).unwrap();
        assert!(!cloud.is_row_major_grid());
        let (fine2, fw2) = with_freq_midpoints_weighted(&cloud, Some(&wc), 1).unwrap();
        assert_eq!(fine2.unique_freqs(), fine.unique_freqs());
        assert_eq!(fine2.grid_values(), fine.grid_values());
        assert_eq!(fw2.unwrap(), fw);
        let e = with_freq_midpoints_weighted(&grid, Some(&w[..5]), 1).unwrap_err();
        assert!(e.to_string().contains("weights"), "{e}");
    }
}
