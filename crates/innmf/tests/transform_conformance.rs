//! One conformance suite for every [`Transform`] plan, as RustFFT checks every algorithm against
//! one DFT: each plan goes through the same checks, with its own stated tolerance.
//!
//! 1. A unit-amplitude tone at a bin's centre lands in that bin (the bin with the largest mean
//!    magnitude away from the ends) and reads 1 there after unit-tone calibration.
//! 2. An impulse peaks, in every bin, at the frame nearest to it (within half that bin's frame
//!    spacing).
//! 3. The points agree with the plan: `n_points` of them, at `bin_freqs` and `frame_times`.
//! 4. Invertible plans: `synthesize(analyze(x)) ≈ x` to the plan's stated accuracy, and per-point
//!    gains are linear: `synthesize(c·g) + synthesize(c·(1 − g)) = synthesize(c)`.
//!    Plans without an inverse say so in an error that names them.
//! 5. Bad input (empty, NaN, too short or, for plans fixed to a length, another length; another
//!    transform's coefficients; gains or calibrations of the wrong length) is an error.

use innmf::transform::{
    Calibration, Coefficients, Cwt, CwtParams, DirectCqt, DirectCqtParams, FastCqt, Multires,
    MultiresParams, Norm, Nsgt, NsgtParams, Padding, SinusoidalModel, SinusoidalParams, Stft,
    StftParams, TrackParams, Transform, Vqt, VqtParams, WindowKind,
};
use rand::{Rng, SeedableRng};
use std::f64::consts::PI;

const SR: f64 = 8000.0;
/// Signal length of every check: 2 s.
const LEN: usize = 16000;

/// A test signal of a given length, the SNR (dB) its round trip must reach, and how many
/// samples to leave out at each end.
type RoundTrip = (fn(usize) -> Vec<f64>, f64, usize);

/// What a plan promises, and how to read it.
struct Case {
    plan: Box<dyn Transform>,
    /// |calibrated reading − 1| allowed for a unit tone at a bin centre, away from the ends.
    tone_tol: f64,
    /// Seconds to stay away from each end at a bin of this centre frequency (Hz) when reading a
    /// steady tone (the analysis window's reach, or the transient of a circular transform).
    margin: Box<dyn Fn(f64) -> f64>,
    /// Whether an impulse must peak at its nearest frame in every bin.
    impulse: bool,
    /// For invertible plans: the test signal and the reconstruction SNR (dB) it must reach,
    /// over samples `trim..L − trim`.
    round_trip: Option<RoundTrip>,
    /// A signal length the plan must refuse (too short, or not its planned length).
    bad_len: Option<usize>,
}

fn tone(f: f64, len: usize, phase: f64) -> Vec<f64> {
    (0..len)
        .map(|i| (2.0 * PI * f * i as f64 / SR + phase).cos())
        .collect()
}

fn noise(len: usize) -> Vec<f64> {
    let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    (0..len).map(|_| r.random_range(-1.0..1.0)).collect()
}

/// Three steady tones (what the sinusoidal model resynthesizes).
fn steady_tones(len: usize) -> Vec<f64> {
    (0..len)
        .map(|i| {
            let t = i as f64 / SR;
            0.4 * (2.0 * PI * 300.0 * t).cos()
                + 0.3 * (2.0 * PI * 1000.0 * t + 1.0).cos()
                + 0.25 * (2.0 * PI * 2500.5 * t + 2.0).cos()
        })
        .collect()
}

/// Gaussian tone bursts and a tapered chirp between 300 and 1800 Hz: inside the band the CWT's
/// scales cover, where its least-squares inverse is exact.
fn band_limited(len: usize) -> Vec<f64> {
    let dur = len as f64 / SR;
    (0..len)
        .map(|i| {
            let t = i as f64 / SR;
            let burst = |f: f64, at: f64| {
                (-0.5 * ((t - at) / 0.05).powi(2)).exp() * (2.0 * PI * f * t).sin()
            };
            let hann = 0.5 - 0.5 * (2.0 * PI * t / dur).cos();
            burst(400.0, 0.4 * dur)
                + burst(700.0, 0.6 * dur)
                + burst(1500.0, 0.5 * dur)
                + 0.5 * hann * (2.0 * PI * (400.0 * t + 600.0 * t * t / dur)).sin()
        })
        .collect()
}

fn cqt_params() -> DirectCqtParams {
    DirectCqtParams {
        q: 16.0,
        bins_per_octave: 12,
        f_min: 100.0,
        n_bins: 48,
        hop_divisor: 4,
    }
}

