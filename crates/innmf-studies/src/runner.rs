//! Running a plan: [`plan`] (what to compute), [`run_units`] (compute some units, skipping those
//! already done), [`collect`] (the rows of the finished units), and [`run`], all three in turn
//! with the report. Each unit writes its result atomically to `OUT/units/<id>.json` with its
//! hash ([`crate::plan`]); models go to `OUT/models/` and are always read back from there, so a
//! resumed run and a fresh run compute the same numbers.

use crate::config::{ExperimentConfig, Study};
use crate::corpus::{load_speech, Corpus};
use crate::plan::{Plan, Unit};
use crate::report;
use crate::results::{Results, Row, Rows, UnitRecord};
use crate::{hybrid, reconstruction, separation, transfer};
use innmf::error::{Error, Result};
use innmf::io;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// What to run and where.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOptions {
    /// The data folder.
    pub data: PathBuf,
    /// The output folder (created; reused to resume).
    pub out: PathBuf,
    /// The studies.
    pub studies: Vec<Study>,
    /// Speaker pairs of the separation study.
    pub pairs: usize,
    /// Units run at the same time.
    pub jobs: usize,
}

/// What a running experiment reports.
#[derive(Debug, Clone)]
pub enum Event {
    /// The plan: `total` units, `cached` of them already done.
    Planned {
        /// Units in the plan.
        total: usize,
        /// Units found finished on disk.
        cached: usize,
    },
    /// A unit finished.
    Finished {
        /// Its id.
        id: String,
        /// Seconds it took.
        elapsed_s: f64,
    },
}

/// What the units of a run read: the settings, the recordings, the output folder.
pub(crate) struct Ctx<'a> {
    pub(crate) cfg: &'a ExperimentConfig,
    pub(crate) corpus: &'a Corpus,
    pub(crate) out: &'a Path,
    speech: Vec<Option<Vec<f64>>>,
}

impl Ctx<'_> {
    pub(crate) fn signal(&self, rec: usize) -> Result<&[f64]> {
        self.speech[rec].as_deref().ok_or_else(|| {
            Error::format(
                &self.corpus.speech[rec].path,
                "recording not loaded (internal)",
            )
        })
    }

    pub(crate) fn sr(&self) -> f64 {
        self.cfg.sample_rate as f64
    }

    /// Training excerpt, held-out excerpt (may be shorter than `test_seconds`, or empty).
    pub(crate) fn excerpts(&self, rec: usize) -> Result<(&[f64], &[f64])> {
        let x = self.signal(rec)?;
        let n_train = ((self.cfg.train_seconds * self.sr()).round() as usize).min(x.len());
        let n_test = (self.cfg.test_seconds * self.sr()).round() as usize;
        let end = (n_train + n_test).min(x.len());
        Ok((&x[..n_train], &x[n_train..end]))
    }

    pub(crate) fn model_path(&self, name: &str) -> PathBuf {
        self.out.join("models").join(name)
    }
}

fn run_unit(ctx: &Ctx<'_>, unit: &Unit, seed: u64) -> Result<Vec<Row>> {
    match *unit {
        Unit::TrainInnmf { rec } => reconstruction::train_innmf(ctx, rec, seed),
        Unit::Nmf { rec, window } => reconstruction::nmf(ctx, rec, window, seed),
        Unit::ReconInnmf { rec, window } => reconstruction::refit_innmf(ctx, rec, window, seed),
        Unit::Separate {
            a,
            b,
            method,
            window,
        } => separation::separate_pair(ctx, a, b, method, window, seed),
        Unit::TransferTrain { rec, rep } => transfer::train(ctx, rec, rep, seed),
        Unit::Transfer { rec, from, to } => transfer::refit(ctx, rec, from, to, seed),
        Unit::Hybrid { rec } => hybrid::decompose(ctx, rec, seed),
    }
}

