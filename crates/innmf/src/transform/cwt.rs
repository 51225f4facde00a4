//! Continuous wavelet transform (CWT) with the analytic Morlet wavelet, computed in the frequency
//! domain, with per-scale decimation and a least-squares (canonical dual frame) inverse.
//!
//! **Scales.** Centre frequencies `f_j = f_min·2^{j/V}`, j = 0..J−1 (the last one ≤ f_max), V
//! voices per octave. Scale j is the Morlet wavelet whose frequency response peaks at f_j; its
//! time envelope is a Gaussian of standard deviation `σ_j = ω0/(2π·f_j)` seconds, i.e. the scale
//! in the usual `ψ(t/s)` sense is `s_j = σ_j` (ω0 is the centre angular frequency of the mother
//! wavelet `ψ(t) = e^{iω0·t}·e^{−t²/2}`, default 6).
//!
//! **Frequency response.** With `X̂ = DFT(x̃)` of the zero-padded signal x̃ (length L̃, bin m at
//! `m·sr/L̃` Hz), scale j multiplies by the analytic Morlet response
//!
//! ```text
//! g_j[m] = exp(−½·ω0²·(ν_m/f_j − 1)²),   ν_m = m·sr/L̃,
//! ```
//!
//! kept on its ±5-standard-deviation support `|ω0·(ν/f_j − 1)| < 5` (the Gaussian is below
//! e^{−12.5} ≈ 4·10⁻⁶ outside it), clipped to the positive frequencies `1 ≤ m ≤ L̃/2`: the
//! wavelet is analytic (exactly zero at 0 Hz and below) and the truncated response is the
//! transform's definition, not an approximation of it.
//!
//! **Normalization (amplitude, "L1").** The response peaks at 1 on every scale and the analytic
//! part is doubled:
//!
//! ```text
//! c_j[n] = (2/L̃)·Σ_{m ∈ supp g_j} X̂[m]·g_j[m]·e^{2πi·m·n/M_j},   n = 0..M_j−1,
//! ```
//!
//! so a unit-amplitude sinusoid at a scale's centre frequency reads magnitude 1 on that scale
//! ([`Cwt::unit_tone_gain`]), as in the NSGT and the paper's CQT. (PyWavelets' `cwt` uses the
//! L2-style factor `1/√s`: its magnitude of the same tone is `√s/2` with s in samples; the fixture
//! test converts between the two.)
//!
//! **Decimation.** Scale j keeps every `h_j`-th sample: `h_j` is the largest power of two ≤
//! `fraction·σ_j·sr` samples, at most `max` (defaults 0.5 and 512; `hop: None` keeps every
//! sample). Coefficient n of scale j is the exact value of the full-rate transform at sample
//! `n·h_j`, time `n·h_j/sr` seconds: the sum above folds the band's spectrum modulo `M_j = L̃/h_j`
//! and takes one inverse FFT of that shorter length. A fraction ≤ 0.6 keeps each band's support
//! (10·f_j/ω0 Hz wide) inside the `sr/h_j` Hz its samples resolve, so no band aliases (the plan
//! halves a hop where rounding would break this).
//!
//! **Boundaries.** The signal is zero-padded (not wrapped) by at least 4 envelope standard
//! deviations of the lowest scale, up to a length L̃ that is a multiple of the largest hop and a
//! fast FFT size, so the transform is a linear (not circular) convolution, as in PyWavelets.
//! The first [`CwtScale::in_signal`] coefficients of a scale lie inside the signal and make the
//! point set; the rest cover the padding and are kept for the inverse.
//!
//! **Inverse.** The analysis is a frame whose operator is diagonal in frequency,
//! `D[m] = Σ_j 4·M_j·g_j[m]²/L̃²` ("painless" because every support fits in its M_j). The
//! least-squares inverse (canonical dual) is
//!
//! ```text
//! X̂[m] = Σ_j (2/L̃)·g_j[m]·DFT_{M_j}(c_j)[m mod M_j] / (D[m] + ε),   m = 0..L̃/2,
//! ```
//!
//! with ε = 10⁻¹⁰·min_j D at the scales' centre bins. The reconstruction of any signal is
//! `X̂[m]·R[m]` with `R = D/(D + ε)` ([`Cwt::frame_response`]), which gives its error exactly
//! (over the padded length; the error over the signal is at most that). R is 1 to within 10⁻⁷
//! from about `f_min·(1 − 2.1/ω0)` to `f_top·(1 + 2.1/ω0)` (where the edge scale's response is
//! still ≥ 0.1) and falls to ½ about 4.8 standard deviations beyond the edge scales: signals
//! inside the band are recovered to rounding (≈ −177 dB measured), frequencies outside it are
//! lost.

