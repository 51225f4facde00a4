//! The paper's constant-Q transform, computed by direct sums, with correct frame times.
//!
//! Bin k has nominal frequency `f_k = f_min·2^{k/B}` and a window of
//! `N_k = ⌊sr·Q/f_k⌋` samples (rounded up to even), analyzed with the kernel
//!
//! ```text
//! X_k[j] = (1/√N_k) · Σ_{n=0}^{N_k−1} hann_sym(N_k)[n] · x[c_j − N_k/2 + n] · e^{−2πi·Q·n/N_k}
//! ```
//!
//! i.e. exactly Q cycles per window, at the analysis frequency `Q·sr/N_k` (which differs from f_k
//! by the rounding of N_k; the points report the analysis frequency). The signal is zero-padded
//! by N_k/2 on each side and frame j of bin k is centred on sample `c_j = j·H_k` with the per-bin
//! hop `H_k = ⌊N_k / hop_divisor⌋`, for every `c_j < L − N_k/2`. So each bin has its own time
//! grid: the point set is irregular in time. Frame times are `c_j/sr` (the authors' code
//! stretched them over the whole duration with `linspace`, misplacing low bins by up to 1.7 s).

use super::CqtBin;
use super::CqtCoefficients;
use crate::error::{Error, Num, Result};
use crate::transform::representation::MAX_WINDOW;
use crate::transform::window::hann;
use num_complex::Complex64;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Parameters of the direct constant-Q transform.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DirectCqtParams {
    /// Cycles per window (the paper's Q; 64 in its demo).
    pub q: f64,
    /// Bins per octave B.
    pub bins_per_octave: usize,
    /// Lowest bin's nominal frequency (Hz).
    pub f_min: f64,
    /// Number of bins (the paper: ⌊B · n_octaves⌋).
    pub n_bins: usize,
    /// Hop of bin k is ⌊N_k / hop_divisor⌋ samples.
    pub hop_divisor: usize,
}

impl DirectCqtParams {
    /// The paper's demo settings: Q = B = 64, f_min = 20 Hz, 6.7 octaves (428 bins), hop N_k/8.
    pub fn paper_demo() -> Self {
        DirectCqtParams {
            q: 64.0,
            bins_per_octave: 64,
            f_min: 20.0,
            n_bins: (64.0f64 * 6.7) as usize,
            hop_divisor: 8,
        }
    }
}

/// One bin of the paper's layout: window length N_k, hop H_k and analysis frequency `Q·sr/N_k`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BinLayout {
    pub(crate) window_len: usize,
    pub(crate) hop: usize,
    pub(crate) freq: f64,
}

/// Validates the parameters for `sample_rate` and computes every bin's window, hop and
/// frequency (no kernel: [`FastCqt`](super::FastCqt) builds its own).
pub(crate) fn bin_layout(params: &DirectCqtParams, sample_rate: f64) -> Result<Vec<BinLayout>> {
    crate::error::check_sample_rate(sample_rate)?;
    if !(params.q.is_finite() && params.q >= 1.0) {
        return Err(Error::param("q", params.q, "at least 1 cycle per window"));
    }
    if params.bins_per_octave == 0 {
        return Err(Error::param("bins per octave", 0, "at least 1"));
    }
    if params.n_bins == 0 {
        return Err(Error::param("number of bins", 0, "at least 1"));
    }
    if params.hop_divisor == 0 {
        return Err(Error::param("hop divisor", 0, "at least 1"));
    }
    if !(params.f_min.is_finite() && params.f_min > 0.0) {
        return Err(Error::param(
            "f_min",
            params.f_min,
            "a positive frequency in Hz",
        ));
    }
    (0..params.n_bins)
        .map(|k| {
            let fk = params.f_min * 2f64.powf(k as f64 / params.bins_per_octave as f64);
            let len = sample_rate * params.q / fk;
            // checked before anything is allocated: the direct kernels are built eagerly and
            // a sample rate of 1e12 Hz asked for terabytes (bin 0 has the longest window)
            if len.is_nan() || len > MAX_WINDOW as f64 {
                return Err(Error::param(
                    "window of constant-Q bin",
                    format!(
                        "{:.0} samples (bin {k}: q·sr/f = {} · {} Hz / {} Hz)",
                        Num(len),
                        Num(params.q),
                        Num(sample_rate),
                        Num(fk)
                    ),
                    format!(
                        "at most {MAX_WINDOW} samples; raise f_min or lower q or the sample rate"
                    ),
                ));
            }
            let mut n = len as usize;
            if n % 2 == 1 {
                n += 1;
            }
            let freq = params.q * sample_rate / n as f64;
            if freq >= sample_rate / 2.0 || n < 2 {
                return Err(Error::param(
                    "f_max (top constant-Q bin)",
                    format!("{:.1} Hz (bin {k})", Num(freq)),
                    format!(
                        "below the Nyquist frequency {} Hz; use fewer bins",
                        sample_rate / 2.0
                    ),
                ));
            }
            Ok(BinLayout {
                window_len: n,
                hop: (n / params.hop_divisor).max(1),
                freq,
            })
        })
        .collect()
}

