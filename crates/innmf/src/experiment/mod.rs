//! The paper's studies as one resumable run (`innmf experiment`): reconstruction across window
//! sizes, two-speaker separation across window sizes, transfer of templates across
//! representations, and the hybrid decomposition, on a folder of recordings.
//!
//! # How a run is organised
//! A run is a list of **units** (train one model, refit one window, separate one pair at one
//! window, ...). Each unit has a stable id, derives its seed from the run's seed and its id (so
//! the results do not depend on the order or the number of parallel jobs), and writes its result
//! atomically to `OUT/units/<id>.json` together with a hash of the settings it depends on. A
//! rerun skips every unit whose file exists with the same hash: an interrupted run resumes where
//! it stopped, and changing one study's settings recomputes only that study's units.
//! Training units (phase 1) run before the units that use their models (phase 2); models are
//! stored under `OUT/models/` and always read back from there, so a resumed run and a fresh run
//! compute the same numbers.
//!
//! `OUT/results.json` ([`Results`]) collects every unit's rows in plan order; `REPORT.md` and the
//! figures are drawn from it alone ([`report`]), so `innmf experiment report` redraws them
//! without recomputing anything.
//!
//! # The studies (defaults: PAPER.md §3–4)
//! - **Reconstruction**: iN-NMF (implicit `W`, explicit `H`) trained once on the first
//!   `train_seconds` of each recording at `train_window` (hop = window/2); `H` refit with `W`
//!   frozen at every window of `windows`; classical KL-NMF fit at every window. Scored with the
//!   paper's spectral metrics (KL on `|X|^p`, NMSE and spectral SDR on `|X|`, Itakura–Saito
//!   without the authors' +2 bug) on the training excerpt and on the `test_seconds` after it
//!   (held out: iN-NMF refits `H`, NMF fits `H` with its training `W`).
//! - **Separation**: pairs of recordings of distinct speakers (a speaker is the file name up to
//!   its first `_`: `slt_hts` and `slt` are one speaker); each source's templates are the
//!   reconstruction study's models; the mixture is the two held-out excerpts, the second scaled
//!   to exactly the first's energy (0 dB). iN-NMF samples `W` at each window's bins and fits `H`
//!   (`separation_steps` Rprop steps); NMF uses the `W` trained at that window and fits `H` with
//!   `nmf_iter` multiplicative updates. BSS Eval v3 SDR/SIR/SAR, SI-SDR and STOI, averaged over
//!   the two sources.
//! - **Transfer**: on the first `transfer.seconds` of each recording, a model with implicit `W`
//!   and `H` is trained on every representation A; for every B, `W` from A is frozen and a fresh
//!   implicit `H` fitted on B. The score is KL(A→B) / KL(B→B).
//! - **Hybrid**: the paper's demo (STFT 128/32, STFT 1024/256 and the constant-Q transform in
//!   sequence, rank 2, implicit `W` and `H`) on every music recording, with its figures; where a
//!   `midi/<name>.notes.csv` lists exactly two pitches, the separation ratio of the two
//!   activations on the two notes' solo intervals.

pub mod report;

pub use crate::stats;

use crate::audio::{self, ChannelSelect};
use crate::demo::{self, DemoConfig};
use crate::divergence::Divergence;
use crate::error::{Error, Result};
use crate::field::Axis;
use crate::fit::Freeze;
use crate::fit::{fit, FitConfig};
use crate::io::{self, NdArray};
use crate::metrics::bss_eval::bss_eval_sources;
use crate::metrics::si_sdr::si_sdr;
use crate::metrics::spectral::{itakura_saito, kl_compressed, nmse, spectral_sdr};
use crate::metrics::stoi::stoi;
use crate::model::{FactorKind, Model, ModelSpec};
use crate::modelfile;
use crate::modelfile::TrainingData;
use crate::nmf::{Init, NmfParams};
use crate::optim::OptimizerConfig;
use crate::points::TfPoints;
use crate::separate::{
    fit_activations, learn_templates, mixture_stft, nmf_model, separate, HSolver, MaskKind,
    SeparateConfig, TemplateConfig, TemplateMethod, TemplateSet, TrainingOptions,
};
use crate::transform::{
    Analysis, Calibration, CqtSpec, CwtSpec, NsgtSpec, Padding, Representation,
};
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

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

/// The transfer study's representations at `sample_rate`: STFTs with hop = window/2 and centre
/// padding (the separation STFT); the constant-Q transform and the NSGT up to 0.45·sr; the
/// Morlet CWT up to 0.3·sr (the Morlet's limit is sr/3).
fn transfer_stft(window: usize) -> Representation {
    Representation::stft(window, (window / 2).max(1), Padding::Center)
}

fn transfer_cqt(f_min: f64, bins_per_octave: usize, sample_rate: f64) -> Representation {
    Representation::Cqt(CqtSpec {
        f_min,
        bins_per_octave,
        f_max: Some(0.45 * sample_rate),
        ..CqtSpec::default()
    })
}

fn transfer_nsgt(f_min: f64, bins_per_octave: usize, sample_rate: f64) -> Representation {
    Representation::Nsgt(NsgtSpec {
        f_min,
        bins_per_octave,
        f_max: Some(0.45 * sample_rate),
    })
}

fn transfer_cwt(f_min: f64, voices_per_octave: usize, sample_rate: f64) -> Representation {
    Representation::Cwt(CwtSpec {
        f_min,
        voices_per_octave,
        f_max: Some(0.3 * sample_rate),
        ..CwtSpec::default()
    })
}

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

/// Every setting of a run that changes its numbers (hashed into each unit's file).
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
    /// Separation mask.
    pub mask: MaskKind,
    /// iN-NMF training options beyond the paper's (default: the paper's).
    #[serde(default, skip_serializing_if = "TrainingOptions::is_paper")]
    pub innmf_training: TrainingOptions,
    /// Solver of iN-NMF's activations on a mixture (the paper's: Rprop, `separation_steps`).
    #[serde(default, skip_serializing_if = "is_rprop")]
    pub separation_solver: HSolver,
    /// Bootstrap resamples of the confidence intervals.
    pub bootstrap: usize,
    /// Transfer study.
    pub transfer: TransferConfig,
    /// Hybrid study.
    pub hybrid: HybridConfig,
}

