//! Transforms against independent implementations, per element (fixtures and the scripts that
//! made them in `tests/data/transforms/`):
//!
//! - windows and the STFT against `scipy.signal` (`get_window`, `ShortTimeFFT`):
//!   `make_scipy_stft.py`;
//! - the paper's direct constant-Q transform (iN-NMF, arXiv 2404.04439, section 4's demo CQT:
//!   per-bin window N_k, hop N_k/8) against a direct NumPy transcription of its formula:
//!   `make_paper_cqt.py`;
//! - the NSGT against the `nsgt` package's `CQ_NSGT`: complex coefficients of the bands where
//!   the two frame layouts agree (`make_nsgt_coeffs.py`) and the energies of every interior band
//!   (`nsgt_bands.json`, `make_transform_fixtures.py`), each within the exact bound of the one
//!   designed difference, the window.

use innmf::io::{npz_get, read_npz, NdArray};
use innmf::transform::{
    BandKind, DirectCqt, DirectCqtParams, Norm, Nsgt, NsgtParams, Padding, Stft, StftParams,
    WindowKind,
};
use num_complex::Complex64;
use std::f64::consts::PI;
use std::path::{Path, PathBuf};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/transforms");

struct Fixture {
    path: PathBuf,
    arrays: Vec<(String, NdArray)>,
    meta: serde_json::Value,
}

impl Fixture {
    fn load(stem: &str) -> Self {
        let path = Path::new(DIR).join(format!("{stem}.npz"));
        let arrays = read_npz(&path)
            .unwrap_or_else(|e| panic!("{e} (run tests/data/transforms/make_*.py for {stem})"));
        let json = std::fs::read_to_string(Path::new(DIR).join(format!("{stem}.json"))).unwrap();
        Fixture {
            path,
            arrays,
            meta: serde_json::from_str(&json).unwrap(),
        }
    }

    fn get(&self, name: &str) -> &[f64] {
        &npz_get(&self.arrays, name, &self.path).unwrap().data
    }

    fn complex(&self, prefix: &str) -> Vec<Complex64> {
        let (re, im) = (
            self.get(&format!("{prefix}_re")),
            self.get(&format!("{prefix}_im")),
        );
        assert_eq!(re.len(), im.len(), "{prefix}: re/im lengths");
        re.iter()
            .zip(im)
            .map(|(&a, &b)| Complex64::new(a, b))
            .collect()
    }
}

fn window_kind(name: &str) -> WindowKind {
    WindowKind::parse(name).unwrap_or_else(|| panic!("unknown window {name}"))
}

