//! `innmf analyze`: audio → point set (.npz/.csv), optionally with a scatter plot.

use crate::input::{self, MultiresOpts, SinesOpts, TransformKind, TransformOpts};
use anyhow::{bail, Result};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct AnalyzeArgs {
    /// Input recording (.wav).
    pub input: PathBuf,
    /// Transform.
    #[arg(long, value_enum, default_value_t = TransformKind::Stft)]
    pub transform: TransformKind,
    /// Output point set (.npz or .csv: columns t, f, m).
    #[arg(long, short)]
    pub out: PathBuf,
    /// Scatter plot of the points (.png or .svg).
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// STFT window length (samples).
    #[arg(long, default_value_t = 2048)]
    pub window: usize,
    /// Hop (samples) of the STFT and the VQT; the CWT's largest per-scale hop.
    #[arg(long, default_value_t = 512)]
    pub hop: usize,
    /// Lowest frequency (Hz) of cqt/vqt/nsgt/cwt (defaults: 20, 32.7, 20, 20).
    #[arg(long)]
    pub fmin: Option<f64>,
    /// Highest frequency (Hz) of cqt/vqt/nsgt/cwt (default: 6.7 octaves above fmin, below
    /// 0.45·sr; cwt: below sr/(2 + 6/ω0)).
    #[arg(long)]
    pub fmax: Option<f64>,
    /// Bins per octave of cqt/vqt/nsgt, voices per octave of cwt (defaults: 64, 12, 48, 12).
    #[arg(long)]
    pub bins_per_octave: Option<usize>,
    /// cqt: cycles per window (default 64); vqt: filter scale (default 1).
    #[arg(long)]
    pub q: Option<f64>,
    /// vqt: bandwidth offset γ in Hz (0 = constant-Q).
    #[arg(long)]
    pub gamma: Option<f64>,
    /// cwt: Morlet centre angular frequency ω0 (default 6; relative bandwidth 1/ω0).
    #[arg(long)]
    pub omega0: Option<f64>,
    /// sines: peak threshold in dB re a unit-amplitude sinusoid.
    #[arg(long, default_value_t = -60.0, allow_hyphen_values = true)]
    pub threshold: f64,
    /// sines: at most this many peaks per frame (the loudest).
    #[arg(long, default_value_t = 40)]
    pub max_peaks: usize,
    /// sines: link the peaks into partial tracks and keep only tracked peaks.
    #[arg(long)]
    pub track: bool,
    /// sines: largest frequency step of a track between frames: cents ("50", "50c") or Hz
    /// ("20hz").
    #[arg(long, default_value = "50c")]
    pub max_deviation: String,
    /// sines: shortest track kept (frames).
    #[arg(long, default_value_t = 3)]
    pub min_track_len: usize,
    /// sines: write the additive resynthesis of the partial tracks to this WAV file.
    #[arg(long)]
    pub resynth: Option<PathBuf>,
    /// multires: split frequencies in Hz, low to high (default 1000,4000 below 0.45·sr).
    #[arg(long, value_delimiter = ',')]
    pub split: Option<Vec<f64>>,
    /// multires: window length per band, low to high (default 4096,1024,256 at 22.05 kHz,
    /// scaled with the sample rate).
    #[arg(long, value_delimiter = ',')]
    pub windows: Option<Vec<usize>>,
    /// multires: hop per band (default a quarter of each window).
    #[arg(long, value_delimiter = ',')]
    pub hops: Option<Vec<usize>>,
    /// Calibrate magnitudes so that a unit-amplitude sinusoid reads 1 in every transform.
    #[arg(long)]
    pub calibrate: bool,
    /// Magnitude power p (points hold |X|^p).
    #[arg(long, default_value_t = 1.0)]
    pub power: f64,
    /// Channel to read (default: mean of all channels).
    #[arg(long)]
    pub channel: Option<usize>,
    /// Resample to this rate (Hz) first.
    #[arg(long)]
    pub resample: Option<u32>,
    /// Start (s).
    #[arg(long, default_value_t = 0.0)]
    pub start: f64,
    /// Duration (s; default: to the end).
    #[arg(long)]
    pub seconds: Option<f64>,
}

pub fn run(a: &AnalyzeArgs) -> Result<()> {
    if !(a.power.is_finite() && a.power > 0.0) {
        bail!("--power {}: expected a positive exponent", a.power);
    }
    let sig = input::read_signal(&a.input, a.channel, a.resample, a.start, a.seconds)?;
    let opts = TransformOpts {
        f_min: a.fmin,
        f_max: a.fmax,
        bins_per_octave: a.bins_per_octave,
        q: a.q,
        gamma: a.gamma,
        omega0: a.omega0,
        sines: SinesOpts {
            threshold_db: Some(a.threshold),
            max_peaks: Some(a.max_peaks),
            track: a.track,
            max_deviation: Some(a.max_deviation.clone()),
            min_track_len: Some(a.min_track_len),
        },
        multires: MultiresOpts {
            splits: a.split.clone(),
            windows: a.windows.clone(),
            hops: a.hops.clone(),
        },
        calibration: if a.calibrate {
            innmf::transform::Calibration::UnitTone
        } else {
            innmf::transform::Calibration::Native
        },
    };
    if a.resynth.is_some() && a.transform != TransformKind::Sines {
        bail!("--resynth needs --transform sines (additive resynthesis from partial tracks)");
    }
    let (pts, mut desc) = input::analyze_with(&sig, a.transform, a.window, a.hop, &opts, a.power)?;
    pts.write(&a.out)?;
    if let Some(path) = &a.resynth {
        let (y, n_tracks) = input::sines_resynth(&sig, a.window, a.hop, &opts.sines)?;
        innmf::audio::write_wav(path, &y, sig.sample_rate as u32)?;
        let s: f64 = sig.samples.iter().map(|v| v * v).sum();
        let e: f64 = sig
            .samples
            .iter()
            .zip(&y)
            .map(|(a, b)| (a - b) * (a - b))
            .sum();
        desc["resynthesis"] = serde_json::json!({
            "out": path.display().to_string(),
            "tracks": n_tracks,
            "snr_db": if e > 0.0 { 10.0 * (s / e).log10() } else { f64::INFINITY },
        });
    }
    if let Some(plot) = &a.plot {
        let log_f = !matches!(
            a.transform,
            TransformKind::Stft
                | TransformKind::Hybrid
                | TransformKind::Multires
                | TransformKind::Sines
        );
        innmf::plot::points(
            plot,
            &format!(
                "{} of {}",
                desc["transform"].as_str().unwrap_or("points"),
                a.input.display()
            ),
            pts.t(),
            pts.f(),
            pts.m(),
            log_f,
            true,
        )?;
    }
    let (f0, f1) = pts.freq_range();
    let (t0, t1) = pts.time_range();
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({
            "input": a.input.display().to_string(),
            "out": a.out.display().to_string(),
            "points": pts.len(),
            "unique_freqs": pts.unique_freqs().len(),
            "unique_times": pts.unique_times().len(),
            "freq_range_hz": [f0, f1],
            "time_range_s": [t0, t1],
            "description": desc,
        }))?
    );
    Ok(())
}
