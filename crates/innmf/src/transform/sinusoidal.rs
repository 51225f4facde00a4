//! Sinusoidal model front end: spectral peaks per frame, located by quadratic interpolation of
//! the log magnitude (QIFFT; Smith & Serra 1987, Abe & Smith 2004).
//!
//! Each frame is a periodic-Hann-windowed segment of N samples, zero-padded to `N·zero_pad` and
//! transformed (bin spacing `sr/(N·zero_pad)`). A bin k is a peak when its magnitude exceeds both
//! neighbours and the threshold (dB relative to full scale, where a unit-amplitude sinusoid reads
//! 0 dB). With `α, β, γ` the dB magnitudes of bins k−1, k, k+1,
//!
//! ```text
//! p = ½·(α − γ)/(α − 2β + γ),   f = (k + p)·sr/(N·zero_pad),   A_dB = β − ¼·(α − γ)·p
//! ```
//!
//! and the amplitude is `10^{A_dB/20}` with magnitudes scaled by `2/Σw` (window-corrected: a
//! unit-amplitude sinusoid reads 1). The zero-padding reduces the parabola's bias; with the
//! default factor 4 a Hann peak is placed within ≈ 0.2 cent·(bin/f) and its amplitude within
//! 0.01 dB. Frames are centred on `j·hop` (centre padding), so a peak's time is `j·hop/sr`.
//!
//! The windowed segment is rotated so that its centre sample sits at index 0 of the FFT buffer
//! (zero-phase windowing): the Hann transform is then real and positive across its main lobe and
//! the phase of bin k is the sinusoid's phase at the frame centre, which additive resynthesis
//! ([`partials`](super::partials)) needs.

use super::window::hann;
use crate::error::{Error, Result};
use crate::points::TfPoints;
use num_complex::Complex64;
use realfft::RealFftPlanner;
use serde::{Deserialize, Serialize};

/// Largest interpolation lift (dB) of a peak over its largest bin: Hann's worst-case scalloping
/// loss without zero-padding is 1.42 dB (less with padding).
const MAX_LIFT_DB: f64 = 1.5;

/// Peak-picking parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SinusoidalParams {
    /// Window length N (samples).
    pub window_len: usize,
    /// Hop (samples).
    pub hop: usize,
    /// FFT size = window_len · zero_pad.
    pub zero_pad: usize,
    /// Peaks below this level (dB re a unit-amplitude sinusoid) are dropped.
    pub threshold_db: f64,
    /// At most this many peaks per frame (the loudest).
    pub max_peaks: usize,
}

impl SinusoidalParams {
    /// Window N, hop H, zero-padding 4, threshold −60 dB, 40 peaks per frame.
    pub fn new(window_len: usize, hop: usize) -> Self {
        SinusoidalParams {
            window_len,
            hop,
            zero_pad: 4,
            threshold_db: -60.0,
            max_peaks: 40,
        }
    }
}

/// One spectral peak.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Peak {
    /// Frame index j (the frame is centred on sample `j·hop`).
    pub frame: usize,
    /// Frame centre time (s).
    pub time: f64,
    /// Interpolated frequency (Hz).
    pub freq: f64,
    /// Interpolated, window-corrected amplitude (a unit sinusoid reads 1).
    pub amp: f64,
    /// Phase (rad) at the frame centre: a peak of `A·cos(ω·(n − c) + φ)` reads φ.
    pub phase: f64,
}

/// A planned peak picker.
#[derive(Debug, Clone)]
pub struct Sinusoidal {
    params: SinusoidalParams,
    sample_rate: f64,
    window: Vec<f64>,
}

