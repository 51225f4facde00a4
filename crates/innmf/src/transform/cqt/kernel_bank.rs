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
use rustfft::{Fft, FftPlanner};
use std::f64::consts::PI;
use std::sync::Arc;

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

    /// Σ_n |a[n]|², in closed form: with φ_n = 2π(n + shift)/period,
    /// `w² = 3/8 − ½cos φ_n + ⅛cos 2φ_n`, and each sum of cosines is the real part of a
    /// Dirichlet kernel ([`HannKernel::geometric`]).
    fn energy(&self) -> f64 {
        let d = 2.0 * PI / self.period;
        let cos_sum =
            |k: f64| (Complex64::from_polar(1.0, k * d * self.shift) * self.geometric(k * d)).re;
        let w2 = 0.375 * self.len as f64 - 0.5 * cos_sum(1.0) + 0.125 * cos_sum(2.0);
        self.scale * self.scale * w2
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
    #[cfg(test)]
    fn spectrum(&self, m: i64, big_m: usize) -> Complex64 {
        self.spectrum_with(m, big_m, &self.spectrum_consts())
    }

    /// The factors of [`HannKernel::spectrum_with`] that do not depend on m:
    /// (2π/period, e^{2πi·shift/period}, scale·e^{iφ}).
    fn spectrum_consts(&self) -> (f64, Complex64, Complex64) {
        let d = 2.0 * PI / self.period;
        (
            d,
            Complex64::from_polar(1.0, d * self.shift),
            Complex64::from_polar(self.scale, self.phase),
        )
    }

    /// Â[m] = Σ_n a[n]·e^{2πi m n/M}, given [`HannKernel::spectrum_consts`].
    fn spectrum_with(&self, m: i64, big_m: usize, c: &(f64, Complex64, Complex64)) -> Complex64 {
        let &(d, e, g) = c;
        let theta = 2.0 * PI * m as f64 / big_m as f64 - self.omega;
        let s = self.geometric(theta) * 0.5
            - (e * self.geometric(theta + d) + e.conj() * self.geometric(theta - d)) * 0.25;
        s * g
    }

    /// The sparse spectral kernel for block size M: first index and values (already / M), or
    /// None when it would need `cap` entries or more.
    fn sparse_spectrum(&self, big_m: usize, tol: f64, cap: usize) -> Option<(i64, Vec<Complex64>)> {
        let total = big_m as f64 * self.energy();
        let consts = self.spectrum_consts();
        let peak = (self.omega * big_m as f64 / (2.0 * PI)).round() as i64;
        let (mut lo, mut hi) = (peak, peak);
        let mut vals = std::collections::VecDeque::new();
        let v = self.spectrum_with(peak, big_m, &consts);
        let mut kept = v.norm_sqr();
        vals.push_back(v);
        let limit = (1.0 - tol * tol) * total;
        let (mut next_lo, mut next_hi) = (
            self.spectrum_with(lo - 1, big_m, &consts),
            self.spectrum_with(hi + 1, big_m, &consts),
        );
        while kept < limit && ((hi - lo + 1) as usize) < big_m {
            if (hi - lo + 1) as usize >= cap {
                return None;
            }
            if next_lo.norm_sqr() > next_hi.norm_sqr() {
                lo -= 1;
                kept += next_lo.norm_sqr();
                vals.push_front(next_lo);
                next_lo = self.spectrum_with(lo - 1, big_m, &consts);
            } else {
                hi += 1;
                kept += next_hi.norm_sqr();
                vals.push_back(next_hi);
                next_hi = self.spectrum_with(hi + 1, big_m, &consts);
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
                // with a folded evaluation (`fold_size`) a spectral bin costs its entries plus one
                // short FFT per block, far less than the direct sums of the block's frames
                let cap = if g.block % bins[k].framing.hop() == 0 {
                    kern.len
                } else {
                    kern.len.div_ceil(SPECTRAL_COST)
                };
                let sparse = kern.sparse_spectrum(g.block, tol, cap);
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
        self.analyze_with(x, base, len, true)
    }

    /// [`KernelBank::analyze_at`]; `fold: false` evaluates every spectral bin by Horner's rule
    /// (the reference of the folded evaluation in the tests).
    fn analyze_with(
        &self,
        x: &[f64],
        base: i64,
        len: usize,
        fold: bool,
    ) -> Result<CqtCoefficients> {
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
            // blocks advance by a multiple of the hop when the group's bins share one, so that
            // frames sit at the same shifts in every block (see `folded_frames`)
            let hop0 = self.bins[g.bins[0]].framing.hop();
            let same_hop = g.bins.iter().all(|&k| self.bins[k].framing.hop() == hop0);
            let stride = match m - g.max_len {
                s if same_hop && hop0 <= s => s - s % hop0,
                s => s,
            };
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
            // only the band of the block spectra that some spectral kernel reads is kept
            let (mut lo, mut hi) = (half, 0);
            for &k in &g.bins {
                let b = &self.bins[k];
                for i in 0..b.spec.len() as i64 {
                    let mm = (b.first + i).rem_euclid(m as i64) as usize;
                    let idx = if mm < half { mm } else { m - mm };
                    (lo, hi) = (lo.min(idx), hi.max(idx));
                }
            }
            let width = (hi + 1).saturating_sub(lo);
            let mut spectra = vec![Complex64::new(0.0, 0.0); n_blocks * width];
            // e^{2πi·k/M}, k = 0..M
            let twiddle: Vec<Complex64> = (0..m)
                .map(|k| Complex64::from_polar(1.0, 2.0 * PI * k as f64 / m as f64))
                .collect();
            spectra
                .par_chunks_mut(width.max(1))
                .enumerate()
                .for_each_init(
                    || {
                        let full = vec![Complex64::new(0.0, 0.0); half];
                        (vec![0.0; m], full, fft.make_scratch_vec())
                    },
                    |(buf, full, scratch), (b, band)| {
                        let start = origin + (b * stride) as i64 - base;
                        for (i, v) in buf.iter_mut().enumerate() {
                            let idx = start + i as i64;
                            *v = if idx >= 0 && (idx as usize) < x.len() {
                                x[idx as usize]
                            } else {
                                0.0
                            };
                        }
                        fft.process_with_scratch(buf, full, scratch)
                            .expect("buffer sizes are fixed by the plan");
                        band.copy_from_slice(&full[lo..lo + band.len()]);
                    },
                );
            // one inverse FFT plan per fold size (the planner shares equal sizes)
            let mut planner_c = FftPlanner::<f64>::new();
            let folds: Vec<Option<Arc<dyn Fft<f64>>>> = g
                .bins
                .iter()
                .map(|&k| {
                    let b = &self.bins[k];
                    fold_size(b.framing.hop(), m, stride, b.spec.len())
                        .filter(|_| fold)
                        .map(|p| planner_c.plan_fft_inverse(p))
                })
                .collect();
            let sp = Spectra {
                spectra: &spectra,
                lo,
                width,
                half,
                m,
                stride,
                origin,
                twiddle: &twiddle,
            };
            let results: Vec<(usize, CqtBin)> = g
                .bins
                .par_iter()
                .zip(folds.par_iter())
                .map(|(&k, fold)| {
                    let b = &self.bins[k];
                    let hop = b.framing.hop();
                    let frames = b.framing.n_frames(len);
                    let coeffs = if b.spec.is_empty() {
                        direct_frames(b, x, base, frames)
                    } else if let Some(fft) = fold {
                        folded_frames(b, &sp, frames, fft.as_ref())
                    } else {
                        spectral_frames(b, &sp, frames)
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
fn spectral_frames(b: &BankBin, s: &Spectra, frames: usize) -> Vec<Complex64> {
    let Spectra {
        spectra,
        lo,
        width,
        half,
        m,
        stride,
        origin,
        twiddle,
    } = *s;
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
        let spec = &spectra[blk * width..(blk + 1) * width];
        let n = b.spec.len();
        for (i, a) in b.spec.iter().enumerate() {
            let mm = (b.first + i as i64).rem_euclid(m as i64) as usize;
            let xv = if mm < half {
                spec[mm - lo]
            } else {
                spec[m - mm - lo].conj()
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

/// The block spectra of a group and what places a frame in them.
#[derive(Clone, Copy)]
struct Spectra<'a> {
    /// Per block, the entries lo..lo + width of the half spectrum (M/2 + 1 entries).
    spectra: &'a [Complex64],
    lo: usize,
    width: usize,
    half: usize,
    m: usize,
    stride: usize,
    origin: i64,
    /// e^{2πi·k/M}, k = 0..M.
    twiddle: &'a [Complex64],
}

/// The size P = M/hop of the folded evaluation of a spectral bin with `n` entries, when the hop
/// divides the block size M and the fold (n entries plus a P-point FFT per block) costs less
/// than Horner's rule (n entries per frame, ≈ stride/hop frames per block).
fn fold_size(hop: usize, m: usize, stride: usize, n: usize) -> Option<usize> {
    if n == 0 || !m.is_multiple_of(hop) {
        return None;
    }
    let p = m / hop;
    let fft_cost = 2 * p * (p.trailing_zeros() as usize).max(1);
    let frames = (stride / hop).max(1);
    (n + fft_cost < frames * n).then_some(p)
}

/// Spectral-kernel coefficients of one bin whose hop divides the block size M, all frames of a
/// block at once. With `Z_m = X̂_block[m]·Â[m]` and the block's frames at shifts
/// `d_f = d_0 + f·hop`, `e^{2πi·m·f·hop/M} = e^{2πi·m·f/P}` (P = M/hop) depends on m only
/// modulo P, so
///
/// ```text
/// X[f] = Σ_m Z_m·e^{2πi·m·d_f/M} = Σ_{r<P} Y_r·e^{2πi·r·f/P},   Y_r = Σ_{m ≡ r (P)} Z_m·e^{2πi·m·d_0/M}
/// ```
///
/// the spectral entries folded into P sums and one inverse P-point FFT (the same sums as
/// [`spectral_frames`], in another order).
fn folded_frames(b: &BankBin, s: &Spectra, frames: usize, fft: &dyn Fft<f64>) -> Vec<Complex64> {
    let (m, half) = (s.m, s.half);
    let hop = b.framing.hop();
    let p = m / hop;
    let zero = Complex64::new(0.0, 0.0);
    let mut y = vec![zero; p];
    let mut scratch = vec![zero; fft.get_inplace_scratch_len()];
    let mut out = Vec::with_capacity(frames);
    let place = |j: usize| {
        let rel = ((j * hop) as i64 - b.offset - s.origin) as usize;
        (rel / s.stride, rel % s.stride)
    };
    let first = b.first.rem_euclid(m as i64) as usize;
    let mut shifted = vec![zero; b.spec.len()];
    let mut shifted_for = None;
    let mut j = 0;
    while j < frames {
        let (blk, d0) = place(j);
        let mut end = j;
        while end < frames && place(end).0 == blk {
            end += 1;
        }
        let spec = &s.spectra[blk * s.width..(blk + 1) * s.width];
        if shifted_for != Some(d0) {
            // Â[m]·e^{2πi·m·d0/M}; the same in every block when the stride is a multiple of
            // the hop (`KernelBank::analyze_with`)
            let (mut mm, mut t) = (first, (first * d0) % m);
            for (v, a) in shifted.iter_mut().zip(&b.spec) {
                *v = a * s.twiddle[t];
                mm += 1;
                t += d0;
                if mm == m {
                    (mm, t) = (0, 0);
                }
                if t >= m {
                    t -= m;
                }
            }
            shifted_for = Some(d0);
        }
        y.fill(zero);
        // index mm of the block spectrum, r = mm mod P
        let (mut mm, mut r) = (first, first % p);
        for a in &shifted {
            let xv = if mm < half {
                spec[mm - s.lo]
            } else {
                spec[m - mm - s.lo].conj()
            };
            y[r] += xv * a;
            mm += 1;
            if mm == m {
                mm = 0;
            }
            r += 1;
            if r == p {
                r = 0;
            }
        }
        fft.process_with_scratch(&mut y, &mut scratch);
        // d0 + f·hop < stride ≤ M: at most P frames per block
        out.extend_from_slice(&y[..end - j]);
        j = end;
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

    /// Coefficients of a bank of Hann bins of lengths `lens` (frames centred on j·hop, kernel
    /// tolerance 1e-4 as the VQT's) on deterministic noise: (bank, folded where the hop allows,
    /// Horner's rule everywhere, the direct correlation sums in f64).
    #[allow(clippy::type_complexity)]
    fn bank_three_ways(
        lens: &[usize],
        hop: usize,
    ) -> (
        KernelBank,
        Vec<Vec<Complex64>>,
        Vec<Vec<Complex64>>,
        Vec<Vec<Complex64>>,
    ) {
        let bins: Vec<BankBin> = lens
            .iter()
            .enumerate()
            .map(|(i, &n)| BankBin {
                freq: 0.0,
                kernel: HannKernel {
                    len: n,
                    period: n as f64,
                    shift: 0.5 * i as f64 / lens.len() as f64,
                    omega: 2.0 * PI * 11.0 / n as f64,
                    scale: 1.0 / n as f64,
                    phase: 0.3 * i as f64,
                },
                offset: (n / 2) as i64,
                framing: Framing::Centered { hop },
                first: 0,
                spec: Vec::new(),
                direct_re: Vec::new(),
                direct_im: Vec::new(),
            })
            .collect();
        let bank = KernelBank::new(bins, 1000.0, 1e-4);
        let mut s = 0x2545_f491_4f6c_dd1du64; // xorshift noise in [−0.5, 0.5)
        let x: Vec<f64> = (0..5003)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
            })
            .collect();
        let (base, len) = (-7i64, 4990);
        let coeffs = |fold| -> Vec<Vec<Complex64>> {
            let c = bank.analyze_with(&x, base, len, fold).unwrap();
            c.bins.into_iter().map(|b| b.coeffs).collect()
        };
        let direct = bank
            .bins
            .iter()
            .map(|b| {
                (0..b.framing.n_frames(len))
                    .map(|j| {
                        (0..b.kernel.len)
                            .map(|n| {
                                let i = (j * hop) as i64 - b.offset + n as i64 - base;
                                let v = usize::try_from(i).ok().and_then(|i| x.get(i));
                                b.kernel.sample(n) * v.copied().unwrap_or(0.0)
                            })
                            .sum::<Complex64>()
                    })
                    .collect()
            })
            .collect();
        let (folded, horner) = (coeffs(true), coeffs(false));
        (bank, folded, horner, direct)
    }

    /// Largest |a − b| relative to the largest |b|.
    fn worst(a: &[Vec<Complex64>], b: &[Vec<Complex64>]) -> f64 {
        let max = b.iter().flatten().map(|v| v.norm()).fold(0.0, f64::max);
        assert_eq!(a.len(), b.len());
        let mut w = 0.0f64;
        for (a, b) in a.iter().zip(b) {
            assert_eq!(a.len(), b.len());
            for (a, b) in a.iter().zip(b) {
                w = w.max((a - b).norm() / max);
            }
        }
        w
    }

    #[test]
    fn folded_spectral_frames_equal_horners_rule_and_the_direct_sums() {
        let lens = [500, 420, 350, 260];
        // hop 16 divides the block (1024): the spectral bins are folded (`analyze_with(…, true)`)
        // or evaluated by Horner's rule (`false`); the shorter kernels are summed directly
        {
            let hop = 16;
            let (bank, folded, horner, direct) = bank_three_ways(&lens, hop);
            let g = &bank.groups[0];
            assert_eq!(g.block, 1024);
            let stride = g.block - g.max_len;
            let spectral: Vec<&BankBin> = bank.bins.iter().filter(|b| !b.spec.is_empty()).collect();
            assert!(!spectral.is_empty(), "hop {hop}: spectral bins");
            for b in spectral {
                let folded = fold_size(hop, g.block, stride, b.spec.len());
                assert!(folded.is_some(), "hop {hop}: not folded");
            }
            // the same sums in another order: rounding only (≤ 200 unit-size terms)
            let w = worst(&folded, &horner);
            assert!(w < 1e-12, "hop {hop}: folded vs Horner {w}");
            // truncation of the spectral kernels at tol = 1e-4 (module docs: tol·√(M/N) of a
            // full-scale coefficient of a stationary signal, 2e-4 for N = 260)
            let w = worst(&folded, &direct);
            assert!(w < 2e-4, "hop {hop}: folded vs direct sums {w}");
        }
    }

    #[test]
    fn closed_form_energy_matches_the_sum_of_squares() {
        for (len, period, shift) in [
            (37, 36.0, 0.0),
            (40, 40.0, 1.0),
            (1001, 1001.0, 0.5),
            (7, 9.5, 0.3),
        ] {
            let k = HannKernel {
                len,
                period,
                shift,
                omega: 0.7,
                scale: 0.3,
                phase: 0.2,
            };
            let want: f64 = (0..len).map(|n| (k.scale * k.window(n)).powi(2)).sum();
            // relative: f64 sums of ≤ 1001 terms
            assert!(
                (k.energy() / want - 1.0).abs() < 1e-12,
                "len {len}: {} vs {want}",
                k.energy()
            );
        }
    }

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