/// The corpus of `opts.data` and the plan of `opts.studies` on it.
///
/// # Errors
/// Invalid settings, an unreadable data folder, no speech recordings for a speech study, fewer
/// than two speakers for the separation study.
pub fn plan(cfg: &ExperimentConfig, opts: &RunOptions) -> Result<(Corpus, Plan)> {
    cfg.validate()?;
    if opts.studies.is_empty() {
        return Err(Error::Empty { what: "studies" });
    }
    let corpus = Corpus::open(&opts.data)?;
    let needs = |s: Study| opts.studies.contains(&s);
    let pairs = if needs(Study::Separation) {
        if opts.pairs == 0 {
            return Err(Error::param("pairs", 0, "at least 1"));
        }
        let p = corpus.pairs(opts.pairs, cfg.seed);
        if p.is_empty() {
            return Err(Error::param(
                "--data",
                opts.data.display(),
                "at least two speakers (flat layout: file names differing before the first \
                 '_') for the separation study",
            ));
        }
        p
    } else {
        Vec::new()
    };
    if (needs(Study::Reconstruction) || needs(Study::Transfer)) && corpus.speech.is_empty() {
        return Err(Error::param(
            "--data",
            opts.data.display(),
            "speech recordings (flat: DIR/speech or DIR; a TIMIT tree; speaker folders; a \
             manifest)",
        ));
    }
    let plan = Plan::new(cfg, &corpus, &opts.studies, &pairs);
    Ok((corpus, plan))
}

fn unit_path(out: &Path, id: &str) -> PathBuf {
    out.join("units").join(format!("{id}.json"))
}

/// The record of a finished unit `i` of `plan` in `out`: its file, when it holds the unit's
/// current hash.
pub fn finished(plan: &Plan, out: &Path, i: usize) -> Option<UnitRecord> {
    let u = &plan.units[i];
    let bytes = std::fs::read(unit_path(out, &u.id)).ok()?;
    let rec: UnitRecord = serde_json::from_slice(&bytes).ok()?;
    (rec.config_hash == u.hash).then_some(rec)
}

/// Runs the units `which` of `plan` (indices) that are not finished in `out`, `jobs` at a time,
/// each after the units it depends on (which must be finished or among `which`).
///
/// # Errors
/// An unreadable recording, one too short for the settings, a dependency neither finished nor
/// run, a failing unit (units finished before it stay on disk).
pub fn run_units(
    cfg: &ExperimentConfig,
    corpus: &Corpus,
    plan: &Plan,
    out: &Path,
    which: &[usize],
    jobs: usize,
    progress: &(dyn Fn(Event) + Sync),
) -> Result<()> {
    if jobs == 0 {
        return Err(Error::param("jobs", 0, "at least 1"));
    }
    let n = plan.units.len();
    let mut done: Vec<bool> = (0..n).map(|i| finished(plan, out, i).is_some()).collect();
    let mut wanted = vec![false; n];
    for &i in which {
        wanted[i] = true;
    }
    progress(Event::Planned {
        total: which.len(),
        cached: which.iter().filter(|&&i| done[i]).count(),
    });
    for &i in which {
        let missing: Vec<&str> = plan.units[i]
            .deps
            .iter()
            .filter(|&&d| !done[d] && !wanted[d])
            .map(|&d| plan.units[d].id.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(Error::param(
                "unit",
                &plan.units[i].id,
                format!("its dependencies finished first: {}", missing.join(", ")),
            ));
        }
    }

    // load the speech recordings the units to run read
    let todo: Vec<usize> = which.iter().copied().filter(|&i| !done[i]).collect();
    let sub = Plan {
        studies: plan.studies.clone(),
        pairs: plan.pairs.clone(),
        units: todo.iter().map(|&i| plan.units[i].clone()).collect(),
    };
    let used = sub.speech_used(corpus.speech.len());
    let mut speech = Vec::with_capacity(used.len());
    for (i, rec) in corpus.speech.iter().enumerate() {
        speech.push(if used[i] {
            Some(load_speech(rec, cfg.sample_rate)?)
        } else {
            None
        });
    }
    let ctx = Ctx {
        cfg,
        corpus,
        out,
        speech,
    };
    // every recording with a model must hold a training and a test excerpt
    let longest = cfg.windows.iter().copied().max().unwrap_or(0);
    for rec in plan.model_recordings().into_iter().filter(|&r| used[r]) {
        let (tr, te) = ctx.excerpts(rec)?;
        if tr.len() < cfg.train_window.max(longest) || te.len() < longest {
            return Err(Error::param(
                "recording",
                corpus.speech[rec].path.display(),
                format!(
                    "at least {} s of training audio plus one window ({longest} samples) of \
                     held-out audio at {} Hz",
                    cfg.train_seconds, cfg.sample_rate
                ),
            ));
        }
    }
    for d in ["units", "models", "figures"] {
        let p = out.join(d);
        std::fs::create_dir_all(&p).map_err(|e| Error::io(&p, e))?;
    }

    let mut pending = todo;
    while !pending.is_empty() {
        // the units whose dependencies are done, in plan order
        let (ready, rest): (Vec<usize>, Vec<usize>) = pending
            .iter()
            .partition(|&&i| plan.units[i].deps.iter().all(|&d| done[d]));
        if ready.is_empty() {
            return Err(Error::param(
                "plan",
                &plan.units[rest[0]].id,
                "a unit whose dependencies can finish (internal)",
            ));
        }
        for i in run_batch(&ctx, plan, &ready, jobs, progress)? {
            done[i] = true;
        }
        pending = rest;
    }
    Ok(())
}

