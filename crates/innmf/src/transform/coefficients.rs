//! [`Coefficients`]: the output of every [`Transform`](super::Transform), one type for all of
//! them, with the operations the model and the separation need in one fixed order of points.
//!
//! **Point order.** Every variant lists its points bin by bin from low to high frequency, and
//! within a bin frame by frame in time order (what [`Coefficients::to_points`] returns, what
//! [`Coefficients::apply_gains`] expects, and what `n_points` counts):
//!
//! | variant | points | not points (kept for synthesis) |
//! |---|---|---|
//! | [`Stft`](Coefficients::Stft) | every `[bin, frame]` | — |
//! | [`Cqt`](Coefficients::Cqt) | every frame of every bin | — |
//! | [`Nsgt`](Coefficients::Nsgt) | the constant-Q bands | the DC and Nyquist residual bands |
//! | [`Cwt`](Coefficients::Cwt) | the first `in_signal` coefficients of each scale | those over the zero padding |
//! | [`Multires`](Coefficients::Multires) | band after band, its kept bins | — |
//! | [`Sines`](Coefficients::Sines) | track after track, frame by frame (untracked peaks: frame by frame, loudest first) | — |
//!
//! **Gains on coefficients that are not points.** Separation (arXiv 2404.04439, §3.4: a mask
//! per point, applied to the complex coefficients) gives one gain per point; a coefficient that
//! is not a point takes the gain of the point nearest to it in time on the nearest band: the
//! NSGT's DC band that of the lowest constant-Q band, its Nyquist band that of the highest
//! (times modulo the signal length: the NSGT is circular), a CWT coefficient over the padding
//! that of the scale's first or last coefficient inside the signal, whichever is nearer
//! circularly. That extension is linear and maps all-ones to all-ones, so for every invertible
//! transform `synthesize(c·g) + synthesize(c·(1 − g)) = synthesize(c)`.

use super::calibration::{BinScale, Calibration};
use super::cqt::CqtCoefficients;
use super::cwt::CwtCoefficients;
use super::multires::MultiresSpectrogram;
use super::nsgt::{BandKind, NsgtCoefficients};
use super::sines::SinusoidalCoefficients;
use super::stft::Spectrogram;
use crate::error::{Error, Result};
use crate::points::TfPoints;

/// The coefficients of any transform, with their coordinates and what synthesis needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Coefficients {
    /// [`Stft`](super::Stft): one grid of complex coefficients.
    Stft(Spectrogram),
    /// [`DirectCqt`](super::DirectCqt), [`FastCqt`](super::FastCqt), [`Vqt`](super::Vqt):
    /// complex coefficients per bin, each bin on its own time grid.
    Cqt(CqtCoefficients),
    /// [`Nsgt`](super::Nsgt): complex coefficients per band (DC, constant-Q…, Nyquist).
    Nsgt(NsgtCoefficients),
    /// [`Cwt`](super::Cwt): complex coefficients per scale over the padded length.
    Cwt(CwtCoefficients),
    /// [`Multires`](super::Multires): one STFT per band, its kept bins only.
    Multires(MultiresSpectrogram),
    /// [`SinusoidalModel`](super::SinusoidalModel): peaks, or partial tracks.
    Sines(SinusoidalCoefficients),
}

fn check_gains(gains: &[f64], n: usize) -> Result<()> {
    if gains.len() != n {
        return Err(Error::LengthMismatch {
            what: "gains vs points of the coefficients".into(),
            expected: n,
            got: gains.len(),
        });
    }
    crate::error::check_finite("gains", gains)
}

/// Index of the coefficient of a band with `m` coefficients `step` seconds apart that is nearest
/// to time `t` on a circle of `period` seconds.
fn nearest_circular(t: f64, step: f64, m: usize, period: f64) -> usize {
    let t = t.rem_euclid(period);
    ((t / step).round() as usize) % m
}

