//! Sparse-spectral-kernel engine shared by [`FastCqt`](super::FastCqt) and
//! [`Vqt`](super::Vqt).
//!
//! Every bin k of a constant-Q transform is a correlation of the signal with a Hann-windowed
//! complex exponential, sampled at that bin's frame centres `c_j`:
//!
//! ```text
//! X_k[j] = Σ_{n=0}^{N_k−1} a_k[n] · x[c_j − o_k + n],    a_k[n] = s_k · w_k[n] · e^{−iω_k n}
//! ```
//!
//! (x is zero outside the signal; `o_k` aligns the kernel with the frame centre). Computed
//! directly this costs N_k operations per coefficient. Here the signal is cut into overlapping
//! blocks of M samples (M a power of two ≥ 2·N for the longest kernel of a group of bins whose
//! kernels differ at most 2× in length), each block is Fourier transformed once, and a frame
//! whose window starts d samples into a block is obtained by Parseval's relation
//!
//! ```text
//! X_k[j] = (1/M) Σ_m X̂_block[m] · e^{2πi·m·d/M} · Â_k[m],    Â_k[m] = Σ_n a_k[n] e^{2πi·m·n/M}
//! ```
//!
//! (Schörkhuber & Klapuri 2010, "Constant-Q transform toolbox for music processing", generalised
//! to per-bin hops by the shift term). `Â_k` is concentrated around `m ≈ ω_k·M/2π`; it is computed
//! in closed form (a Hann window is three shifted Dirichlet kernels) only over the shortest
//! contiguous band that holds all but a fraction `tol²` of its energy (the total is known from
//! Parseval, `Σ|Â|² = M·Σ|a|²`). By Cauchy–Schwarz the truncation changes a coefficient by at most
//! `tol·‖a_k‖·‖x_block‖`, i.e. `tol·√(M/N_k)` ≤ `2·tol` relative to a full-scale coefficient of
//! a stationary signal; the default `tol = 1e-6` keeps the result within 2e-6 of the direct sums.
//! Hann sidelobes decay only as ν⁻³, so at that tolerance a kernel keeps ≈ 500 spectral entries;
//! bins whose time-domain kernel is shorter than 3× that are summed directly instead (vectorised).

use super::CqtBin;
use super::CqtCoefficients;
use crate::error::{Error, Result};
use num_complex::Complex64;
use rayon::prelude::*;
use realfft::RealFftPlanner;
use std::f64::consts::PI;

/// A Hann-windowed complex exponential, `a[n] = scale·e^{iφ}·w[n]·e^{−iω n}` for n in 0..len,
/// with `w[n] = ½ − ½cos(2π(n + shift)/period)`.
#[derive(Debug, Clone, Copy)]
pub(super) struct HannKernel {
    pub(super) len: usize,
    pub(super) period: f64,
    pub(super) shift: f64,
    pub(super) omega: f64,
    pub(super) scale: f64,
    pub(super) phase: f64,
}

impl HannKernel {
    fn window(&self, n: usize) -> f64 {
        0.5 - 0.5 * (2.0 * PI * (n as f64 + self.shift) / self.period).cos()
    }

    fn sample(&self, n: usize) -> Complex64 {
        Complex64::from_polar(
            self.scale * self.window(n),
            self.phase - self.omega * n as f64,
        )
    }

    /// Σ_n |a[n]|².
    fn energy(&self) -> f64 {
        (0..self.len)
            .map(|n| (self.scale * self.window(n)).powi(2))
            .sum()
    }

    /// Σ_{n<len} e^{iθn} (a Dirichlet kernel), stable near θ = 0 mod 2π.
    fn geometric(&self, theta: f64) -> Complex64 {
        let th = theta - 2.0 * PI * (theta / (2.0 * PI)).round();
        let n = self.len as f64;
        if th.abs() < 1e-9 {
            // first-order expansion: Σ e^{iθn} ≈ N + iθ·N(N−1)/2
            return Complex64::new(n, th * n * (n - 1.0) / 2.0);
        }
        // (1 − e^{iθN}) / (1 − e^{iθ}) = e^{iθ(N−1)/2} · sin(θN/2)/sin(θ/2)
        let r = (th * n / 2.0).sin() / (th / 2.0).sin();
        Complex64::from_polar(r, th * (n - 1.0) / 2.0)
    }