fn cases() -> Vec<Case> {
    let stft_centre = StftParams {
        window_len: 256,
        hop: 64,
        window: WindowKind::Hann,
        padding: Padding::Center,
        norm: Norm::Amplitude,
    };
    let mut vqt = VqtParams::librosa_default();
    vqt.f_min = 100.0;
    vqt.n_bins = 48;
    // a hop well below half the shortest window (89 samples at the top bin, 1.5 kHz), so that
    // every instant is inside some window of every bin (with librosa's default hop 512 at
    // 22.05 kHz, bins above ≈ 720 Hz never see an impulse that falls between their frames)
    vqt.hop = 32;
    // librosa's Q for 12 bins per octave: 1/(2^{1/12·2}−1)/(2^{1/12·2}+1)⁻¹ ≈ 16.8 cycles
    let r = 2f64.powf(1.0 / 12.0);
    let vqt_q = (r * r + 1.0) / (r * r - 1.0);
    let cwt = CwtParams::new(100.0, 2500.0, 12);
    // −30 dB: above the Hann sidelobes (−31.5 dB re each tone) of the loudest test tone
    let sines = SinusoidalParams {
        threshold_db: -30.0,
        ..SinusoidalParams::new(1024, 256)
    };
    vec![
        // the paper's STFT: √Hann, hop N/2, no padding, 1/√N
        Case {
            plan: Box::new(Stft::new(StftParams::new(256, 128), SR).unwrap()),
            // √Hann's image across DC or Nyquist, d bins away, adds ≤ 1/(4d² − 1): 6.1e-5 for
            // the tone nearest an end (bin 32, d = 64); measured 1.3e-5
            tone_tol: 1e-4,
            margin: Box::new(|_| 256.0 / SR),
            impulse: true,
            // exact on every sample a window covers with a nonzero value: all but the first
            round_trip: Some((noise, 250.0, 1)),
            bad_len: Some(255),
        },
        Case {
            plan: Box::new(Stft::new(stft_centre, SR).unwrap()),
            // periodic Hann: the image falls on a zero of its spectrum
            tone_tol: 1e-9,
            margin: Box::new(|_| 256.0 / SR),
            impulse: true,
            round_trip: Some((noise, 250.0, 0)),
            bad_len: None,
        },
        Case {
            plan: Box::new(DirectCqt::new(cqt_params(), SR).unwrap()),
            // the image 2Q cycles away leaks ≲ 1e-5
            tone_tol: 1e-4,
            margin: Box::new(|f| 16.0 / f),
            impulse: true,
            round_trip: None,
            // half the longest window, 16·8000/100/2 = 640 samples
            bad_len: Some(640),
        },
        Case {
            plan: Box::new(FastCqt::new(cqt_params(), SR).unwrap()),
            // as the direct sums, plus ≤ 2e-6 of kernel truncation
            tone_tol: 1e-4,
            margin: Box::new(|f| 16.0 / f),
            impulse: true,
            round_trip: None,
            bad_len: Some(640),
        },
        Case {
            plan: Box::new(Vqt::new(vqt, SR).unwrap()),
            // the image ≲ 1e-5, decimation ripple 3e-6, kernel truncation 2e-4 of full scale
            tone_tol: 3e-4,
            margin: Box::new(move |f| vqt_q / f),
            impulse: true,
            round_trip: None,
            bad_len: None,
        },
        Case {
            plan: Box::new(Nsgt::new(NsgtParams::new(100.0, 3000.0, 12), SR, LEN).unwrap()),
            // a tone at a band centre is not periodic in L: the circular transform's transient
            // at the ends decays within the band filter's time spread; measured ≤ 3e-7 over the
            // middle half
            tone_tol: 1e-5,
            margin: Box::new(|_| LEN as f64 / SR / 4.0),
            impulse: true,
            round_trip: Some((noise, 100.0, 0)),
            bad_len: Some(LEN - 1),
        },
        Case {
            plan: Box::new(Cwt::new(cwt, SR, LEN).unwrap()),
            // a linear convolution with the 5-std-truncated Gaussian (tails ≈ 4e-6)
            tone_tol: 1e-4,
            // 5 envelope standard deviations, σ = ω0/(2πf)
            margin: Box::new(|f| 5.0 * 6.0 / (2.0 * PI * f)),
            impulse: true,
            // exact inside the band the scales cover (−177 dB measured); 150 dB with margin
            round_trip: Some((band_limited, 150.0, 0)),
            bad_len: Some(LEN + 1),
        },
        Case {
            plan: Box::new(SinusoidalModel::new(sines, Some(TrackParams::default()), SR).unwrap()),
            // interpolated peak amplitudes within 0.1 dB
            tone_tol: 0.0116,
            margin: Box::new(|_| 1024.0 / SR),
            // an impulse has a flat spectrum: no peaks, nothing to place
            impulse: false,
            // steady tones come back at 85–94 dB (partials.rs); away from the fades at the ends
            round_trip: Some((steady_tones, 60.0, 1024)),
            bad_len: None,
        },
        Case {
            plan: Box::new(SinusoidalModel::new(sines, None, SR).unwrap()),
            tone_tol: 0.0116,
            margin: Box::new(|_| 1024.0 / SR),
            impulse: false,
            // untracked: triangular cross-fades of each peak's steady sinusoid (sines.rs)
            round_trip: Some((steady_tones, 60.0, 1024)),
            bad_len: None,
        },
        Case {
            plan: Box::new(Multires::new(MultiresParams::default_for(SR), SR).unwrap()),
            tone_tol: 1e-4,
            // at 8 kHz the defaults are two bands: 2048-sample windows below 1 kHz, 512 above
            margin: Box::new(|f| if f < 1000.0 { 2048.0 / SR } else { 512.0 / SR }),
            impulse: true,
            // preconditioned Richardson steps, ≈ 30 dB each: ≈ 180 dB measured
            round_trip: Some((noise, 150.0, 0)),
            bad_len: None,
        },
    ]
}

