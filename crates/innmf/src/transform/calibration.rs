//! Magnitude calibration: one scale for every transform.
//!
//! Each transform has its own native normalization (the table below; `c` is the STFT scale,
//! `w` the window). When one model sees several transforms (a hybrid) their magnitudes should
//! agree, so every plan reports, per bin, its **unit-tone gain**: the magnitude (before the power
//! p) that a unit-amplitude sinusoid at the bin's centre frequency reads in a frame fully inside
//! the signal. [`Calibration::UnitTone`] divides each bin by it, so that such a tone reads 1.0 in
//! every representation.
//!
//! | transform | native normalization | unit-tone gain |
//! |---|---|---|
//! | [`Stft`](super::Stft), [`Norm::Ortho`](super::Norm) | `1/√N` (the paper's) | `Σw/(2√N)`; `√N/4` for periodic Hann |
//! | [`Stft`](super::Stft), [`Norm::None`](super::Norm) | none | `Σw/2` |
//! | [`Stft`](super::Stft), [`Norm::Amplitude`](super::Norm) | `2/Σw` | 1 |
//! | | (DC and Nyquist bins: twice the above) | |
//! | [`DirectCqt`](super::DirectCqt), [`FastCqt`](super::FastCqt) | `1/√N_k`, symmetric Hann | `(N_k − 1)/(4√N_k)` |
//! | [`Vqt`](super::Vqt) | L1-normalised Hann × `√ℓ_k` (librosa `scale=True`) | `√ℓ_k/2` |
//! | [`Nsgt`](super::Nsgt) | `2/L` (DC, Nyquist `1/L`) | 1 |
//! | [`Sinusoidal`](super::Sinusoidal) | window-corrected interpolated peak amplitude | 1 |
//! | [`Multires`](super::Multires) | per band as its STFT (default `2/Σw`) | 1 by default |
//! | paper hybrid ([`Representation::paper_hybrid`](super::Representation::paper_hybrid)) | STFTs `1/√N`, CQT as above | per part |
//!
//! The gains are analytic (sums of each kernel's window); they neglect the tone's
//! negative-frequency image, which is why a tone within a few bins of DC reads slightly off.
//! The tests below measure them by analyzing unit tones.
//!
//! Every plan's gains are [`Transform::unit_tone_gain`](super::Transform::unit_tone_gain);
//! `coeffs.calibrate(calibration, &plan.unit_tone_gain())` applies them to any
//! [`Coefficients`](super::Coefficients). The typed coefficient structs implement [`BinScale`]
//! too, so `calibration.apply(&mut typed, &gains)` works on them directly.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Which magnitude scale to report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Calibration {
    /// Each transform's own normalization (see the module table).
    #[default]
    Native,
    /// Divide every bin by its unit-tone gain: a unit-amplitude sinusoid at a bin's centre reads
    /// magnitude 1 in every transform.
    UnitTone,
}

/// Coefficients organised in bins (rows of equal frequency) that calibration can rescale.
pub trait BinScale {
    /// Number of bins: the length of the `unit_tone_gain()` of the plan that made them.
    fn n_bins(&self) -> usize;
    /// Divides every coefficient of bin k by `divisors[k]` (`divisors.len() == n_bins()`).
    fn divide_bins(&mut self, divisors: &[f64]);
}

/// Divides every coefficient of row k by `divisors[k]`: the one body of the banded
/// coefficients' [`BinScale::divide_bins`].
pub(crate) fn divide_rows<'a>(
    rows: impl Iterator<Item = &'a mut [num_complex::Complex64]>,
    divisors: &[f64],
) {
    for (row, &d) in rows.zip(divisors) {
        row.iter_mut().for_each(|c| *c /= d);
    }
}

impl Calibration {
    /// Rescales `coeffs` in place: nothing for [`Calibration::Native`]; for
    /// [`Calibration::UnitTone`] each bin is divided by its gain from `unit_tone_gain` (the
    /// plan's `unit_tone_gain()`).
    pub fn apply<C: BinScale + ?Sized>(self, coeffs: &mut C, unit_tone_gain: &[f64]) -> Result<()> {
        if self == Calibration::Native {
            return Ok(());
        }
        if unit_tone_gain.len() != coeffs.n_bins() {
            return Err(Error::LengthMismatch {
                what: "unit-tone gains vs coefficient bins".into(),
                expected: coeffs.n_bins(),
                got: unit_tone_gain.len(),
            });
        }
        if let Some((k, g)) = unit_tone_gain
            .iter()
            .enumerate()
            .find(|(_, g)| !(g.is_finite() && **g > 0.0))
        {
            return Err(Error::param(
                "unit-tone gain",
                format!("{g} (bin {k})"),
                "a positive finite gain",
            ));
        }
        coeffs.divide_bins(unit_tone_gain);
        Ok(())
    }

