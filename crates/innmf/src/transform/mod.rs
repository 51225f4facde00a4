//! Time-frequency transforms. Each is a plan (`::new(params, sample_rate)?`) that analyzes
//! signals into coefficients with true frame-centre times (s) and centre frequencies (Hz),
//! convertible to [`TfPoints`](crate::TfPoints), and keeps the complex coefficients that
//! inversion needs.
//!
//! Every plan implements [`Transform`], so the eight of them are used one way (and through
//! `Box<dyn Transform>`): [`Stft`], [`DirectCqt`], [`FastCqt`], [`Vqt`], [`Nsgt`], [`Cwt`],
//! [`SinusoidalModel`] and [`Multires`]. Their output is one type, [`Coefficients`], with the
//! point set, the per-point gains a separation applies and the per-bin calibration in one
//! documented order.

pub mod calibration;
pub mod coefficients;
pub mod cqt;
pub mod cwt;
mod filterbank;
pub mod multires;
pub mod nsgt;
pub mod partials;
pub mod representation;
pub mod sines;
pub mod sinusoidal;
pub mod stft;
pub mod window;

pub use calibration::{BinScale, Calibration};
pub use coefficients::Coefficients;
pub use cqt::{CqtBin, CqtCoefficients, DirectCqt, DirectCqtParams, FastCqt, Vqt, VqtParams};
pub use cwt::{Cwt, CwtCoefficients, CwtHop, CwtParams, CwtScale};
pub use multires::{Multires, MultiresBand, MultiresParams, MultiresSpectrogram};
pub use nsgt::{BandKind, Nsgt, NsgtBand, NsgtCoefficients, NsgtParams};
pub use partials::{
    synthesize_tracks, track_peaks, tracks_to_points, MaxDeviation, Track, TrackParams, TrackPoint,
};
pub use representation::{
    Analysis, CqtKernels, CqtSpec, CwtSpec, HybridSpec, MultiresSpec, NsgtSpec, Representation,
    RepresentationOptions, Segment, SinesSpec, TransformKind, VqtSpec,
};
pub use sines::{SinusoidalCoefficients, SinusoidalModel};
pub use sinusoidal::{Peak, Sinusoidal, SinusoidalParams};
pub use stft::{Norm, Padding, Spectrogram, Stft, StftParams};
pub use window::WindowKind;

use crate::error::{Error, Result};

/// A planned time-frequency transform for one sample rate (and, for [`Nsgt`] and [`Cwt`], one
/// signal length): what every plan offers, object-safe so that front ends and the separation
/// hold a `Box<dyn Transform>`.
///
/// A *bin* is a row of coefficients that share one centre frequency (an STFT bin, a constant-Q
/// bin, an NSGT band, a CWT scale, a kept bin of a multi-resolution band; for the sinusoidal
/// model, an FFT bin of the peak picker, where calibration looks a peak's gain up). Bins are
/// numbered from low to high frequency in the order [`Coefficients`] stores them.
///
/// Contract, checked for every plan by `tests/transform_conformance.rs`: a unit-amplitude
/// sinusoid at a bin's centre reads `unit_tone_gain()[k]` in that bin away from the signal's
/// ends (1 after [`Coefficients::calibrate`] with [`Calibration::UnitTone`]) and more than in
/// any other bin; an impulse peaks, in every bin, at the frame nearest to it; for an invertible
/// plan `synthesize(analyze(x)) ≈ x` (to the plan's stated accuracy) and synthesis is linear in
/// the per-point gains.
pub trait Transform: Send + Sync + std::fmt::Debug {
    /// Short name, as the command line spells it (`stft`, `cqt`, `vqt`, …).
    fn name(&self) -> &'static str;

    /// The sample rate (Hz) fixed at plan time.
    fn sample_rate(&self) -> f64;

    /// The signal length the plan is fixed to ([`Nsgt`], [`Cwt`]), or None when it analyzes
    /// any length.
    fn signal_len(&self) -> Option<usize> {
        None
    }

    /// Forward transform of `x`, sampled at [`sample_rate`](Self::sample_rate). Empty,
    /// non-finite or too short signals (and, for a plan fixed to a length, any other length) are
    /// errors.
    fn analyze(&self, x: &[f64]) -> Result<Coefficients>;

    /// Per bin, the magnitude that a unit-amplitude sinusoid at the bin's centre frequency
    /// reads away from the signal's ends (see [`calibration`]).
    fn unit_tone_gain(&self) -> Vec<f64>;

    /// Per bin, its centre frequency (Hz), low to high.
    fn bin_freqs(&self) -> Vec<f64>;

    /// Number of bins.
    fn n_bins(&self) -> usize {
        self.bin_freqs().len()
    }

    /// The frame-centre times (s) of bin `bin` for a signal of `signal_len` samples (all
    /// coefficients of the bin that are points, in order). An error for a bin out of range, a
    /// length the plan cannot analyze, or (plans fixed to a length) another length.
    fn frame_times(&self, bin: usize, signal_len: usize) -> Result<Vec<f64>>;

    /// An upper bound on the coefficients [`analyze`](Self::analyze) holds at once for a signal
    /// of `signal_len` samples (what [`crate::budget`] sizes an analysis by). By default the
    /// frames of every bin; plans override it where that is not what they store or where
    /// counting is cheaper.
    fn coefficient_count(&self, signal_len: usize) -> Result<u128> {
        (0..self.n_bins()).try_fold(0u128, |acc, bin| {
            Ok(acc + self.frame_times(bin, signal_len)?.len() as u128)
        })
    }

    /// Whether [`synthesize`](Self::synthesize) exists.
    fn is_invertible(&self) -> bool;

