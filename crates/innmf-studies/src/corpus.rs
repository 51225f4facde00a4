//! The recordings a run reads ([`Corpus`]), its speaker pairs, and a synthetic corpus for trials
//! and tests ([`synthesize_corpus`]).

use crate::plan::unit_seed;
use innmf::audio::{self, ChannelSelect};
use innmf::demo;
use innmf::error::{Error, Result};
use innmf::io;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A recording of the corpus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recording {
    /// File stem.
    pub name: String,
    /// Speaker (or instrument) key: the stem up to its first `_`.
    pub speaker: String,
    /// The file.
    pub path: PathBuf,
}

/// The recordings of a data folder: speech from `DIR/speech` (or `DIR` itself when it has no
/// `speech` folder), music from `DIR/music` (or `DIR`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Corpus {
    /// Speech recordings (reconstruction, separation, transfer), sorted by name.
    pub speech: Vec<Recording>,
    /// Music recordings (hybrid), sorted by name.
    pub music: Vec<Recording>,
    /// Where note lists (`<name>.notes.csv`) are looked for.
    pub notes_dir: Option<PathBuf>,
}

fn list_wavs(dir: &Path) -> Result<Vec<Recording>> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut out = Vec::new();
    for e in rd {
        let path = e.map_err(|e| Error::io(dir, e))?.path();
        let is_wav = path
            .extension()
            .map(|x| x.to_string_lossy().to_lowercase() == "wav")
            .unwrap_or(false);
        if !is_wav || !path.is_file() {
            continue;
        }
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let speaker = name.split('_').next().unwrap_or(&name).to_string();
        out.push(Recording {
            name,
            speaker,
            path,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

impl Corpus {
    /// Lists the recordings of a folder of `.wav` files (`DIR/speech`, `DIR/music`,
    /// `DIR/music/midi/<name>.notes.csv`, or the files directly in `DIR`).
    ///
    /// # Errors
    /// An unreadable folder, or one without any `.wav` file.
    pub fn open(dir: &Path) -> Result<Corpus> {
        if !dir.is_dir() {
            return Err(Error::param(
                "--data",
                dir.display(),
                "a folder of .wav recordings (or one with speech/ and music/ folders)",
            ));
        }
        let sub = |n: &str| {
            let d = dir.join(n);
            if d.is_dir() {
                d
            } else {
                dir.to_path_buf()
            }
        };
        let music_dir = sub("music");
        let corpus = Corpus {
            speech: list_wavs(&sub("speech"))?,
            music: list_wavs(&music_dir)?,
            notes_dir: Some(music_dir.join("midi")).filter(|d| d.is_dir()),
        };
        if corpus.speech.is_empty() && corpus.music.is_empty() {
            return Err(Error::param(
                "--data",
                dir.display(),
                "a folder holding .wav recordings",
            ));
        }
        Ok(corpus)
    }

    /// Pairs of speech recordings of distinct speakers (indices into `speech`): all such pairs
    /// in name order, shuffled with `seed`, the first `n`.
    pub fn pairs(&self, n: usize, seed: u64) -> Vec<(usize, usize)> {
        use rand::seq::SliceRandom;
        let mut all = Vec::new();
        for i in 0..self.speech.len() {
            for j in i + 1..self.speech.len() {
                if self.speech[i].speaker != self.speech[j].speaker {
                    all.push((i, j));
                }
            }
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(unit_seed(seed, "pairs"));
        all.shuffle(&mut rng);
        all.truncate(n);
        all
    }

    /// The note list of music recording `name` (`<notes_dir>/<name>.notes.csv`: onset_s,
    /// offset_s, midi_pitch, ...) as `(onset, offset, pitch)`; `None` when there is none or it
    /// lacks those columns.
    pub fn notes(&self, name: &str) -> Option<Vec<(f64, f64, i64)>> {
        let path = self.notes_dir.as_ref()?.join(format!("{name}.notes.csv"));
        let (names, cols) = io::read_csv(&path).ok()?;
        let col = |n: &str| names.iter().position(|x| x == n).map(|i| &cols[i]);
        let (on, off, pitch) = (col("onset_s")?, col("offset_s")?, col("midi_pitch")?);
        Some(
            (0..on.len())
                .map(|i| (on[i], off[i], pitch[i].round() as i64))
                .collect(),
        )
    }
}

/// Reads a speech recording as mono at `rate` Hz, normalized to unit L2 norm over the whole file
/// (the paper's TIMIT preprocessing).
///
/// # Errors
/// An unreadable or silent recording.
pub fn load_speech(rec: &Recording, rate: u32) -> Result<Vec<f64>> {
    let a = audio::read(&rec.path)?;
    let mut x = a.mono(ChannelSelect::Mix)?;
    if a.sample_rate != rate {
        x = audio::resample(&x, a.sample_rate, rate)?;
    }
    let e = x.iter().map(|v| v * v).sum::<f64>().sqrt();
    if e.is_nan() || e <= 0.0 {
        return Err(Error::format(&rec.path, "the recording is silent"));
    }
    x.iter_mut().for_each(|v| *v /= e);
    Ok(x)
}

/// Writes a small synthetic corpus to `dir` for trials and tests: `speech/` with four
/// "speakers" (`a`, `b`, `c` and `a_2`, the same speaker as `a`; buzzy harmonic syllables with
/// speaker-specific pitch and formants, 5 s at 8 kHz) and `music/two_notes.wav` (C4 then E4 at
/// 4410 Hz, 3 s) with `music/midi/two_notes.notes.csv`.
///
/// # Errors
/// An unwritable folder.
pub fn synthesize_corpus(dir: &Path, seed: u64) -> Result<()> {
    use rand::Rng;
    let speech = dir.join("speech");
    let midi = dir.join("music").join("midi");
    for d in [&speech, &midi] {
        std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
    }
    let sr = 8000.0;
    let n = (5.0 * sr) as usize;
    // (name, f0 Hz, formants Hz)
    let speakers: [(&str, f64, [f64; 3]); 4] = [
        ("a", 110.0, [500.0, 1500.0, 2500.0]),
        ("b", 210.0, [800.0, 1200.0, 2900.0]),
        ("c", 150.0, [350.0, 2000.0, 3100.0]),
        ("a_2", 110.0, [500.0, 1500.0, 2500.0]),
    ];
    for (name, f0, formants) in speakers.iter() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(unit_seed(seed, name));
        let mut x = vec![0.0; n];
        let mut t = 0usize;
        let mut phase = 0.0f64;
        while t < n {
            let len = (sr * rng.random_range(0.12..0.3)) as usize;
            let gap = (sr * rng.random_range(0.03..0.1)) as usize;
            let pitch = f0 * rng.random_range(0.85..1.2);
            let glide = rng.random_range(-0.3..0.3);
            let vowel = rng.random_range(0.8..1.25);
            for i in 0..len.min(n - t) {
                let u = i as f64 / len as f64;
                let env = (std::f64::consts::PI * u).sin().powi(2);
                let f = pitch * (1.0 + glide * (u - 0.5));
                phase += 2.0 * std::f64::consts::PI * f / sr;
                let mut s = 0.0;
                let mut h = 1;
                while (h as f64) * f < 0.45 * sr {
                    let fh = h as f64 * f;
                    let amp: f64 = formants
                        .iter()
                        .map(|&fm| {
                            let d = (fh - fm * vowel) / (0.12 * fm);
                            1.0 / (1.0 + d * d)
                        })
                        .sum::<f64>()
                        / h as f64;
                    s += amp * (h as f64 * phase).sin();
                    h += 1;
                }
                x[t + i] = env * s;
            }
            t += len + gap;
        }
        let peak = x.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-12);
        x.iter_mut().for_each(|v| *v *= 0.5 / peak);
        audio::write_wav(&speech.join(format!("{name}.wav")), &x, sr as u32)?;
    }
    let notes = [
        demo::Note {
            f0: 261.63,
            onset: 0.1,
            end: 1.2,
        },
        demo::Note {
            f0: 329.63,
            onset: 1.5,
            end: 2.6,
        },
    ];
    let msr = 4410.0;
    let x = demo::synthesize_notes(&notes, msr, (3.0 * msr) as usize);
    audio::write_wav(&dir.join("music").join("two_notes.wav"), &x, msr as u32)?;
    let csv = format!(
        "onset_s,offset_s,midi_pitch,velocity,channel,program\n{},{},60,100,0,0\n{},{},64,100,0,0\n",
        notes[0].onset, notes[0].end, notes[1].onset, notes[1].end
    );
    io::write_atomic(&midi.join("two_notes.notes.csv"), csv.as_bytes())
}
