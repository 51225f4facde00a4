//! `innmf demo`: the paper's hybrid-representation demo on a built-in signal or a recording.

use crate::{input, progress};
use anyhow::Result;
use innmf::demo::{self, DemoConfig};
use innmf::io::check_writable_dir;
use innmf::modelfile::TrainingData;
use innmf::transform::{
    Analysis, Calibration, Representation, RepresentationOptions, TransformKind,
};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// A recording to use instead of the built-in two-note signal (resampled to 4410 Hz).
    #[arg(long)]
    input: Option<PathBuf>,
    /// Output folder.
    #[arg(long, default_value = "innmf-demo")]
    out: PathBuf,
    /// Channel of --input (default: mean of all channels).
    #[arg(long)]
    channel: Option<usize>,
    /// Seconds of --input to use, from --start (default: the paper's 2.494 s).
    #[arg(long, default_value_t = 110_000.0 / 44_100.0, allow_negative_numbers = true)]
    seconds: f64,
    /// Where in --input to start (s).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    start: f64,
    /// Training steps.
    #[arg(long, default_value_t = 1000)]
    steps: usize,
    /// Rank.
    #[arg(long, default_value_t = 2)]
    rank: usize,
    /// Random seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Representation (default: the paper's hybrid); any transform of `innmf analyze`, with its
    /// defaults: stft | cqt | vqt | nsgt | cwt | sines | multires | hybrid.
    #[arg(long, default_value = "hybrid")]
    transform: TransformKind,
    /// STFT window for --transform stft|sines (samples at 4410 Hz).
    #[arg(long, default_value_t = 256)]
    window: usize,
    /// Hop for --transform stft|sines|vqt (samples at 4410 Hz).
    #[arg(long, default_value_t = 64)]
    hop: usize,
}

pub fn run(args: &DemoArgs) -> Result<()> {
    let sr = demo::DEMO_SAMPLE_RATE;
    let (x, source) = match &args.input {
        Some(path) => {
            let sig = input::read_signal(
                path,
                args.channel,
                Some(sr as u32),
                args.start,
                Some(args.seconds),
            )?;
            (sig.samples, path.display().to_string())
        }
        None => (
            demo::demo_signal(),
            "built-in: C3 at 0.2 s, F#3 at 1.4 s, 4410 Hz".to_string(),
        ),
    };
    let representation = Representation::with_options(
        args.transform,
        &RepresentationOptions {
            window: Some(args.window),
            hop: Some(args.hop),
            ..Default::default()
        },
    )?;
    check_writable_dir(&args.out)?;
    let cfg = DemoConfig {
        steps: args.steps,
        rank: args.rank,
        seed: args.seed,
        representation,
        ..Default::default()
    };
    let analysis = Analysis::new(&cfg.representation, sr, cfg.power, Calibration::Native)?;
    eprintln!("innmf demo: {source}, {:.2} s", x.len() as f64 / sr);
    let bar = progress::training_bar(cfg.steps, "fitting");
    let mut cb = progress::callback(&bar);
    let outcome = demo::fit_demo(&x, sr, &cfg, Some(&mut cb))?;
    bar.finish_and_clear();
    let figures = demo::write_figures(&args.out, &outcome, sr)?;
    let model_path = args.out.join("model.safetensors");
    let training = serde_json::json!({
        "demo": cfg, "source": source, "segments": outcome.segments, "loss": "kullback-leibler",
        "final_loss": outcome.report.final_loss,
    });
    innmf::modelfile::save(
        &model_path,
        &outcome.model,
        &TrainingData::Audio(analysis),
        &training,
    )?;
    outcome.points.write(&args.out.join("points.npz"))?;
    let mut summary = serde_json::json!({
        "source": source,
        "sample_rate": sr,
        "duration_s": outcome.duration,
        "segments": outcome.segments,
        "points": outcome.points.len(),
        "unique_freqs": outcome.points.unique_freqs().len(),
        "unique_times": outcome.points.unique_times().len(),
        "model": {"rank": cfg.rank, "width": cfg.width, "parameters": outcome.model.n_params()},
        "fit": {"steps": outcome.report.steps, "final_loss": outcome.report.final_loss,
                 "first_loss": outcome.report.loss_history.first(), "elapsed_s": outcome.report.elapsed_s,
                 "points_per_step": outcome.report.points_per_step},
    });
    if args.input.is_none() && cfg.rank == 2 {
        let notes = demo::demo_notes();
        let act = demo::interval_activity(
            &outcome,
            &[
                (notes[0].onset, notes[0].end),
                (notes[1].onset, notes[1].end),
            ],
        );
        let ratio = demo::separation_ratio(&act);
        summary["note_activity"] =
            serde_json::json!({"H_k_mean_on_note_1_and_2": act, "separation_ratio": ratio});
        println!(
            "note separation: H_1 on notes = {:.3?}, H_2 on notes = {:.3?}, ratio {ratio:.1}",
            act[0], act[1]
        );
    }
    innmf::io::write_json(&args.out.join("summary.json"), &summary)?;
    println!(
        "point set: {} points ({} distinct frequencies, {} distinct times) from {}",
        outcome.points.len(),
        outcome.points.unique_freqs().len(),
        outcome.points.unique_times().len(),
        outcome
            .segments
            .iter()
            .map(|s| format!("{} ({})", s.name, s.points))
            .collect::<Vec<_>>()
            .join(" + ")
    );
    println!(
        "fit: rank {}, {} steps on random halves, KL {:.4e} -> {:.4e} in {:.1} s",
        cfg.rank,
        outcome.report.steps,
        outcome
            .report
            .loss_history
            .first()
            .copied()
            .unwrap_or(f64::NAN),
        outcome.report.final_loss,
        outcome.report.elapsed_s
    );
    println!("wrote {}:", args.out.display());
    for f in figures.iter().chain([&model_path]) {
        println!("  {}", f.display());
    }
    println!("  {}", args.out.join("points.npz").display());
    println!("  {}", args.out.join("summary.json").display());
    Ok(())
}