    /// Â[m] = Σ_n a[n]·e^{2πi m n/M}.
    fn spectrum(&self, m: i64, big_m: usize) -> Complex64 {
        let theta = 2.0 * PI * m as f64 / big_m as f64 - self.omega;
        let d = 2.0 * PI / self.period;
        let e = Complex64::from_polar(1.0, d * self.shift);
        let s = self.geometric(theta) * 0.5
            - (e * self.geometric(theta + d) + e.conj() * self.geometric(theta - d)) * 0.25;
        s * Complex64::from_polar(self.scale, self.phase)
    }

    /// The sparse spectral kernel for block size M: first index and values (already / M), or
    /// None when it would need `cap` entries or more.
    fn sparse_spectrum(&self, big_m: usize, tol: f64, cap: usize) -> Option<(i64, Vec<Complex64>)> {
        let total = big_m as f64 * self.energy();
        let peak = (self.omega * big_m as f64 / (2.0 * PI)).round() as i64;
        let (mut lo, mut hi) = (peak, peak);
        let mut vals = std::collections::VecDeque::new();
        let v = self.spectrum(peak, big_m);
        let mut kept = v.norm_sqr();
        vals.push_back(v);
        let limit = (1.0 - tol * tol) * total;
        let (mut next_lo, mut next_hi) =
            (self.spectrum(lo - 1, big_m), self.spectrum(hi + 1, big_m));
        while kept < limit && ((hi - lo + 1) as usize) < big_m {
            if (hi - lo + 1) as usize >= cap {
                return None;
            }
            if next_lo.norm_sqr() > next_hi.norm_sqr() {
                lo -= 1;
                kept += next_lo.norm_sqr();
                vals.push_front(next_lo);
                next_lo = self.spectrum(lo - 1, big_m);
            } else {
                hi += 1;
                kept += next_hi.norm_sqr();
                vals.push_back(next_hi);
                next_hi = self.spectrum(hi + 1, big_m);
            }
        }
        let inv = 1.0 / big_m as f64;
        Some((lo, vals.into_iter().map(|v| v * inv).collect()))
    }
}

/// How a bin places its frames on a signal of `len` samples.
#[derive(Debug, Clone, Copy)]
pub(super) enum Framing {
    /// Centres 0, H, 2H, … while `c < len − half` (the paper's CQT).
    InsideHalf { hop: usize, half: usize },
    /// Centres 0, H, …, ⌊len/H⌋·H (librosa's `center=True`).
    Centered { hop: usize },
}

impl Framing {
    pub(super) fn hop(&self) -> usize {
        match *self {
            Framing::InsideHalf { hop, .. } | Framing::Centered { hop } => hop,
        }
    }

