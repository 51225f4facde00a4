//! [`Representation`]: the one way every front end (the CLI, the demo, the experiments, Python)
//! turns audio into points. Each variant names a transform and holds its settings with their
//! defaults; [`Representation::resolve`] fills the defaults that depend on the sample rate, and
//! [`Representation::points`] analyzes a signal, calibrates the magnitudes and returns the point
//! set `|c|^p`.
//!
//! The JSON form (`{"transform": "cqt", "f_min": 20, ...}`, fields left out take their
//! defaults) is what model files record ([`Analysis`]) and what the experiment configuration
//! lists.
//!
//! | transform | plan | default |
//! |---|---|---|
//! | `stft` | [`Stft`] | window 2000, hop 1000, √Hann, no padding, `1/√N` (the paper's speech STFT) |
//! | `cqt` | [`FastCqt`] (or [`DirectCqt`]) | Q = B = 64 bins per octave from 20 Hz, 6.7 octaves (428 bins), hop N_k/8 (the paper's) |
//! | `vqt` | [`Vqt`] | librosa's `cqt`: C1, 12 per octave, 7 octaves, hop 512 |
//! | `nsgt` | [`Nsgt`] | 48 bands per octave from 20 Hz, 6.7 octaves below 0.45·sr |
//! | `cwt` | [`Cwt`] | Morlet ω0 = 6, 12 voices per octave from 20 Hz, 6.7 octaves below its limit |
//! | `sines` | [`Sinusoidal`] (+ [`track_peaks`]) | window 2048, hop 512, −60 dB, 40 peaks per frame |
//! | `multires` | [`Multires`] | [`MultiresParams::default_for`] the sample rate |
//! | `hybrid` | the parts, time-concatenated | the paper's: STFT 128/32, STFT 1024/256, direct CQT |

use super::{
    Calibration, Coefficients, Cwt, CwtHop, CwtParams, DirectCqt, DirectCqtParams, FastCqt,
    MaxDeviation, Multires, MultiresParams, Norm, Nsgt, NsgtParams, Padding, SinusoidalModel,
    SinusoidalParams, Stft, StftParams, TrackParams, Transform, Vqt, VqtParams, WindowKind,
};
use crate::error::{Error, Result};
use crate::points::TfPoints;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Largest window, FFT or kernel length (samples) a representation may ask for: 2^24 samples
/// (6 minutes at 44.1 kHz, 128 MiB of f64 per buffer). Longer is a typo, not a plan.
pub const MAX_WINDOW: usize = 1 << 24;
/// Most bins per octave (or voices per octave) a representation may ask for.
pub const MAX_BINS_PER_OCTAVE: usize = 1200;
/// Most frequency bins (bands, scales) a constant-Q-like representation may ask for.
pub const MAX_BINS: usize = 100_000;
/// Most parts of a hybrid.
pub const MAX_PARTS: usize = 64;
/// Octaves above `f_min` that the constant-Q-like transforms cover by default (the paper's 6.7).
pub const DEFAULT_OCTAVES: f64 = 6.7;

/// The transforms, by name (`stft`, `cqt`, `vqt`, `nsgt`, `cwt`, `sines`, `multires`, `hybrid`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum TransformKind {
    /// Short-time Fourier transform.
    Stft,
    /// The paper's constant-Q transform (per-bin hop N_k/8).
    Cqt,
    /// librosa-compatible constant-/variable-Q transform (one hop for all bins).
    Vqt,
    /// Invertible constant-Q nonstationary Gabor transform (per-band time steps).
    Nsgt,
    /// Continuous wavelet transform, analytic Morlet.
    Cwt,
    /// Sinusoidal model: interpolated spectral peaks, optionally tracked.
    Sines,
    /// Multi-resolution STFT on one time axis.
    Multires,
    /// Several representations placed one after another in time.
    Hybrid,
}

impl TransformKind {
    /// Every kind, in documentation order.
    pub const ALL: [TransformKind; 8] = [
        TransformKind::Stft,
        TransformKind::Cqt,
        TransformKind::Vqt,
        TransformKind::Nsgt,
        TransformKind::Cwt,
        TransformKind::Sines,
        TransformKind::Multires,
        TransformKind::Hybrid,
    ];

    /// The lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            TransformKind::Stft => "stft",
            TransformKind::Cqt => "cqt",
            TransformKind::Vqt => "vqt",
            TransformKind::Nsgt => "nsgt",
            TransformKind::Cwt => "cwt",
            TransformKind::Sines => "sines",
            TransformKind::Multires => "multires",
            TransformKind::Hybrid => "hybrid",
        }
    }
}

impl fmt::Display for TransformKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for TransformKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim().to_ascii_lowercase();
        TransformKind::ALL
            .into_iter()
            .find(|k| k.name() == t)
            .ok_or_else(|| {
                Error::param(
                    "transform",
                    s,
                    "one of stft, cqt, vqt, nsgt, cwt, sines, multires, hybrid",
                )
            })
    }
}

impl FromStr for MaxDeviation {
    type Err = Error;
    /// `50`, `50c`, `50cents` (cents) or `20hz` (Hz).
    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim().to_ascii_lowercase();
        let (num, hz) = if let Some(v) = t.strip_suffix("hz") {
            (v, true)
        } else if let Some(v) = t.strip_suffix("cents").or_else(|| t.strip_suffix('c')) {
            (v, false)
        } else {
            (t.as_str(), false)
        };
        match num.trim().parse::<f64>() {
            Ok(v) if v.is_finite() && v > 0.0 => Ok(if hz {
                MaxDeviation::Hz(v)
            } else {
                MaxDeviation::Cents(v)
            }),
            _ => Err(Error::param(
                "max deviation",
                s,
                "a positive number of cents (\"50\", \"50c\") or Hz (\"20hz\")",
            )),
        }
    }
}

/// How the constant-Q transform is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum CqtKernels {
    /// Sparse spectral kernels ([`FastCqt`]): equal to the direct sums to about 1e-6.
    #[default]
    Sparse,
    /// The paper's direct sums ([`DirectCqt`]).
    Direct,
}

/// Settings of the paper's constant-Q transform (`cqt`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CqtSpec {
    /// Lowest bin (Hz).
    pub f_min: f64,
    /// Bins per octave B.
    pub bins_per_octave: usize,
    /// Cycles per window Q (`None`: B).
    pub q: Option<f64>,
    /// Number of bins (`None`: the bins whose centre is at most `f_max`).
    pub n_bins: Option<usize>,
    /// Highest bin centre allowed (Hz; `None`: [`DEFAULT_OCTAVES`] above `f_min`, below 0.45·sr).
    pub f_max: Option<f64>,
    /// Hop of bin k is ⌊N_k / hop_divisor⌋ samples.
    pub hop_divisor: usize,
    /// Sparse spectral kernels or direct sums.
    pub kernels: CqtKernels,
}

