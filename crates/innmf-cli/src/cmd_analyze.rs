//! `innmf analyze`: audio → point set (.npz/.csv), optionally with a scatter plot.

use crate::input::{self, TransformArgs};
use anyhow::Result;
use innmf::io::check_output;
use innmf::transform::{Analysis, TransformKind};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct AnalyzeArgs {
    /// Input recording.
    pub input: PathBuf,
    #[command(flatten)]
    pub transform: TransformArgs,
    /// Output point set (.npz or .csv: columns t, f, m).
    #[arg(long, short)]
    pub out: PathBuf,
    /// Scatter plot of the points (.png or .svg).
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// STFT and sines window length (samples).
    #[arg(long, default_value_t = 2048)]
    pub window: usize,
    /// Hop (samples) of stft, sines and vqt; the cwt's largest per-scale hop.
    #[arg(long, default_value_t = 512)]
    pub hop: usize,
    /// Write the signal back through the transform's inverse to this WAV file (stft, nsgt, cwt,
    /// sines with --track: additive resynthesis of the partial tracks).
    #[arg(long)]
    pub resynth: Option<PathBuf>,
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
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub start: f64,
    /// Duration (s; default: to the end).
    #[arg(long, allow_negative_numbers = true)]
    pub seconds: Option<f64>,
}

pub fn run(a: &AnalyzeArgs) -> Result<()> {
    // everything a user typed is checked before the audio is read
    let representation = a.transform.representation(Some(a.window), Some(a.hop))?;
    let extra: Vec<&Path> = a
        .plot
        .iter()
        .chain(&a.resynth)
        .map(PathBuf::as_path)
        .collect();
    check_output(&a.out, "out", &["npz", "csv"], &[&a.input], &extra)?;
    if let Some(p) = &a.plot {
        check_output(p, "plot", &["png", "svg"], &[&a.input], &[&a.out])?;
    }
    if let Some(r) = &a.resynth {
        if !representation.is_invertible() {
            anyhow::bail!(
                "--resynth: {} has no inverse (use stft, nsgt, cwt, or sines with --track)",
                representation.name()
            );
        }
        check_output(r, "resynth", &["wav"], &[&a.input], &[&a.out])?;
    }
    let sig = input::read_signal(&a.input, a.channel, a.resample, a.start, a.seconds)?;
    let analysis = Analysis::new(
        &representation,
        sig.sample_rate,
        a.power,
        a.transform.calibration(),
    )?;
    let (pts, segments) = analysis.representation.analyze(
        &sig.samples,
        analysis.sample_rate,
        analysis.power,
        analysis.calibration,
    )?;
    let mut resynthesis = serde_json::Value::Null;
    if let Some(path) = &a.resynth {
        let y = analysis
            .representation
            .resynthesize(&sig.samples, sig.sample_rate)?;
        let s: f64 = sig.samples.iter().map(|v| v * v).sum();
        let e: f64 = sig
            .samples
            .iter()
            .zip(&y)
            .map(|(a, b)| (a - b) * (a - b))
            .sum();
        innmf::audio::write_wav(path, &y, sig.sample_rate as u32)?;
        resynthesis = serde_json::json!({
            "out": path.display().to_string(),
            "snr_db": innmf::metrics::safe_db(s, e),
        });
    }
    pts.write(&a.out)?;
    if let Some(plot) = &a.plot {
        let log_f = matches!(
            a.transform.transform,
            TransformKind::Cqt | TransformKind::Vqt | TransformKind::Nsgt | TransformKind::Cwt
        );
        innmf::plot::points(
            plot,
            &format!(
                "{} of {}",
                analysis.representation.name(),
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
            "analysis": analysis,
            "segments": segments,
            "resynthesis": resynthesis,
        }))?
    );
    Ok(())
}
