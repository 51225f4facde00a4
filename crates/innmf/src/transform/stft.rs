//! Short-time Fourier transform, forward and inverse.
//!
//! For window `w` of length N, hop H and frame start `s_j`:
//!
//! ```text
//! X[k, j] = c · Σ_{n=0}^{N−1} w[n] · x[s_j + n] · e^{−2πi·k·n/N},   k = 0..N/2
//! ```
//!
//! with `c = 1/√N` ([`Norm::Ortho`], the paper's energy-normalized STFT), `c = 1`
//! ([`Norm::None`]) or `c = 2/Σw` ([`Norm::Amplitude`]: a unit-amplitude sinusoid centred on a bin
//! reads 1). Bin k sits at `k·sr/N` Hz; frame j's time is the centre of its window,
//! `(s_j + N/2)/sr` seconds.
//!
//! Framing: [`Padding::None`] takes `⌊(L − N)/H⌋ + 1` frames starting at sample 0 (the paper's
//! conv-style framing); [`Padding::Center`] pads N/2 zeros at both ends and takes `1 + ⌊L/H⌋`
//! frames centred at `j·H` (librosa's `center=True`).
//!
//! The inverse is the least-squares overlap-add (Griffin & Lim 1984): each frame is inverted,
//! windowed again and summed, then divided by `Σ_j w²[n − s_j]`. It reconstructs exactly every
//! sample covered by a window value > 0 (all samples with centre padding).

use super::representation::MAX_WINDOW;
use super::window::WindowKind;
use crate::error::{Error, Result};
use crate::points::TfPoints;
use num_complex::Complex64;
use rayon::prelude::*;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Frames transformed in parallel at a time before they are stored bin-major (a block of a
/// 2000-sample window's frames is 2 MB).
const FRAME_BLOCK: usize = 128;
/// Bytes an analysis needs per spectrogram value at its peak ([`crate::budget`]): 16 for the
/// complex coefficient, [`BYTES_PER_POINT`](crate::budget::BYTES_PER_POINT) for the point made
/// from it and its copies on the way out.
const STFT_BYTES_PER_VALUE: u128 = 16 + crate::budget::BYTES_PER_POINT;

/// Coefficient scaling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Norm {
    /// 1/√N (orthonormal DFT; the paper's choice).
    #[default]
    Ortho,
    /// No scaling.
    None,
    /// 2/Σw: a unit-amplitude sinusoid on a bin centre reads 1.
    Amplitude,
}

/// Frame placement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Padding {
    /// No padding: frames start at 0, H, 2H, … and end inside the signal.
    #[default]
    None,
    /// N/2 zeros on both sides; frame j is centred on sample j·H.
    Center,
}

/// STFT parameters (fields left out of their JSON form take the [`Default`]: the paper's
/// speech STFT, window 2000, hop 1000, √Hann, no padding, `1/√N`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StftParams {
    /// Window length N in samples.
    pub window_len: usize,
    /// Hop H in samples.
    pub hop: usize,
    /// Window shape.
    pub window: WindowKind,
    /// Framing.
    pub padding: Padding,
    /// Scaling.
    pub norm: Norm,
}

impl Default for StftParams {
    fn default() -> Self {
        StftParams::new(2000, 1000)
    }
}

impl StftParams {
    /// Window N, hop H, periodic √Hann, no padding, orthonormal scaling (the paper's STFT).
    pub fn new(window_len: usize, hop: usize) -> Self {
        StftParams {
            window_len,
            hop,
            window: WindowKind::SqrtHann,
            padding: Padding::None,
            norm: Norm::Ortho,
        }
    }
}

/// A planned STFT: window and FFT plans computed once, then `analyze`/`synthesize` many times.
pub struct Stft {
    params: StftParams,
    sample_rate: f64,
    window: Vec<f64>,
    scale: f64,
    fwd: Arc<dyn RealToComplex<f64>>,
    inv: Arc<dyn ComplexToReal<f64>>,
}

impl std::fmt::Debug for Stft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stft")
            .field("params", &self.params)
            .finish()
    }
}

