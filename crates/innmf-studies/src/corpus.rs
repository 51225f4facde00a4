//! The recordings a run reads ([`Corpus`]): the corpus layouts it recognizes (flat folders, a
//! TIMIT tree, speaker folders, stem folders per track, a manifest), its speaker pairs, what it
//! found ([`Corpus::summary`]), and a synthetic corpus for trials and tests
//! ([`synthesize_corpus`]).

use crate::plan::unit_seed;
use innmf::audio::{self, ChannelSelect};
use innmf::demo;
use innmf::error::{Error, Result};
use innmf::io;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

mod scan;
mod summary;
use scan::*;
pub(crate) use summary::write_grouped;
pub use summary::{CorpusSummary, Group, SpeakerSummary, SplitSummary};

/// A speaker's sex, where the corpus states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    /// Female (`F`).
    Female,
    /// Male (`M`).
    Male,
}

impl Sex {
    /// `m`/`male` or `f`/`female`, any case; `None` otherwise.
    pub fn parse(s: &str) -> Option<Sex> {
        match s.trim().to_ascii_lowercase().as_str() {
            "f" | "female" => Some(Sex::Female),
            "m" | "male" => Some(Sex::Male),
            _ => None,
        }
    }
}

impl fmt::Display for Sex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Sex::Female => "F",
            Sex::Male => "M",
        })
    }
}

/// A recording of the corpus. The optional fields are what the corpus layout states; none of
/// them is read by a study today, so they enter no unit hash ([`mod@crate::plan`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Recording {
    /// Unique name in the corpus: the file stem (TIMIT: `<SPEAKER>_<SENTENCE>`; stems:
    /// `<track>_<stem>`; a stem shared by two recordings gets its speaker or track in front).
    pub name: String,
    /// Speaker (or track) key: flat layout, the stem up to its first `_`; TIMIT and speaker
    /// folders, the speaker folder; stems, the track folder; manifest, its `speaker`/`track`.
    pub speaker: String,
    /// The file.
    pub path: PathBuf,
    /// The speaker's sex (TIMIT: the speaker folder's first letter; LibriSpeech `SPEAKERS.TXT`,
    /// VCTK `speaker-info.txt`; manifest `sex`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sex: Option<Sex>,
    /// The split (TIMIT `TRAIN`/`TEST`; a `train*`/`test*`/`dev*`/`valid*` folder above the
    /// speakers or tracks; manifest `split`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<String>,
    /// The track of a music stem (stem folders, aligned `<track>_<instrument>` files, manifest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track: Option<String>,
    /// The stem or role in its track (`mixture`, `vocals`, `bass`, ...; flat layout: the
    /// instrument after the track's `_`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stem: Option<String>,
    /// Empty for a recording that is one file. A speech recording of a study made of a
    /// speaker's short recordings joined end to end ([`crate::material`]) lists them here, in
    /// order: the training ones, then the held-out ones; `path` is then their folder.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<Part>,
}

/// What a recording joined into a speaker's material is used for ([`crate::material`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PartRole {
    /// The training excerpt.
    Train,
    /// The held-out excerpt (reconstruction) and the mixture material (separation).
    Heldout,
}

/// One file of a speaker's joined material ([`Recording::parts`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// The recording's name in the corpus.
    pub name: String,
    /// The file.
    pub path: PathBuf,
    /// Training or held-out.
    pub role: PartRole,
}

/// How a corpus folder is laid out (see [`Corpus::open`] for the detection rules).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// Audio files directly in `DIR/speech`, `DIR/music` or `DIR`.
    #[default]
    Flat,
    /// `[TRAIN|TEST]/DR*/<SPEAKER>/<SENTENCE>.WAV` (TIMIT).
    Timit,
    /// `<speaker>/.../<file>` (LibriSpeech, VCTK).
    SpeakerFolders,
    /// `<track>/{mixture,vocals,bass,drums,other}.<ext>` (MUSDB-style).
    Stems,
    /// A CSV manifest listing every recording.
    Manifest,
}