    /// Parses a CLI name: `native` or `unit-tone`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "native" | "none" => Some(Calibration::Native),
            "unit-tone" | "unit" => Some(Calibration::UnitTone),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use super::*;
    use std::f64::consts::PI;

    fn tone(f: f64, sr: f64, len: usize, phase: f64) -> Vec<f64> {
        (0..len)
            .map(|i| (2.0 * PI * f * i as f64 / sr + phase).cos())
            .collect()
    }

    /// Largest |reading − 1| over the readings; asserts there are some.
    fn worst(name: &str, readings: &[f64]) -> f64 {
        assert!(readings.len() >= 3, "{name}: {} readings", readings.len());
        let e = readings.iter().map(|r| (r - 1.0).abs()).fold(0.0, f64::max);
        eprintln!(
            "{name}: {} readings, worst |reading − 1| = {e:.2e}",
            readings.len()
        );
        e
    }

    #[test]
    fn stft_unit_tones_read_one_for_every_window_and_norm() {
        let (sr, n, hop, len) = (8000.0, 256, 64, 4096);
        for window in [
            WindowKind::SqrtHann,
            WindowKind::Hann,
            WindowKind::HannSymmetric,
            WindowKind::Rectangular,
        ] {
            for norm in [Norm::Ortho, Norm::None, Norm::Amplitude] {
                let stft = Stft::new(
                    StftParams {
                        window_len: n,
                        hop,
                        window,
                        padding: Padding::Center,
                        norm,
                    },
                    sr,
                )
                .unwrap();
                let gain = stft.unit_tone_gain();
                for k in [4usize, 40, 100, 127] {
                    let f = k as f64 * sr / n as f64;
                    let mut s = stft.analyze(&tone(f, sr, len, 0.7)).unwrap();
                    Calibration::UnitTone.apply(&mut s, &gain).unwrap();
                    let r: Vec<f64> = (0..s.n_frames)
                        .filter(|&j| {
                            s.times[j] * sr >= n as f64 && s.times[j] * sr <= (len - n) as f64
                        })
                        .map(|j| s.coeffs[k * s.n_frames + j].norm())
                        .collect();
                    // The tone's negative-frequency image sits d = min(2k, N − 2k) bins away.
                    // Periodic Hann and rectangular spectra vanish there: exact. √Hann's
                    // transform is ∝ cos(πν)/(1 − 4ν²), so the image adds at most
                    // 1/(4d² − 1) (0.067 at bin 127, 2 bins from its image across Nyquist);
                    // the symmetric Hann is within 1/N of a periodic one: 1e-3.
                    let d = (2 * k).min(n - 2 * k) as f64;
                    let tol = match window {
                        WindowKind::Hann | WindowKind::Rectangular => 1e-9,
                        WindowKind::SqrtHann => 1.0 / (4.0 * d * d - 1.0),
                        WindowKind::HannSymmetric => 1e-3,
                    };
                    let e = worst("stft", &r);
                    assert!(e < tol, "{window:?} {norm:?} bin {k}: off by {e}");
                }
            }
        }
    }

