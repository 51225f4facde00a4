//! Multi-resolution STFT hybrid on one time axis: long windows for the low frequencies, short
//! ones for the high frequencies.
//!
//! Split frequencies `s_1 < … < s_{B−1}` cut `[0, sr/2]` into B bands
//! `[0, s_1), [s_1, s_2), …, [s_{B−1}, sr/2]`. Band b is analyzed by its own STFT (window N_b,
//! hop H_b, centre padding: frame j is centred on sample `j·H_b`, at time `j·H_b/sr`) and keeps
//! only the bins whose centre frequency `k·sr/N_b` lies inside the band. So the bands never share
//! a frequency, together they cover `[0, sr/2]`, and all of them sit on one time axis (frame
//! centre times in seconds; with hops that divide each other, such as the defaults, the long
//! bands' frame times are a subset of the short bands'). Unlike the paper's hybrid, which places
//! its transforms one after another in time, every point here is at its true (t, f): one
//! recording, a frequency resolution that follows the musical need (fine where partials are
//! dense, fast where onsets matter) and a point cloud no grid can hold.
//!
//! Normalization: periodic Hann windows with [`Norm::Amplitude`] by default (`2/Σw`), so a
//! unit-amplitude sinusoid on a bin centre reads 1 in every band whatever its window length.

use super::stft::{Norm, Padding, Spectrogram, Stft, StftParams};
use super::window::WindowKind;
use crate::error::{Error, Result};
use crate::points::TfPoints;
use serde::{Deserialize, Serialize};

/// Multi-resolution parameters: B − 1 split frequencies and B (window, hop) pairs, low to high.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MultiresParams {
    /// Split frequencies (Hz), strictly increasing, inside (0, sr/2).
    pub splits: Vec<f64>,
    /// Window length of each band (samples), `splits.len() + 1` of them.
    pub windows: Vec<usize>,
    /// Hop of each band (samples), at most its window.
    pub hops: Vec<usize>,
    /// Window shape (all bands).
    pub window: WindowKind,
    /// Coefficient scaling (all bands).
    pub norm: Norm,
}

impl MultiresParams {
    /// Bands split at `splits` with windows `windows` and hops of a quarter window, periodic
    /// Hann, amplitude scaling.
    pub fn new(splits: Vec<f64>, windows: Vec<usize>) -> Self {
        let hops = windows.iter().map(|&n| (n / 4).max(1)).collect();
        MultiresParams {
            splits,
            windows,
            hops,
            window: WindowKind::Hann,
            norm: Norm::Amplitude,
        }
    }

    /// The defaults, defined at 22.05 kHz and scaled with the sample rate: splits at 1 kHz and
    /// 4 kHz; windows 4096 (186 ms, 5.4 Hz bins), 1024 (46 ms) and 256 samples (11.6 ms),
    /// multiplied by `sr/22050` and rounded to the nearest power of two; hops a quarter window.
    /// Splits at or above 0.45·sr are dropped with their band (at 4410 Hz: two bands,
    /// 1024/256 below 1 kHz and 256/64 above).
    pub fn default_for(sample_rate: f64) -> Self {
        let scale = sample_rate / 22050.0;
        let pow2 = |n: f64| 2f64.powf(n.max(4.0).log2().round()) as usize;
        let mut splits = Vec::new();
        let mut windows = vec![pow2(4096.0 * scale)];
        for (s, n) in [(1000.0, 1024.0), (4000.0, 256.0)] {
            if s < 0.45 * sample_rate {
                splits.push(s);
                windows.push(pow2(n * scale));
            }
        }
        Self::new(splits, windows)
    }
}

/// One band's plan.
#[derive(Debug)]
struct Band {
    f_lo: f64,
    f_hi: f64,
    stft: Stft,
    /// Kept bins k_lo..k_hi of the STFT.
    k_lo: usize,
    k_hi: usize,
}