use super::filterbank::{BandSpec, FilterBank};
use crate::error::{Error, Result};
use crate::points::TfPoints;
use num_complex::Complex64;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// Half-width of each scale's frequency support, in standard deviations of its Gaussian.
const SUPPORT_STD: f64 = 5.0;
/// The top scale's band, centre + this many standard deviations, must end below Nyquist.
const NYQUIST_STD: f64 = 3.0;
/// Largest hop fraction (of the envelope std) that keeps every band unaliased: π/SUPPORT_STD.
const MAX_HOP_FRACTION: f64 = 0.6;

/// Per-scale decimation: hop = largest power of two ≤ `fraction`·σ_j·sr samples, at most `max`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CwtHop {
    /// Fraction of the scale's envelope standard deviation σ_j (in samples), in (0, 0.6].
    pub fraction: f64,
    /// Largest hop (samples, ≥ 1; rounded down to a power of two).
    pub max: usize,
}

impl Default for CwtHop {
    fn default() -> Self {
        CwtHop {
            fraction: 0.5,
            max: 512,
        }
    }
}

/// CWT parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CwtParams {
    /// Lowest scale's centre frequency (Hz).
    pub f_min: f64,
    /// Highest centre allowed (Hz); the top scale is the last `f_min·2^{j/V}` ≤ f_max.
    pub f_max: f64,
    /// Voices (scales) per octave V.
    pub voices_per_octave: usize,
    /// Morlet centre angular frequency ω0 (cycles per envelope std ·2π; default 6). Larger is
    /// finer in frequency and coarser in time: the relative bandwidth (std) is 1/ω0.
    pub omega0: f64,
    /// Decimation policy; `None` keeps every sample on every scale.
    pub hop: Option<CwtHop>,
}

impl CwtParams {
    /// Scales from `f_min` to at most `f_max` Hz, `voices_per_octave` per octave, ω0 = 6,
    /// default decimation.
    pub fn new(f_min: f64, f_max: f64, voices_per_octave: usize) -> Self {
        CwtParams {
            f_min,
            f_max,
            voices_per_octave,
            omega0: 6.0,
            hop: Some(CwtHop::default()),
        }
    }
}

/// A scale's centre, envelope and decimation (its window lives in the filter bank).
#[derive(Debug, Clone, Copy)]
struct Scale {
    freq: f64,
    /// Envelope std σ_j (s).
    sigma: f64,
    hop: usize,
    /// Coefficients over the padded length, `L̃/hop`.
    m: usize,
}

/// One scale's coefficients.
#[derive(Debug, Clone, PartialEq)]
pub struct CwtScale {
    /// Centre frequency (Hz).
    pub freq: f64,
    /// Envelope standard deviation σ = ω0/(2π·freq) (s): the wavelet's time resolution.
    pub sigma: f64,
    /// Hop (samples); coefficient n sits at `n·hop/sr` seconds.
    pub hop: usize,
    /// Time step `hop/sr` (s).
    pub time_step: f64,
    /// The first `in_signal` coefficients lie inside the signal (`n·hop < L`).
    pub in_signal: usize,
    /// Complex coefficients over the padded length (`L̃/hop` of them).
    pub coeffs: Vec<Complex64>,
}

impl CwtScale {
    /// Times (s) of the coefficients inside the signal.
    pub fn times(&self) -> Vec<f64> {
        (0..self.in_signal)
            .map(|n| n as f64 * self.time_step)
            .collect()
    }
}