/// Per bin, the (time, magnitude) of its points; bins absent from the points (the NSGT's DC and
/// Nyquist bands) are empty. Checks that every point sits at a bin frequency.
fn by_bin(plan: &dyn Transform, c: &Coefficients) -> Vec<Vec<(f64, f64)>> {
    let freqs = plan.bin_freqs();
    let pts = c.to_points(1.0).unwrap();
    let mut rows = vec![Vec::new(); freqs.len()];
    for i in 0..pts.len() {
        let f = pts.f()[i];
        let k = freqs
            .iter()
            .position(|&b| (b - f).abs() <= 1e-12 * b.max(1.0))
            .unwrap_or_else(|| panic!("{}: a point at {f} Hz is on no bin", plan.name()));
        rows[k].push((pts.t()[i], pts.m()[i]));
    }
    rows
}

fn is_sines(plan: &dyn Transform) -> bool {
    plan.name() == "sines"
}

#[test]
fn a_tone_lands_in_its_bin_and_reads_one_after_calibration() {
    let mut checked = 0;
    for case in cases() {
        let plan = case.plan.as_ref();
        let name = plan.name();
        let freqs = plan.bin_freqs();
        let gain = plan.unit_tone_gain();
        assert_eq!(gain.len(), freqs.len(), "{name}");
        assert!(
            freqs.windows(2).all(|w| w[0] < w[1]),
            "{name}: bins not increasing"
        );
        let n = freqs.len();
        // a quarter, half and three quarters of the way up (away from DC and Nyquist), within
        // the band a sinusoidal model resolves
        let bins: Vec<usize> = if is_sines(plan) {
            [250.0, 1000.0, 3001.7]
                .iter()
                .map(|&f| (f * 4096.0 / SR) as usize)
                .collect()
        } else {
            vec![n / 4, n / 2, 3 * n / 4]
        };
        for k in bins {
            let f = freqs[k];
            let x = tone(f, LEN, 0.7);
            let mut c = plan.analyze(&x).unwrap();
            c.calibrate(Calibration::UnitTone, &gain).unwrap();
            let lo = (case.margin)(f);
            let hi = LEN as f64 / SR - lo;
            let readings: Vec<f64> = if is_sines(plan) {
                // the peak nearest the tone in each interior frame
                let Coefficients::Sines(s) = &c else {
                    panic!("sines")
                };
                s.points()
                    .filter(|q| q.time >= lo && q.time <= hi && (q.freq / f - 1.0).abs() < 0.01)
                    .map(|q| q.amp)
                    .collect()
            } else {
                let rows = by_bin(plan, &c);
                let interior = |k: usize| -> Vec<f64> {
                    rows[k]
                        .iter()
                        .filter(|(t, _)| *t >= lo && *t <= hi)
                        .map(|&(_, m)| m)
                        .collect()
                };
                let mean = |k: usize| {
                    let v = interior(k);
                    v.iter().sum::<f64>() / v.len().max(1) as f64
                };
                let best = (0..n).max_by(|&a, &b| mean(a).total_cmp(&mean(b))).unwrap();
                assert_eq!(best, k, "{name}: a tone at {f} Hz peaks in bin {best}");
                interior(k)
            };
            assert!(
                readings.len() >= 3,
                "{name} bin {k}: {} readings",
                readings.len()
            );
            let worst = readings.iter().map(|r| (r - 1.0).abs()).fold(0.0, f64::max);
            eprintln!("{name}: tone at {f:.2} Hz reads 1 to {worst:.1e}");
            assert!(worst <= case.tone_tol, "{name} bin {k}: off by {worst}");
            checked += 1;
        }
    }
    assert_eq!(checked, 30);
}

