//! End-to-end tests of the `innmf` binary on tiny synthesized inputs.

use std::path::Path;
mod common;
use common::innmf;

fn tone_wav(path: &Path) {
    let sr = 8000.0;
    let x: Vec<f64> = (0..8000)
        .map(|i| {
            let t = i as f64 / sr;
            0.3 * (2.0 * std::f64::consts::PI * 440.0 * t).sin() * if t < 0.5 { 1.0 } else { 0.2 }
                + 0.2
                    * (2.0 * std::f64::consts::PI * 1000.0 * t).sin()
                    * if t >= 0.5 { 1.0 } else { 0.1 }
        })
        .collect();
    innmf::audio::write_wav(path, &x, 8000).unwrap();
}

#[test]
fn demo_writes_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let (ok, stdout, stderr) = innmf(&["demo", "--steps", "20", "--out", out.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    for f in [
        "points.png",
        "W.png",
        "H.png",
        "loss.png",
        "model.safetensors",
        "summary.json",
        "points.npz",
    ] {
        assert!(out.join(f).exists(), "missing {f}; stdout: {stdout}");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["fit"]["steps"], 20);
    assert!(summary["points"].as_u64().unwrap() > 90_000);
}

#[test]
fn demo_takes_any_transform() {
    let dir = tempfile::tempdir().unwrap();
    for t in ["stft", "cqt", "nsgt", "cwt", "sines", "multires"] {
        let out = dir.path().join(t);
        let (ok, _, stderr) = innmf(&[
            "demo",
            "--transform",
            t,
            "--steps",
            "5",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(ok, "{t}: {stderr}");
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        let name = summary["segments"][0]["name"].as_str().unwrap();
        assert!(name.starts_with(t), "{t}: {summary}");
        assert!(summary["points"].as_u64().unwrap() > 100, "{t}: {summary}");
        assert!(out.join("H.png").exists(), "{t}");
    }
}

#[test]
fn fit_then_sample_a_recording() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("tone.wav");
    tone_wav(&wav);
    let model = dir.path().join("m.safetensors");
    let (ok, stdout, stderr) = innmf(&[
        "fit",
        wav.to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
        "--window",
        "256",
        "--hop",
        "128",
        "--rank",
        "2",
        "--width",
        "16",
        "--steps",
        "30",
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("30 steps"), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("m.report.json")).unwrap())
            .unwrap();
    let hist = report["report"]["loss_history"].as_array().unwrap();
    assert_eq!(hist.len(), 30);
    let out = dir.path().join("s");
    // W is implicit: sample it anywhere; H is a table: interpolated between frames
    let (ok, _, stderr) = innmf(&[
        "sample",
        model.to_str().unwrap(),
        "--freqs",
        "0:4000:11",
        "--times",
        "0.1,0.5,0.9",
        "--out",
        out.to_str().unwrap(),
        "--plot",
    ]);
    assert!(ok, "{stderr}");
    let w = innmf::io::read_npy(&out.join("W.npy")).unwrap();
    assert_eq!(w.shape, vec![2, 11]);
    let v = innmf::io::read_npy(&out.join("V.npy")).unwrap();
    assert_eq!(v.shape, vec![11, 3]);
    // V is the product Wᵀ·H of the sampled factors (f32 products: 1e-5 relative)
    let h = innmf::io::read_npy(&out.join("H.npy")).unwrap();
    assert_eq!(h.shape, vec![2, 3]);
    for fi in 0..11 {
        for ti in 0..3 {
            let want: f64 = (0..2)
                .map(|k| w.data[k * 11 + fi] * h.data[k * 3 + ti])
                .sum();
            let got = v.data[fi * 3 + ti];
            assert!(
                (got - want).abs() <= 1e-5 * want.abs() + 1e-12,
                "V[{fi},{ti}] = {got}, W·H = {want}"
            );
        }
    }
    assert!(out.join("W.png").exists());
}

#[test]
fn fit_a_csv_point_cloud_with_both_factors_implicit() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("p.csv");
    let mut s = String::from("t,f,m\n");
    for i in 0..300 {
        let t = (i as f64 * 0.37) % 3.0;
        let f = 100.0 + (i as f64 * 53.0) % 900.0;
        s.push_str(&format!("{t},{f},{}\n", 1.0 + (t * f / 500.0).sin().abs()));
    }
    std::fs::write(&csv, s).unwrap();
    let model = dir.path().join("m.safetensors");
    let (ok, _, stderr) = innmf(&[
        "fit",
        csv.to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
        "--h",
        "implicit",
        "--rank",
        "2",
        "--width",
        "8",
        "--steps",
        "20",
        "--optimizer",
        "adam",
        "--lr",
        "0.01",
        "--fraction",
        "0.5",
    ]);
    assert!(ok, "{stderr}");
    assert!(model.exists());
    // per-point weights: the right count works, a wrong count is an error naming both
    let w = dir.path().join("w.npy");
    innmf::io::write_npy(&w, &innmf::io::NdArray::vector(vec![1.0; 300]), false).unwrap();
    let (ok, _, stderr) = innmf(&[
        "fit",
        csv.to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
        "--rank",
        "2",
        "--width",
        "8",
        "--steps",
        "5",
        "--weights",
        w.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    innmf::io::write_npy(&w, &innmf::io::NdArray::vector(vec![1.0; 7]), false).unwrap();
    let (ok, _, stderr) = innmf(&[
        "fit",
        csv.to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
        "--steps",
        "5",
        "--weights",
        w.to_str().unwrap(),
    ]);
    assert!(
        !ok && stderr.contains("300") && stderr.contains('7'),
        "{stderr}"
    );
}

#[test]
fn bad_input_gives_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("neg.csv");
    std::fs::write(&csv, "t,f,m\n0,100,1\n0.1,100,-2.5\n").unwrap();
    let (ok, _, stderr) = innmf(&[
        "fit",
        csv.to_str().unwrap(),
        "--out",
        dir.path().join("m.safetensors").to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("negative magnitude") && stderr.contains("-2.5"),
        "{stderr}"
    );
    let (ok, _, stderr) = innmf(&["fit", dir.path().join("missing.wav").to_str().unwrap()]);
    assert!(!ok);
    assert!(stderr.contains("missing.wav"), "{stderr}");
    let wav = dir.path().join("short.wav");
    innmf::audio::write_wav(&wav, &[0.1; 100], 8000).unwrap();
    let (ok, _, stderr) = innmf(&["fit", wav.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        stderr.contains("--window 2000") && stderr.contains("100 samples"),
        "{stderr}"
    );
    let good = dir.path().join("good.csv");
    std::fs::write(&good, "t,f,m\n0,100,1\n0.1,100,2\n0.1,200,1\n").unwrap();
    let (ok, _, stderr) = innmf(&["fit", good.to_str().unwrap(), "--rank", "0"]);
    assert!(!ok && stderr.contains("rank"), "{stderr}");
    let (ok, _, stderr) = innmf(&[
        "sample",
        dir.path().join("none.safetensors").to_str().unwrap(),
        "--freqs",
        "1",
        "--times",
        "1",
    ]);
    assert!(!ok && stderr.contains("none.safetensors"), "{stderr}");
}

#[test]
fn fit_with_the_innmf_preset_warm_starts_from_nmf() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("tone.wav");
    tone_wav(&wav);
    const STEPS: &str = "400";
    let fit = |preset: &str, name: &str| {
        let model = dir.path().join(name);
        let (ok, _, stderr) = innmf(&[
            "fit",
            wav.to_str().unwrap(),
            "--out",
            model.to_str().unwrap(),
            "--window",
            "256",
            "--hop",
            "128",
            "--rank",
            "2",
            "--width",
            "16",
            "--steps",
            STEPS,
            "--preset",
            preset,
        ]);
        assert!(ok, "{preset}: {stderr}");
        let r: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(model.with_extension("report.json")).unwrap(),
        )
        .unwrap();
        r
    };
    let paper = fit("paper", "p.safetensors");
    let ours = fit("innmf", "i.safetensors");
    assert_eq!(paper["preset"], "paper");
    assert!(paper["warm_start"].is_null());
    assert_eq!(ours["preset"], "innmf");
    assert!(
        ours["warm_start"]["nmf_iters"].as_u64().unwrap() > 0,
        "{ours}"
    );
    // W's networks fitted to NMF's templates (H keeps NMF's activations: the main fit freezes
    // it) end within 5 % of NMF's own KL on the same grid
    let loss = |r: &serde_json::Value| r["report"]["final_loss"].as_f64().unwrap();
    let nmf = ours["warm_start"]["nmf_final_loss"].as_f64().unwrap();
    assert_eq!(ours["config"]["freeze"], "h", "{ours}");
    assert_eq!(paper["config"]["freeze"], "none", "{paper}");
    assert!(
        loss(&ours) < 1.05 * nmf
            && loss(&ours) < ours["report"]["loss_history"][0].as_f64().unwrap(),
        "{} vs NMF {nmf}",
        loss(&ours),
    );
    // a bad name, and the warm start on an implicit H, fail with the reason
    let (ok, _, stderr) = innmf(&["fit", wav.to_str().unwrap(), "--preset", "fast"]);
    assert!(
        !ok && stderr.contains("fast") && stderr.contains("paper, innmf"),
        "{stderr}"
    );
    let out = dir.path().join("h.safetensors");
    let (ok, _, stderr) = innmf(&[
        "fit",
        wav.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--window",
        "256",
        "--hop",
        "128",
        "--h",
        "implicit",
        "--steps",
        "5",
        "--preset",
        "innmf",
    ]);
    assert!(!ok && stderr.contains("explicit H"), "{stderr}");
}
