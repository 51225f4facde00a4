//! Supervised and semi-supervised source separation with frequency templates (PAPER.md §3.3–3.4,
//! §4.3).
//!
//! 1. **Templates.** For each source, a model `V_j ≈ W_j·H_j` is fitted to `|STFT|^p` of a solo
//!    recording ([`learn_templates`]): iN-NMF (implicit `W_j(f)`, explicit `H_j`) by default, or
//!    classical NMF (explicit `W_j`, explicit `H_j`, KL multiplicative updates of [`crate::nmf`]).
//! 2. **Activations on the mixture.** Every source's `W_j` is sampled at the *mixture's* bin
//!    frequencies, whatever STFT window the mixture uses (the point of iN-NMF: a network is
//!    evaluable anywhere), and frozen. A fresh explicit `H` (one row per component) is fitted to
//!    `|X_mix|^p` with the β-divergence ([`separate`]). With `free > 0`, `free` extra components
//!    whose `W` and `H` are both learned on the mixture absorb an unknown source (noise).
//! 3. **Masks.** With `V̂_j = W_j·H_j` ([`MaskKind`]):
//!    - `Wiener` (default): `X̂_j = V̂_j^{1/p}`, `M_j = X̂_j² / Σ_i X̂_i²`, `Ŝ_j = M_j·X`. The
//!      estimates sum to the mixture.
//!    - `Paper`: `M_j = V̂_j / Σ_i V̂_i` applied to `|X|^p` and expanded, i.e.
//!      `|Ŝ_j| = (M_j·|X|^p)^{1/p} = M_j^{1/p}·|X|` with the mixture phase (the authors' code).
//!    - `Binary`: `Ŝ_j = X` where `V̂_j` is the largest, 0 elsewhere.
//! 4. **Phase.** The mixture phase, optionally refined by MISI (multiple-input spectrogram
//!    inversion, Gunawan & Sen 2010: the mixing error is spread equally over the sources before
//!    every re-analysis, so the outputs keep summing to the mixture) or per-source Griffin–Lim.
//!
//! The mixture STFT uses centre padding, so every sample is reconstructed and every output has
//! the mixture's length.

use crate::divergence::Divergence;
use crate::error::{Error, Result};
use crate::field::{Axis, Factor, OutputMap, Table};
use crate::fit::{fit, FitConfig, FitReport, Progress};
use crate::model::{FactorKind, Model, ModelSpec, Trainer};
use crate::nmf::{Init, NmfParams};
use crate::optim::{Optimizer, OptimizerConfig};
use crate::points::TfPoints;
use crate::transform::{Padding, Spectrogram, Stft, StftParams, WindowKind};
use num_complex::Complex64;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// How a source's templates are learned from its solo recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TemplateMethod {
    /// Implicit W (coordinate networks) + explicit H: templates evaluable at any frequency.
    #[default]
    Innmf,
    /// Classical NMF: KL multiplicative updates ([`crate::nmf`]), W and H as explicit tables (W
    /// is interpolated linearly between the training bins when the mixture uses other bins).
    Nmf,
}

impl std::fmt::Display for TemplateMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TemplateMethod::Innmf => "innmf",
            TemplateMethod::Nmf => "nmf",
        })
    }
}

/// Settings of [`learn_templates`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateConfig {
    /// iN-NMF or classical NMF.
    pub method: TemplateMethod,
    /// Components per source.
    pub rank: usize,
    /// Hidden width of W's networks (iN-NMF).
    pub width: usize,
    /// Sine layers of W's networks (iN-NMF).
    pub depth: usize,
    /// Fourier feature octaves of W's networks (iN-NMF).
    pub n_features: usize,
    /// Training STFT window (samples).
    pub window: usize,
    /// Training STFT hop (samples).
    pub hop: usize,
    /// Magnitude power p.
    pub power: f64,
    /// Training steps (full batch).
    pub steps: usize,
    /// Optimizer (Rprop with the paper's lr by default).
    pub optimizer: OptimizerConfig,
    /// β of the β-divergence (1: KL).
    pub beta: f64,
    /// Seed of the initialization.
    pub seed: u64,
    /// iN-NMF training options beyond the paper's (default: the paper's).
    #[serde(default, skip_serializing_if = "TrainingOptions::is_paper")]
    pub training: TrainingOptions,
}

