//! Step 1 of a separation: each source's templates, learned from a solo recording (iN-NMF:
//! implicit `W`, explicit `H`, on any representation; classical NMF: KL multiplicative updates on
//! a grid), or taken from a model file.

use super::activations::nmf_fit_report;
use super::training::{check_main_steps, train, training_record, Preset, TrainingOptions};
use crate::divergence::Divergence;
use crate::error::{Error, Num, Result};
use crate::field::{Axis, Factor, Table};
use crate::fit::{FitConfig, FitReport, Progress};
use crate::model::{FactorKind, Model, ModelSpec};
use crate::modelfile::{ModelConfig, TrainingData};
use crate::nmf::{Init, NmfParams};
use crate::optim::OptimizerConfig;
use crate::transform::{Analysis, Calibration, Representation, StftParams};
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::path::Path;

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

crate::error::from_str_by_serde_name!(TemplateMethod, "method", "innmf, nmf");

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
    /// The training representation (NMF needs one on a single grid: an STFT or a VQT).
    pub representation: Representation,
    /// Magnitude calibration of the training points.
    #[serde(default)]
    pub calibration: Calibration,
    /// Magnitude power p.
    pub power: f64,
    /// Training steps (full batch) or NMF iterations.
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

impl Default for TemplateConfig {
    /// The paper's setting: iN-NMF, rank 20, width 64, STFT 2000/1000, p = 0.5, 1000 Rprop steps.
    fn default() -> Self {
        TemplateConfig {
            method: TemplateMethod::Innmf,
            rank: 20,
            width: 64,
            depth: 3,
            n_features: 10,
            representation: Representation::default(),
            calibration: Calibration::Native,
            power: 0.5,
            steps: 1000,
            optimizer: OptimizerConfig::rprop(1e-3),
            beta: 1.0,
            seed: 0,
            training: TrainingOptions::default(),
        }
    }
}

impl TemplateConfig {
    /// The defaults for `method` when separating a mixture analyzed with STFT window `window`
    /// and hop `hop`: iN-NMF trains once at the paper's 2000/1000 (its templates are sampled at
    /// any window); classical NMF has templates only at the bins it was trained on, so it trains
    /// at the mixture's own window and hop.
    pub fn for_mixture(method: TemplateMethod, window: usize, hop: usize) -> Self {
        let representation = match method {
            TemplateMethod::Innmf => Representation::default(),
            TemplateMethod::Nmf => Representation::Stft(StftParams::new(window, hop)),
        };
        TemplateConfig {
            method,
            representation,
            ..TemplateConfig::default()
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
    /// What the model was fitted on (for its model file).
    pub data: TrainingData,
    /// How it was fitted (model spec or NMF settings, fit settings and summary), for its model
    /// file.
    pub training: serde_json::Value,
}

/// The largest magnitude `|X|^p` templates are learned from. The templates (and every model's
/// parameters) are f32, whose range ends at 3.4e38; a larger magnitude made a model with
/// infinite entries, refused only when it was stored. Audio is near 1 (magnitudes near the
/// window length).
pub const MAX_TEMPLATE_MAGNITUDE: f64 = 1e30;

fn check_magnitudes(points: &crate::points::TfPoints) -> Result<()> {
    let peak = points.m().iter().fold(0.0f64, |a, &v| a.max(v));
    if peak > MAX_TEMPLATE_MAGNITUDE {
        return Err(Error::param(
            "training signal",
            format!("magnitudes |X|^p up to {}", Num(peak)),
            "magnitudes of at most 1e30 (the templates are f32, whose range ends at 3.4e38): \
             scale the signal down or lower the power",
        ));
    }
    Ok(())
}

/// Fits a model to the points of a solo recording `x` (sample rate `sample_rate` Hz) in
/// `cfg.representation`.
///
/// # Errors
/// An empty or too short signal (shorter than the training window), invalid settings, a
/// representation that is not one grid for NMF, magnitudes above [`MAX_TEMPLATE_MAGNITUDE`], a
/// diverging fit, an interruption.
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
    if x.iter().all(|&v| v == 0.0) {
        return Err(Error::param(
            "training signal",
            "silent (every sample 0)",
            "a recording of the source: nothing can be learned from silence",
        ));
    }
    if cfg.method == TemplateMethod::Innmf {
        check_main_steps(cfg.steps, &cfg.training)?;
    }
    // the fit's own settings, before the analysis and the warm start
    if cfg.method == TemplateMethod::Innmf {
        cfg.optimizer.validate()?;
        cfg.training.validate()?;
        Divergence::new(cfg.beta, 1e-8)?;
    }
    let analysis = Analysis::new(&cfg.representation, sample_rate, cfg.power, cfg.calibration)?;
    let points = analysis.points(x)?;
    check_magnitudes(&points)?;
    let data = TrainingData::Audio(analysis);
    if cfg.method == TemplateMethod::Nmf {
        return learn_nmf_templates(&points, cfg, data);
    }
    // bins with their own time grids (nsgt, cwt, multires): H over knots, fitted to the grid
    // view of the points, as on a mixture
    let points = super::general::activation_points(&points, cfg.representation.kind(), None)?;
    let mut spec = ModelSpec::new(cfg.rank);
    spec.w = FactorKind::Implicit;
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
        freeze: cfg.training.main_freeze(),
        ..Default::default()
    };
    let (report, warm) = train(
        &mut model,
        &points,
        &cfg.training,
        cfg.beta,
        cfg.seed,
        &fit_cfg,
        None,
        progress,
    )?;
    let mut training = training_record(&spec, &fit_cfg, &report, warm, &cfg.training);
    training["method"] = serde_json::json!(cfg.method);
    // as `innmf fit` records it (Python's ImplicitNMF reads it back as its `preset`)
    if let Some(p) = Preset::of_training(&cfg.training) {
        training["preset"] = serde_json::json!(p);
    }
    Ok(LearnedTemplates {
        model,
        report,
        data,
        training,
    })
}

