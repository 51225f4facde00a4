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
//!
//! **Inverse.** Each band's least-squares inverse STFT of its kept bins (zeros elsewhere), summed
//! over the bands, is a linear operator `T` on signals that is close to a time-invariant filter
//! with frequency response
//!
//! ```text
//! R(ν) = Σ_b Σ_{k ∈ K_b} |Ŵ_b(ν − k/N_b)|² / (N_b·Σ_n w_b[n]²)    (k over ±kept bins),
//! ```
//!
//! 1 inside every band and between about 0.6 and 1.6 near the splits, where one band's window
//! leakage falls and the next one's rises (the impulse response of R is the windows'
//! autocorrelations times the kept bins' cosine sums, computed in closed form). Synthesis solves
//! `T·y = T₀` for `T₀ = Σ_b iSTFT_b(c_b)` by a fixed number of preconditioned Richardson steps,
//! `y ← y + R⁻¹(T₀ − T·y)` (each step one analysis and one inverse): a fixed linear map of the
//! coefficients, exact to rounding for coefficients of a signal when the steps converge. The
//! part of `T` that R misses (window aliasing between frames, the signal's ends) is ≈ −30 dB, so
//! each step gains ≈ 30 dB; the defaults reach ≈ 180 dB on white noise. Whether the steps
//! converge for a plan's windows and hops is checked once, on a seeded noise probe, the first
//! time the inverse is used ([`Multires::is_invertible`]).