impl Coefficients {
    /// Which transform family made them: `stft`, `cqt`, `nsgt`, `cwt`, `multires` or `sines`.
    pub fn kind(&self) -> &'static str {
        match self {
            Coefficients::Stft(_) => "stft",
            Coefficients::Cqt(_) => "cqt",
            Coefficients::Nsgt(_) => "nsgt",
            Coefficients::Cwt(_) => "cwt",
            Coefficients::Multires(_) => "multires",
            Coefficients::Sines(_) => "sines",
        }
    }

    /// The sample rate (Hz) of the analyzed signal.
    pub fn sample_rate(&self) -> f64 {
        match self {
            Coefficients::Stft(s) => s.sample_rate,
            Coefficients::Cqt(c) => c.sample_rate,
            Coefficients::Nsgt(c) => c.sample_rate,
            Coefficients::Cwt(c) => c.sample_rate,
            Coefficients::Multires(c) => c.sample_rate,
            Coefficients::Sines(c) => c.sample_rate,
        }
    }

    /// The length (samples) of the analyzed signal: what synthesis returns.
    pub fn signal_len(&self) -> usize {
        match self {
            Coefficients::Stft(s) => s.signal_len,
            Coefficients::Cqt(c) => c.signal_len,
            Coefficients::Nsgt(c) => c.signal_len,
            Coefficients::Cwt(c) => c.signal_len,
            Coefficients::Multires(c) => c.signal_len,
            Coefficients::Sines(c) => c.signal_len,
        }
    }

    /// Number of points (see the module docs for which coefficients are points).
    pub fn n_points(&self) -> usize {
        match self {
            Coefficients::Stft(s) => s.n_bins * s.n_frames,
            Coefficients::Cqt(c) => c.len(),
            Coefficients::Nsgt(c) => c
                .bands
                .iter()
                .filter(|b| b.kind == BandKind::ConstantQ)
                .map(|b| b.coeffs.len())
                .sum(),
            Coefficients::Cwt(c) => c.len(),
            Coefficients::Multires(c) => c.len(),
            Coefficients::Sines(c) => c.n_points(),
        }
    }

    /// The point set of `|c|^p` in the documented order (p = 1: magnitudes; the paper uses 0.5).
    /// An error when there is no point (a sinusoidal model that found no peak).
    pub fn to_points(&self, p: f64) -> Result<TfPoints> {
        match self {
            Coefficients::Stft(s) => s.to_points(p),
            Coefficients::Cqt(c) => c.to_points(p),
            Coefficients::Nsgt(c) => c.to_points(p),
            Coefficients::Cwt(c) => c.to_points(p),
            Coefficients::Multires(c) => c.to_points(p),
            Coefficients::Sines(c) => c.to_points(p),
        }
    }

    /// Multiplies each point's coefficient by its gain (`gains[i]` for point i in the documented
    /// order): the complex coefficient, or a sinusoidal peak's amplitude. Coefficients that are
    /// not points take the gain of their nearest point (module docs). An error when the number
    /// of gains is not [`n_points`](Self::n_points) or a gain is not finite.
    pub fn apply_gains(&mut self, gains: &[f64]) -> Result<()> {
        check_gains(gains, self.n_points())?;
        match self {
            Coefficients::Stft(s) => {
                s.coeffs.iter_mut().zip(gains).for_each(|(c, g)| *c *= g);
            }
            Coefficients::Cqt(c) => {
                let mut i = 0;
                for b in &mut c.bins {
                    let n = b.coeffs.len();
                    b.coeffs
                        .iter_mut()
                        .zip(&gains[i..i + n])
                        .for_each(|(c, g)| *c *= g);
                    i += n;
                }
            }
            Coefficients::Nsgt(c) => apply_nsgt(c, gains),
            Coefficients::Cwt(c) => {
                let mut i = 0;
                for s in &mut c.scales {
                    let (n, m) = (s.in_signal, s.coeffs.len());
                    let g = &gains[i..i + n];
                    for (k, v) in s.coeffs.iter_mut().enumerate() {
                        // over the padding: the nearer of the first and last point, circularly
                        let gi = if k < n {
                            k
                        } else if k - (n - 1) <= m - k {
                            n - 1
                        } else {
                            0
                        };
                        *v *= g[gi];
                    }
                    i += n;
                }
            }
            Coefficients::Multires(c) => {
                let mut i = 0;
                for b in &mut c.bands {
                    let n = b.spectrogram.coeffs.len();
                    b.spectrogram
                        .coeffs
                        .iter_mut()
                        .zip(&gains[i..i + n])
                        .for_each(|(c, g)| *c *= g);
                    i += n;
                }
            }
            Coefficients::Sines(c) => {
                for (q, g) in c.points_mut().zip(gains) {
                    q.amp *= g;
                }
            }
        }
        Ok(())
    }

    /// Rescales the coefficients bin by bin: nothing for [`Calibration::Native`]; for
    /// [`Calibration::UnitTone`] bin k is divided by `unit_tone_gain[k]`, the plan's
    /// [`Transform::unit_tone_gain`](super::Transform::unit_tone_gain), so a unit-amplitude
    /// sinusoid at a bin's centre reads 1 in every transform.
    pub fn calibrate(&mut self, calibration: Calibration, unit_tone_gain: &[f64]) -> Result<()> {
        calibration.apply(self, unit_tone_gain)
    }
}

fn apply_nsgt(c: &mut NsgtCoefficients, gains: &[f64]) {
    let period = c.signal_len as f64 / c.sample_rate;
    // (first point index, time step, count) of every constant-Q band
    let mut cq = Vec::new();
    let mut i = 0;
    for b in &c.bands {
        if b.kind == BandKind::ConstantQ {
            cq.push((i, b.time_step, b.coeffs.len()));
            i += b.coeffs.len();
        }
    }
    let (Some(&lowest), Some(&highest)) = (cq.first(), cq.last()) else {
        return;
    };
    let mut next = 0;
    for b in &mut c.bands {
        match b.kind {
            BandKind::ConstantQ => {
                let (start, _, n) = cq[next];
                next += 1;
                b.coeffs
                    .iter_mut()
                    .zip(&gains[start..start + n])
                    .for_each(|(c, g)| *c *= g);
            }
            BandKind::Dc | BandKind::Nyquist => {
                let (start, step, n) = if b.kind == BandKind::Dc {
                    lowest
                } else {
                    highest
                };
                let dt = b.time_step;
                for (k, v) in b.coeffs.iter_mut().enumerate() {
                    *v *= gains[start + nearest_circular(k as f64 * dt, step, n, period)];
                }
            }
        }
    }
}

impl BinScale for Coefficients {
    fn n_bins(&self) -> usize {
        match self {
            Coefficients::Stft(s) => s.n_bins(),
            Coefficients::Cqt(c) => c.n_bins(),
            Coefficients::Nsgt(c) => c.n_bins(),
            Coefficients::Cwt(c) => c.n_bins(),
            Coefficients::Multires(c) => c.n_bins(),
            Coefficients::Sines(c) => c.n_bins(),
        }
    }

    fn divide_bins(&mut self, divisors: &[f64]) {
        match self {
            Coefficients::Stft(s) => s.divide_bins(divisors),
            Coefficients::Cqt(c) => c.divide_bins(divisors),
            Coefficients::Nsgt(c) => c.divide_bins(divisors),
            Coefficients::Cwt(c) => c.divide_bins(divisors),
            Coefficients::Multires(c) => c.divide_bins(divisors),
            Coefficients::Sines(c) => c.divide_bins(divisors),
        }
    }
}