/// iN-NMF training options beyond the paper's protocol (arXiv 2404.04439 §3), found while
/// looking for why iN-NMF trailed NMF (issue 15). The default is the paper's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct TrainingOptions {
    /// Start at the data's scale ([`ModelSpec::match_scale`]).
    pub match_scale: bool,
    /// Output map of W's networks.
    pub output: OutputMap,
    /// Optimizer of the explicit H (`None`: the templates' optimizer).
    pub h_optimizer: Option<OptimizerConfig>,
    /// Warm start from classical NMF when positive: this many KL multiplicative updates
    /// ([`crate::nmf`], the authors' `10 + N(0, 1)` start, no early stop) on the training
    /// spectrogram; H starts at NMF's H (rescaled with [`match_scale`](Self::match_scale) to the
    /// networks' initial scale), W's networks are fitted to the data with that H frozen for
    /// [`w_steps`](Self::w_steps) steps, then W and H train together for the templates' `steps`.
    /// The networks can represent NMF's templates (they get within a few % of its KL from this
    /// start) but do not find them from a random one.
    pub nmf_warm_start: usize,
    /// Steps of the W-only stage of [`nmf_warm_start`](Self::nmf_warm_start).
    pub w_steps: usize,
}

impl TrainingOptions {
    /// True for the paper's protocol.
    pub fn is_paper(&self) -> bool {
        *self == TrainingOptions::default()
    }
}

impl Default for TemplateConfig {
    /// The paper's setting: iN-NMF, rank 20, width 64, STFT 2000/1000, p = 0.5, 1000 Rprop steps.
    fn default() -> Self {
        TemplateConfig {
            method: TemplateMethod::Innmf,
            rank: 20,
            width: 64,
            depth: 3,
            n_features: 10,
            window: 2000,
            hop: 1000,
            power: 0.5,
            steps: 1000,
            optimizer: OptimizerConfig::rprop(1e-3),
            beta: 1.0,
            seed: 0,
            training: TrainingOptions::default(),
        }
    }
}

/// A source's learned templates and how they were learned.
#[derive(Debug, Clone)]
pub struct LearnedTemplates {
    /// The fitted model (W holds the templates).
    pub model: Model,
    /// The fit.
    pub report: FitReport,
    /// How the model was fit, in the form `innmf fit` stores in model files.
    pub training: serde_json::Value,
}

