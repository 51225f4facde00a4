//! The constant-Q family: the paper's constant-Q transform computed by direct sums
//! ([`DirectCqt`]) and with sparse spectral kernels ([`FastCqt`]), and librosa's variable-Q
//! transform ([`Vqt`]). All three give [`CqtCoefficients`]: per bin, complex coefficients on the
//! bin's own time grid.
//!
//! * [`direct`](DirectCqt): the paper's definition (arXiv 2404.04439, §4.1 demo: Q cycles per
//!   window, per-bin hop `N_k/hop_divisor`, true frame times);
//! * `kernel_bank`: the sparse-spectral-kernel engine (Schörkhuber & Klapuri 2010) that
//!   [`FastCqt`] and [`Vqt`] share;
//! * [`fast`](FastCqt): the paper's transform through that engine, equal to the direct sums to
//!   about 1e-6 relative;
//! * [`vqt`](Vqt): librosa's `vqt`/`cqt` (`librosa.filters.wavelet` kernels: fractional lengths
//!   `ℓ_k = Q·sr/(f_k + γ/α)`, `Q = filter_scale/α`, `α = (r²−1)/(r²+1)`, `r = 2^{1/B}`, periodic
//!   Hann, L1-normalised and scaled by `√ℓ_k`; one hop for all bins, frames centred on `j·hop`),
//!   analysed octave by octave at halved rates (`decimate`: a 120 dB half-band filter).

mod decimate;
mod direct;
mod fast;
mod kernel_bank;
mod vqt;

pub use direct::{DirectCqt, DirectCqtParams, MAX_DIRECT_KERNEL_SAMPLES};
pub use fast::FastCqt;
pub use vqt::{Vqt, VqtParams};

use crate::error::{Error, Result};
use crate::points::TfPoints;
use num_complex::Complex64;

/// One bin's frames.
#[derive(Debug, Clone, PartialEq)]
pub struct CqtBin {
    /// Analysis frequency Q·sr/N_k (Hz).
    pub freq: f64,
    /// Window length N_k.
    pub window_len: usize,
    /// Hop H_k.
    pub hop: usize,
    /// Frame centre times (s).
    pub times: Vec<f64>,
    /// Complex coefficients per frame.
    pub coeffs: Vec<Complex64>,
}

/// Output of the constant-Q transforms ([`DirectCqt`], [`FastCqt`], [`Vqt`]).
#[derive(Debug, Clone, PartialEq)]
pub struct CqtCoefficients {
    /// Bins from low to high frequency.
    pub bins: Vec<CqtBin>,
    /// Sample rate (Hz).
    pub sample_rate: f64,
    /// Analyzed signal length.
    pub signal_len: usize,
}

impl super::calibration::BinScale for CqtCoefficients {
    fn n_bins(&self) -> usize {
        self.bins.len()
    }

    fn divide_bins(&mut self, divisors: &[f64]) {
        super::calibration::divide_rows(
            self.bins.iter_mut().map(|b| b.coeffs.as_mut_slice()),
            divisors,
        );
    }
}

impl CqtCoefficients {
    /// Total number of coefficients.
    pub fn len(&self) -> usize {
        self.bins.iter().map(|b| b.coeffs.len()).sum()
    }

    /// True when there are no coefficients.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The point set of `|X|^p`.
    pub fn to_points(&self, p: f64) -> Result<TfPoints> {
        super::band_points(
            self.bins.iter().map(|b| {
                let times = &b.times;
                let n = times.len().min(b.coeffs.len());
                (b.freq, &b.coeffs[..n], move |i: usize| times[i])
            }),
            p,
        )
    }
}

/// Frame centres `0, H, 2H, …` below `L − N/2` (the paper's framing); an error when the signal
/// is not longer than half the window.
pub(crate) fn inside_half_centres(
    bin: usize,
    window_len: usize,
    hop: usize,
    signal_len: usize,
) -> Result<Vec<usize>> {
    let half = window_len / 2;
    if signal_len <= half {
        return Err(Error::param(
            "signal length",
            signal_len,
            format!("more than {half} samples (half the window of constant-Q bin {bin})"),
        ));
    }
    Ok((0..)
        .map(|j| j * hop)
        .take_while(|&c| c < signal_len - half)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// For every bin, the frame with the largest response to an impulse is the one whose centre
    /// is nearest to it: within half a hop.
    fn assert_impulse_timing(c: &CqtCoefficients, at: usize, sr: f64, what: &str) {
        for b in &c.bins {
            let (j, _) = b
                .coeffs
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.norm().total_cmp(&b.1.norm()))
                .unwrap();
            let err = (b.times[j] - at as f64 / sr).abs();
            assert!(
                err <= b.hop as f64 / 2.0 / sr + 1e-12,
                "{what}: bin {:.1} Hz peaks at {} s (hop {})",
                b.freq,
                b.times[j],
                b.hop
            );
        }
    }

    #[test]
    fn impulse_times_are_within_half_a_hop_in_every_bin() {
        let sr = 8000.0;
        let n = 12000;
        for at in [3001usize, 5000, 7013] {
            let mut x = vec![0.0; n];
            x[at] = 1.0;
            assert_impulse_timing(&vqt(64).analyze(&x).unwrap(), at, sr, "vqt");
            let p = DirectCqtParams {
                q: 12.0,
                bins_per_octave: 12,
                f_min: 60.0,
                n_bins: 48,
                hop_divisor: 4,
            };
            assert_impulse_timing(
                &FastCqt::new(p, sr).unwrap().analyze(&x).unwrap(),
                at,
                sr,
                "fast cqt",
            );
        }
    }

    fn vqt(hop: usize) -> Vqt {
        Vqt::new(
            VqtParams {
                f_min: 55.0,
                n_bins: 60,
                bins_per_octave: 12,
                filter_scale: 1.0,
                gamma: 0.0,
                hop,
            },
            8000.0,
        )
        .unwrap()
    }
}