/// Classical NMF templates: β multiplicative updates of [`crate::nmf`] (NNDSVDa start,
/// `cfg.steps` iterations, no early stop) on the grid of `|X|^p`; W and H become explicit tables.
fn learn_nmf_templates(
    points: &crate::points::TfPoints,
    cfg: &TemplateConfig,
    data: TrainingData,
) -> Result<LearnedTemplates> {
    let v = points.grid_values().ok_or_else(|| {
        Error::param(
            "representation",
            cfg.representation.name(),
            "one on a single time-frequency grid (stft or vqt) for NMF templates",
        )
    })?;
    let (freqs, times) = (points.unique_freqs(), points.unique_times());
    let (nf, nt) = (freqs.len(), times.len());
    let nmf = NmfParams::new(cfg.rank)
        .beta(cfg.beta)
        .init(Init::Nndsvda)
        .max_iter(cfg.steps)
        .tol(0.0)
        .check_every(super::MU_CHECK_EVERY)
        .seed(cfg.seed);
    let (w, h, rep) = nmf.fit::<f64>(&v, nf, nt)?;
    let model = nmf_model(&w, &h, freqs, times)?;
    let report = nmf_fit_report(&rep, nf * nt);
    let training = serde_json::json!({
        "nmf": nmf, "final_loss": report.final_loss, "steps": report.steps,
        "converged": report.converged, "method": cfg.method,
    });
    Ok(LearnedTemplates {
        model,
        report,
        data,
        training,
    })
}

/// One source's templates for [`separate`](super::separate).
#[derive(Debug, Clone, Copy)]
pub struct TemplateSet<'a> {
    /// The model whose W holds the templates (H is ignored).
    pub model: &'a Model,
    /// Highest frequency the templates know (Hz), e.g. the Nyquist frequency of the training
    /// audio; W is set to 0 above it. `None`: sample W at every mixture frequency.
    pub max_freq: Option<f64>,
    /// What the model was fitted on, when known: its power and calibration must match the
    /// mixture's.
    pub data: Option<&'a TrainingData>,
}

