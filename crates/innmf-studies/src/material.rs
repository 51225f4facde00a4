//! What each speech recording of a study is made of: one long file, or a speaker's short
//! recordings joined end to end ([`arrange`]); and what is left out of a run, with the reason.
//!
//! The paper trains on the first 20 s of a speaker and mixes the 5 s after them (arXiv
//! 2404.04439, its TIMIT experiments, on per-speaker concatenations of the TIMIT sentences). A
//! corpus of ~3 s sentences (TIMIT, LibriSpeech, VCTK) has no single file that long, so the
//! studies read a speaker's sentences instead, by this rule (`n_train` and `n_test` are
//! `train_seconds` and `test_seconds` at the study's rate):
//!
//! 1. Every speech file is decoded once when the run is planned (mixed to mono; its length is
//!    counted at the study's rate). A file that does not decode, is silent (every sample 0), or
//!    is shorter than the study's longest analysis window (`train_window` and `windows`) is left
//!    out, with the reason ([`crate::Corpus::left_out`]).
//! 2. A file holding `n_train + n_test` samples is a recording of the study on its own, exactly
//!    as before: training = its first `n_train` samples, held-out = the `n_test` after them
//!    (the whole file normalized to unit L2 norm).
//! 3. A speaker's shorter files, in the corpus's order (sorted by name: TIMIT `SA*`, `SI*`, then
//!    `SX*`), make one recording of the study named after the speaker: whole files are taken
//!    for training until they hold `n_train` samples (the last one taken may be cut; its rest
//!    is unused), then the next whole files for the held-out excerpt until they hold `n_test`
//!    samples (cut likewise). No file is in both, so held-out audio is never heard in training.
//!    The files are resampled to the study's rate, not trimmed, and joined without gaps;
//!    training and held-out audio are then normalized together to unit L2 norm (the paper's
//!    per-speaker file normalization). Files after those are unused.
//! 4. A speaker whose shorter files cannot fill both excerpts is left out, with the reason.
//!
//! For a corpus of long files (the flat layout's 30 s recordings) nothing changes: the plan,
//! the unit hashes and the units' inputs are those of a run that reads each file on its own. The
//! joined recordings' files and roles enter the hash of every unit that reads them
//! ([`mod@crate::plan`]), so a file added to a speaker's folder recomputes its units.

