//! The settings of a run ([`ExperimentConfig`]), their checks and their hash.

use innmf::error::{Error, Result};
use innmf::nmf::{Init, Precision};
use innmf::separate::{HSolver, MaskKind, Preset, TrainingOptions};
use innmf::transform::{CqtSpec, CwtSpec, NsgtSpec, Padding, Representation};
use innmf::Sampling;
use serde::{Deserialize, Serialize};

/// A study of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Study {
    /// Reconstruction across window sizes.
    Reconstruction,
    /// Two-speaker separation across window sizes.
    Separation,
    /// Transfer of templates across representations.
    Transfer,
    /// The hybrid decomposition of music recordings.
    Hybrid,
}

impl Study {
    /// Every study, in report order.
    pub const ALL: [Study; 4] = [
        Study::Reconstruction,
        Study::Separation,
        Study::Transfer,
        Study::Hybrid,
    ];

    /// The lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Study::Reconstruction => "reconstruction",
            Study::Separation => "separation",
            Study::Transfer => "transfer",
            Study::Hybrid => "hybrid",
        }
    }
}

/// A short, file-safe name of a transfer representation: `stft-500` (hop = window/2),
/// `stft-500-100`, `cqt`, `nsgt`, `cwt`.
pub fn representation_name(r: &Representation) -> String {
    match r {
        Representation::Stft(p) if p.hop == p.window_len / 2 => format!("stft-{}", p.window_len),
        Representation::Stft(p) => format!("stft-{}-{}", p.window_len, p.hop),
        r => r.kind().name().to_string(),
    }
}

/// The transfer study's STFT: hop = window/2 and centre padding (the separation STFT).
pub fn transfer_stft(window: usize) -> Representation {
    Representation::stft(window, (window / 2).max(1), Padding::Center)
}

/// The transfer study's constant-Q transform, up to 0.45·`sample_rate`.
pub fn transfer_cqt(f_min: f64, bins_per_octave: usize, sample_rate: f64) -> Representation {
    Representation::Cqt(CqtSpec {
        f_min,
        bins_per_octave,
        f_max: Some(0.45 * sample_rate),
        ..CqtSpec::default()
    })
}

/// The transfer study's NSGT, up to 0.45·`sample_rate`.
pub fn transfer_nsgt(f_min: f64, bins_per_octave: usize, sample_rate: f64) -> Representation {
    Representation::Nsgt(NsgtSpec {
        f_min,
        bins_per_octave,
        f_max: Some(0.45 * sample_rate),
    })
}

/// The transfer study's Morlet CWT, up to 0.3·`sample_rate` (the Morlet's limit is sr/3).
pub fn transfer_cwt(f_min: f64, voices_per_octave: usize, sample_rate: f64) -> Representation {
    Representation::Cwt(CwtSpec {
        f_min,
        voices_per_octave,
        f_max: Some(0.3 * sample_rate),
        ..CwtSpec::default()
    })
}

/// Most bootstrap resamples of a confidence interval (held at once, one median each).
pub const MAX_BOOTSTRAP: usize = 1_000_000;

/// Settings of the transfer study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferConfig {
    /// Seconds from the start of each recording.
    pub seconds: f64,
    /// Training steps on representation A (Rprop, full batch).
    pub steps: usize,
    /// Steps of the `H` refit on representation B.
    pub refit_steps: usize,
    /// Hidden width of the W and H networks.
    pub width: usize,
    /// The representations compared.
    pub representations: Vec<Representation>,
    /// Recordings used (the first ones in name order); 0 = all.
    pub recordings: usize,
    /// How the networks are evaluated at the points' coordinates while training
    /// ([`innmf::Sampling`]): `auto` (the default settings' since issue 12: on a uniform grid,
    /// interpolated, where that saves half the evaluations; the constant-Q, NSGT and wavelet
    /// point sets have one time grid per band, tens of thousands of distinct times) or `exact`
    /// (at every distinct time; what a configuration without the field, written before it
    /// existed, ran). The scores are exact KLs either way. Left out of the JSON (and of the
    /// units' hashes) when exact.
    #[serde(default, skip_serializing_if = "Sampling::is_exact")]
    pub sampling: Sampling,
}

