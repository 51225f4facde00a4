//! End-to-end tests of `innmf analyze --transform sines|multires`, `--resynth`, `--calibrate`
//! and `innmf fit` on those transforms, on tiny synthesized WAVs.

mod common;
use common::innmf;
use std::f64::consts::PI;

const SR: f64 = 8000.0;

fn write_tones(path: &std::path::Path, parts: &[(f64, f64)], len: usize) -> Vec<f64> {
    let x: Vec<f64> = (0..len)
        .map(|i| {
            parts
                .iter()
                .map(|&(f, a)| a * (2.0 * PI * f * i as f64 / SR).cos())
                .sum()
        })
        .collect();
    innmf::audio::write_wav(path, &x, SR as u32).unwrap();
    x
}

fn run_ok(args: &[&str]) -> serde_json::Value {
    let (ok, stdout, stderr) = innmf(args);
    assert!(ok, "{args:?}: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn sines_track_and_resynthesize() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("two.wav");
    let x = write_tones(&wav, &[(440.0, 0.5), (1234.5, 0.25)], 16000);
    let out = dir.path().join("sines.npz");
    let re = dir.path().join("re.wav");
    let j = run_ok(&[
        "analyze",
        wav.to_str().unwrap(),
        "--transform",
        "sines",
        "--window",
        "512",
        "--hop",
        "128",
        "--threshold",
        "-30",
        "--track",
        "--max-deviation",
        "20hz",
        "--out",
        out.to_str().unwrap(),
        "--resynth",
        re.to_str().unwrap(),
    ]);
    assert_eq!(j["segments"][0]["tracks"], 2, "{j}");
    let pts = innmf::TfPoints::read(&out).unwrap();
    // continuous frequencies: each frame's peak sits at its own interpolated frequency,
    // within a cent of the tones (frames fully inside the signal)
    let interior: Vec<usize> = (0..pts.len())
        .filter(|&i| pts.t()[i] > 0.1 && pts.t()[i] < 1.9)
        .collect();
    assert!(interior.len() > 200);
    for &i in &interior {
        let f = pts.f()[i];
        let c = (1200.0 * (f / 440.0).log2())
            .abs()
            .min((1200.0 * (f / 1234.5).log2()).abs());
        assert!(c < 1.0, "{f} Hz");
    }
    // the resynthesis: same length and rate, close to the input away from the edges
    let y = innmf::audio::read(&re).unwrap();
    assert_eq!(y.sample_rate, SR as u32);
    let y = y.mono(innmf::audio::ChannelSelect::Mix).unwrap();
    assert_eq!(y.len(), x.len());
    let (lo, hi) = (512, x.len() - 512);
    let s: f64 = x[lo..hi].iter().map(|v| v * v).sum();
    let e: f64 = x[lo..hi]
        .iter()
        .zip(&y[lo..hi])
        .map(|(a, b)| (a - b) * (a - b))
        .sum();
    let snr = 10.0 * (s / e).log10();
    // the WAV is 32-bit float, so the library's > 60 dB carries over
    assert!(snr > 60.0, "resynthesis SNR {snr} dB");
    assert!(j["resynthesis"]["snr_db"].as_f64().unwrap() > 20.0);

    // fit accepts the sines and multires transforms too
    for t in ["sines", "multires"] {
        let model = dir.path().join(format!("{t}.safetensors"));
        let (ok, _, stderr) = innmf(&[
            "fit",
            wav.to_str().unwrap(),
            "--transform",
            t,
            "--window",
            "512",
            "--hop",
            "256",
            "--rank",
            "2",
            "--width",
            "8",
            "--steps",
            "3",
            "--calibrate",
            "--out",
            model.to_str().unwrap(),
        ]);
        assert!(ok, "fit {t}: {stderr}");
        assert!(model.exists());
    }
}

#[test]
fn multires_bands_and_calibrated_magnitudes() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("tone.wav");
    // 437.5 Hz: bin 14 of a 256 window, bin 112 of 2048 (multires' default low band at 8 kHz)
    write_tones(&wav, &[(437.5, 0.5)], 16000);
    let w = wav.to_str().unwrap();
    let out = dir.path().join("mr.npz");
    let j = run_ok(&[
        "analyze",
        w,
        "--transform",
        "multires",
        "--split",
        "1000",
        "--windows",
        "1024,128",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(j["analysis"]["representation"]["hops"][1], 32, "{j}");
    let pts = innmf::TfPoints::read(&out).unwrap();
    let fu = pts.unique_freqs();
    // below the split the 1024 window's bins (7.8 Hz), above it the 128 window's (62.5 Hz)
    let below: Vec<f64> = fu.iter().cloned().filter(|&f| f < 1000.0).collect();
    let above: Vec<f64> = fu.iter().cloned().filter(|&f| f >= 1000.0).collect();
    assert_eq!(below.len(), 128);
    assert!((below[1] - below[0] - SR / 1024.0).abs() < 1e-9);
    assert!((above[1] - above[0] - SR / 128.0).abs() < 1e-9);
    assert_eq!(above[0], 1000.0);
    assert_eq!(*above.last().unwrap(), SR / 2.0);

    // --calibrate: the 0.5-amplitude tone reads 0.5 in the STFT (√Hann, 1/√N), the
    // multires hybrid and the sinusoidal model; uncalibrated, the STFT reads 0.5·√N/4·…
    let mut reads = Vec::new();
    for (t, extra) in [
        ("stft", vec!["--window", "256", "--hop", "64"]),
        ("multires", vec![]),
        ("sines", vec!["--window", "1024", "--hop", "256"]),
    ] {
        let out = dir.path().join(format!("{t}-cal.npz"));
        let mut args = vec![
            "analyze",
            w,
            "--transform",
            t,
            "--calibrate",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(extra);
        let j = run_ok(&args);
        assert_eq!(j["analysis"]["calibration"], "unit-tone", "{j}");
        let pts = innmf::TfPoints::read(&out).unwrap();
        // frames fully inside the signal (a window cut by the signal's ends is not the one the
        // amplitude corrections assume)
        let m = (0..pts.len())
            .filter(|&i| pts.t()[i] > 0.15 && pts.t()[i] < 1.85)
            .map(|i| pts.m()[i])
            .fold(0.0, f64::max);
        reads.push((t, m));
    }
    for (t, m) in &reads {
        // 0.1 dB: the sinusoidal model's interpolation accuracy; the grids read 0.5 to 1e-3
        assert!((m / 0.5 - 1.0).abs() < 0.012, "{t}: {m}");
    }
    let native = dir.path().join("stft-native.npz");
    run_ok(&[
        "analyze",
        w,
        "--window",
        "256",
        "--hop",
        "64",
        "--out",
        native.to_str().unwrap(),
    ]);
    let m = innmf::TfPoints::read(&native)
        .unwrap()
        .m()
        .iter()
        .cloned()
        .fold(0.0, f64::max);
    assert!(m > 2.0, "native ortho STFT reads {m}");

    // errors name the value and the limit
    let o = dir.path().join("x.npz");
    let o = o.to_str().unwrap();
    for (args, want) in [
        (
            vec!["--transform", "cqt", "--resynth", "r.wav"],
            "has no inverse",
        ),
        (
            vec![
                "--transform",
                "multires",
                "--split",
                "5000",
                "--windows",
                "256,64",
            ],
            "4000",
        ),
        (
            vec!["--transform", "multires", "--split", "500,1000"],
            "--windows",
        ),
        (
            vec!["--transform", "sines", "--track", "--max-deviation", "0"],
            "'0' for '--max-deviation",
        ),
        (
            vec!["--transform", "sines", "--max-peaks", "0"],
            "--max-peaks 0",
        ),
    ] {
        let mut a = vec!["analyze", w, "--out", o];
        a.extend(&args);
        let (ok, _, stderr) = innmf(&a);
        assert!(!ok && stderr.contains(want), "{args:?}: {stderr}");
    }
}
