//! Flags shared by the commands that read audio and build representations: they become library
//! types ([`innmf::audio::LoadOptions`], [`Representation`]) and nothing more.

use anyhow::Result;
use innmf::audio::{self, LoadOptions, Signal};
use innmf::transform::{
    Calibration, MaxDeviation, Representation, RepresentationOptions, TransformKind,
};
use std::path::Path;

/// The representation flags (`--transform` and its options). Window and hop are each command's
/// own flags (their defaults differ: analysis, speech models, the 4410 Hz demo).
#[derive(clap::Args, Debug, Clone)]
pub struct TransformArgs {
    /// Transform: stft | cqt (the paper's constant-Q, per-bin hop) | vqt (librosa-compatible) |
    /// nsgt (invertible constant-Q) | cwt (Morlet wavelets) | sines (sinusoidal peaks) |
    /// multires (multi-resolution STFT) | hybrid (the paper's STFT+STFT+CQT).
    #[arg(long, default_value = "stft")]
    pub transform: TransformKind,
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
    /// cqt: cycles per window (default: bins per octave); vqt: filter scale (default 1).
    #[arg(long)]
    pub q: Option<f64>,
    /// vqt: bandwidth offset γ in Hz (0 = constant-Q).
    #[arg(long)]
    pub gamma: Option<f64>,
    /// cwt: Morlet centre angular frequency ω0 (default 6; relative bandwidth 1/ω0).
    #[arg(long)]
    pub omega0: Option<f64>,
    /// sines: peak threshold in dB re a unit-amplitude sinusoid (default −60).
    #[arg(long, allow_hyphen_values = true)]
    pub threshold: Option<f64>,
    /// sines: at most this many peaks per frame, the loudest (default 40).
    #[arg(long)]
    pub max_peaks: Option<usize>,
    /// sines: link the peaks into partial tracks and keep only tracked peaks.
    #[arg(long)]
    pub track: bool,
    /// sines with --track: largest frequency step of a track between frames: cents ("50",
    /// "50c") or Hz ("20hz") (default 50c).
    #[arg(long)]
    pub max_deviation: Option<MaxDeviation>,
    /// sines with --track: shortest track kept, in frames (default 3).
    #[arg(long)]
    pub min_track_len: Option<usize>,
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
}

impl TransformArgs {
    /// The representation these flags describe; `window` and `hop` are the command's STFT /
    /// sines window and the hop of stft, sines and vqt (the cwt's largest per-scale hop).
    pub fn representation(
        &self,
        window: Option<usize>,
        hop: Option<usize>,
    ) -> Result<Representation> {
        let opts = RepresentationOptions {
            window,
            hop,
            f_min: self.fmin,
            f_max: self.fmax,
            bins_per_octave: self.bins_per_octave,
            q: self.q,
            gamma: self.gamma,
            omega0: self.omega0,
            threshold_db: self.threshold,
            max_peaks: self.max_peaks,
            track: self.track,
            max_deviation: self.max_deviation,
            min_track_len: self.min_track_len,
            splits: self.split.clone(),
            windows: self.windows.clone(),
            hops: self.hops.clone(),
        };
        Ok(Representation::with_options(self.transform, &opts)?)
    }

    /// The magnitude calibration.
    pub fn calibration(&self) -> Calibration {
        if self.calibrate {
            Calibration::UnitTone
        } else {
            Calibration::Native
        }
    }
}

/// Reads an audio file as mono (`channel` None = mean of channels), optionally resampled and
/// cut.
pub fn read_signal(
    path: &Path,
    channel: Option<usize>,
    resample_to: Option<u32>,
    start: f64,
    seconds: Option<f64>,
) -> Result<Signal> {
    let options = LoadOptions {
        channel,
        sample_rate: resample_to,
        start,
        seconds,
    };
    Ok(audio::load(path, &options)?)
}