/// Settings of the hybrid study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HybridConfig {
    /// Seconds from the start of each music recording.
    pub seconds: f64,
    /// Recordings are resampled to this rate (the paper's demo: 4410 Hz).
    pub sample_rate: u32,
    /// Components.
    pub rank: usize,
    /// Hidden width.
    pub width: usize,
    /// Steps (Rprop, random subsets of `fraction` of the points).
    pub steps: usize,
    /// Fraction of points per step.
    pub fraction: f64,
}

/// Settings of the music separation study (issue 16), part of the separation study when present:
/// each track of aligned stems is cut into `folds` equal folds; per held-out fold, every stem's
/// templates are learned on the other folds (iN-NMF in each of `representations` on the
/// unit-tone scale; NMF at each of `windows`), and every mixture of two or more of the track's
/// stems on the held-out fold is separated. Fold 0 is the selection part (NMF's best window per
/// instrument is chosen on it); the other folds are reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MusicConfig {
    /// The representations iN-NMF learns templates in and separates in (each invertible).
    pub representations: Vec<Representation>,
    /// Stems are resampled to this rate (Hz).
    pub sample_rate: u32,
    /// Time folds of each track (at least 2: fold 0 selects, the others report).
    pub folds: usize,
    /// Components per stem.
    pub rank: usize,
    /// Hidden width of iN-NMF's W networks.
    pub width: usize,
    /// iN-NMF training steps (Rprop, full batch).
    pub steps: usize,
    /// Steps of iN-NMF's activation fit on a mixture (Rprop).
    pub separation_steps: usize,
    /// Spacing (s) of the activation knots in representations whose bins have their own time
    /// grids (`None`: the library's default, the finest bin's step but at least 5 ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub h_step: Option<f64>,
    /// Multiplicative-update iterations of NMF (training and activations).
    pub nmf_iter: usize,
    /// NMF's STFT windows (hop = window/4).
    pub windows: Vec<usize>,
    /// Separation mask (iN-NMF, NMF and the oracle masks alike).
    pub mask: MaskKind,
}

/// The music study's representation of `name` at `sample_rate`: `stft` (the power of two
/// nearest 93 ms, hop a quarter: 2048/512 at 22.05 kHz), `nsgt` (30 Hz, 48 bands per octave, up to
/// 0.45·sr), `cwt` (30 Hz, 24 voices, up to 0.3·sr), `multires` (its defaults).
///
/// # Errors
/// Another name.
pub fn music_representation(name: &str, sample_rate: f64) -> Result<Representation> {
    Ok(match name {
        "stft" => {
            let w = ((0.093 * sample_rate).log2().round().exp2() as usize).max(16);
            Representation::stft(w, w / 4, Padding::Center)
        }
        "nsgt" => Representation::Nsgt(NsgtSpec {
            f_min: 30.0,
            bins_per_octave: 48,
            f_max: Some(0.45 * sample_rate),
        }),
        "cwt" => Representation::Cwt(CwtSpec {
            f_min: 30.0,
            voices_per_octave: 24,
            f_max: Some(0.3 * sample_rate),
            ..CwtSpec::default()
        }),
        "multires" => Representation::Multires(Default::default()),
        _ => {
            return Err(Error::param(
                "representation",
                name,
                "stft, nsgt, cwt or multires (invertible representations)",
            ))
        }
    })
}

/// A short, file-safe name of a music representation: `stft-2048-512`, `nsgt-48-30-9922`,
/// `cwt-24-30-6615`, `multires`.
pub fn music_representation_name(r: &Representation) -> String {
    let hz = |f: Option<f64>| f.map_or("auto".to_string(), |f| format!("{:.0}", f));
    match r {
        Representation::Stft(p) => format!("stft-{}-{}", p.window_len, p.hop),
        Representation::Nsgt(n) => {
            format!("nsgt-{}-{:.0}-{}", n.bins_per_octave, n.f_min, hz(n.f_max))
        }
        Representation::Cwt(c) => {
            format!("cwt-{}-{:.0}-{}", c.voices_per_octave, c.f_min, hz(c.f_max))
        }
        r => r.kind().name().to_string(),
    }
}

