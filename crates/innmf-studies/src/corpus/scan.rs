//! Finding the recordings under a data folder: walking it, telling audio from other files,
//! recognizing the layouts' folder names, listing a flat folder, reading speaker sexes and
//! manifests.

use super::*;

/// Folders this deep under the data folder are not searched (guards against link loops).
pub(super) const MAX_DEPTH: usize = 8;

/// The audio format of a file from its first bytes, or why it is not audio.
pub(super) fn sniff(path: &Path) -> std::result::Result<audio::Format, String> {
    let mut head = Vec::with_capacity(4096);
    let f = std::fs::File::open(path).map_err(|e| format!("unreadable: {e}"))?;
    f.take(4096)
        .read_to_end(&mut head)
        .map_err(|e| format!("unreadable: {e}"))?;
    if head.is_empty() {
        return Err("not audio: the file is empty".into());
    }
    audio::detect(&head).ok_or_else(|| "not audio (content not recognized)".to_string())
}

/// A file found under the data folder: its path relative to the folder, as components.
pub(super) struct Found {
    pub(super) path: PathBuf,
    pub(super) rel: Vec<String>,
}

/// The regular files under `root` (hidden names skipped), at most [`MAX_DEPTH`] folders deep,
/// sorted by path.
pub(super) fn walk(root: &Path) -> Result<Vec<Found>> {
    fn go(dir: &Path, rel: &[String], out: &mut Vec<Found>) -> Result<()> {
        let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
        for e in rd {
            let e = e.map_err(|e| Error::io(dir, e))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let path = e.path();
            let mut r = rel.to_vec();
            r.push(name);
            if path.is_dir() {
                if r.len() < MAX_DEPTH {
                    go(&path, &r, out)?;
                }
            } else if path.is_file() {
                out.push(Found { path, rel: r });
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    go(root, &[], &mut out)?;
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

/// The file name up to its first `.` (`SX127.WAV.wav` → `SX127`).
pub(super) fn base_name(file: &str) -> &str {
    file.split('.').next().unwrap_or(file)
}

/// The file name without its last extension.
pub(super) fn file_stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A `train*`, `test*`, `dev*`, `valid*` or `eval*` folder name (any case).
pub(super) fn is_split_folder(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["train", "test", "dev", "valid", "eval"]
        .iter()
        .any(|p| n == *p || (n.starts_with(p) && !n[p.len()..].starts_with(char::is_alphabetic)))
}

/// VCTK's `wav48`, `wav48_silence_trimmed`, `wav16` folders.
pub(super) fn is_wav_container(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.strip_prefix("wav")
        .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
}

/// `dr1`..`dr8` (any case, any digits).
pub(super) fn is_dialect_region(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.strip_prefix("dr")
        .is_some_and(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_digit()))
}

/// Whether `rel` ends in `[TRAIN|TEST]/DR*/<SPEAKER>/<file>`, or is `DR*/<SPEAKER>/<file>`
/// (the data folder is a `TRAIN` or `TEST` folder).
pub(super) fn is_timit_path(rel: &[String]) -> bool {
    let n = rel.len();
    let split_at = |i: usize| {
        let split = rel[i].to_ascii_lowercase();
        split == "train" || split == "test"
    };
    (n >= 4 && split_at(n - 4) && is_dialect_region(&rel[n - 3]))
        || (n == 3 && is_dialect_region(&rel[0]))
}

/// Examples for an error message: the first three paths, and how many there are.
pub(super) fn examples(paths: &[&[String]]) -> String {
    let shown: Vec<String> = paths.iter().take(3).map(|r| r.join("/")).collect();
    if paths.len() > 3 {
        format!("{} (and {} more)", shown.join(", "), paths.len() - 3)
    } else {
        shown.join(", ")
    }
}

/// Makes recording names unique: a name shared by recordings of different speakers (or
/// tracks) gets `<speaker>_` in front (unless it already starts with it); recordings still
/// sharing a name after that (`a.wav` and `a.flac` of one speaker) are skipped, the first in
/// path order staying.
pub(super) fn dedupe(recs: Vec<Recording>, skipped: &mut Vec<Skipped>) -> Vec<Recording> {
    let mut speakers = BTreeMap::<String, BTreeSet<String>>::new();
    for r in &recs {
        speakers
            .entry(r.name.clone())
            .or_default()
            .insert(r.speaker.clone());
    }
    let mut recs: Vec<Recording> = recs
        .into_iter()
        .map(|mut r| {
            if speakers[&r.name].len() > 1 && !r.name.starts_with(&format!("{}_", r.speaker)) {
                r.name = format!("{}_{}", r.speaker, r.name);
            }
            r
        })
        .collect();
    recs.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.path.cmp(&b.path)));
    let mut out: Vec<Recording> = Vec::with_capacity(recs.len());
    for r in recs {
        match out.last() {
            Some(prev) if prev.name == r.name => skipped.push(Skipped {
                reason: format!(
                    "duplicate: the recording {} is already {}",
                    r.name,
                    prev.path.display()
                ),
                path: r.path,
            }),
            _ => out.push(r),
        }
    }
    out
}

/// The audio files directly in `dir` (flat layout): name = file stem, speaker = the stem up to
/// its first `_`; music files named `<track>_<instrument>` where at least two share the track
/// and all of them decode to the same rate and length get `track` and `stem`.
pub(super) fn list_flat(
    dir: &Path,
    music: bool,
    skipped: &mut Vec<Skipped>,
) -> Result<Vec<Recording>> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut recs = Vec::new();
    let mut paths = Vec::new();
    for e in rd {
        let path = e.map_err(|e| Error::io(dir, e))?.path();
        let hidden = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if path.is_file() && !hidden {
            paths.push(path);
        }
    }
    paths.sort();
    for path in paths {
        if let Err(reason) = sniff(&path) {
            skipped.push(Skipped { path, reason });
            continue;
        }
        let name = file_stem(&path);
        let speaker = name.split('_').next().unwrap_or(&name).to_string();
        recs.push(Recording {
            name,
            speaker,
            path,
            ..Recording::default()
        });
    }
    let mut recs = dedupe(recs, skipped);
    if music {
        // candidates: names `<track>_<instrument>` sharing the track; aligned when every one
        // decodes to the same rate and length
        let mut per_track = BTreeMap::<String, Vec<usize>>::new();
        for (i, r) in recs.iter().enumerate() {
            if let Some((track, _)) = r.name.split_once('_') {
                per_track.entry(track.to_string()).or_default().push(i);
            }
        }
        for (track, members) in per_track.into_iter().filter(|(_, m)| m.len() >= 2) {
            let shapes: BTreeSet<Option<(u32, usize)>> = members
                .iter()
                .map(|&i| {
                    audio::read(&recs[i].path)
                        .ok()
                        .map(|a| (a.sample_rate, a.len()))
                })
                .collect();
            if shapes.len() != 1 || shapes.contains(&None) {
                continue;
            }
            for i in members {
                let stem = recs[i].name[track.len() + 1..].to_string();
                recs[i].track = Some(track.clone());
                recs[i].stem = Some(stem);
            }
        }
    }
    Ok(recs)
}

