//! librosa's variable-Q transform (`librosa.vqt`; `gamma = 0` is `librosa.cqt`) through the
//! sparse spectral kernels of `kernel_bank`, octave by octave at halved rates.

use super::decimate::{decimate2, halfband_taps, DECIMATE_PASS};
use super::kernel_bank::{BankBin, Framing, HannKernel, KernelBank};
use super::{CqtBin, CqtCoefficients};
use crate::error::{Error, Num, Result};
use crate::transform::representation::MAX_WINDOW;
use crate::transform::{check_bin, not_invertible, Coefficients, Transform};
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

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
/// scale=True)` up to librosa's own approximations: spectral sparsity and its resampler).
///
/// Like librosa, octaves are analysed at decreasing sample rates: the signal is decimated by 2
/// (`decimate2`: a 120 dB Kaiser half-band filter) before the top octave as often as librosa's
/// "early downsampling" does, and again after every octave while the hop stays even; each
/// octave's kernels are built at its own rate (the same integer lengths as librosa's), so every
/// kernel is short and the cost per coefficient is a few hundred multiply-adds whatever the
/// octave. A decimation librosa would make is skipped when the main lobe of a remaining bin
/// reaches past the filter's flat passband (0.16 of the current rate).
#[derive(Debug, Clone)]
pub struct Vqt {
    params: VqtParams,
    lengths: Vec<f64>,
    /// One kernel bank per decimation level: (level d, bins, bank at `sample_rate / 2^d`).
    levels: Vec<(u32, Vec<usize>, KernelBank)>,
    sample_rate: f64,
    /// Taps of the decimation filter.
    halfband: Vec<f64>,
}

/// Kernel truncation tolerance of [`Vqt`]: each coefficient is within 2e-4 of a full-scale one
/// of the exact sums (module docs), 50× tighter than librosa's default `sparsity = 0.01` (which
/// drops 1 % of each kernel's spectral mass) and 3× the spectral entries fewer than 1e-6.
const VQT_TOL: f64 = 1e-4;

