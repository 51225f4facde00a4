//! End-to-end tests of `innmf separate` on tiny synthesized recordings.

use std::f64::consts::PI;
use std::path::Path;
use std::process::Command;

fn innmf(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_innmf"))
        .args(args)
        .output()
        .expect("run innmf");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const SR: u32 = 8000;

/// A harmonic tone (f0, 5 harmonics) with a slow tremolo; `shift` moves the tremolo.
fn tone(f0: f64, len: usize, shift: f64) -> Vec<f64> {
    (0..len)
        .map(|i| {
            let t = i as f64 / SR as f64;
            let env = 0.6 + 0.4 * (2.0 * PI * 2.0 * t + shift).sin();
            0.15 * env
                * (1..=5)
                    .map(|h| (2.0 * PI * f0 * h as f64 * t).sin() / h as f64)
                    .sum::<f64>()
        })
        .collect()
}

fn write(path: &Path, x: &[f64]) {
    innmf::audio::write_wav(path, x, SR).unwrap();
}

/// A 16-bit PCM stereo WAV (the same signal in both channels), written by hand.
fn write_stereo_pcm16(path: &Path, x: &[f64]) {
    let data_len = (x.len() * 4) as u32;
    let mut b = Vec::with_capacity(44 + data_len as usize);
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data_len).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes()); // PCM
    b.extend_from_slice(&2u16.to_le_bytes()); // channels
    b.extend_from_slice(&SR.to_le_bytes());
    b.extend_from_slice(&(SR * 4).to_le_bytes());
    b.extend_from_slice(&4u16.to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    for v in x {
        let q = ((v * 32767.0).round() as i16).to_le_bytes();
        b.extend_from_slice(&q);
        b.extend_from_slice(&q);
    }
    std::fs::write(path, b).unwrap();
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn separates_two_tones_and_scores_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let n = 8000;
    write(&d.join("a.wav"), &tone(200.0, n, 0.0));
    write(&d.join("b.wav"), &tone(2300.0 / 3.0, n, 1.0));
    let (ra, rb) = (tone(200.0, n, 2.0), tone(2300.0 / 3.0, n, 3.0));
    write(&d.join("ra.wav"), &ra);
    write(&d.join("rb.wav"), &rb);
    let mix: Vec<f64> = ra.iter().zip(&rb).map(|(x, y)| x + y).collect();
    write(&d.join("mix.wav"), &mix);
    let out = d.join("sep");
    #[rustfmt::skip]
    let (ok, stdout, stderr) = innmf(&[
        "separate", "--source", s(&d.join("a.wav")), "--source", s(&d.join("b.wav")),
        "--mix", s(&d.join("mix.wav")), "--out", s(&out),
        "--reference", s(&d.join("ra.wav")), "--reference", s(&d.join("rb.wav")),
        "--rank", "3", "--width", "16", "--train-window", "512", "--train-hop", "256",
        "--train-steps", "200", "--window", "256", "--hop", "64", "--steps", "200",
        "--save-models", "--no-stoi",
    ]);
    assert!(ok, "stdout: {stdout}\nstderr: {stderr}");
    for f in [
        "source_1.wav",
        "source_2.wav",
        "report.json",
        "source_1.safetensors",
    ] {
        assert!(out.join(f).exists(), "missing {f}");
    }
    let y = innmf::audio::read(&out.join("source_1.wav")).unwrap();
    assert_eq!(y.sample_rate, SR);
    assert_eq!(y.len(), n);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let sdr: Vec<f64> = report["metrics"]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["sdr"].as_f64().unwrap())
        .collect();
    assert!(sdr.iter().all(|&v| v > 15.0), "SDR {sdr:?}\n{stdout}");
    assert_eq!(report["separation"]["bins"], 129);
    // on an STFT without --preset: ours (issue 15), which the report records
    assert_eq!(report["preset"], "innmf", "{report}");
    let training = &report["sources"][0]["training"]["config"]["training"];
    assert_eq!(training["nmf_warm_start"], 3000, "{report}");
    assert_eq!(training["freeze_h"], true, "{report}");
    assert_eq!(training["freq_midpoints"], 1, "{report}");
    assert_eq!(training["nmf_precision"], "f32", "{report}");
    assert_eq!(report["separation"]["config"]["solver"], "mu", "{report}");
    assert_eq!(report["separation"]["config"]["mu_precision"], "f32");

    // the saved models separate the same mixture at another window, with a free component
    let out2 = d.join("sep2");
    #[rustfmt::skip]
    let (ok, stdout, stderr) = innmf(&[
        "separate", "--model", s(&out.join("source_1.safetensors")),
        "--model", s(&out.join("source_2.safetensors")), "--free", "2",
        "--mix", s(&d.join("mix.wav")), "--out", s(&out2), "--window", "512", "--hop", "128",
        "--steps", "100", "--mask", "paper", "--phase-iters", "3", "--mu-precision", "f64",
    ]);
    assert!(ok, "stdout: {stdout}\nstderr: {stderr}");
    for f in ["source_1.wav", "source_2.wav", "noise.wav", "report.json"] {
        assert!(out2.join(f).exists(), "missing {f}");
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out2.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["separation"]["config"]["mu_precision"], "f64");
}