impl Layout {
    fn is_flat(&self) -> bool {
        *self == Layout::Flat
    }

    /// The kebab-case name.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Flat => "flat",
            Layout::Timit => "timit",
            Layout::SpeakerFolders => "speaker-folders",
            Layout::Stems => "stems",
            Layout::Manifest => "manifest",
        }
    }
}

/// A file of the corpus folder that is not a recording of the run, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// The file.
    pub path: PathBuf,
    /// Why it was left out.
    pub reason: String,
}

/// The recordings of a data folder or manifest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Corpus {
    /// Speech recordings (reconstruction, separation, transfer), sorted by name.
    pub speech: Vec<Recording>,
    /// Music recordings (hybrid), sorted by name.
    pub music: Vec<Recording>,
    /// Where note lists (`<name>.notes.csv`) are looked for.
    pub notes_dir: Option<PathBuf>,
    /// The layout found.
    #[serde(default, skip_serializing_if = "Layout::is_flat")]
    pub layout: Layout,
    /// Files left out, with the reason (sorted by path).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
    /// Recordings and speakers left out of a study's material when it was planned
    /// ([`crate::material::arrange`]): files that do not decode, are silent or are shorter than
    /// one analysis window; speakers without enough audio. Empty for a corpus as listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<Skipped>,
}

/// The stems of a track folder (MUSDB18 and its HQ version, plus `accompaniment`).
pub const STEMS: [&str; 6] = [
    "mixture",
    "vocals",
    "bass",
    "drums",
    "other",
    "accompaniment",
];

/// The roles a manifest row may have: `speech`, `music` (a music recording outside any stem
/// set), or one of [`STEMS`].
fn known_role(role: &str) -> bool {
    role == "speech" || role == "music" || STEMS.contains(&role)
}

