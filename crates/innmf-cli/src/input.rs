//! Loading what the commands take: audio files and point sets, and turning audio into points.

use anyhow::{bail, Context, Result};
use innmf::audio::{self, ChannelSelect};
use innmf::transform::{
    Calibration, Cwt, CwtHop, CwtParams, DirectCqtParams, FastCqt, MaxDeviation, Multires,
    MultiresParams, Nsgt, NsgtParams, Sinusoidal, SinusoidalParams, Stft, StftParams, TrackParams,
    Vqt, VqtParams, WindowKind,
};
use innmf::TfPoints;
use std::path::Path;

/// Mono audio: samples and rate.
pub struct Signal {
    pub samples: Vec<f64>,
    pub sample_rate: f64,
}

/// Reads a WAV file as mono (`channel` None = mean of channels), optionally resampled and cut.
pub fn read_signal(
    path: &Path,
    channel: Option<usize>,
    resample_to: Option<u32>,
    start: f64,
    seconds: Option<f64>,
) -> Result<Signal> {
    let a = audio::read_wav(path)?;
    let select = channel.map_or(ChannelSelect::Mix, ChannelSelect::Index);
    let mut x = a.mono(select)?;
    let mut sr = a.sample_rate;
    if let Some(to) = resample_to {
        if to != sr {
            x = audio::resample(&x, sr, to)?;
            sr = to;
        }
    }
    let s0 = (start * sr as f64).round() as usize;
    if s0 >= x.len() {
        bail!(
            "--start {start} s is past the end of {} ({:.3} s)",
            path.display(),
            x.len() as f64 / sr as f64
        );
    }
    let s1 = match seconds {
        Some(d) if d > 0.0 => (s0 + (d * sr as f64).round() as usize).min(x.len()),
        Some(d) => bail!("--seconds {d}: expected a positive duration"),
        None => x.len(),
    };
    Ok(Signal {
        samples: x[s0..s1].to_vec(),
        sample_rate: sr as f64,
    })
}

/// True for file names the audio reader handles.
pub fn is_audio(path: &Path) -> bool {
    matches!(
        path.extension()
            .map(|e| e.to_string_lossy().to_lowercase())
            .as_deref(),
        Some("wav") | Some("wave")
    )
}

/// Transform choices for audio input.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransformKind {
    /// Short-time Fourier transform (--window, --hop).
    Stft,
    /// The paper's constant-Q transform (Q cycles per window, per-bin hop N_k/8; default
    /// Q = B = 64 from 20 Hz), computed with sparse spectral kernels.
    Cqt,
    /// librosa-compatible constant-/variable-Q transform (one hop for all bins).
    Vqt,
    /// Invertible constant-Q nonstationary Gabor transform (per-band time steps).
    Nsgt,
    /// Continuous wavelet transform, analytic Morlet (--omega0, default 6; --bins-per-octave
    /// voices, default 12, from 20 Hz); per-scale hop ≤ half the wavelet's envelope std, at
    /// most --hop (a power of two).
    Cwt,
    /// The paper's hybrid: STFT 128/32, STFT 1024/256 and the constant-Q transform in sequence.
    Hybrid,
    /// Sinusoidal model: interpolated spectral peaks per frame (--window, --hop, --threshold,
    /// --max-peaks), optionally linked into partial tracks (--track).
    Sines,
    /// Multi-resolution STFT on one time axis: long windows below --split, short above.
    Multires,
}

/// Transform parameters beyond the STFT's window and hop; `None` takes each transform's default.
#[derive(Debug, Clone, Default)]
pub struct TransformOpts {
    pub f_min: Option<f64>,
    pub f_max: Option<f64>,
    pub bins_per_octave: Option<usize>,
    /// Cycles per window (cqt) or filter scale (vqt).
    pub q: Option<f64>,
    /// VQT bandwidth offset γ (Hz).
    pub gamma: Option<f64>,
    /// CWT Morlet centre angular frequency ω0.
    pub omega0: Option<f64>,
    /// Sinusoidal model and multi-resolution options.
    pub sines: SinesOpts,
    pub multires: MultiresOpts,
    /// Magnitude calibration (every transform: a unit sinusoid reads 1 with `UnitTone`).
    pub calibration: Calibration,
}

/// Options of `--transform sines`; `None` takes the default.
#[derive(Debug, Clone, Default)]
pub struct SinesOpts {
    /// Peak threshold, dB re a unit-amplitude sinusoid (default −60).
    pub threshold_db: Option<f64>,
    /// Most peaks per frame (default 40).
    pub max_peaks: Option<usize>,
    /// Keep only peaks linked into partial tracks.
    pub track: bool,
    /// Largest frequency step of a track between frames: "50" or "50c" cents, "20hz" Hz
    /// (default 50 cents).
    pub max_deviation: Option<String>,
    /// Shortest track kept, in frames (default 3).
    pub min_track_len: Option<usize>,
}