    #[test]
    fn constant_q_and_variable_q_unit_tones_read_one() {
        let sr = 8000.0;
        let len = 24000;
        let params = DirectCqtParams {
            q: 16.0,
            bins_per_octave: 12,
            f_min: 100.0,
            n_bins: 48,
            hop_divisor: 4,
        };
        let direct = DirectCqt::new(params, sr).unwrap();
        let fast = FastCqt::new(params, sr).unwrap();
        let gd = direct.unit_tone_gain();
        let gf = fast.unit_tone_gain();
        for (a, b) in gd.iter().zip(&gf) {
            assert!((a - b).abs() < 1e-12 * a);
        }
        let layout = direct.bin_layout();
        for k in [0usize, 20, 47] {
            let (nk, _, f) = layout[k];
            let x = tone(f, sr, len, 1.1);
            for (name, mut c, g) in [
                ("direct cqt", direct.analyze(&x).unwrap(), &gd),
                ("fast cqt", fast.analyze(&x).unwrap(), &gf),
            ] {
                Calibration::UnitTone.apply(&mut c, g).unwrap();
                let b = &c.bins[k];
                let r: Vec<f64> = b
                    .times
                    .iter()
                    .zip(&b.coeffs)
                    .filter(|(t, _)| **t * sr >= nk as f64 && **t * sr <= (len - nk) as f64)
                    .map(|(_, c)| c.norm())
                    .collect();
                // the image 2Q = 32 cycles away leaks ≲ 1e-5; the fast kernels' truncation
                // adds ≤ 2e-6
                let e = worst(name, &r);
                assert!(e < 1e-4, "{name} bin {k}: off by {e}");
            }
        }
        let mut vp = VqtParams::librosa_default();
        vp.f_min = 100.0;
        vp.n_bins = 48;
        vp.hop = 128;
        let vqt = Vqt::new(vp, sr).unwrap();
        let gv = vqt.unit_tone_gain();
        for k in [0usize, 20, 47] {
            let f = vp.frequencies()[k];
            let ell = vqt.lengths()[k];
            let mut c = vqt.analyze(&tone(f, sr, len, 0.2)).unwrap();
            Calibration::UnitTone.apply(&mut c, &gv).unwrap();
            let b = &c.bins[k];
            let r: Vec<f64> = b
                .times
                .iter()
                .zip(&b.coeffs)
                .filter(|(t, _)| **t * sr >= ell && **t * sr <= len as f64 - ell)
                .map(|(_, c)| c.norm())
                .collect();
            // librosa's Q for 12 bins per octave is ≈ 17 cycles: the image leaks ≲ 1e-5
            let e = worst("vqt", &r);
            assert!(e < 1e-4, "vqt bin {k}: off by {e}");
        }
    }

    #[test]
    fn nsgt_sines_and_multires_unit_tones_read_one() {
        // NSGT: tones at band centres (not DFT bins of the whole signal, so the rectangular
        // observation window adds a transient at the ends), read over the middle half
        let sr = 8000.0;
        let len = 32000;
        let nsgt = Nsgt::new(NsgtParams::new(100.0, 3000.0, 12), sr, len).unwrap();
        let gn = nsgt.unit_tone_gain();
        assert_eq!(gn.len(), nsgt.n_bands());
        for j in [1usize, 30, 58] {
            let f = 100.0 * 2f64.powf((j - 1) as f64 / 12.0);
            let mut c = nsgt.analyze(&tone(f, sr, len, 0.4)).unwrap();
            Calibration::UnitTone.apply(&mut c, &gn).unwrap();
            let b = &c.bands[j];
            assert!((b.freq - f).abs() < 1e-9);
            let n = b.coeffs.len();
            let r: Vec<f64> = b.coeffs[n / 4..3 * n / 4]
                .iter()
                .map(|c| c.norm())
                .collect();
            // the end transient decays with the band filter's time spread (≤ 0.15 s here);
            // measured ≤ 3e-7 over the middle half
            let e = worst("nsgt", &r);
            assert!(e < 1e-5, "nsgt band {j} ({f} Hz): off by {e}");
        }

        // the sinusoidal model: peak amplitudes already read 1 (within its 0.1 dB accuracy)
        let sines = Sinusoidal::new(SinusoidalParams::new(1024, 256), sr).unwrap();
        assert!(sines.unit_tone_gain().iter().all(|&g| g == 1.0));
        for f in [250.0, 1000.0, 3001.7] {
            let peaks = sines.analyze(&tone(f, sr, len, 0.0)).unwrap();
            let r: Vec<f64> = peaks
                .iter()
                .filter(|q| q.time > 0.2 && q.time < 3.8 && (q.freq - f).abs() < 5.0)
                .map(|q| q.amp)
                .collect();
            let e = worst("sines", &r);
            assert!(e < 0.0116, "sines {f} Hz: off by {e} (0.1 dB = 0.0116)");
        }

        // multires (its own default already reads 1; check an ortho √Hann variant too)
        let sr = 22050.0;
        let len = 44100;
        for norm in [Norm::Amplitude, Norm::Ortho] {
            let mut p = MultiresParams::default_for(sr);
            p.norm = norm;
            p.window = WindowKind::SqrtHann;
            let plan = Multires::new(p.clone(), sr).unwrap();
            let g = plan.unit_tone_gain();
            // one bin per band: 100 of 4096, 100 of 1024, 60 of 256
            for (band, k) in [(0usize, 100usize), (1, 100), (2, 60)] {
                let n = p.windows[band];
                let f = k as f64 * sr / n as f64;
                let mut s = plan.analyze(&tone(f, sr, len, 2.0)).unwrap();
                Calibration::UnitTone.apply(&mut s, &g).unwrap();
                let sb = &s.bands[band].spectrogram;
                let row = sb.freqs.iter().position(|&v| v == f).unwrap();
                let r: Vec<f64> = (0..sb.n_frames)
                    .filter(|&j| {
                        sb.times[j] * sr >= n as f64 && sb.times[j] * sr <= (len - n) as f64
                    })
                    .map(|j| sb.coeffs[row * sb.n_frames + j].norm())
                    .collect();
                let e = worst("multires", &r);
                assert!(e < 1e-4, "multires {norm:?} band {band}: off by {e}");
            }
        }
    }