/// A planned multi-resolution STFT for one sample rate.
#[derive(Debug)]
pub struct Multires {
    params: MultiresParams,
    sample_rate: f64,
    bands: Vec<Band>,
}

/// One band's coefficients.
#[derive(Debug, Clone, PartialEq)]
pub struct MultiresBand {
    /// Lower band edge (Hz, inclusive).
    pub f_lo: f64,
    /// Upper band edge (Hz; exclusive, except sr/2 for the top band).
    pub f_hi: f64,
    /// Window length N_b.
    pub window_len: usize,
    /// The band's kept bins only (`n_bins` of them, `freqs` inside `[f_lo, f_hi)`).
    pub spectrogram: Spectrogram,
}

/// Multi-resolution coefficients, bands from low to high.
#[derive(Debug, Clone, PartialEq)]
pub struct MultiresSpectrogram {
    /// The bands.
    pub bands: Vec<MultiresBand>,
    /// Sample rate (Hz).
    pub sample_rate: f64,
    /// Length of the analyzed signal in samples.
    pub signal_len: usize,
}

impl super::calibration::BinScale for MultiresSpectrogram {
    fn n_bins(&self) -> usize {
        self.bands.iter().map(|b| b.spectrogram.n_bins).sum()
    }

    fn divide_bins(&mut self, divisors: &[f64]) {
        let mut start = 0;
        for b in &mut self.bands {
            let n = b.spectrogram.n_bins;
            super::calibration::BinScale::divide_bins(
                &mut b.spectrogram,
                &divisors[start..start + n],
            );
            start += n;
        }
    }
}

impl MultiresSpectrogram {
    /// Total number of coefficients.
    pub fn len(&self) -> usize {
        self.bands.iter().map(|b| b.spectrogram.coeffs.len()).sum()
    }

    /// True when there are no coefficients.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The point set of `|X|^p` over all bands.
    pub fn to_points(&self, p: f64) -> Result<TfPoints> {
        let (mut t, mut f, mut m) = (Vec::new(), Vec::new(), Vec::new());
        for b in &self.bands {
            let s = &b.spectrogram;
            for k in 0..s.n_bins {
                for j in 0..s.n_frames {
                    t.push(s.times[j]);
                    f.push(s.freqs[k]);
                    m.push(s.coeffs[k * s.n_frames + j].norm());
                }
            }
        }
        TfPoints::new(t, f, m)?.powered(p)
    }
}

impl Multires {
    /// Validates the parameters for `sample_rate` and plans one STFT per band.
    pub fn new(params: MultiresParams, sample_rate: f64) -> Result<Self> {
        crate::error::check_sample_rate(sample_rate)?;
        let nyq = sample_rate / 2.0;
        let nb = params.splits.len() + 1;
        if params.windows.len() != nb {
            return Err(Error::param(
                "number of windows",
                params.windows.len(),
                format!(
                    "one per band: {nb} for {} split frequencies",
                    params.splits.len()
                ),
            ));
        }
        if params.hops.len() != nb {
            return Err(Error::param(
                "number of hops",
                params.hops.len(),
                format!("one per band: {nb}"),
            ));
        }
        let mut prev = 0.0;
        for &s in &params.splits {
            if !(s.is_finite() && s > prev && s < nyq) {
                return Err(Error::param(
                    "split frequency",
                    format!("{s} Hz"),
                    format!(
                        "increasing splits above {prev} Hz and below the Nyquist frequency {nyq} Hz"
                    ),
                ));
            }
            prev = s;
        }
        let mut edges = vec![0.0];
        edges.extend(&params.splits);
        edges.push(nyq);
        let mut bands = Vec::with_capacity(nb);
        for b in 0..nb {
            let (f_lo, f_hi) = (edges[b], edges[b + 1]);
            let n = params.windows[b];
            let stft = Stft::new(
                StftParams {
                    window_len: n,
                    hop: params.hops[b],
                    window: params.window,
                    padding: Padding::Center,
                    norm: params.norm,
                },
                sample_rate,
            )?;
            let df = sample_rate / n as f64;
            let top = b + 1 == nb;
            // bins with f_lo ≤ k·df < f_hi (≤ sr/2 for the top band)
            let k_lo = (f_lo / df).ceil() as usize;
            let k_hi = if top {
                n / 2 + 1
            } else {
                ((f_hi / df).ceil() as usize).min(n / 2 + 1)
            };
            if k_lo >= k_hi {
                return Err(Error::param(
                    "window length",
                    format!("{n} (band {b}, {f_lo}–{f_hi} Hz)"),
                    format!(
                        "a bin inside the band: bins are {df:.2} Hz apart; use a longer window or wider band"
                    ),
                ));
            }
            bands.push(Band {
                f_lo,
                f_hi,
                stft,
                k_lo,
                k_hi,
            });
        }
        Ok(Multires {
            params,
            sample_rate,
            bands,
        })
    }