/// Options of `--transform multires`; `None` takes [`MultiresParams::default_for`].
#[derive(Debug, Clone, Default)]
pub struct MultiresOpts {
    /// Split frequencies (Hz).
    pub splits: Option<Vec<f64>>,
    /// Window per band (samples).
    pub windows: Option<Vec<usize>>,
    /// Hop per band (samples; default a quarter window).
    pub hops: Option<Vec<usize>>,
}

/// Parses a maximum track deviation: `50`, `50c`, `50cents` (cents) or `20hz` (Hz).
fn parse_deviation(s: &str) -> Result<MaxDeviation> {
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
        _ => bail!(
            "--max-deviation {s}: expected a positive number of cents (\"50\", \"50c\") or Hz (\"20hz\")"
        ),
    }
}

impl SinesOpts {
    /// The peak picker for window N and hop H.
    pub fn picker(&self, window: usize, hop: usize, sample_rate: f64) -> Result<Sinusoidal> {
        let mut p = SinusoidalParams::new(window, hop);
        p.threshold_db = self.threshold_db.unwrap_or(p.threshold_db);
        p.max_peaks = self.max_peaks.unwrap_or(p.max_peaks);
        Ok(Sinusoidal::new(p, sample_rate)?)
    }

    /// The tracking parameters.
    pub fn track_params(&self) -> Result<TrackParams> {
        let mut t = TrackParams::default();
        if let Some(d) = &self.max_deviation {
            t.max_deviation = parse_deviation(d)?;
        }
        t.min_len = self.min_track_len.unwrap_or(t.min_len);
        Ok(t)
    }
}

/// Partial tracks of the signal and their additive resynthesis (same length and rate).
pub fn sines_resynth(
    sig: &Signal,
    window: usize,
    hop: usize,
    o: &SinesOpts,
) -> Result<(Vec<f64>, usize)> {
    let picker = o.picker(window, hop, sig.sample_rate)?;
    let tracks = picker.track(&sig.samples, &o.track_params()?)?;
    let y = picker.synthesize(&tracks, sig.samples.len())?;
    Ok((y, tracks.len()))
}