#[test]
fn an_impulse_peaks_at_its_nearest_frame_in_every_bin() {
    let mut checked = 0;
    for case in cases().into_iter().filter(|c| c.impulse) {
        let plan = case.plan.as_ref();
        let name = plan.name();
        for at in [5001usize, 8000, 10_999] {
            let mut x = vec![0.0; LEN];
            x[at] = 1.0;
            let t0 = at as f64 / SR;
            let c = plan.analyze(&x).unwrap();
            for (k, row) in by_bin(plan, &c).iter().enumerate() {
                if row.is_empty() {
                    continue;
                }
                let &(t, peak) = row.iter().max_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
                assert!(peak > 0.0, "{name} bin {k}: the impulse is invisible");
                // the spacing of this bin's frames around the impulse
                let step = row.windows(2).map(|w| w[1].0 - w[0].0).fold(0.0, f64::max);
                assert!(
                    (t - t0).abs() <= step / 2.0 + 1e-9,
                    "{name} bin {k} ({:.1} Hz): impulse at {t0} s peaks at {t} s (frames {step} s apart)",
                    plan.bin_freqs()[k]
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 1000, "{checked}");
}

#[test]
fn points_agree_with_bins_frame_times_and_counts() {
    let x = noise(LEN);
    for case in cases() {
        let plan = case.plan.as_ref();
        let name = plan.name();
        let c = plan.analyze(&x).unwrap();
        assert_eq!(c.signal_len(), LEN, "{name}");
        assert_eq!(c.sample_rate(), SR, "{name}");
        let pts = c.to_points(1.0).unwrap();
        assert_eq!(pts.len(), c.n_points(), "{name}");
        // p is applied to the magnitudes
        let half = c.to_points(0.5).unwrap();
        for (a, b) in pts.m().iter().zip(half.m()) {
            assert!(
                (a.sqrt() - b).abs() <= 1e-12 * a.sqrt().max(1e-300),
                "{name}"
            );
        }
        if is_sines(plan) {
            // peaks sit at continuous frequencies, on the plan's frame times
            let times = plan.frame_times(0, LEN).unwrap();
            assert!(pts.t().iter().all(|t| times.contains(t)), "{name}");
            continue;
        }
        let rows = by_bin(plan, &c);
        let mut with_points = 0;
        for (k, row) in rows.iter().enumerate() {
            if row.is_empty() {
                continue;
            }
            with_points += 1;
            let times: Vec<f64> = row.iter().map(|p| p.0).collect();
            assert_eq!(times, plan.frame_times(k, LEN).unwrap(), "{name} bin {k}");
        }
        // every bin has points, except the NSGT's DC and Nyquist residuals
        let residual = if name == "nsgt" { 2 } else { 0 };
        assert_eq!(with_points + residual, plan.n_bins(), "{name}");
        assert!(plan.frame_times(plan.n_bins(), LEN).is_err(), "{name}");
    }
}

fn snr_db(x: &[f64], y: &[f64]) -> f64 {
    let s: f64 = x.iter().map(|v| v * v).sum();
    let e: f64 = x.iter().zip(y).map(|(a, b)| (a - b).powi(2)).sum();
    10.0 * (s / e.max(1e-300)).log10()
}

#[test]
fn invertible_plans_round_trip_and_split_linearly_others_say_no() {
    let mut inverted = 0;
    for case in cases() {
        let plan = case.plan.as_ref();
        let name = plan.name();
        let Some((signal, want_db, trim)) = case.round_trip else {
            assert!(
                !plan.is_invertible(),
                "{name} claims an inverse the suite does not check"
            );
            let c = plan.analyze(&noise(LEN)).unwrap();
            let e = plan.synthesize(&c).unwrap_err();
            assert!(e.to_string().contains(name), "{name}: {e}");
            continue;
        };
        assert!(plan.is_invertible(), "{name}");
        let x = signal(LEN);
        let c = plan.analyze(&x).unwrap();
        let y = plan.synthesize(&c).unwrap();
        assert_eq!(y.len(), LEN, "{name}");
        let snr = snr_db(&x[trim..LEN - trim], &y[trim..LEN - trim]);
        eprintln!("{name}: round trip {snr:.1} dB");
        assert!(
            snr >= want_db,
            "{name}: round trip {snr:.1} dB < {want_db} dB"
        );
        // per-point gains in [0, 1] and their complements add up to the unmodified synthesis
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let g: Vec<f64> = (0..c.n_points())
            .map(|_| rng.random_range(0.0..1.0))
            .collect();
        let (mut a, mut b) = (c.clone(), c.clone());
        a.apply_gains(&g).unwrap();
        b.apply_gains(&g.iter().map(|v| 1.0 - v).collect::<Vec<_>>())
            .unwrap();
        let (ya, yb) = (plan.synthesize(&a).unwrap(), plan.synthesize(&b).unwrap());
        let scale = y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let worst = (0..LEN)
            .map(|i| (ya[i] + yb[i] - y[i]).abs())
            .fold(0.0, f64::max);
        // every synthesis is linear in the coefficients: what remains is f64 rounding of sums
        // over the signal (FFTs of length L: ≈ 1e-15·log L relative)
        assert!(
            worst <= 1e-10 * scale,
            "{name}: gains split with error {worst}"
        );
        // unit gains change nothing
        let mut one = c.clone();
        one.apply_gains(&vec![1.0; c.n_points()]).unwrap();
        assert_eq!(one, c, "{name}");
        inverted += 1;
    }
    assert_eq!(inverted, 7);
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let x = noise(LEN);
    for case in cases() {
        let plan = case.plan.as_ref();
        let name = plan.name();
        assert!(plan.analyze(&[]).is_err(), "{name}: empty");
        let mut bad = x.clone();
        bad[100] = f64::NAN;
        let e = plan.analyze(&bad).unwrap_err();
        assert!(e.to_string().contains("NaN"), "{name}: {e}");
        bad[100] = f64::INFINITY;
        assert!(plan.analyze(&bad).is_err(), "{name}: infinity");
        match case.bad_len {
            Some(n) => {
                let e = plan.analyze(&x[..n.min(LEN)]).err();
                let e = e.or_else(|| plan.analyze(&noise(n)).err());
                assert!(e.is_some(), "{name}: length {n} accepted");
            }
            // plans that frame any length: a one-sample signal gives finite coefficients
            None => {
                let c = plan.analyze(&[0.5]).unwrap();
                if c.n_points() > 0 {
                    let pts = c.to_points(1.0).unwrap();
                    assert!(pts.m().iter().all(|m| m.is_finite()), "{name}");
                }
            }
        }
        let mut c = plan.analyze(&x).unwrap();
        let n = c.n_points();
        assert!(c.apply_gains(&vec![0.5; n + 1]).is_err(), "{name}");
        let mut g = vec![0.5; n];
        g[n / 2] = f64::NAN;
        assert!(c.apply_gains(&g).is_err(), "{name}");
        let gain = plan.unit_tone_gain();
        assert!(
            c.calibrate(Calibration::UnitTone, &gain[1..]).is_err(),
            "{name}"
        );
        let mut zero = gain.clone();
        zero[0] = 0.0;
        assert!(c.calibrate(Calibration::UnitTone, &zero).is_err(), "{name}");
        // another transform's coefficients
        let other = Stft::new(StftParams::new(64, 16), SR).unwrap();
        let foreign = Transform::analyze(&other, &x).unwrap();
        if name != "stft" {
            let e = plan.synthesize(&foreign).unwrap_err();
            assert!(e.to_string().contains(name), "{name}: {e}");
        } else {
            assert!(plan.synthesize(&foreign).is_err(), "{name}");
        }
    }
}

/// The multi-resolution inverse is an iteration: a plan whose iteration diverges (Hann windows
/// that do not overlap) must say so instead of returning a wrong signal.
#[test]
fn multires_refuses_an_inverse_that_does_not_converge() {
    let mut p = MultiresParams::default_for(SR);
    p.hops = p.windows.clone();
    let plan = Multires::new(p, SR).unwrap();
    assert!(!plan.is_invertible());
    let c = plan.analyze(&noise(LEN)).unwrap();
    let e = plan.synthesize(&c).unwrap_err().to_string();
    assert!(
        e.contains("multires") && e.contains("does not converge"),
        "{e}"
    );
    // the default plan converges, and its inverse is what round trips above
    let plan = Multires::new(MultiresParams::default_for(SR), SR).unwrap();
    assert!(plan.is_invertible());
}