/// Fits a model to `|STFT|^p` of a solo recording `x` (sample rate `sample_rate` Hz).
///
/// # Errors
/// An empty or too short signal (shorter than the training window), invalid settings, a
/// diverging fit.
pub fn learn_templates(
    x: &[f64],
    sample_rate: f64,
    cfg: &TemplateConfig,
    progress: Option<Progress<'_>>,
) -> Result<LearnedTemplates> {
    if x.is_empty() {
        return Err(Error::Empty {
            what: "training signal",
        });
    }
    if x.len() < cfg.window {
        return Err(Error::param(
            "training signal length",
            format!("{} samples", x.len()),
            format!("at least the training window of {} samples", cfg.window),
        ));
    }
    check_power(cfg.power)?;
    let params = StftParams::new(cfg.window, cfg.hop);
    let stft = Stft::new(params)?;
    let spectrogram = stft.analyze(x, sample_rate)?;
    if cfg.method == TemplateMethod::Nmf {
        return learn_nmf_templates(&spectrogram, cfg, params);
    }
    let points = spectrogram.to_points(cfg.power)?;
    let mut spec = ModelSpec::new(cfg.rank);
    spec.w = match cfg.method {
        TemplateMethod::Innmf => FactorKind::Implicit,
        TemplateMethod::Nmf => FactorKind::Explicit,
    };
    spec.h = FactorKind::Explicit;
    spec.width = cfg.width;
    spec.depth = cfg.depth;
    spec.n_features = cfg.n_features;
    spec.freq_axis = Some(Axis::linear(0.0, sample_rate / 2.0)?);
    spec.match_scale = cfg.training.match_scale;
    spec.output = cfg.training.output;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut model = spec.build(&points, &mut rng)?;
    let fit_cfg = FitConfig {
        steps: cfg.steps,
        optimizer: cfg.optimizer,
        divergence: Divergence::new(cfg.beta, 1e-8)?,
        seed: cfg.seed.wrapping_add(1),
        h_optimizer: cfg.training.h_optimizer,
        ..Default::default()
    };
    let warm = if cfg.training.nmf_warm_start > 0 {
        nmf_warm_start(&mut model, &points, cfg, &fit_cfg)?
    } else {
        serde_json::Value::Null
    };
    let mut report = fit(&mut model, &points, &fit_cfg, None, progress)?;
    report.elapsed_s += warm["secs"].as_f64().unwrap_or(0.0);
    let mut training = serde_json::json!({
        "representation": {"transform": "stft", "params": params, "sample_rate": sample_rate,
                           "power": cfg.power},
        "spec": spec, "fit": fit_cfg, "final_loss": report.final_loss, "steps": report.steps,
        "converged": report.converged, "method": cfg.method,
    });
    if !warm.is_null() {
        training["warm_start"] = warm;
    }
    Ok(LearnedTemplates {
        model,
        report,
        training,
    })
}

/// [`TrainingOptions::nmf_warm_start`]: H from KL-NMF, then W alone. Returns a summary (with
/// the seconds spent, `secs`).
fn nmf_warm_start(
    model: &mut Model,
    points: &TfPoints,
    cfg: &TemplateConfig,
    fit_cfg: &FitConfig,
) -> Result<serde_json::Value> {
    let start = Instant::now();
    let grid = points.grid().ok_or_else(|| {
        Error::Shape("the NMF warm start needs a full time-frequency grid (an STFT)".into())
    })?;
    let (nf, nt) = (points.unique_freqs().len(), points.unique_times().len());
    let m = points.m();
    let v: Vec<f64> = grid.cell_to_point.iter().map(|&i| m[i as usize]).collect();
    let nmf = NmfParams::new(cfg.rank)
        .beta(cfg.beta)
        .init(Init::Paper)
        .max_iter(cfg.training.nmf_warm_start)
        .tol(0.0)
        .seed(cfg.seed);
    let (_, h, rep) = nmf.fit::<f64>(&v, nf, nt)?;
    model.h = Factor::Explicit(Table::from_values(
        cfg.rank,
        points.unique_times().to_vec(),
        &h,
    )?);
    if cfg.training.match_scale {
        model.match_scale(points)?;
    }
    let nmf_secs = start.elapsed().as_secs_f64();
    let w_loss = if cfg.training.w_steps > 0 {
        let w_cfg = FitConfig {
            steps: cfg.training.w_steps,
            train_h: false,
            ..fit_cfg.clone()
        };
        Some(fit(model, points, &w_cfg, None, None)?.final_loss)
    } else {
        None
    };
    Ok(serde_json::json!({
        "nmf_iters": cfg.training.nmf_warm_start, "nmf_final_loss": rep.final_loss,
        "nmf_secs": nmf_secs, "w_steps": cfg.training.w_steps, "w_final_loss": w_loss,
        "secs": start.elapsed().as_secs_f64(),
    }))
}

