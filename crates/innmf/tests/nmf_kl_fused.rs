//! The fused KL engine (β = 1 in f32, `innmf::nmf`'s default there) against the general engine
//! it replaces ([`NmfEngine::Reference`]), the f64 reference and scikit-learn's fixtures; its
//! results for any thread count; fixed factors and interruption on it.
//!
//! **Tolerance.** Both f32 engines are compared with the f64 fit per element at
//! `|a − b| ≤ R·(|b| + 1e-3·max|B|)`. One half-update sums, per entry, `n` (F or T, ≤ 70 here)
//! products whose factors carry K-term f32 dot products: a relative error of at most
//! `(n + K)·u` with `u = 2⁻²⁴ ≈ 6e-8` (≈ 8e-6 for n + K = 136), and in practice about
//! `√(n + K)·u`; over the 30 iterations of these fits the errors add (the updates are
//! contractions on the positive factors, not amplifiers). Both engines stay below 1.1e-5 on
//! these shapes (K = 66 the worst), so `R = 1e-4` bounds them with a tenfold margin, while a
//! wrong term (a missed row, a panel edge read twice, a lost regulariser) moves entries by
//! percents. The floor `1e-3·max|B|` (so `1e-7·max`) covers entries the fit drives towards
//! zero, whose absolute error is that of the larger entries they were computed from. Mean
//! losses get the same `R` plus an absolute `1e-12`: at an exact fit (F = 1, K = 2 below) an
//! f32 product still differs from `x` by about `u·x`, a divergence of `(u·x)²/(2x) ≈ 2e-15·x`
//! per entry, which f64 does not see.

use innmf::io::{npz_get, read_npz, NdArray};
use innmf::nmf::{sklearn_beta_divergence, Init, NmfEngine, NmfParams, UpdateOrder};
use innmf::Error;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

const R: f64 = 1e-4;

fn rand_mat(n: usize, seed: u64, lo: f64) -> Vec<f64> {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| lo + r.random_range(0.0..1.0)).collect()
}

fn f32s(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&a| a as f32).collect()
}

fn f64s(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&a| a as f64).collect()
}

/// The largest `|a − b| / (|b| + 1e-3·max|B|)` over the entries.
fn rel_err(got: &[f64], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len());
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    got.iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs() / (b.abs() + 1e-3 * scale))
        .fold(0.0, f64::max)
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|a| a.to_bits()).collect()
}

/// Ragged shapes: T not a multiple of 16 (the panel width), F not a multiple of 6 (the register
/// tile), a single row/column/component, K above 64, and the benchmark's rank.
const SHAPES: [(usize, usize, usize); 7] = [
    (37, 53, 5),
    (6, 16, 1),
    (1, 17, 2),
    (23, 1, 3),
    (70, 45, 66),
    (101, 33, 20),
    (48, 64, 4),
];

#[test]
fn fused_f32_matches_the_f64_reference_per_element() {
    for (i, &(f, t, k)) in SHAPES.iter().enumerate() {
        let seed = 100 + i as u64;
        let x = rand_mat(f * t, seed, 0.01);
        let (w0, h0) = (
            rand_mat(f * k, seed + 1, 0.1),
            rand_mat(k * t, seed + 2, 0.1),
        );
        for order in [UpdateOrder::WThenH, UpdateOrder::HThenW] {
            let p = NmfParams::new(k)
                .init(Init::Custom)
                .max_iter(30)
                .tol(0.0)
                .order(order);
            let (w64, h64, r64) = p.fit_from(&x, f, t, w0.clone(), h0.clone()).unwrap();
            let run32 = |engine| {
                p.clone()
                    .engine(engine)
                    .fit_from(&f32s(&x), f, t, f32s(&w0), f32s(&h0))
                    .unwrap()
            };
            let (wf, hf, rf) = run32(NmfEngine::Auto);
            let (wr, hr, rr) = run32(NmfEngine::Reference);
            let (ew, eh) = (rel_err(&f64s(&wf), &w64), rel_err(&f64s(&hf), &h64));
            let (erw, erh) = (rel_err(&f64s(&wr), &w64), rel_err(&f64s(&hr), &h64));
            eprintln!(
                "{f}x{t} k {k} {order:?}: fused W {ew:.1e} H {eh:.1e}; reference f32 W {erw:.1e} \
                 H {erh:.1e}"
            );
            let what = format!("{f}x{t} rank {k} {order:?}");
            assert!(ew <= R && eh <= R, "{what}: fused W {ew:e}, H {eh:e}");
            assert!(
                erw <= R && erh <= R,
                "{what}: reference W {erw:e}, H {erh:e}"
            );
            for r in [&rf, &rr] {
                assert_eq!(r.dtype, "float32");
                assert_eq!(r.n_iter, 30);
                let diff = (r.final_loss - r64.final_loss).abs();
                assert!(
                    diff <= R * r64.final_loss + 1e-12,
                    "{what}: loss {} vs f64 {}",
                    r.final_loss,
                    r64.final_loss
                );
            }
            assert!(
                rf.final_loss < rf.initial_loss,
                "{what}: the fit decreases the loss"
            );
        }
    }
}