/// CWT coefficients.
#[derive(Debug, Clone, PartialEq)]
pub struct CwtCoefficients {
    /// Scales from low to high frequency.
    pub scales: Vec<CwtScale>,
    /// Sample rate (Hz).
    pub sample_rate: f64,
    /// Signal length L.
    pub signal_len: usize,
    /// Zero-padded length L̃.
    pub padded_len: usize,
}

impl super::calibration::BinScale for CwtCoefficients {
    fn n_bins(&self) -> usize {
        self.scales.len()
    }

    fn divide_bins(&mut self, divisors: &[f64]) {
        super::calibration::divide_rows(
            self.scales.iter_mut().map(|s| s.coeffs.as_mut_slice()),
            divisors,
        );
    }
}

impl CwtCoefficients {
    /// Number of coefficients inside the signal (the points [`to_points`](Self::to_points)
    /// makes).
    pub fn len(&self) -> usize {
        self.scales.iter().map(|s| s.in_signal).sum()
    }

    /// True when there are no coefficients.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The point set of `|c|^p` over the coefficients inside the signal (time `n·hop/sr`,
    /// frequency the scale's centre).
    pub fn to_points(&self, p: f64) -> Result<TfPoints> {
        super::band_points(
            self.scales.iter().map(|s| {
                let dt = s.time_step;
                (s.freq, &s.coeffs[..s.in_signal], move |i: usize| {
                    i as f64 * dt
                })
            }),
            p,
        )
    }
}

/// A planned CWT for one sample rate and signal length.
pub struct Cwt {
    params: CwtParams,
    sample_rate: f64,
    len: usize,
    padded: usize,
    scales: Vec<Scale>,
    /// The responses, FFTs and dual frame (`w_j = 1`, regularized by ε).
    bank: FilterBank,
    /// D/(D + ε).
    response: Vec<f64>,
}

impl std::fmt::Debug for Cwt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cwt")
            .field("params", &self.params)
            .field("sample_rate", &self.sample_rate)
            .field("len", &self.len)
            .field("padded_len", &self.padded)
            .field("scales", &self.scales.len())
            .finish()
    }
}

fn is_smooth(mut n: usize) -> bool {
    for p in [2, 3, 5] {
        while n.is_multiple_of(p) {
            n /= p;
        }
    }
    n == 1
}

/// The truncated analytic Morlet response at `nu` Hz of the scale centred at `f` Hz.
fn morlet_response(nu: f64, f: f64, omega0: f64) -> f64 {
    let u = omega0 * (nu / f - 1.0);
    if nu > 0.0 && u.abs() < SUPPORT_STD {
        (-0.5 * u * u).exp()
    } else {
        0.0
    }
}

/// Support [lo, hi] (bins, clipped to 1..=half) of the response of centre `f` on `padded` bins.
fn support(f: f64, omega0: f64, sr: f64, padded: usize) -> (usize, usize) {
    let xi = f * padded as f64 / sr;
    let half = padded / 2;
    let lo = (xi * (1.0 - SUPPORT_STD / omega0)).floor() + 1.0;
    let hi = (xi * (1.0 + SUPPORT_STD / omega0)).ceil() - 1.0;
    let lo = (lo.max(1.0) as usize).min(half);
    let hi = (hi.max(0.0) as usize).min(half);
    (lo, hi.max(lo))
}

