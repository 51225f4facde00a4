//! `Corpus::open` on synthetic corpora in each layout it recognizes (a TIMIT tree of NIST SPHERE
//! files, LibriSpeech- and VCTK-like FLAC speaker folders, stem folders per track, a manifest,
//! the flat layout), its errors on ambiguous folders and bad manifests, `Corpus::summary`; a
//! `--quick` study on a TIMIT tree of short sentences joined per speaker, with unusable files
//! left out ([`innmf_studies::material`]); and long files planned and read as before.

use innmf::audio;
use innmf_studies::{
    self as experiment, Corpus, ExperimentConfig, Layout, Recording, RunOptions, Sex, Study,
};
use std::path::{Path, PathBuf};

/// A buzzy tone (harmonics of `f0`, syllable-like bursts), `seconds` long at `sr`.
fn voice(f0: f64, seconds: f64, sr: u32) -> Vec<f64> {
    let n = (seconds * sr as f64) as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / sr as f64;
            let env = (std::f64::consts::PI * t * 4.0).sin().powi(2);
            let s: f64 = (1..8)
                .map(|h| (2.0 * std::f64::consts::PI * f0 * h as f64 * t).sin() / h as f64)
                .sum();
            0.3 * env * s
        })
        .collect()
}

/// A NIST SPHERE file (1024-byte `NIST_1A` header, 16-bit PCM; `sample_byte_format` 01 or 10).
fn write_sphere(path: &Path, x: &[f64], sr: u32, big_endian: bool) {
    let mut head = format!(
        "NIST_1A\n   1024\ndatabase_id -s5 TIMIT\nsample_count -i {}\nsample_rate -i {sr}\n\
         channel_count -i 1\nsample_n_bytes -i 2\nsample_sig_bits -i 16\n\
         sample_byte_format -s2 {}\nsample_coding -s3 pcm\nend_head\n",
        x.len(),
        if big_endian { "10" } else { "01" }
    )
    .into_bytes();
    assert!(head.len() <= 1024);
    head.resize(1024, b' ');
    for v in x {
        let s = (v * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
        head.extend_from_slice(&if big_endian {
            s.to_be_bytes()
        } else {
            s.to_le_bytes()
        });
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, head).unwrap();
}

fn write_wav(path: &Path, x: &[f64], sr: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    audio::write_wav(path, x, sr).unwrap();
}

fn write_text(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The committed FLAC fixture (no FLAC encoder in the crate graph).
fn flac_fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/audio/tone.flac")
}

fn copy_flac(to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(flac_fixture(), to).unwrap();
}

fn names(recs: &[Recording]) -> Vec<&str> {
    recs.iter().map(|r| r.name.as_str()).collect()
}

fn find<'a>(recs: &'a [Recording], name: &str) -> &'a Recording {
    recs.iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("{name} not among {:?}", names(recs)))
}

/// A TIMIT-like tree: upper case, SPHERE in both byte orders, SA sentences, transcripts.
fn timit_tree(root: &Path, seconds: f64) {
    let sr = 8000;
    let spk = [
        ("TRAIN", "DR1", "FCJF0", 210.0, false),
        ("TRAIN", "DR2", "MDAB0", 110.0, true),
        ("TEST", "DR1", "FAKS0", 190.0, false),
    ];
    for (split, dr, s, f0, be) in spk {
        let d = root.join("TIMIT").join(split).join(dr).join(s);
        for sent in ["SA1", "SX127"] {
            write_sphere(
                &d.join(format!("{sent}.WAV")),
                &voice(f0, seconds, sr),
                sr,
                be,
            );
            write_text(&d.join(format!("{sent}.PHN")), "0 3050 h#\n");
            write_text(
                &d.join(format!("{sent}.TXT")),
                "0 46797 She had your dark suit.\n",
            );
        }
    }
}