impl Default for ExperimentConfig {
    /// PAPER.md §3–4: rank 20, width 64, p = 0.5, KL, Rprop lr 1e-3, iN-NMF trained at 2000 for
    /// 1000 steps, `H` refit 1000 steps, 100 steps on mixtures, NMF 3000 MU iterations from the
    /// authors' `10 + N(0,1)` start, windows 1000–2500, 20 s training, 5 s test, the paper's
    /// ratio mask.
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
            mask: MaskKind::Paper,
            innmf_training: TrainingOptions::default(),
            separation_solver: HSolver::Rprop,
            bootstrap: 2000,
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
            },
            hybrid: HybridConfig {
                seconds: 4.0,
                sample_rate: 4410,
                rank: 2,
                width: 16,
                steps: 1000,
                fraction: 0.5,
            },
        }
    }
}

impl ExperimentConfig {
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
            mask: MaskKind::Paper,
            innmf_training: TrainingOptions::default(),
            separation_solver: HSolver::Rprop,
            bootstrap: 200,
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
            },
            hybrid: HybridConfig {
                seconds: 2.0,
                sample_rate: 4410,
                rank: 2,
                width: 16,
                steps: 150,
                fraction: 0.5,
            },
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
        pos("innmf_steps", self.innmf_steps)?;
        pos("refit_steps", self.refit_steps)?;
        if let Some(o) = &self.innmf_training.h_optimizer {
            o.validate()?;
        }
        pos("separation_steps", self.separation_steps)?;
        pos("nmf_iter", self.nmf_iter)?;
        pos("transfer.steps", self.transfer.steps)?;
        pos("transfer.refit_steps", self.transfer.refit_steps)?;
        pos("hybrid.steps", self.hybrid.steps)?;
        if self.sample_rate < 1000 {
            return Err(Error::param(
                "sample_rate",
                self.sample_rate,
                "at least 1000 Hz",
            ));
        }
        if !(self.power.is_finite() && self.power > 0.0) {
            return Err(Error::param("power", self.power, "a finite value > 0"));
        }
        if self.windows.is_empty() {
            return Err(Error::Empty { what: "windows" });
        }
        for &w in self.windows.iter().chain([&self.train_window]) {
            if w < 4 {
                return Err(Error::param("window", w, "at least 4 samples"));
            }
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
        if !(self.hybrid.fraction > 0.0 && self.hybrid.fraction <= 1.0) {
            return Err(Error::param(
                "hybrid.fraction",
                self.hybrid.fraction,
                "in (0, 1]",
            ));
        }
        Ok(())
    }

    /// FNV-1a hash of the configuration's JSON.
    pub fn hash(&self) -> String {
        let s = serde_json::to_string(self).unwrap_or_default();
        format!("{:016x}", fnv1a(s.as_bytes()))
    }

    /// Hash of the settings a unit kind depends on: the key of its unit file, so that changing
    /// (say) the transfer settings keeps the finished separation units, and changing iN-NMF's
    /// settings keeps the NMF units. Speech units hash every setting except those listed as
    /// unused by their kind, so a new setting invalidates them until it is listed.
    fn unit_hash(&self, unit: &Unit) -> String {
        // settings only iN-NMF's units read
        const INNMF_ONLY: [&str; 5] = [
            "width",
            "train_window",
            "innmf_steps",
            "refit_steps",
            "separation_steps",
        ];
        // settings only NMF's units read
        const NMF_ONLY: [&str; 2] = ["nmf_iter", "nmf_init"];
        let v = match unit {
            Unit::TransferTrain { .. } | Unit::Transfer { .. } => json!({
                "seed": self.seed, "sample_rate": self.sample_rate, "rank": self.rank,
                "power": self.power, "transfer": self.transfer}),
            Unit::Hybrid { .. } => {
                json!({"seed": self.seed, "power": self.power, "hybrid": self.hybrid})
            }
            _ => {
                let mut c = serde_json::to_value(self).unwrap_or_default();
                let mut drop: Vec<&str> = vec!["transfer", "hybrid", "bootstrap"];
                match unit {
                    Unit::Nmf { .. } => {
                        drop.extend(INNMF_ONLY);
                        drop.extend(INNMF_KEYS);
                        drop.push("mask");
                    }
                    Unit::Separate {
                        method: TemplateMethod::Nmf,
                        ..
                    } => {
                        drop.extend(INNMF_ONLY);
                        drop.extend(INNMF_KEYS);
                    }
                    Unit::TrainInnmf { .. } => {
                        drop.extend(NMF_ONLY);
                        drop.extend(["refit_steps", "separation_steps", "mask"]);
                        drop.extend(INNMF_USE_KEYS);
                    }
                    Unit::ReconInnmf { .. } => {
                        drop.extend(NMF_ONLY);
                        drop.extend(["separation_steps", "mask", "separation_solver"]);
                    }
                    _ => {
                        drop.extend(NMF_ONLY);
                        drop.push("refit_steps");
                    }
                }
                if let Some(o) = c.as_object_mut() {
                    for k in drop {
                        o.remove(k);
                    }
                }
                c
            }
        };
        let s = serde_json::to_string(&v).unwrap_or_default();
        format!("{:016x}", fnv1a(s.as_bytes()))
    }
}

/// Settings of iN-NMF's units beyond the paper's: left out of the NMF units' hashes.
const INNMF_KEYS: [&str; 2] = ["innmf_training", "separation_solver"];
/// Of those, the ones that only the use of a trained model reads (not its training).
const INNMF_USE_KEYS: [&str; 1] = ["separation_solver"];

fn is_rprop(s: &HSolver) -> bool {
    *s == HSolver::Rprop
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// The seed of a unit: independent of the order in which units run.
fn unit_seed(seed: u64, id: &str) -> u64 {
    let mut z = seed ^ fnv1a(id.as_bytes());
    // splitmix64 finalizer
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
    z ^ (z >> 31)
}

/// A recording of the corpus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recording {
    /// File stem.
    pub name: String,
    /// Speaker (or instrument) key: the stem up to its first `_`.
    pub speaker: String,
    /// The file.
    pub path: PathBuf,
}

/// The recordings of a data folder: speech from `DIR/speech` (or `DIR` itself when it has no
/// `speech` folder), music from `DIR/music` (or `DIR`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Corpus {
    /// Speech recordings (reconstruction, separation, transfer), sorted by name.
    pub speech: Vec<Recording>,
    /// Music recordings (hybrid), sorted by name.
    pub music: Vec<Recording>,
    /// Where note lists (`<name>.notes.csv`) are looked for.
    pub notes_dir: Option<PathBuf>,
}