use crate::config::ExperimentConfig;
use crate::corpus::{load_speech, write_grouped, Corpus, Part, PartRole, Recording, Skipped};
use innmf::audio::{self, ChannelSelect};
use innmf::error::{Error, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

/// Samples of a signal of `frames` samples at `from` Hz once resampled to `to` Hz (the length
/// [`audio::resample`] gives: `ceil(frames·to/from)`).
fn frames_at(frames: usize, from: u32, to: u32) -> usize {
    if from == to {
        frames
    } else {
        ((frames as u128 * to as u128).div_ceil(from as u128)) as usize
    }
}

/// Decodes each file (on all cores; results in the order of `paths` whatever the count): its
/// length in samples at `rate` Hz, or why it cannot be used (does not decode, silent).
pub(crate) fn probe(paths: &[&Path], rate: u32) -> Vec<std::result::Result<usize, String>> {
    let one = |path: &Path| -> std::result::Result<usize, String> {
        let a = audio::read(path).map_err(|e| format!("unreadable: {e}"))?;
        if a.channels.iter().all(|c| c.iter().all(|&v| v == 0.0)) {
            return Err("silent (every sample is 0)".into());
        }
        Ok(frames_at(a.len(), a.sample_rate, rate))
    };
    if paths.is_empty() {
        return Vec::new();
    }
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, paths.len());
    let chunk = paths.len().div_ceil(threads).max(1);
    std::thread::scope(|sc| {
        let handles: Vec<_> = paths
            .chunks(chunk)
            .map(|part| sc.spawn(move || part.iter().map(|p| one(p)).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// The study's sample counts: training excerpt, held-out excerpt, longest analysis window.
fn lengths(cfg: &ExperimentConfig) -> (usize, usize, usize) {
    let sr = cfg.sample_rate as f64;
    let n_train = (cfg.train_seconds * sr).round() as usize;
    let n_test = (cfg.test_seconds * sr).round() as usize;
    let longest = cfg
        .windows
        .iter()
        .copied()
        .chain([cfg.train_window])
        .max()
        .unwrap_or(0);
    (n_train, n_test, longest)
}

/// The common parent folder of `paths` (the first one's parent when they differ).
fn folder_of(paths: &[&Path]) -> PathBuf {
    let parent = |p: &Path| p.parent().map(Path::to_path_buf).unwrap_or_default();
    let first = parent(paths[0]);
    if paths.iter().all(|p| parent(p) == first) {
        first
    } else {
        paths[0].to_path_buf()
    }
}

/// `corpus` with its speech recordings arranged into the recordings of a study by the rule of
/// the [module docs](self) (when `speech`), and its music recordings that do not decode or are
/// silent left out (when `music`); what is left out goes to [`Corpus::left_out`] with the
/// reason. Decodes every speech (music) file once.
pub fn arrange(mut corpus: Corpus, cfg: &ExperimentConfig, speech: bool, music: bool) -> Corpus {
    let mut left_out = Vec::new();
    if music && !corpus.music.is_empty() {
        let paths: Vec<&Path> = corpus.music.iter().map(|r| r.path.as_path()).collect();
        let probed = probe(&paths, cfg.hybrid.sample_rate);
        let mut kept = Vec::with_capacity(corpus.music.len());
        for (r, p) in std::mem::take(&mut corpus.music).into_iter().zip(probed) {
            match p {
                Ok(_) => kept.push(r),
                Err(reason) => left_out.push(Skipped {
                    path: r.path,
                    reason,
                }),
            }
        }
        corpus.music = kept;
    }
    if speech && !corpus.speech.is_empty() {
        let (n_train, n_test, longest) = lengths(cfg);
        let rate = cfg.sample_rate;
        let paths: Vec<&Path> = corpus.speech.iter().map(|r| r.path.as_path()).collect();
        let probed = probe(&paths, rate);
        let mut alone = Vec::new();
        // the short recordings of each speaker, in corpus order, with their lengths
        let mut short = BTreeMap::<String, Vec<(Recording, usize)>>::new();
        for (r, p) in std::mem::take(&mut corpus.speech).into_iter().zip(probed) {
            match p {
                Err(reason) => left_out.push(Skipped {
                    path: r.path,
                    reason,
                }),
                Ok(n) if n < longest => left_out.push(Skipped {
                    path: r.path,
                    reason: format!(
                        "too short: {n} samples at {rate} Hz, less than the study's longest \
                         analysis window ({longest} samples)"
                    ),
                }),
                Ok(n) if n >= n_train + n_test => alone.push(r),
                Ok(n) => short.entry(r.speaker.clone()).or_default().push((r, n)),
            }
        }
        let mut taken: BTreeSet<String> = alone.iter().map(|r| r.name.clone()).collect();
        for recs in short.values() {
            taken.extend(recs.iter().map(|(r, _)| r.name.clone()));
        }
        let mut joined = Vec::new();
        for (speaker, recs) in short {
            let mut parts = Vec::new();
            let (mut got_train, mut got_test) = (0usize, 0usize);
            for (r, n) in &recs {
                let role = if got_train < n_train {
                    got_train += n;
                    PartRole::Train
                } else if got_test < n_test {
                    got_test += n;
                    PartRole::Heldout
                } else {
                    break;
                };
                parts.push((r, role));
            }
            let files: Vec<&Path> = recs.iter().map(|(r, _)| r.path.as_path()).collect();
            if got_train < n_train || got_test < n_test {
                let total: usize = recs.iter().map(|(_, n)| n).sum();
                let mut shown: Vec<String> = files
                    .iter()
                    .take(3)
                    .map(|p| {
                        p.file_name()
                            .unwrap_or_default()
                            .to_string_lossy()
                            .into_owned()
                    })
                    .collect();
                if files.len() > 3 {
                    shown.push("...".into());
                }
                left_out.push(Skipped {
                    path: folder_of(&files),
                    reason: format!(
                        "speaker {speaker}: not enough audio: {} recording(s) shorter than \
                         train_seconds + test_seconds ({}) hold {:.2} s at {rate} Hz in all; \
                         joined, they must give {} s of training audio and then {} s of held-out \
                         audio from other recordings",
                        recs.len(),
                        shown.join(", "),
                        total as f64 / rate as f64,
                        cfg.train_seconds,
                        cfg.test_seconds
                    ),
                });
                continue;
            }
            let mut name = speaker.clone();
            while taken.contains(&name) {
                name.push_str("_joined");
            }
            taken.insert(name.clone());
            let used: Vec<&Path> = parts.iter().map(|(r, _)| r.path.as_path()).collect();
            let splits: BTreeSet<&Option<String>> = parts.iter().map(|(r, _)| &r.split).collect();
            joined.push(Recording {
                name,
                speaker: speaker.clone(),
                path: folder_of(&used),
                sex: parts[0].0.sex,
                split: if splits.len() == 1 {
                    parts[0].0.split.clone()
                } else {
                    None
                },
                track: None,
                stem: None,
                parts: parts
                    .iter()
                    .map(|(r, role)| Part {
                        name: r.name.clone(),
                        path: r.path.clone(),
                        role: *role,
                    })
                    .collect(),
            });
        }
        alone.extend(joined);
        alone.sort_by(|a, b| a.name.cmp(&b.name));
        corpus.speech = alone;
    }
    left_out.sort_by(|a, b| a.path.cmp(&b.path));
    corpus.left_out = left_out;
    corpus
}

/// Reads speech recording `rec` of an arranged corpus ([`arrange`]) at the study's rate: a
/// file as [`load_speech`] reads it; joined material as `n_train` samples of its training
/// files and then `n_test` samples of its held-out files, normalized together to unit L2 norm.
///
/// # Errors
/// An unreadable or silent file; files that no longer hold the audio they held when the run
/// was planned.
pub fn load(rec: &Recording, cfg: &ExperimentConfig) -> Result<Vec<f64>> {
    if rec.parts.is_empty() {
        return load_speech(rec, cfg.sample_rate);
    }
    let (n_train, n_test, _) = lengths(cfg);
    let (mut train, mut held) = (Vec::new(), Vec::new());
    for p in &rec.parts {
        let a = audio::read(&p.path)?;
        let mut x = a.mono(ChannelSelect::Mix)?;
        if a.sample_rate != cfg.sample_rate {
            x = audio::resample(&x, a.sample_rate, cfg.sample_rate)?;
        }
        match p.role {
            PartRole::Train => train.extend(x),
            PartRole::Heldout => held.extend(x),
        }
    }
    if train.len() < n_train || held.len() < n_test {
        return Err(Error::format(
            &rec.path,
            format!(
                "speaker {}: its recordings give {} training and {} held-out samples, less than \
                 the {n_train} and {n_test} they gave when the run was planned (files changed?): \
                 plan again",
                rec.speaker,
                train.len(),
                held.len()
            ),
        ));
    }
    train.truncate(n_train);
    held.truncate(n_test);
    train.extend(held);
    let e = train.iter().map(|v| v * v).sum::<f64>().sqrt();
    if e.is_nan() || e <= 0.0 {
        return Err(Error::format(&rec.path, "the speaker's material is silent"));
    }
    train.iter_mut().for_each(|v| *v /= e);
    Ok(train)
}

/// The speech recordings of an arranged corpus and what was left out, for `innmf experiment
/// plan` and `--dry-run`; `Display` prints it for people.
#[derive(Debug, Clone, PartialEq)]
pub struct MaterialSummary<'a> {
    /// The arranged corpus.
    pub corpus: &'a Corpus,
    /// Training seconds.
    pub train_seconds: f64,
    /// Held-out seconds.
    pub test_seconds: f64,
    /// Whether a speech study was planned (the speech recordings were arranged).
    pub speech: bool,
}

impl fmt::Display for MaterialSummary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let speech = &self.corpus.speech;
        let joined: Vec<&Recording> = speech.iter().filter(|r| !r.parts.is_empty()).collect();
        if self.speech && !speech.is_empty() {
            writeln!(
                f,
                "study material: {} speech recordings ({} s training + {} s held-out each): {} \
                 files on their own, {} speakers' shorter files joined",
                speech.len(),
                self.train_seconds,
                self.test_seconds,
                speech.len() - joined.len(),
                joined.len()
            )?;
            for r in joined.iter().take(6) {
                let names = |role: PartRole| -> Vec<&str> {
                    r.parts
                        .iter()
                        .filter(|p| p.role == role)
                        .map(|p| p.name.as_str())
                        .collect()
                };
                writeln!(
                    f,
                    "  {}: training {}; held-out {}",
                    r.name,
                    names(PartRole::Train).join(" "),
                    names(PartRole::Heldout).join(" ")
                )?;
            }
            if joined.len() > 6 {
                writeln!(f, "  ... ({} more)", joined.len() - 6)?;
            }
        }
        let left = &self.corpus.left_out;
        if !left.is_empty() {
            let header = format!("left out of the studies: {}", left.len());
            write_grouped(f, &header, left, |k| {
                if k.starts_with("speaker ") {
                    "speakers without enough audio"
                } else {
                    k
                }
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resampled_lengths_match_the_resampler() {
        let x = vec![0.5; 12345];
        for (from, to) in [(16000, 8000), (8000, 16000), (44100, 16000), (22050, 8000)] {
            let y = audio::resample(&x, from, to).unwrap();
            assert_eq!(frames_at(x.len(), from, to), y.len(), "{from} -> {to}");
        }
        assert_eq!(frames_at(7, 8000, 8000), 7);
    }
}
