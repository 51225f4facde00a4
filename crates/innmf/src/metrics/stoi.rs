//! Short-time objective intelligibility: STOI (Taal, Hendriks, Heusdens, Jensen, IEEE TASLP 2011)
//! and extended STOI (Jensen & Taal, IEEE TASLP 2016), step for step as `pystoi.stoi` 0.4.
//!
//! ## Pipeline
//! 1. **Resample to 10 kHz** with pystoi's Octave-compatible design (`resample_oct`): for
//!    `p/q = 10000/fs` in lowest terms, cutoff `f_c = 1/(2·max(p, q))` (cycles/sample at the
//!    upsampled rate), roll-off `f_c/10`, 60 dB rejection, half length
//!    `L = ⌈(60 − 8)/(28.714 · f_c/10)⌉`, taps `h[t] = 2p·f_c·sinc(2 f_c t)·kaiser(β = 0.1102·51.3)`
//!    for `t = −L..L`, normalised to unit sum, then SciPy's `resample_poly(x, p, q, window=h)`
//!    (filter × p, zero-phase alignment, output length `⌈n·p/q⌉`).
//! 2. **Silent-frame removal** driven by the clean signal: 256-sample frames, hop 128, periodic
//!    Hann `hanning(258)[1:-1]`, frame starts `0, 128, … < n − 256`; frames more than 40 dB below
//!    the loudest clean frame (`20·log10(‖w·x‖ + eps)`) are dropped from both signals, and the kept
//!    windowed frames are overlap-added back.
//! 3. **STFT**: the same frames and window, 512-point FFT, bins 0..=256.
//! 4. **1/3-octave bands**: 15 bands, centres `150·2^(k/3)` Hz, edges `150·2^((2k∓1)/6)` snapped
//!    to the nearest FFT bin; band `k` sums the power of bins `[lo_k, hi_k)`; `X_k = sqrt(Σ|X|²)`.
//! 5. **Segments** of 30 frames (every start, hop 1). Fewer than 30 frames after silence
//!    removal: pystoi warns and returns `1e-5`, and so does this function.
//! 6. **STOI**: per band and segment, the processed envelope is scaled to the clean one's norm,
//!    clipped to `x·(1 + 10^(15/20))` (SDR bound β = −15 dB), both made zero-mean and unit-norm
//!    (norm + eps); the score is the mean correlation over bands and segments.
//!    **eSTOI**: each segment's 15×30 envelope matrix is normalised over time (rows: zero mean,
//!    unit norm), then over bands (columns); the score is `Σ x̄·ȳ / 30` averaged over segments.
//!
//! `eps` is `f64::EPSILON` throughout, as `np.finfo(float).eps`.
//!
//! ## One deliberate difference
//! pystoi's eSTOI adds `eps·N(0, 1)` noise before each normalisation. That changes results by
//! about 1e-16 except where an envelope row or column is exactly constant (digital silence in
//! the processed signal), where its result becomes random. Here no noise is added and a constant
//! row or column normalises to zero (it correlates with nothing), the expectation of pystoi's
//! random outcome.

use crate::audio::{bessel_i0, gcd, MAX_RESAMPLE_FACTOR};
use crate::error::{check_finite, Error, Result};
use num_complex::Complex;
use realfft::RealFftPlanner;

/// The rate STOI works at (Hz).
pub const STOI_FS: u32 = 10_000;
/// Most samples the signals may have at [`STOI_FS`] (2^28: 7.5 hours).
pub const MAX_STOI_SAMPLES: usize = 1 << 28;
const N_FRAME: usize = 256;
const HOP: usize = N_FRAME / 2;
const NFFT: usize = 512;
const NUM_BANDS: usize = 15;
const MIN_FREQ: f64 = 150.0;
/// Frames per intermediate-intelligibility segment.
const N_SEG: usize = 30;
/// Lower SDR bound (dB) of the clipping.
const BETA: f64 = -15.0;
/// Dynamic range (dB) of the silent-frame removal.
const DYN_RANGE: f64 = 40.0;
const EPS: f64 = f64::EPSILON;