#[test]
fn timit_tree_of_sphere_files() {
    let dir = tempfile::tempdir().unwrap();
    timit_tree(dir.path(), 0.5);
    // a lower-case speaker in the same tree, with a RIFF twin of its sentence
    let low = dir.path().join("TIMIT/test/dr3/mcal0");
    write_sphere(
        &low.join("si1500.wav"),
        &voice(120.0, 0.5, 8000),
        8000,
        false,
    );
    write_wav(&low.join("si1500.wav.wav"), &voice(120.0, 0.5, 8000), 8000);

    let c = Corpus::open(dir.path()).unwrap();
    assert_eq!(c.layout, Layout::Timit);
    assert!(c.music.is_empty());
    assert_eq!(
        names(&c.speech),
        [
            "FAKS0_SA1",
            "FAKS0_SX127",
            "FCJF0_SA1",
            "FCJF0_SX127",
            "MDAB0_SA1",
            "MDAB0_SX127",
            "mcal0_si1500"
        ]
    );
    let r = find(&c.speech, "MDAB0_SX127");
    assert_eq!(r.speaker, "MDAB0");
    assert_eq!(r.sex, Some(Sex::Male));
    assert_eq!(r.split.as_deref(), Some("TRAIN"));
    let r = find(&c.speech, "FAKS0_SX127");
    assert_eq!(
        (r.sex, r.split.as_deref()),
        (Some(Sex::Female), Some("TEST"))
    );
    let r = find(&c.speech, "mcal0_si1500");
    assert_eq!((r.sex, r.split.as_deref()), (Some(Sex::Male), Some("TEST")));
    // the SA sentences are kept (all ten of a speaker, as the paper's concatenations); skipped:
    // 12 transcripts, 1 duplicate sentence
    let reason = |k: &str| c.skipped.iter().filter(|s| s.reason.contains(k)).count();
    assert_eq!(reason("not audio"), 12, "{:?}", c.skipped);
    assert_eq!(reason("duplicate"), 1, "{:?}", c.skipped);
    assert_eq!(c.skipped.len(), 13);
    // both byte orders read to the same signal
    let le = audio::read(&find(&c.speech, "FCJF0_SX127").path).unwrap();
    let want = voice(210.0, 0.5, 8000);
    let max_err = le.channels[0]
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(max_err <= 0.5 / 32768.0 + 1e-12, "{max_err}");
    let be = audio::read(&find(&c.speech, "MDAB0_SX127").path).unwrap();
    assert_eq!(be.len(), want.len());

    // the TRAIN folder alone: the split is its name
    let c = Corpus::open(&dir.path().join("TIMIT/TRAIN")).unwrap();
    assert_eq!(c.layout, Layout::Timit);
    assert_eq!(
        names(&c.speech),
        ["FCJF0_SA1", "FCJF0_SX127", "MDAB0_SA1", "MDAB0_SX127"]
    );
    assert!(c.speech.iter().all(|r| r.split.as_deref() == Some("TRAIN")));
    let c = Corpus::open(&dir.path().join("TIMIT")).unwrap();

    // the summary: speakers with sex, per split, skipped
    let s = c.summary();
    assert_eq!(s.speech.recordings, 7);
    assert!(
        (s.speech.seconds - 3.5).abs() < 1e-9,
        "{}",
        s.speech.seconds
    );
    assert_eq!(s.speech.splits["TRAIN"].recordings, 4);
    assert_eq!(s.speech.splits["TEST"].speakers.len(), 2);
    assert!(s.unusable.is_empty());
    let text = s.to_string();
    for want in [
        "layout: timit",
        "7 recordings, 3.5 s, 4 speakers",
        "sex: 2 F, 2 M, 0 unknown",
        "split TEST: 3 recordings, 1.5 s, 2 speakers",
        "MDAB0 (M, 2, 1.0 s)",
        "not audio",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }
}

