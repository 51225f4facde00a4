//! End-to-end tests of `innmf eval` on tiny synthesized WAVs.

use innmf::audio::write_wav;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const FS: u32 = 8000;

fn innmf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_innmf"))
        .args(args)
        .output()
        .expect("run innmf")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Deterministic pseudo-noise in [−0.5, 0.5).
fn noise(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        })
        .collect()
}

/// Two "sources" (amplitude-modulated tone + noise, and a chirp-like signal) of `n` samples.
fn sources(n: usize) -> (Vec<f64>, Vec<f64>) {
    let pi2 = 2.0 * std::f64::consts::PI;
    let a: Vec<f64> = noise(n, 1)
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let t = i as f64 / FS as f64;
            0.4 * (pi2 * 300.0 * t).sin() * (pi2 * 3.0 * t).sin().abs() + 0.1 * w
        })
        .collect();
    let b: Vec<f64> = noise(n, 2)
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let t = i as f64 / FS as f64;
            0.3 * (pi2 * (500.0 + 400.0 * t) * t).sin() * (pi2 * 2.0 * t).cos().abs() + 0.1 * w
        })
        .collect();
    (a, b)
}

/// A 16-bit PCM WAV with interleaved channels.
fn write_pcm16(path: &Path, channels: &[Vec<f64>], rate: u32) {
    let nch = channels.len() as u16;
    let n = channels.first().map_or(0, |c| c.len());
    let data_len = (n * nch as usize * 2) as u32;
    let mut b = Vec::new();
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data_len).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&nch.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * nch as u32 * 2).to_le_bytes());
    b.extend_from_slice(&(nch * 2).to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..n {
        for c in channels {
            b.extend_from_slice(&((c[i] * 32767.0).round() as i16).to_le_bytes());
        }
    }
    std::fs::write(path, b).unwrap();
}

struct Files {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Files {
    fn p(&self, name: &str) -> String {
        self.path.join(name).display().to_string()
    }
}

/// ref0/ref1, est0/est1 (swapped: est0 estimates ref1), plus odd files for the error cases.
fn setup() -> Files {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let n = FS as usize;
    let (a, b) = sources(n);
    let e_a: Vec<f64> = a
        .iter()
        .zip(&b)
        .zip(noise(n, 3))
        .map(|((x, y), w)| 0.9 * x + 0.1 * y + 0.01 * w)
        .collect();
    let e_b: Vec<f64> = a
        .iter()
        .zip(&b)
        .zip(noise(n, 4))
        .map(|((x, y), w)| 0.15 * x + 0.8 * y + 0.01 * w)
        .collect();
    write_wav(&path.join("ref0.wav"), &a, FS).unwrap();
    write_wav(&path.join("ref1.wav"), &b, FS).unwrap();
    write_wav(&path.join("est0.wav"), &e_b, FS).unwrap();
    write_wav(&path.join("est1.wav"), &e_a, FS).unwrap();
    write_wav(&path.join("est1_16k.wav"), &e_a, 16000).unwrap();
    write_wav(&path.join("est1_short.wav"), &e_a[..n - 100], FS).unwrap();
    write_pcm16(
        &path.join("est1_stereo.wav"),
        &[e_a.clone(), e_a.clone()],
        FS,
    );
    write_pcm16(&path.join("empty.wav"), &[vec![]], FS);
    Files { _dir: dir, path }
}

#[test]
fn eval_prints_table_and_writes_json() {
    let f = setup();
    let json = f.p("out/report.json");
    std::fs::create_dir_all(f.path.join("out")).unwrap();
    let o = innmf(&[
        "eval",
        "--reference",
        &f.p("ref0.wav"),
        &f.p("ref1.wav"),
        "--estimate",
        &f.p("est0.wav"),
        &f.p("est1.wav"),
        "--json",
        &json,
    ]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("permutation [1, 0]"), "{out}");
    for col in ["SDR", "SIR", "SAR", "SI-SDR", "STOI", "eSTOI", "mean"] {
        assert!(out.contains(col), "{col} missing: {out}");
    }
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(r["permutation"], serde_json::json!([1, 0]));
    assert_eq!(r["sample_rate"], 8000);
    let s = r["sources"].as_array().unwrap();
    assert_eq!(s.len(), 2);
    assert!(s[0]["estimate"].as_str().unwrap().ends_with("est1.wav"));
    for src in s {
        assert!(src["sdr"].as_f64().unwrap() > 5.0, "{src}");
        assert!(src["si_sdr"].as_f64().unwrap() > 5.0, "{src}");
        let d = src["stoi"].as_f64().unwrap();
        assert!(d > 0.5 && d <= 1.0, "{src}");
        assert!(src["estoi"].as_f64().is_some());
    }
    assert!(r["framewise"].is_null());
    // no temporary files left beside the report
    let names: Vec<_> = std::fs::read_dir(f.path.join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn eval_framewise_without_stoi_and_fixed_order() {
    let f = setup();
    let json = f.p("fw.json");
    let o = innmf(&[
        "eval",
        "--reference",
        &f.p("ref0.wav"),
        &f.p("ref1.wav"),
        "--estimate",
        &f.p("est1.wav"),
        &f.p("est0.wav"),
        "--no-stoi",
        "--no-permutation",
        "--framewise",
        "4000",
        "2000",
        "--json",
        &json,
    ]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("framewise: 3 window(s)"), "{out}");
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(r["permutation"], serde_json::json!([0, 1]));
    assert!(r["sources"][0]["stoi"].is_null());
    assert_eq!(r["framewise"]["starts"], serde_json::json!([0, 2000, 4000]));
    assert_eq!(r["framewise"]["sdr"][1].as_array().unwrap().len(), 3);
}

#[test]
fn eval_rejects_mismatched_inputs() {
    let f = setup();
    let run = |est1: &str, extra: &[&str]| {
        let (r0, r1, e0, e1) = (f.p("ref0.wav"), f.p("ref1.wav"), f.p("est0.wav"), f.p(est1));
        let mut args = vec!["eval", "--reference", &r0, &r1, "--estimate", &e0, &e1];
        args.extend_from_slice(extra);
        innmf(&args)
    };
    let o = run("est1_16k.wav", &[]);
    assert!(!o.status.success());
    assert!(text(&o).contains("sample-rate mismatch"), "{}", text(&o));

    let o = run("est1_stereo.wav", &[]);
    assert!(!o.status.success());
    assert!(text(&o).contains("channel-count mismatch"), "{}", text(&o));

    let o = run("est1_short.wav", &["--no-stoi"]);
    assert!(!o.status.success());
    let t = text(&o);
    assert!(
        t.contains("length mismatch") && t.contains("--truncate") && t.contains("7900"),
        "{t}"
    );
    let o = run("est1_short.wav", &["--no-stoi", "--truncate"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("7900 samples"), "{}", text(&o));

    let o = run("empty.wav", &[]);
    assert!(!o.status.success());
    assert!(text(&o).contains("empty.wav"), "{}", text(&o));

    let o = run("missing.wav", &[]);
    assert!(!o.status.success());
    assert!(text(&o).contains("missing.wav"), "{}", text(&o));

    let (r0, e0, e1) = (f.p("ref0.wav"), f.p("est0.wav"), f.p("est1.wav"));
    let o = innmf(&["eval", "--reference", &r0, "--estimate", &e0, &e1]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("1 reference files but 2 estimate files"),
        "{}",
        text(&o)
    );
}