impl Default for CqtSpec {
    /// The paper's: Q = B = 64 from 20 Hz, 6.7 octaves (428 bins), hop N_k/8.
    fn default() -> Self {
        CqtSpec {
            f_min: 20.0,
            bins_per_octave: 64,
            q: None,
            n_bins: None,
            f_max: None,
            hop_divisor: 8,
            kernels: CqtKernels::Sparse,
        }
    }
}

/// Settings of the librosa-compatible variable-Q transform (`vqt`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VqtSpec {
    /// Lowest bin (Hz).
    pub f_min: f64,
    /// Bins per octave.
    pub bins_per_octave: usize,
    /// Number of bins (`None`: those with centre ≤ `f_max`; without `f_max`, 7 octaves or as
    /// many as stay below 0.45·sr).
    pub n_bins: Option<usize>,
    /// Highest bin centre allowed (Hz).
    pub f_max: Option<f64>,
    /// Window length scale (librosa's `filter_scale`).
    pub filter_scale: f64,
    /// Bandwidth offset γ (Hz; 0 = constant-Q).
    pub gamma: f64,
    /// Hop (samples), common to all bins.
    pub hop: usize,
}

impl Default for VqtSpec {
    /// librosa's `cqt` defaults: C1 (32.70 Hz), 12 per octave, 7 octaves, hop 512.
    fn default() -> Self {
        let p = VqtParams::librosa_default();
        VqtSpec {
            f_min: p.f_min,
            bins_per_octave: p.bins_per_octave,
            n_bins: None,
            f_max: None,
            filter_scale: p.filter_scale,
            gamma: p.gamma,
            hop: p.hop,
        }
    }
}

/// Settings of the invertible constant-Q NSGT (`nsgt`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NsgtSpec {
    /// Lowest band centre (Hz).
    pub f_min: f64,
    /// Highest band centre allowed (Hz; `None`: [`DEFAULT_OCTAVES`] above `f_min`, below 0.45·sr).
    pub f_max: Option<f64>,
    /// Bands per octave.
    pub bins_per_octave: usize,
}

impl Default for NsgtSpec {
    /// 48 bands per octave from 20 Hz.
    fn default() -> Self {
        NsgtSpec {
            f_min: 20.0,
            f_max: None,
            bins_per_octave: 48,
        }
    }
}

/// Settings of the Morlet wavelet transform (`cwt`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CwtSpec {
    /// Lowest scale centre (Hz).
    pub f_min: f64,
    /// Highest centre allowed (Hz; `None`: [`DEFAULT_OCTAVES`] above `f_min`, below 0.95 of the
    /// Morlet's limit `sr/(2 + 6/ω0)`).
    pub f_max: Option<f64>,
    /// Voices per octave.
    pub voices_per_octave: usize,
    /// Morlet centre angular frequency ω0.
    pub omega0: f64,
    /// Per-scale decimation (`None`: every sample on every scale).
    pub hop: Option<CwtHop>,
}

impl Default for CwtSpec {
    /// ω0 = 6, 12 voices per octave from 20 Hz, default decimation (hop ≤ half the envelope
    /// std, at most 512).
    fn default() -> Self {
        CwtSpec {
            f_min: 20.0,
            f_max: None,
            voices_per_octave: 12,
            omega0: 6.0,
            hop: Some(CwtHop::default()),
        }
    }
}

/// Settings of the sinusoidal model (`sines`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SinesSpec {
    /// Window N (samples).
    pub window_len: usize,
    /// Hop (samples).
    pub hop: usize,
    /// FFT size = window · zero_pad.
    pub zero_pad: usize,
    /// Peaks below this level (dB re a unit-amplitude sinusoid) are dropped.
    pub threshold_db: f64,
    /// At most this many peaks per frame (the loudest).
    pub max_peaks: usize,
    /// Link peaks into partial tracks and keep only tracked peaks (`None`: every peak).
    pub tracking: Option<TrackParams>,
}

impl Default for SinesSpec {
    /// Window 2048, hop 512, zero-padding 4, −60 dB, 40 peaks per frame, no tracking.
    fn default() -> Self {
        let p = SinusoidalParams::new(2048, 512);
        SinesSpec {
            window_len: p.window_len,
            hop: p.hop,
            zero_pad: p.zero_pad,
            threshold_db: p.threshold_db,
            max_peaks: p.max_peaks,
            tracking: None,
        }
    }
}

impl SinesSpec {
    fn params(&self) -> SinusoidalParams {
        SinusoidalParams {
            window_len: self.window_len,
            hop: self.hop,
            zero_pad: self.zero_pad,
            threshold_db: self.threshold_db,
            max_peaks: self.max_peaks,
        }
    }
}

/// Settings of the multi-resolution STFT (`multires`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MultiresSpec {
    /// Split frequencies (Hz), low to high (`None`: the defaults for the sample rate).
    pub splits: Option<Vec<f64>>,
    /// Window per band (`None`: the defaults for the sample rate; required with `splits`).
    pub windows: Option<Vec<usize>>,
    /// Hop per band (`None`: a quarter window).
    pub hops: Option<Vec<usize>>,
    /// Window shape (all bands).
    pub window: WindowKind,
    /// Coefficient scaling (all bands).
    pub norm: Norm,
}

impl Default for MultiresSpec {
    /// [`MultiresParams::default_for`] the sample rate: periodic Hann, amplitude scaling.
    fn default() -> Self {
        MultiresSpec {
            splits: None,
            windows: None,
            hops: None,
            window: WindowKind::Hann,
            norm: Norm::Amplitude,
        }
    }
}

/// Settings of a time-concatenated hybrid (`hybrid`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HybridSpec {
    /// The parts, placed one signal duration apart in time.
    pub parts: Vec<Representation>,
}

impl Default for HybridSpec {
    /// The paper's (arXiv 2404.04439 §4.1): STFT N = 128 / hop 32 and N = 1024 / hop 256 with a
    /// periodic Hann window and `1/√N`, then the direct constant-Q transform (Q = B = 64 from
    /// 20 Hz, 6.7 octaves, hop N_k/8).
    fn default() -> Self {
        let stft = |n: usize, hop: usize| {
            Representation::Stft(StftParams {
                window_len: n,
                hop,
                window: WindowKind::Hann,
                padding: Padding::None,
                norm: Norm::Ortho,
            })
        };
        HybridSpec {
            parts: vec![
                stft(128, 32),
                stft(1024, 256),
                Representation::Cqt(CqtSpec {
                    kernels: CqtKernels::Direct,
                    ..CqtSpec::default()
                }),
            ],
        }
    }
}

/// A time-frequency representation with its settings (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "transform", rename_all = "lowercase")]
#[non_exhaustive]
pub enum Representation {
    /// Short-time Fourier transform.
    Stft(StftParams),
    /// The paper's constant-Q transform.
    Cqt(CqtSpec),
    /// librosa-compatible constant-/variable-Q transform.
    Vqt(VqtSpec),
    /// Invertible constant-Q NSGT.
    Nsgt(NsgtSpec),
    /// Morlet continuous wavelet transform.
    Cwt(CwtSpec),
    /// Sinusoidal model.
    Sines(SinesSpec),
    /// Multi-resolution STFT on one time axis.
    Multires(MultiresSpec),
    /// Parts placed one after another in time.
    Hybrid(HybridSpec),
}