#[test]
fn windows_match_scipy_get_window() {
    let fx = Fixture::load("scipy_stft");
    let lens: Vec<usize> = serde_json::from_value(fx.meta["window_lens"].clone()).unwrap();
    assert_eq!(lens.len(), 6, "window lengths read");
    let mut checked = 0;
    for kind in ["hann", "sqrt-hann", "hann-symmetric"] {
        for &n in &lens {
            let want = fx.get(&format!("win_{kind}_{n}"));
            let got = window_kind(kind).samples(n);
            assert_eq!(got.len(), want.len(), "{kind} {n}: length");
            // values in [0, 1] from one cosine each: both sides round to within a few ulps of 1
            for (i, (a, b)) in got.iter().zip(want).enumerate() {
                assert!((a - b).abs() <= 1e-15, "{kind}({n})[{i}]: {a} vs scipy {b}");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 18);
}

#[test]
fn stft_matches_scipy_short_time_fft() {
    let fx = Fixture::load("scipy_stft");
    let sr = fx.meta["sr"].as_f64().unwrap();
    let x = fx.get("x");
    assert_eq!(x.len() as u64, fx.meta["len"].as_u64().unwrap());
    let cases = fx.meta["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 4, "cases read from scipy_stft.json");
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let n = case["n"].as_u64().unwrap() as usize;
        let window = window_kind(case["window"].as_str().unwrap());
        let params = StftParams {
            window_len: n,
            hop: case["hop"].as_u64().unwrap() as usize,
            window,
            padding: match case["padding"].as_str().unwrap() {
                "center" => Padding::Center,
                "none" => Padding::None,
                p => panic!("{p}"),
            },
            norm: match case["norm"].as_str().unwrap() {
                "none" => Norm::None,
                "ortho" => Norm::Ortho,
                "amplitude" => Norm::Amplitude,
                p => panic!("{p}"),
            },
        };
        let stft = Stft::new(params, sr).unwrap();
        let spec = stft.analyze(x).unwrap();
        let (bins, frames) = (
            case["bins"].as_u64().unwrap() as usize,
            case["frames"].as_u64().unwrap() as usize,
        );
        assert_eq!(
            (spec.n_bins, spec.n_frames),
            (bins, frames),
            "{name}: shape"
        );
        let factor = case["factor"].as_f64().unwrap();
        let want: Vec<Complex64> = fx.complex(name).iter().map(|c| c * factor).collect();
        assert_eq!(want.len(), bins * frames, "{name}: values read");
        // Tolerance per coefficient: 1e-12 of its own magnitude, plus 1e-13 of the frame's
        // ℓ1 mass s_j = |c|·Σ_n |w[n]·x[s_j + n]| (≥ every |X[k, j]| of the frame). The rounding
        // of an N-point FFT is about ε·log2(N)·s_j ≈ 1e-15·s_j for N = 32, so the floor leaves a
        // factor ~100 and only matters for coefficients near a zero of the spectrum.
        let w = window.samples(n);
        let c = match params.norm {
            Norm::None => 1.0,
            Norm::Ortho => 1.0 / (n as f64).sqrt(),
            Norm::Amplitude => 2.0 / w.iter().sum::<f64>(),
        };
        let start = |j: usize| match params.padding {
            Padding::Center => (j * params.hop) as i64 - (n / 2) as i64,
            Padding::None => (j * params.hop) as i64,
        };
        let mass: Vec<f64> = (0..frames)
            .map(|j| {
                c * (0..n)
                    .map(|i| {
                        let s = start(j) + i as i64;
                        let v = if s >= 0 && (s as usize) < x.len() {
                            x[s as usize]
                        } else {
                            0.0
                        };
                        (w[i] * v).abs()
                    })
                    .sum::<f64>()
            })
            .collect();
        for k in 0..bins {
            for j in 0..frames {
                let (a, b) = (spec.coeffs[k * frames + j], want[k * frames + j]);
                let tol = 1e-12 * b.norm() + 1e-13 * mass[j];
                assert!(
                    (a - b).norm() <= tol,
                    "{name} X[{k}, {j}]: {a} vs scipy {b} (diff {:e}, tol {tol:e})",
                    (a - b).norm()
                );
            }
        }
        // coordinates: bins at k·sr/N; frame times are the window centre. scipy puts slice p at
        // p·hop, the window's sample N//2; innmf at the window's centre of symmetry N/2 (for a
        // periodic window of odd N that is half a sample later; for even N the same sample).
        let (t, f) = (fx.get(&format!("{name}_t")), fx.get(&format!("{name}_f")));
        assert_eq!(
            (t.len(), f.len()),
            (frames, bins),
            "{name}: coordinates read"
        );
        let half = (n as f64 / 2.0 - (n / 2) as f64) / sr;
        for (a, b) in spec.times.iter().zip(t) {
            assert!(
                (a - (b + half)).abs() <= 1e-12 * b.abs().max(1.0 / sr),
                "{name} time {a} vs {b}"
            );
        }
        for (a, b) in spec.freqs.iter().zip(f) {
            assert!((a - b).abs() <= 1e-12 * b.abs(), "{name} freq {a} vs {b}");
        }
    }
}

/// The signal of make_paper_cqt.py: two tones and a chirp.
fn paper_cqt_signal(sr: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let t = i as f64 / sr;
            (2.0 * PI * 440.0 * t).sin()
                + 0.5 * (2.0 * PI * 97.0 * t + 0.4).sin()
                + 0.3 * (2.0 * PI * (60.0 * t + 300.0 * t * t)).sin()
        })
        .collect()
}