    /// Inverse transform back to `c.signal_len()` samples; an error naming the transform when it
    /// has no inverse, or when `c` was not made by a plan like this one.
    fn synthesize(&self, c: &Coefficients) -> Result<Vec<f64>>;
}

/// The error of [`Transform::synthesize`] on a plan without an inverse.
pub(crate) fn not_invertible(name: &'static str) -> Error {
    Error::param(
        "transform",
        name,
        "an invertible transform to synthesize (stft, nsgt, cwt, sines, multires)",
    )
}

/// The error of [`Transform::synthesize`] given another transform's coefficients.
pub(crate) fn wrong_coefficients(name: &'static str, c: &Coefficients) -> Error {
    Error::Shape(format!(
        "{} coefficients given to the {name} transform",
        c.kind()
    ))
}

/// Checks a bin index against a plan's bins.
pub(crate) fn check_bin<T: Transform + ?Sized>(plan: &T, bin: usize) -> Result<()> {
    let n = plan.n_bins();
    if bin >= n {
        return Err(Error::param(
            "bin",
            bin,
            format!("a bin index below {n} (the {} plan's bins)", plan.name()),
        ));
    }
    Ok(())
}

/// Checks the signal length given to a plan fixed to one length.
pub(crate) fn check_fixed_len(name: &'static str, planned: usize, len: usize) -> Result<()> {
    if len != planned {
        return Err(Error::LengthMismatch {
            what: format!("signal vs {name} plan"),
            expected: planned,
            got: len,
        });
    }
    Ok(())
}

/// The point set of `|c|^p` from per-band coefficients: each band `(freq, coeffs, time)` puts
/// `coeffs[i]` at time `time(i)` and frequency `freq` (the shared body of the banded transforms'
/// `to_points`).
pub(crate) fn band_points<'a, T: Fn(usize) -> f64>(
    bands: impl IntoIterator<Item = (f64, &'a [num_complex::Complex64], T)>,
    p: f64,
) -> crate::error::Result<crate::TfPoints> {
    // sized once: growing by doubling held up to three times the points at a reallocation
    let bands: Vec<_> = bands.into_iter().collect();
    let n: usize = bands.iter().map(|(_, c, _)| c.len()).sum();
    let (mut t, mut f, mut m) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for (freq, coeffs, time) in bands {
        for (i, c) in coeffs.iter().enumerate() {
            t.push(time(i));
            f.push(freq);
            m.push(c.norm());
        }
    }
    crate::TfPoints::new(t, f, m)?.into_powered(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(n: usize, seed: u64) -> Vec<f64> {
        use rand::{Rng, SeedableRng};
        let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| r.random_range(-1.0..1.0)).collect()
    }

    /// Every plan through `Box<dyn Transform>`: points agree with `n_points`, per-point gains
    /// split an invertible transform's synthesis linearly, others refuse to synthesize.
    #[test]
    fn every_plan_works_through_the_trait_object() {
        let sr = 8000.0;
        let len = 6000;
        let x: Vec<f64> = noise(len, 1)
            .iter()
            .enumerate()
            .map(|(i, v)| v + (2.0 * std::f64::consts::PI * 440.0 * i as f64 / sr).cos())
            .collect();
        let cqt = DirectCqtParams {
            q: 12.0,
            bins_per_octave: 12,
            f_min: 100.0,
            n_bins: 36,
            hop_divisor: 4,
        };
        let mut vqt = VqtParams::librosa_default();
        vqt.f_min = 100.0;
        vqt.n_bins = 36;
        vqt.hop = 64;
        let plans: Vec<Box<dyn Transform>> = vec![
            Box::new(Stft::new(StftParams::new(256, 64), sr).unwrap()),
            Box::new(DirectCqt::new(cqt, sr).unwrap()),
            Box::new(FastCqt::new(cqt, sr).unwrap()),
            Box::new(Vqt::new(vqt, sr).unwrap()),
            Box::new(Nsgt::new(NsgtParams::new(100.0, 3000.0, 12), sr, len).unwrap()),
            Box::new(Cwt::new(CwtParams::new(100.0, 2500.0, 12), sr, len).unwrap()),
            Box::new(
                SinusoidalModel::new(
                    SinusoidalParams::new(512, 128),
                    Some(TrackParams::default()),
                    sr,
                )
                .unwrap(),
            ),
            Box::new(Multires::new(MultiresParams::default_for(sr), sr).unwrap()),
        ];
        for plan in &plans {
            let name = plan.name();
            assert_eq!(plan.sample_rate(), sr);
            let c = plan.analyze(&x).unwrap();
            assert_eq!(c.signal_len(), len, "{name}");
            let n = c.n_points();
            assert_eq!(c.to_points(1.0).unwrap().len(), n, "{name}");
            assert_eq!(plan.unit_tone_gain().len(), plan.n_bins(), "{name}");
            if !plan.is_invertible() {
                let e = plan.synthesize(&c).unwrap_err();
                assert!(e.to_string().contains(name), "{name}: {e}");
                continue;
            }
            let g: Vec<f64> = (0..n).map(|i| (i % 7) as f64 / 6.0).collect();
            let (mut a, mut b) = (c.clone(), c.clone());
            a.apply_gains(&g).unwrap();
            b.apply_gains(&g.iter().map(|v| 1.0 - v).collect::<Vec<_>>())
                .unwrap();
            let (ya, yb) = (plan.synthesize(&a).unwrap(), plan.synthesize(&b).unwrap());
            let y = plan.synthesize(&c).unwrap();
            let scale = y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            for i in 0..len {
                // sums of O(L) rounded f64 terms
                assert!(
                    (ya[i] + yb[i] - y[i]).abs() < 1e-9 * scale,
                    "{name} sample {i}"
                );
            }
            assert!(c.clone().apply_gains(&g[1..]).is_err());
        }
    }
}
