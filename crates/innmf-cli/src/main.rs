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

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "innmf",
    version,
    about = "Implicit neural NMF on any time-frequency representation"
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

fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(n) = cli.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| anyhow::anyhow!("--threads {n}: {e}"))?;
    }
    match &cli.command {
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