#[test]
fn speaker_folders_librispeech_and_vctk() {
    // LibriSpeech: <split>/<speaker>/<chapter>/<id>.flac, SPEAKERS.TXT beside the split
    let dir = tempfile::tempdir().unwrap();
    let libri = dir.path().join("LibriSpeech");
    for (spk, ch, n) in [("19", "198", 2), ("26", "495", 1), ("32", "21631", 1)] {
        for i in 0..n {
            copy_flac(&libri.join(format!("train-clean-100/{spk}/{ch}/{spk}-{ch}-{i:04}.flac")));
        }
        write_text(
            &libri.join(format!("train-clean-100/{spk}/{ch}/{spk}-{ch}.trans.txt")),
            "0000 HELLO\n",
        );
    }
    copy_flac(&libri.join("dev-clean/84/121123/84-121123-0000.flac"));
    write_text(
        &libri.join("SPEAKERS.TXT"),
        "; ID  |SEX| SUBSET           |MINUTES| NAME\n19   | F | train-clean-100  | 25.19 | Kara\n\
         26   | M | train-clean-100  | 25.08 | Denny\n84   | F | dev-clean        |  8.02 | C\n",
    );
    let c = Corpus::open(&libri).unwrap();
    assert_eq!(c.layout, Layout::SpeakerFolders);
    assert_eq!(
        names(&c.speech),
        [
            "19-198-0000",
            "19-198-0001",
            "26-495-0000",
            "32-21631-0000",
            "84-121123-0000"
        ]
    );
    let r = find(&c.speech, "19-198-0001");
    assert_eq!(r.speaker, "19");
    assert_eq!(r.sex, Some(Sex::Female));
    assert_eq!(r.split.as_deref(), Some("train-clean-100"));
    assert_eq!(find(&c.speech, "26-495-0000").sex, Some(Sex::Male));
    assert_eq!(find(&c.speech, "32-21631-0000").sex, None);
    assert_eq!(
        find(&c.speech, "84-121123-0000").split.as_deref(),
        Some("dev-clean")
    );
    assert_eq!(c.skipped.len(), 4, "{:?}", c.skipped); // 3 transcripts, SPEAKERS.TXT
                                                       // a file stem shared by two speakers gets the speaker in front; dots stay in the name
    let other = dir.path().join("other");
    copy_flac(&other.join("ann/take.1.flac"));
    copy_flac(&other.join("ann/take.2.flac"));
    copy_flac(&other.join("bob/take.1.flac"));
    let o = Corpus::open(&other).unwrap();
    assert_eq!(names(&o.speech), ["ann_take.1", "bob_take.1", "take.2"]);
    // one split folder as the root: speakers are its subfolders, sexes from the parent
    let c = Corpus::open(&libri.join("train-clean-100")).unwrap();
    assert_eq!(c.speech.len(), 4);
    assert_eq!(find(&c.speech, "19-198-0000").sex, Some(Sex::Female));
    assert_eq!(find(&c.speech, "19-198-0000").split, None);
    let s = c.summary();
    let tone = audio::read(&flac_fixture()).unwrap().duration();
    assert!((s.speech.seconds - 4.0 * tone).abs() < 1e-9);
    assert_eq!(s.speech.speakers.len(), 3);

    // VCTK: wav48_silence_trimmed/p225/p225_001_mic1.flac, speaker-info.txt
    let vctk = dir.path().join("VCTK");
    for f in [
        "p225/p225_001_mic1",
        "p225/p225_002_mic1",
        "p226/p226_001_mic1",
    ] {
        copy_flac(&vctk.join(format!("wav48_silence_trimmed/{f}.flac")));
    }
    write_text(&vctk.join("txt/p225/p225_001.txt"), "Please call Stella.\n");
    write_text(
        &vctk.join("speaker-info.txt"),
        "ID  AGE  GENDER  ACCENTS  REGION COMMENTS\np225  23  F    English    Southern  England\n\
         p226  22  M    English    Surrey\n",
    );
    let c = Corpus::open(&vctk).unwrap();
    assert_eq!(c.layout, Layout::SpeakerFolders);
    assert_eq!(
        names(&c.speech),
        ["p225_001_mic1", "p225_002_mic1", "p226_001_mic1"]
    );
    assert_eq!(find(&c.speech, "p225_002_mic1").speaker, "p225");
    assert_eq!(find(&c.speech, "p225_002_mic1").sex, Some(Sex::Female));
    assert_eq!(find(&c.speech, "p226_001_mic1").sex, Some(Sex::Male));
    // two speakers: the separation study finds pairs of distinct speakers only
    let pairs = c.pairs(10, 0);
    assert_eq!(pairs.len(), 2);
    for (a, b) in pairs {
        assert_ne!(c.speech[a].speaker, c.speech[b].speaker);
    }
}