fn list_wavs(dir: &Path) -> Result<Vec<Recording>> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut out = Vec::new();
    for e in rd {
        let path = e.map_err(|e| Error::io(dir, e))?.path();
        let is_wav = path
            .extension()
            .map(|x| x.to_string_lossy().to_lowercase() == "wav")
            .unwrap_or(false);
        if !is_wav || !path.is_file() {
            continue;
        }
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let speaker = name.split('_').next().unwrap_or(&name).to_string();
        out.push(Recording {
            name,
            speaker,
            path,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

impl Corpus {
    /// Lists the recordings of `dir`.
    ///
    /// # Errors
    /// An unreadable folder, or one without any `.wav` file.
    pub fn open(dir: &Path) -> Result<Corpus> {
        if !dir.is_dir() {
            return Err(Error::param(
                "--data",
                dir.display(),
                "a folder of .wav recordings (or one with speech/ and music/ folders)",
            ));
        }
        let sub = |n: &str| {
            let d = dir.join(n);
            if d.is_dir() {
                d
            } else {
                dir.to_path_buf()
            }
        };
        let music_dir = sub("music");
        let corpus = Corpus {
            speech: list_wavs(&sub("speech"))?,
            music: list_wavs(&music_dir)?,
            notes_dir: Some(music_dir.join("midi")).filter(|d| d.is_dir()),
        };
        if corpus.speech.is_empty() && corpus.music.is_empty() {
            return Err(Error::param(
                "--data",
                dir.display(),
                "a folder holding .wav recordings",
            ));
        }
        Ok(corpus)
    }

    /// Pairs of speech recordings of distinct speakers (indices into `speech`): all such pairs
    /// in name order, shuffled with `seed`, the first `n`.
    pub fn pairs(&self, n: usize, seed: u64) -> Vec<(usize, usize)> {
        use rand::seq::SliceRandom;
        let mut all = Vec::new();
        for i in 0..self.speech.len() {
            for j in i + 1..self.speech.len() {
                if self.speech[i].speaker != self.speech[j].speaker {
                    all.push((i, j));
                }
            }
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(unit_seed(seed, "pairs"));
        all.shuffle(&mut rng);
        all.truncate(n);
        all
    }
}

/// Reads a recording as mono at `rate` Hz, normalized to unit L2 norm over the whole file (the
/// paper's TIMIT preprocessing).
fn load(rec: &Recording, rate: u32) -> Result<Vec<f64>> {
    let a = audio::read(&rec.path)?;
    let mut x = a.mono(ChannelSelect::Mix)?;
    if a.sample_rate != rate {
        x = audio::resample(&x, a.sample_rate, rate)?;
    }
    let e = x.iter().map(|v| v * v).sum::<f64>().sqrt();
    if e.is_nan() || e <= 0.0 {
        return Err(Error::format(&rec.path, "the recording is silent"));
    }
    x.iter_mut().for_each(|v| *v /= e);
    Ok(x)
}

/// What to run and where.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOptions {
    /// The data folder.
    pub data: PathBuf,
    /// The output folder (created; reused to resume).
    pub out: PathBuf,
    /// The studies.
    pub studies: Vec<Study>,
    /// Speaker pairs of the separation study.
    pub pairs: usize,
    /// Units run at the same time.
    pub jobs: usize,
}

/// What a running experiment reports.
#[derive(Debug, Clone)]
pub enum Event {
    /// The plan: `total` units, `cached` of them already done.
    Planned {
        /// Units in the plan.
        total: usize,
        /// Units found finished on disk.
        cached: usize,
    },
    /// A unit finished.
    Finished {
        /// Its id.
        id: String,
        /// Seconds it took.
        elapsed_s: f64,
    },
}

/// Everything a run produced (`results.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// The settings.
    pub config: ExperimentConfig,
    /// Hash of the settings.
    pub config_hash: String,
    /// The studies run.
    pub studies: Vec<Study>,
    /// The recordings.
    pub corpus: Corpus,
    /// The separation pairs (recording names).
    pub pairs: Vec<(String, String)>,
    /// Rows of each study (one object per score), in plan order.
    pub rows: BTreeMap<String, Vec<Value>>,
    /// Seconds of compute per unit kind (summed over units, including cached ones' recorded
    /// times).
    pub seconds_by_kind: BTreeMap<String, f64>,
    /// Wall-clock seconds of this invocation (cached units cost nothing).
    pub wall_s: f64,
    /// Units run at the same time in this invocation.
    pub jobs: usize,
}

/// One piece of work.
#[derive(Debug, Clone, PartialEq)]
enum Unit {
    TrainInnmf {
        rec: usize,
    },
    Nmf {
        rec: usize,
        window: usize,
    },
    ReconInnmf {
        rec: usize,
        window: usize,
    },
    Separate {
        a: usize,
        b: usize,
        method: TemplateMethod,
        window: usize,
    },
    TransferTrain {
        rec: usize,
        rep: usize,
    },
    Transfer {
        rec: usize,
        from: usize,
        to: usize,
    },
    Hybrid {
        rec: usize,
    },
}

impl Unit {
    fn phase(&self) -> usize {
        match self {
            Unit::TrainInnmf { .. }
            | Unit::Nmf { .. }
            | Unit::TransferTrain { .. }
            | Unit::Hybrid { .. } => 0,
            _ => 1,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Unit::TrainInnmf { .. } => "innmf-train",
            Unit::Nmf { .. } => "nmf",
            Unit::ReconInnmf { .. } => "innmf-refit",
            Unit::Separate { .. } => "separate",
            Unit::TransferTrain { .. } => "transfer-train",
            Unit::Transfer { .. } => "transfer",
            Unit::Hybrid { .. } => "hybrid",
        }
    }
}

struct Ctx<'a> {
    cfg: &'a ExperimentConfig,
    corpus: &'a Corpus,
    out: &'a Path,
    speech: Vec<Option<Vec<f64>>>,
}

impl Ctx<'_> {
    fn id(&self, u: &Unit) -> String {
        let s = |i: usize| &self.corpus.speech[i].name;
        let reps = &self.cfg.transfer.representations;
        match u {
            Unit::TrainInnmf { rec } => format!("innmf-train.{}", s(*rec)),
            Unit::Nmf { rec, window } => format!("nmf.{}.{window}", s(*rec)),
            Unit::ReconInnmf { rec, window } => format!("innmf-refit.{}.{window}", s(*rec)),
            Unit::Separate {
                a,
                b,
                method,
                window,
            } => format!("separate.{}+{}.{method}.{window}", s(*a), s(*b)),
            Unit::TransferTrain { rec, rep } => {
                format!(
                    "transfer-train.{}.{}",
                    s(*rec),
                    representation_name(&reps[*rep])
                )
            }
            Unit::Transfer { rec, from, to } => format!(
                "transfer.{}.{}.{}",
                s(*rec),
                representation_name(&reps[*from]),
                representation_name(&reps[*to])
            ),
            Unit::Hybrid { rec } => format!("hybrid.{}", self.corpus.music[*rec].name),
        }
    }

    fn signal(&self, rec: usize) -> Result<&[f64]> {
        self.speech[rec].as_deref().ok_or_else(|| {
            Error::format(
                &self.corpus.speech[rec].path,
                "recording not loaded (internal)",
            )
        })
    }

    fn sr(&self) -> f64 {
        self.cfg.sample_rate as f64
    }

    /// Training excerpt, held-out excerpt (may be shorter than `test_seconds`, or empty).
    fn excerpts(&self, rec: usize) -> Result<(&[f64], &[f64])> {
        let x = self.signal(rec)?;
        let n_train = ((self.cfg.train_seconds * self.sr()).round() as usize).min(x.len());
        let n_test = (self.cfg.test_seconds * self.sr()).round() as usize;
        let end = (n_train + n_test).min(x.len());
        Ok((&x[..n_train], &x[n_train..end]))
    }

    fn model_path(&self, name: &str) -> PathBuf {
        self.out.join("models").join(name)
    }
}

