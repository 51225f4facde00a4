//! The settings of each transform but the STFT (whose settings are [`StftParams`]): one struct
//! per [`Representation`] variant, with the defaults the module documentation lists.

use super::*;

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
    pub(super) fn params(&self) -> SinusoidalParams {
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
