//! `results.json` → `REPORT.md` and figures. Everything here reads [`Results`] only, so the
//! report can be redrawn (`innmf experiment report`) and checked against the stored numbers.

use crate::config::{music_representation_name, representation_name, MusicConfig, Study};
use crate::plan::unit_seed;
use crate::results::{MusicRow, Results, Split};
use innmf::error::{Error, Result};
use innmf::io;
use innmf::separate::{HSolver, TemplateMethod};
use innmf::stats::{bootstrap_median, median, paired, Estimate};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const LEVEL: f64 = 0.95;

/// Writes `results.json`, the figures and `REPORT.md` into `out`.
///
/// # Errors
/// An unwritable folder.
pub fn write_all(out: &Path, results: &Results) -> Result<()> {
    io::write_json(&out.join("results.json"), results)?;
    let figures = write_figures(out, results)?;
    let md = markdown(results, &figures);
    io::write_atomic(&out.join("REPORT.md"), md.as_bytes())
}

/// Reads `out/results.json` and redraws the figures and `REPORT.md`.
///
/// # Errors
/// A missing or malformed `results.json`, an unwritable folder.
pub fn regenerate(out: &Path) -> Result<Results> {
    let results = read_results(&out.join("results.json"))?;
    write_all(out, &results)?;
    Ok(results)
}

/// Reads a `results.json`.
///
/// # Errors
/// A missing or unreadable file, or one that is not an experiment's results.
pub fn read_results(path: &Path) -> Result<Results> {
    let bytes = io::read_bytes(path)?;
    let results: Results = serde_json::from_slice(&bytes)
        .map_err(|e| Error::format(path, format!("not an experiment results file: {e}")))?;
    // the report draws this many resamples per interval, held at once
    if results.config.bootstrap > crate::config::MAX_BOOTSTRAP {
        return Err(Error::format(
            path,
            format!(
                "config.bootstrap = {}: expected at most {} resamples",
                results.config.bootstrap,
                crate::config::MAX_BOOTSTRAP
            ),
        ));
    }
    Ok(results)
}

/// "Seed S", or for runs combined over seeds what was averaged.
fn seeds_line(results: &Results) -> String {
    if results.seeds.is_empty() {
        return format!("Seed {}", results.config.seed);
    }
    let list: Vec<String> = results.seeds.iter().map(u64::to_string).collect();
    format!(
        "Seeds {} (`innmf experiment combine`: every row's scores are the mean of the {} runs', \
         so each recording's and pair's score is averaged over the random starts before the \
         medians and intervals; the settings hash is the first run's)",
        list.join(", "),
        results.seeds.len()
    )
}

/// A seed for a table cell, from the run's seed and the cell's name.
fn cell_seed(results: &Results, name: &str) -> u64 {
    unit_seed(results.config.seed, name)
}