/// Runs the studies of `opts` with `cfg`, resuming from `opts.out`, and writes `results.json`,
/// `REPORT.md` and the figures there.
///
/// # Errors
/// Invalid settings, an unreadable data folder or recording, a recording too short for the
/// settings, a failing unit (units finished before it stay on disk).
pub fn run(
    cfg: &ExperimentConfig,
    opts: &RunOptions,
    progress: &(dyn Fn(Event) + Sync),
) -> Result<Results> {
    let t0 = Instant::now();
    cfg.validate()?;
    if opts.jobs == 0 {
        return Err(Error::param("jobs", 0, "at least 1"));
    }
    if opts.studies.is_empty() {
        return Err(Error::Empty { what: "studies" });
    }
    let corpus = Corpus::open(&opts.data)?;
    let mut studies = opts.studies.clone();
    studies.sort();
    studies.dedup();
    let pairs = if studies.contains(&Study::Separation) {
        if opts.pairs == 0 {
            return Err(Error::param("pairs", 0, "at least 1"));
        }
        let p = corpus.pairs(opts.pairs, cfg.seed);
        if p.is_empty() {
            return Err(Error::param(
                "--data",
                opts.data.display(),
                "at least two speakers (file names differing before the first '_') for the \
                 separation study",
            ));
        }
        p
    } else {
        Vec::new()
    };
    let needs = |s: Study| studies.contains(&s);
    if (needs(Study::Reconstruction) || needs(Study::Transfer)) && corpus.speech.is_empty() {
        return Err(Error::param(
            "--data",
            opts.data.display(),
            "speech recordings (.wav in DIR/speech or DIR)",
        ));
    }

    // the plan, in report order
    let mut plan: Vec<Unit> = Vec::new();
    let ns = corpus.speech.len();
    let recon_recs: Vec<usize> = if needs(Study::Reconstruction) {
        (0..ns).collect()
    } else {
        Vec::new()
    };
    let mut sep_recs: Vec<usize> = pairs.iter().flat_map(|&(a, b)| [a, b]).collect();
    sep_recs.sort();
    sep_recs.dedup();
    let mut model_recs = recon_recs.clone();
    model_recs.extend(&sep_recs);
    model_recs.sort();
    model_recs.dedup();
    for &rec in &model_recs {
        plan.push(Unit::TrainInnmf { rec });
    }
    for &rec in &model_recs {
        for &window in &cfg.windows {
            plan.push(Unit::Nmf { rec, window });
        }
    }
    for &rec in &recon_recs {
        for &window in &cfg.windows {
            plan.push(Unit::ReconInnmf { rec, window });
        }
    }
    for &(a, b) in &pairs {
        for method in [TemplateMethod::Innmf, TemplateMethod::Nmf] {
            for &window in &cfg.windows {
                plan.push(Unit::Separate {
                    a,
                    b,
                    method,
                    window,
                });
            }
        }
    }
    let transfer_recs: Vec<usize> = if needs(Study::Transfer) {
        let n = match cfg.transfer.recordings {
            0 => ns,
            n => n.min(ns),
        };
        (0..n).collect()
    } else {
        Vec::new()
    };
    let nr = cfg.transfer.representations.len();
    for &rec in &transfer_recs {
        for rep in 0..nr {
            plan.push(Unit::TransferTrain { rec, rep });
        }
        for from in 0..nr {
            for to in 0..nr {
                plan.push(Unit::Transfer { rec, from, to });
            }
        }
    }
    if needs(Study::Hybrid) {
        for rec in 0..corpus.music.len() {
            plan.push(Unit::Hybrid { rec });
        }
    }

    // load the speech recordings the plan uses
    let mut used = vec![false; ns];
    for u in &plan {
        match u {
            Unit::TrainInnmf { rec }
            | Unit::Nmf { rec, .. }
            | Unit::ReconInnmf { rec, .. }
            | Unit::TransferTrain { rec, .. }
            | Unit::Transfer { rec, .. } => used[*rec] = true,
            Unit::Separate { a, b, .. } => {
                used[*a] = true;
                used[*b] = true;
            }
            Unit::Hybrid { .. } => {}
        }
    }
    let mut speech = Vec::with_capacity(ns);
    for (i, rec) in corpus.speech.iter().enumerate() {
        speech.push(if used[i] {
            Some(load(rec, cfg.sample_rate)?)
        } else {
            None
        });
    }
    let ctx = Ctx {
        cfg,
        corpus: &corpus,
        out: &opts.out,
        speech,
    };
    // every recording the models need must hold a training and a test excerpt
    for &rec in &model_recs {
        let (tr, te) = ctx.excerpts(rec)?;
        let longest = cfg.windows.iter().copied().max().unwrap_or(0);
        if tr.len() < cfg.train_window.max(longest) || te.len() < longest {
            return Err(Error::param(
                "recording",
                corpus.speech[rec].path.display(),
                format!(
                    "at least {} s of training audio plus one window ({longest} samples) of \
                     held-out audio at {} Hz",
                    cfg.train_seconds, cfg.sample_rate
                ),
            ));
        }
    }

    for d in ["units", "models", "figures"] {
        let p = opts.out.join(d);
        std::fs::create_dir_all(&p).map_err(|e| Error::io(&p, e))?;
    }
    let hash = cfg.hash();
    let ids: Vec<String> = plan.iter().map(|u| ctx.id(u)).collect();
    let hashes: Vec<String> = plan.iter().map(|u| cfg.unit_hash(u)).collect();
    let unit_path = |id: &str| opts.out.join("units").join(format!("{id}.json"));
    let read_cached = |i: usize| -> Option<Value> {
        let bytes = std::fs::read(unit_path(&ids[i])).ok()?;
        let v: Value = serde_json::from_slice(&bytes).ok()?;
        (v.get("config_hash")?.as_str()? == hashes[i]).then_some(v)
    };
    let mut done: Vec<Option<Value>> = (0..plan.len()).map(read_cached).collect();
    progress(Event::Planned {
        total: plan.len(),
        cached: done.iter().filter(|d| d.is_some()).count(),
    });

    for phase in 0..2 {
        let queue: Mutex<VecDeque<usize>> = Mutex::new(
            (0..plan.len())
                .filter(|&i| plan[i].phase() == phase && done[i].is_none())
                .collect(),
        );
        let results: Mutex<Vec<(usize, Value)>> = Mutex::new(Vec::new());
        let failure: Mutex<Option<Error>> = Mutex::new(None);
        let stop = AtomicBool::new(false);
        std::thread::scope(|scope| {
            for _ in 0..opts.jobs {
                scope.spawn(|| loop {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let Some(i) = queue.lock().map(|mut q| q.pop_front()).unwrap_or(None) else {
                        return;
                    };
                    let id = &ids[i];
                    let start = Instant::now();
                    let outcome = run_unit(&ctx, &plan[i], id, unit_seed(cfg.seed, id));
                    let elapsed_s = start.elapsed().as_secs_f64();
                    match outcome {
                        Ok(rows) => {
                            let v = json!({"id": id, "kind": plan[i].kind(),
                                "config_hash": hashes[i], "elapsed_s": elapsed_s, "rows": rows});
                            let written = serde_json::to_vec_pretty(&v)
                                .map_err(|e| Error::format(unit_path(id), e.to_string()))
                                .and_then(|b| io::write_atomic(&unit_path(id), &b));
                            if let Err(e) = written {
                                stop.store(true, Ordering::Relaxed);
                                if let Ok(mut f) = failure.lock() {
                                    f.get_or_insert(e);
                                }
                                return;
                            }
                            progress(Event::Finished {
                                id: id.clone(),
                                elapsed_s,
                            });
                            if let Ok(mut r) = results.lock() {
                                r.push((i, v));
                            }
                        }
                        Err(e) => {
                            stop.store(true, Ordering::Relaxed);
                            if let Ok(mut f) = failure.lock() {
                                f.get_or_insert(Error::format(
                                    Path::new(id),
                                    format!("experiment unit failed: {e}"),
                                ));
                            }
                            return;
                        }
                    }
                });
            }
        });
        if let Some(e) = failure.into_inner().ok().flatten() {
            return Err(e);
        }
        for (i, v) in results.into_inner().unwrap_or_default() {
            done[i] = Some(v);
        }
    }

    let mut rows: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut seconds_by_kind: BTreeMap<String, f64> = BTreeMap::new();
    for (u, d) in plan.iter().zip(&done) {
        let Some(d) = d else { continue };
        *seconds_by_kind.entry(u.kind().to_string()).or_default() +=
            d.get("elapsed_s").and_then(Value::as_f64).unwrap_or(0.0);
        if let Some(list) = d.get("rows").and_then(Value::as_array) {
            for r in list {
                let study = r.get("study").and_then(Value::as_str).unwrap_or("other");
                if studies.iter().any(|s| s.name() == study) {
                    rows.entry(study.to_string()).or_default().push(r.clone());
                }
            }
        }
    }
    let results = Results {
        config: cfg.clone(),
        config_hash: hash,
        studies,
        pairs: pairs
            .iter()
            .map(|&(a, b)| (corpus.speech[a].name.clone(), corpus.speech[b].name.clone()))
            .collect(),
        corpus,
        rows,
        seconds_by_kind,
        wall_s: t0.elapsed().as_secs_f64(),
        jobs: opts.jobs,
    };
    report::write_all(&opts.out, &results)?;
    Ok(results)
}

