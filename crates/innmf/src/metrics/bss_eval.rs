//! BSS Eval v3 source metrics (Vincent, Gribonval, Févotte 2006), exactly as
//! `mir_eval.separation.bss_eval_sources` computes them.
//!
//! ## The decomposition
//! For an estimate `ŝ` (length `T`) and references `s_1..s_n`, let `L = 512` and let `S_i` be the
//! `(T+L−1) × L` matrix whose columns are `s_i` delayed by `0..L−1` samples. Two least-squares
//! projections of the zero-padded estimate `ŝ'` are taken:
//!
//! ```text
//! P_j   = S_j · argmin_c ‖ŝ' − S_j c‖²                  (onto delayed copies of reference j)
//! P_all = [S_1..S_n] · argmin_c ‖ŝ' − [S_1..S_n] c‖²    (onto delayed copies of all references)
//! ```
//!
//! solved through the normal equations `G c = D` with the Gram matrix
//! `G[(i,p),(k,q)] = ⟨s_i(· − p), s_k(· − q)⟩`, a block-Toeplitz matrix whose entries are lags of
//! the cross-correlations `r_ik`, and `D[(i,p)] = ⟨s_i(· − p), ŝ⟩`. With `s_target = P_j`,
//! `e_interf = P_all − P_j` and `e_artif = ŝ' − P_all`:
//!
//! ```text
//! SDR = 10·log10 ‖P_j‖² / ‖ŝ' − P_j‖²
//! SIR = 10·log10 ‖P_j‖² / ‖P_all − P_j‖²
//! SAR = 10·log10 ‖P_all‖² / ‖ŝ' − P_all‖²
//! ```
//!
//! With permutation search, every (estimate, reference) pair is scored and the assignment with the
//! largest mean SIR is kept (all `n!` permutations in lexicographic order, first maximum wins, as
//! mir_eval's `np.argmax` over `itertools.permutations`).
//!
//! ## How this differs from mir_eval's code (not its results)
//! mir_eval rebuilds and LU-solves the whole `nL × nL` system for each of the `n²` pairs. Here the
//! correlations come from one real FFT per signal (size ≥ `T+L−1`, 5-smooth), `G` is solved once
//! for all `n` estimates together (`P_all` does not depend on the reference), the `n` diagonal
//! `L × L` blocks once each for the `P_j`, and the projections are filtered in the frequency
//! domain. Ordered by delay, `G` is block Toeplitz (`n × n` blocks that depend only on the
//! difference of the delays) and its diagonal blocks are Toeplitz, so both are solved by the
//! block Levinson recursion with one step of iterative refinement (`O(L²n³)` instead of a
//! Cholesky factorisation's `O(L³n³)`; equal to the Cholesky solution to rounding, tested). A
//! system that is not positive definite to rounding falls back to Cholesky, and then to LU with
//! partial pivoting (mir_eval's `np.linalg.solve`). Independent work runs on rayon.

use super::toeplitz::BlockToeplitz;
use super::{best_permutation, check_permutable, safe_db, validate_sources};
use crate::error::{Error, Result};
use faer::linalg::solvers::Solve;
use faer::{Mat, Side};
use num_complex::Complex;
use rayon::prelude::*;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use std::sync::Arc;

/// Length of the distortion filters (mir_eval's hard-coded 512 taps).
pub const BSS_EVAL_FILTER_LEN: usize = 512;

/// Most sources accepted (mir_eval's `MAX_SOURCES`).
pub const MAX_SOURCES: usize = 100;

/// Most sources for which the exhaustive permutation search (`n!` candidates) is run.
pub const MAX_PERMUTED_SOURCES: usize = 10;

/// Per-reference scores of [`bss_eval_sources`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BssEvalSources {
    /// Source-to-distortion ratio (dB), one per reference.
    pub sdr: Vec<f64>,
    /// Source-to-interference ratio (dB).
    pub sir: Vec<f64>,
    /// Source-to-artifact ratio (dB).
    pub sar: Vec<f64>,
    /// `perm[j]`: the estimate matched to reference `j` (identity without permutation search).
    pub perm: Vec<usize>,
}

