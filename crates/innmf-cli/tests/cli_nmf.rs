//! End-to-end: `innmf nmf` on a tiny synthetic matrix and a tiny WAV.

use innmf::io::{read_npy, write_npy, NdArray};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_innmf"))
}

fn planted(f: usize, t: usize) -> NdArray {
    let w: Vec<f64> = (0..f * 2).map(|i| 0.2 + ((i * 7) % 5) as f64).collect();
    let h: Vec<f64> = (0..2 * t).map(|i| 0.1 + ((i * 3) % 4) as f64).collect();
    let x = (0..f * t)
        .map(|i| {
            let (r, c) = (i / t, i % t);
            w[r * 2] * h[c] + w[r * 2 + 1] * h[t + c]
        })
        .collect();
    NdArray::new(vec![f, t], x)
}

#[test]
fn nmf_on_npy_writes_factors_and_report() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("x.npy");
    write_npy(&input, &planted(9, 7), false).unwrap();
    let out = dir.path().join("out");
    let st = bin()
        .args([
            "nmf",
            input.to_str().unwrap(),
            "--rank",
            "2",
            "--iters",
            "500",
        ])
        .args(["--tol", "0", "--seed", "3", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let w = read_npy(&out.join("W.npy")).unwrap();
    let h = read_npy(&out.join("H.npy")).unwrap();
    assert_eq!(
        (w.shape.as_slice(), h.shape.as_slice()),
        (&[9, 2][..], &[2, 7][..])
    );
    let rep: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(rep["report"]["n_iter"], 500);
    assert_eq!(rep["shape"], serde_json::json!([9, 7]));
    let fin = rep["report"]["final_loss"].as_f64().unwrap();
    assert!(
        fin < 1e-4 * rep["report"]["initial_loss"].as_f64().unwrap(),
        "{fin}"
    );
    assert!(!String::from_utf8_lossy(&st.stderr).contains("warning"));
    for fig in ["W.png", "H.png", "loss.png"] {
        assert!(
            std::fs::metadata(out.join(fig)).unwrap().len() > 1000,
            "{fig}"
        );
    }

    // The iteration limit with tol > 0 warns on stderr; fixed W and f64 work.
    let st = bin()
        .args([
            "nmf",
            input.to_str().unwrap(),
            "--rank",
            "2",
            "--iters",
            "10",
            "--f64",
        ])
        .args([
            "--tol",
            "1e-12",
            "--fixed-w",
            out.join("W.npy").to_str().unwrap(),
        ])
        .args([
            "--out",
            dir.path().join("out2").to_str().unwrap(),
            "--save-f32",
        ])
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    assert!(String::from_utf8_lossy(&st.stderr).contains("warning: maximum number of iterations"));
    let w2 = read_npy(&dir.path().join("out2/W.npy")).unwrap();
    for (a, b) in w2.data.iter().zip(&w.data) {
        assert!((a - b).abs() <= 1e-6 * b.abs());
    }
}

#[test]
fn nmf_on_wav_uses_the_stft() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("tone.wav");
    let sr = 8000u32;
    let x: Vec<f64> = (0..8000)
        .map(|n| {
            let t = n as f64 / sr as f64;
            0.3 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()
                + if n > 4000 {
                    0.2 * (2.0 * std::f64::consts::PI * 1000.0 * t).sin()
                } else {
                    0.0
                }
        })
        .collect();
    innmf::audio::write_wav(&wav, &x, sr).unwrap();
    let out = dir.path().join("o");
    let st = bin()
        .args([
            "nmf",
            wav.to_str().unwrap(),
            "--rank",
            "2",
            "--window",
            "256",
            "--hop",
            "128",
        ])
        .args([
            "--init",
            "nndsvda",
            "--iters",
            "100",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let w = read_npy(&out.join("W.npy")).unwrap();
    let h = read_npy(&out.join("H.npy")).unwrap();
    assert_eq!(w.shape, vec![129, 2]);
    assert_eq!(h.shape, vec![2, (8000 - 256) / 128 + 1]);
    assert!(out.join("W.png").exists() && out.join("H.png").exists());
}

#[test]
fn nmf_bad_input_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("x.npy");
    let mut x = planted(4, 3);
    x.data[2] = -1.0;
    write_npy(&input, &x, false).unwrap();
    let st = bin()
        .args(["nmf", input.to_str().unwrap(), "--rank", "2"])
        .output()
        .unwrap();
    assert!(!st.status.success());
    let err = String::from_utf8_lossy(&st.stderr);
    assert!(err.contains("negative") && err.contains("-1"), "{err}");
    let st = bin()
        .args(["nmf", input.to_str().unwrap(), "--rank", "0"])
        .output()
        .unwrap();
    assert!(!st.status.success());
    assert!(String::from_utf8_lossy(&st.stderr).contains("rank"));
}

/// The same seed gives the same bytes whatever the thread count (the row blocks of the
/// multiplicative updates do not depend on the pool size): a matrix tall enough for several
/// blocks, f32 and f64.
#[test]
fn nmf_factors_are_identical_bytes_for_one_and_three_threads() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("x.npy");
    let x = planted(600, 40);
    let noisy = NdArray::new(
        x.shape.clone(),
        x.data
            .iter()
            .enumerate()
            .map(|(i, v)| v * (1.0 + 0.3 * ((i * 7919 % 101) as f64 / 101.0)))
            .collect(),
    );
    write_npy(&input, &noisy, false).unwrap();
    for beta in ["1", "2"] {
        let mut outs = Vec::new();
        for threads in ["1", "3"] {
            let out = dir.path().join(format!("out-{beta}-{threads}"));
            let st = bin()
                .args([
                    "nmf",
                    input.to_str().unwrap(),
                    "--rank",
                    "3",
                    "--iters",
                    "60",
                ])
                .args([
                    "--beta",
                    beta,
                    "--tol",
                    "0",
                    "--seed",
                    "5",
                    "--threads",
                    threads,
                ])
                .args(["--out", out.to_str().unwrap()])
                .output()
                .unwrap();
            assert!(
                st.status.success(),
                "{}",
                String::from_utf8_lossy(&st.stderr)
            );
            outs.push((
                std::fs::read(out.join("W.npy")).unwrap(),
                std::fs::read(out.join("H.npy")).unwrap(),
            ));
        }
        assert!(outs[0] == outs[1], "beta {beta}: 1 and 3 threads differ");
    }
}