    /// The parameters.
    pub fn params(&self) -> &MultiresParams {
        &self.params
    }

    /// Band edges (Hz) and window length of each band.
    pub fn bands(&self) -> Vec<(f64, f64, usize)> {
        self.bands
            .iter()
            .map(|b| (b.f_lo, b.f_hi, b.stft.params().window_len))
            .collect()
    }

    /// Analyzes `x` (sampled at the planned rate).
    pub fn analyze(&self, x: &[f64]) -> Result<MultiresSpectrogram> {
        crate::error::check_signal(x, self.sample_rate)?;
        let bands = self
            .bands
            .iter()
            .map(|b| {
                let full = b.stft.analyze(x)?;
                let nf = full.n_frames;
                Ok(MultiresBand {
                    f_lo: b.f_lo,
                    f_hi: b.f_hi,
                    window_len: b.stft.params().window_len,
                    spectrogram: Spectrogram {
                        n_bins: b.k_hi - b.k_lo,
                        n_frames: nf,
                        coeffs: full.coeffs[b.k_lo * nf..b.k_hi * nf].to_vec(),
                        freqs: full.freqs[b.k_lo..b.k_hi].to_vec(),
                        times: full.times,
                        sample_rate: full.sample_rate,
                        signal_len: full.signal_len,
                    },
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(MultiresSpectrogram {
            bands,
            sample_rate: self.sample_rate,
            signal_len: x.len(),
        })
    }

    /// Per kept bin, band after band (the order of [`MultiresSpectrogram::bands`] and of their
    /// bins), the magnitude a unit-amplitude sinusoid at the bin's centre reads: the bands'
    /// [`Stft::unit_tone_gain`] restricted to the kept bins.
    pub fn unit_tone_gain(&self) -> Vec<f64> {
        self.bands
            .iter()
            .flat_map(|b| b.stft.unit_tone_gain()[b.k_lo..b.k_hi].to_vec())
            .collect()
    }
}

impl super::Transform for Multires {
    fn name(&self) -> &'static str {
        "multires"
    }

    fn sample_rate(&self) -> f64 {
        self.sample_rate
    }

    fn analyze(&self, x: &[f64]) -> Result<super::Coefficients> {
        Ok(super::Coefficients::Multires(Multires::analyze(self, x)?))
    }

    fn unit_tone_gain(&self) -> Vec<f64> {
        Multires::unit_tone_gain(self)
    }

    /// The kept bins' centres `k·sr/N_b`, band after band.
    fn bin_freqs(&self) -> Vec<f64> {
        self.bands
            .iter()
            .flat_map(|b| {
                let n = b.stft.params().window_len as f64;
                (b.k_lo..b.k_hi).map(move |k| k as f64 * self.sample_rate / n)
            })
            .collect()
    }

    /// The frames of the bin's band.
    fn frame_times(&self, bin: usize, signal_len: usize) -> Result<Vec<f64>> {
        super::check_bin(self, bin)?;
        let mut first = 0;
        for b in &self.bands {
            let n = b.k_hi - b.k_lo;
            if bin < first + n {
                return super::Transform::frame_times(&b.stft, b.k_lo, signal_len);
            }
            first += n;
        }
        unreachable!("check_bin bounds the bin by the kept bins")
    }

    fn is_invertible(&self) -> bool {
        false
    }

    fn synthesize(&self, _: &super::Coefficients) -> Result<Vec<f64>> {
        Err(super::not_invertible("multires"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    const SR: f64 = 22050.0;

    #[test]
    fn bands_tile_zero_to_nyquist_without_overlap() {
        for sr in [4410.0, 16000.0, 22050.0, 44100.0] {
            let plan = Multires::new(MultiresParams::default_for(sr), sr).unwrap();
            let s = plan.analyze(&vec![0.1; (sr / 2.0) as usize]).unwrap();
            let mut all: Vec<f64> = Vec::new();
            for (b, band) in s.bands.iter().enumerate() {
                let df = sr / band.window_len as f64;
                let fr = &band.spectrogram.freqs;
                assert!(fr.iter().all(|&f| f >= band.f_lo && f <= band.f_hi));
                // no bin of this window inside the band is missing
                assert!(
                    fr[0] - band.f_lo < df && fr[0] >= band.f_lo,
                    "{sr}: band {b}"
                );
                if b + 1 < s.bands.len() {
                    assert!(*fr.last().unwrap() < band.f_hi);
                    assert!(band.f_hi - fr.last().unwrap() <= df + 1e-9);
                    assert_eq!(band.f_hi, s.bands[b + 1].f_lo);
                } else {
                    assert_eq!(*fr.last().unwrap(), sr / 2.0);
                }
                all.extend(fr);
            }
            assert_eq!(s.bands[0].spectrogram.freqs[0], 0.0);
            // strictly increasing over all bands: no frequency is shared
            assert!(all.windows(2).all(|w| w[0] < w[1]), "{sr}");
            // one time axis: the first band's frame times are among the last band's
            let short: Vec<f64> = s.bands.last().unwrap().spectrogram.times.clone();
            for t in &s.bands[0].spectrogram.times {
                assert!(short.iter().any(|u| (u - t).abs() < 1e-12), "{sr}: {t}");
            }
            let pts = s.to_points(1.0).unwrap();
            assert_eq!(pts.len(), s.len());
            assert_eq!(pts.unique_freqs().len(), all.len());
        }
        // the documented defaults at 22.05 kHz
        let p = MultiresParams::default_for(SR);
        assert_eq!(p.splits, vec![1000.0, 4000.0]);
        assert_eq!(p.windows, vec![4096, 1024, 256]);
        assert_eq!(p.hops, vec![1024, 256, 64]);
    }

    #[test]
    fn low_tones_get_the_long_window_and_a_high_click_the_short_one() {
        let len = 2 * SR as usize;
        // two tones 15 Hz apart below the 1 kHz split (3 bins of the 4096 window, a sixth of a
        // bin of the 256 window) and a click at 1.0 s, filtered to the top band by a difference
        let mut x: Vec<f64> = (0..len)
            .map(|i| {
                let t = i as f64 / SR;
                0.5 * (2.0 * PI * 200.0 * t).cos() + 0.5 * (2.0 * PI * 215.0 * t).cos()
            })
            .collect();
        let click = SR as usize; // sample 22050 = 1.0 s
        x[click] += 1.0;
        x[click + 1] -= 1.0; // a first difference: its spectrum is 2·sin(πf/sr), ≈ 0 at 200 Hz
        let plan = Multires::new(MultiresParams::default_for(SR), SR).unwrap();
        let s = plan.analyze(&x).unwrap();
        let low = &s.bands[0].spectrogram;
        // at 0.5 s (away from the click), the low band's spectrum has a peak at each tone
        let j = low.times.iter().position(|&t| t >= 0.5).unwrap();
        let col: Vec<f64> = (0..low.n_bins)
            .map(|k| low.coeffs[k * low.n_frames + j].norm())
            .collect();
        let peaks: Vec<f64> = (1..low.n_bins - 1)
            .filter(|&k| col[k] > col[k - 1] && col[k] > col[k + 1] && col[k] > 0.1)
            .map(|k| low.freqs[k])
            .collect();
        assert_eq!(peaks.len(), 2, "{peaks:?}");
        assert!((peaks[0] - 200.0).abs() < 3.0 && (peaks[1] - 215.0).abs() < 3.0);
        // the top band (4 kHz – Nyquist, 256-sample window, hop 64) times the click: its
        // loudest frame is within one hop of 1.0 s and frames above half that level span at
        // most one window (11.6 ms)
        let high = &s.bands[2].spectrogram;
        let energy: Vec<f64> = (0..high.n_frames)
            .map(|j| {
                (0..high.n_bins)
                    .map(|k| high.coeffs[k * high.n_frames + j].norm_sqr())
                    .sum()
            })
            .collect();
        let best = (0..high.n_frames)
            .max_by(|&a, &b| energy[a].total_cmp(&energy[b]))
            .unwrap();
        assert!(
            (high.times[best] - 1.0).abs() <= 64.0 / SR,
            "{}",
            high.times[best]
        );
        let loud: Vec<f64> = (0..high.n_frames)
            .filter(|&j| energy[j] > 0.5 * energy[best])
            .map(|j| high.times[j])
            .collect();
        let spread = loud.last().unwrap() - loud[0];
        assert!(spread <= 256.0 / SR, "click spread over {spread} s");
        // the same click analyzed by the long window alone would spread over ≈ 4096 samples
        let long = Stft::new(
            StftParams {
                window_len: 4096,
                hop: 64,
                window: WindowKind::Hann,
                padding: Padding::Center,
                norm: Norm::Amplitude,
            },
            SR,
        )
        .unwrap()
        .analyze(&x)
        .unwrap();
        let k4 = (4000.0 / (SR / 4096.0)) as usize;
        let e_long: Vec<f64> = (0..long.n_frames)
            .map(|j| {
                (k4..long.n_bins)
                    .map(|k| long.coeffs[k * long.n_frames + j].norm_sqr())
                    .sum()
            })
            .collect();
        let top = e_long.iter().cloned().fold(0.0, f64::max);
        let n_loud = e_long.iter().filter(|&&e| e > 0.5 * top).count();
        assert!(n_loud as f64 * 64.0 > 1000.0, "{n_loud}");
    }

    #[test]
    fn impossible_parameters_are_errors() {
        let e = Multires::new(MultiresParams::new(vec![1000.0], vec![1024]), SR).unwrap_err();
        assert!(e.to_string().contains("one per band"), "{e}");
        let e = Multires::new(MultiresParams::new(vec![12000.0], vec![1024, 256]), SR).unwrap_err();
        assert!(e.to_string().contains("11025"), "{e}");
        let e = Multires::new(
            MultiresParams::new(vec![2000.0, 1000.0], vec![1024, 256, 64]),
            SR,
        )
        .unwrap_err();
        assert!(e.to_string().contains("increasing"), "{e}");
        // a 16-sample window has bins 1378 Hz apart: none inside 1000–1100 Hz
        let e = Multires::new(
            MultiresParams::new(vec![1000.0, 1100.0], vec![1024, 16, 64]),
            SR,
        )
        .unwrap_err();
        assert!(e.to_string().contains("bin"), "{e}");
        let mut p = MultiresParams::new(vec![1000.0], vec![1024, 256]);
        p.hops[1] = 300;
        assert!(Multires::new(p, SR).is_err());
        let plan = Multires::new(MultiresParams::default_for(SR), SR).unwrap();
        assert!(plan.analyze(&[]).is_err());
        assert!(plan.analyze(&[f64::NAN; 10]).is_err());
    }
}