/// STFT coefficients with their coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct Spectrogram {
    /// Number of frequency bins (N/2 + 1).
    pub n_bins: usize,
    /// Number of frames.
    pub n_frames: usize,
    /// Complex coefficients, `[bin, frame]` row-major.
    pub coeffs: Vec<Complex64>,
    /// Bin centre frequencies (Hz).
    pub freqs: Vec<f64>,
    /// Frame centre times (s).
    pub times: Vec<f64>,
    /// Sample rate (Hz).
    pub sample_rate: f64,
    /// Length of the analyzed signal in samples.
    pub signal_len: usize,
}

impl super::calibration::BinScale for Spectrogram {
    fn n_bins(&self) -> usize {
        self.n_bins
    }

    fn divide_bins(&mut self, divisors: &[f64]) {
        let nf = self.n_frames;
        for (k, &d) in divisors.iter().enumerate().take(self.n_bins) {
            self.coeffs[k * nf..(k + 1) * nf]
                .iter_mut()
                .for_each(|c| *c /= d);
        }
    }
}

impl Spectrogram {
    /// Magnitudes `|X|`, `[bin, frame]`.
    pub fn magnitude(&self) -> Vec<f64> {
        self.coeffs.iter().map(|c| c.norm()).collect()
    }

    /// The point set of `|X|^p` (p = 1 for plain magnitudes; the paper uses 0.5).
    pub fn to_points(&self, p: f64) -> Result<TfPoints> {
        TfPoints::from_grid_owned(self.freqs.clone(), self.times.clone(), self.magnitude())?
            .into_powered(p)
    }
}

impl Stft {
    /// Validates the parameters and plans the FFTs for signals sampled at `sample_rate` Hz.
    pub fn new(params: StftParams, sample_rate: f64) -> Result<Self> {
        crate::error::check_sample_rate(sample_rate)?;
        if params.window_len < 2 || params.window_len > MAX_WINDOW {
            return Err(Error::param(
                "window length",
                params.window_len,
                format!("between 2 and {MAX_WINDOW} samples"),
            ));
        }
        if params.hop == 0 || params.hop > params.window_len {
            return Err(Error::param(
                "hop",
                params.hop,
                format!("between 1 and the window length {}", params.window_len),
            ));
        }
        let window = params.window.samples(params.window_len);
        let n = params.window_len as f64;
        let scale = match params.norm {
            Norm::Ortho => 1.0 / n.sqrt(),
            Norm::None => 1.0,
            Norm::Amplitude => 2.0 / window.iter().sum::<f64>(),
        };
        let mut planner = RealFftPlanner::<f64>::new();
        Ok(Stft {
            fwd: planner.plan_fft_forward(params.window_len),
            inv: planner.plan_fft_inverse(params.window_len),
            params,
            sample_rate,
            window,
            scale,
        })
    }

    /// The parameters.
    pub fn params(&self) -> &StftParams {
        &self.params
    }

    /// The sample rate (Hz) fixed at plan time.
    pub fn sample_rate(&self) -> f64 {
        self.sample_rate
    }

    /// Per bin (N/2 + 1), the magnitude `|X[k, j]|` that a unit-amplitude sinusoid at the bin's
    /// centre frequency `k·sr/N` reads in a frame fully inside the signal: `c·Σw/2`, and `c·Σw`
    /// at DC and (N even) Nyquist, where a "unit sinusoid" is the constant 1 or `(−1)^n`. With
    /// [`Norm::Amplitude`] this is 1 (2 at DC/Nyquist); with [`Norm::Ortho`] and a periodic Hann
    /// window `√N/4`. It neglects the tone's negative-frequency image, which is exactly zero for a
    /// periodic Hann window at bins 1..N/2−1 and below 1e-3 relative for √Hann beyond bin 2.
    pub fn unit_tone_gain(&self) -> Vec<f64> {
        let n = self.params.window_len;
        let g = self.scale * self.window.iter().sum::<f64>();
        (0..n / 2 + 1)
            .map(|k| if k == 0 || 2 * k == n { g } else { g / 2.0 })
            .collect()
    }

    /// Number of frames for a signal of `len` samples (0 when it is shorter than a window and
    /// there is no padding).
    pub fn n_frames(&self, len: usize) -> usize {
        let (n, h) = (self.params.window_len, self.params.hop);
        match self.params.padding {
            Padding::None if len < n => 0,
            Padding::None => (len - n) / h + 1,
            Padding::Center => 1 + len / h,
        }
    }

