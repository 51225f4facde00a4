//! Running a plan: [`plan`] (what to compute), [`run_units`] (compute some units, skipping those
//! already done), [`collect`] (the rows of the finished units), and [`run`], all three in turn
//! with the report. Each unit writes its result atomically to `OUT/units/<id>.json` with its
//! hash ([`mod@crate::plan`]); models go to `OUT/models/` and are always read back from there, so a
//! resumed run and a fresh run compute the same numbers.
//!
//! Several processes may share `OUT` (on one machine or over a network file system): each unit
//! is computed under its claim ([`crate::claims`]), [`run_planned`] runs given ids or one shard
//! of the plan ([`shard_units`], [`Selection`]), and every run starts by removing what crashed
//! writers left behind.

use crate::claims::{self, Claim, ClaimSettings, Claims};
use crate::config::{ExperimentConfig, Study};
use crate::corpus::Corpus;
use crate::material;
use crate::plan::{Plan, PlannedUnit, Unit, KINDS};
use crate::report;
use crate::results::{Results, Row, Rows, UnitRecord};
use crate::{hybrid, music, reconstruction, separation, transfer};
use innmf::error::{Error, Result};
use innmf::io;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
    /// A unit started (this process holds its claim).
    Started {
        /// Its id.
        id: String,
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
        // a huge test_seconds saturates n_test at usize::MAX: the sum must not wrap
        let end = n_train.saturating_add(n_test).min(x.len());
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
        Unit::MusicTrain { rec, fold, rep } => music::train(ctx, rec, fold, rep, seed),
        Unit::MusicNmf { rec, fold, window } => music::nmf(ctx, rec, fold, window, seed),
        Unit::MusicSeparate {
            track,
            subset,
            fold,
            method,
        } => music::separate_mix(ctx, track, subset, fold, method, seed),
    }
}