impl Cwt {
    /// Validates the parameters for signals of `len` samples at `sample_rate` and plans the
    /// scales, hops, FFTs and the dual frame.
    pub fn new(params: CwtParams, sample_rate: f64, len: usize) -> Result<Self> {
        crate::error::check_sample_rate(sample_rate)?;
        if params.voices_per_octave == 0 {
            return Err(Error::param("voices per octave", 0, "at least 1"));
        }
        if !(params.omega0.is_finite() && (3.0..=1000.0).contains(&params.omega0)) {
            return Err(Error::param(
                "omega0",
                params.omega0,
                "3 to 1000 (below 3 the Morlet's response at 0 Hz exceeds 1 % and it is not analytic)",
            ));
        }
        if !(params.f_min.is_finite() && params.f_min > 0.0) {
            return Err(Error::param(
                "f_min",
                params.f_min,
                "a positive frequency in Hz",
            ));
        }
        if !(params.f_max.is_finite() && params.f_max > params.f_min) {
            return Err(Error::param(
                "f_max",
                params.f_max,
                format!("a frequency above f_min = {} Hz", params.f_min),
            ));
        }
        let w0 = params.omega0;
        let v = params.voices_per_octave as f64;
        let n_scales = (v * (params.f_max / params.f_min).log2() + 1e-9).floor() as usize + 1;
        let freqs: Vec<f64> = (0..n_scales)
            .map(|j| params.f_min * 2f64.powf(j as f64 / v))
            .collect();
        let top = freqs[n_scales - 1];
        let nyq = sample_rate / 2.0;
        let edge = 1.0 + NYQUIST_STD / w0;
        if top * edge > nyq {
            return Err(Error::param(
                "f_max",
                params.f_max,
                format!(
                    "at most {:.1} Hz: the top scale's band (centre + 3 std = centre·{edge:.3}) must end below the Nyquist frequency {nyq} Hz",
                    nyq / edge
                ),
            ));
        }
        if let Some(h) = params.hop {
            if !(h.fraction.is_finite() && h.fraction > 0.0 && h.fraction <= MAX_HOP_FRACTION) {
                return Err(Error::param(
                    "hop fraction",
                    h.fraction,
                    "in (0, 0.6]: coarser decimation aliases the bands and breaks the inverse",
                ));
            }
            if h.max == 0 {
                return Err(Error::param("max hop", 0, "at least 1 sample"));
            }
        }
        let sigma = |f: f64| w0 / (2.0 * PI * f);
        let min_len = (2.0 * sigma(params.f_min) * sample_rate).ceil().max(2.0) as usize;
        if len < min_len {
            return Err(Error::param(
                "signal length",
                len,
                format!(
                    "at least {min_len} samples ({:.4} s): two envelope std of the f_min = {} Hz wavelet",
                    min_len as f64 / sample_rate,
                    params.f_min
                ),
            ));
        }
        let floor_pow2 = |x: f64| -> usize {
            if x < 2.0 {
                1
            } else {
                1usize << (x.log2().floor() as u32).min(40)
            }
        };
        let mut hops: Vec<usize> = freqs
            .iter()
            .map(|&f| match params.hop {
                None => 1,
                Some(h) => floor_pow2((h.fraction * sigma(f) * sample_rate).min(h.max as f64)),
            })
            .collect();
        let pad = (4.0 * sigma(params.f_min) * sample_rate).ceil() as usize;
        let padded = loop {
            let hmax = *hops.iter().max().expect("at least one scale");
            let mut q = (len + pad).div_ceil(hmax);
            while !is_smooth(q) {
                q += 1;
            }
            let padded = q * hmax;
            // painless: every support must fit in its M_j = L̃/h_j; halve offending hops
            let mut ok = true;
            for (f, h) in freqs.iter().zip(hops.iter_mut()) {
                let (lo, hi) = support(*f, w0, sample_rate, padded);
                while *h > 1 && hi - lo + 1 > padded / *h {
                    *h /= 2;
                    ok = false;
                }
            }
            if ok {
                break padded;
            }
        };
        let half = padded / 2;
        let lf = padded as f64;
        // peak of the plan and one analysis ([`crate::budget`]): the windows (8 bytes a bin of
        // support), the coefficients over the padded length (16 bytes, complex), the points
        // made from those inside the signal (`BYTES_PER_POINT`), the padded signal and its
        // spectrum (24 bytes a sample)
        let (mut support_bins, mut coeffs, mut inside) = (0u128, 0u128, 0u128);
        for (&f, &hop) in freqs.iter().zip(&hops) {
            let (lo, hi) = support(f, w0, sample_rate, padded);
            support_bins += (hi - lo + 1) as u128;
            coeffs += (padded / hop) as u128;
            inside += len.div_ceil(hop) as u128;
        }
        let bytes = 8 * support_bins
            + 16 * coeffs
            + crate::budget::BYTES_PER_POINT * inside
            + 24 * padded as u128;
        crate::budget::check(
            "voices per octave",
            params.voices_per_octave,
            || {
                format!(
                    "a CWT of {len} samples at {} voices per octave from {:.1} to {:.1} Hz: {n_scales} \
                     scales, {coeffs} coefficients",
                    params.voices_per_octave, params.f_min, params.f_max
                )
            },
            bytes,
            "use fewer voices per octave, a larger hop, a narrower band or a shorter signal",
        )?;
        let (scales, specs): (Vec<Scale>, Vec<BandSpec>) = freqs
            .iter()
            .zip(&hops)
            .map(|(&f, &hop)| {
                let (lo, hi) = support(f, w0, sample_rate, padded);
                let win: Vec<f64> = (lo..=hi)
                    .map(|m| morlet_response(m as f64 * sample_rate / lf, f, w0))
                    .collect();
                let m = padded / hop;
                (
                    Scale {
                        freq: f,
                        sigma: sigma(f),
                        hop,
                        m,
                    },
                    BandSpec {
                        lo: lo as i64,
                        win,
                        m,
                        a: 2.0 / lf,
                        weight: 1.0,
                    },
                )
            })
            .unzip();
        // D[m] = Σ_j 4·M_j·g_j[m]²/L̃²
        let mut bank = FilterBank::new(padded, specs);
        let diag = bank.diag();
        let centre_min = freqs
            .iter()
            .map(|&f| diag[((f * lf / sample_rate).round() as usize).min(half)])
            .fold(f64::INFINITY, f64::min);
        let eps = 1e-10 * centre_min;
        if eps.is_nan() || eps <= 0.0 {
            // only reachable with a padded length so short that a centre rounds onto an empty
            // support; the length check above prevents it
            return Err(Error::param(
                "signal length",
                len,
                "long enough for every scale to have frequency support",
            ));
        }
        let response = diag.iter().map(|d| d / (d + eps)).collect();
        bank.regularize(eps);
        Ok(Cwt {
            params,
            sample_rate,
            len,
            padded,
            scales,
            bank,
            response,
        })
    }