#[test]
fn stem_folders_per_track() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("musdb");
    for (split, track) in [
        ("train", "A Classic Education - NightOwl"),
        ("test", "Zeno - Signs"),
    ] {
        for (k, stem) in ["mixture", "vocals", "bass", "drums", "other"]
            .iter()
            .enumerate()
        {
            write_wav(
                &root.join(format!("{split}/{track}/{stem}.wav")),
                &voice(100.0 * (k + 1) as f64, 0.25, 4410),
                4410,
            );
        }
    }
    copy_flac(&root.join("test/Zeno - Signs/guitar.flac"));
    write_text(&root.join("test/Zeno - Signs/README.txt"), "stems\n");
    let c = Corpus::open(&root).unwrap();
    assert_eq!(c.layout, Layout::Stems);
    assert!(c.speech.is_empty());
    assert_eq!(c.music.len(), 10);
    let r = find(&c.music, "Zeno - Signs_vocals");
    assert_eq!(r.track.as_deref(), Some("Zeno - Signs"));
    assert_eq!(r.stem.as_deref(), Some("vocals"));
    assert_eq!(r.split.as_deref(), Some("test"));
    assert_eq!(r.speaker, "Zeno - Signs");
    assert!(c
        .skipped
        .iter()
        .any(|s| s.path.ends_with("guitar.flac") && s.reason.contains("unknown role guitar")));
    assert_eq!(c.skipped.len(), 2);
    let text = c.summary().to_string();
    assert!(
        text.contains("music: 10 recordings, 2.5 s, 2 tracks"),
        "{text}"
    );
    assert!(
        text.contains("stems: 2 bass, 2 drums, 2 mixture, 2 other, 2 vocals"),
        "{text}"
    );
    assert!(text.contains("unknown role"), "{text}");

    // a folder of tracks beside a folder of speech is ambiguous
    write_wav(
        &root.join("train/spk1/utt1.wav"),
        &voice(100.0, 0.25, 4410),
        4410,
    );
    let e = Corpus::open(&root).unwrap_err().to_string();
    assert!(e.contains("2 track folders holding stems"), "{e}");
    assert!(e.contains("train/spk1/utt1.wav"), "{e}");
}

#[test]
fn flat_layout_unchanged_and_aligned_stems() {
    let dir = tempfile::tempdir().unwrap();
    experiment::synthesize_corpus(dir.path(), 1).unwrap();
    let c = Corpus::open(dir.path()).unwrap();
    assert_eq!(c.layout, Layout::Flat);
    assert_eq!(names(&c.speech), ["a", "a_2", "b", "c"]);
    assert_eq!(find(&c.speech, "a_2").speaker, "a");
    assert_eq!(names(&c.music), ["two_notes"]);
    // a lone `_` name is no stem set
    assert_eq!(c.music[0].track, None);
    assert!(c.notes_dir.is_some());
    assert!(c.skipped.is_empty(), "{:?}", c.skipped);
    assert!(c
        .speech
        .iter()
        .all(|r| r.sex.is_none() && r.split.is_none()));
    // the serialized corpus (results.json) holds no new field on the flat layout
    let json = serde_json::to_string(&c).unwrap();
    for k in ["layout", "skipped", "sex", "split", "track", "stem"] {
        assert!(!json.contains(&format!("\"{k}\"")), "{k} in {json}");
    }

    // aligned instrument files: ode_bass, ode_flute, ode_piano; a FLAC; a transcript
    let music = dir.path().join("music");
    for inst in ["bass", "flute", "piano"] {
        write_wav(
            &music.join(format!("ode_{inst}.wav")),
            &voice(200.0, 0.5, 4410),
            4410,
        );
    }
    copy_flac(&music.join("tone.flac"));
    write_text(&music.join("ode.txt"), "Ode to Joy\n");
    let c = Corpus::open(dir.path()).unwrap();
    assert_eq!(
        names(&c.music),
        ["ode_bass", "ode_flute", "ode_piano", "tone", "two_notes"]
    );
    let r = find(&c.music, "ode_piano");
    assert_eq!(
        (r.track.as_deref(), r.stem.as_deref()),
        (Some("ode"), Some("piano"))
    );
    assert_eq!(r.speaker, "ode");
    // two files of one prefix but different lengths are no stems
    write_wav(
        &music.join("solo_take1.wav"),
        &voice(200.0, 0.5, 4410),
        4410,
    );
    write_wav(
        &music.join("solo_take2.wav"),
        &voice(200.0, 0.7, 4410),
        4410,
    );
    let c = Corpus::open(dir.path()).unwrap();
    assert_eq!(find(&c.music, "ode_bass").stem.as_deref(), Some("bass"));
    assert_eq!(find(&c.music, "solo_take1").track, None);
    assert_eq!(c.skipped.len(), 1);
    assert!(c.skipped[0].reason.contains("not audio"));

    // audio files directly in the folder (no speech/ or music/): both lists, as before
    let flat = tempfile::tempdir().unwrap();
    write_wav(&flat.path().join("x_1.wav"), &voice(100.0, 0.2, 8000), 8000);
    copy_flac(&flat.path().join("y.FLAC"));
    write_text(&flat.path().join("notes/readme.md"), "hi\n");
    // the same recording in two formats: the second (in path order) is a duplicate
    write_wav(&flat.path().join("y.wav"), &voice(100.0, 0.2, 8000), 8000);
    let c = Corpus::open(flat.path()).unwrap();
    assert_eq!(c.layout, Layout::Flat);
    assert_eq!(names(&c.speech), ["x_1", "y"]);
    assert_eq!(names(&c.music), ["x_1", "y"]);
    assert!(c.speech[1].path.ends_with("y.FLAC"));
    assert_eq!(c.skipped.len(), 1, "{:?}", c.skipped);
    assert!(c.skipped[0].path.ends_with("y.wav"));
    assert!(c.skipped[0].reason.contains("duplicate"));
}