impl Vqt {
    /// Validates the parameters and precomputes the kernels.
    pub fn new(params: VqtParams, sample_rate: f64) -> Result<Self> {
        crate::error::check_sample_rate(sample_rate)?;
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
        let bpo = params.bins_per_octave;
        let r = 2f64.powf(1.0 / bpo as f64);
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
                format!("{:.1} Hz (filter cutoff {:.1} Hz)", Num(top), Num(cutoff)),
                format!(
                    "a cutoff below the Nyquist frequency {} Hz; use fewer bins",
                    sample_rate / 2.0
                ),
            ));
        }
        let lengths: Vec<f64> = freqs
            .iter()
            .map(|&f| q * sample_rate / (f + params.gamma / alpha))
            .collect();
        // checked before the kernels are built: at 1e12 Hz they asked for terabytes (bin 0 has
        // the longest window)
        if lengths[0].is_nan() || lengths[0] > MAX_WINDOW as f64 {
            return Err(Error::param(
                "window of variable-Q bin 0",
                format!(
                    "{:.0} samples (at f_min = {} Hz, {} Hz)",
                    Num(lengths[0]),
                    Num(params.f_min),
                    Num(sample_rate)
                ),
                format!(
                    "at most {MAX_WINDOW} samples; raise f_min or gamma, or lower filter_scale or \
                     the sample rate"
                ),
            ));
        }
        // upper edge of each kernel's main lobe (Hann: 2 cycles per window length)
        let edge: Vec<f64> = freqs
            .iter()
            .zip(&lengths)
            .map(|(&f, &ell)| f + 2.0 * sample_rate / ell)
            .collect();
        let n_oct = params.n_bins.div_ceil(bpo);
        // librosa's __early_downsample_count
        let count1 = (((sample_rate / 2.0 / cutoff).log2().ceil() as i64) - 2).max(0);
        let count2 = (params.hop.trailing_zeros() as i64 - n_oct as i64 + 1).max(0);
        let may_halve = |d: u32, highest: usize| {
            params.hop.is_multiple_of(1usize << (d + 1))
                && edge[highest] <= DECIMATE_PASS * sample_rate / f64::from(1u32 << d)
        };
        let mut d = 0u32;
        while i64::from(d) < count1.min(count2) && may_halve(d, params.n_bins - 1) {
            d += 1;
        }
        let mut level_of = vec![0u32; params.n_bins];
        for i in 0..n_oct {
            let hi = params.n_bins - bpo * i;
            let lo = hi.saturating_sub(bpo);
            level_of[lo..hi].iter_mut().for_each(|l| *l = d);
            if lo > 0 && may_halve(d, lo - 1) {
                d += 1;
            }
        }
        let mut levels = Vec::new();
        for d in 0..=d {
            let ks: Vec<usize> = (0..params.n_bins).filter(|&k| level_of[k] == d).collect();
            if ks.is_empty() {
                continue;
            }
            let sr_d = sample_rate / f64::from(1u32 << d);
            let bins = ks
                .iter()
                .map(|&k| {
                    let f = freqs[k];
                    // librosa (at this octave's rate): n ∈ arange(⌊−ℓ/2⌋, ⌊ℓ/2⌋), periodic Hann
                    // of that count, L1-normalised, scaled by √ℓ at the input rate (librosa's
                    // √(sr/my_sr) filter gain and the energy-preserving resampler cancel), applied
                    // as a time-reversed correlation (see the module docs for the algebra)
                    let ell = q * sr_d / (f + params.gamma / alpha);
                    let n0 = (-ell / 2.0).floor();
                    let n = ((ell / 2.0).floor() - n0) as usize;
                    let omega = 2.0 * PI * f / sr_d;
                    let wsum = n as f64 / 2.0; // Σ periodic Hann = N/2, for any shift
                                               // librosa's window peaks at sample r = N/2 − 1, i.e. at c − N/2 − n0: half a
                                               // sample (of this rate) after the frame centre c when N is odd. We evaluate
                                               // the same Hann half a sample earlier there, so that every window is centred
                                               // on its frame's time stamp (an impulse peaks in its nearest frame even in the
                                               // lowest octave, where a sample is 2^d input samples)
                    let bias = -(n as f64) / 2.0 - n0;
                    BankBin {
                        freq: f,
                        kernel: HannKernel {
                            len: n,
                            period: n as f64,
                            shift: 1.0 + bias,
                            omega,
                            scale: lengths[k].sqrt() / wsum,
                            phase: omega * (n as f64 - 1.0 + n0),
                        },
                        // y index = c + (−n0) − (N−1) + r; librosa rounds the filter's centre
                        // into an even FFT frame, which places sample r at c − (N−1) − n0 + r
                        offset: (n as f64 - 1.0 + n0) as i64,
                        framing: Framing::Centered {
                            hop: params.hop >> d,
                        },
                        first: 0,
                        spec: Vec::new(),
                        direct_re: Vec::new(),
                        direct_im: Vec::new(),
                    }
                })
                .collect();
            levels.push((d, ks, KernelBank::new(bins, sr_d, VQT_TOL)));
        }
        Ok(Vqt {
            params,
            lengths,
            levels,
            sample_rate,
            halfband: halfband_taps(),
        })
    }

    /// The parameters.
    pub fn params(&self) -> &VqtParams {
        &self.params
    }

    /// Per bin, the magnitude a unit-amplitude sinusoid at `f_k` reads away from the signal's
    /// edges: the kernel is L1-normalised and scaled by `√ℓ_k` (librosa's `scale=True`), so
    /// `√ℓ_k/2` (decimation keeps a passband tone's amplitude; the tone test of this module
    /// checks the level in every octave).
    pub fn unit_tone_gain(&self) -> Vec<f64> {
        self.lengths.iter().map(|l| 0.5 * l.sqrt()).collect()
    }

    /// Fractional filter lengths ℓ_k (librosa's `wavelet_lengths`).
    pub fn lengths(&self) -> &[f64] {
        &self.lengths
    }

    /// Analyzes `x` (sampled at the planned rate); frames are centred on `j·hop`, j = 0..=L/hop.
    /// A bin analysed at `1/2^d` of the rate reports `window_len` in input samples (its kernel
    /// length times 2^d).
    pub fn analyze(&self, x: &[f64]) -> Result<CqtCoefficients> {
        if x.is_empty() {
            return Err(Error::Empty { what: "signal" });
        }
        crate::error::check_finite("signal", x)?;
        let len = x.len();
        let h = &self.halfband;
        let mut out: Vec<Option<CqtBin>> = vec![None; self.params.n_bins];
        let mut cur: (Vec<f64>, i64) = (Vec::new(), 0);
        let mut cur_d = 0u32;
        for (d, ks, bank) in &self.levels {
            let (sig, base): (&[f64], i64) = if *d == 0 {
                (x, 0)
            } else {
                while cur_d < *d {
                    cur = if cur_d == 0 {
                        decimate2(x, 0, h)
                    } else {
                        decimate2(&cur.0, cur.1, h)
                    };
                    cur_d += 1;
                }
                (&cur.0, cur.1)
            };
            // frames j = 0..=L/hop, and ⌊⌊L/2^d⌋ / (hop/2^d)⌋ = ⌊L/hop⌋
            let c = bank.analyze_at(sig, base, len >> d)?;
            for (&k, mut bin) in ks.iter().zip(c.bins) {
                bin.hop = self.params.hop;
                bin.window_len <<= d;
                out[k] = Some(bin);
            }
        }
        Ok(CqtCoefficients {
            bins: out
                .into_iter()
                .map(|b| b.expect("every bin has a level"))
                .collect(),
            sample_rate: self.sample_rate,
            signal_len: len,
        })
    }
}