impl Corpus {
    /// The recordings of `path`: a data folder, or a CSV manifest when `path` is a file.
    ///
    /// Any file [`audio::read`] decodes counts, recognized by its first bytes (not its
    /// extension); other files are [`Corpus::skipped`] as "not audio", as are names starting with
    /// `.`. The layout is decided from what the folder holds, in this order:
    ///
    /// 1. **Manifest**: `path` is a file: a CSV with a header naming the columns `path`
    ///    (required; relative to the manifest's folder, or absolute), `speaker` and/or `track`
    ///    (one of them required on every row), `role` (or `stem`: `speech`, `music`, or one of
    ///    [`STEMS`]; default `speech` when the row has a speaker, else `mixture`), `split`, `sex`
    ///    (`M`/`F`). Rows with role `speech` are speech (their `speaker` is required); the others
    ///    are music, keyed by `track` (else `speaker`). A row with another role is skipped
    ///    ("unknown role"); a row without a path, a missing file, a file that is not audio or a
    ///    bad `sex` is an error naming the line.
    /// 2. **Flat** (today's layout, unchanged): `DIR` has a `speech/` or `music/` folder: the
    ///    audio files directly in them (speech from `DIR/speech`, or `DIR` without one; music
    ///    from `DIR/music`, or `DIR`; note lists from `DIR/music/midi`). Also when every audio
    ///    file under `DIR` lies directly in it. Name = file stem, speaker = the stem up to its
    ///    first `_`; music files `<track>_<instrument>`, at least two per track, all of the same
    ///    rate and length (aligned stems such as `ode_bass.wav`, `ode_flute.wav`), also get
    ///    `track` and `stem`.
    /// 3. **TIMIT**: every audio file lies at `.../[TRAIN|TEST]/DR<n>/<SPEAKER>/<SENTENCE>.<ext>`
    ///    (any case, under any prefix), or at `DR<n>/<SPEAKER>/<SENTENCE>.<ext>` (`DIR` is
    ///    a `TRAIN` or `TEST` folder: its name is the split). Speaker = the speaker folder (`FCJF0`), sex = its first
    ///    letter (`F`/`M`), split = `TRAIN`/`TEST`, name = `<SPEAKER>_<SENTENCE>`. The sentences
    ///    are all ten of a speaker (SA, SI, SX), as in the paper's per-speaker concatenations
    ///    (arXiv 2404.04439, Sec. 4: ≈ 30 s per speaker, files over 25 s kept); joined in name
    ///    order, the two SA dialect sentences every speaker reads fall into the training
    ///    excerpt, so mixtures are made of SI/SX speech. A second file of the same sentence (`SX127.WAV.wav` beside `SX127.WAV`)
    ///    is skipped as a duplicate.
    /// 4. After dropping, per file, a leading split folder (`train*`, `test*`, `dev*`, `valid*`,
    ///    `eval*`: it becomes the file's `split`) and then a VCTK `wav<digits>*` folder, every
    ///    audio file lies in a subfolder:
    ///    - **Stems**: every folder of audio files directly under the root holds at least two
    ///      files named after [`STEMS`] (`mixture.wav`, `vocals.flac`, ...). Track = the folder,
    ///      stem = the file name, name = `<track>_<stem>`; the track's other files are skipped
    ///      ("unknown role"). These are music recordings.
    ///    - **Speaker folders**: no folder looks like a track. Speaker = the top folder
    ///      (`<speaker>/<chapter>/<id>.flac`, `p225/p225_001.flac`), name = the file stem; sex
    ///      from a `SPEAKERS.TXT` (LibriSpeech) or `speaker-info.txt` (VCTK) in `DIR` or its
    ///      parent. These are speech recordings.
    ///
    /// # Errors
    /// An unreadable folder or manifest; no audio file; an ambiguous folder (some audio files in
    /// a TIMIT tree and others not, audio files both directly in `DIR` and in subfolders, some
    /// folders of stems and others not), named with examples of each kind.
    pub fn open(path: &Path) -> Result<Corpus> {
        if path.is_file() {
            return Corpus::from_manifest(path);
        }
        if !path.is_dir() {
            return Err(Error::param(
                "--data",
                path.display(),
                "a folder of recordings (or a CSV manifest, see --manifest)",
            ));
        }
        let dir = path;
        if dir.join("speech").is_dir() || dir.join("music").is_dir() {
            return Corpus::open_flat(dir);
        }
        let files = walk(dir)?;
        let mut skipped = Vec::new();
        let mut found = Vec::new();
        for f in files {
            match sniff(&f.path) {
                Ok(_) => found.push(f),
                Err(reason) => skipped.push(Skipped {
                    path: f.path,
                    reason,
                }),
            }
        }
        if found.is_empty() {
            return Err(Error::param(
                "--data",
                dir.display(),
                format!(
                    "a folder holding audio recordings ({}); found none among {} files",
                    audio::SUPPORTED,
                    skipped.len()
                ),
            ));
        }
        let top: Vec<&[String]> = found
            .iter()
            .filter(|f| f.rel.len() == 1)
            .map(|f| f.rel.as_slice())
            .collect();
        if top.len() == found.len() {
            return Corpus::open_flat(dir);
        }
        let timit: Vec<&[String]> = found
            .iter()
            .filter(|f| is_timit_path(&f.rel))
            .map(|f| f.rel.as_slice())
            .collect();
        if !timit.is_empty() {
            if timit.len() != found.len() {
                let other: Vec<&[String]> = found
                    .iter()
                    .filter(|f| !is_timit_path(&f.rel))
                    .map(|f| f.rel.as_slice())
                    .collect();
                return Err(ambiguous(
                    dir,
                    format!(
                        "{} audio files in a TIMIT tree (e.g. {}) and {} outside one (e.g. {})",
                        timit.len(),
                        examples(&timit),
                        other.len(),
                        examples(&other)
                    ),
                ));
            }
            return Ok(Corpus::from_timit(dir, found, skipped));
        }
        if !top.is_empty() {
            let deeper: Vec<&[String]> = found
                .iter()
                .filter(|f| f.rel.len() > 1)
                .map(|f| f.rel.as_slice())
                .collect();
            return Err(ambiguous(
                dir,
                format!(
                    "{} audio files directly in it (e.g. {}) and {} in subfolders (e.g. {}); \
                     move them into speech/ or music/, or list them in a manifest",
                    top.len(),
                    examples(&top),
                    deeper.len(),
                    examples(&deeper)
                ),
            ));
        }
        Corpus::from_folders(dir, found, skipped)
    }

