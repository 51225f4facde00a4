//! `innmf experiment`: the paper's studies on a folder of recordings, resumable, with a report.

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use innmf::error::Num;
use innmf_studies::{self as experiment, report, Event, ExperimentConfig, RunOptions, Study};
use std::io::IsTerminal;
use std::path::PathBuf;

/// What to run.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// iN-NMF trained at one window vs NMF at each window: spectral errors, train and held out.
    Reconstruction,
    /// Two-speaker separation across window sizes: SDR/SIR/SAR, SI-SDR, STOI.
    Separation,
    /// Templates learned on one representation, refit on another: KL matrix and heat map.
    Transfer,
    /// The paper's hybrid demo on every music recording, with figures.
    Hybrid,
    /// Every study.
    All,
    /// Redraw REPORT.md and the figures from OUT/results.json (no computation).
    Report,
    /// Write a small synthetic corpus (speech/ and music/) into --out, to try the studies.
    SynthCorpus,
    /// Write OUT/plan.json for the study named after it (units, dependencies, settings hashes).
    Plan,
    /// Run the units named after it (ids of OUT/plan.json), or with --shard I/N the I-th of N
    /// slices of the plan; finished ones are skipped. Processes sharing OUT never compute one
    /// unit twice (each unit is claimed in OUT/claims/).
    RunUnit,
    /// Collect the finished units of OUT/plan.json into results.json and REPORT.md.
    Collect,
    /// Average runs of one study at different seeds (their folders or results.json files,
    /// named after it) row by row into OUT/results.json, REPORT.md and the figures: each pair's
    /// and recording's scores over the random starts. The runs must differ in their seed alone
    /// (reconstruction and separation studies; for the same pairs at every seed, --pairs N with
    /// N all distinct-speaker pairs).
    Combine,
}

#[derive(Args, Debug)]
pub struct ExperimentArgs {
    /// The study (or `all`, `report`, `synth-corpus`).
    #[arg(value_enum)]
    pub which: Which,
    /// `plan`: the study (reconstruction, separation, transfer, hybrid, all); `run-unit`: unit
    /// ids of OUT/plan.json; `combine`: the runs (folders or results.json files).
    pub names: Vec<String>,
    /// Folder of recordings (any supported audio format, recognized by content), in one of the
    /// layouts: flat (DIR/speech/* and DIR/music/*, or files directly in DIR; speaker = the file
    /// name up to its first '_'), a TIMIT tree (`[TRAIN|TEST]/DR*/<SPEAKER>/<SENTENCE>.WAV`),
    /// speaker folders (LibriSpeech, VCTK) or stem folders per track (MUSDB). See the README.
    /// Required (or --manifest) by the studies and `plan`.
    #[arg(long, conflicts_with = "manifest")]
    pub data: Option<PathBuf>,
    /// A CSV manifest listing the recordings instead of --data: columns path (relative to the
    /// manifest), speaker and/or track, role (speech, music, mixture, vocals, bass, drums,
    /// other, accompaniment), split, sex.
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// Print what the data folder holds (layout, speakers, recordings, durations, per split,
    /// what was skipped and why) and the units of the plan, and stop.
    #[arg(long)]
    pub dry_run: bool,
    /// Output folder: units/, models/, figures/, results.json, REPORT.md. Rerunning with the
    /// same folder and settings resumes (finished units are not recomputed).
    #[arg(long)]
    pub out: PathBuf,
    /// Speaker pairs of the separation study (drawn with --seed among distinct-speaker pairs).
    #[arg(long, default_value_t = 10)]
    pub pairs: usize,
    /// Seed of every random choice (default: the --config file's `seed`, else 0).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Units run at the same time, each on its share of --threads (at least 1 thread each:
    /// --threads 1 --jobs 2 runs two single-threaded units).
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Settings as JSON (the `config` object of a results.json; missing fields are an error).
    /// Default: the paper's settings (arXiv 2404.04439, its TIMIT experiments) with --preset's.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Small, fast settings (8 kHz, windows 256/512, rank 4, few steps) for trials.
    #[arg(long, conflicts_with = "config")]
    pub quick: bool,
    /// iN-NMF protocol: innmf (ours, the default: W's networks fitted to NMF's templates,
    /// activations on a mixture by multiplicative updates; see the README) | paper (the authors':
    /// random start, 100 Rprop steps on a mixture). Sets innmf_training, separation_solver and
    /// separation_steps (also with --quick); a --config file's `"preset"` field does the same.
    /// Without either, a run whose settings leave those fields at the paper's values gets innmf;
    /// --quick (60 Rprop steps on a mixture) and a --config file that sets them otherwise run as
    /// written.
    #[arg(long)]
    pub preset: Option<innmf::separate::Preset>,
    /// The music separation study (part of `separation`): iN-NMF templates learned and
    /// separated in each of these representations (stft, nsgt, cwt, multires; comma-separated)
    /// against NMF at its best STFT window, on every track of aligned stems (e.g.
    /// DIR/music/ode_{piano,bass,flute}.wav). Sets the configuration's `music` settings (their
    /// defaults, or --quick's) or, when the --config file has them, their representations.
    /// With it, --pairs 0 runs no speech pairs.
    #[arg(long, value_name = "LIST")]
    pub representations: Option<String>,
    /// `run-unit`: run the I-th of N balanced slices of the plan (0 <= I < N), e.g.
    /// `--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT`. A unit whose dependencies another
    /// process is computing is revisited until they finish; dependencies nobody holds are
    /// computed here. Ends when every unit of the slice is finished.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<experiment::Shard>,
    /// `run-unit --shard`: slice only the units other units read (`models`: iN-NMF and
    /// transfer models, NMF templates), only the others (`rest`), or all of them.
    #[arg(long, default_value = "all", value_name = "STAGE", requires = "shard")]
    pub stage: experiment::Stage,
    /// Seconds after which another process's claim on a unit, not refreshed by its heartbeat,
    /// is taken over (a claim of a process that is gone from this machine is taken over at
    /// once).
    #[arg(long, default_value_t = 300.0, value_name = "SECONDS")]
    pub stale_after: f64,
}