#[test]
fn ambiguous_and_empty_folders_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    write_wav(&dir.path().join("a.wav"), &voice(100.0, 0.2, 8000), 8000);
    write_wav(
        &dir.path().join("spk/b.wav"),
        &voice(100.0, 0.2, 8000),
        8000,
    );
    let e = Corpus::open(dir.path()).unwrap_err().to_string();
    assert!(
        e.contains("1 audio files directly in it (e.g. a.wav)"),
        "{e}"
    );
    assert!(e.contains("spk/b.wav"), "{e}");

    let dir = tempfile::tempdir().unwrap();
    timit_tree(dir.path(), 0.2);
    write_wav(
        &dir.path().join("extra/spk/b.wav"),
        &voice(100.0, 0.2, 8000),
        8000,
    );
    let e = Corpus::open(dir.path()).unwrap_err().to_string();
    assert!(e.contains("6 audio files in a TIMIT tree"), "{e}");
    assert!(e.contains("1 outside one (e.g. extra/spk/b.wav)"), "{e}");

    let dir = tempfile::tempdir().unwrap();
    write_text(&dir.path().join("x/readme.txt"), "no audio\n");
    write_text(&dir.path().join("fake.wav"), "not really a wav\n");
    let e = Corpus::open(dir.path()).unwrap_err().to_string();
    assert!(e.contains("found none among 2 files"), "{e}");

    let e = Corpus::open(&dir.path().join("missing"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing"), "{e}");
}

#[test]
fn manifest_lists_speech_and_stems() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_wav(
        &d.join("audio/s1, take 1.wav"),
        &voice(120.0, 0.5, 8000),
        8000,
    );
    write_sphere(
        &d.join("audio/s2.sph"),
        &voice(220.0, 0.25, 8000),
        8000,
        true,
    );
    copy_flac(&d.join("audio/s3.flac"));
    write_wav(&d.join("songs/mix.wav"), &voice(300.0, 0.5, 4410), 4410);
    write_wav(&d.join("songs/voc.wav"), &voice(300.0, 0.5, 4410), 4410);
    write_wav(&d.join("songs/kazoo.wav"), &voice(300.0, 0.5, 4410), 4410);
    write_wav(&d.join("songs/silence.wav"), &[0.0; 100], 4410);
    let manifest = d.join("lists/corpus.csv");
    write_text(
        &manifest,
        "path,speaker,track,role,split,sex\n\
         \"../audio/s1, take 1.wav\",alice,,speech,train,F\n\
         ../audio/s2.sph,bob,,,test,m\n\
         ../audio/s3.flac,alice,,speech,test,\n\
         \n\
         ../songs/mix.wav,,song1,mixture,train,\n\
         ../songs/voc.wav,,song1,Vocals,train,\n\
         ../songs/kazoo.wav,,song1,kazoo,train,\n\
         ../songs/silence.wav,,song2,music,,\n",
    );
    let c = Corpus::open(&manifest).unwrap();
    assert_eq!(c.layout, Layout::Manifest);
    assert_eq!(names(&c.speech), ["s1, take 1", "s2", "s3"]);
    let r = find(&c.speech, "s2");
    assert_eq!(r.speaker, "bob");
    assert_eq!((r.sex, r.split.as_deref()), (Some(Sex::Male), Some("test")));
    assert_eq!(r.path, d.join("lists/../audio/s2.sph"));
    assert_eq!(find(&c.speech, "s3").sex, None);
    assert_eq!(
        names(&c.music),
        ["silence", "song1_mixture", "song1_vocals"]
    );
    let r = find(&c.music, "song1_vocals");
    assert_eq!(
        (r.track.as_deref(), r.stem.as_deref()),
        (Some("song1"), Some("vocals"))
    );
    assert_eq!(c.skipped.len(), 1);
    assert!(
        c.skipped[0].reason.contains("unknown role kazoo (line 8;"),
        "{:?}",
        c.skipped
    );
    let s = c.summary();
    assert_eq!(s.unusable.len(), 1);
    assert!(s.unusable[0].reason.contains("silent"));
    assert_eq!(s.speech.splits["test"].recordings, 2);
    let text = s.to_string();
    assert!(text.contains("layout: manifest"), "{text}");
    assert!(
        text.contains("unusable (left out of runs): 1 files"),
        "{text}"
    );

    // errors name the line and what was expected
    let bad = |body: &str| {
        write_text(&manifest, body);
        Corpus::open(&manifest).unwrap_err().to_string()
    };
    let e = bad("path,speaker,sex\n../audio/s2.sph,bob,X\n");
    assert!(e.contains("line 2: sex \"X\" is not M or F"), "{e}");
    let e = bad("path,speaker\n../audio/none.wav,bob\n");
    assert!(
        e.contains("line 2:") && e.contains("none.wav is not a file"),
        "{e}"
    );
    let e = bad("path,speaker\n../lists/corpus.csv,bob\n");
    assert!(e.contains("line 2:") && e.contains("not audio"), "{e}");
    let e = bad("file,speaker\nx.wav,bob\n");
    assert!(e.contains("unknown column \"file\""), "{e}");
    let e = bad("path,role\n../audio/s2.sph,speech\n");
    assert!(e.contains("a speaker or a track column"), "{e}");
    let e = bad("path,speaker,role\n../audio/s2.sph,,speech\n");
    assert!(e.contains("line 2: a speech row needs a speaker"), "{e}");
    let e = bad("path,speaker\n\"../audio/s2.sph,bob\n");
    assert!(e.contains("line 2: a quoted field is not closed"), "{e}");
    let e = bad("");
    assert!(e.contains("the manifest is empty"), "{e}");
}