/// Issue 16: `--transform nsgt|cwt` learns the templates in that representation and
/// resynthesizes with its inverse; cqt is refused by name; models trained on the STFT apply with
/// `--calibrate` (unit-tone magnitudes on both sides).
#[test]
fn separates_in_an_invertible_representation() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let n = 8000;
    // every partial inside the transforms' bands (60–300 Hz and 500–2500 Hz): what the CWT
    // does not represent is shared equally by the outputs
    write(&d.join("a.wav"), &tone(60.0, n, 0.0));
    write(&d.join("b.wav"), &tone(500.0, n, 1.0));
    let (ra, rb) = (tone(60.0, n, 2.0), tone(500.0, n, 3.0));
    write(&d.join("ra.wav"), &ra);
    write(&d.join("rb.wav"), &rb);
    let mix: Vec<f64> = ra.iter().zip(&rb).map(|(x, y)| x + y).collect();
    write(&d.join("mix.wav"), &mix);
    for transform in ["nsgt", "cwt"] {
        let out = d.join(transform);
        #[rustfmt::skip]
        let (ok, stdout, stderr) = innmf(&[
            "separate", "--source", s(&d.join("a.wav")), "--source", s(&d.join("b.wav")),
            "--mix", s(&d.join("mix.wav")), "--out", s(&out),
            "--reference", s(&d.join("ra.wav")), "--reference", s(&d.join("rb.wav")),
            "--rank", "3", "--width", "16", "--train-steps", "200", "--steps", "200",
            "--transform", transform, "--fmin", "50", "--fmax", "2500",
            "--bins-per-octave", "24", "--no-stoi",
        ]);
        assert!(ok, "{transform}\nstdout: {stdout}\nstderr: {stderr}");
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap())
                .unwrap();
        assert_eq!(
            report["separation"]["config"]["representation"]["transform"],
            transform
        );
        // no preset by default away from the STFT (the innmf preset was chosen on STFTs)
        assert!(report["preset"].is_null(), "{report}");
        let sdr: Vec<f64> = report["metrics"]["sources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["sdr"].as_f64().unwrap())
            .collect();
        assert!(sdr.iter().all(|&v| v > 15.0), "{transform}: SDR {sdr:?}");
        let (y1, y2) = (
            innmf::audio::read(&out.join("source_1.wav")).unwrap(),
            innmf::audio::read(&out.join("source_2.wav")).unwrap(),
        );
        assert_eq!((y1.len(), y2.len()), (n, n));
    }
    // no inverse: named, with the alternatives
    #[rustfmt::skip]
    let (ok, _, stderr) = innmf(&[
        "separate", "--source", s(&d.join("a.wav")), "--mix", s(&d.join("mix.wav")),
        "--out", s(&d.join("cqt")), "--transform", "cqt",
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("cqt") && stderr.contains("nsgt") && stderr.contains("cwt"),
        "{stderr}"
    );
}

#[test]
fn input_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let x = tone(200.0, 4000, 0.0);
    write(&d.join("a.wav"), &x);
    write(&d.join("short.wav"), &x[..100]);
    write(&d.join("empty.wav"), &[]);
    innmf::audio::write_wav(&d.join("a16k.wav"), &x, 16000).unwrap();
    write_stereo_pcm16(&d.join("stereo.wav"), &x);
    let out = d.join("o");
    let run = |src: &str, mix: &str, extra: &[&str]| {
        let mut a = vec![
            "separate",
            "--source",
            src,
            "--mix",
            mix,
            "--out",
            s(&out),
            "--train-steps",
            "3",
            "--steps",
            "3",
            "--rank",
            "2",
            "--width",
            "8",
            "--train-window",
            "256",
            "--train-hop",
            "128",
            "--window",
            "512",
            "--hop",
            "128",
        ];
        a.extend_from_slice(extra);
        innmf(&a)
    };
    let (a, a16, short, empty, st) = (
        d.join("a.wav"),
        d.join("a16k.wav"),
        d.join("short.wav"),
        d.join("empty.wav"),
        d.join("stereo.wav"),
    );
    let (ok, _, e) = run(s(&a16), s(&a), &[]);
    assert!(
        !ok && e.contains("16000") && e.contains("8000") && e.contains("--resample"),
        "{e}"
    );
    let (ok, _, e) = run(s(&a16), s(&a), &["--resample"]);
    assert!(ok, "{e}");
    let (ok, _, e) = run(s(&a), s(&short), &[]);
    assert!(!ok && e.contains("100 samples") && e.contains("512"), "{e}");
    let (ok, _, e) = run(s(&short), s(&a), &[]);
    assert!(!ok && e.contains("100 samples") && e.contains("256"), "{e}");
    let (ok, _, e) = run(s(&empty), s(&a), &[]);
    assert!(!ok && e.contains("no samples"), "{e}");
    let (ok, _, e) = run(s(&a), s(&a), &["--mu-precision", "f16"]);
    assert!(!ok && e.contains("f16") && e.contains("f32, f64"), "{e}");
    // no training steps without a warm start's W-only stage: named as the flag typed
    #[rustfmt::skip]
    let (ok, _, e) = innmf(&[
        "separate", "--source", s(&a), "--mix", s(&a), "--out", s(&out), "--train-steps", "0",
        "--preset", "paper", "--rank", "2", "--width", "8", "--train-window", "256",
        "--train-hop", "128",
    ]);
    assert!(
        !ok && e.contains("--train-steps 0") && e.contains("w_steps"),
        "{e}"
    );
    let (ok, _, e) = run(s(&a), s(&st), &[]);
    assert!(
        !ok && e.contains("2 channel") && e.contains("--channel"),
        "{e}"
    );
    let (ok, _, e) = run(s(&a), s(&st), &["--channel", "1"]);
    assert!(ok, "{e}");
    let (ok, _, e) = run(s(&a), s(&st), &["--channel", "2"]);
    assert!(!ok && e.contains("--channel 2"), "{e}");
    let (ok, _, e) = innmf(&["separate", "--mix", s(&a), "--out", s(&out)]);
    assert!(!ok && e.contains("--source"), "{e}");
}