/// `(key, value)` of the rows `pick` keeps, sorted by key.
fn keyed<R>(rows: &[R], pick: impl Fn(&R) -> Option<(String, f64)>) -> Vec<(String, f64)> {
    let mut v: Vec<(String, f64)> = rows.iter().filter_map(pick).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// Values of `a` and `b` for the keys both have, in key order.
fn matched(a: &[(String, f64)], b: &[(String, f64)]) -> (Vec<f64>, Vec<f64>) {
    let mut x = Vec::new();
    let mut y = Vec::new();
    for (k, va) in a {
        if let Some((_, vb)) = b.iter().find(|(kb, _)| kb == k) {
            x.push(*va);
            y.push(*vb);
        }
    }
    (x, y)
}

/// The two methods' medians with intervals (table cell `name`), and their values on the keys
/// both have (paired, in key order).
fn both_methods(
    results: &Results,
    name: &str,
    a: &[(String, f64)],
    b: &[(String, f64)],
) -> (Estimate, Estimate, Vec<f64>, Vec<f64>) {
    let n = results.config.bootstrap;
    let va: Vec<f64> = a.iter().map(|x| x.1).collect();
    let vb: Vec<f64> = b.iter().map(|x| x.1).collect();
    let ea = bootstrap_median(&va, n, LEVEL, cell_seed(results, name));
    let eb = bootstrap_median(&vb, n, LEVEL, cell_seed(results, &format!("{name}.nmf")));
    let (x, y) = matched(a, b);
    (ea, eb, x, y)
}

fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let a = v.abs();
    if a != 0.0 && !(1e-2..1e4).contains(&a) {
        format!("{v:.3e}")
    } else if a >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

fn fmt_est(e: &Estimate) -> String {
    if e.n == 0 {
        return "–".into();
    }
    format!(
        "{} [{}, {}]",
        fmt_num(e.median),
        fmt_num(e.lo),
        fmt_num(e.hi)
    )
}

const RECON_METRICS: [(&str, &str); 4] = [
    ("kl", "KL on |X|^p"),
    ("nmse", "NMSE on |X|"),
    ("sdr_freq", "spectral SDR (dB)"),
    ("is", "Itakura–Saito on |X|^p"),
];

const SEP_METRICS: [(&str, &str); 5] = [
    ("sdr", "SDR (dB)"),
    ("sir", "SIR (dB)"),
    ("sar", "SAR (dB)"),
    ("si_sdr", "SI-SDR (dB)"),
    ("stoi", "STOI"),
];

fn windows(results: &Results) -> Vec<usize> {
    results.config.windows.clone()
}

/// Transfer matrix: `[from][to]` median over recordings of KL(A→B)/KL(B→B), and the names.
pub fn transfer_matrix(results: &Results) -> (Vec<String>, Vec<Vec<f64>>) {
    let names: Vec<String> = results
        .config
        .transfer
        .representations
        .iter()
        .map(representation_name)
        .collect();
    let rows = &results.rows.transfer;
    let kl = |rec: &str, a: &str, b: &str| {
        rows.iter()
            .find(|r| r.recording == rec && r.from == a && r.to == b)
            .map(|r| r.kl)
            .unwrap_or(f64::NAN)
    };
    let mut recs: Vec<&str> = rows.iter().map(|r| r.recording.as_str()).collect();
    recs.sort();
    recs.dedup();
    let m = names
        .iter()
        .map(|a| {
            names
                .iter()
                .map(|b| {
                    let ratios: Vec<f64> = recs
                        .iter()
                        .map(|rec| kl(rec, a, b) / kl(rec, b, b))
                        .collect();
                    median(&ratios)
                })
                .collect()
        })
        .collect();
    (names, m)
}

/// How the speech recordings of the studies were made ([`crate::material`]) and what was left
/// out.
fn material_paragraph(s: &mut String, results: &Results) {
    let c = &results.config;
    let corpus = &results.corpus;
    let joined: Vec<&crate::Recording> = corpus
        .speech
        .iter()
        .filter(|r| !r.parts.is_empty())
        .collect();
    let _ =
        writeln!(
        s,
        "Material: a speech file holding {} s (training) + {} s (held-out) is a recording on its \
         own (training = its first {} s, held-out = the {} s after them). A speaker's shorter \
         files, in name order, are joined end to end without gaps (resampled to {} Hz, not \
         trimmed): whole files for training until they hold {} s (the last one cut), then the \
         next whole files for the held-out excerpt until they hold {} s, so no file is in both; \
         training and held-out audio are normalized together to unit L2 norm. A speaker whose \
         shorter files cannot fill both is left out, as is a file that does not decode, is \
         silent or is shorter than the longest analysis window. Here: {} files on their own, {} \
         speakers joined, {} left out{}.\n",
        c.train_seconds,
        c.test_seconds,
        c.train_seconds,
        c.test_seconds,
        c.sample_rate,
        c.train_seconds,
        c.test_seconds,
        corpus.speech.len() - joined.len(),
        joined.len(),
        corpus.left_out.len(),
        if corpus.left_out.is_empty() {
            String::new()
        } else {
            format!(
                " ({})",
                corpus
                    .left_out
                    .iter()
                    .take(5)
                    .map(|l| format!("`{}`: {}", l.path.display(), l.reason))
                    .collect::<Vec<_>>()
                    .join("; ")
                    + if corpus.left_out.len() > 5 { "; ..." } else { "" }
            )
        }
    );
    for r in joined.iter().take(10) {
        let names = |role: crate::PartRole| -> Vec<String> {
            r.parts
                .iter()
                .filter(|p| p.role == role)
                .map(|p| format!("`{}`", p.name))
                .collect()
        };
        let _ = writeln!(
            s,
            "- `{}`: training {}; held-out {}",
            r.name,
            names(crate::PartRole::Train).join(", "),
            names(crate::PartRole::Heldout).join(", ")
        );
    }
    if joined.len() > 10 {
        let _ = writeln!(s, "- ... ({} more speakers)", joined.len() - 10);
    }
    if !joined.is_empty() {
        let _ = writeln!(s);
    }
}

/// The report as Markdown. `figures`: paths relative to the output folder.
pub fn markdown(results: &Results, figures: &[PathBuf]) -> String {
    let c = &results.config;
    let mut s = String::new();
    let _ = writeln!(s, "# iN-NMF experiment report\n");
    let _ = writeln!(
        s,
        "Studies: {}. {}, configuration hash `{}`. Every number below is recomputed from \
         `results.json` (`innmf experiment report --out DIR` redraws this file). Medians with \
         {:.0} % percentile-bootstrap intervals ({} resamples); paired differences compare the \
         methods on the same recordings / pairs.\n",
        results
            .studies
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(", "),
        seeds_line(results),
        results.config_hash,
        LEVEL * 100.0,
        c.bootstrap
    );
    let _ = writeln!(
        s,
        "Settings: rank {}, p = {}, iN-NMF W networks width {} trained at window {} (hop {}) for \
         {} Rprop steps on the first {} s of each recording; H refit {} steps (reconstruction) / \
         {} steps (separation); NMF: {} KL multiplicative updates from the `{}` start at every \
         window; windows {:?} with hop = window/2; {} Hz; mask `{}`.\n",
        c.rank,
        c.power,
        c.width,
        c.train_window,
        c.train_window / 2,
        c.innmf_steps,
        c.train_seconds,
        c.refit_steps,
        c.separation_steps,
        c.nmf_iter,
        c.nmf_init.name(),
        c.windows,
        c.sample_rate,
        serde_json::to_value(c.mask)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    );
    if c.preset.is_some() || !c.innmf_training.is_paper() || c.separation_solver != HSolver::Rprop {
        let _ = writeln!(
            s,
            "iN-NMF protocol: preset `{}`; training options {}; activations on a mixture by \
             `{}` ({} steps).\n",
            c.preset.map_or("none".to_string(), |p| p.to_string()),
            serde_json::to_string(&c.innmf_training).unwrap_or_default(),
            serde_json::to_value(c.separation_solver)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            c.separation_steps
        );
    }
    let _ = writeln!(
        s,
        "Speech recordings: {}. Music recordings: {}.\n",
        results
            .corpus
            .speech
            .iter()
            .map(|r| format!("`{}` ({})", r.name, r.speaker))
            .collect::<Vec<_>>()
            .join(", "),
        results
            .corpus
            .music
            .iter()
            .map(|r| format!("`{}`", r.name))
            .collect::<Vec<_>>()
            .join(", ")
    );
    material_paragraph(&mut s, results);

    if results.studies.contains(&Study::Reconstruction) {
        recon_section(&mut s, results);
    }
    if results.studies.contains(&Study::Separation) {
        if !results.rows.separation.is_empty() || results.rows.music.is_empty() {
            sep_section(&mut s, results);
        }
        if let Some(m) = &c.music {
            music_section(&mut s, results, m);
        }
    }
    if results.studies.contains(&Study::Transfer) {
        let (names, m) = transfer_matrix(results);
        let _ = writeln!(s, "## Transfer across representations\n");
        let _ = writeln!(
            s,
            "W learned on representation A (rows; implicit W and H, {} steps on the first {} s), \
             frozen; a fresh implicit H fitted on B (columns, {} steps). Cell: median over \
             recordings of KL(A→B) / KL(B→B); 1 on the diagonal, lower is better.\n",
            c.transfer.steps, c.transfer.seconds, c.transfer.refit_steps
        );
        let _ = writeln!(s, "| A \\ B | {} |", names.join(" | "));
        let _ = writeln!(s, "|---|{}", "---|".repeat(names.len()));
        for (a, row) in names.iter().zip(&m) {
            let cells: Vec<String> = row.iter().map(|&v| fmt_num(v)).collect();
            let _ = writeln!(s, "| {a} | {} |", cells.join(" | "));
        }
        let _ = writeln!(s);
    }
    if results.studies.contains(&Study::Hybrid) {
        let _ = writeln!(s, "## Hybrid decomposition\n");
        let _ = writeln!(
            s,
            "The paper's demo (STFT 128/32, STFT 1024/256 and the constant-Q transform in \
             sequence) on the first {} s of each music recording at {} Hz, rank {}. Separation \
             ratio (where a note list gives two pitches): min over the two components of \
             (activity on its own note) / (activity on the other); above 1 means each component \
             took one note.\n",
            c.hybrid.seconds, c.hybrid.sample_rate, c.hybrid.rank
        );
        let _ = writeln!(
            s,
            "| recording | seconds | points | final loss | separation ratio | figures |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|---|");
        for r in &results.rows.hybrid {
            let figs: Vec<String> = r
                .figures
                .iter()
                .map(|p| {
                    let name = Path::new(p)
                        .file_stem()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    format!("[{name}]({p})")
                })
                .collect();
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                r.recording,
                fmt_num(r.seconds),
                r.points,
                fmt_num(r.final_loss),
                fmt_num(r.separation_ratio.unwrap_or(f64::NAN)),
                figs.join(", ")
            );
        }
        let _ = writeln!(s);
    }

    let _ = writeln!(s, "## Where the time goes\n");
    let _ = writeln!(
        s,
        "Compute seconds per kind of unit (summed over units, as recorded when each ran; units \
         run {} at a time). Wall clock of the invocation that wrote this report: {:.1} s.\n",
        results.jobs, results.wall_s
    );
    let _ = writeln!(s, "| unit | seconds |");
    let _ = writeln!(s, "|---|---|");
    for (k, v) in &results.seconds_by_kind {
        let _ = writeln!(s, "| {k} | {v:.1} |");
    }
    let _ = writeln!(s);
    if !figures.is_empty() {
        let _ = writeln!(s, "## Figures\n");
        for f in figures {
            let p = f.to_string_lossy();
            let _ = writeln!(s, "![{p}]({p})\n");
        }
    }
    s
}