    fn frame_start(&self, j: usize) -> i64 {
        let s = (j * self.params.hop) as i64;
        match self.params.padding {
            Padding::None => s,
            Padding::Center => s - (self.params.window_len / 2) as i64,
        }
    }

    /// Centre time (s) of frame j.
    fn frame_time(&self, j: usize) -> f64 {
        (self.frame_start(j) as f64 + self.params.window_len as f64 / 2.0) / self.sample_rate
    }

    /// Forward transform of `x` (sampled at the plan's rate).
    pub fn analyze(&self, x: &[f64]) -> Result<Spectrogram> {
        let frames = self.checked_frames(x)?;
        let bins = self.params.window_len / 2 + 1;
        let mut coeffs = vec![Complex64::new(0.0, 0.0); frames * bins];
        self.frame_blocks(x, frames, |j0, block| {
            for (dj, frame) in block.chunks_exact(bins).enumerate() {
                for (k, &c) in frame.iter().enumerate() {
                    coeffs[k * frames + j0 + dj] = c;
                }
            }
        });
        Ok(self.spectrogram(x, frames, coeffs))
    }

    /// The magnitudes `|X[k, j]|` of [`analyze`](Self::analyze), `[bin, frame]`, without its
    /// complex coefficients: bin k's coefficients are first divided by `divisors[k]` when given
    /// (a calibration), so the values are those of `analyze`, a calibration's `divide_bins`
    /// then [`Spectrogram::magnitude`], bit for bit, in half the memory of the coefficients
    /// alone (the point set of a long recording). Returns the spectrogram's axes (with no
    /// coefficients) and the magnitudes.
    ///
    /// # Errors
    /// Those of [`analyze`](Self::analyze); [`Error::LengthMismatch`] when `divisors` has not
    /// one value per bin.
    pub fn magnitudes(
        &self,
        x: &[f64],
        divisors: Option<&[f64]>,
    ) -> Result<(Spectrogram, Vec<f64>)> {
        let frames = self.checked_frames(x)?;
        let bins = self.params.window_len / 2 + 1;
        if let Some(d) = divisors {
            if d.len() != bins {
                return Err(Error::LengthMismatch {
                    what: "STFT bin divisors".into(),
                    expected: bins,
                    got: d.len(),
                });
            }
        }
        let mut mag = vec![0.0; frames * bins];
        self.frame_blocks(x, frames, |j0, block| {
            for (dj, frame) in block.chunks_exact(bins).enumerate() {
                for (k, &c) in frame.iter().enumerate() {
                    let c = match divisors {
                        Some(d) => c / d[k],
                        None => c,
                    };
                    mag[k * frames + j0 + dj] = c.norm();
                }
            }
        });
        Ok((self.spectrogram(x, frames, Vec::new()), mag))
    }

    /// The number of frames of `x`, or the error for a signal shorter than a window.
    fn checked_frames(&self, x: &[f64]) -> Result<usize> {
        crate::error::check_signal(x, self.sample_rate)?;
        let frames = self.n_frames(x.len());
        if frames == 0 {
            return Err(Error::param(
                "window length",
                self.params.window_len,
                format!(
                    "at most the signal length {} (or use centre padding)",
                    x.len()
                ),
            ));
        }
        // a point set holds at most u32::MAX points: refuse a larger spectrogram before it is
        // allocated (a 65536-sample window at hop 1 over 30 s asked for 114 GB, an abort)
        let bins = self.params.window_len / 2 + 1;
        let values = bins as u128 * frames as u128;
        if values > u32::MAX as u128 {
            return Err(Error::param(
                "hop",
                self.params.hop,
                format!(
                    "a spectrogram of at most {} values: {bins} bins × {frames} frames is {values}",
                    u32::MAX
                ),
            ));
        }
        // peak: the coefficients and the points made from them ([`STFT_BYTES_PER_VALUE`])
        crate::budget::check(
            "hop",
            self.params.hop,
            || {
                format!(
                    "an STFT of {} samples with window {} and hop {}: {frames} frames × {bins} \
                     bins",
                    x.len(),
                    self.params.window_len,
                    self.params.hop
                )
            },
            crate::budget::mul(values, STFT_BYTES_PER_VALUE),
            "use a larger hop, a shorter window or a shorter signal",
        )?;
        Ok(frames)
    }