/// The corpus of `opts.data`, its speech recordings arranged into the studies' recordings
/// (long files on their own, a speaker's short files joined; unusable files and speakers left
/// out: [`crate::material::arrange`], which decodes every file the studies read), and the plan
/// of `opts.studies` on it.
///
/// # Errors
/// Invalid settings, an unreadable data folder, no usable speech recordings for a speech study,
/// fewer than two usable speakers for the separation study.
pub fn plan(cfg: &ExperimentConfig, opts: &RunOptions) -> Result<(Corpus, Plan)> {
    cfg.validate()?;
    crate::out_dir::check_out_dir(&opts.data, &opts.out)?;
    if opts.studies.is_empty() {
        return Err(Error::Empty { what: "studies" });
    }
    let needs = |s: Study| opts.studies.contains(&s);
    // the music separation study (issue 16): with it, speech pairs are optional
    let music = needs(Study::Separation) && cfg.music.is_some();
    let corpus = material::arrange(
        Corpus::open(&opts.data)?,
        cfg,
        needs(Study::Reconstruction) || needs(Study::Separation) || needs(Study::Transfer),
        needs(Study::Hybrid) || music,
    );
    let left_out = if corpus.left_out.is_empty() {
        String::new()
    } else {
        let shown: Vec<String> = corpus
            .left_out
            .iter()
            .take(3)
            .map(|l| format!("{}: {}", l.path.display(), l.reason))
            .collect();
        format!(
            "; {} recordings or speakers were left out ({}{}; `innmf experiment --dry-run` \
             lists them)",
            corpus.left_out.len(),
            shown.join("; "),
            if corpus.left_out.len() > 3 {
                "; ..."
            } else {
                ""
            }
        )
    };
    if music && music::tracks(&corpus).is_empty() {
        return Err(Error::param(
            "--data",
            opts.data.display(),
            format!(
                "a track of at least two aligned stems for the music separation study (flat: \
                 DIR/music/<track>_<instrument>.wav of one rate and length; stem folders; a \
                 manifest){left_out}"
            ),
        ));
    }
    let pairs = if needs(Study::Separation) && !(music && opts.pairs == 0) {
        if opts.pairs == 0 {
            return Err(Error::param(
                "pairs",
                0,
                "at least 1 (0 only with the music study, --representations)",
            ));
        }
        let p = corpus.pairs(opts.pairs, cfg.seed);
        if p.is_empty() && !music {
            return Err(Error::param(
                "--data",
                opts.data.display(),
                format!(
                    "at least two speakers (flat layout: file names differing before the first \
                     '_') for the separation study{left_out}"
                ),
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
            format!(
                "speech recordings (flat: DIR/speech or DIR; a TIMIT tree; speaker folders; a \
                 manifest){left_out}"
            ),
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
/// each after the units it depends on (which must be finished or among `which`). Each unit is
/// computed under its claim ([`crate::claims`]), so processes sharing `out` never compute one
/// unit together; a unit another process holds is waited for.
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
    claims: &ClaimSettings,
    progress: &(dyn Fn(Event) + Sync),
) -> Result<()> {
    run_selected(cfg, corpus, plan, out, which, true, jobs, claims, progress)
}

/// [`run_units`]; with `strict` false, a dependency outside `which` is waited for while
/// another process holds it and computed here otherwise (what a shard does).
fn run_selected(
    cfg: &ExperimentConfig,
    corpus: &Corpus,
    plan: &Plan,
    out: &Path,
    which: &[usize],
    strict: bool,
    jobs: usize,
    claim_settings: &ClaimSettings,
    progress: &(dyn Fn(Event) + Sync),
) -> Result<()> {
    check_jobs(jobs)?;
    claim_settings.validate()?;
    let n = plan.units.len();
    let done: Vec<bool> = (0..n).map(|i| finished(plan, out, i).is_some()).collect();
    let mut wanted = vec![false; n];
    for &i in which {
        wanted[i] = true;
    }
    progress(Event::Planned {
        total: which.len(),
        cached: which.iter().filter(|&&i| done[i]).count(),
    });
    for &i in which.iter().filter(|_| strict) {
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
    // what this process may compute: the unfinished units of `which` and their unfinished
    // dependencies (earlier in plan order)
    let mut may = vec![false; n];
    for i in (0..n).rev() {
        if !done[i] && (wanted[i] || may[i]) {
            may[i] = true;
            for &d in &plan.units[i].deps {
                may[d] = !done[d];
            }
        }
    }
    let todo: Vec<usize> = which.iter().copied().filter(|&i| !done[i]).collect();

    // load the speech recordings the units to run read
    let sub = Plan {
        studies: plan.studies.clone(),
        pairs: plan.pairs.clone(),
        units: (0..n)
            .filter(|&i| may[i])
            .map(|i| plan.units[i].clone())
            .collect(),
    };
    let used = sub.speech_used(corpus.speech.len());
    let mut speech = Vec::with_capacity(used.len());
    for (i, rec) in corpus.speech.iter().enumerate() {
        speech.push(if used[i] {
            Some(material::load(rec, cfg)?)
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
    let claims = Claims::open(out, *claim_settings)?;
    execute(&ctx, plan, &todo, jobs, &claims, progress)
}

/// Removes what crashed writers left in `out` ([`crate::claims`]): temporary files in `units/`
/// and `models/`, stale claims.
fn clean_up(out: &Path, claims: &Claims) -> Result<()> {
    let stale = claims.settings().stale_after;
    for d in ["units", "models"] {
        claims::remove_orphan_temps(&out.join(d), stale)?;
    }
    claims.sweep()?;
    Ok(())
}

/// What a worker does next.
enum Next {
    Run(usize),
    Wait,
    Finished,
}

struct SchedState {
    done: Vec<bool>,
    running: Vec<bool>,
}

/// Most parallel jobs, as a multiple of the cores (each job is a thread with a pool of its own).
pub const MAX_JOBS_PER_CORE: usize = 4;

/// Refuses 0 jobs and more than [`MAX_JOBS_PER_CORE`] per core, before any thread starts.
fn check_jobs(jobs: usize) -> Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let max = MAX_JOBS_PER_CORE * cores;
    if jobs == 0 || jobs > max {
        return Err(Error::param(
            "jobs",
            jobs,
            format!(
                "between 1 and {max} ({MAX_JOBS_PER_CORE} per core on this {cores}-core \
                 machine: each job computes a unit at a time)"
            ),
        ));
    }
    Ok(())
}

/// Computes the units `own` of `plan` (and, when no unit of `own` can start, the unfinished
/// dependencies of `own` that no live process holds), `jobs` at a time, each under its claim.
/// Waits (polling) for dependencies another process is computing; returns when every unit of
/// `own` is finished.
fn execute(
    ctx: &Ctx<'_>,
    plan: &Plan,
    own: &[usize],
    jobs: usize,
    claims: &Claims,
    progress: &(dyn Fn(Event) + Sync),
) -> Result<()> {
    clean_up(ctx.out, claims)?;
    let n = plan.units.len();
    let mut is_own = vec![false; n];
    for &i in own {
        is_own[i] = true;
    }
    let done: Vec<bool> = (0..n)
        .map(|i| finished(plan, ctx.out, i).is_some())
        .collect();
    let state = Mutex::new(SchedState {
        done,
        running: vec![false; n],
    });
    let lock = || state.lock().unwrap_or_else(|p| p.into_inner());
    let next = || -> Result<Next> {
        let mut st = lock();
        // the unfinished units of `own` and, through the dependencies (earlier in plan order),
        // every unit they need
        let mut need = vec![false; n];
        for i in (0..n).rev() {
            if !st.done[i] && (is_own[i] || need[i]) {
                need[i] = true;
                for &d in &plan.units[i].deps {
                    need[d] = true;
                }
            }
        }
        for i in 0..n {
            if need[i] && !st.done[i] && !st.running[i] && finished(plan, ctx.out, i).is_some() {
                st.done[i] = true;
            }
        }
        if own.iter().all(|&i| st.done[i] || st.running[i]) {
            return Ok(Next::Finished);
        }
        let stolen = (0..n).filter(|&i| need[i] && !is_own[i]);
        for i in own.iter().copied().chain(stolen) {
            let u = &plan.units[i];
            if st.done[i] || st.running[i] || !u.deps.iter().all(|&d| st.done[d]) {
                continue;
            }
            if claims.try_claim(&u.id)? == Claim::Held {
                continue;
            }
            // finished by another process between our look and the claim
            if finished(plan, ctx.out, i).is_some() {
                claims.release(&u.id);
                st.done[i] = true;
                continue;
            }
            st.running[i] = true;
            return Ok(Next::Run(i));
        }
        Ok(Next::Wait)
    };

    let failure: Mutex<Option<Error>> = Mutex::new(None);
    let stop = AtomicBool::new(false);
    let active = AtomicUsize::new(0);
    let fail = |e: Error| {
        stop.store(true, Ordering::Relaxed);
        if let Ok(mut f) = failure.lock() {
            f.get_or_insert(e);
        }
    };
    /// Counts a live worker down however it ends (a panic included).
    struct Active<'a>(&'a AtomicUsize);
    impl Drop for Active<'_> {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }
    let poll = claims.settings().poll;
    // sleeps `total`, or less once `wake` says so
    let sleep = |total: Duration, wake: &dyn Fn() -> bool| {
        let t = Instant::now();
        while t.elapsed() < total && !wake() {
            std::thread::sleep(Duration::from_millis(20).min(total));
        }
    };
    let workers = jobs.min(own.len()).max(1);
    // Each worker computes its units in a rayon pool of its own holding its share of the
    // caller's threads (at least one): workers on the global pool would take turns on it when it
    // has fewer threads than workers (`--threads 1 --jobs 2` ran on one core) and ignore a pool
    // the caller installed. Results do not depend on the thread count.
    let threads_per_worker = (rayon::current_num_threads() / workers).max(1);
    active.store(workers, Ordering::SeqCst);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let _active = Active(&active);
                let pool = match rayon::ThreadPoolBuilder::new()
                    .num_threads(threads_per_worker)
                    .build()
                {
                    Ok(pool) => pool,
                    Err(e) => {
                        return fail(Error::Unsupported {
                            what: format!("a worker pool of {threads_per_worker} threads"),
                            why: format!("the threads could not start: {e}"),
                        })
                    }
                };
                loop {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let i = match next() {
                        Err(e) => return fail(e),
                        Ok(Next::Finished) => return,
                        Ok(Next::Wait) => {
                            sleep(poll, &|| stop.load(Ordering::Relaxed));
                            continue;
                        }
                        Ok(Next::Run(i)) => i,
                    };
                    let u = &plan.units[i];
                    let result = pool.install(|| compute(ctx, u, progress));
                    claims.release(&u.id);
                    let mut st = lock();
                    st.running[i] = false;
                    match result {
                        Ok(()) => st.done[i] = true,
                        Err(e) => return fail(e),
                    }
                }
            });
        }
        // the heartbeat: refreshes this process's claims while a worker runs (also after a
        // failure, until the units still running end)
        scope.spawn(|| {
            while active.load(Ordering::SeqCst) > 0 {
                sleep(claims.settings().heartbeat(), &|| {
                    active.load(Ordering::SeqCst) == 0
                });
                claims.refresh();
            }
        });
    });
    if let Some(e) = failure.into_inner().ok().flatten() {
        return Err(e);
    }
    // claims left by processes that died after writing their unit
    claims.sweep()?;
    Ok(())
}

/// Computes one unit and writes its file.
fn compute(ctx: &Ctx<'_>, u: &PlannedUnit, progress: &(dyn Fn(Event) + Sync)) -> Result<()> {
    progress(Event::Started { id: u.id.clone() });
    let start = Instant::now();
    let rows = run_unit(ctx, &u.unit, u.seed)
        .map_err(|e| Error::format(Path::new(&u.id), format!("experiment unit failed: {e}")))?;
    let elapsed_s = start.elapsed().as_secs_f64();
    let record = UnitRecord {
        id: u.id.clone(),
        kind: u.unit.kind().to_string(),
        config_hash: u.hash.clone(),
        elapsed_s,
        rows,
    };
    io::write_json(&unit_path(ctx.out, &u.id), &record)?;
    progress(Event::Finished {
        id: u.id.clone(),
        elapsed_s,
    });
    Ok(())
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
        seeds: Vec::new(),
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
    check_jobs(opts.jobs)?;
    let (corpus, plan) = plan(cfg, opts)?;
    let all: Vec<usize> = (0..plan.units.len()).collect();
    run_units(
        cfg,
        &corpus,
        &plan,
        &opts.out,
        &all,
        opts.jobs,
        &ClaimSettings::default(),
        progress,
    )?;
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
    Ok(write_plan_of(cfg, opts)?.1)
}

/// [`write_plan`], also returning the corpus as planned (its speech recordings arranged, what
/// was left out: [`crate::material`]).
///
/// # Errors
/// Those of [`write_plan`].
pub fn write_plan_of(cfg: &ExperimentConfig, opts: &RunOptions) -> Result<(Corpus, PlanFile)> {
    let (corpus, plan) = plan(cfg, opts)?;
    std::fs::create_dir_all(&opts.out).map_err(|e| Error::io(&opts.out, e))?;
    let file = plan_file(cfg, opts, &plan);
    io::write_json(&opts.out.join("plan.json"), &file)?;
    Ok((corpus, file))
}

/// Which units of `OUT/plan.json` a process runs ([`run_planned`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// These ids (their dependencies must be finished or among them).
    Ids(Vec<String>),
    /// Shard `shard` of the units of `stage` ([`shard_units`]).
    Shard {
        /// Which slice.
        shard: Shard,
        /// Which units are sliced.
        stage: Stage,
    },
}