fn recon_section(s: &mut String, results: &Results) {
    let c = &results.config;
    let rows = &results.rows.reconstruction;
    let _ = writeln!(s, "## Reconstruction across window sizes\n");
    let _ = writeln!(
        s,
        "iN-NMF trained once at window {} and H refit at each window, versus NMF fit at each \
         window. `train`: the first {} s (what the paper measures); `heldout`: the {} s after it \
         (iN-NMF refits H; NMF fits H with its training W). iN-NMF vs NMF: per recording \
         (paired), the ratio iN-NMF / NMF for the errors (KL, NMSE, IS: below 1 favours \
         iN-NMF) and the difference iN-NMF − NMF for the spectral SDR (above 0 favours iN-NMF); \
         its median and interval over recordings.\n",
        c.train_window, c.train_seconds, c.test_seconds
    );
    for split in [Split::Train, Split::Heldout] {
        let _ = writeln!(s, "### {}\n", split.name());
        let _ = writeln!(
            s,
            "| window | metric | iN-NMF median [CI] | NMF median [CI] | iN-NMF vs NMF [CI] | iN-NMF better |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|---|");
        for w in windows(results) {
            for (metric, label) in RECON_METRICS {
                let of = |method: TemplateMethod| {
                    keyed(rows, |r| {
                        (r.method == method && r.window == w && r.split == split).then(|| {
                            (
                                r.recording.clone(),
                                r.scores.get(metric).unwrap_or(f64::NAN),
                            )
                        })
                    })
                };
                let a = of(TemplateMethod::Innmf);
                let b = of(TemplateMethod::Nmf);
                if a.is_empty() && b.is_empty() {
                    continue;
                }
                let name = format!("recon.{}.{w}.{metric}", split.name());
                let (ea, eb, x, y) = both_methods(results, &name, &a, &b);
                // errors: the ratio, lower is better; the spectral SDR: the difference in dB,
                // higher is better
                let higher_better = metric == "sdr_freq";
                let cmp: Vec<f64> = x
                    .iter()
                    .zip(&y)
                    .map(|(p, q)| if higher_better { p - q } else { p / q })
                    .collect();
                let er = bootstrap_median(
                    &cmp,
                    c.bootstrap,
                    LEVEL,
                    cell_seed(results, &(name.clone() + ".ratio")),
                );
                let lower = x
                    .iter()
                    .zip(&y)
                    .filter(|(p, q)| if higher_better { p > q } else { p < q })
                    .count();
                let _ = writeln!(
                    s,
                    "| {w} | {label} | {} | {} | {} | {lower}/{} |",
                    fmt_est(&ea),
                    fmt_est(&eb),
                    fmt_est(&er),
                    x.len()
                );
            }
        }
        let _ = writeln!(s);
    }
}