    #[test]
    fn the_paper_hybrid_reads_one_in_all_three_parts() {
        let sr = crate::demo::DEMO_SAMPLE_RATE;
        let len = 11_000;
        let dur = len as f64 / sr;
        let cqt = DirectCqt::new(DirectCqtParams::paper_demo(), sr).unwrap();
        // 344.53 Hz: bin 10 of the 128 window and bin 80 of the 1024 window; and a CQT bin
        let f_stft = 10.0 * sr / 128.0;
        let (n_cqt, _, f_cqt) = cqt.bin_layout()[300];
        for (f, parts, margin) in [
            (f_stft, vec![0usize, 1], 1024.0 / sr),
            (f_cqt, vec![2], n_cqt as f64 / sr),
        ] {
            let x = tone(f, sr, len, 0.5);
            let (native, _) = crate::demo::hybrid_points(&x, sr, 1.0).unwrap();
            let (pts, segs) = crate::transform::Representation::paper_hybrid()
                .analyze(&x, sr, 1.0, Calibration::UnitTone)
                .unwrap();
            assert_eq!(pts.len(), native.len());
            for s in parts {
                let off = segs[s].offset;
                let r: Vec<f64> = (0..pts.len())
                    .filter(|&i| {
                        let t = pts.t()[i] - off;
                        (pts.f()[i] - f).abs() < 1e-9 && t > margin && t < dur - margin
                    })
                    .map(|i| pts.m()[i])
                    .collect();
                let e = worst(&segs[s].name, &r);
                assert!(e < 1e-4, "{}: off by {e}", segs[s].name);
            }
        }
        // native magnitudes differ from part to part: that is what calibration is for
        let x = tone(f_stft, sr, len, 0.5);
        let (native, segs) = crate::demo::hybrid_points(&x, sr, 1.0).unwrap();
        let peak = |s: usize| {
            (0..native.len())
                .filter(|&i| {
                    native.t()[i] >= segs[s].offset && native.t()[i] < segs[s].offset + dur
                })
                .map(|i| native.m()[i])
                .fold(0.0, f64::max)
        };
        assert!(peak(1) / peak(0) > 2.5, "{} vs {}", peak(1), peak(0));
    }

    #[test]
    fn mismatched_or_bad_gains_are_errors() {
        let stft = Stft::new(StftParams::new(64, 16), 1000.0).unwrap();
        let mut s = stft.analyze(&tone(100.0, 1000.0, 500, 0.0)).unwrap();
        let before = s.clone();
        assert!(Calibration::UnitTone.apply(&mut s, &[1.0; 3]).is_err());
        let mut g = stft.unit_tone_gain();
        g[5] = 0.0;
        let e = Calibration::UnitTone.apply(&mut s, &g).unwrap_err();
        assert!(e.to_string().contains("bin 5"), "{e}");
        Calibration::Native.apply(&mut s, &[]).unwrap();
        assert_eq!(s, before);
        assert_eq!(Calibration::parse("unit-tone"), Some(Calibration::UnitTone));
        assert_eq!(Calibration::parse("x"), None);
    }
}