/// One of `count` slices of a plan: `--shard INDEX/COUNT`, `0 <= INDEX < COUNT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which slice, from 0.
    pub index: usize,
    /// How many slices.
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = Error;

    /// Reads `I/N` (`0/4` ... `3/4`), as Slurm's `$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT`
    /// gives it for `--array=0-(N-1)`.
    fn from_str(s: &str) -> Result<Shard> {
        let bad = || Error::param("--shard", s, "I/N with 0 <= I < N (e.g. 0/4 ... 3/4)");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// Which units of a plan a step of a two-step run (models first, then the rest) holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stage {
    /// Every unit.
    #[default]
    All,
    /// The units other units read: the iN-NMF and transfer models, and the NMF fits whose
    /// templates a separation reads.
    Models,
    /// Every other unit.
    Rest,
}

impl std::str::FromStr for Stage {
    type Err = Error;

    fn from_str(s: &str) -> Result<Stage> {
        match s {
            "all" => Ok(Stage::All),
            "models" => Ok(Stage::Models),
            "rest" => Ok(Stage::Rest),
            _ => Err(Error::param("--stage", s, "all, models or rest")),
        }
    }
}

/// The units of `plan` in `stage` (indices, plan order).
pub fn stage_units(plan: &Plan, stage: Stage) -> Vec<usize> {
    let mut read = vec![false; plan.units.len()];
    for u in &plan.units {
        for &d in &u.deps {
            read[d] = true;
        }
    }
    (0..plan.units.len())
        .filter(|&i| match stage {
            Stage::All => true,
            Stage::Models => read[i],
            Stage::Rest => !read[i],
        })
        .collect()
}