#[test]
fn fused_engine_gives_the_same_bytes_for_any_thread_count() {
    let (f, t, k) = (101, 70, 7);
    let x = f32s(&rand_mat(f * t, 7, 0.0));
    let p = NmfParams::new(k).max_iter(40).tol(1e-6).check_every(10);
    let fit = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| p.fit(&x, f, t).unwrap())
    };
    let (w1, h1, r1) = fit(1);
    for threads in [2, 3] {
        let (w, h, r) = fit(threads);
        assert_eq!(bits(&w), bits(&w1), "W, {threads} threads");
        assert_eq!(bits(&h), bits(&h1), "H, {threads} threads");
        assert_eq!(r.loss_history, r1.loss_history, "losses, {threads} threads");
    }
}

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/nmf/");

fn get<'a>(a: &'a [(String, NdArray)], name: &str) -> &'a NdArray {
    npz_get(a, name, Path::new("mu_cases.npz")).unwrap()
}

/// scikit-learn's KL fixtures (`tests/data/nmf/make_nmf_fixtures.py`, f64) reproduced in f32
/// by both engines, per element within [`R`] (25 iterations of 10–12-term sums), and the
/// fused engine no further from them than the general one is, up to rounding.
#[test]
fn fused_f32_matches_sklearn_fixtures() {
    let npz = PathBuf::from(DIR).join("mu_cases.npz");
    let arrays = read_npz(&npz).expect("mu_cases.npz (run tests/data/nmf/make_nmf_fixtures.py)");
    let json = std::fs::read_to_string(Path::new(DIR).join("fixtures.json")).unwrap();
    let meta: serde_json::Value = serde_json::from_str(&json).unwrap();
    let (f, t, k) = (12, 10, 3);
    let w0 = f32s(&get(&arrays, "W0").data);
    let h0 = f32s(&get(&arrays, "H0").data);
    let mut n = 0;
    for case in meta["cases"].as_array().unwrap() {
        let kind = case["kind"].as_str().unwrap();
        if kind == "init" || case["beta"].as_f64() != Some(1.0) {
            continue;
        }
        let name = case["name"].as_str().unwrap();
        let x64 = &get(&arrays, case["x"].as_str().unwrap()).data;
        let x = f32s(x64);
        let mut p = NmfParams::new(k)
            .init(Init::Custom)
            .max_iter(case["n_iter"].as_u64().unwrap() as usize)
            .tol(0.0)
            .alpha_w(case["alpha_W"].as_f64().unwrap())
            .l1_ratio(case["l1_ratio"].as_f64().unwrap());
        if let Some(ah) = case["alpha_H"].as_f64() {
            p = p.alpha_h(ah);
        }
        let want_w = &get(&arrays, &format!("{name}_W")).data;
        let mut worst = [0.0f64; 2];
        for (e, engine) in [NmfEngine::Auto, NmfEngine::Reference]
            .into_iter()
            .enumerate()
        {
            let p = p.clone().engine(engine);
            let (w, h) = if kind == "mu" {
                let (w, h, _) = p.fit_from(&x, f, t, w0.clone(), h0.clone()).unwrap();
                let err = rel_err(&f64s(&h), &get(&arrays, &format!("{name}_H")).data);
                assert!(err <= R, "{name} {engine:?}: H off by {err:e}");
                worst[e] = worst[e].max(err);
                (w, h)
            } else {
                let (w, _) = p.fit_w(&x, f, t, &h0).unwrap();
                (w, h0.clone())
            };
            let err = rel_err(&f64s(&w), want_w);
            assert!(err <= R, "{name} {engine:?}: W off by {err:e}");
            worst[e] = worst[e].max(err);
            let ours = sklearn_beta_divergence(x64, &f64s(&w), &f64s(&h), f, t, k, 1.0).unwrap();
            let loss = case["loss"].as_f64().unwrap();
            assert!(
                (ours - loss).abs() <= R * loss,
                "{name} {engine:?}: loss {ours} vs sklearn {loss}"
            );
        }
        eprintln!(
            "{name}: fused {:.1e}, reference f32 {:.1e}",
            worst[0], worst[1]
        );
        // the same precision: a few f32 roundings apart, never an order of magnitude
        assert!(worst[0] <= 4.0 * worst[1] + 1e-6, "{name}: {worst:?}");
        n += 1;
    }
    assert_eq!(n, 4, "pos_b1, zero_b1, reg_b1, fixedH_b1");
}