impl Default for Representation {
    /// The paper's speech STFT (window 2000, hop 1000, √Hann, `1/√N`).
    fn default() -> Self {
        Representation::Stft(StftParams::new(2000, 1000))
    }
}

/// One part of an analyzed representation: hybrids have several, placed one signal duration
/// apart in time; every other representation has one at offset 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// What produced it, e.g. "stft-128/32".
    pub name: String,
    /// Time shift applied to its points (s).
    pub offset: f64,
    /// Number of points.
    pub points: usize,
    /// Distinct frequencies.
    pub freqs: usize,
    /// Partial tracks (the sinusoidal model with tracking).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracks: Option<usize>,
}

/// Settings given one by one (command-line options, keyword arguments) over a kind's defaults:
/// `None` keeps the default. [`Representation::with_options`] applies them and refuses options
/// that the kind does not take — except `window` and `hop`, a front end's general framing
/// defaults, which apply where the kind has a window (stft, sines) or a hop (stft, sines, vqt,
/// and the cwt's largest per-scale hop) and are ignored elsewhere.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RepresentationOptions {
    /// STFT / sines window (samples).
    pub window: Option<usize>,
    /// Hop (samples): STFT, sines, VQT; the CWT's largest per-scale hop.
    pub hop: Option<usize>,
    /// Lowest frequency (Hz): cqt, vqt, nsgt, cwt.
    pub f_min: Option<f64>,
    /// Highest frequency (Hz): cqt, vqt, nsgt, cwt.
    pub f_max: Option<f64>,
    /// Bins (bands, voices) per octave: cqt, vqt, nsgt, cwt.
    pub bins_per_octave: Option<usize>,
    /// cqt: cycles per window; vqt: filter scale.
    pub q: Option<f64>,
    /// vqt: bandwidth offset γ (Hz).
    pub gamma: Option<f64>,
    /// cwt: Morlet ω0.
    pub omega0: Option<f64>,
    /// sines: peak threshold (dB re a unit sinusoid).
    pub threshold_db: Option<f64>,
    /// sines: most peaks per frame.
    pub max_peaks: Option<usize>,
    /// sines: link peaks into tracks.
    pub track: bool,
    /// sines: largest step of a track between frames (needs `track`).
    pub max_deviation: Option<MaxDeviation>,
    /// sines: shortest track kept, frames (needs `track`).
    pub min_track_len: Option<usize>,
    /// multires: split frequencies (Hz).
    pub splits: Option<Vec<f64>>,
    /// multires: window per band.
    pub windows: Option<Vec<usize>>,
    /// multires: hop per band.
    pub hops: Option<Vec<usize>>,
}

fn check_count(name: &'static str, v: usize, lo: usize, hi: usize, why: &str) -> Result<()> {
    if v < lo || v > hi {
        return Err(Error::param(
            name,
            v,
            format!("between {lo} and {hi} ({why})"),
        ));
    }
    Ok(())
}

fn check_freq(name: &'static str, v: f64) -> Result<()> {
    if !(v.is_finite() && v > 0.0) {
        return Err(Error::param(name, v, "a positive frequency in Hz"));
    }
    Ok(())
}

fn check_window_hop(window: usize, hop: usize) -> Result<()> {
    check_count("window", window, 2, MAX_WINDOW, "samples")?;
    check_count("hop", hop, 1, window, "samples, at most the window")
}

/// `f_max`'s default for a constant-Q-like transform: [`DEFAULT_OCTAVES`] above `f_min`, at
/// most `cap` Hz.
fn default_f_max(f_min: f64, cap: f64) -> f64 {
    (f_min * 2f64.powf(DEFAULT_OCTAVES)).min(cap)
}

/// Bins `f_min·2^{k/B}` with centre at most `f_max`: `⌊B·log2(f_max/f_min)⌋ + 1`.
fn bins_below(f_min: f64, f_max: f64, b: usize) -> Result<usize> {
    if !(f_max.is_finite() && f_max >= f_min) {
        return Err(Error::param(
            "f_max",
            f_max,
            format!("a frequency ≥ f_min = {f_min} Hz"),
        ));
    }
    let n = (b as f64 * (f_max / f_min).log2() + 1e-9).floor() + 1.0;
    check_count(
        "number of bins",
        n as usize,
        1,
        MAX_BINS,
        "from f_min, f_max and bins per octave",
    )?;
    Ok(n as usize)
}

impl Representation {
    /// The representation of `kind` with its defaults.
    pub fn default_for(kind: TransformKind) -> Self {
        match kind {
            TransformKind::Stft => Representation::default(),
            TransformKind::Cqt => Representation::Cqt(CqtSpec::default()),
            TransformKind::Vqt => Representation::Vqt(VqtSpec::default()),
            TransformKind::Nsgt => Representation::Nsgt(NsgtSpec::default()),
            TransformKind::Cwt => Representation::Cwt(CwtSpec::default()),
            TransformKind::Sines => Representation::Sines(SinesSpec::default()),
            TransformKind::Multires => Representation::Multires(MultiresSpec::default()),
            TransformKind::Hybrid => Representation::Hybrid(HybridSpec::default()),
        }
    }

    /// The paper's hybrid (STFT 128/32, STFT 1024/256, direct CQT).
    pub fn paper_hybrid() -> Self {
        Representation::Hybrid(HybridSpec::default())
    }

    /// An STFT with window `window_len`, hop `hop`, √Hann, `1/√N` and the given framing.
    pub fn stft(window_len: usize, hop: usize, padding: Padding) -> Self {
        Representation::Stft(StftParams {
            padding,
            ..StftParams::new(window_len, hop)
        })
    }

    /// The kind.
    pub fn kind(&self) -> TransformKind {
        match self {
            Representation::Stft(_) => TransformKind::Stft,
            Representation::Cqt(_) => TransformKind::Cqt,
            Representation::Vqt(_) => TransformKind::Vqt,
            Representation::Nsgt(_) => TransformKind::Nsgt,
            Representation::Cwt(_) => TransformKind::Cwt,
            Representation::Sines(_) => TransformKind::Sines,
            Representation::Multires(_) => TransformKind::Multires,
            Representation::Hybrid(_) => TransformKind::Hybrid,
        }
    }

    /// A short name: `stft-2000/1000`, `cqt`, `nsgt`, `hybrid(stft-128/32+stft-1024/256+cqt)`.
    pub fn name(&self) -> String {
        match self {
            Representation::Stft(p) => format!("stft-{}/{}", p.window_len, p.hop),
            Representation::Hybrid(h) => format!(
                "hybrid({})",
                h.parts
                    .iter()
                    .map(|p| p.name())
                    .collect::<Vec<_>>()
                    .join("+")
            ),
            r => r.kind().name().to_string(),
        }
    }