/// [`music_representation`] of each of `names` at `sample_rate` Hz.
fn music_representations(names: &[&str], sample_rate: u32) -> Result<Vec<Representation>> {
    names
        .iter()
        .map(|n| music_representation(n, sample_rate as f64))
        .collect()
}

impl MusicConfig {
    /// The study's settings for the representations `names` (see [`music_representation`]) at
    /// 22.05 kHz: 3 folds, rank 20, width 64, 1000 training steps (chosen on the selection
    /// fold of the shared stems over 300: the flute's templates were under-trained), 200
    /// activation steps (converged), NMF 300 iterations at windows 512–4096, Wiener masks.
    ///
    /// # Errors
    /// An unknown name.
    pub fn for_representations(names: &[&str]) -> Result<Self> {
        let sample_rate = 22050;
        let representations = music_representations(names, sample_rate)?;
        Ok(MusicConfig {
            representations,
            sample_rate,
            folds: 3,
            rank: 20,
            width: 64,
            steps: 1000,
            separation_steps: 200,
            h_step: None,
            nmf_iter: 300,
            windows: vec![512, 1024, 2048, 4096],
            mask: MaskKind::Wiener,
        })
    }

    /// The quick settings (tests): 8 kHz, 2 folds, rank 4, width 16, few steps, windows 256/512.
    ///
    /// # Errors
    /// An unknown name.
    pub fn quick(names: &[&str]) -> Result<Self> {
        let sample_rate = 8000;
        let representations = music_representations(names, sample_rate)?;
        Ok(MusicConfig {
            representations,
            sample_rate,
            folds: 2,
            rank: 4,
            width: 16,
            steps: 150,
            separation_steps: 100,
            h_step: None,
            nmf_iter: 150,
            windows: vec![256, 512],
            mask: MaskKind::Wiener,
        })
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// The first impossible value, named.
    pub fn validate(&self) -> Result<()> {
        if self.representations.is_empty() {
            return Err(Error::Empty {
                what: "music representations",
            });
        }
        for r in &self.representations {
            r.validate()?;
            if !r.is_invertible() {
                return Err(Error::param(
                    "music.representations",
                    r.name(),
                    "invertible representations (stft, nsgt, cwt, multires)",
                ));
            }
        }
        let mut names: Vec<String> = self
            .representations
            .iter()
            .map(music_representation_name)
            .collect();
        names.sort();
        if names.windows(2).any(|w| w[0] == w[1]) {
            return Err(Error::param(
                "music.representations",
                names.join(","),
                "distinct representations",
            ));
        }
        if self.folds < 2 || self.folds > 64 {
            return Err(Error::param(
                "music.folds",
                self.folds,
                "2 to 64 (fold 0 selects, the others report)",
            ));
        }
        for (name, v) in [
            ("music.rank", self.rank),
            ("music.width", self.width),
            ("music.steps", self.steps),
            ("music.separation_steps", self.separation_steps),
            ("music.nmf_iter", self.nmf_iter),
        ] {
            if v == 0 {
                return Err(Error::param(name, 0, "at least 1"));
            }
        }
        innmf::fit::check_iterations("music.nmf_iter", self.nmf_iter, "iterations")?;
        innmf::audio::check_sample_rate("music.sample_rate", self.sample_rate, "")?;
        if let Some(s) = self.h_step {
            if !(s.is_finite() && s > 0.0) {
                return Err(Error::param(
                    "music.h_step",
                    s,
                    "a positive time step in seconds",
                ));
            }
        }
        if self.windows.is_empty() {
            return Err(Error::Empty {
                what: "music windows",
            });
        }
        if let Some(&w) = self.windows.iter().find(|&&w| w < 8) {
            return Err(Error::param("music.windows", w, "at least 8 samples"));
        }
        Ok(())
    }
}

/// Every setting of a run that changes its numbers. Each unit's file carries a hash of the
/// settings that unit reads ([`crate::plan::unit_settings`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentConfig {
    /// Seed of every random choice (pairs, initializations, subsets, bootstrap).
    pub seed: u64,
    /// Speech recordings are resampled to this rate (Hz).
    pub sample_rate: u32,
    /// Components per model.
    pub rank: usize,
    /// Hidden width of iN-NMF's W networks.
    pub width: usize,
    /// Magnitude power p.
    pub power: f64,
    /// iN-NMF's training window (hop = window/2).
    pub train_window: usize,
    /// Windows of the studies (hop = window/2).
    pub windows: Vec<usize>,
    /// Training excerpt: the first seconds of each recording.
    pub train_seconds: f64,
    /// Held-out excerpt (reconstruction) and mixture length (separation): the seconds after the
    /// training excerpt.
    pub test_seconds: f64,
    /// iN-NMF training steps (Rprop, full batch).
    pub innmf_steps: usize,
    /// Steps of iN-NMF's `H` refit for reconstruction.
    pub refit_steps: usize,
    /// Steps of iN-NMF's `H` fit on a mixture.
    pub separation_steps: usize,
    /// Multiplicative-update iterations of every NMF fit.
    pub nmf_iter: usize,
    /// NMF initialization.
    pub nmf_init: Init,
    /// Arithmetic of the speech studies' NMF fits and multiplicative-update activation fits
    /// ([`Precision`]): `f32` (the default settings' since issue 12: the fused KL engine, 2–4×
    /// faster; the scores agree with f64's to f32 rounding) or `f64` (what a configuration
    /// without the field, written before it existed, ran). Left out of the JSON (and of the
    /// units' hashes) when f64.
    #[serde(default = "precision_f64", skip_serializing_if = "Precision::is_f64")]
    pub nmf_precision: Precision,
    /// Separation mask.
    pub mask: MaskKind,
    /// Which NMF templates separate a mixture at a window ([`NmfTemplates`]): those trained at
    /// that window (the paper's protocol, the default) or those trained at `train_window`,
    /// sampled at the window's bins by linear interpolation (an ablation: NMF trained once,
    /// as iN-NMF is). Left out of the JSON at the default.
    #[serde(default, skip_serializing_if = "NmfTemplates::is_per_window")]
    pub nmf_templates: NmfTemplates,
    /// Where iN-NMF's templates are evaluated for a mixture ([`InnmfTemplateGrid`]): at the
    /// mixture's bins (the method, the default) or at the training window's bins, linearly
    /// interpolated to the mixture's (an ablation: what the networks do between the bins they
    /// were trained on). Left out of the JSON at the default.
    #[serde(default, skip_serializing_if = "InnmfTemplateGrid::is_mixture")]
    pub innmf_template_grid: InnmfTemplateGrid,
    /// iN-NMF training options beyond the paper's (default: the paper's).
    #[serde(default, skip_serializing_if = "TrainingOptions::is_paper")]
    pub innmf_training: TrainingOptions,
    /// Solver of iN-NMF's activations on a mixture (the paper's: Rprop, `separation_steps`).
    #[serde(default, skip_serializing_if = "is_rprop")]
    pub separation_solver: HSolver,
    /// Bootstrap resamples of the confidence intervals.
    pub bootstrap: usize,
    /// The named protocol of iN-NMF's training and activation fit (`"paper"`, `"innmf"`);
    /// [`apply_preset`](Self::apply_preset) sets `innmf_training`, `separation_solver` and
    /// `separation_steps` from it. Left out of the JSON when absent (the paper's settings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<Preset>,
    /// Transfer study.
    pub transfer: TransferConfig,
    /// Hybrid study.
    pub hybrid: HybridConfig,
    /// The music separation study (issue 16; `--representations`), part of the separation
    /// study when present. Left out of the JSON when absent (so the speech study's hashes stay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub music: Option<MusicConfig>,
}