#[test]
fn direct_cqt_matches_a_numpy_transcription_of_the_paper() {
    let fx = Fixture::load("paper_cqt");
    let cases = fx.meta["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 2, "cases read from paper_cqt.json");
    let mut bins_checked = 0;
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let sr = case["sr"].as_f64().unwrap();
        let len = case["len"].as_u64().unwrap() as usize;
        let x = paper_cqt_signal(sr, len);
        let params = DirectCqtParams {
            q: case["q"].as_f64().unwrap(),
            bins_per_octave: case["bins_per_octave"].as_u64().unwrap() as usize,
            f_min: case["f_min"].as_f64().unwrap(),
            n_bins: case["n_bins"].as_u64().unwrap() as usize,
            hop_divisor: 8,
        };
        let cqt = DirectCqt::new(params, sr).unwrap();
        let out = cqt.analyze(&x).unwrap();
        assert_eq!(out.bins.len(), params.n_bins, "{name}: bins");
        let stored: Vec<usize> = serde_json::from_value(case["bins"].clone()).unwrap();
        assert!(stored.len() >= 4, "{name}: bins read");
        for k in stored {
            let ours = &out.bins[k];
            let layout = fx.get(&format!("{name}_bin{k}_layout"));
            assert_eq!(
                (ours.window_len, ours.hop),
                (layout[0] as usize, layout[1] as usize),
                "{name} bin {k}: N_k, H_k"
            );
            assert!(
                (ours.freq - layout[2]).abs() <= 1e-12 * layout[2],
                "{name} bin {k}: frequency {} vs {}",
                ours.freq,
                layout[2]
            );
            let want = fx.complex(&format!("{name}_bin{k}"));
            let times = fx.get(&format!("{name}_bin{k}_t"));
            assert!(!want.is_empty(), "{name} bin {k}: frames read");
            assert_eq!(ours.coeffs.len(), want.len(), "{name} bin {k}: frames");
            assert_eq!(ours.times.len(), times.len(), "{name} bin {k}: times");
            for (a, b) in ours.times.iter().zip(times) {
                assert!(
                    (a - b).abs() <= 1e-12 * b.abs(),
                    "{name} bin {k}: time {a} vs {b}"
                );
            }
            // Tolerance per coefficient: 1e-12 of its magnitude plus 1e-11 of the frame's ℓ1
            // mass s = Σ_n |kernel[n]·x[c − N_k/2 + n]| (≥ |X_k[j]|). Both sides are f64 direct
            // sums in different orders (numpy pairwise, ours sequential): worst case
            // N_k·ε·s ≈ 3e-12·s at the largest window, N_k = 14112.
            let (n, hop) = (ours.window_len, ours.hop);
            let w = innmf::transform::window::hann(n, true);
            for (j, (a, b)) in ours.coeffs.iter().zip(&want).enumerate() {
                let start = (j * hop) as i64 - (n / 2) as i64;
                let mass: f64 = (0..n)
                    .map(|i| {
                        let s = start + i as i64;
                        if s >= 0 && (s as usize) < len {
                            (w[i] * x[s as usize]).abs()
                        } else {
                            0.0
                        }
                    })
                    .sum::<f64>()
                    / (n as f64).sqrt();
                let tol = 1e-12 * b.norm() + 1e-11 * mass;
                assert!(
                    (a - b).norm() <= tol,
                    "{name} bin {k} frame {j}: {a} vs numpy {b} (diff {:e}, tol {tol:e})",
                    (a - b).norm()
                );
            }
            bins_checked += 1;
        }
    }
    assert_eq!(bins_checked, 9);
}

/// The nsgt package's window (its `util.hannwin(M)`, stored with the centre bin first) at `d`
/// bins from its centre: ½ + ½·cos(2π·d/M).
fn package_window(m: usize, d: i64) -> f64 {
    0.5 + 0.5 * (2.0 * PI * d as f64 / m as f64).cos()
}

/// innmf's constant-Q window (module docs of `innmf::transform::nsgt`) at DFT bin `m`:
/// ½ + ½·cos(π(m − ξ)/h) inside the open support (ξ − h, ξ + h).
fn innmf_window(xi: f64, h: f64, m: i64) -> f64 {
    let d = m as f64 - xi;
    if d.abs() < h {
        0.5 + 0.5 * (PI * d / h).cos()
    } else {
        0.0
    }
}

