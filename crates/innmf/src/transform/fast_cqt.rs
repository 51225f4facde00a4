//! Constant-Q and variable-Q transforms computed with sparse spectral kernels.
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
//! bins whose time-domain kernel is shorter than 4× that are summed directly instead.
//!
//! Two kernel families are provided:
//! * [`FastCqt`]: the paper's transform ([`DirectCqt`](super::DirectCqt): Q cycles per window,
//!   per-bin hop N_k/hop_divisor), identical to the direct sums to about 1e-6 relative;
//! * [`Vqt`]: librosa's `vqt`/`cqt` (`librosa.filters.wavelet` kernels: fractional lengths
//!   `ℓ_k = Q·sr/(f_k + γ/α)`, `Q = filter_scale/α`, `α = (r²−1)/(r²+1)`, `r = 2^{1/B}`, periodic
//!   Hann, L1-normalised and scaled by `√ℓ_k`; one hop for all bins, frames centred on `j·hop`).

use super::cqt::{CqtBin, CqtCoefficients, DirectCqtParams};
use crate::error::{Error, Result};
use num_complex::Complex64;
use rayon::prelude::*;
use realfft::RealFftPlanner;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// A Hann-windowed complex exponential, `a[n] = scale·e^{iφ}·w[n]·e^{−iω n}` for n in 0..len,
/// with `w[n] = ½ − ½cos(2π(n + shift)/period)`.
#[derive(Debug, Clone, Copy)]
struct HannKernel {
    len: usize,
    period: f64,
    shift: f64,
    omega: f64,
    scale: f64,
    phase: f64,
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

    /// The sparse spectral kernel for block size M: first index and values (already / M).
    fn sparse_spectrum(&self, big_m: usize, tol: f64) -> (i64, Vec<Complex64>) {
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
        (lo, vals.into_iter().map(|v| v * inv).collect())
    }
}

/// How a bin places its frames on a signal of `len` samples.
#[derive(Debug, Clone, Copy)]
enum Framing {
    /// Centres 0, H, 2H, … while `c < len − half` (the paper's CQT).
    InsideHalf { hop: usize, half: usize },
    /// Centres 0, H, …, ⌊len/H⌋·H (librosa's `center=True`).
    Centered { hop: usize },
}

impl Framing {
    fn hop(&self) -> usize {
        match *self {
            Framing::InsideHalf { hop, .. } | Framing::Centered { hop } => hop,
        }
    }

    fn n_frames(&self, len: usize) -> usize {
        match *self {
            Framing::InsideHalf { hop, half } if len > half => (len - half - 1) / hop + 1,
            Framing::InsideHalf { .. } => 0,
            Framing::Centered { hop } => 1 + len / hop,
        }
    }
}

#[derive(Debug, Clone)]
struct BankBin {
    freq: f64,
    kernel: HannKernel,
    /// Kernel sample 0 sits at `c_j − offset`.
    offset: i64,
    framing: Framing,
    /// Sparse spectral kernel for the group's block size.
    first: i64,
    spec: Vec<Complex64>,
    /// Time-domain kernel, used instead when it is cheaper than the spectral one.
    direct: Vec<Complex64>,
}

#[derive(Debug, Clone)]
struct Group {
    block: usize,
    max_len: usize,
    bins: Vec<usize>,
}

/// Sparse-spectral-kernel engine shared by [`FastCqt`] and [`Vqt`].
#[derive(Debug, Clone)]
struct KernelBank {
    bins: Vec<BankBin>,
    groups: Vec<Group>,
    sample_rate: f64,
}