fn claim_settings(stale_after: f64) -> Result<experiment::ClaimSettings> {
    if !(stale_after.is_finite() && stale_after > 0.0 && stale_after <= 1e9) {
        anyhow::bail!(
            "--stale-after {}: expected seconds in (0, 1e9] (the age after which \
             another process's claim on a unit is taken over)",
            Num(stale_after)
        );
    }
    Ok(experiment::ClaimSettings {
        stale_after: std::time::Duration::from_secs_f64(stale_after),
        ..Default::default()
    })
}

pub fn run(args: &ExperimentArgs) -> Result<()> {
    match args.which {
        Which::Report => {
            let r = report::regenerate(&args.out)?;
            eprintln!(
                "redrew {} from {}",
                args.out.join("REPORT.md").display(),
                args.out.join("results.json").display()
            );
            println!("{}", serde_json::to_string_pretty(&r.seconds_by_kind)?);
            return Ok(());
        }
        Which::SynthCorpus => {
            experiment::synthesize_corpus(&args.out, args.seed.unwrap_or(0))?;
            eprintln!("wrote a synthetic corpus to {}", args.out.display());
            return Ok(());
        }
        Which::RunUnit => {
            let selection = match (&args.shard, args.names.is_empty()) {
                (Some(shard), true) => experiment::Selection::Shard {
                    shard: *shard,
                    stage: args.stage,
                },
                (None, false) => experiment::Selection::Ids(args.names.clone()),
                (Some(_), false) => {
                    anyhow::bail!("run-unit: give unit ids or --shard I/N, not both")
                }
                (None, true) => anyhow::bail!(
                    "run-unit: name the unit ids to run (see OUT/plan.json), or --shard I/N"
                ),
            };
            // one line per unit (a batch log): which units this process computed
            let progress = |e: Event| match e {
                Event::Started { id } => eprintln!("started {id}"),
                Event::Finished { id, elapsed_s } => eprintln!("finished {id} ({elapsed_s:.1} s)"),
                Event::Planned { total, cached } => {
                    eprintln!("{total} units, {cached} already done")
                }
            };
            experiment::run_planned(
                &args.out,
                &selection,
                args.jobs,
                &claim_settings(args.stale_after)?,
                &progress,
            )?;
            return Ok(());
        }
        Which::Combine => {
            let runs: Vec<PathBuf> = args.names.iter().map(PathBuf::from).collect();
            let r = experiment::combine_runs(&runs, &args.out)?;
            eprintln!(
                "averaged {} runs (seeds {:?}) into {} and {}",
                runs.len(),
                r.seeds,
                args.out.join("results.json").display(),
                args.out.join("REPORT.md").display()
            );
            println!("{}", serde_json::to_string_pretty(&r.seconds_by_kind)?);
            return Ok(());
        }
        Which::Collect => {
            let r = experiment::collect_planned(&args.out)?;
            eprintln!(
                "wrote {} and {}",
                args.out.join("results.json").display(),
                args.out.join("REPORT.md").display()
            );
            println!("{}", serde_json::to_string_pretty(&r.seconds_by_kind)?);
            return Ok(());
        }
        _ => {}
    }
    if args.data.is_none() && args.manifest.is_none() {
        anyhow::bail!("--data DIR (or --manifest FILE.csv) is required: the recordings to study");
    }
    if args.which != Which::Plan && !args.names.is_empty() {
        anyhow::bail!("unexpected arguments: {}", args.names.join(" "));
    }
    let mut cfg = match (&args.config, args.quick) {
        (Some(p), _) => {
            let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
            serde_json::from_slice::<ExperimentConfig>(&bytes)
                .with_context(|| format!("{}: not an experiment configuration", p.display()))?
        }
        (None, true) => ExperimentConfig::quick(),
        (None, false) => ExperimentConfig::default(),
    };
    cfg.resolve_preset(args.preset)?;
    // a seed named on the command line overrides the configuration's (as Python's `seed=`)
    if let Some(seed) = args.seed {
        cfg.seed = seed;
    }
    if let Some(list) = &args.representations {
        let names: Vec<&str> = list
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        if names.is_empty() {
            anyhow::bail!(
                "--representations {list:?}: expected a comma-separated list of stft, nsgt, \
                 cwt, multires"
            );
        }
        cfg.music = Some(match cfg.music.take() {
            Some(mut m) => {
                m.representations = names
                    .iter()
                    .map(|n| experiment::music_representation(n, m.sample_rate as f64))
                    .collect::<innmf::Result<_>>()?;
                m
            }
            None if args.quick => experiment::MusicConfig::quick(&names)?,
            None => experiment::MusicConfig::for_representations(&names)?,
        });
    }
    let which = if args.which == Which::Plan {
        let [name] = args.names.as_slice() else {
            anyhow::bail!(
                "plan: name one study (reconstruction, separation, transfer, hybrid, all)"
            );
        };
        Which::from_str(name, true)
            .ok()
            .filter(|w| {
                matches!(
                    w,
                    Which::Reconstruction
                        | Which::Separation
                        | Which::Transfer
                        | Which::Hybrid
                        | Which::All
                )
            })
            .with_context(|| {
                format!("plan: {name} is not a study (reconstruction, separation, transfer, hybrid, all)")
            })?
    } else {
        args.which
    };
    let studies = match which {
        Which::Reconstruction => vec![Study::Reconstruction],
        Which::Separation => vec![Study::Separation],
        Which::Transfer => vec![Study::Transfer],
        Which::Hybrid => vec![Study::Hybrid],
        _ => Study::ALL.to_vec(),
    };
    let opts = RunOptions {
        data: args
            .manifest
            .clone()
            .or(args.data.clone())
            .unwrap_or_default(),
        out: args.out.clone(),
        studies,
        pairs: args.pairs,
        jobs: args.jobs,
    };
    if args.which == Which::Plan || args.dry_run {
        eprint!("{}", experiment::Corpus::open(&opts.data)?.summary());
    }
    let material = |corpus: &experiment::Corpus| {
        experiment::MaterialSummary {
            corpus,
            train_seconds: cfg.train_seconds,
            test_seconds: cfg.test_seconds,
            speech: opts.studies.iter().any(|s| *s != Study::Hybrid),
        }
        .to_string()
    };
    if args.dry_run {
        let (corpus, plan) = experiment::plan(&cfg, &opts)?;
        eprint!("{}", material(&corpus));
        let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
        for u in &plan.units {
            *kinds.entry(u.unit.kind()).or_default() += 1;
        }
        let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
        eprintln!("dry run: {} units ({})", plan.units.len(), kinds.join(", "));
        return Ok(());
    }
    if args.which == Which::Plan {
        let (corpus, file) = experiment::write_plan_of(&cfg, &opts)?;
        eprint!("{}", material(&corpus));
        let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
        for u in &file.units {
            *kinds.entry(u.kind.as_str()).or_default() += 1;
        }
        eprintln!(
            "wrote {}: {} units ({})",
            args.out.join("plan.json").display(),
            file.units.len(),
            kinds
                .iter()
                .map(|(k, n)| format!("{n} {k}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        return Ok(());
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("experiment [{bar:30}] {pos}/{len} units {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let progress = |e: Event| match e {
        Event::Planned { total, cached } => {
            bar.set_length(total as u64);
            bar.set_position(cached as u64);
            if cached > 0 {
                let note = format!("resuming: {cached} of {total} units already done");
                // the bar (and what it prints) is hidden off a terminal: a batch log gets it too
                if std::io::stderr().is_terminal() {
                    bar.println(note);
                } else {
                    eprintln!("{note}");
                }
            }
        }
        Event::Started { .. } => {}
        Event::Finished { id, elapsed_s } => {
            bar.inc(1);
            bar.set_message(format!("{id} ({elapsed_s:.1} s)"));
        }
    };
    let results = experiment::run(&cfg, &opts, &progress)?;
    bar.finish_and_clear();
    eprintln!(
        "wrote {} and {} ({:.1} s)",
        args.out.join("results.json").display(),
        args.out.join("REPORT.md").display(),
        results.wall_s
    );
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({
            "studies": results.studies, "wall_s": results.wall_s,
            "seconds_by_kind": results.seconds_by_kind,
            "rows": results.studies.iter().map(|&s| (s.name(), results.rows.len(s)))
                .collect::<std::collections::BTreeMap<_, _>>(),
        }))?
    );
    Ok(())
}