/// Runs the units `ready` (whose dependencies are done), `jobs` at a time; returns those finished.
fn run_batch(
    ctx: &Ctx<'_>,
    plan: &Plan,
    ready: &[usize],
    jobs: usize,
    progress: &(dyn Fn(Event) + Sync),
) -> Result<Vec<usize>> {
    let next = Mutex::new(ready.iter().copied());
    let finished: Mutex<Vec<usize>> = Mutex::new(Vec::new());
    let failure: Mutex<Option<Error>> = Mutex::new(None);
    let stop = AtomicBool::new(false);
    let fail = |e: Error| {
        stop.store(true, Ordering::Relaxed);
        if let Ok(mut f) = failure.lock() {
            f.get_or_insert(e);
        }
    };
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(ready.len()) {
            scope.spawn(|| loop {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let Some(i) = next.lock().map(|mut q| q.next()).unwrap_or(None) else {
                    return;
                };
                let u = &plan.units[i];
                let start = Instant::now();
                let rows = match run_unit(ctx, &u.unit, u.seed) {
                    Ok(rows) => rows,
                    Err(e) => {
                        return fail(Error::format(
                            Path::new(&u.id),
                            format!("experiment unit failed: {e}"),
                        ))
                    }
                };
                let elapsed_s = start.elapsed().as_secs_f64();
                let record = UnitRecord {
                    id: u.id.clone(),
                    kind: u.unit.kind().to_string(),
                    config_hash: u.hash.clone(),
                    elapsed_s,
                    rows,
                };
                let path = unit_path(ctx.out, &u.id);
                if let Err(e) = io::write_json(&path, &record) {
                    return fail(e);
                }
                progress(Event::Finished {
                    id: u.id.clone(),
                    elapsed_s,
                });
                if let Ok(mut f) = finished.lock() {
                    f.push(i);
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().ok().flatten() {
        return Err(e);
    }
    Ok(finished.into_inner().unwrap_or_default())
}

/// The results of `plan` from the unit files in `out` (rows in plan order; compute seconds per
/// kind of unit).
///
/// # Errors
/// A unit that is not finished (named).
pub fn collect(
    cfg: &ExperimentConfig,
    corpus: &Corpus,
    plan: &Plan,
    out: &Path,
) -> Result<Results> {
    let mut rows = Rows::default();
    let mut seconds_by_kind: BTreeMap<String, f64> = BTreeMap::new();
    for (i, u) in plan.units.iter().enumerate() {
        let rec = finished(plan, out, i).ok_or_else(|| {
            Error::param(
                "unit",
                &u.id,
                format!(
                    "finished ({} with this unit's settings hash)",
                    unit_path(out, &u.id).display()
                ),
            )
        })?;
        *seconds_by_kind
            .entry(u.unit.kind().to_string())
            .or_default() += rec.elapsed_s;
        for r in rec.rows {
            rows.push(r, &plan.studies);
        }
    }
    Ok(Results {
        config: cfg.clone(),
        config_hash: cfg.hash(),
        studies: plan.studies.clone(),
        corpus: corpus.clone(),
        pairs: plan
            .pairs
            .iter()
            .map(|&(a, b)| (corpus.speech[a].name.clone(), corpus.speech[b].name.clone()))
            .collect(),
        rows,
        seconds_by_kind,
        wall_s: 0.0,
        jobs: 1,
    })
}

/// Runs the studies of `opts` with `cfg`, resuming from `opts.out`, and writes `results.json`,
/// `REPORT.md` and the figures there.
///
/// # Errors
/// Those of [`plan`], [`run_units`] and the report.
pub fn run(
    cfg: &ExperimentConfig,
    opts: &RunOptions,
    progress: &(dyn Fn(Event) + Sync),
) -> Result<Results> {
    let t0 = Instant::now();
    if opts.jobs == 0 {
        return Err(Error::param("jobs", 0, "at least 1"));
    }
    let (corpus, plan) = plan(cfg, opts)?;
    let all: Vec<usize> = (0..plan.units.len()).collect();
    run_units(cfg, &corpus, &plan, &opts.out, &all, opts.jobs, progress)?;
    let mut results = collect(cfg, &corpus, &plan, &opts.out)?;
    results.wall_s = t0.elapsed().as_secs_f64();
    results.jobs = opts.jobs;
    report::write_all(&opts.out, &results)?;
    Ok(results)
}

/// `OUT/plan.json`: what [`write_plan`] found, for [`run_planned`] and for people handing units
/// out (ids, kinds, dependencies by id, settings hashes).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PlanFile {
    /// The settings.
    pub config: ExperimentConfig,
    /// The data folder.
    pub data: PathBuf,
    /// The studies.
    pub studies: Vec<Study>,
    /// Separation pairs asked for.
    pub pairs: usize,
    /// The units, in plan order.
    pub units: Vec<PlanEntry>,
}

/// A unit of [`PlanFile`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PlanEntry {
    /// Its id.
    pub id: String,
    /// Its kind.
    pub kind: String,
    /// The ids of the units it reads.
    pub deps: Vec<String>,
    /// Its settings hash.
    pub hash: String,
}

fn plan_file(cfg: &ExperimentConfig, opts: &RunOptions, plan: &Plan) -> PlanFile {
    PlanFile {
        config: cfg.clone(),
        data: opts.data.clone(),
        studies: plan.studies.clone(),
        pairs: opts.pairs,
        units: plan
            .units
            .iter()
            .map(|u| PlanEntry {
                id: u.id.clone(),
                kind: u.unit.kind().to_string(),
                deps: u.deps.iter().map(|&d| plan.units[d].id.clone()).collect(),
                hash: u.hash.clone(),
            })
            .collect(),
    }
}

/// Plans the studies of `opts` and writes `OUT/plan.json` ([`PlanFile`]).
///
/// # Errors
/// Those of [`plan`]; an unwritable output folder.
pub fn write_plan(cfg: &ExperimentConfig, opts: &RunOptions) -> Result<PlanFile> {
    let (_, plan) = plan(cfg, opts)?;
    std::fs::create_dir_all(&opts.out).map_err(|e| Error::io(&opts.out, e))?;
    let file = plan_file(cfg, opts, &plan);
    io::write_json(&opts.out.join("plan.json"), &file)?;
    Ok(file)
}

/// Runs the units `ids` of `OUT/plan.json` (finished ones are skipped; a unit whose
/// dependencies are neither finished nor among `ids` is an error naming them), `jobs` at a time.
///
/// # Errors
/// A missing or malformed `plan.json`, a data folder that no longer gives the same plan, an
/// unknown id, and those of [`run_units`].
pub fn run_planned(
    out: &Path,
    ids: &[String],
    jobs: usize,
    progress: &(dyn Fn(Event) + Sync),
) -> Result<()> {
    let (file, corpus, plan) = read_plan(out, jobs)?;
    let path = out.join("plan.json");
    let mut which = Vec::with_capacity(ids.len());
    for id in ids {
        let i =
            plan.units.iter().position(|u| &u.id == id).ok_or_else(|| {
                Error::param("unit id", id, format!("an id of {}", path.display()))
            })?;
        which.push(i);
    }
    run_units(&file.config, &corpus, &plan, out, &which, jobs, progress)
}

/// Collects the units of `OUT/plan.json` (all finished) into `results.json`, `REPORT.md` and
/// the figures.
///
/// # Errors
/// Those of [`run_planned`]'s reading of the plan; a unit not finished (named).
pub fn collect_planned(out: &Path) -> Result<Results> {
    let (file, corpus, plan) = read_plan(out, 1)?;
    let results = collect(&file.config, &corpus, &plan, out)?;
    report::write_all(out, &results)?;
    Ok(results)
}

/// `OUT/plan.json`, planned again from its data folder (which must give the same plan).
fn read_plan(out: &Path, jobs: usize) -> Result<(PlanFile, Corpus, Plan)> {
    let path = out.join("plan.json");
    let bytes = io::read_bytes(&path)?;
    let file: PlanFile = serde_json::from_slice(&bytes)
        .map_err(|e| Error::format(&path, format!("not an experiment plan: {e}")))?;
    let opts = RunOptions {
        data: file.data.clone(),
        out: out.to_path_buf(),
        studies: file.studies.clone(),
        pairs: file.pairs,
        jobs,
    };
    let (corpus, plan) = plan(&file.config, &opts)?;
    if plan_file(&file.config, &opts, &plan) != file {
        return Err(Error::format(
            &path,
            format!(
                "{} no longer gives this plan (recordings added or removed?): plan again",
                file.data.display()
            ),
        ));
    }
    Ok((file, corpus, plan))
}