/// Classical NMF templates: KL (β) multiplicative updates of [`crate::nmf`] (NNDSVDa start,
/// `cfg.steps` iterations, no early stop) on `|X|^p`; W and H become explicit tables.
fn learn_nmf_templates(
    spectrogram: &Spectrogram,
    cfg: &TemplateConfig,
    params: StftParams,
) -> Result<LearnedTemplates> {
    let (nf, nt) = (spectrogram.n_bins, spectrogram.n_frames);
    let v: Vec<f64> = spectrogram
        .coeffs
        .iter()
        .map(|c| c.norm().powf(cfg.power))
        .collect();
    let nmf = NmfParams::new(cfg.rank)
        .beta(cfg.beta)
        .init(Init::Nndsvda)
        .max_iter(cfg.steps)
        .tol(0.0)
        .seed(cfg.seed);
    let (w, h, rep) = nmf.fit::<f64>(&v, nf, nt)?;
    let model = nmf_model(&w, &h, &spectrogram.freqs, &spectrogram.times)?;
    let report = nmf_fit_report(&rep, nf * nt);
    let training = serde_json::json!({
        "representation": {"transform": "stft", "params": params,
                           "sample_rate": spectrogram.sample_rate, "power": cfg.power},
        "nmf": nmf, "final_loss": report.final_loss, "steps": report.steps,
        "converged": report.converged, "method": cfg.method,
    });
    Ok(LearnedTemplates {
        model,
        report,
        training,
    })
}

/// One source's templates for [`separate`].
#[derive(Debug, Clone, Copy)]
pub struct TemplateSet<'a> {
    /// The model whose W holds the templates (H is ignored).
    pub model: &'a Model,
    /// Highest frequency the templates know (Hz), e.g. the Nyquist frequency of the training
    /// audio; W is set to 0 above it. `None`: sample W at every mixture frequency.
    pub max_freq: Option<f64>,
}

impl<'a> From<&'a Model> for TemplateSet<'a> {
    fn from(model: &'a Model) -> Self {
        TemplateSet {
            model,
            max_freq: None,
        }
    }
}

/// Time-frequency masks (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MaskKind {
    /// `|X̂_j|² / Σ|X̂_i|²` with `X̂_j = V̂_j^{1/p}`; the estimates sum to the mixture.
    #[default]
    Wiener,
    /// The paper's ratio mask on compressed magnitudes, expanded: gain `(V̂_j/ΣV̂)^{1/p}`.
    Paper,
    /// 1 where source j's model is the largest, else 0.
    Binary,
}

/// Phase refinement for [`SeparateConfig::phase_iters`] > 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum PhaseMethod {
    /// Multiple-input spectrogram inversion (Gunawan & Sen 2010).
    #[default]
    Misi,
    /// Griffin–Lim on each source independently.
    GriffinLim,
}

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

/// Settings of [`separate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeparateConfig {
    /// Mixture STFT window (samples); any size, independent of the training window.
    pub window: usize,
    /// Mixture STFT hop (samples).
    pub hop: usize,
    /// Magnitude power p (must match the templates' training).
    pub power: f64,
    /// Steps of the activation fit on the mixture (the paper uses 100; H starts at the scale
    /// of the mixture, `mean(V̂) = mean(|X|^p)`, so 100 usually converge; default 200).
    pub steps: usize,
    /// Optimizer of the activation fit.
    pub optimizer: OptimizerConfig,
    /// Solver of the activation fit.
    #[serde(default)]
    pub solver: HSolver,
    /// β of the β-divergence (1: KL).
    pub beta: f64,
    /// Extra components learned entirely on the mixture (an unknown source / noise).
    pub free: usize,
    /// Mask.
    pub mask: MaskKind,
    /// Phase refinement iterations (0: mixture phase).
    pub phase_iters: usize,
    /// Phase refinement method.
    pub phase: PhaseMethod,
    /// Seed of the activation initialization.
    pub seed: u64,
}

impl Default for SeparateConfig {
    fn default() -> Self {
        SeparateConfig {
            window: 2000,
            hop: 1000,
            power: 0.5,
            steps: 200,
            optimizer: OptimizerConfig::rprop(1e-3),
            solver: HSolver::Rprop,
            beta: 1.0,
            free: 0,
            mask: MaskKind::Wiener,
            phase_iters: 0,
            phase: PhaseMethod::Misi,
            seed: 0,
        }
    }
}