    /// The flat layout: `DIR/speech` (or `DIR`) and `DIR/music` (or `DIR`).
    fn open_flat(dir: &Path) -> Result<Corpus> {
        let sub = |n: &str| {
            let d = dir.join(n);
            if d.is_dir() {
                d
            } else {
                dir.to_path_buf()
            }
        };
        let (speech_dir, music_dir) = (sub("speech"), sub("music"));
        let mut skipped = Vec::new();
        let speech = list_flat(&speech_dir, false, &mut skipped)?;
        let mut music_skipped = Vec::new();
        let music = list_flat(&music_dir, true, &mut music_skipped)?;
        if music_dir != speech_dir {
            skipped.extend(music_skipped);
        }
        skipped.sort_by(|a, b| a.path.cmp(&b.path));
        let corpus = Corpus {
            speech,
            music,
            notes_dir: Some(music_dir.join("midi")).filter(|d| d.is_dir()),
            layout: Layout::Flat,
            skipped,
            left_out: Vec::new(),
        };
        if corpus.speech.is_empty() && corpus.music.is_empty() {
            return Err(Error::param(
                "--data",
                dir.display(),
                format!(
                    "a folder holding audio recordings ({}), directly or in speech/ and music/",
                    audio::SUPPORTED
                ),
            ));
        }
        Ok(corpus)
    }

    fn from_timit(dir: &Path, found: Vec<Found>, mut skipped: Vec<Skipped>) -> Corpus {
        // `--data TIMIT/TRAIN`: the split is the data folder's name
        let root_split = dir
            .canonicalize()
            .ok()
            .and_then(|d| {
                d.file_name()
                    .map(|n| n.to_string_lossy().to_ascii_uppercase())
            })
            .filter(|n| n == "TRAIN" || n == "TEST");
        let mut recs = Vec::new();
        for f in found {
            let n = f.rel.len();
            let speaker = f.rel[n - 2].clone();
            let sentence = base_name(&f.rel[n - 1]).to_string();
            recs.push(Recording {
                name: format!("{speaker}_{sentence}"),
                sex: speaker
                    .chars()
                    .next()
                    .and_then(|c| Sex::parse(&c.to_string())),
                split: if n >= 4 {
                    Some(f.rel[n - 4].to_ascii_uppercase())
                } else {
                    root_split.clone()
                },
                speaker,
                path: f.path,
                ..Recording::default()
            });
        }
        let speech = dedupe(recs, &mut skipped);
        skipped.sort_by(|a, b| a.path.cmp(&b.path));
        Corpus {
            speech,
            music: Vec::new(),
            notes_dir: None,
            layout: Layout::Timit,
            skipped,
            left_out: Vec::new(),
        }
    }