/// The preset of a run that names none and leaves the fields it controls at the paper's values
/// ([`ExperimentConfig::resolve_preset`]): ours, which closed most of the gap to NMF (issue 15).
pub const DEFAULT_PRESET: Preset = Preset::Innmf;

/// Which NMF templates the separation study applies at each window
/// ([`ExperimentConfig::nmf_templates`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NmfTemplates {
    /// Trained at the mixture's window (the paper's NMF baseline).
    #[default]
    PerWindow,
    /// Trained once at `train_window` (which must be one of `windows`), linearly interpolated
    /// to the mixture's bins.
    TrainWindow,
}

impl NmfTemplates {
    /// True for the default (for `skip_serializing_if`).
    pub fn is_per_window(&self) -> bool {
        *self == NmfTemplates::PerWindow
    }
}

/// Where the separation study evaluates iN-NMF's templates
/// ([`ExperimentConfig::innmf_template_grid`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InnmfTemplateGrid {
    /// The networks at the mixture's bins.
    #[default]
    Mixture,
    /// The networks at the bins of `train_window`, linearly interpolated to the mixture's.
    Training,
}

impl InnmfTemplateGrid {
    /// True for the default (for `skip_serializing_if`).
    pub fn is_mixture(&self) -> bool {
        *self == InnmfTemplateGrid::Mixture
    }
}

