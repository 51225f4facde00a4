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
    assert!(!ok && stderr.contains("bins per octave"), "{stderr}");
}