/// STOI (`extended = false`) or eSTOI (`extended = true`) of `processed` against `clean`, both
/// sampled at `fs` Hz: `pystoi.stoi(clean, processed, fs, extended)`.
///
/// Returns `1e-5` when fewer than 30 frames remain after silent-frame removal (pystoi's value).
///
/// # Errors
/// Different lengths, empty or non-finite signals, `fs` outside 1 kHz to
/// [`MAX_SAMPLE_RATE`](crate::audio::MAX_SAMPLE_RATE) or whose resampling to 10 kHz needs a
/// factor above [`MAX_RESAMPLE_FACTOR`] or more than [`MAX_STOI_SAMPLES`] samples, and signals
/// too short to hold one
/// 256-sample frame at 10 kHz (pystoi fails there with a NumPy error).
pub fn stoi(clean: &[f64], processed: &[f64], fs: u32, extended: bool) -> Result<f64> {
    if clean.len() != processed.len() {
        return Err(Error::LengthMismatch {
            what: "samples in processed vs. clean signal".into(),
            expected: clean.len(),
            got: processed.len(),
        });
    }
    if clean.is_empty() {
        return Err(Error::Empty {
            what: "clean signal",
        });
    }
    // below 1 kHz there is no speech band to score, and 1 Hz made a 2 s signal 2e8 samples
    // long at 10 kHz; above MAX_SAMPLE_RATE the rate is a corrupt header's
    crate::audio::check_sample_rate("fs", fs, " (STOI resamples to 10 kHz)")?;
    // the resampling to 10 kHz, sized before it runs: at 1 Hz a minute of samples became 6e9
    // (minutes without Ctrl-C, or an abort), at 4294967295 Hz the filter asked for 497 GB
    let g = gcd(u64::from(STOI_FS), u64::from(fs));
    let (up, down) = (u64::from(STOI_FS) / g, u64::from(fs) / g);
    let n_out = (clean.len() as u128 * up as u128).div_ceil(down as u128);
    if up.max(down) > MAX_RESAMPLE_FACTOR as u64 || n_out > MAX_STOI_SAMPLES as u128 {
        return Err(Error::param(
            "fs",
            fs,
            format!(
                "a sample rate at which {} samples resample to 10 kHz with factors up to \
                 {MAX_RESAMPLE_FACTOR} and at most {MAX_STOI_SAMPLES} samples (here {up}/{down}, \
                 {n_out} samples)",
                clean.len()
            ),
        ));
    }
    check_finite("clean signal", clean)?;
    check_finite("processed signal", processed)?;
    let (x, y) = if fs != STOI_FS {
        (
            resample_oct(clean, STOI_FS, fs),
            resample_oct(processed, STOI_FS, fs),
        )
    } else {
        (clean.to_vec(), processed.to_vec())
    };
    if x.len() <= N_FRAME {
        return Err(Error::param(
            "signal length",
            format!("{} samples at {fs} Hz ({} at 10 kHz)", clean.len(), x.len()),
            format!("more than {N_FRAME} samples at 10 kHz"),
        ));
    }
    let (x, y) = remove_silent_frames(&x, &y);
    let xs = third_octave_envelopes(&x);
    let ys = third_octave_envelopes(&y);
    let nframes = xs.first().map_or(0, |b| b.len());
    if nframes < N_SEG {
        return Ok(1e-5);
    }
    let nseg = nframes - N_SEG + 1;
    if extended {
        let mut total = 0.0;
        for m in 0..nseg {
            let xn = row_col_normalize(&xs, m);
            let yn = row_col_normalize(&ys, m);
            total += xn
                .iter()
                .zip(&yn)
                .map(|(a, b)| a * b / N_SEG as f64)
                .sum::<f64>();
        }
        Ok(total / nseg as f64)
    } else {
        let clip = 1.0 + 10f64.powf(-BETA / 20.0);
        let mut total = 0.0;
        let mut xv = [0.0; N_SEG];
        let mut yv = [0.0; N_SEG];
        for m in 0..nseg {
            for k in 0..NUM_BANDS {
                xv.copy_from_slice(&xs[k][m..m + N_SEG]);
                yv.copy_from_slice(&ys[k][m..m + N_SEG]);
                let alpha = norm(&xv) / (norm(&yv) + EPS);
                for (y, x) in yv.iter_mut().zip(&xv) {
                    *y = (*y * alpha).min(x * clip);
                }
                center_and_normalize(&mut yv);
                center_and_normalize(&mut xv);
                total += xv.iter().zip(&yv).map(|(a, b)| a * b).sum::<f64>();
            }
        }
        Ok(total / (nseg * NUM_BANDS) as f64)
    }
}