/// Most kernel samples, all bins together, a [`DirectCqt`] may hold: 2^27 complex values
/// (2 GiB). The paper's demo at 192 kHz needs 56 million.
pub const MAX_DIRECT_KERNEL_SAMPLES: usize = 1 << 27;

/// A planned direct constant-Q transform for one sample rate.
#[derive(Debug, Clone)]
pub struct DirectCqt {
    params: DirectCqtParams,
    sample_rate: f64,
    kernels: Vec<(usize, usize, f64, Vec<Complex64>)>,
}

impl DirectCqt {
    /// Validates the parameters and precomputes the kernels.
    ///
    /// # Errors
    /// Those of the layout (a bin above Nyquist, a window over [`MAX_WINDOW`]) and kernels of
    /// more than [`MAX_DIRECT_KERNEL_SAMPLES`] samples in all.
    pub fn new(params: DirectCqtParams, sample_rate: f64) -> Result<Self> {
        let layout = bin_layout(&params, sample_rate)?;
        // every kernel is stored whole (16 bytes a sample): about 92 times bin 0's window at
        // 64 bins per octave, so a window near the limit would still ask for tens of GiB
        let total: usize = layout.iter().map(|b| b.window_len).sum();
        if total > MAX_DIRECT_KERNEL_SAMPLES {
            return Err(Error::param(
                "direct constant-Q kernels",
                format!("{total} samples in all ({} bins)", layout.len()),
                format!(
                    "at most {MAX_DIRECT_KERNEL_SAMPLES} (2 GiB); use the sparse kernels, fewer \
                     bins or a higher f_min"
                ),
            ));
        }
        let kernels = layout
            .into_iter()
            .map(|b| {
                let n = b.window_len;
                let w = hann(n, true);
                let scale = 1.0 / (n as f64).sqrt();
                let kernel = (0..n)
                    .map(|i| {
                        let ph = -2.0 * std::f64::consts::PI * params.q * i as f64 / n as f64;
                        Complex64::from_polar(w[i] * scale, ph)
                    })
                    .collect();
                (n, b.hop, b.freq, kernel)
            })
            .collect();
        Ok(DirectCqt {
            params,
            sample_rate,
            kernels,
        })
    }

    /// The parameters.
    pub fn params(&self) -> &DirectCqtParams {
        &self.params
    }

    /// Window length N_k, hop H_k and analysis frequency of every bin.
    pub fn bin_layout(&self) -> Vec<(usize, usize, f64)> {
        self.kernels
            .iter()
            .map(|(n, hop, freq, _)| (*n, *hop, *freq))
            .collect()
    }

    /// Per bin, the magnitude a unit-amplitude sinusoid at the bin's analysis frequency
    /// `Q·sr/N_k` reads in a frame fully inside the signal: `Σ_n hann_sym(N_k)[n]/(2√N_k) =
    /// (N_k − 1)/(4√N_k)` (the kernel holds exactly Q cycles, so the tone's positive-frequency
    /// half adds up coherently; its negative-frequency image, 2Q cycles away, is neglected).
    pub fn unit_tone_gain(&self) -> Vec<f64> {
        self.kernels
            .iter()
            .map(|(_, _, _, k)| 0.5 * k.iter().map(|c| c.norm()).sum::<f64>())
            .collect()
    }