/// Per-window scores of [`bss_eval_sources_framewise`]: `[source][window]`, NaN (and `None`
/// for the permutation) in windows where a reference or an estimate is silent.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FramewiseBssEval {
    /// Window length in samples.
    pub window: usize,
    /// Hop in samples.
    pub hop: usize,
    /// First sample of each window.
    pub starts: Vec<usize>,
    /// SDR (dB) `[source][window]`.
    #[serde(with = "crate::io::json_float::matrix")]
    pub sdr: Vec<Vec<f64>>,
    /// SIR (dB) `[source][window]`.
    #[serde(with = "crate::io::json_float::matrix")]
    pub sir: Vec<Vec<f64>>,
    /// SAR (dB) `[source][window]`.
    #[serde(with = "crate::io::json_float::matrix")]
    pub sar: Vec<Vec<f64>>,
    /// Matched estimate `[source][window]`.
    pub perm: Vec<Vec<Option<usize>>>,
}

/// `mir_eval.separation.bss_eval_sources(reference, estimate, compute_permutation)`.
///
/// `reference` and `estimate` hold one signal per source, all of one length.
///
/// # Errors
/// As mir_eval's `validate`: no sources or no samples, different counts or lengths, a
/// non-finite sample, an all-zero reference or estimate, more than [`MAX_SOURCES`] sources; with
/// `compute_permutation`, more than [`MAX_PERMUTED_SOURCES`] sources.
pub fn bss_eval_sources<R: AsRef<[f64]> + Sync, E: AsRef<[f64]> + Sync>(
    reference: &[R],
    estimate: &[E],
    compute_permutation: bool,
) -> Result<BssEvalSources> {
    let (nsrc, _) = validate_sources(reference, estimate)?;
    check_permutable(nsrc, compute_permutation)?;
    let refs: Vec<&[f64]> = reference.iter().map(|r| r.as_ref()).collect();
    let ests: Vec<&[f64]> = estimate.iter().map(|e| e.as_ref()).collect();
    Ok(eval_validated(
        &refs,
        &ests,
        compute_permutation,
        BSS_EVAL_FILTER_LEN,
    ))
}

/// `mir_eval.separation.bss_eval_sources_framewise(reference, estimate, window, hop,
/// compute_permutation)`: [`bss_eval_sources`] on windows `[k·hop, k·hop + window)` for
/// `k < ⌊(T − window + hop)/hop⌋`. A window in which any reference or estimate is all zero scores
/// NaN. With fewer than two windows the whole signal is scored as one window (as mir_eval does).
/// mir_eval's default `compute_permutation` here is `false`.
///
/// # Errors
/// Those of [`bss_eval_sources`] for the whole signals, and zero `window` or `hop`.
pub fn bss_eval_sources_framewise<R: AsRef<[f64]> + Sync, E: AsRef<[f64]> + Sync>(
    reference: &[R],
    estimate: &[E],
    window: usize,
    hop: usize,
    compute_permutation: bool,
) -> Result<FramewiseBssEval> {
    if window == 0 {
        return Err(Error::param(
            "window",
            window,
            "a window length > 0 samples",
        ));
    }
    if hop == 0 {
        return Err(Error::param("hop", hop, "a hop > 0 samples"));
    }
    let (nsrc, nsampl) = validate_sources(reference, estimate)?;
    check_permutable(nsrc, compute_permutation)?;
    // in i128: a window or hop near usize::MAX wrapped in i64 (more windows than the signal
    // holds, then a slice past its end)
    let nwin = (nsampl as i128 - window as i128 + hop as i128).div_euclid(hop as i128);
    let refs: Vec<&[f64]> = reference.iter().map(|r| r.as_ref()).collect();
    let ests: Vec<&[f64]> = estimate.iter().map(|e| e.as_ref()).collect();
    let column = |r: BssEvalSources| -> Vec<Vec<f64>> { vec![r.sdr, r.sir, r.sar] };
    if nwin < 2 {
        let r = eval_validated(&refs, &ests, compute_permutation, BSS_EVAL_FILTER_LEN);
        let perm = r.perm.iter().map(|&p| vec![Some(p)]).collect();
        let c = column(r);
        let wrap = |v: &Vec<f64>| v.iter().map(|&x| vec![x]).collect();
        return Ok(FramewiseBssEval {
            window,
            hop,
            starts: vec![0],
            sdr: wrap(&c[0]),
            sir: wrap(&c[1]),
            sar: wrap(&c[2]),
            perm,
        });
    }
    let nwin = nwin as usize;
    let starts: Vec<usize> = (0..nwin).map(|k| k * hop).collect();
    let silent = |s: &[&[f64]]| s.iter().any(|x| x.iter().all(|&v| v == 0.0));
    let per_window: Vec<Option<BssEvalSources>> = starts
        .par_iter()
        .map(|&a| {
            let b = (a + window).min(nsampl);
            let r: Vec<&[f64]> = refs.iter().map(|x| &x[a..b]).collect();
            let e: Vec<&[f64]> = ests.iter().map(|x| &x[a..b]).collect();
            if silent(&r) || silent(&e) {
                None
            } else {
                Some(eval_validated(
                    &r,
                    &e,
                    compute_permutation,
                    BSS_EVAL_FILTER_LEN,
                ))
            }
        })
        .collect();
    let mut out = FramewiseBssEval {
        window,
        hop,
        starts,
        sdr: vec![vec![f64::NAN; nwin]; nsrc],
        sir: vec![vec![f64::NAN; nwin]; nsrc],
        sar: vec![vec![f64::NAN; nwin]; nsrc],
        perm: vec![vec![None; nwin]; nsrc],
    };
    for (k, w) in per_window.into_iter().enumerate() {
        if let Some(w) = w {
            for j in 0..nsrc {
                out.sdr[j][k] = w.sdr[j];
                out.sir[j][k] = w.sir[j];
                out.sar[j][k] = w.sar[j];
                out.perm[j][k] = Some(w.perm[j]);
            }
        }
    }
    Ok(out)
}