impl Sinusoidal {
    /// Validates the parameters; signals are sampled at `sample_rate` Hz.
    pub fn new(params: SinusoidalParams, sample_rate: f64) -> Result<Self> {
        crate::error::check_sample_rate(sample_rate)?;
        if params.window_len < 4 {
            return Err(Error::param(
                "window length",
                params.window_len,
                "at least 4 samples",
            ));
        }
        if params.hop == 0 {
            return Err(Error::param("hop", 0, "at least 1 sample"));
        }
        if params.zero_pad == 0 {
            return Err(Error::param("zero padding", 0, "a factor of at least 1"));
        }
        if params.max_peaks == 0 {
            return Err(Error::param("max peaks", 0, "at least 1 per frame"));
        }
        if !params.threshold_db.is_finite() {
            return Err(Error::param(
                "threshold",
                params.threshold_db,
                "a finite level in dB",
            ));
        }
        Ok(Sinusoidal {
            window: hann(params.window_len, false),
            params,
            sample_rate,
        })
    }

    /// Peaks of every frame of `x` (sampled at the plan's rate).
    pub fn analyze(&self, x: &[f64]) -> Result<Vec<Peak>> {
        let sample_rate = self.sample_rate;
        crate::error::check_signal(x, sample_rate)?;
        let n = self.params.window_len;
        let nfft = n * self.params.zero_pad;
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(nfft);
        let scale = 2.0 / self.window.iter().sum::<f64>();
        let frames = 1 + x.len() / self.params.hop;
        let mut buf = vec![0.0; nfft];
        let mut spec = vec![Complex64::new(0.0, 0.0); nfft / 2 + 1];
        let mut db = vec![0.0; nfft / 2 + 1];
        let mut peaks = Vec::new();
        for j in 0..frames {
            let c = (j * self.params.hop) as i64;
            buf.iter_mut().for_each(|b| *b = 0.0);
            for i in 0..n {
                let idx = c - (n / 2) as i64 + i as i64;
                if idx >= 0 && (idx as usize) < x.len() {
                    // zero-phase: the frame centre goes to index 0
                    buf[(i + nfft - n / 2) % nfft] = x[idx as usize] * self.window[i] * scale;
                }
            }
            fft.process(&mut buf, &mut spec)
                .expect("buffer sizes are fixed by the plan");
            for (d, s) in db.iter_mut().zip(&spec) {
                *d = 20.0 * s.norm().max(1e-300).log10();
            }
            let mut frame: Vec<Peak> = (1..db.len() - 1)
                .filter(|&k| {
                    db[k] > db[k - 1] && db[k] >= db[k + 1] && db[k] > self.params.threshold_db
                })
                .map(|k| {
                    let (a, b, g) = (db[k - 1], db[k], db[k + 1]);
                    let den = a - 2.0 * b + g;
                    let p = if den.abs() > 0.0 {
                        0.5 * (a - g) / den
                    } else {
                        0.0
                    };
                    // the parabola's lift −¼(α−γ)p ≥ 0 is bounded by the window's scalloping
                    // loss; a neighbour at an exact spectral zero (a sidelobe next to a null of
                    // an on-bin tone) would otherwise extrapolate it to tens of dB
                    let lift = (-0.25 * (a - g) * p).min(MAX_LIFT_DB);
                    Peak {
                        frame: j,
                        time: c as f64 / sample_rate,
                        freq: (k as f64 + p) * sample_rate / nfft as f64,
                        amp: 10f64.powf((b + lift) / 20.0),
                        phase: spec[k].arg(),
                    }
                })
                .collect();
            frame.sort_by(|a, b| b.amp.total_cmp(&a.amp));
            frame.truncate(self.params.max_peaks);
            peaks.extend(frame);
        }
        Ok(peaks)
    }

    /// The parameters.
    pub fn params(&self) -> &SinusoidalParams {
        &self.params
    }

    /// The sample rate (Hz) fixed at plan time.
    pub fn sample_rate(&self) -> f64 {
        self.sample_rate
    }

