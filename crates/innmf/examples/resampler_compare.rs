//! Is rubato as good as `innmf::audio::resample` (SciPy's `resample_poly` design)? Measures both
//! on tones with a known answer:
//!
//! ```sh
//! cargo run --release -p innmf --example resampler_compare
//! ```
//!
//! For each rate pair the input holds tones inside both bands (at 0.1 and 0.45, then also 0.8, of
//! the lower Nyquist frequency, amplitude 0.3 each) and, in a third run, the three plus two
//! tones above the output Nyquist (1.2 and 1.6 of it, where the input rate has them) that must
//! be removed. The ideal output is the three in-band tones sampled at the output rate; the error
//! is taken over the interior (the first and last 10 % are skipped, so edge handling does not
//! count). "in-band SNR" measures passband accuracy, "with aliases" adds the rejection of the
//! out-of-band tones.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};
use std::f64::consts::PI;
use std::time::Instant;

fn tones(freqs: &[f64], rate: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let t = i as f64 / rate;
            freqs.iter().map(|f| 0.3 * (2.0 * PI * f * t).sin()).sum()
        })
        .collect()
}

fn snr_db(ideal: &[f64], y: &[f64]) -> f64 {
    let n = ideal.len().min(y.len());
    let (a, b) = (n / 10, n - n / 10);
    let sig: f64 = ideal[a..b].iter().map(|v| v * v).sum();
    let err: f64 = (a..b).map(|i| (ideal[i] - y[i]).powi(2)).sum();
    10.0 * (sig / err).log10()
}

/// The best SNR over integer lags in [-64, 64] and the lag (y[i + lag] ≈ ideal[i]).
fn best_lag_snr(ideal: &[f64], y: &[f64]) -> (f64, i64) {
    (-64i64..=64)
        .map(|lag| {
            let n = ideal.len().min(y.len());
            let (a, b) = (n / 10, n - n / 10);
            let sig: f64 = ideal[a..b].iter().map(|v| v * v).sum();
            let err: f64 = (a..b)
                .map(|i| (ideal[i] - y[(i as i64 + lag) as usize]).powi(2))
                .sum();
            (10.0 * (sig / err).log10(), lag)
        })
        .fold((f64::NEG_INFINITY, 0), |a, b| if b.0 > a.0 { b } else { a })
}

fn rubato_fft(x: &[f64], from: usize, to: usize) -> Vec<f64> {
    let mut r = Fft::<f64>::new(from, to, 1024, 1, FixedSync::Both).expect("rubato Fft");
    let input = InterleavedSlice::new(x, 1, x.len()).expect("adapter");
    let out = r
        .process_all(&input, x.len(), None)
        .expect("rubato process_all");
    out.take_data()
}

fn main() {
    println!(
        "| from → to (Hz) | resampler | SNR, tones ≤ 0.45 Nyquist (dB) | SNR, tones ≤ 0.8 Nyquist \
         (dB) | with out-of-band tones (dB) | output length | time (ms) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (from, to) in [
        (44100usize, 16000usize),
        (16000, 4410),
        (48000, 44100),
        (8000, 16000),
    ] {
        let n = from * 2; // 2 s
        let nyq_out = to as f64 / 2.0;
        let nyq_in = from as f64 / 2.0;
        let nyq = nyq_out.min(nyq_in);
        let inband: Vec<f64> = [0.1, 0.45, 0.8].iter().map(|r| r * nyq).collect();
        let low: Vec<f64> = inband[..2].to_vec();
        let outband: Vec<f64> = [1.2, 1.6]
            .iter()
            .map(|r| r * nyq_out)
            .filter(|&f| f < 0.95 * nyq_in)
            .collect();
        let n_out = (n * to).div_ceil(from);
        let ideal = tones(&inband, to as f64, n_out);
        let x_clean = tones(&inband, from as f64, n);
        let ideal_low = tones(&low, to as f64, n_out);
        let x_low = tones(&low, from as f64, n);
        let mut all = inband.clone();
        all.extend(&outband);
        let x_alias = tones(&all, from as f64, n);
        type Resample = fn(&[f64], usize, usize) -> Vec<f64>;
        let candidates: [(&str, Resample); 2] = [
            (
                "innmf resample (Kaiser sinc, as resample_poly)",
                |x, a, b| innmf::audio::resample(x, a as u32, b as u32).expect("innmf resample"),
            ),
            ("rubato 4 Fft (synchronous)", rubato_fft),
        ];
        for (name, f) in candidates {
            let t0 = Instant::now();
            let y_clean = f(&x_clean, from, to);
            let ms = t0.elapsed().as_secs_f64() * 1e3;
            let y_alias = f(&x_alias, from, to);
            let y_low = f(&x_low, from, to);
            let (best, lag) = best_lag_snr(&ideal_low, &y_low);
            // the output sample grid each resampler keeps: the fractional time offset (in output
            // samples) at which the low tones match best
            let (frac_snr, frac) = (-100..=100)
                .map(|d| {
                    let delta = d as f64 / 100.0;
                    let shifted: Vec<f64> = (0..n_out)
                        .map(|i| {
                            let t = (i as f64 + delta) / to as f64;
                            low.iter().map(|f| 0.3 * (2.0 * PI * f * t).sin()).sum()
                        })
                        .collect();
                    (snr_db(&shifted, &y_low), delta)
                })
                .fold(
                    (f64::NEG_INFINITY, 0.0),
                    |a, b| if b.0 > a.0 { b } else { a },
                );
            eprintln!("{from} → {to} {name}: {frac_snr:.1} dB with the output grid shifted by {frac:+.2} samples");
            let rms = |v: &[f64]| (v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64).sqrt();
            eprintln!(
                "{from} → {to} {name}: best SNR {best:.1} dB at lag {lag}; RMS ratio to the ideal {:.3}",
                rms(&y_low[y_low.len() / 10..y_low.len() * 9 / 10])
                    / rms(&ideal_low[ideal_low.len() / 10..ideal_low.len() * 9 / 10])
            );
            println!(
                "| {from} → {to} | {name} | {:.1} | {:.1} | {} | {} (ideal {n_out}) | {ms:.1} |",
                snr_db(&ideal_low, &y_low),
                snr_db(&ideal, &y_clean),
                if outband.is_empty() {
                    "–".to_string()
                } else {
                    format!("{:.1}", snr_db(&ideal, &y_alias))
                },
                y_clean.len()
            );
        }
    }
}
