//! End-to-end test of `innmf analyze` on a tiny synthesized WAV.

mod common;
use common::innmf;

#[test]
fn analyze_every_transform_and_reject_impossible_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("tone.wav");
    let sr = 8000.0;
    let x: Vec<f64> = (0..8000)
        .map(|i| 0.5 * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / sr).sin())
        .collect();
    innmf::audio::write_wav(&wav, &x, 8000).unwrap();
    let w = wav.to_str().unwrap();
    for (t, extra) in [
        ("stft", vec!["--window", "256", "--hop", "64"]),
        (
            "cqt",
            vec![
                "--fmin",
                "100",
                "--fmax",
                "2000",
                "--q",
                "16",
                "--bins-per-octave",
                "12",
            ],
        ),
        (
            "vqt",
            vec!["--fmin", "100", "--fmax", "2000", "--hop", "128"],
        ),
        (
            "nsgt",
            vec!["--fmin", "100", "--fmax", "2000", "--bins-per-octave", "12"],
        ),
        (
            "cwt",
            vec![
                "--fmin",
                "100",
                "--fmax",
                "2000",
                "--bins-per-octave",
                "12",
                "--omega0",
                "8",
            ],
        ),
    ] {
        let out = dir.path().join(format!("{t}.npz"));
        let plot = dir.path().join(format!("{t}.png"));
        let mut args = vec![
            "analyze",
            w,
            "--transform",
            t,
            "--out",
            out.to_str().unwrap(),
            "--plot",
            plot.to_str().unwrap(),
        ];
        args.extend(extra);
        let (ok, stdout, stderr) = innmf(&args);
        assert!(ok, "{t}: {stderr}");
        assert!(stdout.contains("\"points\""), "{t}: {stdout}");
        assert!(plot.exists(), "{t}");
        // the loudest point is the 440 Hz tone, within a bin of the transform's resolution
        let pts = innmf::TfPoints::read(&out).unwrap();
        let i = (0..pts.len())
            .max_by(|&a, &b| pts.m()[a].total_cmp(&pts.m()[b]))
            .unwrap();
        let f = pts.f()[i];
        assert!(
            (f / 440.0).log2().abs() < 1.0 / 12.0 + 0.02 || (f - 440.0).abs() < 32.0,
            "{t}: {f}"
        );
    }
    let csv = dir.path().join("p.csv");
    let (ok, _, stderr) = innmf(&[
        "analyze",
        w,
        "--transform",
        "nsgt",
        "--fmax",
        "5000",
        "--out",
        csv.to_str().unwrap(),
    ]);
    assert!(!ok && stderr.contains("Nyquist"), "{stderr}");
    let (ok, _, stderr) = innmf(&[
        "analyze",
        w,
        "--window",
        "100000",
        "--out",
        csv.to_str().unwrap(),
    ]);
    assert!(
        !ok && stderr.contains("100000") && stderr.contains("8000"),
        "{stderr}"
    );
    let (ok, _, stderr) = innmf(&[
        "analyze",
        w,
        "--transform",
        "vqt",
        "--bins-per-octave",
        "0",
        "--out",
        csv.to_str().unwrap(),
    ]);
    assert!(!ok && stderr.contains("--bins-per-octave 0"), "{stderr}");
}

#[test]
fn cwt_analyze_checks_nyquist_and_fit_accepts_it() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("tone.wav");
    let sr = 8000.0;
    let x: Vec<f64> = (0..8000)
        .map(|i| 0.5 * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / sr).sin())
        .collect();
    innmf::audio::write_wav(&wav, &x, 8000).unwrap();
    let w = wav.to_str().unwrap();
    let out = dir.path().join("p.npz");
    let o = out.to_str().unwrap();
    // ω0 = 6: the top scale's centre + 3 std (×1.5) must stay below 4000 Hz → at most 2666.7 Hz
    let (ok, _, stderr) = innmf(&[
        "analyze",
        w,
        "--transform",
        "cwt",
        "--fmax",
        "3000",
        "--out",
        o,
    ]);
    assert!(
        !ok && stderr.contains("Nyquist") && stderr.contains("3000") && stderr.contains("2666.7"),
        "{stderr}"
    );
    let (ok, _, stderr) = innmf(&[
        "analyze",
        w,
        "--transform",
        "cwt",
        "--omega0",
        "0.5",
        "--out",
        o,
    ]);
    assert!(!ok && stderr.contains("omega0"), "{stderr}");
    // defaults (20 Hz up, 12 voices): the time stamps lie inside the signal
    let (ok, stdout, stderr) = innmf(&["analyze", w, "--transform", "cwt", "--out", o]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("\"cwt\""), "{stdout}");
    let pts = innmf::TfPoints::read(&out).unwrap();
    let (t0, t1) = pts.time_range();
    assert!(t0 == 0.0 && t1 < 1.0, "{t0} {t1}");
    let model = dir.path().join("m.safetensors");
    let (ok, stdout, stderr) = innmf(&[
        "fit",
        w,
        "--transform",
        "cwt",
        "--out",
        model.to_str().unwrap(),
        "--rank",
        "2",
        "--width",
        "8",
        "--steps",
        "5",
    ]);
    assert!(ok && model.exists(), "{stderr}");
    let report = std::fs::read_to_string(dir.path().join("m.report.json")).unwrap();
    assert!(report.contains("\"cwt\""), "{stdout}\n{report}");
}
