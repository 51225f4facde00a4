//! `innmf experiment`: the paper's studies on a folder of recordings, resumable, with a report.

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use innmf::experiment::{self, report, Event, ExperimentConfig, RunOptions, Study};
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
}

#[derive(Args, Debug)]
pub struct ExperimentArgs {
    /// The study (or `all`, `report`, `synth-corpus`).
    #[arg(value_enum)]
    pub which: Which,
    /// Folder of recordings: DIR/speech/*.wav for the speech studies and DIR/music/*.wav for
    /// the hybrid one (or .wav files directly in DIR). Speakers are named by the file name up to
    /// its first '_' (slt_hts.wav is speaker slt).
    #[arg(long, required_if_eq_any([("which", "reconstruction"), ("which", "separation"),
        ("which", "transfer"), ("which", "hybrid"), ("which", "all")]))]
    pub data: Option<PathBuf>,
    /// Output folder: units/, models/, figures/, results.json, REPORT.md. Rerunning with the
    /// same folder and settings resumes (finished units are not recomputed).
    #[arg(long)]
    pub out: PathBuf,
    /// Speaker pairs of the separation study (drawn with --seed among distinct-speaker pairs).
    #[arg(long, default_value_t = 10)]
    pub pairs: usize,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Units run at the same time (each also uses the --threads pool).
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Settings as JSON (the `config` object of a results.json; missing fields are an error).
    /// Default: the paper's settings (arXiv 2404.04439, its TIMIT experiments).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Small, fast settings (8 kHz, windows 256/512, rank 4, few steps) for trials.
    #[arg(long, conflicts_with = "config")]
    pub quick: bool,
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
            experiment::synthesize_corpus(&args.out, args.seed)?;
            eprintln!("wrote a synthetic corpus to {}", args.out.display());
            return Ok(());
        }
        _ => {}
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
    cfg.seed = args.seed;
    let studies = match args.which {
        Which::Reconstruction => vec![Study::Reconstruction],
        Which::Separation => vec![Study::Separation],
        Which::Transfer => vec![Study::Transfer],
        Which::Hybrid => vec![Study::Hybrid],
        _ => Study::ALL.to_vec(),
    };
    let opts = RunOptions {
        data: args.data.clone().unwrap_or_default(),
        out: args.out.clone(),
        studies,
        pairs: args.pairs,
        jobs: args.jobs,
    };
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
                bar.println(format!("resuming: {cached} of {total} units already done"));
            }
        }
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
            "rows": results.rows.iter().map(|(k, v)| (k.clone(), v.len()))
                .collect::<std::collections::BTreeMap<_, _>>(),
        }))?
    );
    Ok(())
}
