//! Runs of one study at different seeds, averaged (`innmf experiment combine`).
//!
//! A seed changes every random choice of a run: NMF's start, the networks' start, the
//! activations' start on a mixture. On the shared speech corpus one pair's Δ SDR (iN-NMF − NMF)
//! moves by about 0.3 dB (standard deviation) from one seed to the next, and the median over
//! 11 pairs of a single seed by 0.3–0.4 dB (`studies/issue15/README.md`, item 16): more than
//! the differences a study is run to see. [`combine`] averages each row's scores over the runs
//! (a pair's separation scores at a window and for a method; a recording's reconstruction
//! scores), so the report's medians and paired intervals are taken over seed-averaged rows.
//!
//! Only runs that differ in their seed alone are combined: the same settings otherwise, the
//! same recordings, pairs and studies, and every row present in every run. Transfer, hybrid and
//! music rows are not averaged (their studies are run once); a run holding them is refused.

use crate::report;
use crate::results::{PerSource, ReconstructionRow, Results, SeparationRow};
use innmf::error::{Error, Result};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// The mean of `v` (non-finite values propagate: a +∞ SIR in every run stays +∞).
fn mean(v: impl IntoIterator<Item = f64>) -> f64 {
    let (s, n) = v
        .into_iter()
        .fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    s / n as f64
}

/// The first top-level field of two configurations' JSON that differs, other than `seed`.
fn config_difference(a: &serde_json::Value, b: &serde_json::Value) -> Option<String> {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return (a != b).then(|| "the configuration".to_string());
    };
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .find(|k| k.as_str() != "seed" && a.get(*k) != b.get(*k))
        .cloned()
}

/// The corpus as JSON without its file paths: the same recordings read from another folder
/// (another machine, a moved copy) are the same recordings.
fn recordings(corpus: &crate::Corpus) -> serde_json::Value {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.remove("path");
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(corpus).unwrap_or(serde_json::Value::Null);
    strip(&mut v);
    v
}