impl KernelBank {
    fn new(mut bins: Vec<BankBin>, sample_rate: f64, tol: f64) -> Self {
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
                let (first, spec) = bins[k].kernel.sparse_spectrum(g.block, tol);
                let kern = bins[k].kernel;
                // a spectral coefficient costs ≈ 2 complex multiply-adds per kernel entry
                // (one Horner step, one share of the per-block product), a direct one N_k
                // real×complex multiply-adds ≈ N_k/2 complex ones
                if 4 * spec.len() < kern.len {
                    bins[k].first = first;
                    bins[k].spec = spec;
                } else {
                    bins[k].direct = (0..kern.len).map(|n| kern.sample(n)).collect();
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
    fn unit_tone_gain(&self) -> Vec<f64> {
        self.bins
            .iter()
            .map(|b| {
                let k = &b.kernel;
                0.5 * k.scale.abs() * (0..k.len).map(|n| k.window(n)).sum::<f64>()
            })
            .collect()
    }

    fn analyze(&self, x: &[f64]) -> Result<CqtCoefficients> {
        if x.is_empty() {
            return Err(Error::Empty { what: "signal" });
        }
        crate::error::check_finite("signal", x)?;
        let len = x.len();
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
            spectra.par_chunks_mut(half).enumerate().for_each_init(
                || (vec![0.0; m], fft.make_scratch_vec()),
                |(buf, scratch), (b, spec)| {
                    let start = origin + (b * stride) as i64;
                    for (i, v) in buf.iter_mut().enumerate() {
                        let idx = start + i as i64;
                        *v = if idx >= 0 && (idx as usize) < len {
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
                        direct_frames(b, x, frames)
                    } else {
                        spectral_frames(b, &spectra, half, m, stride, origin, frames)
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

/// Direct correlation sums of one bin (zero outside the signal).
fn direct_frames(b: &BankBin, x: &[f64], frames: usize) -> Vec<Complex64> {
    let hop = b.framing.hop();
    let n = b.direct.len();
    (0..frames)
        .map(|j| {
            let start = (j * hop) as i64 - b.offset;
            let lo = (-start).max(0) as usize;
            let hi = n.min((x.len() as i64 - start).max(0) as usize);
            let (mut re, mut im) = (0.0, 0.0);
            for i in lo..hi {
                let v = x[(start + i as i64) as usize];
                re += b.direct[i].re * v;
                im += b.direct[i].im * v;
            }
            Complex64::new(re, im)
        })
        .collect()
}

/// Spectral-kernel coefficients of one bin: per block, `Z[m] = X̂_block[m]·Â[m]` once, then per
/// frame `Σ_m Z[m]·w^m`, `w = e^{2πi·d/M}`, by Horner's rule (|w| = 1, so rounding errors grow
/// only linearly with the number of entries).
fn spectral_frames(
    b: &BankBin,
    spectra: &[Complex64],
    half: usize,
    m: usize,
    stride: usize,
    origin: i64,
    frames: usize,
) -> Vec<Complex64> {
    let hop = b.framing.hop();
    let mut z = vec![Complex64::new(0.0, 0.0); b.spec.len()];
    let mut current = usize::MAX;
    let mut out = Vec::with_capacity(frames);
    for j in 0..frames {
        let s = (j * hop) as i64 - b.offset;
        let rel = (s - origin) as usize;
        let blk = rel / stride;
        let d = rel - blk * stride;
        if blk != current {
            current = blk;
            let spec = &spectra[blk * half..(blk + 1) * half];
            for (i, (zi, a)) in z.iter_mut().zip(&b.spec).enumerate() {
                let mm = (b.first + i as i64).rem_euclid(m as i64) as usize;
                let xv = if mm < half {
                    spec[mm]
                } else {
                    spec[m - mm].conj()
                };
                *zi = xv * a;
            }
        }
        let w = Complex64::from_polar(1.0, 2.0 * PI * d as f64 / m as f64);
        let mut acc = Complex64::new(0.0, 0.0);
        for zi in z.iter().rev() {
            acc = acc * w + zi;
        }
        // w^first, with the exponent reduced mod M first to keep the phase exact
        let e = ((b.first as i128 * d as i128).rem_euclid(m as i128)) as f64;
        out.push(acc * Complex64::from_polar(1.0, 2.0 * PI * e / m as f64));
    }
    out
}

fn check_sr(sample_rate: f64) -> Result<()> {
    crate::error::check_sample_rate(sample_rate)?;
    Ok(())
}

fn check_tol(tol: f64) -> Result<()> {
    if !(tol.is_finite() && (1e-6..0.1).contains(&tol)) {
        return Err(Error::param(
            "kernel tolerance",
            tol,
            "a number in [1e-6, 0.1) (smaller is lost in rounding)",
        ));
    }
    Ok(())
}

/// The paper's constant-Q transform ([`DirectCqt`](super::DirectCqt)) computed with sparse
/// spectral kernels: same bins, frames, times and coefficients (to ~1e-6 relative).
#[derive(Debug, Clone)]
pub struct FastCqt {
    params: DirectCqtParams,
    bank: KernelBank,
}

impl FastCqt {
    /// Default truncation tolerance of the spectral kernels (relative amplitude).
    pub const DEFAULT_TOL: f64 = 1e-6;

    /// Validates the parameters (as [`DirectCqt::new`](super::DirectCqt::new)) and precomputes
    /// the sparse spectral kernels.
    pub fn new(params: DirectCqtParams, sample_rate: f64) -> Result<Self> {
        Self::with_tolerance(params, sample_rate, Self::DEFAULT_TOL)
    }

    /// As [`FastCqt::new`] with an explicit kernel truncation tolerance.
    pub fn with_tolerance(params: DirectCqtParams, sample_rate: f64, tol: f64) -> Result<Self> {
        // the direct plan validates everything and fixes the window lengths
        let direct = super::cqt::DirectCqt::new(params, sample_rate)?;
        check_tol(tol)?;
        let bins = direct
            .bin_layout()
            .into_iter()
            .map(|(n, hop, freq)| BankBin {
                freq,
                kernel: HannKernel {
                    len: n,
                    period: (n - 1).max(1) as f64,
                    shift: 0.0,
                    omega: 2.0 * PI * params.q / n as f64,
                    scale: 1.0 / (n as f64).sqrt(),
                    phase: 0.0,
                },
                offset: (n / 2) as i64,
                framing: Framing::InsideHalf { hop, half: n / 2 },
                first: 0,
                spec: Vec::new(),
                direct: Vec::new(),
            })
            .collect();
        Ok(FastCqt {
            params,
            bank: KernelBank::new(bins, sample_rate, tol),
        })
    }

    /// The parameters.
    pub fn params(&self) -> &DirectCqtParams {
        &self.params
    }

    /// Per bin, the magnitude a unit-amplitude sinusoid at the bin's analysis frequency reads
    /// away from the signal's edges (as [`DirectCqt::unit_tone_gain`](super::DirectCqt)):
    /// `(N_k − 1)/(4√N_k)`.
    pub fn unit_tone_gain(&self) -> Vec<f64> {
        self.bank.unit_tone_gain()
    }

    /// Analyzes `x` (sampled at the planned rate).
    pub fn analyze(&self, x: &[f64]) -> Result<CqtCoefficients> {
        self.bank.analyze(x)
    }
}

/// Parameters of the librosa-compatible variable-Q transform (`librosa.vqt`; `gamma = 0` is
/// `librosa.cqt`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VqtParams {
    /// Lowest bin frequency (Hz); librosa's default is C1 ≈ 32.70 Hz.
    pub f_min: f64,
    /// Number of bins.
    pub n_bins: usize,
    /// Bins per octave.
    pub bins_per_octave: usize,
    /// Window length scale (librosa's `filter_scale`, default 1).
    pub filter_scale: f64,
    /// Bandwidth offset γ in Hz (0: constant-Q).
    pub gamma: f64,
    /// Hop in samples, common to all bins.
    pub hop: usize,
}

impl VqtParams {
    /// librosa's `cqt` defaults: C1, 84 bins, 12 per octave, filter_scale 1, hop 512.
    pub fn librosa_default() -> Self {
        VqtParams {
            f_min: 32.703_195_662_574_83,
            n_bins: 84,
            bins_per_octave: 12,
            filter_scale: 1.0,
            gamma: 0.0,
            hop: 512,
        }
    }

    /// Bin centre frequencies `f_min·2^{k/B}`.
    pub fn frequencies(&self) -> Vec<f64> {
        (0..self.n_bins)
            .map(|k| self.f_min * 2f64.powf(k as f64 / self.bins_per_octave as f64))
            .collect()
    }
}

/// librosa-compatible constant-/variable-Q transform (magnitudes match `librosa.vqt(…,
/// scale=True)` up to librosa's own approximations: spectral sparsity and early downsampling).
#[derive(Debug, Clone)]
pub struct Vqt {
    params: VqtParams,
    lengths: Vec<f64>,
    bank: KernelBank,
}

impl Vqt {
    /// Validates the parameters and precomputes the kernels.
    pub fn new(params: VqtParams, sample_rate: f64) -> Result<Self> {
        check_sr(sample_rate)?;
        if params.bins_per_octave == 0 {
            return Err(Error::param("bins per octave", 0, "at least 1"));
        }
        if params.n_bins == 0 {
            return Err(Error::param("number of bins", 0, "at least 1"));
        }
        if params.hop == 0 {
            return Err(Error::param("hop", 0, "at least 1 sample"));
        }
        if !(params.f_min.is_finite() && params.f_min > 0.0) {
            return Err(Error::param(
                "f_min",
                params.f_min,
                "a positive frequency in Hz",
            ));
        }
        if !(params.filter_scale.is_finite() && params.filter_scale > 0.0) {
            return Err(Error::param(
                "filter scale",
                params.filter_scale,
                "a positive number",
            ));
        }
        if !(params.gamma.is_finite() && params.gamma >= 0.0) {
            return Err(Error::param("gamma", params.gamma, "a bandwidth ≥ 0 Hz"));
        }
        let r = 2f64.powf(1.0 / params.bins_per_octave as f64);
        let alpha = (r * r - 1.0) / (r * r + 1.0);
        let q = params.filter_scale / alpha;
        let freqs = params.frequencies();
        // librosa: Hann's equivalent noise bandwidth is 1.5 bins; the top filter's main lobe
        // (−3 dB) must stay below Nyquist
        let top = freqs[params.n_bins - 1];
        let cutoff = top * (1.0 + 0.5 * 1.5 / q) + 0.5 * params.gamma;
        if cutoff > sample_rate / 2.0 {
            return Err(Error::param(
                "f_max (top variable-Q bin)",
                format!("{top:.1} Hz (filter cutoff {cutoff:.1} Hz)"),
                format!(
                    "a cutoff below the Nyquist frequency {} Hz; use fewer bins",
                    sample_rate / 2.0
                ),
            ));
        }
        let mut lengths = Vec::with_capacity(params.n_bins);
        let bins = freqs
            .iter()
            .map(|&f| {
                let ell = q * sample_rate / (f + params.gamma / alpha);
                lengths.push(ell);
                // librosa: n ∈ arange(⌊−ℓ/2⌋, ⌊ℓ/2⌋), periodic Hann of that count, L1-normalised,
                // applied as a time-reversed correlation (see the module docs for the algebra)
                let n0 = (-ell / 2.0).floor();
                let n = ((ell / 2.0).floor() - n0) as usize;
                let omega = 2.0 * PI * f / sample_rate;
                let wsum = n as f64 / 2.0; // Σ periodic Hann = N/2
                BankBin {
                    freq: f,
                    kernel: HannKernel {
                        len: n,
                        period: n as f64,
                        shift: 1.0,
                        omega,
                        scale: ell.sqrt() / wsum,
                        phase: omega * (n as f64 - 1.0 + n0),
                    },
                    // y index = c + (−n0) − (N−1) + r; librosa rounds the filter's centre into
                    // an even FFT frame, which places sample r at c − (N−1) − n0 + r
                    offset: (n as f64 - 1.0 + n0) as i64,
                    framing: Framing::Centered { hop: params.hop },
                    first: 0,
                    spec: Vec::new(),
                    direct: Vec::new(),
                }
            })
            .collect();
        Ok(Vqt {
            params,
            lengths,
            bank: KernelBank::new(bins, sample_rate, FastCqt::DEFAULT_TOL),
        })
    }

    /// The parameters.
    pub fn params(&self) -> &VqtParams {
        &self.params
    }

    /// Per bin, the magnitude a unit-amplitude sinusoid at `f_k` reads away from the signal's
    /// edges: the kernel is L1-normalised and scaled by `√ℓ_k` (librosa's `scale=True`), so
    /// `√ℓ_k/2`.
    pub fn unit_tone_gain(&self) -> Vec<f64> {
        self.bank.unit_tone_gain()
    }

    /// Fractional filter lengths ℓ_k (librosa's `wavelet_lengths`).
    pub fn lengths(&self) -> &[f64] {
        &self.lengths
    }

    /// Analyzes `x` (sampled at the planned rate); frames are centred on `j·hop`, j = 0..=L/hop.
    pub fn analyze(&self, x: &[f64]) -> Result<CqtCoefficients> {
        if x.is_empty() {
            return Err(Error::Empty { what: "signal" });
        }
        self.bank.analyze(x)
    }
}

#[cfg(test)]
mod tests {
    use super::super::cqt::DirectCqt;
    use super::*;

    fn noise(n: usize, seed: u64) -> Vec<f64> {
        use rand::{Rng, SeedableRng};
        let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| r.random_range(-1.0..1.0)).collect()
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

    #[test]
    fn equals_the_direct_sums() {
        // small Q keeps the direct reference fast; several octaves exercise several groups
        let params = DirectCqtParams {
            q: 12.0,
            bins_per_octave: 12,
            f_min: 30.0,
            n_bins: 60,
            hop_divisor: 4,
        };
        let sr = 4000.0;
        let x = noise(9001, 3);
        let direct = DirectCqt::new(params, sr).unwrap().analyze(&x).unwrap();
        let fast = FastCqt::new(params, sr).unwrap().analyze(&x).unwrap();
        let max = direct
            .bins
            .iter()
            .flat_map(|b| b.coeffs.iter().map(|c| c.norm()))
            .fold(0.0, f64::max);
        assert_eq!(fast.bins.len(), direct.bins.len());
        let mut worst = 0.0f64;
        for (a, b) in fast.bins.iter().zip(&direct.bins) {
            assert_eq!(a.times, b.times);
            assert_eq!(a.freq, b.freq);
            for (x, y) in a.coeffs.iter().zip(&b.coeffs) {
                worst = worst.max((x - y).norm() / max);
            }
        }
        // the spec asks for 1e-5; the kernel tolerance 1e-6 bounds it by ≈ 2e-6 (module docs)
        assert!(worst < 2e-6, "worst relative error {worst}");
    }

    #[test]
    fn paper_settings_match_direct_on_a_short_signal() {
        let sr = 4410.0;
        let x = noise(15000, 9);
        let p = DirectCqtParams::paper_demo();
        let direct = DirectCqt::new(p, sr).unwrap().analyze(&x).unwrap();
        let fast = FastCqt::new(p, sr).unwrap().analyze(&x).unwrap();
        let max = direct
            .bins
            .iter()
            .flat_map(|b| b.coeffs.iter().map(|c| c.norm()))
            .fold(0.0, f64::max);
        for (a, b) in fast.bins.iter().zip(&direct.bins) {
            for (x, y) in a.coeffs.iter().zip(&b.coeffs) {
                assert!((x - y).norm() < 1e-5 * max);
            }
        }
    }
}

#[cfg(test)]
mod librosa_tests {
    use super::*;

    fn fixture() -> serde_json::Value {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/data/transforms/librosa_vqt.json"
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// The signal of `make_transform_fixtures.py`.
    fn signal(sr: f64, n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| {
                let t = i as f64 / sr;
                0.5 * (2.0 * PI * 220.0 * t).sin()
                    + 0.3 * (2.0 * PI * (300.0 * t + 400.0 * t * t)).sin()
                    + 0.2 * (2.0 * PI * 1250.0 * t + 0.3).sin()
            })
            .collect()
    }

    #[test]
    fn matches_librosa_vqt() {
        let fx = fixture();
        let sr = fx["sr"].as_f64().unwrap();
        let x = signal(sr, fx["n"].as_u64().unwrap() as usize);
        for case in fx["cases"].as_array().unwrap() {
            let p = &case["params"];
            let params = VqtParams {
                f_min: p["fmin"].as_f64().unwrap(),
                n_bins: p["n_bins"].as_f64().unwrap() as usize,
                bins_per_octave: p["bins_per_octave"].as_f64().unwrap() as usize,
                filter_scale: p["filter_scale"].as_f64().unwrap(),
                gamma: p["gamma"].as_f64().unwrap(),
                hop: p["hop_length"].as_f64().unwrap() as usize,
            };
            let c = Vqt::new(params, sr).unwrap().analyze(&x).unwrap();
            let want: Vec<Vec<f64>> = serde_json::from_value(case["mag"].clone()).unwrap();
            let max = want.iter().flatten().fold(0.0f64, |a, &b| a.max(b));
            let (mut worst, mut worst_low) = (0.0f64, 0.0f64);
            for (k, row) in want.iter().enumerate() {
                assert_eq!(c.bins[k].coeffs.len(), row.len());
                for (j, &w) in row.iter().enumerate() {
                    let e = (c.bins[k].coeffs[j].norm() - w).abs() / max;
                    if k + params.bins_per_octave >= params.n_bins {
                        worst = worst.max(e);
                    } else {
                        // librosa analyses lower octaves after downsampling by 2, 4, …, which
                        // re-quantises each filter length at the lower rate (±1 coarse sample,
                        // ≈1 % of a window here) and moves the skirts of nearby tones by a few %
                        worst_low = worst_low.max(e);
                    }
                }
            }
            // top octave: librosa sums positive frequencies only (drops the kernels' negative-
            // frequency leakage, ~1e-4 here) in complex64; 1e-3 of full scale covers both
            assert!(worst < 1e-3, "{}: worst {worst}", case["name"]);
            assert!(worst_low < 4e-2, "{}: worst {worst_low}", case["name"]);
        }
    }
}