    /// The forward FFTs of all `frames` frames of `x`, computed in parallel a block of
    /// [`FRAME_BLOCK`] frames at a time and handed to `sink(first_frame, block)` in order, the
    /// block `[frame, bin]` row-major: memory for one block instead of a second copy of the
    /// whole spectrogram. Every frame's FFT is the same computation whatever the block or
    /// thread count.
    fn frame_blocks(&self, x: &[f64], frames: usize, mut sink: impl FnMut(usize, &[Complex64])) {
        let n = self.params.window_len;
        let bins = n / 2 + 1;
        let mut block = vec![Complex64::new(0.0, 0.0); FRAME_BLOCK.min(frames) * bins];
        for j0 in (0..frames).step_by(FRAME_BLOCK) {
            let count = FRAME_BLOCK.min(frames - j0);
            let block = &mut block[..count * bins];
            block.par_chunks_mut(bins).enumerate().for_each_init(
                || (vec![0.0; n], self.fwd.make_scratch_vec()),
                |(buf, scratch), (dj, out)| self.forward_frame(x, j0 + dj, buf, out, scratch),
            );
            sink(j0, block);
        }
    }

    /// The FFT of frame `j` of `x` (windowed, scaled) into `out` (N/2 + 1 bins); `buf` holds N
    /// samples of working space. The one computation of a frame's coefficients.
    fn forward_frame(
        &self,
        x: &[f64],
        j: usize,
        buf: &mut [f64],
        out: &mut [Complex64],
        scratch: &mut [Complex64],
    ) {
        let s = self.frame_start(j);
        for (i, b) in buf.iter_mut().enumerate() {
            let idx = s + i as i64;
            let v = if idx >= 0 && (idx as usize) < x.len() {
                x[idx as usize]
            } else {
                0.0
            };
            *b = v * self.window[i] * self.scale;
        }
        self.fwd
            .process_with_scratch(buf, out, scratch)
            .expect("buffer sizes are fixed by the plan");
    }

    /// The spectrogram of `frames` frames of `x` with `coeffs`.
    fn spectrogram(&self, x: &[f64], frames: usize, coeffs: Vec<Complex64>) -> Spectrogram {
        let n = self.params.window_len;
        Spectrogram {
            n_bins: n / 2 + 1,
            n_frames: frames,
            coeffs,
            freqs: (0..n / 2 + 1)
                .map(|k| k as f64 * self.sample_rate / n as f64)
                .collect(),
            times: (0..frames).map(|j| self.frame_time(j)).collect(),
            sample_rate: self.sample_rate,
            signal_len: x.len(),
        }
    }

    /// Inverse transform (least-squares overlap-add) to `spec.signal_len` samples.
    pub fn synthesize(&self, spec: &Spectrogram) -> Result<Vec<f64>> {
        let n = self.params.window_len;
        let bins = n / 2 + 1;
        if spec.n_bins != bins {
            return Err(Error::Shape(format!(
                "spectrogram has {} bins, this STFT (window {n}) makes {bins}",
                spec.n_bins
            )));
        }
        if spec.coeffs.len() != spec.n_bins * spec.n_frames {
            return Err(Error::Shape(format!(
                "spectrogram holds {} coefficients for {} × {}",
                spec.coeffs.len(),
                spec.n_bins,
                spec.n_frames
            )));
        }
        let frames = spec.n_frames;
        Ok(self.overlap_add(frames, spec.signal_len, |j, buf, _| {
            for (k, b) in buf.iter_mut().enumerate() {
                *b = spec.coeffs[k * frames + j];
            }
        }))
    }

    /// Filters `x` in the STFT domain: every frame's coefficients (those of
    /// [`analyze`](Self::analyze)) are handed to `modify(frame, coefficients)`, which may change
    /// them in place, and the result is inverted as [`synthesize`](Self::synthesize) does. The
    /// same bits as `synthesize` of the analyzed spectrogram modified frame by frame, without
    /// either spectrogram in memory: one block of frames at a time (a source separated by a
    /// mask from a long mixture, arXiv 2404.04439 §4).
    ///
    /// # Errors
    /// Those of [`analyze`](Self::analyze).
    pub fn filter(
        &self,
        x: &[f64],
        modify: impl Fn(usize, &mut [Complex64]) + Sync,
    ) -> Result<Vec<f64>> {
        let frames = self.checked_frames(x)?;
        Ok(self.overlap_add(frames, x.len(), |j, buf, fwd| {
            self.forward_frame(x, j, &mut fwd.0, buf, &mut fwd.1);
            modify(j, buf);
        }))
    }