/// Extended STOI: [`stoi`] with `extended = true`.
///
/// # Errors
/// Those of [`stoi`].
pub fn estoi(clean: &[f64], processed: &[f64], fs: u32) -> Result<f64> {
    stoi(clean, processed, fs, true)
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|a| a * a).sum::<f64>().sqrt()
}

/// `v ← (v − mean) / (‖v − mean‖ + eps)`.
fn center_and_normalize(v: &mut [f64]) {
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    v.iter_mut().for_each(|a| *a -= mean);
    let n = norm(v) + EPS;
    v.iter_mut().for_each(|a| *a /= n);
}

/// The 15×30 segment starting at frame `m`, rows (bands) then columns (frames) made zero-mean
/// and unit-norm; row-major `[band][frame]`.
fn row_col_normalize(env: &[Vec<f64>], m: usize) -> Vec<f64> {
    let mut s = vec![0.0; NUM_BANDS * N_SEG];
    for k in 0..NUM_BANDS {
        let row = &mut s[k * N_SEG..(k + 1) * N_SEG];
        row.copy_from_slice(&env[k][m..m + N_SEG]);
        let mean = row.iter().sum::<f64>() / N_SEG as f64;
        row.iter_mut().for_each(|a| *a -= mean);
        let n = norm(row);
        let inv = if n > 0.0 { 1.0 / n } else { 0.0 };
        row.iter_mut().for_each(|a| *a *= inv);
    }
    for t in 0..N_SEG {
        let mean = (0..NUM_BANDS).map(|k| s[k * N_SEG + t]).sum::<f64>() / NUM_BANDS as f64;
        (0..NUM_BANDS).for_each(|k| s[k * N_SEG + t] -= mean);
        let n = (0..NUM_BANDS)
            .map(|k| s[k * N_SEG + t].powi(2))
            .sum::<f64>()
            .sqrt();
        let inv = if n > 0.0 { 1.0 / n } else { 0.0 };
        (0..NUM_BANDS).for_each(|k| s[k * N_SEG + t] *= inv);
    }
    s
}

/// `np.hanning(n + 2)[1:-1]` (MATLAB's `hanning(n)`).
fn hanning_inner(n: usize) -> Vec<f64> {
    let m = (n + 1) as f64;
    (1..=n)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / m).cos())
        .collect()
}

/// Frame starts `0, hop, … < len − frame` (pystoi's `range(0, len(x) - framelen, hop)`).
fn frame_starts(len: usize) -> impl Iterator<Item = usize> {
    (0..len.saturating_sub(N_FRAME)).step_by(HOP)
}

/// pystoi's `remove_silent_frames(x, y, 40, 256, 128)`.
fn remove_silent_frames(x: &[f64], y: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let w = hanning_inner(N_FRAME);
    let starts: Vec<usize> = frame_starts(x.len()).collect();
    let energy: Vec<f64> = starts
        .iter()
        .map(|&i| {
            let e = x[i..i + N_FRAME]
                .iter()
                .zip(&w)
                .map(|(a, b)| (a * b) * (a * b))
                .sum::<f64>();
            20.0 * (e.sqrt() + EPS).log10()
        })
        .collect();
    let max = energy.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let kept: Vec<usize> = starts
        .iter()
        .zip(&energy)
        .filter(|(_, &e)| (max - DYN_RANGE - e) < 0.0)
        .map(|(&i, _)| i)
        .collect();
    let ola = |s: &[f64]| {
        let mut out = vec![0.0; (kept.len().max(1) - 1) * HOP + N_FRAME];
        for (k, &i) in kept.iter().enumerate() {
            for (o, (a, b)) in out[k * HOP..k * HOP + N_FRAME]
                .iter_mut()
                .zip(s[i..i + N_FRAME].iter().zip(&w))
            {
                *o += a * b;
            }
        }
        if kept.is_empty() {
            out.clear();
        }
        out
    };
    (ola(x), ola(y))
}

