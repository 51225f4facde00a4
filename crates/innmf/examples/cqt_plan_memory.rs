//! Peak memory of planning the paper's constant-Q transform at 44.1 kHz and analyzing 2 s:
//! `/usr/bin/time -f %M target/release/examples/cqt_plan_memory` (max RSS in KiB).
use innmf::transform::{DirectCqtParams, FastCqt};

fn main() -> innmf::Result<()> {
    let sr = 44100.0;
    // the paper's Q = B = 64 from 20 Hz, as many octaves as fit below 0.45·sr
    let mut p = DirectCqtParams::paper_demo();
    p.n_bins = (64.0 * (0.45 * sr / p.f_min).log2()) as usize;
    let plan = FastCqt::new(p, sr)?;
    let x: Vec<f64> = (0..88200)
        .map(|i| (2.0 * std::f64::consts::PI * 440.0 * i as f64 / sr).sin())
        .collect();
    let c = plan.analyze(&x)?;
    println!("{} bins, {} coefficients", c.bins.len(), c.len());
    Ok(())
}