/// Shard `shard` of `units` (indices into `plan`), in plan order.
///
/// The rule: the units are grouped by depth in the dependency graph (0 for a unit that reads
/// no other unit, 1 + the deepest dependency otherwise), then by kind; groups in that order,
/// units in plan order within a group, are dealt out in turn, the `k`-th unit dealt to slice
/// `k mod N`. Every slice gets the same number of units of each depth and kind, give or take
/// one, so the slices cost about the same and a slice's models are ready about when the other
/// slices need them. The slices depend on the plan alone.
pub fn shard_units(plan: &Plan, units: &[usize], shard: Shard) -> Vec<usize> {
    let mut depth = vec![0usize; plan.units.len()];
    for (i, u) in plan.units.iter().enumerate() {
        depth[i] = u.deps.iter().map(|&d| depth[d] + 1).max().unwrap_or(0);
    }
    let kind = |i: usize| {
        KINDS
            .iter()
            .position(|&k| k == plan.units[i].unit.kind())
            .unwrap_or(KINDS.len())
    };
    let mut order = units.to_vec();
    // stable: plan order within a group
    order.sort_by_key(|&i| (depth[i], kind(i)));
    let mut mine: Vec<usize> = order
        .into_iter()
        .enumerate()
        .filter(|&(k, _)| k % shard.count == shard.index)
        .map(|(_, i)| i)
        .collect();
    mine.sort_unstable();
    mine
}