/// Averages `runs` (the same study at different seeds) row by row; the result's `seeds` lists
/// them, its configuration is the first run's, its seconds are the runs' sums.
///
/// # Errors
/// Fewer than two runs; runs whose settings differ in anything but the seed, with the same seed
/// twice, other recordings, pairs or studies, rows missing from some run, or transfer, hybrid or
/// music rows.
pub fn combine(runs: &[Results]) -> Result<Results> {
    if runs.len() < 2 {
        return Err(Error::param(
            "runs",
            runs.len(),
            "at least 2 runs of one study at different seeds (their rows are averaged)",
        ));
    }
    let first = &runs[0];
    let first_cfg = serde_json::to_value(&first.config)
        .map_err(|e| Error::param("config", e.to_string(), "a configuration that serializes"))?;
    let mut seeds: Vec<u64> = Vec::with_capacity(runs.len());
    for (i, r) in runs.iter().enumerate() {
        let what = format!("run {} (seed {})", i + 1, r.config.seed);
        if !r.seeds.is_empty() {
            return Err(Error::param(
                "runs",
                format!("{what}: already a combination of seeds {:?}", r.seeds),
                "single runs (combine the seeds' own runs together)",
            ));
        }
        for (study, n) in [
            ("transfer", r.rows.transfer.len()),
            ("hybrid", r.rows.hybrid.len()),
            ("music", r.rows.music.len()),
        ] {
            if n > 0 {
                return Err(Error::param(
                    "runs",
                    format!("{what}: {n} {study} rows"),
                    "runs of the reconstruction and separation studies only (the rows combine \
                     averages over seeds; run the transfer, hybrid and music studies once)",
                ));
            }
        }
        let cfg = serde_json::to_value(&r.config).map_err(|e| {
            Error::param("config", e.to_string(), "a configuration that serializes")
        })?;
        if let Some(field) = config_difference(&first_cfg, &cfg) {
            return Err(Error::param(
                "runs",
                format!("{what}: its `{field}` differs from run 1's"),
                "runs whose settings differ in their seed alone",
            ));
        }
        if seeds.contains(&r.config.seed) {
            return Err(Error::param(
                "runs",
                format!("{what}: seed {} twice", r.config.seed),
                "a different seed in every run (the same seed is the same random start)",
            ));
        }
        seeds.push(r.config.seed);
        if r.studies != first.studies {
            return Err(Error::param(
                "runs",
                format!("{what}: studies {:?}", r.studies),
                format!("run 1's studies {:?}", first.studies),
            ));
        }
        if recordings(&r.corpus) != recordings(&first.corpus) {
            return Err(Error::param(
                "runs",
                format!("{what}: other recordings than run 1's"),
                "runs on the same recordings",
            ));
        }
        let mut pa = r.pairs.clone();
        let mut pb = first.pairs.clone();
        pa.sort();
        pb.sort();
        if pa != pb {
            return Err(Error::param(
                "runs",
                format!("{what}: pairs {:?}", r.pairs),
                format!(
                    "run 1's pairs {:?} (give the study --pairs N with N the number of all \
                     distinct-speaker pairs, so every seed draws the same ones)",
                    first.pairs
                ),
            ));
        }
        if r.rows.separation.len() != first.rows.separation.len()
            || r.rows.reconstruction.len() != first.rows.reconstruction.len()
        {
            return Err(Error::param(
                "runs",
                format!(
                    "{what}: {} separation and {} reconstruction rows",
                    r.rows.separation.len(),
                    r.rows.reconstruction.len()
                ),
                format!(
                    "run 1's {} and {} (finished runs of the same plan)",
                    first.rows.separation.len(),
                    first.rows.reconstruction.len()
                ),
            ));
        }
    }

    let separation = average_rows(
        runs,
        |r| &r.rows.separation,
        |s| format!("{} {} at window {}", s.pair, s.method, s.window),
        |rows| {
            let r0 = rows[0];
            let per = |f: fn(&PerSource) -> &Vec<f64>| -> Result<Vec<f64>> {
                let n = f(&r0.per_source).len();
                if rows.iter().any(|r| f(&r.per_source).len() != n) {
                    return Err(Error::param(
                        "runs",
                        format!("separation rows of {} with other source counts", r0.pair),
                        "the same sources in every run",
                    ));
                }
                Ok((0..n)
                    .map(|j| mean(rows.iter().map(|r| f(&r.per_source)[j])))
                    .collect())
            };
            Ok(SeparationRow {
                pair: r0.pair.clone(),
                method: r0.method,
                window: r0.window,
                sdr: mean(rows.iter().map(|r| r.sdr)),
                sir: mean(rows.iter().map(|r| r.sir)),
                sar: mean(rows.iter().map(|r| r.sar)),
                si_sdr: mean(rows.iter().map(|r| r.si_sdr)),
                stoi: mean(rows.iter().map(|r| r.stoi)),
                per_source: PerSource {
                    sdr: per(|p| &p.sdr)?,
                    sir: per(|p| &p.sir)?,
                    sar: per(|p| &p.sar)?,
                    si_sdr: per(|p| &p.si_sdr)?,
                    stoi: per(|p| &p.stoi)?,
                    perm: r0.per_source.perm.clone(),
                },
                fit_final_loss: mean(rows.iter().map(|r| r.fit_final_loss)),
                fit_steps: rows.iter().map(|r| r.fit_steps).max().unwrap_or(0),
            })
        },
    )?;
    let reconstruction = average_rows(
        runs,
        |r| &r.rows.reconstruction,
        |s| {
            format!(
                "{} {} at window {} ({})",
                s.recording,
                s.method,
                s.window,
                s.split.name()
            )
        },
        |rows| {
            let r0 = rows[0];
            let m = |f: fn(&ReconstructionRow) -> f64| mean(rows.iter().map(|r| f(r)));
            let mut row = r0.clone();
            row.scores.kl = m(|r| r.scores.kl);
            row.scores.nmse = m(|r| r.scores.nmse);
            row.scores.sdr_freq = m(|r| r.scores.sdr_freq);
            row.scores.is = m(|r| r.scores.is);
            row.fit_loss = m(|r| r.fit_loss);
            Ok(row)
        },
    )?;

    let mut seconds_by_kind: BTreeMap<String, f64> = BTreeMap::new();
    for r in runs {
        for (k, v) in &r.seconds_by_kind {
            *seconds_by_kind.entry(k.clone()).or_default() += v;
        }
    }
    let mut out = first.clone();
    out.rows.separation = separation;
    out.rows.reconstruction = reconstruction;
    out.seconds_by_kind = seconds_by_kind;
    out.wall_s = runs.iter().map(|r| r.wall_s).sum();
    out.jobs = runs.iter().map(|r| r.jobs).max().unwrap_or(1);
    out.seeds = seeds;
    Ok(out)
}