#[test]
fn nsgt_matches_the_nsgt_package_where_the_frame_layouts_agree() {
    let fx = Fixture::load("nsgt_coeffs");
    let sr = fx.meta["sr"].as_f64().unwrap();
    let n = fx.meta["n"].as_u64().unwrap() as usize;
    let bpo = fx.meta["bins_per_octave"].as_u64().unwrap() as usize;
    // the signal of make_transform_fixtures.py / make_nsgt_coeffs.py
    let x: Vec<f64> = (0..n)
        .map(|i| {
            let t = i as f64 / sr;
            0.5 * (2.0 * PI * 220.0 * t).sin()
                + 0.3 * (2.0 * PI * (300.0 * t + 400.0 * t * t)).sin()
                + 0.2 * (2.0 * PI * 1250.0 * t + 0.3).sin()
        })
        .collect();
    let p = NsgtParams::new(
        fx.meta["fmin"].as_f64().unwrap(),
        fx.meta["fmax"].as_f64().unwrap(),
        bpo,
    );
    let c = Nsgt::new(p, sr, n).unwrap().analyze(&x).unwrap();
    let cq: Vec<_> = c
        .bands
        .iter()
        .filter(|b| b.kind == BandKind::ConstantQ)
        .collect();
    let freqs: Vec<f64> = serde_json::from_value(fx.meta["freqs"].clone()).unwrap();
    let m_pkg: Vec<usize> = serde_json::from_value(fx.meta["m_package"].clone()).unwrap();
    let stored: Vec<usize> = serde_json::from_value(fx.meta["stored_bands"].clone()).unwrap();
    // same bands at the same centre frequencies
    assert_eq!(cq.len(), freqs.len());
    assert_eq!(m_pkg.len(), freqs.len());
    for (b, f) in cq.iter().zip(&freqs) {
        assert!((b.freq / f - 1.0).abs() < 1e-9, "{} vs {f}", b.freq);
    }
    // Which layouts agree. The package's band k keeps M_k = round(ξ_{k+1} − ξ_{k−1}) coefficients
    // (its Hann window's length, ξ = f·L/sr), innmf the smallest 7-smooth number ≥ the integer
    // bins inside its open support (ξ_k ± h_k): the two counts coincide only when that rounded
    // width happens to be 7-smooth and covers the support, here 7 of the 49 bands. Elsewhere the
    // coefficients sample the band at a different hop L/M (other times), so they cannot be
    // compared element by element. Besides, the package's first constant-Q window reaches down
    // to 0 Hz (M_0 = round(ξ_1 − 0) = 848 bins; ours spans ξ_0 ± h_0, 93 bins, M = 96) and its
    // last one reaches up to Nyquist (M_48 = round(L/2 − ξ_47) = 3918, centred half-way between
    // ξ_47 and L/2; ours 1479 bins around ξ_48, M = 1500): its DC and Nyquist bands take over
    // at other frequencies than ours, so those two bands differ whatever the layout.
    let xi = |k: usize| freqs[k] * n as f64 / sr;
    let last = freqs.len() - 1;
    assert_eq!(m_pkg[0], xi(1).round() as usize);
    assert_eq!(
        m_pkg[last],
        (n as f64 / 2.0 - xi(last - 1)).round() as usize
    );
    assert_ne!(cq[0].coeffs.len(), m_pkg[0]);
    assert_ne!(cq[last].coeffs.len(), m_pkg[last]);
    let agree: Vec<usize> = (0..freqs.len())
        .filter(|&k| cq[k].coeffs.len() == m_pkg[k])
        .collect();
    assert_eq!(
        agree, stored,
        "bands with equal M (regenerate nsgt_coeffs.npz?)"
    );
    assert_eq!(stored.len(), 7, "bands read");

    // X̂ = DFT(x), unnormalized (as numpy's, which the package uses)
    let mut planner = realfft::RealFftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(n);
    let mut buf = x.clone();
    let mut spec = fft.make_output_vec();
    fft.process(&mut buf, &mut spec).unwrap();

    let r = 2f64.powf(1.0 / bpo as f64);
    let a = 2.0 / n as f64;
    for &k in &stored {
        let ours = &cq[k].coeffs;
        let m = ours.len();
        let pkg = fx.complex(&format!("band{k}"));
        assert_eq!(pkg.len(), m, "band {k}: coefficients read");
        let win = fx.get(&format!("band{k}_win"));
        let first = fx.get(&format!("band{k}_win_first_bin"))[0] as i64;
        // The package: c_p[n] = (1/M)·Σ_m X̂[m]·g_p[m]·e^{2πi(m − r)n/M}, its window g_p (stored)
        // centred on the integer bin r = first + len/2 and demodulated by r; ours:
        // c[n] = (2/L)·Σ_m X̂[m]·g[m]·e^{2πi·m·n/M} with g centred on the fractional ξ_k
        // (module docs of innmf::transform::nsgt). So c[n] − (2M/L)·e^{2πi·r·n/M}·c_p[n]
        // = (2/L)·Σ_m X̂[m]·(g − g_p)[m]·e^{2πi·m·n/M}, bounded for every n by
        // B_k = (2/L)·Σ_m |X̂[m]|·|g[m] − g_p[m]|: the only difference is the window
        // (half a bin of centre and of width rounding). B_k is 0.2–5 % of the band's largest
        // coefficient, and the measured differences use up to 99 % of it (band 1).
        let rc = first + win.len() as i64 / 2;
        // the stored window is the package's hannwin(M_k) around round(ξ_k) (used below for the
        // bands not stored)
        assert_eq!(rc, xi(k).round() as i64, "band {k}: package centre");
        for (i, &v) in win.iter().enumerate() {
            let want = package_window(win.len(), i as i64 + first - rc);
            assert!(
                (v - want).abs() <= 1e-15,
                "band {k}: package window [{i}] {v} vs {want}"
            );
        }
        let xi = xi(k);
        let h = xi * (r - 1.0 / r) / 2.0;
        let g_ours = |m: i64| innmf_window(xi, h, m);
        let g_pkg = |m: i64| {
            let i = m - first;
            if i >= 0 && (i as usize) < win.len() {
                win[i as usize]
            } else {
                0.0
            }
        };
        let lo = first.min((xi - h).floor() as i64);
        let hi = (first + win.len() as i64).max((xi + h).ceil() as i64);
        let (mut bound, mut mass) = (0.0, 0.0);
        for mb in lo..=hi {
            let xm = spec[mb as usize].norm();
            bound += a * xm * (g_ours(mb) - g_pkg(mb)).abs();
            mass += a * xm * g_ours(mb);
        }
        let peak = ours.iter().fold(0.0f64, |p, c| p.max(c.norm()));
        assert!(
            bound <= 0.05 * peak,
            "band {k}: window bound {bound:e} is no test at peak {peak:e}"
        );
        for (j, (o, p)) in ours.iter().zip(&pkg).enumerate() {
            let ph = 2.0 * PI * ((rc * j as i64).rem_euclid(m as i64)) as f64 / m as f64;
            let want = p * (a * m as f64) * Complex64::from_polar(1.0, ph);
            // plus f64 rounding of two FFTs of size ≤ 32000: ≪ 1e-12 of the band's ℓ1 mass
            let tol = bound + 1e-12 * mass;
            assert!(
                (o - want).norm() <= tol,
                "band {k} ({:.1} Hz) coefficient {j}: {o} vs nsgt {want} (diff {:e}, bound {tol:e})",
                freqs[k],
                (o - want).norm()
            );
        }
    }

    // Every interior band (1..47), whatever its layout: the band energy E_k = Σ_m |X̂[m]·g_k[m]|²
    // does not depend on the frame count (Parseval: ours Σ_n |c_n|²/(a²·M), the package's
    // M_k·Σ_n |c_n|², stored by make_transform_fixtures.py in nsgt_bands.json), and the two
    // energies differ by at most the window difference: |√E − √E_p| ≤ ‖X̂·(g − g_p)‖₂, which
    // is at most 4.6 % of √E here (about 1 % for most bands; several bands reach the bound:
    // where one tone dominates a band the triangle inequality is nearly an equality).
    let json = std::fs::read_to_string(Path::new(DIR).join("nsgt_bands.json")).unwrap();
    let bands: serde_json::Value = serde_json::from_str(&json).unwrap();
    let energy: Vec<f64> = serde_json::from_value(bands["energy"].clone()).unwrap();
    let m_bands: Vec<usize> = serde_json::from_value(bands["m"].clone()).unwrap();
    assert_eq!(
        m_bands, m_pkg,
        "nsgt_bands.json and nsgt_coeffs.json: the same transform"
    );
    let mut checked = 0;
    for k in 1..last {
        let (xi, mp) = (xi(k), m_pkg[k]);
        let h = xi * (r - 1.0 / r) / 2.0;
        let rc = xi.round() as i64;
        let (p_lo, p_hi) = (rc - (mp / 2) as i64, rc + (mp - mp / 2) as i64 - 1);
        let lo = p_lo.min((xi - h).floor() as i64);
        let hi = p_hi.max((xi + h).ceil() as i64);
        let mut diff2 = 0.0;
        for mb in lo..=hi {
            let d = innmf_window(xi, h, mb)
                - if (p_lo..=p_hi).contains(&mb) {
                    package_window(mp, mb - rc)
                } else {
                    0.0
                };
            diff2 += (spec[mb as usize] * d).norm_sqr();
        }
        let ours = cq[k].coeffs.iter().map(|c| c.norm_sqr()).sum::<f64>()
            / (a * a * cq[k].coeffs.len() as f64);
        let (got, want, bound) = (ours.sqrt(), energy[k].sqrt(), diff2.sqrt());
        assert!(
            (got - want).abs() <= bound + 1e-9 * want,
            "band {k} ({:.1} Hz): √E {got} vs nsgt {want} (bound {bound:e})",
            freqs[k]
        );
        checked += 1;
    }
    assert_eq!(checked, 47);
}
