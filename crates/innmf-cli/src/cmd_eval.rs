//! `innmf eval`: source-separation metrics of estimated sources against references: BSS Eval v3
//! SDR/SIR/SAR with permutation search (mir_eval-exact), SI-SDR, STOI and eSTOI (pystoi-exact),
//! optionally framewise; a table on stdout and a JSON report.

use anyhow::{bail, Context};
use innmf::audio::{read, ChannelSelect};
use innmf::io::write_json;
use innmf::metrics::{
    bss_eval_sources_framewise, evaluate, EvalOptions, FramewiseBssEval, MeanScores,
};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Arguments of `innmf eval`.
#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// Reference (true) sources, one WAV per source.
    #[arg(long, num_args = 1.., required = true)]
    pub reference: Vec<PathBuf>,
    /// Estimated sources, one WAV per source (any order: the permutation is searched).
    #[arg(long, num_args = 1.., required = true)]
    pub estimate: Vec<PathBuf>,
    /// Write the report to this JSON file (atomically).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Skip STOI and eSTOI.
    #[arg(long)]
    pub no_stoi: bool,
    /// Also score windows of WIN samples every HOP samples (mir_eval's framewise BSS Eval).
    #[arg(long, num_args = 2, value_names = ["WIN", "HOP"])]
    pub framewise: Option<Vec<usize>>,
    /// Cut every file to the shortest length instead of failing on different lengths.
    #[arg(long)]
    pub truncate: bool,
    /// Pair estimate j with reference j instead of searching the permutation.
    #[arg(long)]
    pub no_permutation: bool,
    /// Remove the mean before SI-SDR (Le Roux et al.'s recipe; fast_bss_eval's default is off).
    #[arg(long)]
    pub zero_mean: bool,
    /// Channel of multi-channel WAVs (default: the mean of all channels).
    #[arg(long)]
    pub channel: Option<usize>,
}

/// Scores of one reference and the estimate matched to it.
#[derive(Serialize, Debug)]
struct SourceReport {
    reference: String,
    estimate: String,
    #[serde(with = "innmf::io::json_float")]
    sdr: f64,
    #[serde(with = "innmf::io::json_float")]
    sir: f64,
    #[serde(with = "innmf::io::json_float")]
    sar: f64,
    #[serde(with = "innmf::io::json_float")]
    si_sdr: f64,
    #[serde(with = "innmf::io::json_float::option")]
    stoi: Option<f64>,
    #[serde(with = "innmf::io::json_float::option")]
    estoi: Option<f64>,
}

/// The JSON report.
#[derive(Serialize, Debug)]
struct EvalReport {
    sample_rate: u32,
    samples: usize,
    /// Lengths before `--truncate` (equal to `samples` otherwise).
    original_samples: Vec<usize>,
    /// `permutation[j]`: index of the estimate matched to reference j.
    permutation: Vec<usize>,
    permutation_searched: bool,
    si_sdr_zero_mean: bool,
    sources: Vec<SourceReport>,
    mean: MeanScores,
    framewise: Option<FramewiseBssEval>,
}

struct Loaded {
    rate: u32,
    channels: usize,
    signal: Vec<f64>,
}

fn load(path: &Path, select: ChannelSelect) -> anyhow::Result<Loaded> {
    let a = read(path)?;
    if a.is_empty() {
        bail!("{}: the file holds no samples", path.display());
    }
    let signal = a
        .mono(select)
        .with_context(|| format!("{}", path.display()))?;
    Ok(Loaded {
        rate: a.sample_rate,
        channels: a.channels.len(),
        signal,
    })
}

