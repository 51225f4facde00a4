//! What a run found in its data folder ([`CorpusSummary`], from [`Corpus::summary`]) and how it
//! is printed.

use super::*;

/// A speaker (or track) of a [`CorpusSummary`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpeakerSummary {
    /// The key.
    pub speaker: String,
    /// Sex, where known.
    pub sex: Option<Sex>,
    /// Recordings.
    pub recordings: usize,
    /// Their total duration (s), of those that decode.
    pub seconds: f64,
}

/// The recordings of one split in a [`Group`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SplitSummary {
    /// Recordings.
    pub recordings: usize,
    /// Total duration (s).
    pub seconds: f64,
    /// Speakers (or tracks).
    pub speakers: BTreeSet<String>,
}

/// The speech or the music recordings of a [`CorpusSummary`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Group {
    /// Recordings.
    pub recordings: usize,
    /// Total duration (s), of those that decode.
    pub seconds: f64,
    /// Speakers (music: tracks), sorted.
    pub speakers: Vec<SpeakerSummary>,
    /// Per split (`-`: none stated).
    pub splits: BTreeMap<String, SplitSummary>,
    /// Recordings per stem (music).
    pub stems: BTreeMap<String, usize>,
}

/// What [`Corpus::summary`] found; `Display` prints it for people.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CorpusSummary {
    /// The layout.
    pub layout: Layout,
    /// Speech recordings.
    pub speech: Group,
    /// Music recordings.
    pub music: Group,
    /// Files left out when listing the corpus, and why.
    pub skipped: Vec<Skipped>,
    /// Recordings that do not decode or are silent.
    pub unusable: Vec<Skipped>,
}

/// Reasons with their counts and up to three example files.
pub(super) fn write_reasons(
    f: &mut fmt::Formatter<'_>,
    title: &str,
    items: &[Skipped],
) -> fmt::Result {
    if items.is_empty() {
        return Ok(());
    }
    write_grouped(f, &format!("{title}: {} files", items.len()), items, |k| k)
}

/// `header`, then `items` grouped by the kind of their reason (the text before the first ':' or
/// '(', renamed by `kind`): each kind with its count and up to three example files.
pub(crate) fn write_grouped<'a>(
    f: &mut fmt::Formatter<'_>,
    header: &str,
    items: &'a [Skipped],
    kind: impl Fn(&'a str) -> &'a str,
) -> fmt::Result {
    let mut by = BTreeMap::<&str, Vec<&Skipped>>::new();
    for s in items {
        let k = s.reason.split([':', '(']).next().unwrap_or("").trim();
        by.entry(kind(k)).or_default().push(s);
    }
    writeln!(f, "{header}")?;
    for (k, list) in by {
        writeln!(f, "  {k}: {}", list.len())?;
        for s in list.iter().take(3) {
            writeln!(f, "    {} ({})", s.path.display(), s.reason)?;
        }
        if list.len() > 3 {
            writeln!(f, "    ...")?;
        }
    }
    Ok(())
}

impl fmt::Display for CorpusSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "layout: {}", self.layout.name())?;
        for (what, who, g) in [
            ("speech", "speakers", &self.speech),
            ("music", "tracks", &self.music),
        ] {
            if g.recordings == 0 {
                continue;
            }
            writeln!(
                f,
                "{what}: {} recordings, {:.1} s, {} {who}",
                g.recordings,
                g.seconds,
                g.speakers.len()
            )?;
            let (nf, nm) = (
                g.speakers
                    .iter()
                    .filter(|s| s.sex == Some(Sex::Female))
                    .count(),
                g.speakers
                    .iter()
                    .filter(|s| s.sex == Some(Sex::Male))
                    .count(),
            );
            if nf + nm > 0 {
                writeln!(
                    f,
                    "  sex: {nf} F, {nm} M, {} unknown",
                    g.speakers.len() - nf - nm
                )?;
            }
            if g.splits.len() > 1 || !g.splits.contains_key("-") {
                for (split, s) in &g.splits {
                    writeln!(
                        f,
                        "  split {split}: {} recordings, {:.1} s, {} {who}",
                        s.recordings,
                        s.seconds,
                        s.speakers.len()
                    )?;
                }
            }
            if !g.stems.is_empty() {
                let stems: Vec<String> = g.stems.iter().map(|(s, n)| format!("{n} {s}")).collect();
                writeln!(f, "  stems: {}", stems.join(", "))?;
            }
            let shown: Vec<String> = g
                .speakers
                .iter()
                .map(|s| match s.sex {
                    Some(x) => format!("{} ({x}, {}, {:.1} s)", s.speaker, s.recordings, s.seconds),
                    None => format!("{} ({}, {:.1} s)", s.speaker, s.recordings, s.seconds),
                })
                .collect();
            if shown.len() > 12 {
                writeln!(
                    f,
                    "  {who}: {}, ... ({} more)",
                    shown[..12].join(", "),
                    shown.len() - 12
                )?;
            } else {
                writeln!(f, "  {who}: {}", shown.join(", "))?;
            }
        }
        write_reasons(f, "skipped", &self.skipped)?;
        write_reasons(f, "unusable (left out of runs)", &self.unusable)
    }
}
