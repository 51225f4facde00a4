//! Supervised and semi-supervised source separation with frequency templates (arXiv 2404.04439,
//! the two-speaker separation experiment, and the authors' masks and resynthesis).
//!
//! 1. **Templates** (`templates.rs`). For each source, a model `V_j ≈ W_j·H_j` is fitted to the
//!    points of a solo recording ([`learn_templates`]): iN-NMF (implicit `W_j(f)`, explicit `H_j`) by default, or
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
//!
//! **Any invertible representation** ([`SeparateConfig::representation`]: NSGT, CWT,
//! multi-resolution STFT, sinusoidal model with tracking, or an STFT of one's own): the same
//! steps on the representation's point set, with masks per point applied to its complex
//! coefficients (partial amplitudes for the sinusoidal model) and the transform's own inverse
//! ([`general`] explains how the activations are placed in time when every bin has its own time
//! grid). Representations without an inverse (cqt, vqt, hybrids) are refused by name.

mod activations;
pub mod general;
mod masks;
mod phase;
mod templates;
mod training;

pub use activations::{fit_activations, HSolver};
pub use general::{activation_points, resynthesize_masked};
pub use masks::{masks, MaskKind};
pub use phase::PhaseMethod;
pub use templates::{
    learn_templates, nmf_model, sample_templates, LearnedTemplates, TemplateConfig, TemplateMethod,
    TemplateSet, MAX_TEMPLATE_MAGNITUDE,
};
pub use training::{
    fit_with_options, train, training_record, warm_start, with_freq_midpoints, Preset,
    TrainingOptions, WTarget, MAX_FREQ_MIDPOINTS,
};

use crate::error::{Error, Result};
use crate::fit::{FitReport, Progress};
use crate::nmf::Precision;
use crate::optim::OptimizerConfig;
use crate::points::TfPoints;
use crate::transform::{
    Analysis, Calibration, Padding, Representation, Spectrogram, Stft, StftParams, WindowKind,
};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// How often the multiplicative-update fits of this module (the activations on a mixture,
/// NMF templates, the NMF warm start) take the loss, for their history and the divergence
/// guard. They have no stopping rule, and the KL's logarithms cost a third of a fit when
/// taken every 10 iterations (the [`NmfParams`](crate::nmf::NmfParams) default, scikit-learn's
/// convergence check); the factors do not depend on it.
pub const MU_CHECK_EVERY: usize = 100;

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
    /// Relative-decrease tolerance of the activation fit (0: run every step; Rprop solver).
    #[serde(default)]
    pub tol: f64,
    /// Fraction of the mixture's points drawn at random per step (1: all; Rprop solver).
    #[serde(default = "one")]
    pub fraction: f64,
    /// The mixture's representation; `None`: the STFT of [`window`](Self::window) and
    /// [`hop`](Self::hop) (√Hann, centre padding). It must be invertible (stft, nsgt, cwt,
    /// multires, sines with tracking): the separated coefficients are resynthesized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub representation: Option<Representation>,
    /// Magnitude calibration of the mixture's points: the templates' (unit-tone calibration
    /// puts templates learned in one transform on the scale of another).
    #[serde(default, skip_serializing_if = "is_native")]
    pub calibration: Calibration,
    /// Spacing (s) of the activation knots of a representation whose bins have their own time
    /// grids (nsgt, cwt, multires; see [`general`]); `None`: the finest bin's time step, at
    /// least [`general::MIN_H_STEP`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub h_step: Option<f64>,
    /// Return every output's model `V̂_j` in [`Separation::models`] (8 bytes a point per output).
    /// Off (the default), `models` is empty and, on the mixture STFT without phase refinement,
    /// neither the models, the masks nor the mixture's complex spectrogram are held: each
    /// source's gains are computed frame by frame as it is resynthesized ([`Stft::filter`]),
    /// with the same bits.
    #[serde(default, skip_serializing_if = "is_false")]
    pub keep_models: bool,
    /// Arithmetic of the multiplicative-update solver ([`HSolver::Mu`]): f32 by default (the
    /// fused KL engine for β = 1; sources agree with f64's to f32 rounding), f64 the reference.
    #[serde(default = "precision_f32")]
    pub mu_precision: Precision,
}