/// Sex per speaker from LibriSpeech's `SPEAKERS.TXT` (`ID | SEX | ...`, `;` comments) or VCTK's
/// `speaker-info.txt` (a header naming a `GENDER` column; ids with or without the `p`), looked
/// for in `root` and its parent.
pub(super) fn speaker_sexes(root: &Path) -> BTreeMap<String, Sex> {
    let mut out = BTreeMap::new();
    for dir in [Some(root), root.parent()].into_iter().flatten() {
        let Ok(rd) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in rd.flatten() {
            let file = e.file_name().to_string_lossy().to_ascii_lowercase();
            let Ok(text) = std::fs::read_to_string(e.path()) else {
                continue;
            };
            if file == "speakers.txt" {
                for line in text.lines().filter(|l| !l.trim_start().starts_with(';')) {
                    let cols: Vec<&str> = line.split('|').map(str::trim).collect();
                    if let (Some(id), Some(sex)) =
                        (cols.first(), cols.get(1).and_then(|s| Sex::parse(s)))
                    {
                        out.entry(id.to_string()).or_insert(sex);
                    }
                }
            } else if file == "speaker-info.txt" {
                let mut lines = text.lines();
                let header: Vec<String> = lines
                    .next()
                    .unwrap_or("")
                    .split_whitespace()
                    .map(str::to_ascii_uppercase)
                    .collect();
                let Some(g) = header.iter().position(|h| h == "GENDER" || h == "SEX") else {
                    continue;
                };
                for line in lines {
                    let cols: Vec<&str> = line.split_whitespace().collect();
                    if let (Some(id), Some(sex)) =
                        (cols.first(), cols.get(g).and_then(|s| Sex::parse(s)))
                    {
                        let id = id.trim_start_matches('p');
                        out.entry(format!("p{id}")).or_insert(sex);
                        out.entry(id.to_string()).or_insert(sex);
                    }
                }
            }
        }
    }
    out
}

/// One CSV record per line (RFC 4180 quoting: `"a, b"`, `""` for a quote); empty lines skipped.
pub(super) fn parse_csv(text: &str, path: &Path) -> Result<Vec<(usize, Vec<String>)>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut line = 1usize;
    let mut start_line = 1usize;
    let mut chars = text.trim_start_matches('\u{feff}').chars().peekable();
    let mut field_started = false;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if !field_started => {
                quoted = true;
                field_started = true;
            }
            ',' => {
                row.push(std::mem::take(&mut field));
                field_started = false;
            }
            '\r' => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                field_started = false;
                if row.iter().any(|f| !f.trim().is_empty()) {
                    rows.push((start_line, std::mem::take(&mut row)));
                } else {
                    row.clear();
                }
                line += 1;
                start_line = line;
            }
            _ => {
                field.push(c);
                field_started = true;
            }
        }
    }
    if quoted {
        return Err(Error::format(
            path,
            format!("line {start_line}: a quoted field is not closed"),
        ));
    }
    row.push(field);
    if row.iter().any(|f| !f.trim().is_empty()) {
        rows.push((start_line, row));
    }
    Ok(rows)
}
