//! `innmf analyze`: audio → point set (.npz/.csv), optionally with a scatter plot.

use crate::input::{self, TransformKind, TransformOpts};
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
    };
    let (pts, desc) = input::analyze_with(&sig, a.transform, a.window, a.hop, &opts, a.power)?;
    pts.write(&a.out)?;
    if let Some(plot) = &a.plot {
        let log_f = !matches!(a.transform, TransformKind::Stft | TransformKind::Hybrid);
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
