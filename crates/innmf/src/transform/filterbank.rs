//! Frequency-domain filter banks with a diagonal dual frame: the one engine of the invertible
//! constant-Q transform ([`Nsgt`](super::Nsgt)) and the wavelet transform ([`Cwt`](super::Cwt)).
//!
//! A real signal of length L (zero-padded by the caller if it wants a linear convolution) has the
//! DFT `X̂[m]`, m = 0..L (read for m < 0 and m > L/2 by Hermitian symmetry). Band j has a real
//! window `g_j` on the integer bins `lo_j..lo_j + len_j`, a coefficient count `M_j ≥ len_j`, an
//! analysis scale `a_j` and a dual weight `w_j`; its coefficients are
//!
//! ```text
//! c_j[n] = a_j · Σ_{m ∈ supp g_j} X̂[m]·g_j[m]·e^{2πi·m·n/M_j},    n = 0..M_j−1,
//! ```
//!
//! one inverse FFT of size `M_j` of the windowed band folded modulo `M_j`. Because every support
//! fits in its `M_j` (the "painless" case of Balazs, Dörfler, Jaillet, Holighaus & Velasco 2011),
//! `DFT_{M_j}(c_j)[m mod M_j] = a_j·M_j·g_j[m]·X̂[m]` on the support, so the frame operator of the
//! coefficients weighted by `w_j` is diagonal in frequency,
//!
//! ```text
//! D[m] = Σ_j w_j·a_j²·M_j·g_j[m]²,
//! X̂[m] = Σ_j w_j·a_j·g_j[m]·DFT_{M_j}(c_j)[m mod M_j] / (D[m] + ε),    m = 0..=L/2,
//! ```
//!
//! and synthesis (the canonical dual frame of the weighted coefficients, regularized by ε ≥ 0
//! where some frequency is barely covered) is exact wherever `ε ≪ D[m]`. The weights choose which
//! dual: `w_j = 1/(a_j²·M_j)` gives `D = Σ_j g_j²` (the NSGT's), `w_j = 1` the plain
//! least-squares inverse of the coefficients as they are (the CWT's).

use num_complex::Complex64;
use rayon::prelude::*;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use rustfft::{Fft, FftPlanner};
use std::sync::{Arc, OnceLock};

/// One band of a [`FilterBank`], as its transform defines it.
#[derive(Debug, Clone)]
pub(crate) struct BandSpec {
    /// First integer bin of the support (negative, or past L/2: read by Hermitian symmetry).
    pub(crate) lo: i64,
    /// Window values at `lo, lo + 1, …`.
    pub(crate) win: Vec<f64>,
    /// Number of coefficients (≥ `win.len()`).
    pub(crate) m: usize,
    /// Analysis scale `a_j`.
    pub(crate) a: f64,
    /// Dual-frame weight `w_j`.
    pub(crate) weight: f64,
}

struct Band {
    spec: BandSpec,
    inv: Arc<dyn Fft<f64>>,
    /// Planned on first synthesis.
    fwd: OnceLock<Arc<dyn Fft<f64>>>,
}

/// A planned filter bank for real signals of one length.
pub(crate) struct FilterBank {
    len: usize,
    bands: Vec<Band>,
    /// D[m], m = 0..=L/2.
    diag: Vec<f64>,
    /// 1/(D[m] + ε).
    inv_diag: Vec<f64>,
    rfwd: Arc<dyn RealToComplex<f64>>,
    /// Planned on first synthesis.
    rinv: OnceLock<Arc<dyn ComplexToReal<f64>>>,
}