    /// The least-squares overlap-add of `frames` frames into `len` samples, frame j's N/2 + 1
    /// coefficients written by `fill(j, coefficients, forward working space)`. The frames are
    /// inverted in parallel a block at a time and added in frame order: the same sums as
    /// inverting every frame first, in a block's memory; the normalizer `Σ_j w²[n − s_j]` is
    /// computed per sample (no second signal-length buffer).
    fn overlap_add(
        &self,
        frames: usize,
        len: usize,
        fill: impl Fn(usize, &mut [Complex64], &mut (Vec<f64>, Vec<Complex64>)) + Sync,
    ) -> Vec<f64> {
        let n = self.params.window_len;
        let bins = n / 2 + 1;
        let mut y = vec![0.0; len];
        let mut time_frames = vec![0.0; FRAME_BLOCK.min(frames) * n];
        for j0 in (0..frames).step_by(FRAME_BLOCK) {
            let count = FRAME_BLOCK.min(frames - j0);
            let block = &mut time_frames[..count * n];
            block.par_chunks_mut(n).enumerate().for_each_init(
                || {
                    (
                        vec![Complex64::new(0.0, 0.0); bins],
                        self.inv.make_scratch_vec(),
                        (vec![0.0; n], self.fwd.make_scratch_vec()),
                    )
                },
                |(buf, scratch, fwd), (dj, out)| {
                    fill(j0 + dj, buf, fwd);
                    // a real signal's DC and Nyquist bins are real
                    buf[0].im = 0.0;
                    if n.is_multiple_of(2) {
                        buf[bins - 1].im = 0.0;
                    }
                    self.inv
                        .process_with_scratch(buf, out, scratch)
                        .expect("buffer sizes are fixed by the plan");
                    let inv_scale = 1.0 / (n as f64 * self.scale);
                    for (o, w) in out.iter_mut().zip(&self.window) {
                        *o *= inv_scale * w;
                    }
                },
            );
            for (dj, frame) in block.chunks_exact(n).enumerate() {
                let s = self.frame_start(j0 + dj);
                for i in 0..n {
                    let idx = s + i as i64;
                    if idx >= 0 && (idx as usize) < len {
                        y[idx as usize] += frame[i];
                    }
                }
            }
        }
        let max_w = (0..len)
            .map(|i| self.window_power(i, frames))
            .fold(0.0, f64::max);
        for (i, v) in y.iter_mut().enumerate() {
            let w = self.window_power(i, frames);
            *v = if w > 1e-10 * max_w { *v / w } else { 0.0 };
        }
        y
    }

    /// `Σ_j w²[idx − s_j]` over the frames j < `frames` whose window covers sample `idx`, added
    /// in frame order from 0 (the overlap-add's normalizer, bit for bit as if accumulated frame
    /// by frame).
    fn window_power(&self, idx: usize, frames: usize) -> f64 {
        if frames == 0 {
            return 0.0;
        }
        let (n, h) = (self.params.window_len, self.params.hop);
        let off = match self.params.padding {
            Padding::None => 0,
            Padding::Center => n / 2,
        };
        // s_j = j·h − off covers idx when j·h <= idx + off < j·h + n
        let a = idx + off;
        let lo = if a >= n { (a - n) / h + 1 } else { 0 };
        let hi = (a / h).min(frames - 1);
        let mut s = 0.0;
        for j in lo..=hi {
            let w = self.window[a - j * h];
            s += w * w;
        }
        s
    }
}