    /// The parameters.
    pub fn params(&self) -> &CwtParams {
        &self.params
    }

    /// The planned signal length L.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: a plan has at least 2 samples.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The zero-padded length L̃ the FFTs run on.
    pub fn padded_len(&self) -> usize {
        self.padded
    }

    /// Number of scales.
    pub fn n_scales(&self) -> usize {
        self.scales.len()
    }

    /// Scale centre frequencies (Hz), low to high.
    pub fn freqs(&self) -> Vec<f64> {
        self.scales.iter().map(|s| s.freq).collect()
    }

    /// Per-scale hops (samples).
    pub fn hops(&self) -> Vec<usize> {
        self.scales.iter().map(|s| s.hop).collect()
    }

    /// The magnitude a unit-amplitude sinusoid at each scale's centre frequency produces on that
    /// scale (far from the signal's ends): `2·½·g_j(f_j)`, the analytic half of the cosine
    /// doubled. It is 1 on every scale by the amplitude normalization; a calibration divides
    /// magnitudes by it.
    pub fn unit_tone_gain(&self) -> Vec<f64> {
        let w0 = self.params.omega0;
        self.scales
            .iter()
            .map(|s| 2.0 * 0.5 * morlet_response(s.freq, s.freq, w0))
            .collect()
    }

    /// The frame's response `R[m] = D[m]/(D[m] + ε)` at bins m = 0..=L̃/2 (frequency
    /// `m·sr/L̃`): [`synthesize`](Self::synthesize) of unmodified coefficients returns the
    /// padded signal's spectrum multiplied by R, so `Σ|X̂[m]·(1 − R[m])|²` bounds its error.
    pub fn frame_response(&self) -> &[f64] {
        &self.response
    }

    /// Forward transform of `x` (exactly the planned length).
    pub fn analyze(&self, x: &[f64]) -> Result<CwtCoefficients> {
        if x.len() != self.len {
            return Err(Error::LengthMismatch {
                what: "signal vs CWT plan".into(),
                expected: self.len,
                got: x.len(),
            });
        }
        crate::error::check_finite("signal", x)?;
        Ok(self.analyze_spectrum(&self.bank.spectrum(x)))
    }

