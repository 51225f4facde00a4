//! Loading what the commands take: audio files and point sets, and turning audio into points.

use anyhow::{bail, Context, Result};
use innmf::audio::{self, ChannelSelect};
use innmf::transform::{DirectCqt, DirectCqtParams, Stft, StftParams, WindowKind};
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
    /// The paper's direct constant-Q transform (Q = B = 64 from 20 Hz, hop N_k/8).
    Cqt,
    /// The paper's hybrid: STFT 128/32, STFT 1024/256 and the constant-Q transform in sequence.
    Hybrid,
}

/// Audio → point set with the chosen transform; returns the points and a description.
pub fn analyze(
    sig: &Signal,
    kind: TransformKind,
    window: usize,
    hop: usize,
    p: f64,
) -> Result<(TfPoints, serde_json::Value)> {
    Ok(match kind {
        TransformKind::Stft => {
            let mut params = StftParams::new(window, hop);
            params.window = WindowKind::SqrtHann;
            let stft = Stft::new(params)?;
            let spec = stft.analyze(&sig.samples, sig.sample_rate)?;
            (
                spec.to_points(p)?,
                serde_json::json!({"transform": "stft", "params": params, "sample_rate": sig.sample_rate, "power": p}),
            )
        }
        TransformKind::Cqt => {
            let params = DirectCqtParams::paper_demo();
            let cqt = DirectCqt::new(params, sig.sample_rate)?;
            (
                cqt.analyze(&sig.samples)?.to_points(p)?,
                serde_json::json!({"transform": "cqt", "params": params, "sample_rate": sig.sample_rate, "power": p}),
            )
        }
        TransformKind::Hybrid => {
            let (pts, segs) = innmf::demo::hybrid_points(&sig.samples, sig.sample_rate, p)?;
            (
                pts,
                serde_json::json!({"transform": "hybrid", "segments": segs, "sample_rate": sig.sample_rate, "power": p}),
            )
        }
    })
}

/// Reads a point set file (.npz / .csv) and applies the power `p`.
pub fn read_points(path: &Path, p: f64) -> Result<TfPoints> {
    let pts =
        TfPoints::read(path).with_context(|| format!("reading point set {}", path.display()))?;
    Ok(pts.powered(p)?)
}