impl Transform for Vqt {
    fn name(&self) -> &'static str {
        "vqt"
    }

    fn sample_rate(&self) -> f64 {
        self.sample_rate
    }

    fn analyze(&self, x: &[f64]) -> Result<Coefficients> {
        Ok(Coefficients::Cqt(Vqt::analyze(self, x)?))
    }

    fn unit_tone_gain(&self) -> Vec<f64> {
        Vqt::unit_tone_gain(self)
    }

    /// `f_min·2^{k/B}`.
    fn bin_freqs(&self) -> Vec<f64> {
        self.params.frequencies()
    }

    /// `L/hop + 1` frames in every bin.
    fn coefficient_count(&self, signal_len: usize) -> Result<u128> {
        Ok(self.params.n_bins as u128 * (signal_len / self.params.hop + 1) as u128)
    }

    /// Frames centred on `j·hop`, j = 0..=L/hop, for every bin.
    fn frame_times(&self, bin: usize, signal_len: usize) -> Result<Vec<f64>> {
        check_bin(self, bin)?;
        if signal_len == 0 {
            return Err(Error::Empty { what: "signal" });
        }
        let hop = self.params.hop;
        Ok((0..=signal_len / hop)
            .map(|j| (j * hop) as f64 / self.sample_rate)
            .collect())
    }

    fn is_invertible(&self) -> bool {
        false
    }

    fn synthesize(&self, _: &Coefficients) -> Result<Vec<f64>> {
        Err(not_invertible("vqt"))
    }
}

#[cfg(test)]
mod known_answers {
    use super::*;

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