    /// The defaults of `kind` with `options` applied.
    ///
    /// # Errors
    /// An option that `kind` does not take (named), an inconsistent combination (`splits`
    /// without `windows`, tracking options without `track`), and every check of
    /// [`validate`](Self::validate).
    pub fn with_options(kind: TransformKind, o: &RepresentationOptions) -> Result<Self> {
        let refuse = |name: &'static str, given: bool, takes: &str| -> Result<()> {
            if given {
                Err(Error::param(
                    name,
                    format!("given with transform {kind}"),
                    format!("{takes} only"),
                ))
            } else {
                Ok(())
            }
        };
        let constant_q = matches!(
            kind,
            TransformKind::Cqt | TransformKind::Vqt | TransformKind::Nsgt | TransformKind::Cwt
        );
        for (name, given) in [
            ("f_min", o.f_min.is_some()),
            ("f_max", o.f_max.is_some()),
            ("bins_per_octave", o.bins_per_octave.is_some()),
        ] {
            refuse(name, given && !constant_q, "cqt, vqt, nsgt and cwt")?;
        }
        refuse(
            "q",
            o.q.is_some() && !matches!(kind, TransformKind::Cqt | TransformKind::Vqt),
            "cqt and vqt",
        )?;
        refuse(
            "gamma",
            o.gamma.is_some() && kind != TransformKind::Vqt,
            "vqt",
        )?;
        refuse(
            "omega0",
            o.omega0.is_some() && kind != TransformKind::Cwt,
            "cwt",
        )?;
        let sines = kind == TransformKind::Sines;
        refuse("threshold", o.threshold_db.is_some() && !sines, "sines")?;
        refuse("max_peaks", o.max_peaks.is_some() && !sines, "sines")?;
        refuse("track", o.track && !sines, "sines")?;
        refuse(
            "max_deviation",
            o.max_deviation.is_some() && !o.track,
            "sines with track",
        )?;
        refuse(
            "min_track_len",
            o.min_track_len.is_some() && !o.track,
            "sines with track",
        )?;
        let multires = kind == TransformKind::Multires;
        refuse("splits", o.splits.is_some() && !multires, "multires")?;
        refuse("windows", o.windows.is_some() && !multires, "multires")?;
        refuse("hops", o.hops.is_some() && !multires, "multires")?;