    pub(super) fn n_frames(&self, len: usize) -> usize {
        match *self {
            Framing::InsideHalf { hop, half } if len > half => (len - half - 1) / hop + 1,
            Framing::InsideHalf { .. } => 0,
            Framing::Centered { hop } => 1 + len / hop,
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct BankBin {
    pub(super) freq: f64,
    pub(super) kernel: HannKernel,
    /// Kernel sample 0 sits at `c_j − offset`.
    pub(super) offset: i64,
    pub(super) framing: Framing,
    /// Sparse spectral kernel for the group's block size.
    pub(super) first: i64,
    pub(super) spec: Vec<Complex64>,
    /// Time-domain kernel (real and imaginary parts), used instead when it is cheaper than the
    /// spectral one.
    pub(super) direct_re: Vec<f64>,
    pub(super) direct_im: Vec<f64>,
}

#[derive(Debug, Clone)]
struct Group {
    block: usize,
    max_len: usize,
    bins: Vec<usize>,
}

/// A bin is summed in the spectral domain only when its kernel is this many times longer than its
/// sparse spectrum (see `KernelBank::new`).
const SPECTRAL_COST: usize = 3;

/// Sparse-spectral-kernel engine shared by [`FastCqt`](super::FastCqt) and [`Vqt`](super::Vqt).
#[derive(Debug, Clone)]
pub(super) struct KernelBank {
    pub(super) bins: Vec<BankBin>,
    groups: Vec<Group>,
    pub(super) sample_rate: f64,
}

impl KernelBank {
    pub(super) fn new(mut bins: Vec<BankBin>, sample_rate: f64, tol: f64) -> Self {
        let mut order: Vec<usize> = (0..bins.len()).collect();
        order.sort_by(|&a, &b| bins[b].kernel.len.cmp(&bins[a].kernel.len));
        let mut groups: Vec<Group> = Vec::new();
        for k in order {
            let len = bins[k].kernel.len;
            match groups.last_mut() {
                Some(g) if 2 * len >= g.max_len => g.bins.push(k),
                _ => groups.push(Group {
                    block: (2 * len).next_power_of_two(),
                    max_len: len,
                    bins: vec![k],
                }),
            }
        }
        for g in &groups {
            for &k in &g.bins {
                let kern = bins[k].kernel;
                let sparse = kern.sparse_spectrum(g.block, tol, kern.len.div_ceil(SPECTRAL_COST));
                // a spectral coefficient costs one complex Horner step (4 multiply-adds) per
                // kernel entry, a direct one N_k real×complex ones (2 multiply-adds); both
                // vectorise, and the spectral path also pays a share of Z and the block FFTs
                if let Some((first, spec)) = sparse {
                    bins[k].first = first;
                    bins[k].spec = spec;
                } else {
                    let (re, im) = (0..kern.len)
                        .map(|n| kern.sample(n))
                        .map(|c| (c.re, c.im))
                        .unzip();
                    bins[k].direct_re = re;
                    bins[k].direct_im = im;
                }
            }
        }
        KernelBank {
            bins,
            groups,
            sample_rate,
        }
    }

    /// `½·|Σ_n a_k[n]·e^{iω_k n}| = ½·s_k·Σ_n w_k[n]` per bin: the response to a unit-amplitude
    /// sinusoid at the kernel's frequency (negative-frequency image neglected).
    pub(super) fn unit_tone_gain(&self) -> Vec<f64> {
        self.bins
            .iter()
            .map(|b| {
                let k = &b.kernel;
                0.5 * k.scale.abs() * (0..k.len).map(|n| k.window(n)).sum::<f64>()
            })
            .collect()
    }

    pub(super) fn analyze(&self, x: &[f64]) -> Result<CqtCoefficients> {
        if x.is_empty() {
            return Err(Error::Empty { what: "signal" });
        }
        crate::error::check_finite("signal", x)?;
        self.analyze_at(x, 0, x.len())
    }

    /// Analyzes samples `x[i]` = sample `base + i` (zero elsewhere) of a signal whose frames are
    /// laid out for `len` samples.
    pub(super) fn analyze_at(&self, x: &[f64], base: i64, len: usize) -> Result<CqtCoefficients> {
        for (k, b) in self.bins.iter().enumerate() {
            if b.framing.n_frames(len) == 0 {
                return Err(Error::param(
                    "signal length",
                    len,
                    format!(
                        "more than {} samples (half the window of constant-Q bin {k})",
                        b.kernel.len / 2
                    ),
                ));
            }
        }
        let mut out: Vec<Option<CqtBin>> = vec![None; self.bins.len()];
        let mut planner = RealFftPlanner::<f64>::new();
        for g in &self.groups {
            let m = g.block;
            let stride = m - g.max_len;
            // every window start is ≥ origin; block b covers [origin + b·stride, … + M)
            let min_start = g
                .bins
                .iter()
                .map(|&k| -self.bins[k].offset)
                .min()
                .unwrap_or(0);
            let max_start = g
                .bins
                .iter()
                .map(|&k| {
                    let b = &self.bins[k];
                    ((b.framing.n_frames(len) - 1) * b.framing.hop()) as i64 - b.offset
                })
                .max()
                .unwrap_or(0);
            let origin = min_start;
            let n_blocks = ((max_start - origin) as usize) / stride + 1;
            let fft = planner.plan_fft_forward(m);
            let half = m / 2 + 1;
            let mut spectra = vec![Complex64::new(0.0, 0.0); n_blocks * half];
            // e^{2πi·k/M}, k = 0..M
            let twiddle: Vec<Complex64> = (0..m)
                .map(|k| Complex64::from_polar(1.0, 2.0 * PI * k as f64 / m as f64))
                .collect();
            spectra.par_chunks_mut(half).enumerate().for_each_init(
                || (vec![0.0; m], fft.make_scratch_vec()),
                |(buf, scratch), (b, spec)| {
                    let start = origin + (b * stride) as i64 - base;
                    for (i, v) in buf.iter_mut().enumerate() {
                        let idx = start + i as i64;
                        *v = if idx >= 0 && (idx as usize) < x.len() {
                            x[idx as usize]
                        } else {
                            0.0
                        };
                    }
                    fft.process_with_scratch(buf, spec, scratch)
                        .expect("buffer sizes are fixed by the plan");
                },
            );
            let results: Vec<(usize, CqtBin)> = g
                .bins
                .par_iter()
                .map(|&k| {
                    let b = &self.bins[k];
                    let hop = b.framing.hop();
                    let frames = b.framing.n_frames(len);
                    let coeffs = if b.spec.is_empty() {
                        direct_frames(b, x, base, frames)
                    } else {
                        spectral_frames(b, &spectra, half, m, stride, origin, frames, &twiddle)
                    };
                    let sr = self.sample_rate;
                    (
                        k,
                        CqtBin {
                            freq: b.freq,
                            window_len: b.kernel.len,
                            hop,
                            times: (0..frames).map(|j| (j * hop) as f64 / sr).collect(),
                            coeffs,
                        },
                    )
                })
                .collect();
            for (k, bin) in results {
                out[k] = Some(bin);
            }
        }
        Ok(CqtCoefficients {
            bins: out
                .into_iter()
                .map(|b| b.expect("every bin is in a group"))
                .collect(),
            sample_rate: self.sample_rate,
            signal_len: len,
        })
    }
}

/// Direct correlation sums of one bin; `x[i]` is sample `base + i`, zero elsewhere.
fn direct_frames(b: &BankBin, x: &[f64], base: i64, frames: usize) -> Vec<Complex64> {
    let hop = b.framing.hop();
    let n = b.direct_re.len();
    (0..frames)
        .map(|j| {
            let start = (j * hop) as i64 - b.offset - base;
            let lo = (-start).max(0) as usize;
            let hi = n.min((x.len() as i64 - start).max(0) as usize);
            if lo >= hi {
                return Complex64::new(0.0, 0.0);
            }
            let xs = &x[(start + lo as i64) as usize..(start + hi as i64) as usize];
            let (re, im) = dot2(&b.direct_re[lo..hi], &b.direct_im[lo..hi], xs);
            Complex64::new(re, im)
        })
        .collect()
}

/// `(Σ a[i]·x[i], Σ b[i]·x[i])`.
#[inline]
fn dot2(a: &[f64], b: &[f64], x: &[f64]) -> (f64, f64) {
    (dot(a, x), dot(b, x))
}

/// `Σ a[i]·x[i]` with 8 independent partial sums, so that the loop vectorises (the summation
/// order differs from a sequential sum only by rounding).
#[inline]
fn dot(a: &[f64], x: &[f64]) -> f64 {
    const W: usize = 8;
    let n = x.len().min(a.len());
    let (a, x) = (&a[..n], &x[..n]);
    let mut acc = [0.0f64; W];
    let (ac, xc) = (a.chunks_exact(W), x.chunks_exact(W));
    let (ar, xr) = (ac.remainder(), xc.remainder());
    for (ca, cx) in ac.zip(xc) {
        let ca: &[f64; W] = ca.try_into().expect("chunks of W");
        let cx: &[f64; W] = cx.try_into().expect("chunks of W");
        for l in 0..W {
            acc[l] += ca[l] * cx[l];
        }
    }
    let mut r = acc.iter().sum::<f64>();
    for i in 0..xr.len() {
        r += ar[i] * xr[i];
    }
    r
}

/// Spectral-kernel coefficients of one bin: per block, `Z[m] = X̂_block[m]·Â[m]` once, then per
/// frame `Σ_m Z[m]·w^m`, `w = e^{2πi·d/M}`, by Horner's rule (|w| = 1, so rounding errors grow
/// only linearly with the number of entries), eight frames of a block side by side so that the
/// recurrences vectorise.
fn spectral_frames(
    b: &BankBin,
    spectra: &[Complex64],
    half: usize,
    m: usize,
    stride: usize,
    origin: i64,
    frames: usize,
    twiddle: &[Complex64],
) -> Vec<Complex64> {
    let hop = b.framing.hop();
    // Z split into real and imaginary parts, reversed for Horner's rule
    let (mut zr, mut zi) = (vec![0.0; b.spec.len()], vec![0.0; b.spec.len()]);
    let mut out = Vec::with_capacity(frames);
    let place = |j: usize| {
        let rel = ((j * hop) as i64 - b.offset - origin) as usize;
        (rel / stride, rel % stride)
    };
    let mut j = 0;
    while j < frames {
        let (blk, _) = place(j);
        let spec = &spectra[blk * half..(blk + 1) * half];
        let n = b.spec.len();
        for (i, a) in b.spec.iter().enumerate() {
            let mm = (b.first + i as i64).rem_euclid(m as i64) as usize;
            let xv = if mm < half {
                spec[mm]
            } else {
                spec[m - mm].conj()
            };
            let v = xv * a;
            zr[n - 1 - i] = v.re;
            zi[n - 1 - i] = v.im;
        }
        // the frames in this block, W at a time: W independent Horner chains side by side
        let mut end = j;
        while end < frames && place(end).0 == blk {
            end += 1;
        }
        while j < end {
            // 32 frames give four independent vector chains (the latency of a step is hidden);
            // blocks with few frames use 8 lanes
            j = if end - j >= 32 {
                horner::<32>(&zr, &zi, j, end, twiddle, m, b.first, &place, &mut out)
            } else {
                horner::<8>(&zr, &zi, j, end, twiddle, m, b.first, &place, &mut out)
            };
        }
    }
    out
}

/// Evaluates `Σ_m Z_m·w_f^m` (Z reversed in `zr`, `zi`) for up to W frames from `j` (before
/// `end`) side by side, pushes them times `w_f^first` and returns the next frame.
fn horner<const W: usize>(
    zr: &[f64],
    zi: &[f64],
    j: usize,
    end: usize,
    twiddle: &[Complex64],
    m: usize,
    first: i64,
    place: &dyn Fn(usize) -> (usize, usize),
    out: &mut Vec<Complex64>,
) -> usize {
    let cnt = (end - j).min(W);
    let (mut wr, mut wi) = ([1.0f64; W], [0.0f64; W]);
    for f in 0..cnt {
        let w = twiddle[place(j + f).1];
        wr[f] = w.re;
        wi[f] = w.im;
    }
    let (mut ar, mut ai) = ([0.0f64; W], [0.0f64; W]);
    for (&r, &i) in zr.iter().zip(zi) {
        for f in 0..W {
            let nr = ar[f] * wr[f] - ai[f] * wi[f] + r;
            let ni = ar[f] * wi[f] + ai[f] * wr[f] + i;
            ar[f] = nr;
            ai[f] = ni;
        }
    }
    for f in 0..cnt {
        let d = place(j + f).1;
        // w^first, with the exponent reduced mod M first to keep the phase exact
        let e = (first * d as i64).rem_euclid(m as i64) as usize;
        out.push(Complex64::new(ar[f], ai[f]) * twiddle[e]);
    }
    j + cnt
}

pub(super) fn check_tol(tol: f64) -> Result<()> {
    if !(tol.is_finite() && (1e-6..0.1).contains(&tol)) {
        return Err(Error::param(
            "kernel tolerance",
            tol,
            "a number in [1e-6, 0.1) (smaller is lost in rounding)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_form_spectrum_matches_a_naive_dft() {
        for k in [
            HannKernel {
                len: 37,
                period: 36.0,
                shift: 0.0,
                omega: 0.7,
                scale: 0.3,
                phase: 0.0,
            },
            HannKernel {
                len: 40,
                period: 40.0,
                shift: 1.0,
                omega: 1.3,
                scale: 2.0,
                phase: 0.4,
            },
        ] {
            let m = 128;
            for mm in -3..130i64 {
                let want: Complex64 = (0..k.len)
                    .map(|n| {
                        k.sample(n)
                            * Complex64::from_polar(
                                1.0,
                                2.0 * PI * (mm * n as i64) as f64 / m as f64,
                            )
                    })
                    .sum();
                // f64 sums of ≤ 40 unit-size terms: 1e-12 is ~1000 ulp
                assert!((k.spectrum(mm, m) - want).norm() < 1e-12, "m = {mm}");
            }
        }
    }
}