impl<'a> From<&'a Model> for TemplateSet<'a> {
    fn from(model: &'a Model) -> Self {
        TemplateSet {
            model,
            max_freq: None,
            data: None,
        }
    }
}

impl<'a> TemplateSet<'a> {
    /// The templates of a loaded model file for a mixture at `sample_rate` Hz. A model trained at
    /// another rate is refused unless `other_rates` is set; then its templates are zero above its
    /// own Nyquist frequency. `path` names the file in errors.
    ///
    /// # Errors
    /// A sample-rate mismatch without `other_rates`, naming both rates.
    pub fn from_file(
        model: &'a Model,
        config: &'a ModelConfig,
        sample_rate: f64,
        other_rates: bool,
        path: &Path,
    ) -> Result<Self> {
        let mut max_freq = None;
        if let Some(a) = config.data.as_ref().and_then(TrainingData::analysis) {
            if (a.sample_rate - sample_rate).abs() > 1e-9 {
                if !other_rates {
                    return Err(Error::param(
                        "mixture sample rate",
                        format!("{} Hz", Num(sample_rate)),
                        format!(
                            "the rate {} Hz that model {} was trained at (or allow other rates \
                             to use it anyway: its templates are then zero above {} Hz)",
                            a.sample_rate,
                            path.display(),
                            a.sample_rate / 2.0
                        ),
                    ));
                }
                max_freq = Some(a.sample_rate / 2.0);
            }
        }
        Ok(TemplateSet {
            model,
            max_freq,
            data: config.data.as_ref(),
        })
    }
}

/// W of a template set at `freqs` (Hz), `[K, F]`, zero above `max_freq`.
///
/// Values are clipped below at 0; a non-finite value (a network that overflows f32, a corrupt
/// model) stays non-finite.
pub fn sample_templates(set: &TemplateSet<'_>, freqs: &[f64]) -> Vec<f64> {
    let k = set.model.rank();
    let nf = freqs.len();
    let w = set.model.sample_w(freqs);
    // negative values clip to 0; NaN stays NaN (`max` would turn it into 0) for the caller to
    // report as non-finite rather than as a template with no energy
    let mut out: Vec<f64> = w
        .iter()
        .map(|&v| {
            if v.is_nan() {
                f64::NAN
            } else {
                (v as f64).max(0.0)
            }
        })
        .collect();
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

/// A model of explicit tables from classical NMF factors: `w` F×K (row-major, at `freqs`) and
/// `h` K×T (at `times`).
///
/// # Errors
/// Shapes that do not match the coordinates, negative or non-finite values.
pub fn nmf_model(w: &[f64], h: &[f64], freqs: &[f64], times: &[f64]) -> Result<Model> {
    let (nf, nt) = (freqs.len(), times.len());
    if nf == 0 || nt == 0 || !w.len().is_multiple_of(nf) || h.len() != (w.len() / nf) * nt {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_from_absurd_magnitudes_are_refused_before_training() {
        // samples of 1e300: |X| ≈ 1e302 is a finite f64 but no f32, so the NMF templates came out
        // infinite (and Python's learn_templates raised OSError when the model was stored)
        let x: Vec<f64> = (0..4000).map(|i| 1e300 * (i as f64 * 0.3).sin()).collect();
        for method in [TemplateMethod::Nmf, TemplateMethod::Innmf] {
            let mut cfg = TemplateConfig::for_mixture(method, 256, 64);
            cfg.steps = 2;
            let m = match learn_templates(&x, 8000.0, &cfg, None) {
                Ok(_) => panic!("{method:?}: templates learned from samples of 1e300"),
                Err(e) => e.to_string(),
            };
            assert!(
                m.contains("training signal") && m.contains("at most 1e30"),
                "{m}"
            );
            assert!(m.len() < 300, "{m}");
        }
    }
}