        let mut r = Representation::default_for(kind);
        match &mut r {
            Representation::Stft(p) => {
                p.window_len = o.window.unwrap_or(p.window_len);
                p.hop = o.hop.unwrap_or(p.hop);
            }
            Representation::Cqt(c) => {
                c.f_min = o.f_min.unwrap_or(c.f_min);
                c.bins_per_octave = o.bins_per_octave.unwrap_or(c.bins_per_octave);
                c.q = o.q.or(c.q);
                c.f_max = o.f_max.or(c.f_max);
            }
            Representation::Vqt(v) => {
                v.f_min = o.f_min.unwrap_or(v.f_min);
                v.bins_per_octave = o.bins_per_octave.unwrap_or(v.bins_per_octave);
                v.filter_scale = o.q.unwrap_or(v.filter_scale);
                v.gamma = o.gamma.unwrap_or(v.gamma);
                v.hop = o.hop.unwrap_or(v.hop);
                v.f_max = o.f_max.or(v.f_max);
            }
            Representation::Nsgt(n) => {
                n.f_min = o.f_min.unwrap_or(n.f_min);
                n.bins_per_octave = o.bins_per_octave.unwrap_or(n.bins_per_octave);
                n.f_max = o.f_max.or(n.f_max);
            }
            Representation::Cwt(c) => {
                c.f_min = o.f_min.unwrap_or(c.f_min);
                c.voices_per_octave = o.bins_per_octave.unwrap_or(c.voices_per_octave);
                c.omega0 = o.omega0.unwrap_or(c.omega0);
                c.f_max = o.f_max.or(c.f_max);
                if let (Some(hop), Some(h)) = (o.hop, c.hop.as_mut()) {
                    h.max = hop;
                }
            }
            Representation::Sines(s) => {
                s.window_len = o.window.unwrap_or(s.window_len);
                s.hop = o.hop.unwrap_or(s.hop);
                s.threshold_db = o.threshold_db.unwrap_or(s.threshold_db);
                s.max_peaks = o.max_peaks.unwrap_or(s.max_peaks);
                if o.track {
                    let mut t = TrackParams::default();
                    t.max_deviation = o.max_deviation.unwrap_or(t.max_deviation);
                    t.min_len = o.min_track_len.unwrap_or(t.min_len);
                    s.tracking = Some(t);
                }
            }
            Representation::Multires(m) => {
                if o.splits.is_some() && o.windows.is_none() {
                    let n = o.splits.as_ref().map_or(0, Vec::len);
                    return Err(Error::param(
                        "windows",
                        format!("missing for {n} split frequencies"),
                        format!("{} window lengths (one per band)", n + 1),
                    ));
                }
                m.splits = o.splits.clone();
                m.windows = o.windows.clone();
                m.hops = o.hops.clone();
            }
            Representation::Hybrid(_) => {}
        }
        r.validate()?;
        Ok(r)
    }

    /// Checks what can be checked without the sample rate: sizes against their limits
    /// ([`MAX_WINDOW`], [`MAX_BINS_PER_OCTAVE`], [`MAX_BINS`], [`MAX_PARTS`]) before anything is
    /// allocated, frequencies positive and finite.
    ///
    /// # Errors
    /// The first impossible value, named, with the range that would be accepted.
    pub fn validate(&self) -> Result<()> {
        let bpo = |name: &'static str, b: usize| {
            check_count(name, b, 1, MAX_BINS_PER_OCTAVE, "per octave")
        };
        let opt_freq =
            |name: &'static str, f: Option<f64>| f.map_or(Ok(()), |f| check_freq(name, f));
        match self {
            Representation::Stft(p) => check_window_hop(p.window_len, p.hop),
            Representation::Cqt(c) => {
                check_freq("f_min", c.f_min)?;
                opt_freq("f_max", c.f_max)?;
                bpo("bins_per_octave", c.bins_per_octave)?;
                if let Some(q) = c.q {
                    if !(q.is_finite() && q > 0.0 && q <= 4.0 * MAX_BINS_PER_OCTAVE as f64) {
                        return Err(Error::param(
                            "q",
                            q,
                            format!("cycles per window in (0, {}]", 4 * MAX_BINS_PER_OCTAVE),
                        ));
                    }
                }
                if let Some(n) = c.n_bins {
                    check_count("n_bins", n, 1, MAX_BINS, "bins")?;
                }
                check_count("hop_divisor", c.hop_divisor, 1, 1024, "hop = N_k / divisor")
            }
            Representation::Vqt(v) => {
                check_freq("f_min", v.f_min)?;
                opt_freq("f_max", v.f_max)?;
                bpo("bins_per_octave", v.bins_per_octave)?;
                if !(v.filter_scale.is_finite() && v.filter_scale > 0.0 && v.filter_scale <= 100.0)
                {
                    return Err(Error::param(
                        "filter_scale",
                        v.filter_scale,
                        "a window scale in (0, 100]",
                    ));
                }
                if !(v.gamma.is_finite() && v.gamma >= 0.0) {
                    return Err(Error::param("gamma", v.gamma, "a bandwidth offset ≥ 0 Hz"));
                }
                if let Some(n) = v.n_bins {
                    check_count("n_bins", n, 1, MAX_BINS, "bins")?;
                }
                check_count("hop", v.hop, 1, MAX_WINDOW, "samples")
            }
            Representation::Nsgt(n) => {
                check_freq("f_min", n.f_min)?;
                opt_freq("f_max", n.f_max)?;
                bpo("bins_per_octave", n.bins_per_octave)
            }
            Representation::Cwt(c) => {
                check_freq("f_min", c.f_min)?;
                opt_freq("f_max", c.f_max)?;
                bpo("voices_per_octave", c.voices_per_octave)?;
                if !(c.omega0.is_finite() && c.omega0 >= 1.0 && c.omega0 <= 1000.0) {
                    return Err(Error::param(
                        "omega0",
                        c.omega0,
                        "a Morlet centre frequency in [1, 1000] rad",
                    ));
                }
                if let Some(h) = c.hop {
                    check_count("hop", h.max, 1, MAX_WINDOW, "samples")?;
                }
                Ok(())
            }
            Representation::Sines(s) => {
                check_window_hop(s.window_len, s.hop)?;
                check_count(
                    "zero_pad",
                    s.zero_pad,
                    1,
                    64,
                    "FFT size = window · zero_pad",
                )?;
                check_count(
                    "fft size",
                    s.window_len.saturating_mul(s.zero_pad),
                    4,
                    MAX_WINDOW,
                    "window · zero_pad samples",
                )?;
                check_count("max_peaks", s.max_peaks, 1, MAX_WINDOW, "peaks per frame")?;
                if !s.threshold_db.is_finite() {
                    return Err(Error::param(
                        "threshold",
                        s.threshold_db,
                        "a finite level in dB",
                    ));
                }
                Ok(())
            }
            Representation::Multires(m) => {
                for &w in m.windows.iter().flatten() {
                    check_count("windows", w, 2, MAX_WINDOW, "samples per band")?;
                }
                for &h in m.hops.iter().flatten() {
                    check_count("hops", h, 1, MAX_WINDOW, "samples per band")?;
                }
                for &f in m.splits.iter().flatten() {
                    check_freq("splits", f)?;
                }
                if m.windows.as_ref().map_or(0, Vec::len) > MAX_PARTS {
                    return Err(Error::param(
                        "windows",
                        "too many bands",
                        format!("at most {MAX_PARTS}"),
                    ));
                }
                Ok(())
            }
            Representation::Hybrid(h) => {
                check_count("parts", h.parts.len(), 1, MAX_PARTS, "representations")?;
                for p in &h.parts {
                    if let Representation::Hybrid(_) = p {
                        return Err(Error::param(
                            "parts",
                            "a hybrid inside a hybrid",
                            "plain representations (list every part at the top level)",
                        ));
                    }
                    p.validate()?;
                }
                Ok(())
            }
        }
    }

    /// Every default that depends on the sample rate filled in (bin counts, top frequencies,
    /// multi-resolution bands), so the result describes exactly what [`points`](Self::points)
    /// computes at `sample_rate` Hz (model files record it).
    ///
    /// # Errors
    /// Those of [`validate`](Self::validate), a bad sample rate, frequencies at or above what
    /// the sample rate allows.
    pub fn resolve(&self, sample_rate: f64) -> Result<Representation> {
        crate::error::check_sample_rate(sample_rate)?;
        self.validate()?;
        let sr = sample_rate;
        let below_nyquist = |name: &'static str, f: f64| -> Result<()> {
            if f >= 0.5 * sr {
                return Err(Error::param(
                    name,
                    f,
                    format!("a frequency below the Nyquist frequency {} Hz", 0.5 * sr),
                ));
            }
            Ok(())
        };
        let mut r = self.clone();
        match &mut r {
            Representation::Stft(_) | Representation::Sines(_) => {}
            Representation::Cqt(c) => {
                below_nyquist("f_min", c.f_min)?;
                if let Some(f) = c.f_max {
                    below_nyquist("f_max", f)?;
                }
                c.q = Some(c.q.unwrap_or(c.bins_per_octave as f64));
                if c.n_bins.is_none() {
                    c.n_bins = Some(match c.f_max {
                        Some(f) => bins_below(c.f_min, f, c.bins_per_octave)?,
                        None => {
                            let octaves =
                                DEFAULT_OCTAVES.min((0.45 * sr / c.f_min).log2()).max(0.0);
                            ((c.bins_per_octave as f64 * octaves) as usize).max(1)
                        }
                    });
                }
            }
            Representation::Vqt(v) => {
                below_nyquist("f_min", v.f_min)?;
                if let Some(f) = v.f_max {
                    below_nyquist("f_max", f)?;
                }
                if v.n_bins.is_none() {
                    v.n_bins = Some(match v.f_max {
                        Some(f) => bins_below(v.f_min, f, v.bins_per_octave)?,
                        // librosa's 7 octaves, fewer where they would reach past 0.45·sr
                        None => (7 * v.bins_per_octave).min(bins_below(
                            v.f_min,
                            0.45 * sr,
                            v.bins_per_octave,
                        )?),
                    });
                }
            }
            Representation::Nsgt(n) => {
                below_nyquist("f_min", n.f_min)?;
                if let Some(f) = n.f_max {
                    below_nyquist("f_max", f)?;
                }
                n.f_max = Some(n.f_max.unwrap_or(default_f_max(n.f_min, 0.45 * sr)));
            }
            Representation::Cwt(c) => {
                // the top scale's band (centre + 3 std) must end below Nyquist
                let limit = 0.5 * sr / (1.0 + 3.0 / c.omega0);
                below_nyquist("f_min", c.f_min)?;
                if let Some(f) = c.f_max {
                    below_nyquist("f_max", f)?;
                }
                c.f_max = Some(c.f_max.unwrap_or(default_f_max(c.f_min, 0.95 * limit)));
            }
            Representation::Multires(m) => {
                let d = MultiresParams::default_for(sr);
                let windows = m.windows.clone().unwrap_or(d.windows.clone());
                let splits = m.splits.clone().unwrap_or(d.splits.clone());
                let hops = match &m.hops {
                    Some(h) => h.clone(),
                    None => windows.iter().map(|&n| (n / 4).max(1)).collect(),
                };
                m.splits = Some(splits);
                m.windows = Some(windows);
                m.hops = Some(hops);
            }
            Representation::Hybrid(h) => {
                for p in &mut h.parts {
                    *p = p.resolve(sr)?;
                }
            }
        }
        Ok(r)
    }

    /// True when separated coefficients can be turned back into a signal (STFT, NSGT, CWT, the
    /// multi-resolution STFT, the sinusoidal model with tracking). A multi-resolution plan whose
    /// inverse does not converge for its windows and hops is refused when it is planned.
    pub fn is_invertible(&self) -> bool {
        match self {
            Representation::Stft(_)
            | Representation::Nsgt(_)
            | Representation::Cwt(_)
            | Representation::Multires(_) => true,
            Representation::Sines(s) => s.tracking.is_some(),
            _ => false,
        }
    }

    /// The plan of this representation for `sample_rate` Hz (and, for the NSGT and the CWT,
    /// whose plans are fixed to one length, signals of `signal_len` samples): every front end
    /// analyzes, calibrates and synthesizes through it.
    ///
    /// ```
    /// use innmf::transform::{Calibration, Representation, TransformKind};
    /// let rep = Representation::default_for(TransformKind::Cqt);
    /// // 3 s: the default constant-Q transform reaches down to 32.7 Hz (a 1.6 s window)
    /// let x: Vec<f64> = (0..66150).map(|i| (i as f64 * 0.1).sin()).collect();
    /// let points = rep.points(&x, 22050.0, 0.5, Calibration::UnitTone)?; // |c|^0.5
    /// let plan = rep.plan(22050.0, x.len())?; // Box<dyn Transform>
    /// assert_eq!(plan.name(), "cqt");
    /// assert!(points.len() > 0);
    /// # Ok::<(), innmf::Error>(())
    /// ```
    ///
    /// # Errors
    /// Those of [`resolve`](Self::resolve) and of the plan's constructor; a hybrid, which is
    /// several plans ([`Error::Unsupported`]: analyze it with [`analyze`](Self::analyze)).
    pub fn plan(&self, sample_rate: f64, signal_len: usize) -> Result<Box<dyn Transform>> {
        self.resolve(sample_rate)?
            .resolved_plan(sample_rate, signal_len)
    }

    /// Analyzes `x` (sampled at `sample_rate` Hz), calibrates the magnitudes and returns the
    /// point set of `|c|^power`.
    ///
    /// # Errors
    /// Those of [`resolve`](Self::resolve) and of the transform (a signal shorter than a
    /// window, impossible parameters for this rate), a bad power, a sinusoidal model that
    /// finds no peak.
    pub fn points(
        &self,
        x: &[f64],
        sample_rate: f64,
        power: f64,
        calibration: Calibration,
    ) -> Result<TfPoints> {
        Ok(self.analyze(x, sample_rate, power, calibration)?.0)
    }

    /// [`points`](Self::points) and the parts they came from ([`Segment`]s: one for every
    /// representation but a hybrid).
    ///
    /// # Errors
    /// Those of [`points`](Self::points).
    pub fn analyze(
        &self,
        x: &[f64],
        sample_rate: f64,
        power: f64,
        calibration: Calibration,
    ) -> Result<(TfPoints, Vec<Segment>)> {
        check_power(power)?;
        crate::error::check_signal(x, sample_rate)?;
        let r = self.resolve(sample_rate)?;
        if let Representation::Hybrid(h) = &r {
            let dur = x.len() as f64 / sample_rate;
            let mut parts = Vec::with_capacity(h.parts.len());
            let mut segs = Vec::with_capacity(h.parts.len());
            for (i, p) in h.parts.iter().enumerate() {
                let (pts, tracks) = p.part_points(x, sample_rate, power, calibration)?;
                segs.push(Segment {
                    name: p.segment_name(),
                    offset: i as f64 * dur,
                    points: pts.len(),
                    freqs: pts.unique_freqs().len(),
                    tracks,
                });
                parts.push(pts);
            }
            let refs: Vec<&TfPoints> = parts.iter().collect();
            let shifts: Vec<f64> = segs.iter().map(|s| s.offset).collect();
            let all = TfPoints::concat(&refs, &shifts)?;
            if all.is_empty() {
                return Err(Error::Empty {
                    what: "hybrid point set",
                });
            }
            return Ok((all, segs));
        }
        let (pts, tracks) = r.part_points(x, sample_rate, power, calibration)?;
        let seg = Segment {
            name: r.segment_name(),
            offset: 0.0,
            points: pts.len(),
            freqs: pts.unique_freqs().len(),
            tracks,
        };
        Ok((pts, vec![seg]))
    }

    /// Analysis then synthesis (`x` back through the transform's inverse): the sinusoidal
    /// model's additive resynthesis of its tracks, the STFT's, NSGT's and CWT's inverses. The
    /// result has `x`'s length.
    ///
    /// # Errors
    /// A representation without an inverse ([`Error::Unsupported`]), those of the transform.
    pub fn resynthesize(&self, x: &[f64], sample_rate: f64) -> Result<Vec<f64>> {
        crate::error::check_signal(x, sample_rate)?;
        let r = self.resolve(sample_rate)?;
        if !r.is_invertible() {
            return Err(Error::Unsupported {
                what: format!("resynthesis from {}", r.name()),
                why: "this representation has no inverse (use stft, nsgt, cwt, multires or sines \
                      with tracking)"
                    .into(),
            });
        }
        let plan = r.resolved_plan(sample_rate, x.len())?;
        plan.synthesize(&plan.analyze(x)?)
    }

    fn segment_name(&self) -> String {
        match self {
            Representation::Cqt(c) => format!(
                "cqt-q{}-b{}-{}hz",
                c.q.unwrap_or(c.bins_per_octave as f64),
                c.bins_per_octave,
                c.f_min
            ),
            r => r.name(),
        }
    }

    /// The plan of a resolved, non-hybrid representation.
    fn resolved_plan(&self, sr: f64, len: usize) -> Result<Box<dyn Transform>> {
        Ok(match self {
            Representation::Stft(params) => Box::new(Stft::new(*params, sr)?),
            Representation::Cqt(c) => {
                let params = DirectCqtParams {
                    q: c.q.unwrap_or(c.bins_per_octave as f64),
                    bins_per_octave: c.bins_per_octave,
                    f_min: c.f_min,
                    n_bins: c.n_bins.unwrap_or(1),
                    hop_divisor: c.hop_divisor,
                };
                match c.kernels {
                    CqtKernels::Sparse => Box::new(FastCqt::new(params, sr)?),
                    CqtKernels::Direct => Box::new(DirectCqt::new(params, sr)?),
                }
            }
            Representation::Vqt(v) => Box::new(Vqt::new(
                VqtParams {
                    f_min: v.f_min,
                    n_bins: v.n_bins.unwrap_or(1),
                    bins_per_octave: v.bins_per_octave,
                    filter_scale: v.filter_scale,
                    gamma: v.gamma,
                    hop: v.hop,
                },
                sr,
            )?),
            Representation::Nsgt(n) => Box::new(Nsgt::new(
                NsgtParams::new(
                    n.f_min,
                    n.f_max.unwrap_or(default_f_max(n.f_min, 0.45 * sr)),
                    n.bins_per_octave,
                ),
                sr,
                len,
            )?),
            Representation::Cwt(c) => Box::new(Cwt::new(
                CwtParams {
                    f_min: c.f_min,
                    f_max: c.f_max.unwrap_or(c.f_min),
                    voices_per_octave: c.voices_per_octave,
                    omega0: c.omega0,
                    hop: c.hop,
                },
                sr,
                len,
            )?),
            Representation::Sines(s) => Box::new(SinusoidalModel::new(s.params(), s.tracking, sr)?),
            Representation::Multires(m) => {
                let d = MultiresParams::default_for(sr);
                Box::new(Multires::new(
                    MultiresParams {
                        splits: m.splits.clone().unwrap_or(d.splits),
                        windows: m.windows.clone().unwrap_or(d.windows),
                        hops: m.hops.clone().unwrap_or(d.hops),
                        window: m.window,
                        norm: m.norm,
                    },
                    sr,
                )?)
            }
            Representation::Hybrid(_) => {
                return Err(Error::Unsupported {
                    what: "one plan for a hybrid representation".into(),
                    why: "a hybrid is several transforms, analyzed part by part".into(),
                })
            }
        })
    }

    /// Points of one resolved, non-hybrid representation, calibrated, as `|c|^p` (and the
    /// number of partial tracks of a tracked sinusoidal model).
    fn part_points(
        &self,
        x: &[f64],
        sr: f64,
        p: f64,
        cal: Calibration,
    ) -> Result<(TfPoints, Option<usize>)> {
        if let Representation::Stft(params) = self {
            if params.padding == Padding::None && x.len() < params.window_len {
                return Err(Error::param(
                    "window",
                    params.window_len,
                    format!(
                        "at most the signal length {} samples (or centre padding)",
                        x.len()
                    ),
                ));
            }
        }
        if let Representation::Stft(params) = self {
            // straight to magnitudes, never the complex spectrogram: a third of the memory
            // (a 10-minute recording's point set, issue 12); the same values bit for bit
            let stft = Stft::new(*params, sr)?;
            let mut d = BinDivisors {
                n_bins: params.window_len / 2 + 1,
                divisors: None,
            };
            cal.apply(&mut d, &stft.unit_tone_gain())?;
            let (spec, mag) = stft.magnitudes(x, d.divisors.as_deref())?;
            let pts = TfPoints::from_grid_owned(spec.freqs, spec.times, mag)?;
            return Ok((pts.into_powered(p)?, None));
        }
        let plan = self.resolved_plan(sr, x.len())?;
        let mut c = plan.analyze(x)?;
        let mut tracks = None;
        if let (Coefficients::Sines(sc), Representation::Sines(spec)) = (&c, self) {
            if sc.n_points() == 0 {
                return Err(Error::param(
                    "threshold",
                    spec.threshold_db,
                    format!(
                        "a level (dB re a unit sinusoid) that some peaks{} exceed: none did",
                        if sc.tracked {
                            " on tracks long enough"
                        } else {
                            ""
                        }
                    ),
                ));
            }
            tracks = sc.tracked.then_some(sc.tracks.len());
        }
        // peak amplitudes are window-corrected already: the sinusoidal model's gains are ones
        c.calibrate(cal, &plan.unit_tone_gain())?;
        Ok((c.to_points(p)?, tracks))
    }
}