fn precision_f32() -> Precision {
    Precision::F32
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_native(c: &Calibration) -> bool {
    *c == Calibration::Native
}

fn one() -> f64 {
    1.0
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
            tol: 0.0,
            fraction: 1.0,
            representation: None,
            calibration: Calibration::Native,
            h_step: None,
            keep_models: false,
            mu_precision: Precision::F32,
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
    /// `V̂_j`, same order as `sources`, when [`SeparateConfig::keep_models`] asked for them
    /// (empty otherwise): on the mixture STFT grid, `[bins, frames]` row-major; in another
    /// representation ([`SeparateConfig::representation`]), one value per point in the order of
    /// [`Coefficients`](crate::transform::Coefficients).
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
    /// Mixture STFT bins (in another representation: distinct frequencies).
    pub bins: usize,
    /// Mixture STFT frames (in another representation: distinct activation times).
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

pub(crate) fn check_power(p: f64) -> Result<()> {
    if !(p.is_finite() && p > 0.0) {
        return Err(Error::param("power", p, "a finite value > 0"));
    }
    Ok(())
}

impl SeparateConfig {
    /// Checks the settings that do not depend on the mixture.
    ///
    /// # Errors
    /// The first impossible value, named.
    pub fn validate(&self) -> Result<()> {
        Representation::Stft(StftParams::new(self.window, self.hop)).validate()?;
        check_power(self.power)?;
        if self.steps == 0 || self.steps > crate::fit::MAX_STEPS {
            return Err(Error::param(
                "steps",
                self.steps,
                format!("between 1 and {}", crate::fit::MAX_STEPS),
            ));
        }
        // each iteration is an inverse and a forward STFT of the mixture
        crate::fit::check_iterations("phase_iters", self.phase_iters, "iterations")?;
        if self.free > MAX_FREE_COMPONENTS {
            return Err(Error::param(
                "free",
                self.free,
                format!("at most {MAX_FREE_COMPONENTS} free components"),
            ));
        }
        crate::divergence::check_beta(self.beta)?;
        if !(self.fraction > 0.0 && self.fraction <= 1.0) {
            return Err(Error::param("fraction", self.fraction, "a value in (0, 1]"));
        }
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return Err(Error::param("tol", self.tol, "a finite value >= 0"));
        }
        if let Some(s) = self.h_step {
            if !(s.is_finite() && s > 0.0) {
                return Err(Error::param("h_step", s, "a positive time step in seconds"));
            }
        }
        if let Some(r) = &self.representation {
            r.validate()?;
            general::check_invertible(r)?;
        }
        if let (Some(r), true) = (self.general_representation(), self.phase_iters > 0) {
            return Err(Error::param(
                "phase_iters",
                self.phase_iters,
                format!(
                    "0 with transform {} (or a calibration): phase refinement runs on the \
                     mixture STFT of window/hop with native magnitudes only",
                    r.kind()
                ),
            ));
        }
        self.optimizer.validate()
    }

    /// The representation of the general path ([`general`]), or `None` for the mixture STFT of
    /// `window`/`hop` with native magnitudes (the original path, unchanged).
    fn general_representation(&self) -> Option<Representation> {
        match (&self.representation, self.calibration) {
            (Some(r), _) => Some(r.clone()),
            (None, Calibration::Native) => None,
            (None, _) => Some(Representation::Stft(mixture_stft_params(
                self.window,
                self.hop,
            ))),
        }
    }

    /// How the mixture becomes points (the mixture STFT, native magnitudes, `|X|^power`; or
    /// [`representation`](Self::representation) at [`calibration`](Self::calibration)).
    ///
    /// # Errors
    /// A bad sample rate or settings.
    pub fn mixture_analysis(&self, sample_rate: f64) -> Result<Analysis> {
        if let Some(r) = self.general_representation() {
            return Analysis::new(&r, sample_rate, self.power, self.calibration);
        }
        let stft = mixture_stft(self.window, self.hop, sample_rate)?;
        Analysis::new(
            &Representation::Stft(*stft.params()),
            sample_rate,
            self.power,
            Calibration::Native,
        )
    }
}

/// Most free components a separation may add.
pub const MAX_FREE_COMPONENTS: usize = 10_000;

/// Checks that every template set whose training data is known was fitted on points of the
/// mixture's power and calibration (the representation may differ).
///
/// # Errors
/// A mismatch, naming the source, both powers or both calibrations.
pub fn check_templates(
    templates: &[TemplateSet<'_>],
    cfg: &SeparateConfig,
    sample_rate: f64,
) -> Result<()> {
    let mixture = cfg.mixture_analysis(sample_rate)?;
    for (j, set) in templates.iter().enumerate() {
        if let Some(data) = set.data {
            data.check_applies_to(&mixture, &format!("the model of source {}", j + 1))?;
        }
    }
    Ok(())
}

/// The mixture STFT of [`separate`]: √Hann, orthonormal, centre padding.
pub fn mixture_stft(window: usize, hop: usize, sample_rate: f64) -> Result<Stft> {
    Stft::new(mixture_stft_params(window, hop), sample_rate)
}

fn mixture_stft_params(window: usize, hop: usize) -> StftParams {
    let mut params = StftParams::new(window, hop);
    params.window = WindowKind::SqrtHann;
    params.padding = Padding::Center;
    params
}

/// Separates `mixture` (sample rate `sample_rate` Hz) into one signal per template set (plus a
/// noise signal when `cfg.free > 0`), in the mixture STFT or in `cfg.representation`.
///
/// # Errors
/// No template sets, an empty mixture or one shorter than the window, invalid settings (a
/// representation without an inverse, named), templates of another power or calibration, a
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
    if let Some(rep) = cfg.general_representation() {
        cfg.validate()?;
        check_templates(templates, cfg, sample_rate)?;
        return general::separate_in(mixture, sample_rate, templates, cfg, &rep, progress, start);
    }
    if mixture.len() < cfg.window {
        return Err(Error::param(
            "mixture length",
            format!("{} samples", mixture.len()),
            format!("at least the window of {} samples", cfg.window),
        ));
    }
    cfg.validate()?;
    let stft = mixture_stft(cfg.window, cfg.hop, sample_rate)?;
    check_templates(templates, cfg, sample_rate)?;
    // the mixture's magnitudes only (8 bytes a point): without phase refinement its complex
    // coefficients are recomputed frame by frame when the sources are resynthesized
    let (axes, mag) = stft.magnitudes(mixture, None)?;
    let (n_bins, n_frames) = (axes.n_bins, axes.n_frames);
    let points = TfPoints::from_grid_owned(axes.freqs, axes.times, mag)?.into_powered(cfg.power)?;
    let freqs = points.unique_freqs().to_vec();
    let times = points.unique_times().to_vec();
    let (nf, nt) = (freqs.len(), times.len());
    if nf != n_bins || nt != n_frames {
        return Err(Error::Shape(format!(
            "mixture grid {nf} × {nt} differs from the STFT's {n_bins} × {n_frames}"
        )));
    }

    // one callback for the activation fit and the phase refinement after it
    let mut progress = progress;
    let mut tick = |s: usize, n: usize, loss: f64| match progress.as_deref_mut() {
        Some(p) => p(s, n, loss),
        None => std::ops::ControlFlow::Continue(()),
    };
    let (model, ranks, fit_report) = fit_activations(&points, templates, cfg, Some(&mut tick))?;
    drop(points); // the mixture's magnitudes: not needed past the fit (8 bytes a point)
    let k = model.rank();
    debug_assert_eq!(k, ranks.iter().sum::<usize>());

    // V̂_j at bin f, frame t: Σ_c W_c(f)·H_c(t) over output j's components, in component order
    let wv: Vec<f64> = model.w.evaluate(&freqs).iter().map(|&v| v as f64).collect();
    let hv: Vec<f64> = model.h.evaluate(&times).iter().map(|&v| v as f64).collect();
    let vhat = |f: usize, t: usize, out: &mut [f64]| {
        let mut c0 = 0;
        for (o, &r) in out.iter_mut().zip(&ranks) {
            let mut v = 0.0;
            for c in c0..c0 + r {
                let wf = wv[c * nf + f];
                if wf == 0.0 {
                    continue;
                }
                v += wf * hv[c * nt + t];
            }
            *o = v;
            c0 += r;
        }
    };
    let n_out = ranks.len();
    let models: Vec<Vec<f64>> = if cfg.keep_models || cfg.phase_iters > 0 {
        let mut models = vec![vec![0.0; nf * nt]; n_out];
        let mut values = vec![0.0; n_out];
        for f in 0..nf {
            for t in 0..nt {
                vhat(f, t, &mut values);
                for (m, &v) in models.iter_mut().zip(&values) {
                    m[f * nt + t] = v;
                }
            }
        }
        models
    } else {
        Vec::new()
    };

    let mut sources = Vec::with_capacity(n_out);
    if cfg.phase_iters > 0 {
        let spec = stft.analyze(mixture)?;
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
        let targets: Vec<Vec<f64>> = estimates.iter().map(|s| s.magnitude()).collect();
        sources = phase::refine_phase(
            &stft,
            mixture,
            &mut estimates,
            &targets,
            cfg.phase_iters,
            cfg.phase,
            fit_report.final_loss,
            Some(&mut tick),
        )?;
    } else {
        // one source at a time, one block of frames at a time: the mixture's coefficients of a
        // frame times the gains of the masks of every point of that frame (as `masks`), inverted
        check_power(cfg.power)?;
        for j in 0..n_out {
            let y = stft.filter(mixture, |t, coeffs| {
                let (mut values, mut buf, mut gains) =
                    (vec![0.0; n_out], vec![0.0; n_out], vec![0.0; n_out]);
                for (f, c) in coeffs.iter_mut().enumerate() {
                    vhat(f, t, &mut values);
                    masks::gains_at(&values, cfg.power, cfg.mask, &mut buf, &mut gains);
                    *c *= gains[j];
                }
            })?;
            sources.push(y);
        }
    }
    let models = if cfg.keep_models { models } else { Vec::new() };
    let energy_share = energy_shares(&sources, mixture);
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

/// Each source's energy as a fraction of the mixture's (0 for a silent mixture).
pub(crate) fn energy_shares(sources: &[Vec<f64>], mixture: &[f64]) -> Vec<f64> {
    let total: f64 = mixture.iter().map(|v| v * v).sum();
    sources
        .iter()
        .map(|s| {
            if total > 0.0 {
                s.iter().map(|v| v * v).sum::<f64>() / total
            } else {
                0.0
            }
        })
        .collect()
}