/// Timing of [`bss_eval_sources`] (see [`bench_bss_eval`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BssEvalBench {
    /// Number of sources.
    pub nsrc: usize,
    /// Samples per source.
    pub nsampl: usize,
    /// Timed calls.
    pub repeats: usize,
    /// Fastest call (s).
    pub min_s: f64,
    /// Median call (s).
    pub median_s: f64,
    /// The scores (to check the timed work against a reference).
    pub result: BssEvalSources,
}

/// Times `repeats` calls of [`bss_eval_sources`] with permutation search (after one warm-up
/// call), for benchmarks against mir_eval and fast_bss_eval.
///
/// # Errors
/// Those of [`bss_eval_sources`]; `repeats == 0`.
pub fn bench_bss_eval<R: AsRef<[f64]> + Sync, E: AsRef<[f64]> + Sync>(
    reference: &[R],
    estimate: &[E],
    repeats: usize,
) -> Result<BssEvalBench> {
    if repeats == 0 {
        return Err(Error::param("repeats", repeats, "at least 1"));
    }
    let result = bss_eval_sources(reference, estimate, true)?;
    let mut times = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let t = std::time::Instant::now();
        let r = bss_eval_sources(reference, estimate, true)?;
        times.push(t.elapsed().as_secs_f64());
        std::hint::black_box(r);
    }
    times.sort_by(f64::total_cmp);
    Ok(BssEvalBench {
        nsrc: reference.len(),
        nsampl: reference[0].as_ref().len(),
        repeats,
        min_s: times[0],
        median_s: times[repeats / 2],
        result,
    })
}

/// Smallest 2^a·3^b·5^c ≥ n (a fast real-FFT size).
fn fft_len(n: usize) -> usize {
    let mut best = n.next_power_of_two();
    let mut p5 = 1usize;
    while p5 < best {
        let mut p35 = p5;
        while p35 < best {
            let mut m = p35;
            while m < n {
                m *= 2;
            }
            best = best.min(m);
            p35 *= 3;
        }
        p5 *= 5;
    }
    best.max(2)
}

/// Real FFTs of one size.
struct Fft {
    n: usize,
    fwd: Arc<dyn RealToComplex<f64>>,
    inv: Arc<dyn ComplexToReal<f64>>,
}

impl Fft {
    fn new(n: usize) -> Self {
        let mut planner = RealFftPlanner::<f64>::new();
        Fft {
            n,
            fwd: planner.plan_fft_forward(n),
            inv: planner.plan_fft_inverse(n),
        }
    }