#[test]
fn fixed_factors_stay_fixed_on_the_fused_engine() {
    let (f, t, k) = (29, 35, 4);
    let x = f32s(&rand_mat(f * t, 21, 0.0));
    let p = NmfParams::new(k).max_iter(30).tol(0.0);
    let w_fixed = f32s(&rand_mat(f * 2, 22, 0.1));
    let (w, h, rep) = p.fit_partial(&x, f, t, &w_fixed).unwrap();
    for i in 0..f {
        assert_eq!(bits(&w[i * k..i * k + 2]), bits(&w_fixed[i * 2..i * 2 + 2]));
    }
    assert!(rep.final_loss < rep.initial_loss);
    let reference = p.clone().engine(NmfEngine::Reference);
    let (wr, hr, _) = reference.fit_partial(&x, f, t, &w_fixed).unwrap();
    let err = rel_err(&f64s(&w), &f64s(&wr)).max(rel_err(&f64s(&h), &f64s(&hr)));
    assert!(err <= R, "partial W: fused vs reference {err:e}");

    let h_fixed = f32s(&rand_mat(k * t, 23, 0.1));
    let (w, rep) = p.fit_w(&x, f, t, &h_fixed).unwrap();
    let (wr, _) = reference.fit_w(&x, f, t, &h_fixed).unwrap();
    assert!(rep.final_loss < rep.initial_loss);
    let err = rel_err(&f64s(&w), &f64s(&wr));
    assert!(err <= R, "fixed H: fused vs reference {err:e}");

    let w_all = f32s(&rand_mat(f * k, 24, 0.1));
    let (h, rep) = p.fit_h(&x, f, t, &w_all).unwrap();
    let (hr, _) = reference.fit_h(&x, f, t, &w_all).unwrap();
    assert!(rep.final_loss < rep.initial_loss);
    let err = rel_err(&f64s(&h), &f64s(&hr));
    assert!(err <= R, "fixed W: fused vs reference {err:e}");
}

/// An interrupted fused fit leaves the factors as after the last iteration it ran (the same
/// bytes as a fit of that many iterations), and says where it stopped.
#[test]
fn interrupting_the_fused_engine_keeps_the_last_iterate() {
    let (f, t, k) = (31, 40, 3);
    let x = f32s(&rand_mat(f * t, 31, 0.0));
    let (w0, h0) = (
        f32s(&rand_mat(f * k, 32, 0.1)),
        f32s(&rand_mat(k * t, 33, 0.1)),
    );
    let p = NmfParams::new(k).init(Init::Custom).max_iter(50).tol(0.0);
    let (mut w, mut h) = (w0.clone(), h0.clone());
    let mut stop = |it: usize, _: usize, _: f64| {
        if it == 7 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let err = p
        .solve_observed(&x, f, t, &mut w, &mut h, &[], true, Some(&mut stop))
        .unwrap_err();
    assert!(matches!(err, Error::Interrupted { step: 7 }), "{err}");
    let (w7, h7, _) = p.clone().max_iter(7).fit_from(&x, f, t, w0, h0).unwrap();
    assert_eq!(bits(&w), bits(&w7));
    assert_eq!(bits(&h), bits(&h7));
}

/// Silent rows and frames (zeros in `X`) and a dead component give finite factors and losses.
#[test]
fn zeros_are_safe_on_the_fused_engine() {
    let (f, t, k) = (20, 18, 3);
    let mut x = rand_mat(f * t, 41, 0.0);
    for j in 0..t {
        x[4 * t + j] = 0.0;
    }
    for i in 0..f {
        x[i * t + 17] = 0.0;
    }
    let mut h0 = rand_mat(k * t, 43, 0.1);
    h0[t..2 * t].iter_mut().for_each(|v| *v = 0.0); // component 1 silent
    let p = NmfParams::new(k).init(Init::Custom).max_iter(40).tol(0.0);
    let (w, h, r) = p
        .fit_from(&f32s(&x), f, t, f32s(&rand_mat(f * k, 42, 0.1)), f32s(&h0))
        .unwrap();
    assert!(w.iter().chain(&h).all(|v| v.is_finite() && *v >= 0.0));
    assert!(r.final_loss.is_finite() && r.final_loss < r.initial_loss);
    assert!(
        h[t..2 * t].iter().all(|&v| v == 0.0),
        "a zero row of H stays 0"
    );
}