impl super::Transform for Stft {
    fn name(&self) -> &'static str {
        "stft"
    }

    fn sample_rate(&self) -> f64 {
        self.sample_rate
    }

    fn analyze(&self, x: &[f64]) -> Result<super::Coefficients> {
        Ok(super::Coefficients::Stft(Stft::analyze(self, x)?))
    }

    fn unit_tone_gain(&self) -> Vec<f64> {
        Stft::unit_tone_gain(self)
    }

    /// `k·sr/N`, k = 0..=N/2.
    fn bin_freqs(&self) -> Vec<f64> {
        let n = self.params.window_len;
        (0..n / 2 + 1)
            .map(|k| k as f64 * self.sample_rate / n as f64)
            .collect()
    }

    /// Bins × frames.
    fn coefficient_count(&self, signal_len: usize) -> Result<u128> {
        Ok((self.params.window_len / 2 + 1) as u128 * self.n_frames(signal_len) as u128)
    }

    /// The same frames for every bin: window centres.
    fn frame_times(&self, bin: usize, signal_len: usize) -> Result<Vec<f64>> {
        super::check_bin(self, bin)?;
        let frames = self.n_frames(signal_len);
        if frames == 0 {
            return Err(Error::param(
                "signal length",
                signal_len,
                format!(
                    "at least the window length {} (or use centre padding)",
                    self.params.window_len
                ),
            ));
        }
        Ok((0..frames).map(|j| self.frame_time(j)).collect())
    }

    fn is_invertible(&self) -> bool {
        true
    }

    fn synthesize(&self, c: &super::Coefficients) -> Result<Vec<f64>> {
        match c {
            super::Coefficients::Stft(s) => Stft::synthesize(self, s),
            other => Err(super::wrong_coefficients("stft", other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(n: usize, seed: u64) -> Vec<f64> {
        use rand::{Rng, SeedableRng};
        let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| r.random_range(-1.0..1.0)).collect()
    }

    /// Naive f64 DFT of one frame, straight from the definition.
    fn naive_frame(x: &[f64], w: &[f64], start: i64, scale: f64) -> Vec<Complex64> {
        let n = w.len();
        (0..n / 2 + 1)
            .map(|k| {
                let mut acc = Complex64::new(0.0, 0.0);
                for (i, &wi) in w.iter().enumerate() {
                    let idx = start + i as i64;
                    if idx >= 0 && (idx as usize) < x.len() {
                        let ph = -2.0 * std::f64::consts::PI * (k * i) as f64 / n as f64;
                        acc += Complex64::from_polar(wi * x[idx as usize], ph);
                    }
                }
                acc * scale
            })
            .collect()
    }

    #[test]
    fn matches_the_naive_dft_for_odd_and_even_windows() {
        for &(n, h, pad) in &[
            (16, 4, Padding::None),
            (15, 5, Padding::Center),
            (7, 3, Padding::Center),
        ] {
            let mut p = StftParams::new(n, h);
            p.padding = pad;
            let stft = Stft::new(p, 1000.0).unwrap();
            let x = noise(61, n as u64);
            let s = stft.analyze(&x).unwrap();
            for j in 0..s.n_frames {
                let want = naive_frame(&x, &stft.window, stft.frame_start(j), stft.scale);
                for k in 0..s.n_bins {
                    assert!((s.coeffs[k * s.n_frames + j] - want[k]).norm() < 1e-12);
                }
            }
        }
    }

    /// Frame j's FFT computed on its own, as the unblocked transform did (the same plan, so
    /// the same bits).
    fn one_frame(stft: &Stft, x: &[f64], j: usize) -> Vec<Complex64> {
        let n = stft.params.window_len;
        let s = stft.frame_start(j);
        let mut buf: Vec<f64> = (0..n)
            .map(|i| {
                let idx = s + i as i64;
                let v = if idx >= 0 && (idx as usize) < x.len() {
                    x[idx as usize]
                } else {
                    0.0
                };
                v * stft.window[i] * stft.scale
            })
            .collect();
        let mut out = vec![Complex64::new(0.0, 0.0); n / 2 + 1];
        stft.fwd.process(&mut buf, &mut out).unwrap();
        out
    }

    #[test]
    fn blocks_of_frames_give_every_frames_own_fft_and_magnitudes_match_bit_for_bit() {
        // frame counts below, at and across FRAME_BLOCK boundaries, on 1 and 3 threads
        for &(n, h, pad, len) in &[
            (16, 4, Padding::None, 16 + 4 * (FRAME_BLOCK - 1)),
            (16, 4, Padding::None, 16 + 4 * FRAME_BLOCK),
            (15, 5, Padding::Center, 5 * (2 * FRAME_BLOCK + 3)),
            (8, 8, Padding::None, 8 * 7),
        ] {
            let mut p = StftParams::new(n, h);
            p.padding = pad;
            let stft = Stft::new(p, 1000.0).unwrap();
            let x = noise(len, len as u64);
            for threads in [1, 3] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let s = pool.install(|| stft.analyze(&x)).unwrap();
                for j in 0..s.n_frames {
                    let want = one_frame(&stft, &x, j);
                    for k in 0..s.n_bins {
                        assert_eq!(s.coeffs[k * s.n_frames + j], want[k], "frame {j} bin {k}");
                    }
                }
                let gains = stft.unit_tone_gain();
                for divisors in [None, Some(gains.as_slice())] {
                    let (axes, mag) = pool.install(|| stft.magnitudes(&x, divisors)).unwrap();
                    let mut full = s.clone();
                    if let Some(d) = divisors {
                        super::super::calibration::BinScale::divide_bins(&mut full, d);
                    }
                    let want = full.magnitude();
                    assert_eq!(mag.len(), want.len());
                    assert!(mag
                        .iter()
                        .zip(&want)
                        .all(|(a, b)| a.to_bits() == b.to_bits()));
                    assert_eq!((axes.freqs, axes.times), (s.freqs.clone(), s.times.clone()));
                    assert!(axes.coeffs.is_empty());
                }
            }
        }
        // the inverse by blocks: the sums of inverting every frame first, in the same order,
        // divided by the window power accumulated frame by frame; `filter` the same bits as
        // `synthesize` of the modified spectrogram
        for &(n, h, pad, len) in &[
            (16, 4, Padding::Center, 4 * (2 * FRAME_BLOCK + 5)),
            (15, 5, Padding::None, 5 * (FRAME_BLOCK + 3) + 2),
            (16, 16, Padding::None, 16 * 9 + 7),
            (9, 2, Padding::Center, 2 * FRAME_BLOCK + 1),
        ] {
            let mut p = StftParams::new(n, h);
            p.padding = pad;
            let stft = Stft::new(p, 1000.0).unwrap();
            let x = noise(len, 9 + len as u64);
            let s = stft.analyze(&x).unwrap();
            let (bins, frames) = (n / 2 + 1, s.n_frames);
            let (mut y, mut wsum) = (vec![0.0; x.len()], vec![0.0; x.len()]);
            for j in 0..frames {
                let mut buf: Vec<Complex64> = (0..bins).map(|k| s.coeffs[k * frames + j]).collect();
                buf[0].im = 0.0;
                if n % 2 == 0 {
                    buf[bins - 1].im = 0.0;
                }
                let mut out = vec![0.0; n];
                stft.inv.process(&mut buf, &mut out).unwrap();
                let inv_scale = 1.0 / (n as f64 * stft.scale);
                for i in 0..n {
                    let idx = stft.frame_start(j) + i as i64;
                    if idx >= 0 && (idx as usize) < x.len() {
                        y[idx as usize] += out[i] * (inv_scale * stft.window[i]);
                        wsum[idx as usize] += stft.window[i] * stft.window[i];
                    }
                }
            }
            let max_w = wsum.iter().cloned().fold(0.0, f64::max);
            for (v, w) in y.iter_mut().zip(&wsum) {
                *v = if *w > 1e-10 * max_w { *v / w } else { 0.0 };
            }
            // a gain per bin and frame, and the spectrogram it makes
            let gain = |k: usize, j: usize| ((k * 7 + j * 3) % 11) as f64 / 10.0;
            let mut masked = s.clone();
            for k in 0..bins {
                for j in 0..frames {
                    masked.coeffs[k * frames + j] *= gain(k, j);
                }
            }
            for threads in [1, 3] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let same = |a: &[f64], b: &[f64]| {
                    a.len() == b.len() && a.iter().zip(b).all(|(a, b)| a.to_bits() == b.to_bits())
                };
                let got = pool.install(|| stft.synthesize(&s)).unwrap();
                assert!(same(&got, &y), "synthesize n={n} h={h} {pad:?}");
                let want = pool.install(|| stft.synthesize(&masked)).unwrap();
                let got = pool
                    .install(|| {
                        stft.filter(&x, |j, c| {
                            for (k, c) in c.iter_mut().enumerate() {
                                *c *= gain(k, j);
                            }
                        })
                    })
                    .unwrap();
                assert!(same(&got, &want), "filter n={n} h={h} {pad:?}");
            }
        }
        let stft = Stft::new(StftParams::new(16, 4), 1000.0).unwrap();
        assert!(stft.filter(&noise(8, 1), |_, _| {}).is_err());
        assert!(stft.filter(&[f64::NAN; 64], |_, _| {}).is_err());
        let e = stft.magnitudes(&noise(64, 1), Some(&[1.0; 8])).unwrap_err();
        assert!(e.to_string().contains("STFT bin divisors"), "{e}");
        assert!(stft.magnitudes(&noise(8, 1), None).is_err());
    }

    #[test]
    fn perfect_reconstruction_for_even_and_odd_lengths() {
        for &(n, h) in &[(16, 8), (16, 4), (15, 7), (9, 3)] {
            for len in [100, 101, 127] {
                let x = noise(len, (n * len) as u64);
                for pad in [Padding::Center, Padding::None] {
                    let mut p = StftParams::new(n, h);
                    p.padding = pad;
                    let stft = Stft::new(p, 8000.0).unwrap();
                    let y = stft.synthesize(&stft.analyze(&x).unwrap()).unwrap();
                    assert_eq!(y.len(), len);
                    // with padding every sample is covered; without, skip the uncovered edges
                    let covered = |i: usize| match pad {
                        Padding::Center => true,
                        Padding::None => i > 0 && i < (stft.n_frames(len) - 1) * h + n - 1,
                    };
                    for i in (0..len).filter(|&i| covered(i)) {
                        assert!((y[i] - x[i]).abs() < 1e-10, "n={n} h={h} len={len} i={i}");
                    }
                }
            }
        }
    }

    #[test]
    fn frame_times_and_counts() {
        let stft = Stft::new(StftParams::new(2000, 1000), 16000.0).unwrap();
        assert_eq!(stft.n_frames(320_000), 319);
        let s = stft.analyze(&noise(320_000, 1)).unwrap();
        assert_eq!((s.n_bins, s.n_frames), (1001, 319));
        assert!((s.times[0] - 1000.0 / 16000.0).abs() < 1e-15);
        assert!((s.freqs[1] - 8.0).abs() < 1e-12);
        // a tone at a bin centre lands in that bin; amplitude norm reads ≈ 1
        let mut p = StftParams::new(256, 64);
        p.norm = Norm::Amplitude;
        p.window = WindowKind::Hann;
        let st = Stft::new(p, 256.0).unwrap();
        let x: Vec<f64> = (0..4096)
            .map(|i| (2.0 * std::f64::consts::PI * 20.0 * i as f64 / 256.0).cos())
            .collect();
        let s = st.analyze(&x).unwrap();
        let mag = s.magnitude();
        let col: Vec<f64> = (0..s.n_bins).map(|k| mag[k * s.n_frames + 5]).collect();
        let best = col
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap();
        assert_eq!(best.0, 20);
        assert!((best.1 - 1.0).abs() < 1e-9);
    }

    #[test]
    fn impossible_parameters_are_errors() {
        assert!(Stft::new(StftParams::new(1, 1), 100.0).is_err());
        assert!(Stft::new(StftParams::new(16, 0), 100.0).is_err());
        assert!(Stft::new(StftParams::new(16, 17), 100.0).is_err());
        assert!(Stft::new(StftParams::new(64, 16), 0.0).is_err());
        assert!(Stft::new(StftParams::new(64, 16), f64::NAN).is_err());
        let s = Stft::new(StftParams::new(64, 16), 100.0).unwrap();
        let e = s.analyze(&[0.0; 10]).unwrap_err();
        assert!(e.to_string().contains("64"));
        assert!(s.analyze(&[]).is_err());
        assert!(s.analyze(&[f64::NAN; 100]).is_err());
        // sizes refused before anything is allocated (a 2^32 window, a spectrogram of more
        // values than a point set holds: both aborted out of memory)
        assert!(Stft::new(StftParams::new(MAX_WINDOW + 1, 1), 100.0).is_err());
        let s = Stft::new(StftParams::new(65536, 1), 8000.0).unwrap();
        let e = s.analyze(&vec![0.1; 200_000]).unwrap_err().to_string();
        assert!(e.contains("hop") && e.contains("32769 bins"), "{e}");
    }
}