/// A TIMIT-like tree for the joining rule at `--quick` settings (3 s training + 1 s held-out
/// at 8 kHz; longest window 512 samples): three speakers of five 1.3 s SPHERE sentences and an
/// SA sentence; a speaker with two sentences only (not enough audio); a shorten-coded sentence,
/// a silent one and one shorter than a window (each left out, its speaker still joined).
fn timit_sentences(root: &Path) {
    let sr = 8000;
    let spk = [
        ("TRAIN", "DR1", "FCJF0", 210.0, 5),
        ("TRAIN", "DR2", "MDAB0", 110.0, 5),
        ("TEST", "DR1", "FAKS0", 190.0, 5),
        ("TEST", "DR2", "MRJO0", 130.0, 2),
    ];
    let sentences = ["SI1027", "SI1657", "SI648", "SX127", "SX217"];
    for (split, dr, s, f0, n) in spk {
        let d = root.join(split).join(dr).join(s);
        write_sphere(&d.join("SA1.WAV"), &voice(f0, 1.3, sr), sr, false);
        for (k, sent) in sentences.iter().take(n).enumerate() {
            // each sentence its own pitch, so a joined excerpt shows where it comes from
            let x = voice(f0 * (1.0 + 0.05 * k as f64), 1.3, sr);
            write_sphere(&d.join(format!("{sent}.WAV")), &x, sr, k % 2 == 1);
        }
    }
    let d = root.join("TRAIN/DR1/FCJF0");
    let mut shorten = b"NIST_1A\n   1024\nsample_count -i 8000\nsample_rate -i 8000\n\
        channel_count -i 1\nsample_n_bytes -i 2\nsample_coding -s26 pcm,embedded-shorten-v2.00\n\
        end_head\n"
        .to_vec();
    shorten.resize(1024 + 400, b' ');
    std::fs::write(d.join("SI2000.WAV"), shorten).unwrap();
    write_sphere(&d.join("SX999.WAV"), &vec![0.0; 8000], sr, false);
    write_sphere(&d.join("SX001.WAV"), &voice(210.0, 0.05, sr), sr, false);
}