/// Rows of every run matched by `key` (in run 1's order), each group made one by `avg`.
fn average_rows<R, K, A>(
    runs: &[Results],
    rows_of: impl Fn(&Results) -> &Vec<R>,
    key: K,
    avg: A,
) -> Result<Vec<R>>
where
    K: Fn(&R) -> String,
    A: Fn(&[&R]) -> Result<R>,
{
    let indexed: Vec<HashMap<String, &R>> = runs
        .iter()
        .map(|r| rows_of(r).iter().map(|row| (key(row), row)).collect())
        .collect();
    rows_of(&runs[0])
        .iter()
        .map(|row| {
            let k = key(row);
            let group = indexed
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    m.get(&k).copied().ok_or_else(|| {
                        Error::param(
                            "runs",
                            format!(
                                "run {} (seed {}) has no row for {k}",
                                i + 1,
                                runs[i].config.seed
                            ),
                            "every row in every run (finished runs of the same plan)",
                        )
                    })
                })
                .collect::<Result<Vec<&R>>>()?;
            avg(&group)
        })
        .collect()
}

/// The `results.json` of a run: `path` itself, or `path/results.json` for a run's folder.
fn results_path(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join("results.json")
    } else {
        path.to_path_buf()
    }
}

/// Reads the runs (folders or their `results.json`), [`combine`]s them and writes
/// `results.json`, `REPORT.md` and the figures into `out`, which must not be one of the runs'
/// folders nor any run's (a folder with `units/` or `plan.json`).
///
/// # Errors
/// An unreadable or malformed `results.json`, `out` among the inputs, those of [`combine`],
/// an unwritable `out`.
pub fn combine_runs(runs: &[PathBuf], out: &Path) -> Result<Results> {
    let files: Vec<PathBuf> = runs.iter().map(|p| results_path(p)).collect();
    let target = out.join("results.json");
    let canon = |p: &Path| std::fs::canonicalize(p).ok();
    if let Some(t) = canon(&target) {
        if let Some(f) = files
            .iter()
            .find(|f| canon(f).as_deref() == Some(t.as_path()))
        {
            return Err(Error::param(
                "out",
                out.display(),
                format!(
                    "a folder other than the runs' ({} is one of them and would be overwritten)",
                    f.display()
                ),
            ));
        }
    }
    if out.join("units").is_dir() || out.join("plan.json").is_file() {
        return Err(Error::param(
            "out",
            out.display(),
            "a folder of its own, not a run's (it holds units/ or plan.json, whose results.json \
             the averaged rows would replace)",
        ));
    }
    let all = files
        .iter()
        .map(|f| report::read_results(f))
        .collect::<Result<Vec<Results>>>()?;
    let combined = combine(&all)?;
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    report::write_all(out, &combined)?;
    Ok(combined)
}

#[cfg(test)]
mod tests {
    use super::*;
    use innmf::separate::TemplateMethod;
    use innmf::stats::median;

    /// A committed run of the issue-15 study (all 14 pairs of the shared speech corpus, windows
    /// 1000–2500, the `innmf` preset) at `seed`.
    fn run(seed: u64) -> Results {
        let path = format!(
            "{}/../../studies/issue15/runs/all-mid1-tt-f32-s{seed}.results.json",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1e-300)
    }

    #[test]
    fn three_seeds_average_every_row_and_give_paired_pys_medians() {
        let runs = [run(0), run(1), run(2)];
        let c = combine(&runs).unwrap();
        assert_eq!(c.seeds, [0, 1, 2]);
        assert_eq!(c.rows.separation.len(), runs[0].rows.separation.len());
        for (i, row) in c.rows.separation.iter().enumerate() {
            let same: Vec<&SeparationRow> = runs
                .iter()
                .map(|r| {
                    r.rows
                        .separation
                        .iter()
                        .find(|s| {
                            (&s.pair, s.method, s.window) == (&row.pair, row.method, row.window)
                        })
                        .unwrap()
                })
                .collect();
            // run 1's order, every score the mean of the three runs'
            assert_eq!(row.pair, runs[0].rows.separation[i].pair);
            let m = |f: fn(&SeparationRow) -> f64| same.iter().map(|r| f(r)).sum::<f64>() / 3.0;
            assert_eq!(row.sdr, m(|r| r.sdr));
            assert_eq!(row.stoi, m(|r| r.stoi));
            assert_eq!(
                row.per_source.sar[1],
                (same[0].per_source.sar[1] + same[1].per_source.sar[1] + same[2].per_source.sar[1])
                    / 3.0
            );
        }
        // golden values from studies/issue15/paired.py's averaging (numpy), 14 pairs:
        // rows('all-mid1-tt-f32-s0+…-s1+…-s2:innmf') − rows(…:nmf), median per window
        let golden = [
            (1000, 0.12095447062590114, 0.003536147169360404),
            (1500, 0.025267979263003504, 0.0009299149868677858),
            (2000, 0.002989518618428999, -7.160080780133082e-05),
            (2500, -0.09937704324143759, -0.00045389914828852795),
        ];
        for (w, sdr, stoi) in golden {
            let of = |m: TemplateMethod| {
                let mut v: Vec<&SeparationRow> = c
                    .rows
                    .separation
                    .iter()
                    .filter(|r| r.window == w && r.method == m)
                    .collect();
                v.sort_by(|a, b| a.pair.cmp(&b.pair));
                v
            };
            let (a, b) = (of(TemplateMethod::Innmf), of(TemplateMethod::Nmf));
            assert_eq!(a.len(), 14);
            let d = |f: fn(&SeparationRow) -> f64| -> Vec<f64> {
                a.iter().zip(&b).map(|(x, y)| f(x) - f(y)).collect()
            };
            assert!(
                close(median(&d(|r| r.sdr)), sdr),
                "{w}: {}",
                median(&d(|r| r.sdr))
            );
            assert!(close(median(&d(|r| r.stoi)), stoi), "{w}");
        }
        // the report says what was averaged
        let md = report::markdown(&c, &[]);
        assert!(
            md.contains("Seeds 0, 1, 2 (`innmf experiment combine`"),
            "{md}"
        );
        // and reads back from results.json
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(
            serde_json::from_str::<Results>(&json).unwrap().seeds,
            [0, 1, 2]
        );
        // a single run's results.json has no `seeds` field
        assert!(!serde_json::to_string(&runs[0])
            .unwrap()
            .contains("\"seeds\""));
    }