/// Runs `innmf eval`.
pub fn run(args: &EvalArgs) -> anyhow::Result<()> {
    if args.reference.len() != args.estimate.len() {
        bail!(
            "{} reference files but {} estimate files: give one estimate per reference",
            args.reference.len(),
            args.estimate.len()
        );
    }
    let select = args
        .channel
        .map_or(ChannelSelect::Mix, ChannelSelect::Index);
    let paths: Vec<&PathBuf> = args.reference.iter().chain(&args.estimate).collect();
    // before any file is read: the report was written over a reference named as --json
    if let Some(json) = &args.json {
        let inputs: Vec<&Path> = paths.iter().map(|p| p.as_path()).collect();
        innmf::io::check_output(json, "json", &["json"], &inputs, &[])?;
    }
    let loaded = paths
        .iter()
        .map(|p| load(p, select))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (first, rate, nch) = (paths[0], loaded[0].rate, loaded[0].channels);
    for (p, l) in paths.iter().zip(&loaded) {
        if l.rate != rate {
            bail!(
                "sample-rate mismatch: {} is {} Hz but {} is {} Hz (resample first)",
                p.display(),
                l.rate,
                first.display(),
                rate
            );
        }
        if l.channels != nch {
            bail!(
                "channel-count mismatch: {} has {} channel(s) but {} has {} (mono/stereo mix-up?)",
                p.display(),
                l.channels,
                first.display(),
                nch
            );
        }
    }
    let original: Vec<usize> = loaded.iter().map(|l| l.signal.len()).collect();
    let min_len = *original.iter().min().unwrap();
    let max_len = *original.iter().max().unwrap();
    if min_len != max_len && !args.truncate {
        let (i, _) = original
            .iter()
            .enumerate()
            .find(|(_, &n)| n != original[0])
            .unwrap();
        bail!(
            "length mismatch: {} has {} samples but {} has {} (pass --truncate to cut all files to the shortest, {} samples)",
            paths[i].display(),
            original[i],
            first.display(),
            original[0],
            min_len
        );
    }
    let mut signals: Vec<Vec<f64>> = loaded.into_iter().map(|l| l.signal).collect();
    signals.iter_mut().for_each(|s| s.truncate(min_len));
    let nsrc = args.reference.len();
    let (refs, ests) = signals.split_at(nsrc);
    if nch > 1 {
        eprintln!(
            "note: {nch}-channel files; scoring {}",
            args.channel
                .map_or("the mean of the channels".to_string(), |c| format!(
                    "channel {c}"
                ))
        );
    }

    let options = EvalOptions {
        permutation: !args.no_permutation,
        stoi: !args.no_stoi,
        extended_stoi: !args.no_stoi,
        si_sdr_zero_mean: args.zero_mean,
    };
    let scores = evaluate(refs, ests, rate as f64, &options)?;
    let sources: Vec<SourceReport> = scores
        .sources
        .iter()
        .enumerate()
        .map(|(j, s)| SourceReport {
            reference: args.reference[j].display().to_string(),
            estimate: args.estimate[s.estimate].display().to_string(),
            sdr: s.sdr,
            sir: s.sir,
            sar: s.sar,
            si_sdr: s.si_sdr,
            stoi: s.stoi,
            estoi: s.estoi,
        })
        .collect();
    let framewise = match &args.framewise {
        Some(wh) => {
            let (win, hop) = (wh[0], wh[1]);
            Some(
                bss_eval_sources_framewise(refs, ests, win, hop, !args.no_permutation)
                    .with_context(|| format!("framewise BSS Eval (window {win}, hop {hop})"))?,
            )
        }
        None => None,
    };
    let report = EvalReport {
        sample_rate: rate,
        samples: min_len,
        original_samples: original,
        permutation: scores.permutation.clone(),
        permutation_searched: !args.no_permutation,
        si_sdr_zero_mean: args.zero_mean,
        mean: scores.mean,
        sources,
        framewise,
    };
    print_table(&report);
    if let Some(path) = &args.json {
        write_json(path, &report)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn file_name(p: &str) -> String {
    Path::new(p)
        .file_name()
        .map_or(p.to_string(), |n| n.to_string_lossy().into_owned())
}

fn print_table(r: &EvalReport) {
    let opt = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.4}"));
    println!(
        "{} source(s), {} samples at {} Hz; permutation {:?}{}",
        r.sources.len(),
        r.samples,
        r.sample_rate,
        r.permutation,
        if r.permutation_searched {
            " (best mean SIR)"
        } else {
            " (fixed)"
        }
    );
    println!(
        "{:<4} {:<24} {:<24} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7}",
        "src", "reference", "estimate", "SDR", "SIR", "SAR", "SI-SDR", "STOI", "eSTOI"
    );
    for (j, s) in r.sources.iter().enumerate() {
        println!(
            "{:<4} {:<24} {:<24} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>7} {:>7}",
            j,
            file_name(&s.reference),
            file_name(&s.estimate),
            s.sdr,
            s.sir,
            s.sar,
            s.si_sdr,
            opt(s.stoi),
            opt(s.estoi)
        );
    }
    let m = &r.mean;
    println!(
        "{:<4} {:<24} {:<24} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>7} {:>7}",
        "mean",
        "",
        "",
        m.sdr,
        m.sir,
        m.sar,
        m.si_sdr,
        opt(m.stoi),
        opt(m.estoi)
    );
    println!("(SDR, SIR, SAR, SI-SDR in dB)");
    if let Some(f) = &r.framewise {
        let median = |v: &[f64]| {
            let mut x: Vec<f64> = v.iter().copied().filter(|a| !a.is_nan()).collect();
            x.sort_by(f64::total_cmp);
            if x.is_empty() {
                f64::NAN
            } else if x.len() % 2 == 1 {
                x[x.len() / 2]
            } else {
                0.5 * (x[x.len() / 2 - 1] + x[x.len() / 2])
            }
        };
        println!(
            "framewise: {} window(s) of {} samples, hop {}; median over scored windows:",
            f.starts.len(),
            f.window,
            f.hop
        );
        for j in 0..f.sdr.len() {
            let scored = f.sdr[j].iter().filter(|v| !v.is_nan()).count();
            println!(
                "{:<4} SDR {:>8.3}  SIR {:>8.3}  SAR {:>8.3}  ({} of {} windows scored)",
                j,
                median(&f.sdr[j]),
                median(&f.sir[j]),
                median(&f.sar[j]),
                scored,
                f.starts.len()
            );
        }
    }
}