    /// Speaker folders or stem folders (rule 4 of [`Corpus::open`]).
    fn from_folders(dir: &Path, found: Vec<Found>, mut skipped: Vec<Skipped>) -> Result<Corpus> {
        // (file, split, path below the split and container folders)
        let mut items = Vec::new();
        let mut shallow = Vec::new();
        for f in found {
            let mut rel = f.rel.as_slice();
            let mut split = None;
            if rel.len() > 1 && is_split_folder(&rel[0]) {
                split = Some(rel[0].clone());
                rel = &rel[1..];
            }
            if rel.len() > 1 && is_wav_container(&rel[0]) {
                rel = &rel[1..];
            }
            if rel.len() < 2 {
                shallow.push(f.rel.clone());
                continue;
            }
            let rel = rel.to_vec();
            items.push((f, split, rel));
        }
        if !shallow.is_empty() {
            let refs: Vec<&[String]> = shallow.iter().map(|r| r.as_slice()).collect();
            let deeper: Vec<&[String]> = items.iter().map(|(f, _, _)| f.rel.as_slice()).collect();
            return Err(ambiguous(
                dir,
                format!(
                    "{} audio files directly in a split folder (e.g. {}) and {} in speaker or \
                     track folders (e.g. {})",
                    refs.len(),
                    examples(&refs),
                    deeper.len(),
                    examples(&deeper)
                ),
            ));
        }
        // the folders holding audio files directly under the root (after split/container)
        let mut stems_in = BTreeMap::<(Option<String>, String), usize>::new();
        for (_, split, rel) in &items {
            if rel.len() == 2 {
                let stem = base_name(&rel[1]).to_ascii_lowercase();
                let n = stems_in.entry((split.clone(), rel[0].clone())).or_default();
                if STEMS.contains(&stem.as_str()) {
                    *n += 1;
                }
            }
        }
        let tracks: BTreeSet<&(Option<String>, String)> = stems_in
            .iter()
            .filter(|(_, &n)| n >= 2)
            .map(|(k, _)| k)
            .collect();
        if !tracks.is_empty() {
            let not_tracks: Vec<Vec<String>> = items
                .iter()
                .filter(|(_, split, rel)| {
                    rel.len() != 2 || !tracks.contains(&(split.clone(), rel[0].clone()))
                })
                .map(|(f, _, _)| f.rel.clone())
                .collect();
            if !not_tracks.is_empty() {
                let refs: Vec<&[String]> = not_tracks.iter().map(|r| r.as_slice()).collect();
                let t: Vec<String> = tracks.iter().take(3).map(|(_, t)| t.clone()).collect();
                return Err(ambiguous(
                    dir,
                    format!(
                        "{} track folders holding stems ({}; e.g. {}) and {} audio files outside \
                         any (e.g. {})",
                        tracks.len(),
                        STEMS.join(", "),
                        t.join(", "),
                        refs.len(),
                        examples(&refs)
                    ),
                ));
            }
            let mut recs = Vec::new();
            for (f, split, rel) in items {
                let track = rel[0].clone();
                let stem = base_name(&rel[1]).to_ascii_lowercase();
                if !STEMS.contains(&stem.as_str()) {
                    skipped.push(Skipped {
                        path: f.path,
                        reason: format!(
                            "unknown role {stem} in track {track} (expected {})",
                            STEMS.join(", ")
                        ),
                    });
                    continue;
                }
                recs.push(Recording {
                    name: format!("{track}_{stem}"),
                    speaker: track.clone(),
                    path: f.path,
                    split,
                    track: Some(track),
                    stem: Some(stem),
                    ..Recording::default()
                });
            }
            let music = dedupe(recs, &mut skipped);
            skipped.sort_by(|a, b| a.path.cmp(&b.path));
            return Ok(Corpus {
                speech: Vec::new(),
                music,
                notes_dir: None,
                layout: Layout::Stems,
                skipped,
                left_out: Vec::new(),
            });
        }
        let sexes = speaker_sexes(dir);
        let recs = items
            .into_iter()
            .map(|(f, split, rel)| {
                let speaker = rel[0].clone();
                Recording {
                    name: file_stem(&f.path),
                    sex: sexes.get(&speaker).copied(),
                    speaker,
                    path: f.path,
                    split,
                    ..Recording::default()
                }
            })
            .collect();
        let speech = dedupe(recs, &mut skipped);
        skipped.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(Corpus {
            speech,
            music: Vec::new(),
            notes_dir: None,
            layout: Layout::SpeakerFolders,
            skipped,
            left_out: Vec::new(),
        })
    }