/// Band envelopes `[band][frame]`: `sqrt(OBM · |STFT|²)` (pystoi's `x_tob`).
fn third_octave_envelopes(x: &[f64]) -> Vec<Vec<f64>> {
    let bands = third_octave_bands(STOI_FS as f64, NFFT, NUM_BANDS, MIN_FREQ);
    let w = hanning_inner(N_FRAME);
    let mut planner = RealFftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(NFFT);
    let mut buf = vec![0.0; NFFT];
    let mut spec = fft.make_output_vec();
    let mut scratch = fft.make_scratch_vec();
    let mut env: Vec<Vec<f64>> = vec![Vec::new(); NUM_BANDS];
    let mut power = vec![0.0; NFFT / 2 + 1];
    for i in frame_starts(x.len()) {
        buf.iter_mut().for_each(|v| *v = 0.0);
        for (b, (a, c)) in buf.iter_mut().zip(x[i..i + N_FRAME].iter().zip(&w)) {
            *b = a * c;
        }
        fft.process_with_scratch(&mut buf, &mut spec, &mut scratch)
            .expect("FFT sizes are exact");
        for (p, s) in power.iter_mut().zip(&spec) {
            *p = Complex::norm_sqr(s);
        }
        for (k, &(lo, hi)) in bands.iter().enumerate() {
            env[k].push(power[lo..hi].iter().sum::<f64>().sqrt());
        }
    }
    env
}

/// pystoi's `thirdoct`: for each band, the FFT bins `[lo, hi)` nearest to its edges.
fn third_octave_bands(
    fs: f64,
    nfft: usize,
    num_bands: usize,
    min_freq: f64,
) -> Vec<(usize, usize)> {
    // np.linspace(0, fs, nfft + 1)[: nfft/2 + 1]
    let f: Vec<f64> = (0..=nfft / 2)
        .map(|i| fs * i as f64 / nfft as f64)
        .collect();
    let nearest = |target: f64| {
        let mut best = 0;
        for (i, &v) in f.iter().enumerate() {
            if (v - target).powi(2) < (f[best] - target).powi(2) {
                best = i;
            }
        }
        best
    };
    (0..num_bands)
        .map(|k| {
            let k = k as f64;
            let lo = min_freq * 2f64.powf((2.0 * k - 1.0) / 6.0);
            let hi = min_freq * 2f64.powf((2.0 * k + 1.0) / 6.0);
            (nearest(lo), nearest(hi))
        })
        .collect()
}

/// pystoi's `_resample_window_oct(p, q)` normalised to unit sum (the `window` that
/// `resample_oct` hands to `resample_poly`).
fn resample_window_oct(p: u64, q: u64) -> Vec<f64> {
    let g = gcd(p, q);
    let (p, q) = ((p / g) as f64, (q / g) as f64);
    let log10_rejection = -3.0;
    let stopband_cutoff_f = 1.0 / (2.0 * p.max(q));
    let roll_off_width = stopband_cutoff_f / 10.0;
    let rejection_db = -20.0 * log10_rejection;
    let l = ((rejection_db - 8.0) / (28.714 * roll_off_width)).ceil();
    let beta = if (21.0..=50.0).contains(&rejection_db) {
        0.5842 * (rejection_db - 21.0).powf(0.4) + 0.07886 * (rejection_db - 21.0)
    } else if rejection_db > 50.0 {
        0.1102 * (rejection_db - 8.7)
    } else {
        0.0
    };
    let l = l as i64;
    let m = (2 * l + 1) as f64;
    let i0b = bessel_i0(beta);
    let h: Vec<f64> = (-l..=l)
        .map(|t| {
            let x = 2.0 * stopband_cutoff_f * t as f64;
            let sinc = if x == 0.0 {
                1.0
            } else {
                (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x)
            };
            let n = (t + l) as f64;
            let r = 2.0 * n / (m - 1.0) - 1.0;
            let kaiser = bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / i0b;
            kaiser * 2.0 * p * stopband_cutoff_f * sinc
        })
        .collect();
    let s: f64 = h.iter().sum();
    h.into_iter().map(|v| v / s).collect()
}