    /// Analyzes `x` (sampled at the planned rate).
    pub fn analyze(&self, x: &[f64]) -> Result<CqtCoefficients> {
        if x.is_empty() {
            return Err(Error::Empty { what: "signal" });
        }
        crate::error::check_finite("signal", x)?;
        let len = x.len();
        let sr = self.sample_rate;
        let bins = self
            .kernels
            .par_iter()
            .enumerate()
            .map(|(k, (n, hop, freq, kernel))| {
                let half = n / 2;
                let centres = super::inside_half_centres(k, *n, *hop, len)?;
                let coeffs = centres
                    .iter()
                    .map(|&c| {
                        let start = c as i64 - half as i64;
                        let lo = (-start).max(0) as usize;
                        let hi = (*n).min((len as i64 - start) as usize);
                        let mut acc = Complex64::new(0.0, 0.0);
                        for i in lo..hi {
                            acc += kernel[i] * x[(start + i as i64) as usize];
                        }
                        acc
                    })
                    .collect();
                Ok(CqtBin {
                    freq: *freq,
                    window_len: *n,
                    hop: *hop,
                    times: centres.iter().map(|&c| c as f64 / sr).collect(),
                    coeffs,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(CqtCoefficients {
            bins,
            sample_rate: sr,
            signal_len: len,
        })
    }
}

impl crate::transform::Transform for DirectCqt {
    fn name(&self) -> &'static str {
        "cqt-direct"
    }

    fn sample_rate(&self) -> f64 {
        self.sample_rate
    }

    fn analyze(&self, x: &[f64]) -> Result<crate::transform::Coefficients> {
        Ok(crate::transform::Coefficients::Cqt(DirectCqt::analyze(
            self, x,
        )?))
    }

    fn unit_tone_gain(&self) -> Vec<f64> {
        DirectCqt::unit_tone_gain(self)
    }

    /// The analysis frequencies `Q·sr/N_k`.
    fn bin_freqs(&self) -> Vec<f64> {
        self.kernels.iter().map(|k| k.2).collect()
    }

    fn frame_times(&self, bin: usize, signal_len: usize) -> Result<Vec<f64>> {
        crate::transform::check_bin(self, bin)?;
        let (n, hop, _, _) = &self.kernels[bin];
        Ok(super::inside_half_centres(bin, *n, *hop, signal_len)?
            .into_iter()
            .map(|c| c as f64 / self.sample_rate)
            .collect())
    }

    fn is_invertible(&self) -> bool {
        false
    }

    fn synthesize(&self, _: &crate::transform::Coefficients) -> Result<Vec<f64>> {
        Err(crate::transform::not_invertible("cqt-direct"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tone_peaks_in_the_nearest_bin() {
        let sr = 4410.0;
        let f0 = 220.0;
        let x: Vec<f64> = (0..11000)
            .map(|i| (2.0 * std::f64::consts::PI * f0 * i as f64 / sr).sin())
            .collect();
        let cqt = DirectCqt::new(DirectCqtParams::paper_demo(), sr).unwrap();
        let c = cqt.analyze(&x).unwrap();
        // compare bins at a frame in the middle of the signal
        let mid: Vec<(f64, f64)> = c
            .bins
            .iter()
            .map(|b| {
                let j = b.times.iter().position(|&t| t >= 1.2).unwrap_or(0);
                (b.freq, b.coeffs[j].norm())
            })
            .collect();
        let best = mid.iter().max_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
        let nearest = mid
            .iter()
            .min_by(|a, b| (a.0 - f0).abs().total_cmp(&(b.0 - f0).abs()))
            .unwrap();
        assert_eq!(best.0, nearest.0);
    }

    #[test]
    fn frame_times_follow_the_per_bin_hop() {
        let sr = 4410.0;
        let cqt = DirectCqt::new(DirectCqtParams::paper_demo(), sr).unwrap();
        let c = cqt.analyze(&vec![0.1; 11000]).unwrap();
        assert_eq!(c.bins.len(), 428);
        let low = &c.bins[0];
        assert_eq!(low.window_len, 14112);
        assert_eq!(low.times.len(), 3);
        assert!((low.times[1] - 1764.0 / sr).abs() < 1e-12);
        let top = c.bins.last().unwrap();
        assert_eq!(top.times.len(), 643);
        assert!(c.len() > 50_000);
    }

    #[test]
    fn impossible_parameters_are_errors() {
        let mut p = DirectCqtParams::paper_demo();
        p.n_bins = 1000; // far above Nyquist at 4410 Hz
        let e = DirectCqt::new(p, 4410.0).unwrap_err();
        assert!(e.to_string().contains("Nyquist"));
        p.n_bins = 0;
        assert!(DirectCqt::new(p, 4410.0).is_err());
        let cqt = DirectCqt::new(DirectCqtParams::paper_demo(), 4410.0).unwrap();
        assert!(cqt.analyze(&[0.0; 100]).is_err());
        // a file's absurd sample rate: refused before a window is allocated (a 4 GHz header
        // asked for a 1.28e10-sample window, an abort)
        let e = DirectCqt::new(DirectCqtParams::paper_demo(), 4e9)
            .unwrap_err()
            .to_string();
        assert!(e.contains("f_min") && e.contains("16777216"), "{e}");
        let e = crate::transform::FastCqt::new(DirectCqtParams::paper_demo(), 4e9)
            .unwrap_err()
            .to_string();
        assert!(e.contains("f_min"), "{e}");
        // each window fits, their sum does not (24 GB of kernels)
        let e = DirectCqt::new(DirectCqtParams::paper_demo(), 5e6)
            .unwrap_err()
            .to_string();
        assert!(e.contains("direct constant-Q kernels"), "{e}");
    }
}