fn sep_section(s: &mut String, results: &Results) {
    let c = &results.config;
    let rows = &results.rows.separation;
    let _ = writeln!(s, "## Separation across window sizes\n");
    let _ = writeln!(
        s,
        "Pairs of distinct speakers: {} ({}). Training: the first {} s of each recording; \
         mixture: the next {} s of both, the second scaled to the first's energy (0 dB). iN-NMF \
         trained at window {} only; NMF trained at each window. Scores averaged over the two \
         sources. Δ = iN-NMF − NMF per pair (paired).\n",
        results.pairs.len(),
        results
            .pairs
            .iter()
            .map(|(a, b)| format!("{a}+{b}"))
            .collect::<Vec<_>>()
            .join(", "),
        c.train_seconds,
        c.test_seconds,
        c.train_window
    );
    for (metric, label) in SEP_METRICS {
        let _ = writeln!(s, "### {label}\n");
        let _ = writeln!(
            s,
            "| window | iN-NMF median [CI] | NMF median [CI] | Δ median [CI] | iN-NMF higher |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|");
        for w in windows(results) {
            let of = |method: TemplateMethod| {
                keyed(rows, |r| {
                    (r.method == method && r.window == w)
                        .then(|| (r.pair.clone(), r.get(metric).unwrap_or(f64::NAN)))
                })
            };
            let a = of(TemplateMethod::Innmf);
            let b = of(TemplateMethod::Nmf);
            let name = format!("sep.{w}.{metric}");
            let (ea, eb, x, y) = both_methods(results, &name, &a, &b);
            let d = paired(
                &x,
                &y,
                c.bootstrap,
                LEVEL,
                cell_seed(results, &(name.clone() + ".diff")),
            );
            let _ = writeln!(
                s,
                "| {w} | {} | {} | {} | {}/{} |",
                fmt_est(&ea),
                fmt_est(&eb),
                fmt_est(&d.diff),
                d.a_wins,
                d.n
            );
        }
        let _ = writeln!(s);
    }
}