/// The divisors a calibration would apply to the bins of a spectrogram (the STFT's
/// magnitude path in [`Representation::part_points`]): `None` when it applies none.
struct BinDivisors {
    n_bins: usize,
    divisors: Option<Vec<f64>>,
}

impl super::calibration::BinScale for BinDivisors {
    fn n_bins(&self) -> usize {
        self.n_bins
    }

    fn divide_bins(&mut self, divisors: &[f64]) {
        self.divisors = Some(divisors.to_vec());
    }
}

fn check_power(p: f64) -> Result<()> {
    if !(p.is_finite() && p > 0.0 && p <= 16.0) {
        return Err(Error::param("power", p, "a magnitude exponent in (0, 16]"));
    }
    Ok(())
}

/// How a point set was made from audio: the resolved representation, the sample rate, the
/// magnitude power and the calibration. Model files record it, so a model can be checked
/// against the data it is applied to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// The representation, every default resolved for `sample_rate`.
    pub representation: Representation,
    /// Sample rate of the analyzed audio (Hz).
    pub sample_rate: f64,
    /// Magnitude power p: points hold `|c|^p`.
    pub power: f64,
    /// Magnitude scale.
    pub calibration: Calibration,
}

impl Analysis {
    /// Resolves `representation` for `sample_rate` and checks the power.
    ///
    /// # Errors
    /// Those of [`Representation::resolve`], a power outside (0, 16].
    pub fn new(
        representation: &Representation,
        sample_rate: f64,
        power: f64,
        calibration: Calibration,
    ) -> Result<Self> {
        check_power(power)?;
        Ok(Analysis {
            representation: representation.resolve(sample_rate)?,
            sample_rate,
            power,
            calibration,
        })
    }