    /// Spectrum of `x` zero-padded to `n`.
    fn forward(&self, x: &[f64]) -> Vec<Complex<f64>> {
        let mut buf = vec![0.0; self.n];
        buf[..x.len()].copy_from_slice(x);
        let mut out = self.fwd.make_output_vec();
        self.fwd
            .process(&mut buf, &mut out)
            .expect("FFT buffer sizes are exact");
        out
    }

    /// Inverse of a Hermitian half-spectrum, scaled by 1/n.
    fn inverse(&self, mut spec: Vec<Complex<f64>>) -> Vec<f64> {
        spec[0].im = 0.0;
        if self.n.is_multiple_of(2) {
            let last = spec.len() - 1;
            spec[last].im = 0.0;
        }
        let mut out = vec![0.0; self.n];
        self.inv
            .process(&mut spec, &mut out)
            .expect("FFT buffer sizes are exact");
        let s = 1.0 / self.n as f64;
        out.iter_mut().for_each(|v| *v *= s);
        out
    }
}

/// `a · conj(b)` elementwise.
fn mul_conj(a: &[Complex<f64>], b: &[Complex<f64>]) -> Vec<Complex<f64>> {
    a.iter().zip(b).map(|(x, y)| x * y.conj()).collect()
}

/// Lags `−(L−1)..=(L−1)` of a circular correlation, stored at `lag + L − 1`.
fn lags(c: &[f64], flen: usize) -> Vec<f64> {
    let n = c.len();
    (0..2 * flen - 1)
        .map(|k| {
            let lag = k as i64 - (flen as i64 - 1);
            c[lag.rem_euclid(n as i64) as usize]
        })
        .collect()
}

/// Solves `G x = b` for every column of `b` (Cholesky, LU if `G` is not positive definite).
fn solve_spd(g: Mat<f64>, mut b: Mat<f64>) -> Mat<f64> {
    match g.llt(Side::Lower) {
        Ok(llt) => llt.solve_in_place(&mut b),
        Err(_) => g.partial_piv_lu().solve_in_place(&mut b),
    }
    b
}

/// How the normal equations are solved.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Solver {
    /// Block Levinson (dense if a step finds the system not positive definite).
    Levinson,
    /// Cholesky (LU if not positive definite): the reference of the tests.
    #[cfg_attr(not(test), allow(dead_code))]
    Dense,
}

/// The scores after validation; `flen` taps.
fn eval_validated(
    refs: &[&[f64]],
    ests: &[&[f64]],
    compute_permutation: bool,
    flen: usize,
) -> BssEvalSources {
    eval_with(refs, ests, compute_permutation, flen, Solver::Levinson)
}