/// pystoi's `resample_oct(x, p, q)`: `scipy.signal.resample_poly(x, p, q, window=h)` with the
/// Octave-compatible filter `h` (rate × p/q).
pub fn resample_oct(x: &[f64], p: u32, q: u32) -> Vec<f64> {
    let window = resample_window_oct(p as u64, q as u64);
    let g = gcd(p as u64, q as u64) as usize;
    let (up, down) = (p as usize / g, q as usize / g);
    if up == 1 && down == 1 {
        return x.to_vec();
    }
    let h: Vec<f64> = window.iter().map(|v| v * up as f64).collect();
    let half_len = (h.len() - 1) / 2;
    let n_out = (x.len() * up).div_ceil(down);
    let pre_pad = down - half_len % down;
    let pre_remove = (half_len + pre_pad) / down;
    (0..n_out)
        .map(|j| {
            // position in the upsampled stream, filter shifted right by pre_pad
            let m = (j + pre_remove) * down;
            if m < pre_pad || x.is_empty() {
                return 0.0;
            }
            let hi = m - pre_pad;
            let i_max = (hi / up).min(x.len() - 1);
            let lo = (hi as i64 - h.len() as i64 + 1).max(0) as usize;
            let i_min = lo.div_ceil(up);
            (i_min..=i_max).map(|i| h[hi - i * up] * x[i]).sum()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_edges_match_pystoi() {
        // pystoi.utils.thirdoct(10000, 512, 15, 150): nonzero columns of each OBM row
        let b = third_octave_bands(10000.0, 512, 15, 150.0);
        assert_eq!(b[0], (7, 9));
        assert_eq!(b[14], (174, 219));
        for w in b.windows(2) {
            assert_eq!(w[0].1, w[1].0);
        }
    }

    #[test]
    fn resample_filter_has_octave_length() {
        // 16 kHz → 10 kHz: p/q = 5/8, L = ceil(52 / (28.714/160)) = 290
        assert_eq!(resample_window_oct(10000, 16000).len(), 581);
        // 8 kHz: p/q = 5/4, L = ceil(52 / 0.28714) = 182
        assert_eq!(resample_window_oct(10000, 8000).len(), 365);
        let y = resample_oct(&vec![1.0; 1600], 10000, 16000);
        assert_eq!(y.len(), 1000);
        assert!((y[500] - 1.0).abs() < 1e-3);
    }

    #[test]
    fn identical_signals_score_one_and_noise_scores_lower() {
        let fs = 10000;
        let x: Vec<f64> = (0..fs * 2)
            .map(|i| {
                let t = i as f64 / fs as f64;
                (2.0 * std::f64::consts::PI * 440.0 * t).sin()
                    * (2.0 * std::f64::consts::PI * 3.0 * t).sin().abs()
                    + 0.3
                        * (2.0 * std::f64::consts::PI * 1500.0 * t).sin()
                        * (2.0 * std::f64::consts::PI * 5.0 * t).cos()
            })
            .collect();
        assert!((stoi(&x, &x, fs as u32, false).unwrap() - 1.0).abs() < 1e-9);
        // rates whose resampling to 10 kHz cannot be afforded: refused (an abort, an hour)
        for bad in [0, 1, 4_000_000_000] {
            let e = stoi(&x, &x, bad, false).unwrap_err().to_string();
            assert!(e.contains(&bad.to_string()) && e.contains("10 kHz"), "{e}");
        }
        assert!((stoi(&x, &x, fs as u32, true).unwrap() - 1.0).abs() < 1e-9);
        let mut s = 12345u64;
        let noisy: Vec<f64> = x
            .iter()
            .map(|v| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                v + 2.0 * ((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5)
            })
            .collect();
        let d = stoi(&x, &noisy, fs as u32, false).unwrap();
        assert!(d < 0.95 && d > 0.0, "{d}");
        assert!(stoi(&x, &noisy[1..], 10000, false).is_err());
        assert!(stoi(&x[..100], &x[..100], 10000, false).is_err());
        assert_eq!(stoi(&x[..2000], &x[..2000], 10000, false).unwrap(), 1e-5);
    }
}