    /// A CSV manifest (rule 1 of [`Corpus::open`]).
    ///
    /// # Errors
    /// See [`Corpus::open`].
    pub fn from_manifest(path: &Path) -> Result<Corpus> {
        let bytes = io::read_bytes(path)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| Error::format(path, "the manifest is not UTF-8 text"))?;
        let rows = parse_csv(&text, path)?;
        let Some(((_, header), rows)) = rows.split_first() else {
            return Err(Error::format(
                path,
                "the manifest is empty (expected a header: path,speaker,track,role,split,sex)",
            ));
        };
        let header: Vec<String> = header
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect();
        for h in &header {
            if !["path", "speaker", "track", "role", "stem", "split", "sex"].contains(&h.as_str()) {
                return Err(Error::format(
                    path,
                    format!(
                        "line 1: unknown column {h:?} (expected path, speaker, track, role or \
                         stem, split, sex)"
                    ),
                ));
            }
        }
        let col = |n: &str| header.iter().position(|h| h == n);
        let Some(c_path) = col("path") else {
            return Err(Error::format(
                path,
                "line 1: the manifest has no path column",
            ));
        };
        let (c_speaker, c_track) = (col("speaker"), col("track"));
        if c_speaker.is_none() && c_track.is_none() {
            return Err(Error::format(
                path,
                "line 1: the manifest needs a speaker or a track column",
            ));
        }
        let c_role = col("role").or(col("stem"));
        let (c_split, c_sex) = (col("split"), col("sex"));
        let base = path.parent().unwrap_or(Path::new("."));
        let mut skipped = Vec::new();
        let (mut speech, mut music) = (Vec::new(), Vec::new());
        for (line, row) in rows {
            let get = |c: Option<usize>| {
                c.and_then(|c| row.get(c))
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
            };
            let bad = |msg: String| Error::format(path, format!("line {line}: {msg}"));
            let file = get(Some(c_path)).ok_or_else(|| bad("the path is empty".into()))?;
            let file_path = base.join(&file);
            if !file_path.is_file() {
                return Err(bad(format!("{} is not a file", file_path.display())));
            }
            sniff(&file_path).map_err(|r| bad(format!("{}: {r}", file_path.display())))?;
            let (speaker, track) = (get(c_speaker), get(c_track));
            let role = get(c_role)
                .map(|r| r.to_ascii_lowercase())
                .unwrap_or_else(|| {
                    if speaker.is_some() {
                        "speech"
                    } else {
                        "mixture"
                    }
                    .into()
                });
            let sex = match get(c_sex) {
                None => None,
                Some(s) => Some(
                    Sex::parse(&s)
                        .ok_or_else(|| bad(format!("sex {s:?} is not M or F (male, female)")))?,
                ),
            };
            if !known_role(&role) {
                skipped.push(Skipped {
                    path: file_path,
                    reason: format!(
                        "unknown role {role} (line {line}; expected speech, music, {})",
                        STEMS.join(", ")
                    ),
                });
                continue;
            }
            let stem_name = file_stem(&file_path);
            if role == "speech" {
                let speaker = speaker.ok_or_else(|| bad("a speech row needs a speaker".into()))?;
                speech.push(Recording {
                    name: stem_name,
                    speaker,
                    path: file_path,
                    sex,
                    split: get(c_split),
                    ..Recording::default()
                });
            } else {
                let key = track
                    .clone()
                    .or(speaker)
                    .ok_or_else(|| bad("a music row needs a track".into()))?;
                let stem = (role != "music").then(|| role.clone());
                music.push(Recording {
                    name: match &stem {
                        Some(s) if track.is_some() => format!("{key}_{s}"),
                        _ => stem_name,
                    },
                    speaker: key,
                    path: file_path,
                    sex,
                    split: get(c_split),
                    track,
                    stem,
                    parts: Vec::new(),
                });
            }
        }
        let speech = dedupe(speech, &mut skipped);
        let music = dedupe(music, &mut skipped);
        if speech.is_empty() && music.is_empty() {
            return Err(Error::format(
                path,
                "the manifest lists no usable recording",
            ));
        }
        skipped.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(Corpus {
            speech,
            music,
            notes_dir: None,
            layout: Layout::Manifest,
            skipped,
            left_out: Vec::new(),
        })
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