/// The decoded sentence `path` (mono, at its own 8 kHz rate).
fn decoded(path: &Path) -> Vec<f64> {
    audio::read(path)
        .unwrap()
        .mono(audio::ChannelSelect::Mix)
        .unwrap()
}

#[test]
fn timit_sentences_are_joined_per_speaker_and_unusable_files_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("TIMIT");
    timit_sentences(&data);
    let out = dir.path().join("out");
    let opts = RunOptions {
        data: data.clone(),
        out: out.clone(),
        studies: vec![Study::Reconstruction, Study::Separation],
        pairs: 1,
        jobs: 1,
    };
    let cfg = ExperimentConfig::quick();
    let (n_train, n_test) = (3 * 8000, 8000);
    let (corpus, plan) = experiment::plan(&cfg, &opts).unwrap();
    assert_eq!(corpus.layout, Layout::Timit);
    // one recording of the study per speaker with enough audio, named after the speaker
    assert_eq!(names(&corpus.speech), ["FAKS0", "FCJF0", "MDAB0"]);
    let why = |file: &str| -> &str {
        &corpus
            .left_out
            .iter()
            .find(|s| s.path.ends_with(file))
            .unwrap_or_else(|| panic!("{file} not left out: {:?}", corpus.left_out))
            .reason
    };
    assert!(
        why("SI2000.WAV").contains("shorten"),
        "{}",
        why("SI2000.WAV")
    );
    assert!(why("SX999.WAV").contains("silent"));
    assert!(why("SX001.WAV").contains("too short: 400 samples at 8000 Hz"));
    let r = why("MRJO0");
    assert!(
        r.contains("speaker MRJO0: not enough audio") && r.contains("3.90 s"),
        "{r}"
    );
    assert_eq!(corpus.left_out.len(), 4, "{:?}", corpus.left_out);
    // the units name the speakers
    assert!(plan.units.iter().any(|u| u.id == "innmf-train.FCJF0"));

    for rec in &corpus.speech {
        // three whole sentences for training (3.9 s, cut to 3 s: the SA sentence first, in name
        // order), the next one held out
        let role = |r: experiment::PartRole| -> Vec<&str> {
            rec.parts
                .iter()
                .filter(|p| p.role == r)
                .map(|p| p.name.as_str())
                .collect()
        };
        let (train, held) = (
            role(experiment::PartRole::Train),
            role(experiment::PartRole::Heldout),
        );
        let s = &rec.speaker;
        assert_eq!(
            train,
            [
                format!("{s}_SA1"),
                format!("{s}_SI1027"),
                format!("{s}_SI1657")
            ],
            "{}",
            rec.name
        );
        assert_eq!(held, [format!("{s}_SI648")], "{}", rec.name);
        assert!(!rec.path.ends_with("SA1.WAV") && rec.path.ends_with(s));
        // the signal the units read: the joined sentences, n_train then n_test samples,
        // normalized together
        let x = experiment::material::load(rec, &cfg).unwrap();
        assert_eq!(x.len(), n_train + n_test, "{}", rec.name);
        let mut want: Vec<f64> = rec
            .parts
            .iter()
            .filter(|p| p.role == experiment::PartRole::Train)
            .flat_map(|p| decoded(&p.path))
            .take(n_train)
            .collect();
        want.extend(decoded(&rec.parts[3].path).into_iter().take(n_test));
        let e = want.iter().map(|v| v * v).sum::<f64>().sqrt();
        for (i, (a, b)) in x.iter().zip(&want).enumerate() {
            assert!(
                (a - b / e).abs() <= 1e-12,
                "{} sample {i}: {a} vs {}",
                rec.name,
                b / e
            );
        }
    }

    let r = experiment::run(&cfg, &opts, &|_| {}).unwrap();
    // 3 speakers × 2 windows × 2 methods × 2 splits; 1 pair × 2 methods × 2 windows
    assert_eq!(r.rows.reconstruction.len(), 24);
    assert_eq!(r.rows.separation.len(), 4);
    assert!(r
        .rows
        .reconstruction
        .iter()
        .all(|row| row.fit_loss.is_finite()));
    // results.json states the layout, the joined files and what was left out; the report the rule
    let json = std::fs::read_to_string(out.join("results.json")).unwrap();
    assert!(json.contains("\"layout\": \"timit\""), "layout missing");
    assert!(json.contains("\"sex\": \"female\""));
    assert!(json.contains("\"split\": \"TEST\""));
    assert!(json.contains("\"role\": \"heldout\""));
    assert!(json.contains("\"left_out\""));
    let report = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    assert!(
        report.contains("0 files on their own, 3 speakers joined, 4 left out"),
        "{report}"
    );
    assert!(
        report.contains("- `FCJF0`: training `FCJF0_SA1`"),
        "{report}"
    );

    // a sentence added to a speaker's folder changes that speaker's material: its units are
    // planned again with other hashes, the other speakers' units keep theirs
    let hashes = |p: &experiment::Plan| -> std::collections::BTreeMap<String, String> {
        p.units
            .iter()
            .map(|u| (u.id.clone(), u.hash.clone()))
            .collect()
    };
    let before = hashes(&plan);
    write_sphere(
        &data.join("TEST/DR1/FAKS0/SI0001.WAV"),
        &voice(150.0, 1.3, 8000),
        8000,
        false,
    );
    let (_, plan2) = experiment::plan(&cfg, &opts).unwrap();
    let after = hashes(&plan2);
    assert_ne!(before["innmf-train.FAKS0"], after["innmf-train.FAKS0"]);
    assert_eq!(before["innmf-train.FCJF0"], after["innmf-train.FCJF0"]);
    assert_eq!(before["nmf.MDAB0.256"], after["nmf.MDAB0.256"]);
}

