//! A `--quick` study on the layouts not covered by `corpus_layouts.rs`'s TIMIT run: a
//! LibriSpeech-like tree of FLAC speakers (reconstruction and separation, decoded from the
//! committed FLAC fixtures of `tests/data/audio/make_corpus_fixtures.py`) and stem folders per
//! track (the hybrid study on every stem).

use innmf_studies::{self as experiment, ExperimentConfig, Layout, RunOptions, Study};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/audio")
        .join(name)
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(from, to).unwrap();
}

#[test]
fn librispeech_flac_tree_runs_a_quick_study() {
    let dir = tempfile::tempdir().unwrap();
    let libri = dir.path().join("LibriSpeech");
    for (spk, ch, file) in [("19", "198", "voice_a.flac"), ("26", "495", "voice_b.flac")] {
        copy(
            &fixture(file),
            &libri.join(format!("train-clean-100/{spk}/{ch}/{spk}-{ch}-0000.flac")),
        );
    }
    std::fs::write(
        libri.join("SPEAKERS.TXT"),
        "; ID  |SEX| SUBSET           |MINUTES| NAME\n19   | F | train-clean-100  | 25.19 | K\n\
         26   | M | train-clean-100  | 25.08 | D\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let opts = RunOptions {
        data: libri.clone(),
        out: out.clone(),
        studies: vec![Study::Reconstruction, Study::Separation],
        pairs: 1,
        jobs: 2,
    };
    let cfg = ExperimentConfig::quick();
    let (corpus, _) = experiment::plan(&cfg, &opts).unwrap();
    assert_eq!(corpus.layout, Layout::SpeakerFolders);
    assert!(corpus.left_out.is_empty(), "{:?}", corpus.left_out);
    let r = experiment::run(&cfg, &opts, &|_| {}).unwrap();
    // 2 speakers × 2 windows × 2 methods × 2 splits; 1 pair × 2 methods × 2 windows
    assert_eq!(r.rows.reconstruction.len(), 16);
    assert_eq!(r.rows.separation.len(), 4);
    assert!(r
        .rows
        .reconstruction
        .iter()
        .all(|row| row.fit_loss.is_finite()));
    // two voices an octave apart separate: every estimate well above chance
    for row in &r.rows.separation {
        let sdr = row.get("sdr").unwrap();
        assert!(sdr.is_finite() && sdr > 3.0, "{row:?}");
    }
    let json = std::fs::read_to_string(out.join("results.json")).unwrap();
    assert!(
        json.contains("\"layout\": \"speaker-folders\""),
        "layout missing"
    );
    assert!(json.contains("\"sex\": \"female\""));
}

#[test]
fn stem_folders_run_the_hybrid_study() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("musdb");
    for (stem, file) in [("bass", "voice_a.flac"), ("vocals", "voice_b.flac")] {
        copy(
            &fixture(file),
            &root.join(format!("train/Track One/{stem}.flac")),
        );
    }
    let out = dir.path().join("out");
    let opts = RunOptions {
        data: root.clone(),
        out: out.clone(),
        studies: vec![Study::Hybrid],
        pairs: 1,
        jobs: 2,
    };
    let mut cfg = ExperimentConfig::quick();
    cfg.hybrid.steps = 60;
    let (corpus, _) = experiment::plan(&cfg, &opts).unwrap();
    assert_eq!(corpus.layout, Layout::Stems);
    let r = experiment::run(&cfg, &opts, &|_| {}).unwrap();
    let mut names: Vec<&str> = r.rows.hybrid.iter().map(|h| h.recording.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["Track One_bass", "Track One_vocals"]);
    assert!(r
        .rows
        .hybrid
        .iter()
        .all(|h| h.final_loss.is_finite() && h.points > 0));
}