    /// The transform from the padded signal's spectrum (bins 0..=L̃/2).
    fn analyze_spectrum(&self, spec: &[Complex64]) -> CwtCoefficients {
        let scales = self
            .scales
            .iter()
            .zip(self.bank.analyze_spectrum(spec))
            .map(|(s, c)| CwtScale {
                freq: s.freq,
                sigma: s.sigma,
                hop: s.hop,
                time_step: s.hop as f64 / self.sample_rate,
                in_signal: self.len.div_ceil(s.hop),
                coeffs: c,
            })
            .collect();
        CwtCoefficients {
            scales,
            sample_rate: self.sample_rate,
            signal_len: self.len,
            padded_len: self.padded,
        }
    }

    /// Least-squares inverse (canonical dual frame) back to the planned length; exact where the
    /// scales cover the spectrum (see the module docs and [`frame_response`](Self::frame_response)).
    pub fn synthesize(&self, c: &CwtCoefficients) -> Result<Vec<f64>> {
        if c.signal_len != self.len
            || c.padded_len != self.padded
            || c.scales.len() != self.scales.len()
        {
            return Err(Error::Shape(format!(
                "coefficients of {} scales for {} samples; this plan makes {} scales for {} samples",
                c.scales.len(),
                c.signal_len,
                self.scales.len(),
                self.len
            )));
        }
        for (s, cs) in self.scales.iter().zip(&c.scales) {
            if cs.coeffs.len() != s.m {
                return Err(Error::LengthMismatch {
                    what: format!("coefficients of the scale at {:.2} Hz", s.freq),
                    expected: s.m,
                    got: cs.coeffs.len(),
                });
            }
        }
        let coeffs: Vec<&[Complex64]> = c.scales.iter().map(|s| s.coeffs.as_slice()).collect();
        let mut out = self.bank.synthesize(&coeffs);
        out.truncate(self.len);
        Ok(out)
    }
}

impl super::Transform for Cwt {
    fn name(&self) -> &'static str {
        "cwt"
    }

    fn sample_rate(&self) -> f64 {
        self.sample_rate
    }

    fn signal_len(&self) -> Option<usize> {
        Some(self.len)
    }

    fn analyze(&self, x: &[f64]) -> Result<super::Coefficients> {
        Ok(super::Coefficients::Cwt(Cwt::analyze(self, x)?))
    }

    fn unit_tone_gain(&self) -> Vec<f64> {
        Cwt::unit_tone_gain(self)
    }

    fn bin_freqs(&self) -> Vec<f64> {
        self.freqs()
    }

    /// The coefficients over the padded length, `L̃/h_j` a scale.
    fn coefficient_count(&self, _signal_len: usize) -> Result<u128> {
        Ok(self.scales.iter().map(|s| s.m as u128).sum())
    }

    /// The coefficients inside the signal: `n·h_j/sr` for `n·h_j < L`.
    fn frame_times(&self, bin: usize, signal_len: usize) -> Result<Vec<f64>> {
        super::check_bin(self, bin)?;
        super::check_fixed_len("cwt", self.len, signal_len)?;
        // as the coefficients' times: n·(h_j/sr)
        let hop = self.scales[bin].hop;
        let step = hop as f64 / self.sample_rate;
        Ok((0..self.len.div_ceil(hop))
            .map(|n| n as f64 * step)
            .collect())
    }

    /// The least-squares inverse: exact inside the band the scales cover
    /// ([`Cwt::frame_response`]).
    fn is_invertible(&self) -> bool {
        true
    }

    fn synthesize(&self, c: &super::Coefficients) -> Result<Vec<f64>> {
        match c {
            super::Coefficients::Cwt(w) => Cwt::synthesize(self, w),
            other => Err(super::wrong_coefficients("cwt", other)),
        }
    }
}

#[cfg(test)]
#[path = "cwt_tests.rs"]
mod tests;
