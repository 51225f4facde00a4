//! The hybrid decomposition (arXiv 2404.04439, its hybrid demo: STFT 128/32, STFT 1024/256 and
//! the constant-Q transform in sequence, rank 2, implicit `W` and `H`) on every music recording,
//! with its figures; where a note list gives exactly two pitches, the separation ratio of the
//! two activations on the two notes' solo intervals.

use crate::results::{HybridRow, Row};
use crate::runner::Ctx;
use innmf::audio::{self, ChannelSelect};
use innmf::demo::{self, DemoConfig};
use innmf::error::Result;

/// For exactly two pitches within `[0, dur)`: each pitch's first note that overlaps no other
/// note, clipped to the excerpt.
pub fn solo_intervals(notes: &[(f64, f64, i64)], dur: f64) -> Option<Vec<(f64, f64)>> {
    let inside: Vec<_> = notes.iter().filter(|n| n.0 < dur).copied().collect();
    let mut pitches: Vec<i64> = inside.iter().map(|n| n.2).collect();
    pitches.sort();
    pitches.dedup();
    if pitches.len() != 2 {
        return None;
    }
    let mut out = Vec::new();
    for &p in &pitches {
        let solo = inside.iter().find(|n| {
            n.2 == p
                && inside
                    .iter()
                    .all(|m| std::ptr::eq(*n, m) || m.1 <= n.0 || m.0 >= n.1)
        })?;
        out.push((solo.0, solo.1.min(dur)));
    }
    Some(out)
}

/// Unit `hybrid`: the demo's decomposition of music recording `rec`, with its figures.
pub(crate) fn decompose(ctx: &Ctx<'_>, rec: usize, seed: u64) -> Result<Vec<Row>> {
    let hc = &ctx.cfg.hybrid;
    let r = &ctx.corpus.music[rec];
    let a = audio::read(&r.path)?;
    let mut x = a.mono(ChannelSelect::Mix)?;
    if a.sample_rate != hc.sample_rate {
        x = audio::resample(&x, a.sample_rate, hc.sample_rate)?;
    }
    let sr = hc.sample_rate as f64;
    let n = ((hc.seconds * sr).round() as usize).min(x.len());
    let x = &x[..n];
    let dc = DemoConfig {
        rank: hc.rank,
        width: hc.width,
        steps: hc.steps,
        fraction: hc.fraction,
        seed,
        power: ctx.cfg.power,
        ..DemoConfig::default()
    };
    let outcome = demo::fit_demo(x, sr, &dc, None)?;
    let ratio = ctx
        .corpus
        .notes(&r.name)
        .and_then(|notes| solo_intervals(&notes, n as f64 / sr))
        .filter(|_| hc.rank == 2)
        .map(|iv| demo::separation_ratio(&demo::interval_activity(&outcome, &iv)));
    #[cfg(feature = "plot")]
    let figures: Vec<String> = {
        let dir = ctx.out.join("figures").join("hybrid").join(&r.name);
        demo::write_figures(&dir, &outcome, sr)?
            .iter()
            .filter_map(|p| p.strip_prefix(ctx.out).ok())
            .map(|p| p.to_string_lossy().into_owned())
            .collect()
    };
    #[cfg(not(feature = "plot"))]
    let figures: Vec<String> = Vec::new();
    Ok(vec![Row::Hybrid(HybridRow {
        recording: r.name.clone(),
        seconds: n as f64 / sr,
        points: outcome.points.len(),
        final_loss: outcome.report.final_loss,
        steps: outcome.report.steps,
        separation_ratio: ratio,
        figures,
    })])
}
