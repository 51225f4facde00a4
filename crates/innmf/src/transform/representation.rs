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
//! | `sines` | [`Sinusoidal`](super::Sinusoidal) (+ [`track_peaks`](super::track_peaks)) | window 2048, hop 512, −60 dB, 40 peaks per frame |
//! | `multires` | [`Multires`] | [`MultiresParams::default_for`] the sample rate |
//! | `hybrid` | the parts, time-concatenated | the paper's: STFT 128/32, STFT 1024/256, direct CQT |

use super::{
    Calibration, Coefficients, Cwt, CwtHop, CwtParams, DirectCqt, DirectCqtParams, FastCqt,
    MaxDeviation, Multires, MultiresParams, Norm, Nsgt, NsgtParams, Padding, SinusoidalModel,
    SinusoidalParams, Stft, StftParams, TrackParams, Transform, Vqt, VqtParams, WindowKind,
};
use crate::error::{Error, Num, Result};
use crate::points::TfPoints;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

mod options;
mod specs;
pub use options::RepresentationOptions;
pub use specs::{
    CqtKernels, CqtSpec, CwtSpec, HybridSpec, MultiresSpec, NsgtSpec, SinesSpec, VqtSpec,
};

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
            format!("a frequency ≥ f_min = {} Hz", Num(f_min)),
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
        check_analysis_memory(&*plan, x.len())?;
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

/// Bytes an analysis holds per coefficient at its peak ([`crate::budget`]): 16 for the complex
/// coefficient, [`BYTES_PER_POINT`](crate::budget::BYTES_PER_POINT) for the point made from it
/// and its copies on the way out, 16 for the per-bin times, gains and working buffers.
const BYTES_PER_COEFFICIENT: u128 = 32 + crate::budget::BYTES_PER_POINT;

/// Checks that analyzing `len` samples with `plan` (and making points of it) fits in memory:
/// [`Transform::coefficient_count`] × [`BYTES_PER_COEFFICIENT`], and the signal's copies
/// (decimations, padding, spectra: 64 bytes a sample).
fn check_analysis_memory(plan: &dyn Transform, len: usize) -> Result<()> {
    // a length the plan cannot analyze: its own error, from analyze
    let Ok(coeffs) = plan.coefficient_count(len) else {
        return Ok(());
    };
    let bytes = coeffs
        .saturating_mul(BYTES_PER_COEFFICIENT)
        .saturating_add(64 * len as u128);
    let advice = match plan.name() {
        "vqt" => "use fewer bins per octave, a larger hop or a shorter signal",
        "sines" => "use fewer peaks per frame, a larger hop or a shorter signal",
        "multires" => "use larger hops or a shorter signal",
        _ => "use fewer bins per octave, a narrower band or a shorter signal",
    };
    crate::budget::check(
        "transform",
        plan.name(),
        || {
            format!(
                "a {} analysis of {len} samples: {} bins, {coeffs} coefficients",
                plan.name(),
                plan.n_bins()
            )
        },
        bytes,
        advice,
    )
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
mod tests;