/// The paper's spectral scores of a model `v_hat` of `v = |X|^p` (both `[F, T]`).
fn spectral_scores(v: &[f64], v_hat: &[f64], p: f64) -> Result<Value> {
    let x: Vec<f64> = v.iter().map(|a| a.powf(1.0 / p)).collect();
    let x_hat: Vec<f64> = v_hat.iter().map(|a| a.max(0.0).powf(1.0 / p)).collect();
    Ok(json!({
        "kl": kl_compressed(v, v_hat)?,
        "nmse": nmse(&x, &x_hat)?,
        "sdr_freq": spectral_sdr(&x, &x_hat)?,
        "is": itakura_saito(v, v_hat)?,
    }))
}

/// `|STFT_n(x)|^p` on the separation STFT as a dense `[F, T]` matrix with its grid.
struct Grid {
    v: Vec<f64>,
    freqs: Vec<f64>,
    times: Vec<f64>,
    points: TfPoints,
}

fn stft_grid(x: &[f64], sr: f64, window: usize, p: f64) -> Result<Grid> {
    let stft = mixture_stft(window, (window / 2).max(1), sr)?;
    let points = stft.analyze(x)?.to_points(p)?;
    let grid = points
        .grid()
        .ok_or_else(|| Error::Shape("an STFT that is not a grid (internal)".into()))?;
    let m = points.m();
    let v = grid.cell_to_point.iter().map(|&i| m[i as usize]).collect();
    Ok(Grid {
        v,
        freqs: points.unique_freqs().to_vec(),
        times: points.unique_times().to_vec(),
        points,
    })
}

fn innmf_template_config(cfg: &ExperimentConfig, seed: u64) -> TemplateConfig {
    TemplateConfig {
        method: TemplateMethod::Innmf,
        rank: cfg.rank,
        width: cfg.width,
        representation: Representation::stft(
            cfg.train_window,
            (cfg.train_window / 2).max(1),
            Padding::None,
        ),
        power: cfg.power,
        steps: cfg.innmf_steps,
        optimizer: OptimizerConfig::rprop(1e-3),
        beta: 1.0,
        seed,
        training: cfg.innmf_training.clone(),
        ..TemplateConfig::default()
    }
}

fn nmf_params(cfg: &ExperimentConfig, seed: u64) -> NmfParams {
    NmfParams::new(cfg.rank)
        .beta(1.0)
        .init(cfg.nmf_init)
        .max_iter(cfg.nmf_iter)
        .tol(0.0)
        .seed(seed)
}

/// W (F×K) of the NMF unit of `rec` at `window`, from its file.
fn load_nmf_w(ctx: &Ctx<'_>, rec: usize, window: usize) -> Result<Vec<f64>> {
    let p = ctx.model_path(&format!(
        "{}.nmf-{window}.W.npy",
        ctx.corpus.speech[rec].name
    ));
    Ok(io::read_npy(&p)?.data)
}