fn precision_f64() -> Precision {
    Precision::F64
}

fn is_rprop(s: &HSolver) -> bool {
    *s == HSolver::Rprop
}

impl Default for ExperimentConfig {
    /// The paper's TIMIT settings (arXiv 2404.04439, its reconstruction and separation
    /// experiments): rank 20, width 64, p = 0.5, KL, Rprop lr 1e-3, iN-NMF trained at 2000 for
    /// 1000 steps, `H` refit 1000 steps, 100 steps on mixtures, NMF 3000 MU iterations from the
    /// authors' `10 + N(0,1)` start, windows 1000–2500, 20 s training, 5 s test, the paper's
    /// ratio mask; its hybrid demo at 4410 Hz, rank 2.
    fn default() -> Self {
        ExperimentConfig {
            seed: 0,
            sample_rate: 16000,
            rank: 20,
            width: 64,
            power: 0.5,
            train_window: 2000,
            windows: vec![1000, 1500, 2000, 2500],
            train_seconds: 20.0,
            test_seconds: 5.0,
            innmf_steps: 1000,
            refit_steps: 1000,
            separation_steps: 100,
            nmf_iter: 3000,
            nmf_init: Init::Paper,
            nmf_precision: Precision::F32,
            mask: MaskKind::Paper,
            nmf_templates: NmfTemplates::PerWindow,
            innmf_template_grid: InnmfTemplateGrid::Mixture,
            innmf_training: TrainingOptions::default(),
            separation_solver: HSolver::Rprop,
            bootstrap: 2000,
            preset: None,
            transfer: TransferConfig {
                seconds: 2.0,
                steps: 150,
                refit_steps: 150,
                width: 32,
                representations: vec![
                    transfer_stft(500),
                    transfer_stft(2000),
                    transfer_cqt(50.0, 12, 16000.0),
                    transfer_nsgt(50.0, 24, 16000.0),
                    transfer_cwt(50.0, 12, 16000.0),
                ],
                recordings: 2,
                sampling: Sampling::Auto,
            },
            hybrid: HybridConfig {
                seconds: 4.0,
                sample_rate: 4410,
                rank: 2,
                width: 16,
                steps: 1000,
                fraction: 0.5,
            },
            music: None,
        }
    }
}

impl ExperimentConfig {
    /// The paper's settings ([`Default`]) with `preset`'s training and activation fit.
    pub fn with_preset(preset: Preset) -> Self {
        let mut c = ExperimentConfig::default();
        c.set_preset(preset);
        c
    }

    /// Records `preset` and sets the fields it controls (`innmf_training`, `separation_solver`,
    /// `separation_steps`) to its values, whatever they were.
    pub fn set_preset(&mut self, preset: Preset) {
        self.preset = Some(preset);
        self.innmf_training = preset.training();
        (self.separation_solver, self.separation_steps) = preset.activations();
    }