    #[test]
    fn plan_decimates_like_librosa() {
        // 5 octaves from 55 Hz at 8 kHz, hop 256 = 2^8: librosa downsamples early once
        // (⌈log2(4000/1821)⌉ − 2 = 0 → none here) and then after every octave
        let v = vqt(256);
        let levels: Vec<u32> = v.levels.iter().map(|l| l.0).collect();
        assert_eq!(levels, vec![0, 1, 2, 3, 4]);
        // an odd hop forbids every decimation
        assert_eq!(vqt(255).levels.len(), 1);
        // hop 4: two halvings, then the remaining octaves stay at a quarter of the rate
        let v = vqt(4);
        assert_eq!(
            v.levels.iter().map(|l| l.0).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
        assert_eq!(v.levels[2].1.len(), 36);
    }

    #[test]
    fn a_tone_at_a_bin_centre_lands_in_that_bin_at_the_expected_level() {
        let sr = 8000.0;
        let v = vqt(128);
        let freqs = v.params().frequencies();
        // one bin in each octave (and so at each decimation level)
        for k in [3usize, 17, 30, 41, 58] {
            let x: Vec<f64> = (0..16000)
                .map(|i| (2.0 * PI * freqs[k] * i as f64 / sr).sin())
                .collect();
            let c = v.analyze(&x).unwrap();
            // frames whose window lies inside the signal
            let inside = |b: &CqtBin, j: usize| {
                let (c, w) = ((j * b.hop) as f64, b.window_len as f64);
                c - w / 2.0 > 0.0 && c + w / 2.0 < x.len() as f64
            };
            let mean = |b: &CqtBin| {
                let v: Vec<f64> = (0..b.coeffs.len())
                    .filter(|&j| inside(&c.bins[k], j))
                    .map(|j| b.coeffs[j].norm())
                    .collect();
                v.iter().sum::<f64>() / v.len() as f64
            };
            let best = (0..c.bins.len())
                .max_by(|&a, &b| mean(&c.bins[a]).total_cmp(&mean(&c.bins[b])))
                .unwrap();
            assert_eq!(best, k, "tone at {} Hz", freqs[k]);
            // librosa's scale=True level of a unit sine at a bin centre: √ℓ_k / 2. The kernel's
            // response to the negative-frequency half of the sine is ~1e-5 (Hann sidelobes 2Q
            // bins away) and the decimation ripple 3e-6; 1e-3 leaves room for both
            let want = v.lengths()[k].sqrt() / 2.0;
            for j in 0..c.bins[k].coeffs.len() {
                if inside(&c.bins[k], j) {
                    let got = c.bins[k].coeffs[j].norm();
                    assert!(
                        (got / want - 1.0).abs() < 1e-3,
                        "bin {k} frame {j}: {got} vs {want}"
                    );
                }
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
        let cases = fx["cases"].as_array().unwrap();
        assert_eq!(cases.len(), 3, "cases read from librosa_vqt.json");
        for case in cases {
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
            assert_eq!(
                want.len(),
                params.n_bins,
                "{}: bins in the fixture",
                case["name"]
            );
            assert!(
                want.iter().all(|r| !r.is_empty()),
                "{}: empty rows",
                case["name"]
            );
            let max = want.iter().flatten().fold(0.0f64, |a, &b| a.max(b));
            let n = x.len() as f64;
            // worst error (of full scale) over frames whose window lies inside the signal, in
            // the top octave and below it, and over the frames that reach past an end
            let (mut top, mut low, mut edge) = (0.0f64, 0.0f64, 0.0f64);
            for (k, row) in want.iter().enumerate() {
                let b = &c.bins[k];
                assert_eq!(b.coeffs.len(), row.len());
                for (j, &w) in row.iter().enumerate() {
                    let e = (b.coeffs[j].norm() - w).abs() / max;
                    let centre = (j * b.hop) as f64;
                    let half = b.window_len as f64 / 2.0 + 1.0;
                    if centre < half || centre + half > n {
                        edge = edge.max(e);
                    } else if k + params.bins_per_octave >= params.n_bins {
                        top = top.max(e);
                    } else {
                        low = low.max(e);
                    }
                }
            }
            // Inside the signal. Top octave: librosa sums positive frequencies only (drops the
            // kernels' negative-frequency leakage, ~1e-4 here) in complex64, and our windows
            // are centred half a sample earlier than librosa's when N is odd (below); on the
            // chirp of the test signal that moves magnitudes by up to 2.2e-3 of full scale
            // (observed; a stationary tone is unaffected), hence 3e-3. Lower octaves: both
            // analyse them at the same reduced rates with the same integer window lengths (the
            // old full-rate code needed 4e-2 here); the resamplers differ (librosa's here is an
            // ideal FFT resampler, ours a 120 dB half-band FIR) and the shift is up to one
            // input sample: 3.4e-3 observed, hence 5e-3.
            assert!(top < 3e-3, "{}: top octave {top}", case["name"]);
            assert!(low < 5e-3, "{}: lower octaves {low}", case["name"]);
            // frames whose window crosses an end of the signal: our windows are centred on the
            // frame time, librosa's sit half a sample (at the octave's rate, s = 2^(d−1) input
            // samples) later when their length N is odd. Where a window is cut by the signal's
            // end that changes the coefficient by at most its total variation times the shift,
            // 8·s/N of full scale: 4 % for the shortest lower-octave window here (N = 92 at
            // 4 kHz, s = 1), 3 % for the top octave (N = 138, s = 0.5)
            assert!(edge < 4e-2, "{}: edge frames {edge}", case["name"]);
        }
    }
}