/// A music method of the report: label, and which rows it holds.
struct MusicColumn {
    label: String,
    method: &'static str,
    representation: Option<String>,
    window: Option<usize>,
}

impl MusicColumn {
    fn holds(&self, r: &MusicRow) -> bool {
        r.method == self.method
            && self
                .representation
                .as_ref()
                .is_none_or(|x| *x == r.representation)
            && self.window.is_none_or(|w| r.window == Some(w))
    }
}

/// NMF's window per instrument: the best median SDR on the selection part (fold 0; the smaller
/// window on a tie); `None` without selection rows.
pub fn music_nmf_choice(results: &Results) -> BTreeMap<String, Option<usize>> {
    let rows = &results.rows.music;
    let mut out = BTreeMap::new();
    let Some(m) = &results.config.music else {
        return out;
    };
    for inst in music_instruments(results) {
        let mut best: Option<(usize, f64)> = None;
        for &w in &m.windows {
            let v: Vec<f64> = rows
                .iter()
                .filter(|r| {
                    r.fold == 0 && r.method == "nmf" && r.window == Some(w) && r.instrument == inst
                })
                .map(|r| r.sdr)
                .collect();
            let med = median(&v);
            if med.is_finite() && best.is_none_or(|(_, b)| med > b) {
                best = Some((w, med));
            }
        }
        out.insert(inst, best.map(|b| b.0));
    }
    out
}