use super::stft::{Norm, Padding, Spectrogram, Stft, StftParams};
use super::window::WindowKind;
use crate::error::{Error, Num, Result};
use crate::points::TfPoints;
use num_complex::Complex64;
use realfft::RealFftPlanner;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// Richardson correction steps after the preconditioned first estimate (≈ 30 dB each).
const INVERSE_STEPS: usize = 5;
/// The probe's reconstruction error (relative energy) below which the inverse is accepted:
/// −120 dB, far from the ≈ −180 dB a converging plan reaches and far below anything usable that
/// a diverging one gives.
const PROBE_MAX_ERROR: f64 = 1e-12;

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
    /// The preconditioner's impulse response `h[d]`, d = 0..N_max (even in d), once checked on
    /// the probe; or why there is no inverse.
    inverse: OnceLock<std::result::Result<Vec<f64>, String>>,
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
                    format!("{} Hz", Num(s)),
                    format!(
                        "increasing splits above {} Hz and below the Nyquist frequency {} Hz",
                        Num(prev),
                        Num(nyq)
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
                    format!("{n} (band {b}, {}–{} Hz)", Num(f_lo), Num(f_hi)),
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
            inverse: OnceLock::new(),
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

    /// Whether the inverse converges for these windows and hops (checked once, on a seeded
    /// noise probe, the first time it is asked; module docs).
    pub fn is_invertible(&self) -> bool {
        self.inverse().is_ok()
    }

    /// Inverse transform to `c.signal_len` samples (module docs): exact to ≈ −180 dB for
    /// coefficients of a signal, linear in the coefficients. An error when the coefficients do
    /// not fit this plan, or when the probe showed that the inverse does not converge.
    pub fn synthesize(&self, c: &MultiresSpectrogram) -> Result<Vec<f64>> {
        let len = c.signal_len;
        if c.bands.len() != self.bands.len() || c.sample_rate != self.sample_rate || len == 0 {
            return Err(Error::Shape(format!(
                "multi-resolution coefficients of {} bands at {} Hz for {len} samples; this plan \
                 makes {} bands at {} Hz",
                c.bands.len(),
                c.sample_rate,
                self.bands.len(),
                self.sample_rate
            )));
        }
        for (b, cb) in self.bands.iter().zip(&c.bands) {
            let s = &cb.spectrogram;
            let (bins, frames) = (b.k_hi - b.k_lo, b.stft.n_frames(len));
            if s.n_bins != bins || s.n_frames != frames || s.coeffs.len() != bins * frames {
                return Err(Error::Shape(format!(
                    "band {:.0}–{:.0} Hz holds {} × {} coefficients ({} stored); this plan makes \
                     {bins} × {frames} for {len} samples",
                    b.f_lo,
                    b.f_hi,
                    s.n_bins,
                    s.n_frames,
                    s.coeffs.len()
                )));
            }
        }
        let h = self.inverse().map_err(|why| {
            Error::param(
                "transform",
                "multires",
                format!("an invertible plan: {why}"),
            )
        })?;
        Ok(self.solve(c, h))
    }

    /// `Σ_b iSTFT_b(c_b)`: each band's least-squares inverse of its kept bins.
    fn band_inverses(&self, c: &MultiresSpectrogram) -> Vec<f64> {
        let len = c.signal_len;
        let mut y = vec![0.0; len];
        for (b, cb) in self.bands.iter().zip(&c.bands) {
            let s = &cb.spectrogram;
            let n = b.stft.params().window_len;
            let mut full = Spectrogram {
                n_bins: n / 2 + 1,
                n_frames: s.n_frames,
                coeffs: vec![Complex64::new(0.0, 0.0); (n / 2 + 1) * s.n_frames],
                freqs: Vec::new(),
                times: Vec::new(),
                sample_rate: s.sample_rate,
                signal_len: len,
            };
            full.coeffs[b.k_lo * s.n_frames..b.k_hi * s.n_frames].copy_from_slice(&s.coeffs);
            let part = b
                .stft
                .synthesize(&full)
                .expect("the spectrogram is shaped by the band's own plan");
            y.iter_mut().zip(&part).for_each(|(a, v)| *a += v);
        }
        y
    }

    /// The preconditioned Richardson steps of the module docs.
    fn solve(&self, c: &MultiresSpectrogram, h: &[f64]) -> Vec<f64> {
        let len = c.signal_len;
        let rhs = self.band_inverses(c);
        let precondition = Preconditioner::new(h, len);
        let mut y = precondition.apply(&rhs);
        for _ in 0..INVERSE_STEPS {
            let ty = self.band_inverses(
                &self
                    .analyze(&y)
                    .expect("a signal of the coefficients' length analyzes"),
            );
            let r: Vec<f64> = rhs.iter().zip(&ty).map(|(a, b)| a - b).collect();
            let d = precondition.apply(&r);
            y.iter_mut().zip(&d).for_each(|(a, v)| *a += v);
        }
        y
    }

    /// The preconditioner's impulse response, checked on the probe (computed once).
    fn inverse(&self) -> std::result::Result<&[f64], &str> {
        self.inverse
            .get_or_init(|| {
                let h = self.lti_response();
                // the response must stay away from 0 for R⁻¹ to exist
                let n_max = h.len() - 1;
                let nfft = Preconditioner::fft_len(4 * n_max);
                let r = Preconditioner::response(&h, nfft);
                let low = r.iter().cloned().fold(f64::INFINITY, f64::min);
                if low.is_nan() || low <= 0.05 {
                    return Err(format!(
                        "the bands' summed response falls to {low:.3} at some frequency"
                    ));
                }
                use rand::{Rng, SeedableRng};
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
                let probe: Vec<f64> = (0..3 * n_max + 17)
                    .map(|_| rng.random_range(-1.0..1.0))
                    .collect();
                let c = self.analyze(&probe).expect("the probe is a valid signal");
                let y = self.solve(&c, &h);
                let e: f64 = probe.iter().zip(&y).map(|(a, b)| (a - b).powi(2)).sum();
                let s: f64 = probe.iter().map(|a| a * a).sum();
                if e.is_nan() || e > PROBE_MAX_ERROR * s {
                    return Err(format!(
                        "the inverse does not converge for these windows and hops (noise probe \
                         error {:.1} dB); a Hann window with hops of at most a quarter window converges",
                        10.0 * (e / s).log10()
                    ));
                }
                Ok(h)
            })
            .as_deref()
            .map_err(String::as_str)
    }

    /// `h[d]`, d = 0..=N_max − 1 (even in d): the impulse response of R (module docs), from each
    /// band's window autocorrelation `Σ_n w[n]·w[n + d]` times the cosine sum of its kept bins,
    /// `Σ_{k ∈ ±K} e^{2πi·k·d/N}`, over `N·Σw²`.
    fn lti_response(&self) -> Vec<f64> {
        let n_max = self.params.windows.iter().copied().max().unwrap_or(1);
        let mut h = vec![0.0; n_max];
        for b in &self.bands {
            let n = b.stft.params().window_len;
            let w = self.params.window.samples(n);
            let energy: f64 = w.iter().map(|v| v * v).sum();
            let nf = n as f64;
            for (d, hd) in h.iter_mut().enumerate().take(n) {
                let ac: f64 = w[..n - d].iter().zip(&w[d..]).map(|(a, b)| a * b).sum();
                // Σ_{k=lo}^{hi−1} cos(kθ), θ = 2πd/N, in closed form
                let theta = 2.0 * std::f64::consts::PI * d as f64 / nf;
                let (lo, hi) = (b.k_lo as f64, b.k_hi as f64);
                let half = (theta / 2.0).sin();
                let sum = if d == 0 {
                    hi - lo
                } else {
                    (((hi - 0.5) * theta).sin() - ((lo - 0.5) * theta).sin()) / (2.0 * half)
                };
                // bins 0 < k < N/2 stand for ±k; 0 and N/2 only once
                let mut cos_sum = 2.0 * sum;
                if b.k_lo == 0 {
                    cos_sum -= 1.0;
                }
                if n % 2 == 0 && b.k_hi == n / 2 + 1 {
                    cos_sum -= (std::f64::consts::PI * d as f64).cos();
                }
                *hd += ac * cos_sum / (nf * energy);
            }
        }
        h
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

/// `R⁻¹` for signals of one length: a linear deconvolution through an FFT long enough that the
/// response's `2·N_max − 1` taps do not wrap onto the signal.
struct Preconditioner {
    len: usize,
    nfft: usize,
    inv_r: Vec<f64>,
}

impl Preconditioner {
    /// The smallest 2^a·3^b·5^c ≥ n.
    fn fft_len(n: usize) -> usize {
        (n.max(2)..)
            .find(|&m| {
                let mut q = m;
                for p in [2, 3, 5] {
                    while q % p == 0 {
                        q /= p;
                    }
                }
                q == 1
            })
            .expect("smooth numbers are unbounded")
    }

    /// R at the `nfft/2 + 1` frequencies of an FFT of length nfft.
    fn response(h: &[f64], nfft: usize) -> Vec<f64> {
        let mut buf = vec![0.0; nfft];
        for (d, &v) in h.iter().enumerate() {
            buf[d] += v;
            if d > 0 {
                buf[nfft - d] += v;
            }
        }
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(nfft);
        let mut spec = fft.make_output_vec();
        fft.process(&mut buf, &mut spec)
            .expect("buffer sizes are fixed by the plan");
        spec.iter().map(|c| c.re).collect()
    }

    fn new(h: &[f64], len: usize) -> Self {
        let nfft = Self::fft_len(len + 2 * h.len());
        let inv_r = Self::response(h, nfft).iter().map(|r| 1.0 / r).collect();
        Preconditioner { len, nfft, inv_r }
    }

    fn apply(&self, v: &[f64]) -> Vec<f64> {
        let mut planner = RealFftPlanner::<f64>::new();
        let (fwd, inv) = (
            planner.plan_fft_forward(self.nfft),
            planner.plan_fft_inverse(self.nfft),
        );
        let mut buf = vec![0.0; self.nfft];
        buf[..self.len].copy_from_slice(v);
        let mut spec = fwd.make_output_vec();
        fwd.process(&mut buf, &mut spec)
            .expect("buffer sizes are fixed by the plan");
        let scale = 1.0 / self.nfft as f64;
        spec.iter_mut()
            .zip(&self.inv_r)
            .for_each(|(c, r)| *c *= r * scale);
        spec[0].im = 0.0;
        if self.nfft.is_multiple_of(2) {
            spec[self.nfft / 2].im = 0.0;
        }
        inv.process(&mut spec, &mut buf)
            .expect("buffer sizes are fixed by the plan");
        buf.truncate(self.len);
        buf
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

    /// The kept bins of every band, and the whole STFT of the largest band that
    /// [`analyze`](Multires::analyze) computes before it keeps them.
    fn coefficient_count(&self, signal_len: usize) -> Result<u128> {
        let (mut kept, mut full) = (0u128, 0u128);
        for b in &self.bands {
            let frames = b.stft.n_frames(signal_len) as u128;
            kept += (b.k_hi - b.k_lo) as u128 * frames;
            full = full.max((b.stft.params().window_len / 2 + 1) as u128 * frames);
        }
        Ok(kept + full)
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
        Multires::is_invertible(self)
    }

    fn synthesize(&self, c: &super::Coefficients) -> Result<Vec<f64>> {
        match c {
            super::Coefficients::Multires(m) => Multires::synthesize(self, m),
            other => Err(super::wrong_coefficients("multires", other)),
        }
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