    /// The point set of `x` (sampled at [`sample_rate`](Self::sample_rate)).
    ///
    /// # Errors
    /// Those of [`Representation::points`].
    pub fn points(&self, x: &[f64]) -> Result<TfPoints> {
        self.representation
            .points(x, self.sample_rate, self.power, self.calibration)
    }

    /// Checks that a model fitted on `self`'s points can be applied to points made by
    /// `other`: the same magnitude power and calibration (the representation and the window
    /// may differ: that is what implicit templates are for). `model` names the model in the
    /// message.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming both powers or both calibrations.
    pub fn check_applies_to(&self, other: &Analysis, model: &str) -> Result<()> {
        if (self.power - other.power).abs() > 1e-12 {
            return Err(Error::param(
                "power",
                other.power,
                format!(
                    "the power {} that {model} was trained on (its templates model |X|^{})",
                    self.power, self.power
                ),
            ));
        }
        if self.calibration != other.calibration {
            return Err(Error::param(
                "calibration",
                format!("{:?}", other.calibration),
                format!(
                    "the calibration {:?} that {model} was trained with",
                    self.calibration
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(f: f64, sr: f64, n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| (2.0 * std::f64::consts::PI * f * i as f64 / sr).cos())
            .collect()
    }

    #[test]
    fn stft_points_skip_the_complex_spectrogram_but_not_a_bit_of_its_values() {
        let sr = 8000.0;
        let x: Vec<f64> = tone(440.0, sr, 9000)
            .iter()
            .zip(tone(1234.5, sr, 9000))
            .enumerate()
            .map(|(i, (a, b))| a + 0.3 * b + 1e-3 * ((i * 7919) % 101) as f64)
            .collect();
        for padding in [Padding::None, Padding::Center] {
            let mut params = StftParams::new(256, 64);
            params.padding = padding;
            let r = Representation::Stft(params);
            for cal in [Calibration::Native, Calibration::UnitTone] {
                for p in [0.5, 1.0] {
                    let got = r.points(&x, sr, p, cal).unwrap();
                    // the general path: complex coefficients, calibrated, then |c|^p
                    let plan = Stft::new(params, sr).unwrap();
                    let mut c = Transform::analyze(&plan, &x).unwrap();
                    c.calibrate(cal, &plan.unit_tone_gain()).unwrap();
                    let want = c.to_points(p).unwrap();
                    assert!(got.is_row_major_grid());
                    assert_eq!(got, want, "{padding:?} {cal:?} p = {p}");
                    assert!(got
                        .m()
                        .iter()
                        .zip(want.m())
                        .all(|(a, b)| a.to_bits() == b.to_bits()));
                }
            }
        }
    }

    #[test]
    fn json_round_trip_and_defaults_for_missing_fields() {
        for kind in TransformKind::ALL {
            let r = Representation::default_for(kind);
            let s = serde_json::to_string(&r).unwrap();
            let back: Representation = serde_json::from_str(&s).unwrap();
            assert_eq!(back, r, "{s}");
            assert!(s.contains(&format!("\"transform\":\"{kind}\"")), "{s}");
            assert_eq!(kind.name().parse::<TransformKind>().unwrap(), kind);
        }
        let c: Representation =
            serde_json::from_str(r#"{"transform":"cqt","f_min":50,"bins_per_octave":12}"#).unwrap();
        let Representation::Cqt(c) = c else {
            panic!("not a cqt")
        };
        assert_eq!((c.f_min, c.bins_per_octave, c.hop_divisor), (50.0, 12, 8));
        assert!("wavelet".parse::<TransformKind>().is_err());
    }

    #[test]
    fn resolve_fills_rate_dependent_defaults() {
        // the paper's CQT: 6.7 octaves of 64 bins = 428 bins (⌊428.8⌋)
        let r = Representation::default_for(TransformKind::Cqt)
            .resolve(44100.0)
            .unwrap();
        let Representation::Cqt(c) = &r else { panic!() };
        assert_eq!((c.n_bins, c.q), (Some(428), Some(64.0)));
        // an explicit f_max counts the bins whose centre is at most f_max (one bin: exactly on it)
        let o = RepresentationOptions {
            f_min: Some(100.0),
            f_max: Some(800.0),
            bins_per_octave: Some(12),
            ..Default::default()
        };
        for kind in [TransformKind::Cqt, TransformKind::Vqt] {
            let r = Representation::with_options(kind, &o)
                .unwrap()
                .resolve(16000.0)
                .unwrap();
            match r {
                Representation::Cqt(c) => assert_eq!(c.n_bins, Some(37)),
                Representation::Vqt(v) => assert_eq!(v.n_bins, Some(37)),
                _ => unreachable!(),
            }
        }
        // low rates cap the default top frequency below 0.45·sr
        let r = Representation::default_for(TransformKind::Nsgt)
            .resolve(4410.0)
            .unwrap();
        let Representation::Nsgt(n) = r else { panic!() };
        assert!((n.f_max.unwrap() - 0.45 * 4410.0).abs() < 1e-9);
        // resolving twice changes nothing
        for kind in TransformKind::ALL {
            let a = Representation::default_for(kind).resolve(22050.0).unwrap();
            assert_eq!(a.resolve(22050.0).unwrap(), a, "{kind}");
        }
    }

    #[test]
    fn options_a_kind_does_not_take_are_refused_by_name() {
        let e = Representation::with_options(
            TransformKind::Stft,
            &RepresentationOptions {
                gamma: Some(3.0),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("gamma") && e.to_string().contains("vqt"),
            "{e}"
        );
        let e = Representation::with_options(
            TransformKind::Multires,
            &RepresentationOptions {
                splits: Some(vec![1000.0]),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("windows") && e.to_string().contains("2 window lengths"),
            "{e}"
        );
    }

    #[test]
    fn absurd_sizes_fail_before_allocation() {
        let big = RepresentationOptions {
            bins_per_octave: Some(1_000_000_000),
            ..Default::default()
        };
        for kind in [
            TransformKind::Cqt,
            TransformKind::Vqt,
            TransformKind::Nsgt,
            TransformKind::Cwt,
        ] {
            let e = Representation::with_options(kind, &big).unwrap_err();
            assert!(e.to_string().contains("1000000000"), "{e}");
        }
        let e = Representation::with_options(
            TransformKind::Stft,
            &RepresentationOptions {
                window: Some(1_000_000_000),
                hop: Some(500_000_000),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("1000000000"), "{e}");
        // a window longer than the signal is named before any plan is built
        let r = Representation::stft(4096, 1024, Padding::None);
        let e = r
            .points(&[0.1; 1000], 8000.0, 1.0, Calibration::Native)
            .unwrap_err();
        assert!(
            e.to_string().contains("4096") && e.to_string().contains("1000"),
            "{e}"
        );
    }

    #[test]
    fn every_representation_makes_points_and_the_hybrid_has_its_parts() {
        let sr = 8000.0;
        let x = tone(440.0, sr, 16000);
        for kind in TransformKind::ALL {
            let r = Representation::default_for(kind);
            let (pts, segs) = r.analyze(&x, sr, 0.5, Calibration::UnitTone).unwrap();
            assert!(!pts.is_empty(), "{kind}");
            assert_eq!(
                segs.iter().map(|s| s.points).sum::<usize>(),
                pts.len(),
                "{kind}"
            );
            assert_eq!(
                segs.len(),
                if kind == TransformKind::Hybrid { 3 } else { 1 }
            );
        }
    }

    #[test]
    fn analysis_checks_power_and_calibration_and_names_both() {
        let r = Representation::default();
        let a = Analysis::new(&r, 16000.0, 0.5, Calibration::Native).unwrap();
        let b = Analysis::new(&r, 16000.0, 1.0, Calibration::Native).unwrap();
        let e = a
            .check_applies_to(&b, "m.safetensors")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains('1') && e.contains("0.5") && e.contains("m.safetensors"),
            "{e}"
        );
        let c = Analysis::new(&r, 16000.0, 0.5, Calibration::UnitTone).unwrap();
        let e = a.check_applies_to(&c, "m").unwrap_err().to_string();
        assert!(e.contains("UnitTone") && e.contains("Native"), "{e}");
        // another representation at the same power and calibration is fine
        let d = Analysis::new(
            &Representation::default_for(TransformKind::Cqt),
            16000.0,
            0.5,
            Calibration::Native,
        )
        .unwrap();
        a.check_applies_to(&d, "m").unwrap();
        assert!(Analysis::new(&r, 16000.0, f64::NAN, Calibration::Native).is_err());
    }
}