    /// Per FFT bin (`N·zero_pad/2 + 1` of them), the magnitude a unit-amplitude sinusoid at that
    /// bin's frequency reads: 1 everywhere, because peak amplitudes are already window-corrected
    /// (`2/Σw`) and interpolated. Calibration ([`Calibration`](super::Calibration)) leaves the
    /// sinusoidal model unchanged.
    pub fn unit_tone_gain(&self) -> Vec<f64> {
        vec![1.0; self.params.window_len * self.params.zero_pad / 2 + 1]
    }

    /// The point set of `amp^p` of all peaks.
    pub fn to_points(peaks: &[Peak], p: f64) -> Result<TfPoints> {
        TfPoints::new(
            peaks.iter().map(|q| q.time).collect(),
            peaks.iter().map(|q| q.freq).collect(),
            peaks.iter().map(|q| q.amp).collect(),
        )?
        .powered(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    #[test]
    fn a_stationary_tone_within_one_cent_and_a_tenth_of_a_db() {
        let sr = 16000.0;
        for &(f0, a0) in &[(440.0, 0.5), (1234.5, 0.1), (3001.7, 1.0)] {
            let x: Vec<f64> = (0..16000)
                .map(|i| a0 * (2.0 * PI * f0 * i as f64 / sr + 0.3).cos())
                .collect();
            let s = Sinusoidal::new(SinusoidalParams::new(1024, 256), sr).unwrap();
            let peaks = s.analyze(&x).unwrap();
            // frames fully inside the signal
            let mut checked = 0;
            for q in peaks.iter().filter(|q| q.time > 0.1 && q.time < 0.9) {
                if q.amp < a0 * 0.5 {
                    continue; // sidelobes of the zero-padded Hann spectrum
                }
                let cents = 1200.0 * (q.freq / f0).log2();
                let db = 20.0 * (q.amp / a0).log10();
                assert!(cents.abs() < 1.0, "{f0} Hz: {cents} cents");
                assert!(db.abs() < 0.1, "{f0} Hz: {db} dB");
                // the phase at the frame centre, wrapped to (−π, π]
                let want = 2.0 * PI * f0 * q.time + 0.3;
                let d = (q.phase - want).sin().atan2((q.phase - want).cos());
                assert!(d.abs() < 1e-3, "{f0} Hz: phase off by {d} rad");
                checked += 1;
            }
            assert!(checked >= 40, "{f0} Hz: {checked} frames checked");
        }
    }

    #[test]
    fn sidelobes_next_to_spectral_nulls_stay_small() {
        // 437.5 Hz sits exactly on bin 224 of the 4096-point padded FFT at 8 kHz: the spectrum
        // has exact nulls every 4 bins, next to the sidelobe maxima
        let sr = 8000.0;
        let x: Vec<f64> = (0..16000)
            .map(|i| 0.5 * (2.0 * PI * 437.5 * i as f64 / sr).cos())
            .collect();
        let s = Sinusoidal::new(SinusoidalParams::new(1024, 256), sr).unwrap();
        for q in s.analyze(&x).unwrap() {
            if q.time < 0.1 || q.time > 1.9 {
                continue;
            }
            if (q.freq - 437.5).abs() < 1.0 {
                assert!((q.amp / 0.5 - 1.0).abs() < 1e-6, "{q:?}");
            } else {
                // Hann's first sidelobe is −31.5 dB (0.0266 of the peak), plus at most the lift
                assert!(q.amp < 0.5 * 0.0266 * 1.19, "{q:?}");
            }
        }
    }

    #[test]
    fn impossible_parameters_are_errors() {
        assert!(Sinusoidal::new(SinusoidalParams::new(2, 1), 8000.0).is_err());
        assert!(Sinusoidal::new(SinusoidalParams::new(64, 0), 8000.0).is_err());
        assert!(Sinusoidal::new(SinusoidalParams::new(64, 16), 0.0).is_err());
        let mut p = SinusoidalParams::new(64, 16);
        p.max_peaks = 0;
        assert!(Sinusoidal::new(p, 8000.0).is_err());
    }
}