fn eval_with(
    refs: &[&[f64]],
    ests: &[&[f64]],
    compute_permutation: bool,
    flen: usize,
    solver: Solver,
) -> BssEvalSources {
    let nsrc = refs.len();
    let nsampl = refs[0].len();
    let out_len = nsampl + flen - 1;
    let fft = Fft::new(fft_len(out_len));
    let rspec: Vec<Vec<Complex<f64>>> = refs.par_iter().map(|r| fft.forward(r)).collect();
    let espec: Vec<Vec<Complex<f64>>> = ests.par_iter().map(|e| fft.forward(e)).collect();

    // Cross-correlations r_ik[l] = Σ_n s_i[n+l] s_k[n] for i ≤ k, at lags |l| < L.
    let pairs: Vec<(usize, usize)> = (0..nsrc)
        .flat_map(|i| (i..nsrc).map(move |k| (i, k)))
        .collect();
    let rr: Vec<Vec<f64>> = pairs
        .par_iter()
        .map(|&(i, k)| lags(&fft.inverse(mul_conj(&rspec[i], &rspec[k])), flen))
        .collect();
    let pair_index = |i: usize, k: usize| pairs.iter().position(|&p| p == (i, k)).unwrap();
    let corr: Vec<Vec<usize>> = (0..nsrc)
        .map(|i| (0..nsrc).map(|k| pair_index(i.min(k), i.max(k))).collect())
        .collect();
    let lag0 = flen as i64 - 1;
    // G[(i,p),(k,q)] = ⟨s_i(·−p), s_k(·−q)⟩ = r_ik[q−p] (i ≤ k) = r_ki[p−q] (i > k)
    let gram_entry = |i: usize, p: usize, k: usize, q: usize| -> f64 {
        let c = &rr[corr[i][k]];
        let lag = if i <= k {
            q as i64 - p as i64
        } else {
            p as i64 - q as i64
        };
        c[(lag + lag0) as usize]
    };

    // D[(i,p)] for estimate e = ⟨s_i(·−p), ŝ_e⟩ = x_ie[−p], x_ie = corr(s_i, ŝ_e).
    let n = nsrc * flen;
    let d_cols: Vec<Vec<f64>> = (0..nsrc)
        .into_par_iter()
        .map(|e| {
            let mut d = vec![0.0; n];
            for i in 0..nsrc {
                let x = fft.inverse(mul_conj(&rspec[i], &espec[e]));
                for p in 0..flen {
                    d[i * flen + p] = x[(fft.n - p) % fft.n];
                }
            }
            d
        })
        .collect();

    // Which (estimate, reference) pairs are scored.
    let scored: Vec<(usize, usize)> = if compute_permutation {
        (0..nsrc)
            .flat_map(|e| (0..nsrc).map(move |j| (e, j)))
            .collect()
    } else {
        (0..nsrc).map(|j| (j, j)).collect()
    };

    // Filters onto all references, one column per estimate: G is block Toeplitz over the delays
    // (blocks nsrc × nsrc, G[(i,p),(k,q)] depends on q − p), solved by the block Levinson
    // recursion; a dense factorisation if a step finds it not positive definite.
    let (all_filters, own_filters) = rayon::join(
        || {
            let t = BlockToeplitz::new(nsrc, flen, |l, i, k| {
                gram_entry(i, flen - 1, k, (flen as i64 - 1 + l) as usize)
            });
            let d: Vec<f64> = (0..flen)
                .flat_map(|p| (0..nsrc).flat_map(move |i| (0..nsrc).map(move |e| (i, p, e))))
                .map(|(i, p, e)| d_cols[e][i * flen + p])
                .collect();
            match (solver == Solver::Levinson)
                .then(|| t.solve(&d, nsrc))
                .flatten()
            {
                Some(x) => {
                    Mat::from_fn(n, nsrc, |r, e| x[((r % flen) * nsrc + r / flen) * nsrc + e])
                }
                None => {
                    let g = Mat::from_fn(n, n, |r, c| {
                        gram_entry(r / flen, r % flen, c / flen, c % flen)
                    });
                    solve_spd(g, Mat::from_fn(n, nsrc, |r, e| d_cols[e][r]))
                }
            }
        },
        || {
            // Filters onto each reference alone: the diagonal blocks (Toeplitz), one per reference.
            (0..nsrc)
                .into_par_iter()
                .map(|j| {
                    let t = BlockToeplitz::new(1, flen, |l, _, _| {
                        gram_entry(j, flen - 1, j, (flen as i64 - 1 + l) as usize)
                    });
                    let d: Vec<f64> = (0..flen * nsrc)
                        .map(|r| d_cols[r % nsrc][j * flen + r / nsrc])
                        .collect();
                    match (solver == Solver::Levinson)
                        .then(|| t.solve(&d, nsrc))
                        .flatten()
                    {
                        Some(x) => Mat::from_fn(flen, nsrc, |p, e| x[p * nsrc + e]),
                        None => {
                            let g = Mat::from_fn(flen, flen, |p, q| gram_entry(j, p, j, q));
                            let b = Mat::from_fn(flen, nsrc, |p, e| d_cols[e][j * flen + p]);
                            solve_spd(g, b)
                        }
                    }
                })
                .collect::<Vec<_>>()
        },
    );

    // Projections filtered in the frequency domain (n_fft ≥ T + L − 1: linear convolution).
    let filter_spec = |coef: &mut dyn Iterator<Item = f64>| -> Vec<Complex<f64>> {
        let c: Vec<f64> = coef.collect();
        fft.forward(&c)
    };
    let p_all: Vec<Vec<f64>> = (0..nsrc)
        .into_par_iter()
        .map(|e| {
            let mut acc = vec![Complex::new(0.0, 0.0); fft.n / 2 + 1];
            for i in 0..nsrc {
                let h = filter_spec(&mut (0..flen).map(|p| all_filters[(i * flen + p, e)]));
                for ((a, x), y) in acc.iter_mut().zip(&h).zip(&rspec[i]) {
                    *a += x * y;
                }
            }
            let mut y = fft.inverse(acc);
            y.truncate(out_len);
            y
        })
        .collect();
    let scores: Vec<(f64, f64, f64)> = scored
        .par_iter()
        .map(|&(e, j)| {
            let h = filter_spec(&mut (0..flen).map(|p| own_filters[j][(p, e)]));
            let spec: Vec<Complex<f64>> = h.iter().zip(&rspec[j]).map(|(x, y)| x * y).collect();
            let p_own = fft.inverse(spec);
            let est = ests[e];
            let pa = &p_all[e];
            let (mut own2, mut dist2, mut interf2, mut all2, mut artif2) =
                (0.0, 0.0, 0.0, 0.0, 0.0);
            for t in 0..out_len {
                let s = if t < nsampl { est[t] } else { 0.0 };
                let (po, a) = (p_own[t], pa[t]);
                own2 += po * po;
                dist2 += (s - po) * (s - po);
                interf2 += (a - po) * (a - po);
                all2 += a * a;
                artif2 += (s - a) * (s - a);
            }
            (
                safe_db(own2, dist2),
                safe_db(own2, interf2),
                safe_db(all2, artif2),
            )
        })
        .collect();

    if compute_permutation {
        let at = |e: usize, j: usize| scores[e * nsrc + j];
        let sir: Vec<Vec<f64>> = (0..nsrc)
            .map(|e| (0..nsrc).map(|j| at(e, j).1).collect())
            .collect();
        let perm = best_permutation(&sir);
        BssEvalSources {
            sdr: (0..nsrc).map(|j| at(perm[j], j).0).collect(),
            sir: (0..nsrc).map(|j| at(perm[j], j).1).collect(),
            sar: (0..nsrc).map(|j| at(perm[j], j).2).collect(),
            perm,
        }
    } else {
        BssEvalSources {
            sdr: scores.iter().map(|s| s.0).collect(),
            sir: scores.iter().map(|s| s.1).collect(),
            sar: scores.iter().map(|s| s.2).collect(),
            perm: (0..nsrc).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-noise in [−0.5, 0.5).
    fn noise(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
            })
            .collect()
    }

    /// Direct least-squares projection onto delayed copies (dense normal equations, no FFT).
    fn project_naive(refs: &[&[f64]], est: &[f64], flen: usize) -> Vec<f64> {
        let nsampl = est.len();
        let out_len = nsampl + flen - 1;
        let delayed = |i: usize, p: usize, t: usize| -> f64 {
            if t >= p && t - p < nsampl {
                refs[i][t - p]
            } else {
                0.0
            }
        };
        let n = refs.len() * flen;
        let g = Mat::from_fn(n, n, |r, c| {
            (0..out_len)
                .map(|t| delayed(r / flen, r % flen, t) * delayed(c / flen, c % flen, t))
                .sum()
        });
        let b = Mat::from_fn(n, 1, |r, _| {
            (0..nsampl)
                .map(|t| delayed(r / flen, r % flen, t) * est[t])
                .sum()
        });
        let x = solve_spd(g, b);
        (0..out_len)
            .map(|t| {
                (0..n)
                    .map(|r| x[(r, 0)] * delayed(r / flen, r % flen, t))
                    .sum()
            })
            .collect()
    }

    /// SDR, SIR, SAR of `est` against the first of `refs` from the naive projections.
    fn naive_scores(refs: &[&[f64]], est: &[f64], flen: usize) -> (f64, f64, f64) {
        let nsampl = est.len();
        let p_own = project_naive(&refs[..1], est, flen);
        let p_all = project_naive(refs, est, flen);
        let pad = |t: usize| if t < nsampl { est[t] } else { 0.0 };
        let e2 =
            |f: &dyn Fn(usize) -> f64| (0..nsampl + flen - 1).map(|t| f(t) * f(t)).sum::<f64>();
        let sdr = 10.0 * (e2(&|t| p_own[t]) / e2(&|t| pad(t) - p_own[t])).log10();
        let sir = 10.0 * (e2(&|t| p_own[t]) / e2(&|t| p_all[t] - p_own[t])).log10();
        let sar = 10.0 * (e2(&|t| p_all[t]) / e2(&|t| pad(t) - p_all[t])).log10();
        (sdr, sir, sar)
    }

    #[test]
    fn fft_sizes_are_smooth_and_large_enough() {
        for n in [1, 2, 7, 97, 511, 1000, 80511, 131073] {
            let m = fft_len(n);
            assert!(m >= n);
            let mut r = m;
            for p in [2, 3, 5] {
                while r.is_multiple_of(p) {
                    r /= p;
                }
            }
            assert_eq!(r, 1, "{m}");
            assert!(m <= n.next_power_of_two().max(2));
        }
        assert_eq!(fft_len(1000), 1000);
    }

    #[test]
    fn matches_naive_projections_across_sizes() {
        for (nsampl, flen) in [(37usize, 4usize), (64, 8), (101, 16)] {
            let a = noise(nsampl, 1);
            let b: Vec<f64> = noise(nsampl, 2)
                .iter()
                .zip(&a)
                .map(|(x, y)| x + 0.3 * y)
                .collect();
            let est: Vec<f64> = noise(nsampl, 3)
                .iter()
                .zip(&a)
                .map(|(x, y)| 0.2 * x + y)
                .collect();
            let refs = [a.as_slice(), b.as_slice()];
            let r = eval_validated(&refs, &[est.as_slice(), b.as_slice()], false, flen);
            let (sdr, sir, sar) = naive_scores(&refs, &est, flen);
            assert!((r.sdr[0] - sdr).abs() < 1e-8, "{} {sdr}", r.sdr[0]);
            assert!((r.sir[0] - sir).abs() < 1e-6, "{} {sir}", r.sir[0]);
            assert!((r.sar[0] - sar).abs() < 1e-8, "{} {sar}", r.sar[0]);
        }
    }

    #[test]
    fn nearly_periodic_references_match_the_dense_solve() {
        // a sinusoid's delayed copies are close to dependent: G is ill-conditioned, the
        // projections are not
        let (nsampl, flen) = (3000usize, 64usize);
        let tone: Vec<f64> = (0..nsampl)
            .zip(noise(nsampl, 20))
            .map(|(t, w)| (0.3 * t as f64).sin() + 1e-3 * w)
            .collect();
        let other = noise(nsampl, 21);
        let est: Vec<f64> = tone
            .iter()
            .zip(&other)
            .zip(noise(nsampl, 22))
            .map(|((a, b), w)| a + 0.2 * b + 0.05 * w)
            .collect();
        let refs = [tone.as_slice(), other.as_slice()];
        let r = eval_validated(&refs, &[est.as_slice(), other.as_slice()], false, flen);
        let (sdr, sir, sar) = naive_scores(&refs, &est, flen);
        assert!((r.sdr[0] - sdr).abs() < 1e-6, "{} {sdr}", r.sdr[0]);
        assert!((r.sir[0] - sir).abs() < 1e-6, "{} {sir}", r.sir[0]);
        assert!((r.sar[0] - sar).abs() < 1e-6, "{} {sar}", r.sar[0]);
    }

    #[test]
    fn levinson_matches_the_dense_solve_on_low_passed_sources() {
        // strongly low-passed noise (AR(1), pole 0.995) has an ill-conditioned Gram matrix, as
        // speech has: 1 s at 16 kHz, mir_eval's 512 taps
        let n = 16000;
        let ar = |seed: u64| {
            let mut y = 0.0;
            noise(n, seed)
                .into_iter()
                .map(|w| {
                    y = 0.995 * y + w;
                    y
                })
                .collect::<Vec<f64>>()
        };
        let (a, b) = (ar(30), ar(31));
        let e0: Vec<f64> = a
            .iter()
            .zip(&b)
            .zip(noise(n, 33))
            .map(|((x, y), w)| x + 0.3 * y + 0.05 * w)
            .collect();
        let e1: Vec<f64> = a
            .iter()
            .zip(noise(n, 32))
            .map(|(x, w)| 0.1 * x + w)
            .collect();
        let refs = [a.as_slice(), b.as_slice()];
        let ests = [e0.as_slice(), e1.as_slice()];
        let fast = eval_with(&refs, &ests, true, 512, Solver::Levinson);
        let dense = eval_with(&refs, &ests, true, 512, Solver::Dense);
        assert_eq!(fast.perm, dense.perm);
        for (name, x, y) in [
            ("sdr", &fast.sdr, &dense.sdr),
            ("sir", &fast.sir, &dense.sir),
            ("sar", &fast.sar, &dense.sar),
        ] {
            for j in 0..2 {
                assert!(
                    (x[j] - y[j]).abs() < 1e-9,
                    "{name}[{j}]: {} vs {}",
                    x[j],
                    y[j]
                );
            }
        }
    }

    #[test]
    fn permutation_is_found_and_scale_does_not_matter() {
        let n = 4000;
        let a = noise(n, 10);
        let b = noise(n, 11);
        let e0: Vec<f64> = a.iter().zip(&b).map(|(x, y)| 0.1 * x + y).collect();
        let e1: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x - 0.2 * y).collect();
        let r = bss_eval_sources(&[&a, &b], &[&e0, &e1], true).unwrap();
        assert_eq!(r.perm, vec![1, 0]);
        let scaled: Vec<f64> = e1.iter().map(|v| 3.0 * v).collect();
        let r2 = bss_eval_sources(&[&a, &b], &[&e0, &scaled], true).unwrap();
        for j in 0..2 {
            assert!((r.sdr[j] - r2.sdr[j]).abs() < 1e-9);
            assert!((r.sir[j] - r2.sir[j]).abs() < 1e-9);
        }
        // SIR of the first reference: interference 0.2 in amplitude → about 14 dB.
        assert!(
            (r.sir[0] - 20.0 * (1.0f64 / 0.2).log10()).abs() < 1.0,
            "{}",
            r.sir[0]
        );
        let fixed = bss_eval_sources(&[&a, &b], &[&e0, &e1], false).unwrap();
        assert_eq!(fixed.perm, vec![0, 1]);
        assert!(fixed.sir[0] < 0.0);
    }

    #[test]
    fn single_source_has_infinite_sir_like_mir_eval() {
        let a = noise(2000, 30);
        let e: Vec<f64> = a
            .iter()
            .zip(noise(2000, 31))
            .map(|(x, w)| x + 0.1 * w)
            .collect();
        let r = bss_eval_sources(&[&a], &[&e], true).unwrap();
        assert_eq!(r.sir[0], f64::INFINITY);
        assert!((r.sdr[0] - r.sar[0]).abs() < 1e-9);
        assert!(r.sdr[0] > 15.0 && r.sdr[0] < 25.0, "{}", r.sdr[0]);
    }

    #[test]
    fn framewise_windows_and_silence() {
        let n = 3000;
        let a = noise(n, 20);
        let mut b = noise(n, 21);
        b[1000..2000].iter_mut().for_each(|v| *v = 0.0);
        let e0: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x + 0.1 * y).collect();
        let e1: Vec<f64> = a.iter().zip(&b).map(|(x, y)| 0.1 * x + y).collect();
        let f = bss_eval_sources_framewise(&[&a, &b], &[&e0, &e1], 1000, 500, false).unwrap();
        assert_eq!(f.starts, vec![0, 500, 1000, 1500, 2000]);
        assert!(f.sdr[0][2].is_nan() && f.perm[1][2].is_none());
        assert!(f.sdr[0][0].is_finite() && f.sdr[0][4].is_finite());
        let w0 = bss_eval_sources(
            &[&a[..1000], &b[..1000]],
            &[&e0[..1000], &e1[..1000]],
            false,
        )
        .unwrap();
        assert!((f.sdr[1][0] - w0.sdr[1]).abs() < 1e-12);
        let whole = bss_eval_sources_framewise(&[&a, &b], &[&e0, &e1], 5000, 500, true).unwrap();
        assert_eq!(whole.sdr[0].len(), 1);
        // a window near usize::MAX is longer than the signal: one window, the whole signal (its
        // length wrapped to -1 in i64 and the windows ran past the end, a panic)
        for (window, hop) in [(usize::MAX, 1), (2, usize::MAX), (usize::MAX, usize::MAX)] {
            let f = bss_eval_sources_framewise(&[&a, &b], &[&e0, &e1], window, hop, false).unwrap();
            assert_eq!(f.starts, vec![0], "window {window}, hop {hop}");
        }
        assert!(bss_eval_sources_framewise(&[&a], &[&e0], 0, 1, false).is_err());
        assert!(bss_eval_sources_framewise(&[&a], &[&e0], 10, 0, false).is_err());
    }
}