/// The outcome of [`separate`].
#[derive(Debug, Clone)]
pub struct Separation {
    /// One signal per template set, in order, then the free components' signal when
    /// `free > 0`; each with the mixture's length.
    pub sources: Vec<Vec<f64>>,
    /// True when the last entry of `sources` is the free components' (noise) estimate.
    pub has_noise: bool,
    /// `V̂_j` on the mixture grid, `[bins, frames]` row-major, same order as `sources`.
    pub models: Vec<Vec<f64>>,
    /// What happened.
    pub report: SeparationReport,
}

/// A summary of a separation, for JSON reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeparationReport {
    /// The settings.
    pub config: SeparateConfig,
    /// Mixture samples.
    pub samples: usize,
    /// Sample rate (Hz).
    pub sample_rate: f64,
    /// Mixture STFT bins.
    pub bins: usize,
    /// Mixture STFT frames.
    pub frames: usize,
    /// Components per output (template sets, then the free components).
    pub ranks: Vec<usize>,
    /// The activation fit: steps, losses, time.
    pub fit: FitReport,
    /// Share of the mixture's energy in each output.
    pub energy_share: Vec<f64>,
    /// Wall-clock seconds of the whole separation.
    pub elapsed_s: f64,
}

fn check_power(p: f64) -> Result<()> {
    if !(p.is_finite() && p > 0.0) {
        return Err(Error::param("power", p, "a finite value > 0"));
    }
    Ok(())
}

/// The mixture STFT of [`separate`]: √Hann, orthonormal, centre padding.
pub fn mixture_stft(window: usize, hop: usize) -> Result<Stft> {
    let mut params = StftParams::new(window, hop);
    params.window = WindowKind::SqrtHann;
    params.padding = Padding::Center;
    Stft::new(params)
}

/// W of a template set at `freqs` (Hz), `[K, F]`, zero above `max_freq`.
pub fn sample_templates(set: &TemplateSet<'_>, freqs: &[f64]) -> Vec<f64> {
    let k = set.model.rank();
    let nf = freqs.len();
    let w = set.model.sample_w(freqs);
    let mut out: Vec<f64> = w.iter().map(|&v| (v as f64).max(0.0)).collect();
    if let Some(fmax) = set.max_freq {
        for c in 0..k {
            for (i, &f) in freqs.iter().enumerate() {
                if f > fmax * (1.0 + 1e-9) {
                    out[c * nf + i] = 0.0;
                }
            }
        }
    }
    out
}

