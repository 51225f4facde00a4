//! The `innmf` command-line tool: a thin layer over the `innmf` library.

mod cmd_analyze;
mod cmd_bench;
mod cmd_demo;
mod cmd_eval;
mod cmd_experiment;
mod cmd_fit;
mod cmd_nmf;
mod cmd_sample;
mod cmd_separate;
mod input;
mod progress;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::process::ExitCode;

/// mimalloc rather than glibc's allocator: glibc trims its heaps on free and re-faults the pages
/// on the next large allocation, which in repeated analyses cost more than the transform (the
/// NSGT benchmark: 13k page faults per run against 6k with mimalloc). README, "Speed".
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(
    name = "innmf",
    version,
    about = "Implicit neural NMF on any time-frequency representation",
    after_help = "Exit codes: 0 success; 2 bad input (a value, file or combination a command \
                  cannot use; nothing is written); 1 a computation that failed on valid input \
                  (a diverging fit); 130 interrupted."
)]
struct Cli {
    /// Worker threads (default: all cores).
    #[arg(long, global = true)]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Analyze audio into a point set (.npz/.csv) with any transform; optional scatter plot.
    Analyze(cmd_analyze::AnalyzeArgs),
    /// Factorize the paper's hybrid representation of two piano notes; plots and a summary.
    Demo(cmd_demo::DemoArgs),
    /// Fit a model to a point set (.npz/.csv) or to audio (.wav) and write it (.safetensors).
    Fit(cmd_fit::FitArgs),
    /// Evaluate a model's W(f), H(t) and reconstruction on any frequencies and times.
    Sample(cmd_sample::SampleArgs),
    /// Time a named training workload; prints JSON.
    Bench(cmd_bench::BenchArgs),
    /// Separation metrics: BSS Eval SDR/SIR/SAR, SI-SDR, STOI/eSTOI of estimates vs. references.
    Eval(cmd_eval::EvalArgs),
    /// Classical multiplicative-update NMF of a .npy matrix or of a WAV's |STFT|^p.
    Nmf(cmd_nmf::NmfArgs),
    /// Separate a mixture with templates learned from solo recordings or loaded from models.
    Separate(cmd_separate::SeparateArgs),
    /// The paper's studies (reconstruction, separation, transfer, hybrid) on a folder of
    /// recordings: resumable, results.json, figures and REPORT.md.
    Experiment(cmd_experiment::ExperimentArgs),
}

/// Most worker threads `--threads` accepts, as a multiple of the cores.
const MAX_THREADS_PER_CORE: usize = 4;

/// Stack of the pool's threads, which run the command: the main thread's.
const STACK_BYTES: usize = 8 << 20;

fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(n) = cli.threads {
        let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
        let max = MAX_THREADS_PER_CORE * cores;
        if n == 0 || n > max {
            anyhow::bail!(
                "--threads {n}: expected between 1 and {max} ({MAX_THREADS_PER_CORE} per core \
                 on this {cores}-core machine; leave it out to use every core)"
            );
        }
    }
    // 0: rayon's default (RAYON_NUM_THREADS, else every core)
    rayon::ThreadPoolBuilder::new()
        .num_threads(cli.threads.unwrap_or(0))
        .stack_size(STACK_BYTES)
        .build_global()
        .map_err(|e| anyhow::anyhow!("could not start the worker threads: {e}"))?;
    // The command runs on a worker of the pool: a parallel loop started from outside the pool
    // hands its work over and sleeps until it ends, one kernel wake-up per loop (a quarter of a
    // one-thread NMF's time, thousands of loops a second).
    rayon::scope(|_| run_command(&cli.command))
}

fn run_command(command: &Command) -> anyhow::Result<()> {
    match command {
        Command::Analyze(a) => cmd_analyze::run(a),
        Command::Demo(a) => cmd_demo::run(a),
        Command::Fit(a) => cmd_fit::run(a),
        Command::Sample(a) => cmd_sample::run(a),
        Command::Bench(a) => cmd_bench::run(a),
        Command::Eval(a) => cmd_eval::run(a),
        Command::Nmf(a) => cmd_nmf::run(a),
        Command::Separate(a) => cmd_separate::run(a),
        Command::Experiment(a) => cmd_experiment::run(a),
    }
}

/// Exit codes: 0 success; 2 bad input (a value, file or combination the command cannot use:
/// nothing was written); 1 a computation that failed on valid input (a diverging fit); 130
/// interrupted.
fn exit_code(e: &anyhow::Error) -> u8 {
    match e.chain().find_map(|c| c.downcast_ref::<innmf::Error>()) {
        Some(innmf::Error::Diverged { .. }) => 1,
        Some(innmf::Error::Interrupted { .. }) => 130,
        _ => 2,
    }
}

/// The command-line flag spelling a library parameter name, when the command has that flag.
fn flag_for(subcommand: &str, name: &str) -> Option<String> {
    let kebab = name.trim().replace(['_', ' '], "-");
    let candidates = [
        kebab.clone(),
        match kebab.as_str() {
            "f-min" => "fmin".into(),
            "f-max" => "fmax".into(),
            "sample-rate" => "resample".into(),
            "threshold-db" => "threshold".into(),
            "splits" => "split".into(),
            "voices-per-octave" => "bins-per-octave".into(),
            "window-len" | "window-length" => "window".into(),
            "minimum-track-length" => "min-track-len".into(),
            "frozen-components" => "free".into(),
            "training-steps" => "train-steps".into(),
            "max-iter" => "iters".into(),
            _ => kebab.clone(),
        },
    ];
    let cmd = Cli::command();
    let sub = cmd.find_subcommand(subcommand)?;
    candidates
        .into_iter()
        .find(|c| {
            sub.get_arguments()
                .chain(cmd.get_arguments())
                .any(|a| a.get_long() == Some(c.as_str()))
        })
        .map(|c| format!("--{c}"))
}

/// The error chain, with a library parameter shown as the flag the user typed.
fn describe(e: &anyhow::Error, subcommand: &str) -> String {
    let mut parts = Vec::new();
    for cause in e.chain() {
        let text = match cause.downcast_ref::<innmf::Error>() {
            Some(innmf::Error::InvalidParameter {
                name,
                value,
                expected,
            }) => match flag_for(subcommand, name) {
                Some(flag) => format!("{flag} {value}: expected {expected}"),
                None => cause.to_string(),
            },
            _ => cause.to_string(),
        };
        // a context that repeats its cause adds nothing
        if parts.last().is_none_or(|p: &String| !p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

fn main() -> ExitCode {
    // `innmf -V` prints the version; `innmf --version` also the build (the vector features
    // compiled in) and the SIMD level the kernels chose on this CPU
    let info = innmf::build_info().to_string();
    let long_version: &'static str = Box::leak(
        info.trim_start_matches("innmf ")
            .to_string()
            .into_boxed_str(),
    );
    let cli = Cli::command().long_version(long_version).get_matches();
    let cli = Cli::from_arg_matches(&cli).unwrap_or_else(|e| e.exit());
    let subcommand = match &cli.command {
        Command::Analyze(_) => "analyze",
        Command::Demo(_) => "demo",
        Command::Fit(_) => "fit",
        Command::Sample(_) => "sample",
        Command::Bench(_) => "bench",
        Command::Eval(_) => "eval",
        Command::Nmf(_) => "nmf",
        Command::Separate(_) => "separate",
        Command::Experiment(_) => "experiment",
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", describe(&e, subcommand));
            ExitCode::from(exit_code(&e))
        }
    }
}
