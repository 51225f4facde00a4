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