    /// Settles the run's preset: `named` (the command line's `--preset`) or the configuration's
    /// own; when neither names one and the fields a preset controls (`innmf_training`,
    /// `separation_solver`, `separation_steps`) are the paper's, [`DEFAULT_PRESET`] (the best we
    /// found, issue 15: `--preset paper` runs the authors' protocol). A `named` preset sets its
    /// fields whatever they held ([`set_preset`](Self::set_preset)); a configuration whose
    /// fields differ from the paper's and that names no preset runs as written. Then
    /// [`apply_preset`](Self::apply_preset).
    ///
    /// # Errors
    /// `named` and the configuration's preset disagree; [`apply_preset`](Self::apply_preset)'s.
    pub fn resolve_preset(&mut self, named: Option<Preset>) -> Result<()> {
        match (named, self.preset) {
            (Some(p), Some(q)) if p != q => {
                return Err(Error::param(
                    "preset",
                    p.to_string(),
                    format!("the configuration's preset ({q}) or no --preset: give one of them"),
                ))
            }
            // named on the command line: its values, whatever the fields held (--quick's too)
            (Some(p), _) => self.set_preset(p),
            (None, None) if self.has_paper_protocol() => self.preset = Some(DEFAULT_PRESET),
            (None, _) => {}
        }
        self.apply_preset()
    }

    /// True when the fields a preset controls hold the paper's values.
    fn has_paper_protocol(&self) -> bool {
        let (solver, steps) = Preset::Paper.activations();
        self.innmf_training.is_paper()
            && self.separation_solver == solver
            && self.separation_steps == steps
    }