#[test]
fn long_recordings_give_the_plan_and_inputs_of_a_file_per_recording() {
    // the flat layout of long files (5 s ≥ 3 s + 1 s at --quick): arranging changes nothing
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("corpus");
    experiment::synthesize_corpus(&data, 3).unwrap();
    let cfg = ExperimentConfig::quick();
    let opts = RunOptions {
        data: data.clone(),
        out: dir.path().join("out"),
        studies: Study::ALL.to_vec(),
        pairs: 3,
        jobs: 1,
    };
    let listed = Corpus::open(&data).unwrap();
    let (corpus, plan) = experiment::plan(&cfg, &opts).unwrap();
    assert_eq!(corpus, listed);
    assert!(corpus.left_out.is_empty() && corpus.speech.iter().all(|r| r.parts.is_empty()));
    // the plan a corpus of files read one by one gives (ids, seeds, hashes, pairs)
    let direct = experiment::Plan::new(&cfg, &listed, &opts.studies, &listed.pairs(3, cfg.seed));
    assert_eq!(plan, direct);
    // and the very samples the units read
    for rec in &corpus.speech {
        assert_eq!(
            experiment::material::load(rec, &cfg).unwrap(),
            experiment::corpus::load_speech(rec, cfg.sample_rate).unwrap(),
            "{}",
            rec.name
        );
    }
    // results.json's corpus carries no new field for them
    let json = serde_json::to_string(&corpus).unwrap();
    assert!(
        !json.contains("parts") && !json.contains("left_out"),
        "{json}"
    );
}