fn music_instruments(results: &Results) -> Vec<String> {
    let mut v: Vec<String> = results
        .rows
        .music
        .iter()
        .map(|r| r.instrument.clone())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The reported (fold > 0) values of `metric` of `inst` by `col`, keyed by track, mixture and
/// fold; NMF-best (`col` None) takes the window chosen on the selection part.
fn music_values(
    results: &Results,
    col: Option<&MusicColumn>,
    choice: &BTreeMap<String, Option<usize>>,
    inst: &str,
    metric: &str,
) -> Vec<(String, f64)> {
    keyed(&results.rows.music, |r| {
        let ok = r.fold > 0
            && r.instrument == inst
            && match col {
                Some(c) => c.holds(r),
                None => {
                    r.method == "nmf"
                        && choice.get(inst).copied().flatten().is_some()
                        && r.window == choice.get(inst).copied().flatten()
                }
            };
        ok.then(|| {
            (
                format!("{}|{}|{}", r.track, r.mix, r.fold),
                r.get(metric).unwrap_or(f64::NAN),
            )
        })
    })
}

fn music_section(s: &mut String, results: &Results, m: &MusicConfig) {
    let c = &results.config;
    let rows = &results.rows.music;
    let _ = writeln!(
        s,
        "## Music separation in every representation
"
    );
    let mut tracks: Vec<&str> = rows.iter().map(|r| r.track.as_str()).collect();
    tracks.sort();
    tracks.dedup();
    let mut mixes: Vec<&str> = rows.iter().map(|r| r.mix.as_str()).collect();
    mixes.sort();
    mixes.dedup();
    let reps: Vec<String> = m
        .representations
        .iter()
        .map(music_representation_name)
        .collect();
    let _ = writeln!(
        s,
        "Tracks of aligned stems: {} ({} Hz). Each track is cut into {} equal time folds; per \
         held-out fold, each stem's templates are learned on the other folds joined: iN-NMF \
         (rank {}, width {}, {} Rprop steps, unit-tone calibrated) in each representation ({}), \
         NMF ({} KL multiplicative updates) at STFT windows {:?} (hop = window/4). Every mixture \
         of two or more stems of the held-out fold (the stems summed as recorded): {}. iN-NMF \
         fits activations ({} Rprop steps{}) and separates in its representation; NMF fits \
         activations ({} MU iterations) at its window; mask `{}`; the oracle rows use the true \
         stems' `|c|^p` as the models (the representation's limit with this mask). Scores: BSS \
         Eval v3 per stem, no permutation search. **Fold 0 is the selection part**: NMF's best \
         window per instrument (best median SDR there) is chosen on it; every number below is \
         on the other folds (n = folds 1–{} × the mixtures holding the instrument).\n",
        tracks.join(", "),
        m.sample_rate,
        m.folds,
        m.rank,
        m.width,
        m.steps,
        reps.join(", "),
        m.nmf_iter,
        m.windows,
        mixes.join(", "),
        m.separation_steps,
        m.h_step
            .map(|h| format!(", knots every {h} s"))
            .unwrap_or_default(),
        m.nmf_iter,
        serde_json::to_value(m.mask)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        m.folds - 1
    );
    let choice = music_nmf_choice(results);
    let insts = music_instruments(results);
    let _ = writeln!(
        s,
        "NMF's window chosen on fold 0: {}.\n",
        insts
            .iter()
            .map(|i| format!(
                "{i} {}",
                choice
                    .get(i)
                    .copied()
                    .flatten()
                    .map_or("–".to_string(), |w| w.to_string())
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut cols: Vec<MusicColumn> = reps
        .iter()
        .map(|r| MusicColumn {
            label: format!("iN-NMF {r}"),
            method: "innmf",
            representation: Some(r.clone()),
            window: None,
        })
        .collect();
    let nmf_cols = m.windows.iter().map(|&w| MusicColumn {
        label: format!("NMF {w}"),
        method: "nmf",
        representation: None,
        window: Some(w),
    });
    let oracle_cols: Vec<MusicColumn> = reps
        .iter()
        .map(|r| MusicColumn {
            label: format!("oracle {r}"),
            method: "oracle",
            representation: Some(r.clone()),
            window: None,
        })
        .collect();
    let n_innmf = cols.len();
    cols.extend(nmf_cols);
    cols.extend(oracle_cols);
    for (metric, label) in [("sdr", "SDR"), ("sir", "SIR"), ("sar", "SAR")] {
        let _ = writeln!(s, "### {label} (dB), median [95 % CI] (n)\n");
        let _ = writeln!(s, "| method | {} |", insts.join(" | "));
        let _ = writeln!(s, "|---|{}", "---|".repeat(insts.len()));
        let cell = |vals: &[(String, f64)], name: &str| {
            let v: Vec<f64> = vals.iter().map(|x| x.1).collect();
            let e = bootstrap_median(&v, c.bootstrap, LEVEL, cell_seed(results, name));
            format!("{} ({})", fmt_est(&e), e.n)
        };
        let mut line = |lab: &str, col: Option<&MusicColumn>| {
            let cells: Vec<String> = insts
                .iter()
                .map(|i| {
                    let v = music_values(results, col, &choice, i, metric);
                    cell(&v, &format!("music.{lab}.{i}.{metric}"))
                })
                .collect();
            let _ = writeln!(s, "| {lab} | {} |", cells.join(" | "));
        };
        for col in &cols[..n_innmf] {
            line(&col.label, Some(col));
        }
        line("NMF at its best window", None);
        for col in &cols[n_innmf..] {
            line(&col.label, Some(col));
        }
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "Δ{label} = iN-NMF − NMF at its best window, paired by mixture and fold: median \
             [95 % CI], iN-NMF higher / n.\n"
        );
        let _ = writeln!(s, "| representation | {} |", insts.join(" | "));
        let _ = writeln!(s, "|---|{}", "---|".repeat(insts.len()));
        for col in &cols[..n_innmf] {
            let cells: Vec<String> = insts
                .iter()
                .map(|i| {
                    let a = music_values(results, Some(col), &choice, i, metric);
                    let b = music_values(results, None, &choice, i, metric);
                    let (x, y) = matched(&a, &b);
                    let name = format!("music.{}.{i}.{metric}.diff", col.label);
                    let d = paired(&x, &y, c.bootstrap, LEVEL, cell_seed(results, &name));
                    format!("{} {}/{}", fmt_est(&d.diff), d.a_wins, d.n)
                })
                .collect();
            let _ = writeln!(s, "| {} | {} |", col.label, cells.join(" | "));
        }
        let _ = writeln!(s);
    }
    // the goal of issue 16: a constant-Q iN-NMF ≥ 1 dB median SDR over NMF-best on the lowest
    // instrument (bass), no instrument worse by more than 0.5 dB
    let low = insts.iter().find(|i| i.contains("bass")).cloned();
    for col in cols[..n_innmf].iter().filter(|c| {
        c.representation
            .as_ref()
            .is_some_and(|r| r.starts_with("nsgt") || r.starts_with("cwt"))
    }) {
        let deltas: Vec<(String, f64)> = insts
            .iter()
            .map(|i| {
                let a = music_values(results, Some(col), &choice, i, "sdr");
                let b = music_values(results, None, &choice, i, "sdr");
                let (x, y) = matched(&a, &b);
                let d: Vec<f64> = x.iter().zip(&y).map(|(p, q)| p - q).collect();
                (i.clone(), median(&d))
            })
            .collect();
        let worst = deltas.iter().fold(
            f64::INFINITY,
            |w, (_, d)| if d.is_finite() { w.min(*d) } else { w },
        );
        let low_d = low
            .as_ref()
            .and_then(|l| deltas.iter().find(|(i, _)| i == l))
            .map(|x| x.1);
        let met = low_d.is_some_and(|d| d >= 1.0) && worst >= -0.5;
        let _ = writeln!(
            s,
            "Goal (issue 16) for {}: ≥ 1 dB median ΔSDR on {} (got {}) and no instrument below \
             −0.5 dB (lowest: {}): **{}**.\n",
            col.label,
            low.as_deref().unwrap_or("the bass (no stem named bass)"),
            fmt_num(low_d.unwrap_or(f64::NAN)),
            fmt_num(worst),
            if met { "met" } else { "not met" }
        );
    }
    let figs: Vec<&String> = rows.iter().flat_map(|r| r.figures.iter()).collect();
    if !figs.is_empty() {
        let _ = writeln!(
            s,
            "Spectrograms of one separated excerpt (the full mixture of fold 1, its first 3 s, \
             STFT of ~93 ms, dB colour): {}\n",
            figs.iter()
                .map(|p| {
                    let name = Path::new(p.as_str())
                        .file_stem()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    format!("[{name}]({p})")
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}

/// Draws the studies' figures under `out/figures`; returns their paths relative to `out`.
///
/// # Errors
/// An unwritable folder or a drawing failure.
pub fn write_figures(out: &Path, results: &Results) -> Result<Vec<PathBuf>> {
    #[cfg(feature = "plot")]
    {
        use innmf::plot::{boxplots, heatmap, BoxGroup};
        let mut paths = Vec::new();
        let cats: Vec<String> = windows(results).iter().map(|w| w.to_string()).collect();
        let label_in = format!("iN-NMF (trained at {})", results.config.train_window);
        // per window, the values `pick` gives
        fn by_window<R>(
            windows: &[usize],
            rows: &[R],
            pick: impl Fn(&R, usize) -> Option<f64>,
        ) -> Vec<Vec<f64>> {
            windows
                .iter()
                .map(|&w| rows.iter().filter_map(|r| pick(r, w)).collect())
                .collect()
        }
        let ws = windows(results);
        if results.studies.contains(&Study::Reconstruction) {
            let rows = &results.rows.reconstruction;
            for split in [Split::Train, Split::Heldout] {
                let kl = |method: TemplateMethod| {
                    by_window(&ws, rows, |r, w| {
                        (r.method == method && r.window == w && r.split == split)
                            .then_some(r.scores.kl)
                    })
                };
                let groups = vec![
                    BoxGroup {
                        name: label_in.clone(),
                        values: kl(TemplateMethod::Innmf),
                    },
                    BoxGroup {
                        name: "NMF (at each window)".into(),
                        values: kl(TemplateMethod::Nmf),
                    },
                ];
                let split = split.name();
                let rel = PathBuf::from(format!("figures/reconstruction_kl_{split}.png"));
                boxplots(
                    &out.join(&rel),
                    &format!("Reconstruction KL ({split})"),
                    "window (samples)",
                    "KL on |X|^p",
                    &cats,
                    &groups,
                )?;
                paths.push(rel);
            }
        }
        // the speech figures (a music-only run, --pairs 0, has no speech rows)
        if results.studies.contains(&Study::Separation)
            && (!results.rows.separation.is_empty() || results.rows.music.is_empty())
        {
            let rows = &results.rows.separation;
            for (metric, label) in SEP_METRICS {
                let of = |method: TemplateMethod| {
                    by_window(&ws, rows, |r, w| {
                        (r.method == method && r.window == w)
                            .then(|| r.get(metric).unwrap_or(f64::NAN))
                    })
                };
                let groups = vec![
                    BoxGroup {
                        name: label_in.clone(),
                        values: of(TemplateMethod::Innmf),
                    },
                    BoxGroup {
                        name: "NMF (trained at each window)".into(),
                        values: of(TemplateMethod::Nmf),
                    },
                ];
                let rel = PathBuf::from(format!("figures/separation_{metric}.png"));
                boxplots(
                    &out.join(&rel),
                    &format!("Separation: {label}"),
                    "window (samples)",
                    label,
                    &cats,
                    &groups,
                )?;
                paths.push(rel);
            }
        }
        if results.studies.contains(&Study::Transfer) {
            let (names, m) = transfer_matrix(results);
            let rel = PathBuf::from("figures/transfer.png");
            heatmap(
                &out.join(&rel),
                "KL(A→B) / KL(B→B), median over recordings",
                "templates learned on (A)",
                "refit on (B)",
                &names,
                &names,
                &m,
            )?;
            paths.push(rel);
        }
        Ok(paths)
    }
    #[cfg(not(feature = "plot"))]
    {
        let _ = (out, results);
        Ok(Vec::new())
    }
}