impl FilterBank {
    /// Plans the band FFTs and the frame's diagonal for signals of `len` samples (unregularized:
    /// ε = 0).
    ///
    /// # Panics
    /// When a support does not fit in its coefficient count (`win.len() > m`): the transforms
    /// size `m` from the support.
    pub(crate) fn new(len: usize, specs: Vec<BandSpec>) -> Self {
        let half = len / 2;
        let mut diag = vec![0.0; half + 1];
        let mut planner = FftPlanner::<f64>::new();
        let bands: Vec<Band> = specs
            .into_iter()
            .map(|spec| {
                assert!(
                    spec.win.len() <= spec.m,
                    "a band's support ({} bins) exceeds its {} coefficients",
                    spec.win.len(),
                    spec.m
                );
                let s = spec.weight * spec.a * spec.a * spec.m as f64;
                for (i, g) in spec.win.iter().enumerate() {
                    let m = spec.lo + i as i64;
                    if m >= 0 && m as usize <= half {
                        diag[m as usize] += s * g * g;
                    }
                }
                Band {
                    inv: planner.plan_fft_inverse(spec.m),
                    fwd: OnceLock::new(),
                    spec,
                }
            })
            .collect();
        let inv_diag = diag.iter().map(|d| 1.0 / d).collect();
        FilterBank {
            len,
            bands,
            diag,
            inv_diag,
            rfwd: RealFftPlanner::<f64>::new().plan_fft_forward(len),
            rinv: OnceLock::new(),
        }
    }

    /// The frame's diagonal `D[m]`, m = 0..=L/2.
    pub(crate) fn diag(&self) -> &[f64] {
        &self.diag
    }

    /// Synthesis divides by `D[m] + eps` from now on.
    pub(crate) fn regularize(&mut self, eps: f64) {
        self.inv_diag = self.diag.iter().map(|d| 1.0 / (d + eps)).collect();
    }

    /// Band j as its transform defined it.
    #[cfg(test)]
    pub(crate) fn band(&self, j: usize) -> &BandSpec {
        &self.bands[j].spec
    }

    /// `X̂[m]`, m = 0..=L/2, of `x` zero-padded to L samples.
    ///
    /// # Panics
    /// When `x` is longer than L.
    pub(crate) fn spectrum(&self, x: &[f64]) -> Vec<Complex64> {
        assert!(x.len() <= self.len, "signal longer than the filter bank");
        let mut buf = Vec::with_capacity(self.len);
        buf.extend_from_slice(x);
        buf.resize(self.len, 0.0);
        let mut spec = self.rfwd.make_output_vec();
        self.rfwd
            .process(&mut buf, &mut spec)
            .expect("buffer sizes are fixed by the plan");
        spec
    }

    /// Every band's coefficients from the spectrum `X̂[0..=L/2]`, in band order.
    pub(crate) fn analyze_spectrum(&self, spec: &[Complex64]) -> Vec<Vec<Complex64>> {
        debug_assert_eq!(spec.len(), self.len / 2 + 1);
        // one FFT scratch buffer per rayon job rather than one per band: a fresh allocation per
        // band made the allocator return and re-fault its pages on every analysis
        self.bands
            .par_iter()
            .map_init(Vec::new, |scratch, b| {
                let s = &b.spec;
                let mut c = vec![Complex64::new(0.0, 0.0); s.m];
                fold_band(spec, self.len, s, &mut c);
                b.inv
                    .process_with_scratch(&mut c, fft_scratch(scratch, &*b.inv));
                c
            })
            .collect()
    }

    /// The signal (L samples) from every band's coefficients (`coeffs[j].len() == M_j`, checked by
    /// the caller).
    pub(crate) fn synthesize(&self, coeffs: &[&[Complex64]]) -> Vec<f64> {
        debug_assert_eq!(coeffs.len(), self.bands.len());
        let half = self.len / 2;
        let spectra: Vec<Vec<Complex64>> = self
            .bands
            .par_iter()
            .zip(coeffs)
            .map_init(Vec::new, |scratch, (b, c)| {
                debug_assert_eq!(c.len(), b.spec.m);
                let mut buf = c.to_vec();
                let fwd = b
                    .fwd
                    .get_or_init(|| FftPlanner::<f64>::new().plan_fft_forward(b.spec.m));
                fwd.process_with_scratch(&mut buf, fft_scratch(scratch, &**fwd));
                buf
            })
            .collect();
        // accumulated in band order whatever the thread count
        let mut y = vec![Complex64::new(0.0, 0.0); half + 1];
        for (b, buf) in self.bands.iter().zip(&spectra) {
            let s = &b.spec;
            let scale = s.weight * s.a;
            let mm = s.m as i64;
            for (i, g) in s.win.iter().enumerate() {
                let m = s.lo + i as i64;
                if m >= 0 && m as usize <= half {
                    y[m as usize] += buf[m.rem_euclid(mm) as usize] * (g * scale);
                }
            }
        }
        for (v, d) in y.iter_mut().zip(&self.inv_diag) {
            *v *= *d;
        }
        // a real signal's DC and (even L) Nyquist bins are real
        y[0].im = 0.0;
        if self.len.is_multiple_of(2) {
            y[half].im = 0.0;
        }
        let rinv = self
            .rinv
            .get_or_init(|| RealFftPlanner::<f64>::new().plan_fft_inverse(self.len));
        let mut out = rinv.make_output_vec();
        rinv.process(&mut y, &mut out)
            .expect("buffer sizes are fixed by the plan");
        let inv_l = 1.0 / self.len as f64;
        out.iter_mut().for_each(|v| *v *= inv_l);
        out
    }
}