fn load_innmf(ctx: &Ctx<'_>, rec: usize) -> Result<Model> {
    let p = ctx.model_path(&format!(
        "{}.innmf-{}.safetensors",
        ctx.corpus.speech[rec].name, ctx.cfg.train_window
    ));
    Ok(modelfile::load(&p)?.0)
}

fn run_unit(ctx: &Ctx<'_>, unit: &Unit, id: &str, seed: u64) -> Result<Vec<Value>> {
    let cfg = ctx.cfg;
    let sr = ctx.sr();
    let p = cfg.power;
    match *unit {
        Unit::TrainInnmf { rec } => {
            let (train, _) = ctx.excerpts(rec)?;
            let learned = learn_templates(train, sr, &innmf_template_config(cfg, seed), None)?;
            let path = ctx.model_path(&format!(
                "{}.innmf-{}.safetensors",
                ctx.corpus.speech[rec].name, cfg.train_window
            ));
            modelfile::save(&path, &learned.model, &learned.data, &learned.training)?;
            Ok(vec![
                json!({"study": "training", "recording": ctx.corpus.speech[rec].name,
                "final_loss": learned.report.final_loss, "steps": learned.report.steps}),
            ])
        }
        Unit::Nmf { rec, window } => {
            let name = &ctx.corpus.speech[rec].name;
            let (train, test) = ctx.excerpts(rec)?;
            let g = stft_grid(train, sr, window, p)?;
            let (nf, nt) = (g.freqs.len(), g.times.len());
            let nmf = nmf_params(cfg, seed);
            let (w, h, rep) = nmf.fit::<f64>(&g.v, nf, nt)?;
            let v_hat = matmul(&w, &h, nf, cfg.rank, nt);
            let mut rows = vec![recon_row(
                name,
                "nmf",
                window,
                "train",
                spectral_scores(&g.v, &v_hat, p)?,
                rep.final_loss,
            )];
            io::write_npy(
                &ctx.model_path(&format!("{name}.nmf-{window}.W.npy")),
                &NdArray::new(vec![nf, cfg.rank], w.clone()),
                false,
            )?;
            if test.len() >= window {
                let gt = stft_grid(test, sr, window, p)?;
                let ntt = gt.times.len();
                let (ht, rep) = nmf.fit_h::<f64>(&gt.v, nf, ntt, &w)?;
                let v_hat = matmul(&w, &ht, nf, cfg.rank, ntt);
                rows.push(recon_row(
                    name,
                    "nmf",
                    window,
                    "heldout",
                    spectral_scores(&gt.v, &v_hat, p)?,
                    rep.final_loss,
                ));
            }
            Ok(rows)
        }
        Unit::ReconInnmf { rec, window } => {
            let name = &ctx.corpus.speech[rec].name;
            let model = load_innmf(ctx, rec)?;
            let (train, test) = ctx.excerpts(rec)?;
            let sep = SeparateConfig {
                window,
                hop: (window / 2).max(1),
                power: p,
                steps: cfg.refit_steps,
                solver: HSolver::Rprop,
                seed,
                ..SeparateConfig::default()
            };
            let mut rows = Vec::new();
            for (split, x) in [("train", train), ("heldout", test)] {
                if x.len() < window {
                    continue;
                }
                let g = stft_grid(x, sr, window, p)?;
                let (fitted, _, rep) =
                    fit_activations(&g.points, &[TemplateSet::from(&model)], &sep, None)?;
                let v_hat: Vec<f64> = fitted
                    .reconstruct_grid(&g.freqs, &g.times)
                    .iter()
                    .map(|&v| v as f64)
                    .collect();
                rows.push(recon_row(
                    name,
                    "innmf",
                    window,
                    split,
                    spectral_scores(&g.v, &v_hat, p)?,
                    rep.final_loss,
                ));
            }
            Ok(rows)
        }
        Unit::Separate {
            a,
            b,
            method,
            window,
        } => separate_unit(ctx, a, b, method, window, seed),
        Unit::TransferTrain { rec, rep } => {
            let r = &cfg.transfer.representations[rep];
            let x = transfer_excerpt(ctx, rec)?;
            let analysis = Analysis::new(r, sr, p, Calibration::UnitTone)?;
            let pts = analysis.points(x)?;
            let spec = transfer_spec(cfg, sr)?;
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let mut model = spec.build(&pts, &mut rng)?;
            let fc = FitConfig {
                steps: cfg.transfer.steps,
                seed: seed.wrapping_add(1),
                ..FitConfig::default()
            };
            let rep_fit = fit(&mut model, &pts, &fc, None, None)?;
            let training = json!({"spec": spec, "fit": fc, "final_loss": rep_fit.final_loss});
            modelfile::save(
                &ctx.model_path(&format!("{id}.safetensors")),
                &model,
                &TrainingData::Audio(analysis),
                &training,
            )?;
            Ok(vec![
                json!({"study": "training", "recording": ctx.corpus.speech[rec].name,
                "representation": representation_name(r), "points": pts.len(),
                "final_loss": rep_fit.final_loss}),
            ])
        }
        Unit::Transfer { rec, from, to } => {
            let reps = &cfg.transfer.representations;
            let name = &ctx.corpus.speech[rec].name;
            let train_id = format!("transfer-train.{name}.{}", representation_name(&reps[from]));
            let (trained, _) =
                modelfile::load(&ctx.model_path(&format!("{train_id}.safetensors")))?;
            let x = transfer_excerpt(ctx, rec)?;
            let pts = reps[to].points(x, sr, p, Calibration::UnitTone)?;
            let spec = transfer_spec(cfg, sr)?;
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let fresh = spec.build(&pts, &mut rng)?;
            let mut model = Model::new(trained.w.clone(), fresh.h)?;
            let fc = FitConfig {
                steps: cfg.transfer.refit_steps,
                seed: seed.wrapping_add(1),
                freeze: Freeze::W,
                ..FitConfig::default()
            };
            let r = fit(&mut model, &pts, &fc, None, None)?;
            let kl = model.loss(&pts, &Divergence::kl());
            Ok(vec![json!({"study": "transfer", "recording": name,
                "from": representation_name(&reps[from]), "to": representation_name(&reps[to]), "kl": kl,
                "points": pts.len(), "fit_final_loss": r.final_loss})])
        }
        Unit::Hybrid { rec } => hybrid_unit(ctx, rec, seed),
    }
}

fn recon_row(
    name: &str,
    method: &str,
    window: usize,
    split: &str,
    scores: Value,
    fit_loss: f64,
) -> Value {
    let mut r = json!({"study": "reconstruction", "recording": name, "method": method,
        "window": window, "split": split, "fit_loss": fit_loss});
    if let (Some(o), Some(s)) = (r.as_object_mut(), scores.as_object()) {
        o.extend(s.clone());
    }
    r
}