/// Audio → point set with the chosen transform and options; returns the points and a
/// description.
pub fn analyze_with(
    sig: &Signal,
    kind: TransformKind,
    window: usize,
    hop: usize,
    o: &TransformOpts,
    p: f64,
) -> Result<(TfPoints, serde_json::Value)> {
    let sr = sig.sample_rate;
    let bpo = |d: usize| o.bins_per_octave.unwrap_or(d);
    // default top frequency: the paper's 6.7 octaves from f_min, kept below 0.45·sr
    let f_max = |f_min: f64| o.f_max.unwrap_or((f_min * 2f64.powf(6.7)).min(0.45 * sr));
    let cal = o.calibration;
    let n_bins = |f_min: f64, b: usize| -> Result<usize> {
        let fm = f_max(f_min);
        if !(fm.is_finite() && fm >= f_min) {
            anyhow::bail!("--fmax {fm} Hz: expected a frequency ≥ --fmin {f_min} Hz");
        }
        Ok(((b as f64 * (fm / f_min).log2() + 1e-9).floor() as usize) + 1)
    };
    let (pts, mut desc) = match kind {
        TransformKind::Stft => {
            let mut params = StftParams::new(window, hop);
            params.window = WindowKind::SqrtHann;
            let stft = Stft::new(params, sr)?;
            let mut spec = stft.analyze(&sig.samples)?;
            cal.apply(&mut spec, &stft.unit_tone_gain())?;
            (
                spec.to_points(p)?,
                serde_json::json!({"transform": "stft", "params": params, "sample_rate": sr, "power": p}),
            )
        }
        TransformKind::Cqt => {
            let mut params = DirectCqtParams::paper_demo();
            if let Some(q) = o.q {
                params.q = q;
            }
            params.f_min = o.f_min.unwrap_or(params.f_min);
            params.bins_per_octave = bpo(params.bins_per_octave);
            if o.f_max.is_some() || o.f_min.is_some() || o.bins_per_octave.is_some() {
                params.n_bins = n_bins(params.f_min, params.bins_per_octave)?;
            }
            let cqt = FastCqt::new(params, sr)?;
            let mut c = cqt.analyze(&sig.samples)?;
            cal.apply(&mut c, &cqt.unit_tone_gain())?;
            (
                c.to_points(p)?,
                serde_json::json!({"transform": "cqt", "params": params, "sample_rate": sr, "power": p}),
            )
        }
        TransformKind::Vqt => {
            let mut params = VqtParams::librosa_default();
            params.f_min = o.f_min.unwrap_or(params.f_min);
            params.bins_per_octave = bpo(params.bins_per_octave);
            params.filter_scale = o.q.unwrap_or(1.0);
            params.gamma = o.gamma.unwrap_or(0.0);
            params.hop = hop;
            params.n_bins = match o.f_max {
                Some(_) => n_bins(params.f_min, params.bins_per_octave)?,
                None => 7 * params.bins_per_octave,
            };
            let vqt = Vqt::new(params, sr)?;
            let mut c = vqt.analyze(&sig.samples)?;
            cal.apply(&mut c, &vqt.unit_tone_gain())?;
            (
                c.to_points(p)?,
                serde_json::json!({"transform": "vqt", "params": params, "sample_rate": sr, "power": p}),
            )
        }
        TransformKind::Nsgt => {
            let f_min = o.f_min.unwrap_or(20.0);
            let params = NsgtParams::new(f_min, f_max(f_min), bpo(48));
            let nsgt = Nsgt::new(params, sr, sig.samples.len())?;
            let mut c = nsgt.analyze(&sig.samples)?;
            cal.apply(&mut c, &nsgt.unit_tone_gain())?;
            (
                c.to_points(p)?,
                serde_json::json!({"transform": "nsgt", "params": params, "sample_rate": sr, "power": p}),
            )
        }
        TransformKind::Cwt => {
            let f_min = o.f_min.unwrap_or(20.0);
            let omega0 = o.omega0.unwrap_or(6.0);
            // default top: as the others, but under the CWT's own limit (top band ≤ Nyquist)
            let limit = 0.5 * sr / (1.0 + 3.0 / omega0);
            let f_max = o
                .f_max
                .unwrap_or((f_min * 2f64.powf(6.7)).min(0.95 * limit));
            let params = CwtParams {
                omega0,
                hop: Some(CwtHop {
                    max: hop,
                    ..CwtHop::default()
                }),
                ..CwtParams::new(f_min, f_max, bpo(12))
            };
            let cwt = Cwt::new(params, sr, sig.samples.len())?;
            let mut c = cwt.analyze(&sig.samples)?;
            cal.apply(&mut c, &cwt.unit_tone_gain())?;
            (
                c.to_points(p)?,
                serde_json::json!({"transform": "cwt", "params": params, "sample_rate": sr, "power": p}),
            )
        }
        TransformKind::Hybrid => {
            let (pts, segs) = innmf::demo::hybrid_points_calibrated(&sig.samples, sr, p, cal)?;
            (
                pts,
                serde_json::json!({"transform": "hybrid", "segments": segs, "sample_rate": sr, "power": p}),
            )
        }
        TransformKind::Sines => {
            // peak amplitudes are window-corrected already: calibration leaves them as they are
            let so = &o.sines;
            let picker = so.picker(window, hop, sr)?;
            let peaks = picker.analyze(&sig.samples)?;
            let n_peaks = peaks.len();
            let (pts, tracks) = if so.track {
                let tp = so.track_params()?;
                let tracks = innmf::transform::track_peaks(&peaks, &tp)?;
                let n = tracks.len();
                (
                    innmf::transform::tracks_to_points(&tracks, p)?,
                    serde_json::json!({"tracks": n, "params": tp}),
                )
            } else {
                (Sinusoidal::to_points(&peaks, p)?, serde_json::Value::Null)
            };
            if pts.is_empty() {
                bail!(
                    "--transform sines found no peaks above --threshold {} dB{}",
                    picker.params().threshold_db,
                    if so.track {
                        " on tracks long enough"
                    } else {
                        ""
                    }
                );
            }
            (
                pts,
                serde_json::json!({"transform": "sines", "params": picker.params(), "peaks": n_peaks,
                    "tracking": tracks, "sample_rate": sr, "power": p}),
            )
        }
        TransformKind::Multires => {
            let mo = &o.multires;
            let mut params = MultiresParams::default_for(sr);
            if let Some(s) = &mo.splits {
                params.splits = s.clone();
                if mo.windows.is_none() {
                    bail!(
                        "--split with {} frequencies needs --windows with {} window lengths (one per band)",
                        s.len(),
                        s.len() + 1
                    );
                }
            }
            if let Some(w) = &mo.windows {
                params = MultiresParams {
                    window: params.window,
                    norm: params.norm,
                    ..MultiresParams::new(params.splits, w.clone())
                };
            }
            if let Some(h) = &mo.hops {
                params.hops = h.clone();
            }
            let plan = Multires::new(params.clone(), sr)?;
            let mut c = plan.analyze(&sig.samples)?;
            cal.apply(&mut c, &plan.unit_tone_gain())?;
            (
                c.to_points(p)?,
                serde_json::json!({"transform": "multires", "params": params, "sample_rate": sr, "power": p}),
            )
        }
    };
    desc["calibration"] = serde_json::to_value(cal)?;
    Ok((pts, desc))
}

/// Reads a point set file (.npz / .csv) and applies the power `p`.
pub fn read_points(path: &Path, p: f64) -> Result<TfPoints> {
    let pts =
        TfPoints::read(path).with_context(|| format!("reading point set {}", path.display()))?;
    Ok(pts.powered(p)?)
}