    /// Sets the fields [`preset`](Self::preset) controls (`innmf_training`, `separation_solver`,
    /// `separation_steps`) to the preset's values. A field may hold the paper's value (it was
    /// left as it is) or the preset's already (a `results.json` of a preset run read back).
    ///
    /// # Errors
    /// A field that holds a third value: the preset and the field disagree, and which one was
    /// meant is not clear.
    pub fn apply_preset(&mut self) -> Result<()> {
        let Some(p) = self.preset else {
            return Ok(());
        };
        let paper = Preset::Paper;
        let (solver, steps) = p.activations();
        let (paper_solver, paper_steps) = paper.activations();
        let conflict = |field: &'static str, have: String, preset_value: String| {
            Error::param(
                field,
                have,
                format!(
                    "the paper's value or preset {p}'s ({preset_value}); remove the field or \
                     the preset"
                ),
            )
        };
        if self.innmf_training != paper.training() && self.innmf_training != p.training() {
            return Err(conflict(
                "innmf_training",
                serde_json::to_string(&self.innmf_training).unwrap_or_default(),
                serde_json::to_string(&p.training()).unwrap_or_default(),
            ));
        }
        if self.separation_solver != paper_solver && self.separation_solver != solver {
            return Err(conflict(
                "separation_solver",
                format!("{:?}", self.separation_solver),
                format!("{solver:?}"),
            ));
        }
        if self.separation_steps != paper_steps && self.separation_steps != steps {
            return Err(conflict(
                "separation_steps",
                self.separation_steps.to_string(),
                steps.to_string(),
            ));
        }
        self.set_preset(p);
        Ok(())
    }

    /// A small, fast setting for tests and trials on short recordings (8 kHz, windows 256 and
    /// 512, rank 4, a few hundred steps, 3 s training, 1 s test).
    pub fn quick() -> Self {
        ExperimentConfig {
            seed: 0,
            sample_rate: 8000,
            rank: 4,
            width: 16,
            power: 0.5,
            train_window: 512,
            windows: vec![256, 512],
            train_seconds: 3.0,
            test_seconds: 1.0,
            innmf_steps: 150,
            refit_steps: 100,
            separation_steps: 60,
            nmf_iter: 200,
            nmf_init: Init::Paper,
            nmf_precision: Precision::F32,
            mask: MaskKind::Paper,
            nmf_templates: NmfTemplates::PerWindow,
            innmf_template_grid: InnmfTemplateGrid::Mixture,
            innmf_training: TrainingOptions::default(),
            separation_solver: HSolver::Rprop,
            bootstrap: 200,
            preset: None,
            transfer: TransferConfig {
                seconds: 1.5,
                steps: 60,
                refit_steps: 40,
                width: 16,
                representations: vec![
                    transfer_stft(256),
                    transfer_stft(512),
                    transfer_cqt(100.0, 12, 8000.0),
                ],
                recordings: 2,
                sampling: Sampling::Auto,
            },
            hybrid: HybridConfig {
                seconds: 2.0,
                sample_rate: 4410,
                rank: 2,
                width: 16,
                steps: 150,
                fraction: 0.5,
            },
            music: None,
        }
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// The first impossible value, named.
    pub fn validate(&self) -> Result<()> {
        let pos = |name: &'static str, v: usize| {
            if v == 0 {
                Err(Error::param(name, 0, "at least 1"))
            } else {
                Ok(())
            }
        };
        pos("rank", self.rank)?;
        pos("width", self.width)?;
        // 0: the W-only stage of an NMF warm start is the whole training
        if self.innmf_steps > 0 || !self.innmf_training.has_w_only_stage() {
            pos("innmf_steps", self.innmf_steps)?;
        }
        pos("refit_steps", self.refit_steps)?;
        self.innmf_training.validate()?;
        pos("separation_steps", self.separation_steps)?;
        if let Some(p) = self.preset {
            let (solver, steps) = p.activations();
            if self.innmf_training != p.training()
                || self.separation_solver != solver
                || self.separation_steps != steps
            {
                return Err(Error::param(
                    "preset",
                    p.to_string(),
                    "innmf_training, separation_solver and separation_steps as the preset sets \
                     them (ExperimentConfig::apply_preset)",
                ));
            }
        }
        pos("nmf_iter", self.nmf_iter)?;
        pos("transfer.steps", self.transfer.steps)?;
        pos("transfer.refit_steps", self.transfer.refit_steps)?;
        pos("hybrid.steps", self.hybrid.steps)?;
        innmf::audio::check_sample_rate("sample_rate", self.sample_rate, "")?;
        innmf::audio::check_sample_rate("hybrid.sample_rate", self.hybrid.sample_rate, "")?;
        // every resample is drawn and held: beyond, a typo, not a plan
        if self.bootstrap > MAX_BOOTSTRAP {
            return Err(Error::param(
                "bootstrap",
                self.bootstrap,
                format!("at most {MAX_BOOTSTRAP} resamples"),
            ));
        }
        innmf::fit::check_iterations("nmf_iter", self.nmf_iter, "iterations")?;
        if !(self.power.is_finite() && self.power > 0.0) {
            return Err(Error::param("power", self.power, "a finite value > 0"));
        }
        if self.windows.is_empty() {
            return Err(Error::Empty { what: "windows" });
        }
        if self.nmf_templates == NmfTemplates::TrainWindow
            && !self.windows.contains(&self.train_window)
        {
            return Err(Error::param(
                "nmf_templates",
                "train-window",
                format!(
                    "train_window ({}) among windows ({:?}): NMF is trained at the windows \
                     the study separates at",
                    self.train_window, self.windows
                ),
            ));
        }
        if let Some(&w) = self.windows.iter().find(|&&w| w < 4) {
            return Err(Error::param("windows", w, "at least 4 samples"));
        }
        if self.train_window < 4 {
            return Err(Error::param(
                "train_window",
                self.train_window,
                "at least 4 samples",
            ));
        }
        for (name, s) in [
            ("train_seconds", self.train_seconds),
            ("test_seconds", self.test_seconds),
            ("transfer.seconds", self.transfer.seconds),
            ("hybrid.seconds", self.hybrid.seconds),
        ] {
            if !(s.is_finite() && s > 0.0) {
                return Err(Error::param(name, s, "a positive duration in seconds"));
            }
        }
        let sec = |s: f64| s * self.sample_rate as f64;
        let longest = self
            .windows
            .iter()
            .copied()
            .chain([self.train_window])
            .max()
            .unwrap_or(0) as f64;
        if sec(self.test_seconds) < longest {
            return Err(Error::param(
                "test_seconds",
                self.test_seconds,
                format!("at least the longest window ({longest} samples)"),
            ));
        }
        if self.transfer.representations.is_empty() {
            return Err(Error::Empty {
                what: "transfer representations",
            });
        }
        if let Some(m) = &self.music {
            m.validate()?;
        }
        if !(self.hybrid.fraction > 0.0 && self.hybrid.fraction <= 1.0) {
            return Err(Error::param(
                "hybrid.fraction",
                self.hybrid.fraction,
                "in (0, 1]",
            ));
        }
        Ok(())
    }

    /// FNV-1a hash of the whole configuration's JSON (the run's; each unit's file carries the
    /// hash of the settings that unit reads).
    pub fn hash(&self) -> String {
        let s = serde_json::to_string(self).unwrap_or_default();
        format!("{:016x}", crate::plan::fnv1a(s.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use innmf::transform::Calibration;

    #[test]
    fn zero_innmf_steps_only_after_a_w_only_stage() {
        let mut c = ExperimentConfig::quick();
        c.innmf_steps = 0;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("innmf_steps"), "{e}");
        c.innmf_training.nmf_warm_start = 100;
        assert!(c.validate().is_err(), "no W-only stage");
        c.innmf_training.w_steps = 100;
        c.validate().unwrap();
    }

    #[test]
    fn sizes_are_bounded_before_anything_runs() {
        // each of these aborted (out of memory) or ran for hours in `innmf experiment`
        type Set = fn(&mut ExperimentConfig);
        let cases: [(&str, Set); 4] = [
            ("bootstrap", |c| c.bootstrap = 1 << 50),
            ("sample_rate", |c| c.sample_rate = 4_000_000_000),
            ("hybrid.sample_rate", |c| {
                c.hybrid.sample_rate = 4_000_000_000
            }),
            ("nmf_iter", |c| c.nmf_iter = 1 << 50),
        ];
        for (name, set) in cases {
            let mut c = ExperimentConfig::quick();
            set(&mut c);
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains(name), "{name}: {e}");
        }
        ExperimentConfig::quick().validate().unwrap();
    }

    #[test]
    fn nmf_templates_of_the_training_window_need_that_window_in_the_study() {
        let mut c = ExperimentConfig::quick();
        c.nmf_templates = NmfTemplates::TrainWindow;
        c.validate().unwrap();
        c.windows = vec![256];
        let e = c.validate().unwrap_err().to_string();
        assert!(
            e.contains("nmf_templates") && e.contains("512") && e.contains("[256]"),
            "{e}"
        );
        // the JSON form: kebab-case, left out at the default
        let j = serde_json::to_value(&c).unwrap();
        assert_eq!(j["nmf_templates"], "train-window");
        c.nmf_templates = NmfTemplates::PerWindow;
        assert!(serde_json::to_value(&c)
            .unwrap()
            .get("nmf_templates")
            .is_none());
    }

    #[test]
    fn every_representation_reads_a_unit_tone_as_one_near_its_frequency() {
        let sr = 8000.0;
        let f0 = 440.0;
        let x: Vec<f64> = (0..16000)
            .map(|i| (2.0 * std::f64::consts::PI * f0 * i as f64 / sr).cos())
            .collect();
        // each representation with the peak it reads (measured; 1 exactly only at a bin's
        // centre, less off-centre: scalloping, which depends on where 440 Hz falls between the
        // bins: 0.16 of a bin for the STFT, about a third of a bin for the 24-per-octave NSGT)
        let reps = [
            (transfer_stft(512), 0.976),
            (transfer_cqt(100.0, 24, sr), 0.975),
            (transfer_nsgt(100.0, 24, sr), 0.792),
            (transfer_cwt(100.0, 12, sr), 0.993),
        ];
        for (r, expected) in reps {
            let pts = r.points(&x, sr, 1.0, Calibration::UnitTone).unwrap();
            // the loudest point away from the edges
            let (i, m) = pts
                .m()
                .iter()
                .enumerate()
                .filter(|(i, _)| pts.t()[*i] > 0.5 && pts.t()[*i] < 1.5)
                .fold((0, 0.0), |b, (i, &m)| if m > b.1 { (i, m) } else { b });
            let f = pts.f()[i];
            // a bin (or scale) of these resolutions sits within 1/12 octave of the tone
            assert!(
                (f / f0).log2().abs() < 1.0 / 12.0,
                "{}: peak at {f} Hz",
                representation_name(&r)
            );
            // never above 1; the measured value to 0.01 (a change of the calibration or of the
            // windows by more than 1 % fails here)
            assert!(
                m <= 1.0 + 1e-9 && (m - expected).abs() < 0.01,
                "{}: peak magnitude {m}, expected {expected}",
                representation_name(&r)
            );
        }
    }
}
