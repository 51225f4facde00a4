//! `innmf experiment --dry-run` and `--manifest`: what the data folder holds is printed, nothing
//! is computed or written.

mod common;
use common::innmf;

#[test]
fn dry_run_prints_the_corpus_and_the_plan_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("corpus");
    let out = dir.path().join("out");
    let (d, o) = (data.to_str().unwrap(), out.to_str().unwrap());
    assert!(innmf(&["experiment", "synth-corpus", "--out", d]).0);
    let (ok, _, err) = innmf(&[
        "experiment",
        "separation",
        "--quick",
        "--dry-run",
        "--data",
        d,
        "--out",
        o,
        "--pairs",
        "1",
    ]);
    assert!(ok, "{err}");
    for want in [
        "layout: flat",
        "speech: 4 recordings, 20.0 s, 3 speakers",
        "a (2, 10.0 s)",
        "dry run: 10 units (2 innmf-train, 4 nmf, 4 separate)",
    ] {
        assert!(err.contains(want), "{want:?} not in:\n{err}");
    }
    assert!(!out.exists(), "a dry run wrote {}", out.display());

    // the same recordings through a manifest (paths relative to it)
    let manifest = dir.path().join("corpus.csv");
    std::fs::write(
        &manifest,
        "path,speaker,sex\ncorpus/speech/a.wav,a,F\ncorpus/speech/b.wav,b,M\n",
    )
    .unwrap();
    let m = manifest.to_str().unwrap();
    let (ok, _, err) = innmf(&[
        "experiment",
        "plan",
        "separation",
        "--quick",
        "--manifest",
        m,
        "--out",
        o,
        "--pairs",
        "1",
    ]);
    assert!(ok, "{err}");
    assert!(err.contains("layout: manifest"), "{err}");
    assert!(err.contains("sex: 1 F, 1 M, 0 unknown"), "{err}");
    assert!(out.join("plan.json").is_file());

    // neither --data nor --manifest; both
    let (ok, _, err) = innmf(&["experiment", "separation", "--out", o]);
    assert!(
        !ok && err.contains("--data DIR (or --manifest FILE.csv) is required"),
        "{err}"
    );
    let (ok, _, err) = innmf(&[
        "experiment",
        "separation",
        "--data",
        d,
        "--manifest",
        m,
        "--out",
        o,
    ]);
    assert!(!ok && err.contains("cannot be used with"), "{err}");
}

/// A 1.3 s buzzy tone at 8 kHz.
fn sentence(f0: f64) -> Vec<f64> {
    (0..10400)
        .map(|i| {
            let t = i as f64 / 8000.0;
            0.3 * (std::f64::consts::PI * t * 4.0).sin().powi(2)
                * (1..6)
                    .map(|h| (2.0 * std::f64::consts::PI * f0 * h as f64 * t).sin() / h as f64)
                    .sum::<f64>()
        })
        .collect()
}

#[test]
fn dry_run_says_how_short_files_are_joined_and_what_is_left_out() {
    // flat speech files of 1.3 s: speakers a and b (five each) are joined, c (one) is not
    // enough, z is silent
    let dir = tempfile::tempdir().unwrap();
    let speech = dir.path().join("corpus/speech");
    std::fs::create_dir_all(&speech).unwrap();
    for (spk, f0, n) in [("a", 120.0, 5), ("b", 200.0, 5), ("c", 160.0, 1)] {
        for k in 1..=n {
            let p = speech.join(format!("{spk}_{k}.wav"));
            innmf::audio::write_wav(&p, &sentence(f0 + k as f64), 8000).unwrap();
        }
    }
    innmf::audio::write_wav(&speech.join("z_1.wav"), &vec![0.0; 10400], 8000).unwrap();
    let d = dir.path().join("corpus");
    let out = dir.path().join("out");
    let (ok, _, err) = innmf(&[
        "experiment",
        "separation",
        "--quick",
        "--dry-run",
        "--data",
        d.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--pairs",
        "1",
    ]);
    assert!(ok, "{err}");
    for want in [
        "speech: 12 recordings, 14.3 s, 4 speakers",
        "study material: 2 speech recordings (3 s training + 1 s held-out each): 0 files on \
         their own, 2 speakers' shorter files joined",
        "  a: training a_1 a_2 a_3; held-out a_4",
        "left out of the studies: 2",
        "speakers without enough audio: 1",
        "speaker c: not enough audio: 1 recording(s)",
        "silent: 1",
        "dry run: 10 units (2 innmf-train, 4 nmf, 4 separate)",
    ] {
        assert!(err.contains(want), "{want:?} not in:\n{err}");
    }
    assert!(!out.exists(), "a dry run wrote {}", out.display());
}
