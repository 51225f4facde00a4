//! Tests of the fused KL engine (`kl.rs`): bit-identity of the kernels with the portable twin,
//! an f64 check, the engine at every level and thread count.

use super::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn rand_vec(n: usize, seed: u64) -> Vec<f32> {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| r.random_range(0.0..1.0)).collect()
}

#[test]
fn simd_kernels_are_bit_identical_to_the_portable_twin() {
    if Kern::available().len() < 2 {
        eprintln!("no AVX2+FMA on this CPU: only the portable kernel runs");
        return;
    }
    for &(rows, k) in &[
        (11, 4),
        (12, 20),
        (25, 3),
        (35, 20),
        (1, 1),
        (5, 3),
        (6, 20),
        (7, 2),
        (13, 5),
        (101, 20),
        (319, 7),
        // more numerator steps than the AVX-512 pair kernel spreads divisions over (2·6)
        (50, 31),
        (19, 64),
    ] {
        let a = rand_vec(rows * k, 1);
        let b = rand_vec(k * PANEL, 2);
        let mut x = rand_vec(rows * PANEL, 3);
        x[3] = 0.0;
        let start = rand_vec(k * PANEL, 4);
        let mut want = start.clone();
        ratio_panel_portable(&a, k, &b, &x, rows, 1e-7, &mut want);
        assert_ne!(want, start);
        for kern in Kern::available() {
            let mut got = start.clone();
            ratio_panel(kern, &a, k, &b, &x, rows, 1e-7, &mut got);
            assert_eq!(got, want, "{kern:?} rows {rows} k {k}");
        }
        // two panels at once: the second panel's operands differ from the first's
        let b2 = [b.clone(), rand_vec(k * PANEL, 5)].concat();
        let x2 = [x.clone(), rand_vec(rows * PANEL, 6)].concat();
        let start2 = [start.clone(), rand_vec(k * PANEL, 7)].concat();
        let mut want2 = start2.clone();
        let (w0, w1) = want2.split_at_mut(k * PANEL);
        ratio_panel_portable(&a, k, &b2[..k * PANEL], &x2[..rows * PANEL], rows, 1e-7, w0);
        ratio_panel_portable(&a, k, &b2[k * PANEL..], &x2[rows * PANEL..], rows, 1e-7, w1);
        for kern in Kern::available() {
            let mut got = start2.clone();
            ratio_pair(kern, &a, k, &b2, &x2, rows, 1e-7, &mut got);
            assert_eq!(got, want2, "pair: {kern:?} rows {rows} k {k}");
        }
    }
}

#[test]
fn kernel_matches_an_f64_sum() {
    let (rows, k) = (23, 4);
    let a = rand_vec(rows * k, 5);
    let b = rand_vec(k * PANEL, 6);
    let x = rand_vec(rows * PANEL, 7);
    let mut num = vec![0.0f32; k * PANEL];
    let kern = Kern::for_level(crate::simd::detected());
    ratio_panel(kern, &a, k, &b, &x, rows, 1e-7, &mut num);
    for kk in 0..k {
        for j in 0..PANEL {
            let want: f64 = (0..rows)
                .map(|r| {
                    let wh: f64 = (0..k)
                        .map(|q| a[r * k + q] as f64 * b[q * PANEL + j] as f64)
                        .sum();
                    a[r * k + kk] as f64 * x[r * PANEL + j] as f64 / wh
                })
                .sum();
            let got = num[kk * PANEL + j] as f64;
            // f32 products and sums of 23 positive terms: a few ulps each
            assert!((got - want).abs() <= 1e-5 * want, "{got} vs {want}");
        }
    }
}

/// Whole iterations (both half-updates, a fixed column of `W`, the loss) give the same
/// bytes with every kernel this CPU runs, on 1, 2 or 3 threads.
#[test]
fn engine_gives_the_same_bytes_at_every_level_and_thread_count() {
    // ragged: T = 37 is two panels and 5 columns, F = 45 seven tiles and 3 rows
    let (f, t, k) = (45, 37, 5);
    let x = rand_vec(f * t, 11);
    let w: Vec<f32> = rand_vec(f * k, 12).iter().map(|v| v + 0.1).collect();
    let h: Vec<f32> = rand_vec(k * t, 13).iter().map(|v| v + 0.1).collect();
    let p = NmfParams::new(k).alpha_w(0.01).alpha_h(0.02).l1_ratio(0.5);
    let mut free = vec![true; k];
    free[1] = false;
    let run = |level: Level, threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut e = KlEngine::new(&p, &x, f, t, &w, &h, free.clone(), level).unwrap();
            let mut losses = vec![e.loss_sum().to_bits()];
            for _ in 0..8 {
                e.update_w();
                e.update_h();
                losses.push(e.loss_sum().to_bits());
            }
            let (mut wo, mut ho) = (vec![0.0f32; f * k], vec![0.0f32; k * t]);
            e.write_back(&mut wo, &mut ho);
            let b = |v: &[f32]| v.iter().map(|a| a.to_bits()).collect::<Vec<_>>();
            (b(&wo), b(&ho), losses)
        })
    };
    let want = run(Level::Scalar, 1);
    for i in 0..f {
        assert_eq!(
            want.0[i * k + 1],
            w[i * k + 1].to_bits(),
            "fixed column of W"
        );
    }
    assert_ne!(want.1, h.iter().map(|a| a.to_bits()).collect::<Vec<_>>());
    for level in Level::available() {
        for threads in [1, 2, 3] {
            assert!(run(level, threads) == want, "{level}, {threads} threads");
        }
    }
}

#[test]
fn panels_round_trip() {
    let (r, c) = (5, 37);
    let m = rand_vec(r * c, 8);
    let p = to_panels(&m, r, c);
    let mut back = vec![0.0; r * c];
    from_panels(&p, r, c, &mut back, false);
    assert_eq!(back, m);
    let pt = transposed_panels(&m, r, c);
    let mut mt = vec![0.0; r * c];
    from_panels(&pt, c, r, &mut mt, true);
    assert_eq!(mt, m);
}