/// Runs the units `selection` picks from `OUT/plan.json`, `jobs` at a time, each under its claim
/// ([`crate::claims`]); finished ones are skipped.
///
/// With [`Selection::Ids`], a unit whose dependencies are neither finished nor among the ids is
/// an error naming them. With [`Selection::Shard`], the shard computes its slice
/// ([`shard_units`]) in plan order; a unit whose dependencies another process is computing is
/// skipped and revisited (every [`ClaimSettings::poll`]); when none of its own units can start,
/// the shard computes the unfinished dependencies they need that no live process holds (those of
/// a shard that died, or was never started). It returns when every unit of its slice is
/// finished, by it or by others.
///
/// # Errors
/// A missing or malformed `plan.json`, a data folder that no longer gives the same plan, an
/// unknown id, and those of [`run_units`].
pub fn run_planned(
    out: &Path,
    selection: &Selection,
    jobs: usize,
    claims: &ClaimSettings,
    progress: &(dyn Fn(Event) + Sync),
) -> Result<()> {
    let (file, corpus, plan) = read_plan(out, jobs)?;
    let path = out.join("plan.json");
    match selection {
        Selection::Ids(ids) => {
            let mut which = Vec::with_capacity(ids.len());
            for id in ids {
                let i = plan.units.iter().position(|u| &u.id == id).ok_or_else(|| {
                    Error::param("unit id", id, format!("an id of {}", path.display()))
                })?;
                which.push(i);
            }
            run_units(
                &file.config,
                &corpus,
                &plan,
                out,
                &which,
                jobs,
                claims,
                progress,
            )
        }
        Selection::Shard { shard, stage } => {
            let which = shard_units(&plan, &stage_units(&plan, *stage), *shard);
            run_selected(
                &file.config,
                &corpus,
                &plan,
                out,
                &which,
                false,
                jobs,
                claims,
                progress,
            )
        }
    }
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