/// `scratch` grown to what `fft` needs in place, as a slice of exactly that length.
fn fft_scratch<'a>(scratch: &'a mut Vec<Complex64>, fft: &dyn Fft<f64>) -> &'a mut [Complex64] {
    let need = fft.get_inplace_scratch_len();
    if scratch.len() < need {
        scratch.resize(need, Complex64::new(0.0, 0.0));
    }
    &mut scratch[..need]
}

/// `c[m mod M] += a·g[m]·X̂[m]` over the band's support, reading bins below 0 and above L/2 by
/// Hermitian symmetry; the support is walked in runs so that the inner loops carry no branch.
fn fold_band(spec: &[Complex64], len: usize, s: &BandSpec, c: &mut [Complex64]) {
    let (l, mm) = (len as i64, s.m as i64);
    let half = (len / 2) as i64;
    let mut i = 0usize;
    while i < s.win.len() {
        let m = s.lo + i as i64;
        // the run of bins from m that stays on one side of 0, of L/2 and of L, and does not wrap
        // modulo M
        let r = m.rem_euclid(l);
        let (side_end, mirrored) = if r <= half {
            (half + 1, false)
        } else {
            (l, true)
        };
        let k0 = m.rem_euclid(mm) as usize;
        let run = ((side_end - r) as usize).min(s.win.len() - i).min(s.m - k0);
        let win = &s.win[i..i + run];
        let out = &mut c[k0..k0 + run];
        if mirrored {
            // X̂[r] = conj(X̂[L − r]), r = L − idx
            let top = (l - r) as usize;
            for (j, (o, g)) in out.iter_mut().zip(win).enumerate() {
                *o += spec[top - j].conj() * (g * s.a);
            }
        } else {
            let x = &spec[r as usize..r as usize + run];
            for ((o, g), x) in out.iter_mut().zip(win).zip(x) {
                *o += x * (g * s.a);
            }
        }
        i += run;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `fold_band` against the definition, bin by bin, for supports that cross 0, L/2 and wrap
    /// modulo M.
    #[test]
    fn folding_matches_a_bin_by_bin_reference() {
        let len = 37;
        let spec: Vec<Complex64> = (0..=len / 2)
            .map(|m| {
                let mut v = Complex64::new((m as f64).sin(), (m as f64 * 0.7).cos());
                if m == 0 {
                    v.im = 0.0;
                }
                v
            })
            .collect();
        let get = |m: i64| {
            let r = m.rem_euclid(len as i64) as usize;
            if r <= len / 2 {
                spec[r]
            } else {
                spec[len - r].conj()
            }
        };
        for (lo, n, m) in [
            (-5i64, 11usize, 12usize),
            (14, 9, 9),
            (3, 5, 7),
            (-3, 40, 45),
        ] {
            let s = BandSpec {
                lo,
                win: (0..n).map(|i| 1.0 + i as f64 * 0.1).collect(),
                m,
                a: 0.3,
                weight: 1.0,
            };
            let mut got = vec![Complex64::new(0.0, 0.0); m];
            fold_band(&spec, len, &s, &mut got);
            let mut want = vec![Complex64::new(0.0, 0.0); m];
            for (i, g) in s.win.iter().enumerate() {
                let b = lo + i as i64;
                want[b.rem_euclid(m as i64) as usize] += get(b) * (g * s.a);
            }
            for (a, b) in got.iter().zip(&want) {
                // the same products, summed in the same order
                assert!((a - b).norm() <= 1e-15 * b.norm().max(1.0), "{lo} {n} {m}");
            }
        }
    }
}