/// `W (F×K) · H (K×T)`.
fn matmul(w: &[f64], h: &[f64], f: usize, k: usize, t: usize) -> Vec<f64> {
    let mut v = vec![0.0; f * t];
    crate::linalg::gemm64(&mut v, w, h, f, k, t, false, false, false);
    v
}

fn transfer_excerpt<'a>(ctx: &'a Ctx<'_>, rec: usize) -> Result<&'a [f64]> {
    let x = ctx.signal(rec)?;
    let n = ((ctx.cfg.transfer.seconds * ctx.sr()).round() as usize).min(x.len());
    Ok(&x[..n])
}

fn transfer_spec(cfg: &ExperimentConfig, sr: f64) -> Result<ModelSpec> {
    let mut spec = ModelSpec::new(cfg.rank);
    spec.w = FactorKind::Implicit;
    spec.h = FactorKind::Implicit;
    spec.width = cfg.transfer.width;
    spec.freq_axis = Some(Axis::linear(0.0, sr / 2.0)?);
    spec.time_axis = Some(Axis::linear(0.0, cfg.transfer.seconds)?);
    Ok(spec)
}

fn separate_unit(
    ctx: &Ctx<'_>,
    a: usize,
    b: usize,
    method: TemplateMethod,
    window: usize,
    seed: u64,
) -> Result<Vec<Value>> {
    let cfg = ctx.cfg;
    let sr = ctx.sr();
    let (_, ta) = ctx.excerpts(a)?;
    let (_, tb) = ctx.excerpts(b)?;
    let n = ta.len().min(tb.len());
    let s1 = ta[..n].to_vec();
    let e1 = s1.iter().map(|v| v * v).sum::<f64>();
    let e2 = tb[..n].iter().map(|v| v * v).sum::<f64>();
    if !(e1 > 0.0 && e2 > 0.0) {
        return Err(Error::param(
            "test excerpt",
            "silent",
            "speech in the held-out seconds of both recordings",
        ));
    }
    let g = (e1 / e2).sqrt();
    let s2: Vec<f64> = tb[..n].iter().map(|v| v * g).collect();
    let mix: Vec<f64> = s1.iter().zip(&s2).map(|(x, y)| x + y).collect();
    let hop = (window / 2).max(1);
    let base = SeparateConfig {
        window,
        hop,
        power: cfg.power,
        mask: cfg.mask,
        seed,
        ..SeparateConfig::default()
    };
    let (models, sep_cfg) = match method {
        TemplateMethod::Innmf => (
            vec![load_innmf(ctx, a)?, load_innmf(ctx, b)?],
            SeparateConfig {
                steps: cfg.separation_steps,
                solver: cfg.separation_solver,
                ..base
            },
        ),
        TemplateMethod::Nmf => {
            let freqs = mixture_stft(window, hop, sr)?.analyze(&mix)?.freqs;
            let mut ms = Vec::new();
            for rec in [a, b] {
                let w = load_nmf_w(ctx, rec, window)?;
                // H is not used by `separate`: one frame of ones
                ms.push(nmf_model(&w, &vec![1.0; cfg.rank], &freqs, &[0.0])?);
            }
            (
                ms,
                SeparateConfig {
                    steps: cfg.nmf_iter,
                    solver: HSolver::Mu,
                    ..base
                },
            )
        }
    };
    let sets: Vec<TemplateSet<'_>> = models.iter().map(TemplateSet::from).collect();
    let sep = separate(&mix, sr, &sets, &sep_cfg, None)?;
    let refs = [s1.as_slice(), s2.as_slice()];
    let ests = [sep.sources[0].as_slice(), sep.sources[1].as_slice()];
    let bss = bss_eval_sources(&refs, &ests, true)?;
    let mut si = Vec::new();
    let mut st = Vec::new();
    for j in 0..2 {
        let e = ests[bss.perm[j]];
        si.push(si_sdr(refs[j], e, true)?);
        st.push(stoi(refs[j], e, ctx.cfg.sample_rate, false)?);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    Ok(vec![json!({
        "study": "separation",
        "pair": format!("{}+{}", ctx.corpus.speech[a].name, ctx.corpus.speech[b].name),
        "method": method, "window": window,
        "sdr": mean(&bss.sdr), "sir": mean(&bss.sir), "sar": mean(&bss.sar),
        "si_sdr": mean(&si), "stoi": mean(&st),
        "per_source": {"sdr": bss.sdr, "sir": bss.sir, "sar": bss.sar, "si_sdr": si,
                       "stoi": st, "perm": bss.perm},
        "fit_final_loss": sep.report.fit.final_loss, "fit_steps": sep.report.fit.steps,
    })])
}

/// Notes of `<notes_dir>/<name>.notes.csv` (onset_s, offset_s, midi_pitch, ...).
fn read_notes(ctx: &Ctx<'_>, name: &str) -> Option<Vec<(f64, f64, i64)>> {
    let path = ctx
        .corpus
        .notes_dir
        .as_ref()?
        .join(format!("{name}.notes.csv"));
    let (names, cols) = io::read_csv(&path).ok()?;
    let col = |n: &str| names.iter().position(|x| x == n).map(|i| &cols[i]);
    let (on, off, pitch) = (col("onset_s")?, col("offset_s")?, col("midi_pitch")?);
    Some(
        (0..on.len())
            .map(|i| (on[i], off[i], pitch[i].round() as i64))
            .collect(),
    )
}

/// For exactly two pitches within `[0, dur)`: each pitch's first note that overlaps no other
/// note, clipped to the excerpt.
fn solo_intervals(notes: &[(f64, f64, i64)], dur: f64) -> Option<Vec<(f64, f64)>> {
    let inside: Vec<_> = notes.iter().filter(|n| n.0 < dur).copied().collect();
    let mut pitches: Vec<i64> = inside.iter().map(|n| n.2).collect();
    pitches.sort();
    pitches.dedup();
    if pitches.len() != 2 {
        return None;
    }
    let mut out = Vec::new();
    for &p in &pitches {
        let solo = inside.iter().find(|n| {
            n.2 == p
                && inside
                    .iter()
                    .all(|m| std::ptr::eq(*n, m) || m.1 <= n.0 || m.0 >= n.1)
        })?;
        out.push((solo.0, solo.1.min(dur)));
    }
    Some(out)
}

fn hybrid_unit(ctx: &Ctx<'_>, rec: usize, seed: u64) -> Result<Vec<Value>> {
    let hc = &ctx.cfg.hybrid;
    let r = &ctx.corpus.music[rec];
    let a = audio::read(&r.path)?;
    let mut x = a.mono(ChannelSelect::Mix)?;
    if a.sample_rate != hc.sample_rate {
        x = audio::resample(&x, a.sample_rate, hc.sample_rate)?;
    }
    let sr = hc.sample_rate as f64;
    let n = ((hc.seconds * sr).round() as usize).min(x.len());
    let x = &x[..n];
    let dc = DemoConfig {
        rank: hc.rank,
        width: hc.width,
        steps: hc.steps,
        fraction: hc.fraction,
        seed,
        power: ctx.cfg.power,
        ..DemoConfig::default()
    };
    let outcome = demo::fit_demo(x, sr, &dc, None)?;
    let ratio = read_notes(ctx, &r.name)
        .and_then(|notes| solo_intervals(&notes, n as f64 / sr))
        .filter(|_| hc.rank == 2)
        .map(|iv| demo::separation_ratio(&demo::interval_activity(&outcome, &iv)));
    #[cfg(feature = "plot")]
    let figures: Vec<String> = {
        let dir = ctx.out.join("figures").join("hybrid").join(&r.name);
        demo::write_figures(&dir, &outcome, sr)?
            .iter()
            .filter_map(|p| p.strip_prefix(ctx.out).ok())
            .map(|p| p.to_string_lossy().into_owned())
            .collect()
    };
    #[cfg(not(feature = "plot"))]
    let figures: Vec<String> = Vec::new();
    Ok(vec![json!({
        "study": "hybrid", "recording": r.name, "seconds": n as f64 / sr,
        "points": outcome.points.len(), "final_loss": outcome.report.final_loss,
        "steps": outcome.report.steps, "separation_ratio": ratio, "figures": figures,
    })])
}

/// Writes a small synthetic corpus to `dir` for trials and tests: `speech/` with four
/// "speakers" (`a`, `b`, `c` and `a_2`, the same speaker as `a`; buzzy harmonic syllables with
/// speaker-specific pitch and formants, 5 s at 8 kHz) and `music/two_notes.wav` (C4 then E4 at
/// 4410 Hz, 3 s) with `music/midi/two_notes.notes.csv`.
///
/// # Errors
/// An unwritable folder.
pub fn synthesize_corpus(dir: &Path, seed: u64) -> Result<()> {
    use rand::Rng;
    let speech = dir.join("speech");
    let midi = dir.join("music").join("midi");
    for d in [&speech, &midi] {
        std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
    }
    let sr = 8000.0;
    let n = (5.0 * sr) as usize;
    // (name, f0 Hz, formants Hz)
    let speakers: [(&str, f64, [f64; 3]); 4] = [
        ("a", 110.0, [500.0, 1500.0, 2500.0]),
        ("b", 210.0, [800.0, 1200.0, 2900.0]),
        ("c", 150.0, [350.0, 2000.0, 3100.0]),
        ("a_2", 110.0, [500.0, 1500.0, 2500.0]),
    ];
    for (name, f0, formants) in speakers.iter() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(unit_seed(seed, name));
        let mut x = vec![0.0; n];
        let mut t = 0usize;
        let mut phase = 0.0f64;
        while t < n {
            let len = (sr * rng.random_range(0.12..0.3)) as usize;
            let gap = (sr * rng.random_range(0.03..0.1)) as usize;
            let pitch = f0 * rng.random_range(0.85..1.2);
            let glide = rng.random_range(-0.3..0.3);
            let vowel = rng.random_range(0.8..1.25);
            for i in 0..len.min(n - t) {
                let u = i as f64 / len as f64;
                let env = (std::f64::consts::PI * u).sin().powi(2);
                let f = pitch * (1.0 + glide * (u - 0.5));
                phase += 2.0 * std::f64::consts::PI * f / sr;
                let mut s = 0.0;
                let mut h = 1;
                while (h as f64) * f < 0.45 * sr {
                    let fh = h as f64 * f;
                    let amp: f64 = formants
                        .iter()
                        .map(|&fm| {
                            let d = (fh - fm * vowel) / (0.12 * fm);
                            1.0 / (1.0 + d * d)
                        })
                        .sum::<f64>()
                        / h as f64;
                    s += amp * (h as f64 * phase).sin();
                    h += 1;
                }
                x[t + i] = env * s;
            }
            t += len + gap;
        }
        let peak = x.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-12);
        x.iter_mut().for_each(|v| *v *= 0.5 / peak);
        audio::write_wav(&speech.join(format!("{name}.wav")), &x, sr as u32)?;
    }
    let notes = [
        demo::Note {
            f0: 261.63,
            onset: 0.1,
            end: 1.2,
        },
        demo::Note {
            f0: 329.63,
            onset: 1.5,
            end: 2.6,
        },
    ];
    let msr = 4410.0;
    let x = demo::synthesize_notes(&notes, msr, (3.0 * msr) as usize);
    audio::write_wav(&dir.join("music").join("two_notes.wav"), &x, msr as u32)?;
    let csv = format!(
        "onset_s,offset_s,midi_pitch,velocity,channel,program\n{},{},60,100,0,0\n{},{},64,100,0,0\n",
        notes[0].onset, notes[0].end, notes[1].onset, notes[1].end
    );
    io::write_atomic(&midi.join("two_notes.notes.csv"), csv.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_representation_reads_a_unit_tone_as_one_near_its_frequency() {
        let sr = 8000.0;
        let f0 = 440.0;
        let x: Vec<f64> = (0..16000)
            .map(|i| (2.0 * std::f64::consts::PI * f0 * i as f64 / sr).cos())
            .collect();
        let reps = [
            transfer_stft(512),
            transfer_cqt(100.0, 24, sr),
            transfer_nsgt(100.0, 24, sr),
            transfer_cwt(100.0, 12, sr),
        ];
        for r in reps {
            let pts = r.points(&x, sr, 1.0, Calibration::UnitTone).unwrap();
            // the loudest point away from the edges
            let (i, m) = pts
                .m()
                .iter()
                .enumerate()
                .filter(|(i, _)| pts.t()[*i] > 0.5 && pts.t()[*i] < 1.5)
                .fold((0, 0.0), |b, (i, &m)| if m > b.1 { (i, m) } else { b });
            let f = pts.f()[i];
            // a bin (or scale) of these resolutions sits within 1/12 octave of the tone, and reads
            // at most 1 (1 exactly at its centre, less off-centre: scalloping)
            assert!(
                (f / f0).log2().abs() < 1.0 / 12.0,
                "{}: peak at {f} Hz",
                representation_name(&r)
            );
            assert!(
                m > 0.6 && m < 1.02,
                "{}: peak magnitude {m}",
                representation_name(&r)
            );
        }
    }
}