    #[test]
    fn runs_that_differ_in_more_than_the_seed_are_refused_by_name() {
        let msg = |runs: &[Results]| combine(runs).unwrap_err().to_string();
        let (a, b) = (run(0), run(1));
        assert!(msg(std::slice::from_ref(&a)).contains("at least 2 runs"));
        assert!(msg(&[a.clone(), a.clone()]).contains("seed 0 twice"));
        let mut other = b.clone();
        other.config.rank = 10;
        let m = msg(&[a.clone(), other]);
        assert!(m.contains("`rank` differs"), "{m}");
        let mut fewer = b.clone();
        fewer.rows.separation.pop();
        let m = msg(&[a.clone(), fewer]);
        assert!(m.contains("separation and"), "{m}");
        let mut renamed = b.clone();
        renamed.rows.separation[3].pair = "x+y".into();
        let m = msg(&[a.clone(), renamed]);
        assert!(m.contains("run 2 (seed 1) has no row for"), "{m}");
        let mut moved = b.clone();
        for r in &mut moved.corpus.speech {
            r.path = std::path::PathBuf::from("/elsewhere").join(r.path.file_name().unwrap());
        }
        assert_eq!(combine(&[a.clone(), moved]).unwrap().seeds, [0, 1]);
        let mut renamed_rec = b.clone();
        renamed_rec.corpus.speech[0].name = "someone".into();
        assert!(msg(&[a.clone(), renamed_rec]).contains("other recordings"));
        let mut pairs = b.clone();
        pairs.pairs.pop();
        assert!(msg(&[a.clone(), pairs]).contains("pairs"));
        let combined = combine(&[a.clone(), b.clone()]).unwrap();
        let m = msg(&[combined, run(2)]);
        assert!(m.contains("already a combination of seeds [0, 1]"), "{m}");
    }

    #[test]
    fn out_must_not_be_a_runs_folder() {
        let dir = tempfile::tempdir().unwrap();
        for (i, s) in [0u64, 1].iter().enumerate() {
            let d = dir.path().join(format!("r{i}"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(
                d.join("results.json"),
                serde_json::to_vec(&run(*s)).unwrap(),
            )
            .unwrap();
        }
        let runs = [dir.path().join("r0"), dir.path().join("r1/results.json")];
        let before = std::fs::read(dir.path().join("r0/results.json")).unwrap();
        let e = combine_runs(&runs, &dir.path().join("r0"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("would be overwritten"), "{e}");
        assert_eq!(
            std::fs::read(dir.path().join("r0/results.json")).unwrap(),
            before
        );
        // nor into another run's folder, even one not combined
        std::fs::create_dir_all(dir.path().join("r2/units")).unwrap();
        let e = combine_runs(&runs, &dir.path().join("r2"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("a folder of its own"), "{e}");
        assert!(!dir.path().join("r2/results.json").exists());
        let out = dir.path().join("both");
        let c = combine_runs(&runs, &out).unwrap();
        assert_eq!(c.seeds, [0, 1]);
        let md = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
        assert!(md.contains("Seeds 0, 1"), "{md}");
        let e = combine_runs(&[dir.path().join("r0"), dir.path().join("none")], &out)
            .unwrap_err()
            .to_string();
        assert!(e.contains("none"), "{e}");
    }
}