    /// What the corpus holds, for `innmf experiment plan` and `--dry-run`: the layout, speakers
    /// (with sex where known), recordings and their total duration, per split, the files
    /// skipped and why, and the recordings that do not decode or are silent (every recording
    /// is decoded once here; a run leaves them out: [`crate::material`]).
    pub fn summary(&self) -> CorpusSummary {
        // every file once, decoded on all cores (results in path order whatever the count)
        let paths: Vec<&PathBuf> = self
            .speech
            .iter()
            .chain(&self.music)
            .map(|r| &r.path)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let probe = |path: &PathBuf| -> std::result::Result<f64, String> {
            let a = audio::read(path).map_err(|e| format!("unreadable: {e}"))?;
            if a.channels.iter().all(|c| c.iter().all(|&v| v == 0.0)) {
                return Err("silent (every sample is 0)".into());
            }
            Ok(a.duration())
        };
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, paths.len().max(1));
        let chunk = paths.len().div_ceil(threads).max(1);
        let probed: Vec<std::result::Result<f64, String>> = std::thread::scope(|sc| {
            let handles: Vec<_> = paths
                .chunks(chunk)
                .map(|part| sc.spawn(move || part.iter().map(|p| probe(p)).collect::<Vec<_>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        });
        let mut durations = BTreeMap::<PathBuf, f64>::new();
        let mut unusable = Vec::new();
        for (path, res) in paths.into_iter().zip(probed) {
            match res {
                Ok(d) => {
                    durations.insert(path.clone(), d);
                }
                Err(reason) => unusable.push(Skipped {
                    path: path.clone(),
                    reason,
                }),
            }
        }
        let group = |recs: &[Recording]| -> Group {
            let mut g = Group::default();
            let mut speakers = BTreeMap::<String, SpeakerSummary>::new();
            for r in recs {
                let s = speakers
                    .entry(r.speaker.clone())
                    .or_insert_with(|| SpeakerSummary {
                        speaker: r.speaker.clone(),
                        sex: r.sex,
                        recordings: 0,
                        seconds: 0.0,
                    });
                s.recordings += 1;
                let d = durations.get(&r.path).copied().unwrap_or(0.0);
                s.seconds += d;
                g.recordings += 1;
                g.seconds += d;
                let split = g
                    .splits
                    .entry(r.split.clone().unwrap_or_else(|| "-".into()))
                    .or_default();
                split.recordings += 1;
                split.seconds += d;
                split.speakers.insert(r.speaker.clone());
                if let Some(stem) = &r.stem {
                    *g.stems.entry(stem.clone()).or_default() += 1;
                }
            }
            g.speakers = speakers.into_values().collect();
            g
        };
        CorpusSummary {
            layout: self.layout,
            speech: group(&self.speech),
            music: group(&self.music),
            skipped: self.skipped.clone(),
            unusable,
        }
    }
}

fn ambiguous(dir: &Path, saw: String) -> Error {
    Error::param(
        "--data",
        dir.display(),
        format!(
            "one corpus layout (flat, TIMIT, speaker folders, stem folders; or a --manifest), \
             but it holds {saw}"
        ),
    )
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
