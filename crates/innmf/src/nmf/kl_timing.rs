//! Timings of the fused KL engine (`kl.rs`), ignored by default.

use super::*;

/// Min time of one panel of the bench's H update (F = 1001, K = 20) and its FLOP rate.
#[test]
#[ignore = "timing: cargo test --release --lib nmf::kl::timing -- --ignored --nocapture"]
fn panel_flop_rate() {
    let (rows, k) = (1001usize, 20usize);
    let a: Vec<f32> = (0..rows * k).map(|i| 0.1 + (i % 7) as f32 * 0.01).collect();
    let b: Vec<f32> = (0..k * PANEL)
        .map(|i| 0.2 + (i % 5) as f32 * 0.01)
        .collect();
    let x: Vec<f32> = (0..rows * PANEL)
        .map(|i| 0.3 + (i % 3) as f32 * 0.01)
        .collect();
    let mut num = vec![0.0f32; k * PANEL];
    for kern in Kern::available() {
        let mut best = f64::INFINITY;
        for _ in 0..3000 {
            let t0 = std::time::Instant::now();
            num.fill(0.0);
            ratio_panel(kern, &a, k, &b, &x, rows, 1e-7, &mut num);
            best = best.min(t0.elapsed().as_secs_f64());
        }
        let flop = 4.0 * (rows * k * PANEL) as f64;
        println!(
            "{kern:?}: {:.2} us per panel, {:.1} GFLOP/s",
            best * 1e6,
            flop / best / 1e9
        );
    }
}

/// One pair of panels through `ratio_pair` against two `ratio_panel` calls, alternated.
#[test]
#[ignore = "timing: cargo test --release --lib nmf::kl::timing -- --ignored --nocapture"]
fn pair_flop_rate() {
    let (rows, k) = (1001usize, 20usize);
    let a: Vec<f32> = (0..rows * k).map(|i| 0.1 + (i % 7) as f32 * 0.01).collect();
    let b: Vec<f32> = (0..2 * k * PANEL)
        .map(|i| 0.2 + (i % 5) as f32 * 0.01)
        .collect();
    let x: Vec<f32> = (0..2 * rows * PANEL)
        .map(|i| 0.3 + (i % 3) as f32 * 0.01)
        .collect();
    let mut num = vec![0.0f32; 2 * k * PANEL];
    let kern = Kern::for_level(crate::simd::detected());
    let (ks, xs) = (k * PANEL, rows * PANEL);
    let mut best = [f64::INFINITY; 2];
    for _ in 0..2000 {
        for (m, bm) in best.iter_mut().enumerate() {
            num.fill(0.0);
            let t0 = std::time::Instant::now();
            if m == 0 {
                let (n0, n1) = num.split_at_mut(ks);
                ratio_panel(kern, &a, k, &b[..ks], &x[..xs], rows, 1e-7, n0);
                ratio_panel(kern, &a, k, &b[ks..], &x[xs..], rows, 1e-7, n1);
            } else {
                ratio_pair(kern, &a, k, &b, &x, rows, 1e-7, &mut num);
            }
            *bm = bm.min(t0.elapsed().as_secs_f64());
        }
    }
    let flop = 8.0 * (rows * k * PANEL) as f64;
    for (name, b) in ["two panels", "pair"].iter().zip(best) {
        println!(
            "{kern:?} {name}: {:.2} us, {:.1} GFLOP/s",
            b * 1e6,
            flop / b / 1e9
        );
    }
}

/// Whole 20-iteration fits of the bench's shape (1001×319, rank 20) on 1 and 2 threads:
/// best time per iteration and the rate over the four fused products.
#[test]
#[ignore = "timing: cargo test --release --lib nmf::kl::timing -- --ignored --nocapture"]
fn fit_flop_rate() {
    let (f, t, k, iters) = (1001usize, 319usize, 20usize, 20usize);
    let x: Vec<f32> = (0..f * t)
        .map(|i| 0.01 + ((i * 7919) % 997) as f32 * 1e-3)
        .collect();
    let w: Vec<f32> = (0..f * k).map(|i| 0.1 + (i % 13) as f32 * 0.01).collect();
    let h: Vec<f32> = (0..k * t).map(|i| 0.1 + (i % 11) as f32 * 0.01).collect();
    // the difference of 20- and 60-iteration fits: setup and the two loss checks cancel
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut best = [f64::INFINITY; 2];
        for _ in 0..10 {
            for (b, n) in best.iter_mut().zip([iters, 3 * iters]) {
                let p = NmfParams::new(k).max_iter(n).tol(0.0).check_every(n);
                let (w0, h0) = (w.clone(), h.clone());
                let t0 = std::time::Instant::now();
                pool.install(|| p.fit_from(&x, f, t, w0, h0).unwrap());
                *b = b.min(t0.elapsed().as_secs_f64());
            }
        }
        let per_iter = (best[1] - best[0]) / (2 * iters) as f64;
        let flop = 4.0 * 2.0 * (f * t * k) as f64;
        println!(
            "{threads} thread(s): {:.3} ms per iteration, {:.1} GFLOP/s (3000 it: {:.2} s; \
             setup + 2 losses {:.1} ms)",
            per_iter * 1e3,
            flop / per_iter / 1e9,
            per_iter * 3000.0,
            (best[0] - per_iter * iters as f64) * 1e3
        );
    }
}