/// Separates `mixture` (sample rate `sample_rate` Hz) into one signal per template set (plus a
/// noise signal when `cfg.free > 0`).
///
/// # Errors
/// No template sets, an empty mixture or one shorter than the window, invalid settings, a
/// diverging fit.
pub fn separate(
    mixture: &[f64],
    sample_rate: f64,
    templates: &[TemplateSet<'_>],
    cfg: &SeparateConfig,
    progress: Option<Progress<'_>>,
) -> Result<Separation> {
    let start = Instant::now();
    if templates.is_empty() && cfg.free == 0 {
        return Err(Error::Empty {
            what: "template sets (and no free components)",
        });
    }
    if mixture.is_empty() {
        return Err(Error::Empty { what: "mixture" });
    }
    if mixture.len() < cfg.window {
        return Err(Error::param(
            "mixture length",
            format!("{} samples", mixture.len()),
            format!("at least the window of {} samples", cfg.window),
        ));
    }
    check_power(cfg.power)?;
    if cfg.steps == 0 {
        return Err(Error::param("steps", 0, "at least 1"));
    }
    let stft = mixture_stft(cfg.window, cfg.hop)?;
    let spec = stft.analyze(mixture, sample_rate)?;
    let points = spec.to_points(cfg.power)?;
    let freqs = points.unique_freqs().to_vec();
    let times = points.unique_times().to_vec();
    let (nf, nt) = (freqs.len(), times.len());
    if nf != spec.n_bins || nt != spec.n_frames {
        return Err(Error::Shape(format!(
            "mixture grid {nf} × {nt} differs from the STFT's {} × {}",
            spec.n_bins, spec.n_frames
        )));
    }

    let (model, ranks, fit_report) = fit_activations(&points, templates, cfg, progress)?;
    let k = model.rank();
    debug_assert_eq!(k, ranks.iter().sum::<usize>());

    // V̂ per output
    let wv: Vec<f64> = model.w.evaluate(&freqs).iter().map(|&v| v as f64).collect();
    let hv: Vec<f64> = model.h.evaluate(&times).iter().map(|&v| v as f64).collect();
    let mut models = Vec::with_capacity(ranks.len());
    let mut c0 = 0;
    for &r in &ranks {
        let mut v = vec![0.0; nf * nt];
        for c in c0..c0 + r {
            let hrow = &hv[c * nt..(c + 1) * nt];
            for f in 0..nf {
                let wf = wv[c * nf + f];
                if wf == 0.0 {
                    continue;
                }
                for (o, &h) in v[f * nt..(f + 1) * nt].iter_mut().zip(hrow) {
                    *o += wf * h;
                }
            }
        }
        models.push(v);
        c0 += r;
    }

    let gains = masks(&models, cfg.power, cfg.mask)?;
    let mut estimates: Vec<Spectrogram> = gains
        .iter()
        .map(|g| {
            let mut s = spec.clone();
            for (c, &gv) in s.coeffs.iter_mut().zip(g) {
                *c *= gv;
            }
            s
        })
        .collect();
    let mut sources = Vec::with_capacity(estimates.len());
    if cfg.phase_iters > 0 {
        let targets: Vec<Vec<f64>> = estimates.iter().map(|s| s.magnitude()).collect();
        sources = refine_phase(
            &stft,
            mixture,
            &mut estimates,
            &targets,
            cfg.phase_iters,
            cfg.phase,
        )?;
    } else {
        for s in &estimates {
            sources.push(stft.synthesize(s)?);
        }
    }
    let total: f64 = mixture.iter().map(|v| v * v).sum();
    let energy_share = sources
        .iter()
        .map(|s| {
            if total > 0.0 {
                s.iter().map(|v| v * v).sum::<f64>() / total
            } else {
                0.0
            }
        })
        .collect();
    Ok(Separation {
        has_noise: cfg.free > 0,
        sources,
        models,
        report: SeparationReport {
            config: cfg.clone(),
            samples: mixture.len(),
            sample_rate,
            bins: nf,
            frames: nt,
            ranks,
            fit: fit_report,
            energy_share,
            elapsed_s: start.elapsed().as_secs_f64(),
        },
    })
}

/// Step 2 of [`separate`] on its own: samples every template set's `W` at the grid's bin
/// frequencies, freezes it, and fits a fresh explicit `H` (plus `cfg.free` free components) to
/// the grid point set `points` (e.g. `|STFT|^p` of a mixture, or of a solo signal to measure how
/// well the templates reconstruct it). Uses `cfg.steps`, `cfg.optimizer`, `cfg.solver`,
/// `cfg.beta`, `cfg.free` and `cfg.seed`. Returns the model (explicit `W` and `H` tables on the
/// grid's coordinates), the components per output, and the fit report.
///
/// # Errors
/// No template sets and no free components, a point set that is not a grid (MU solver), a
/// template that is zero at every bin, a diverging fit.
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
    for set in templates {
        w_vals.extend(sample_templates(set, &freqs));
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
    } else if cfg.free == 0 {
        let fit_cfg = FitConfig {
            steps: cfg.steps,
            optimizer: cfg.optimizer,
            divergence,
            seed: cfg.seed,
            train_w: false,
            ..Default::default()
        };
        fit(&mut model, points, &fit_cfg, None, progress)?
    } else {
        fit_partially_frozen(&mut model, points, cfg, divergence, k_fixed * nf, progress)?
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
    let grid = points.grid().ok_or_else(|| {
        Error::Shape("the mixture points are not a full grid (needed by the MU solver)".into())
    })?;
    let m = points.m();
    let v: Vec<f64> = grid.cell_to_point.iter().map(|&i| m[i as usize]).collect();
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
        .seed(cfg.seed);
    let (w, h, rep) = nmf.fit_partial::<f64>(&v, nf, nt, &w_fixed)?;
    *model = nmf_model(&w, &h, freqs, times)?;
    Ok(nmf_fit_report(&rep, nf * nt))
}

/// A model of explicit tables from classical NMF factors: `w` F×K (row-major, at `freqs`) and
/// `h` K×T (at `times`).
///
/// # Errors
/// Shapes that do not match the coordinates, negative or non-finite values.
pub fn nmf_model(w: &[f64], h: &[f64], freqs: &[f64], times: &[f64]) -> Result<Model> {
    let (nf, nt) = (freqs.len(), times.len());
    if nf == 0 || nt == 0 || w.len() % nf != 0 || h.len() != (w.len() / nf) * nt {
        return Err(Error::Shape(format!(
            "NMF factors of {} and {} values do not fit {nf} frequencies × {nt} times",
            w.len(),
            h.len()
        )));
    }
    let k = w.len() / nf;
    // W is F×K; a table wants [K, F]
    let mut wt = vec![0.0; k * nf];
    for f in 0..nf {
        for c in 0..k {
            wt[c * nf + f] = w[f * k + c];
        }
    }
    Model::new(
        Factor::Explicit(Table::from_values(k, freqs.to_vec(), &wt)?),
        Factor::Explicit(Table::from_values(k, times.to_vec(), h)?),
    )
}

/// An NMF report in the form of the gradient engine's [`FitReport`].
fn nmf_fit_report(rep: &crate::nmf::NmfReport, points: usize) -> FitReport {
    FitReport {
        steps: rep.n_iter,
        loss_history: rep.loss_history.iter().map(|l| l.loss).collect(),
        final_loss: rep.final_loss,
        converged: rep.converged,
        elapsed_s: rep.elapsed_s,
        points_per_step: points,
    }
}

/// The activation fit with the first `n_fixed_w` W parameters frozen (the templates) and the
/// rest of W (the free components) and all of H trained: `fit` with a per-parameter freeze.
fn fit_partially_frozen(
    model: &mut Model,
    points: &TfPoints,
    cfg: &SeparateConfig,
    divergence: Divergence,
    n_fixed_w: usize,
    mut progress: Option<Progress<'_>>,
) -> Result<FitReport> {
    let start = Instant::now();
    let mut trainer = Trainer::new(model, points, divergence, None)?;
    let mut opt_w = Optimizer::new(cfg.optimizer, model.w.params().len())?;
    let mut opt_h = Optimizer::new(cfg.optimizer, model.h.params().len())?;
    let mut history = Vec::with_capacity(cfg.steps);
    for step in 0..cfg.steps {
        let loss = trainer.loss_and_grad(model, None, true);
        if !loss.is_finite() {
            return Err(Error::Diverged { step, loss });
        }
        history.push(loss);
        trainer.grad_w[..n_fixed_w].fill(0.0);
        opt_w.step(model.w.params_mut(), &trainer.grad_w);
        opt_h.step(model.h.params_mut(), &trainer.grad_h);
        if let Some(p) = progress.as_mut() {
            p(step + 1, cfg.steps, loss);
        }
    }
    let final_loss = trainer.loss_and_grad(model, None, false);
    Ok(FitReport {
        steps: history.len(),
        loss_history: history,
        final_loss,
        converged: false,
        elapsed_s: start.elapsed().as_secs_f64(),
        points_per_step: points.len(),
    })
}

/// Real gains per output from the compressed models `V̂_j` (all of one length) and the power p.
/// Where every model is 0 the gain is split equally (Wiener, paper) or given to output 0
/// (binary).
///
/// # Errors
/// No models, models of different lengths, a bad power.
pub fn masks(models: &[Vec<f64>], power: f64, kind: MaskKind) -> Result<Vec<Vec<f64>>> {
    check_power(power)?;
    let j = models.len();
    if j == 0 {
        return Err(Error::Empty { what: "models" });
    }
    let n = models[0].len();
    if let Some(m) = models.iter().find(|m| m.len() != n) {
        return Err(Error::LengthMismatch {
            what: "models".into(),
            expected: n,
            got: m.len(),
        });
    }
    let mut out = vec![vec![0.0; n]; j];
    let mut buf = vec![0.0; j];
    for i in 0..n {
        let vmax =
            models
                .iter()
                .map(|m| m[i])
                .fold(0.0f64, |a, b| if b.is_finite() { a.max(b) } else { a });
        if vmax <= 0.0 {
            match kind {
                MaskKind::Binary => out[0][i] = 1.0,
                _ => out.iter_mut().for_each(|o| o[i] = 1.0 / j as f64),
            }
            continue;
        }
        match kind {
            MaskKind::Wiener => {
                // (V̂_j/max)^{2/p}: scaled to avoid overflow at small p
                for (b, m) in buf.iter_mut().zip(models) {
                    *b = (m[i].max(0.0) / vmax).powf(2.0 / power);
                }
                let s: f64 = buf.iter().sum();
                for (o, b) in out.iter_mut().zip(&buf) {
                    o[i] = b / s;
                }
            }
            MaskKind::Paper => {
                let s: f64 = models.iter().map(|m| m[i].max(0.0)).sum();
                for (o, m) in out.iter_mut().zip(models) {
                    o[i] = (m[i].max(0.0) / s).powf(1.0 / power);
                }
            }
            MaskKind::Binary => {
                let best = (0..j)
                    .max_by(|&a, &b| models[a][i].total_cmp(&models[b][i]))
                    .unwrap_or(0);
                out[best][i] = 1.0;
            }
        }
    }
    Ok(out)
}

/// Phase refinement of masked spectrograms toward magnitudes `targets`; returns the signals.
///
/// MISI: `y_j = istft(S_j)`, the error `e = x − Σ y_j` is spread equally (`y_j += e/J`), each
/// `y_j` is re-analyzed and its phase kept with the target magnitude; after the last iteration
/// the error is spread again so that the outputs sum to `x`. Griffin–Lim does the same per
/// source without the error term.
fn refine_phase(
    stft: &Stft,
    mixture: &[f64],
    estimates: &mut [Spectrogram],
    targets: &[Vec<f64>],
    iters: usize,
    method: PhaseMethod,
) -> Result<Vec<Vec<f64>>> {
    let j = estimates.len();
    let sr = estimates[0].sample_rate;
    let mut ys: Vec<Vec<f64>> = Vec::with_capacity(j);
    for it in 0..=iters {
        ys.clear();
        for s in estimates.iter() {
            ys.push(stft.synthesize(s)?);
        }
        if method == PhaseMethod::Misi {
            spread_error(mixture, &mut ys);
        }
        if it == iters {
            break;
        }
        for ((s, y), a) in estimates.iter_mut().zip(&ys).zip(targets) {
            let re = stft.analyze(y, sr)?;
            for ((c, r), &mag) in s.coeffs.iter_mut().zip(&re.coeffs).zip(a) {
                let n = r.norm();
                if n > 1e-300 {
                    *c = r * (mag / n);
                } else {
                    *c = Complex64::new(mag, 0.0) * c.signum_or_one();
                }
            }
        }
    }
    Ok(ys)
}

/// `y_j += (x − Σ_i y_i)/J`.
fn spread_error(mixture: &[f64], ys: &mut [Vec<f64>]) {
    let j = ys.len() as f64;
    for i in 0..mixture.len() {
        let e = (mixture[i] - ys.iter().map(|y| y[i]).sum::<f64>()) / j;
        for y in ys.iter_mut() {
            y[i] += e;
        }
    }
}

trait SignumOrOne {
    fn signum_or_one(&self) -> Complex64;
}

impl SignumOrOne for Complex64 {
    /// `c/|c|`, or 1 for 0.
    fn signum_or_one(&self) -> Complex64 {
        let n = self.norm();
        if n > 1e-300 {
            self / n
        } else {
            Complex64::new(1.0, 0.0)
        }
    }
}
