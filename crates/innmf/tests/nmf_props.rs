//! Properties of multiplicative-update NMF: monotone objective, exact recovery, fixed factors,
//! agreement with a naive f64 reference and with the gradient engine's objective, safety on
//! zeros, typed errors on bad input.

use innmf::nmf::{objective_mean, Init, NmfParams, UpdateOrder};
use innmf::{Divergence, Error};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn rand_mat(n: usize, seed: u64, lo: f64) -> Vec<f64> {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| lo + r.random_range(0.0..1.0)).collect()
}

fn matmul(w: &[f64], h: &[f64], f: usize, k: usize, t: usize) -> Vec<f64> {
    let mut x = vec![0.0; f * t];
    for i in 0..f {
        for j in 0..t {
            x[i * t + j] = (0..k).map(|l| w[i * k + l] * h[l * t + j]).sum();
        }
    }
    x
}

const BETAS: [f64; 6] = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0];

#[test]
fn objective_never_increases() {
    for &beta in &BETAS {
        for (seed, &(f, t, k)) in [(6, 5, 2), (13, 9, 3), (37, 23, 4)].iter().enumerate() {
            for zeros in [false, true] {
                let mut x = rand_mat(f * t, 10 + seed as u64, 0.0);
                if zeros && beta >= 1.0 {
                    x.iter_mut().step_by(3).for_each(|v| *v = 0.0);
                }
                for init in [Init::Random, Init::Nndsvda] {
                    let p = NmfParams::new(k)
                        .beta(beta)
                        .init(init)
                        .max_iter(40)
                        .tol(0.0)
                        .check_every(1)
                        .loss_eps(1e-14)
                        .seed(seed as u64);
                    let (_, _, rep) = p.fit(&x, f, t).unwrap();
                    assert_eq!(rep.loss_history.len(), 41);
                    for pair in rep.loss_history.windows(2) {
                        let (a, b) = (pair[0].loss, pair[1].loss);
                        assert!(
                            b <= a * (1.0 + 1e-10) + 1e-15,
                            "beta {beta} {f}x{t} k{k} zeros {zeros} {init:?}: iter {} loss {a} -> {b}",
                            pair[1].iter
                        );
                    }
                    assert!(rep.final_loss < rep.initial_loss);
                }
            }
        }
    }
}

#[test]
fn planted_factorization_is_recovered() {
    let (f, t, k) = (30, 25, 3);
    let w = rand_mat(f * k, 1, 0.1);
    let h = rand_mat(k * t, 2, 0.1);
    let x = matmul(&w, &h, f, k, t);
    for beta in [1.0, 2.0, 0.5] {
        let p = NmfParams::new(k)
            .beta(beta)
            .init(Init::Nndsvda)
            .max_iter(3000)
            .tol(0.0);
        let (_, _, rep) = p.fit(&x, f, t).unwrap();
        assert!(
            rep.final_loss < 1e-5 * rep.initial_loss.max(1e-3),
            "beta {beta}: {rep:?}"
        );
        assert!(
            rep.final_loss < 1e-6,
            "beta {beta}: final {}",
            rep.final_loss
        );
    }
    // Fixed true W: H is identified and recovered.
    let p = NmfParams::new(k).beta(1.0).max_iter(2000).tol(0.0);
    let (h_hat, rep) = p.fit_h(&x, f, t, &w).unwrap();
    assert!(rep.final_loss < 1e-8, "{}", rep.final_loss);
    for (a, b) in h_hat.iter().zip(&h) {
        assert!((a - b).abs() < 1e-3 * (1.0 + b), "{a} vs {b}");
    }
}

/// scikit-learn's updates written as plain loops in f64 (one W update, then one H update).
#[allow(clippy::too_many_arguments)]
fn naive_iteration(
    x: &[f64],
    w: &mut [f64],
    h: &mut [f64],
    f: usize,
    t: usize,
    k: usize,
    beta: f64,
    reg: (f64, f64, f64, f64),
    free_w: &[bool],
) {
    let eps = f32::EPSILON as f64;
    let g = innmf::nmf::gamma(beta);
    let ab = |x: &[f64], wh: &[f64]| -> (Vec<f64>, Vec<f64>) {
        let a = x
            .iter()
            .zip(wh)
            .map(|(&xv, &l)| xv * if beta < 2.0 { l.max(eps) } else { l }.powf(beta - 2.0))
            .collect();
        let b = wh
            .iter()
            .map(|&l| if beta < 1.0 { l.max(eps) } else { l }.powf(beta - 1.0))
            .collect();
        (a, b)
    };
    let wh = matmul(w, h, f, k, t);
    let (a, b) = ab(x, &wh);
    for i in 0..f {
        for j in 0..k {
            if !free_w[j] {
                continue;
            }
            let num: f64 = (0..t).map(|c| a[i * t + c] * h[j * t + c]).sum();
            let mut den: f64 = if beta == 1.0 {
                (0..t).map(|c| h[j * t + c]).sum()
            } else {
                (0..t).map(|c| b[i * t + c] * h[j * t + c]).sum()
            };
            den += reg.0 + reg.2 * w[i * k + j];
            if den == 0.0 {
                den = eps;
            }
            w[i * k + j] *= (num / den).powf(g);
            if beta < 1.0 && w[i * k + j] < f64::EPSILON {
                w[i * k + j] = 0.0;
            }
        }
    }
    let wh = matmul(w, h, f, k, t);
    let (a, b) = ab(x, &wh);
    let mut hn = h.to_vec();
    for j in 0..k {
        let wsum: f64 = (0..f).map(|i| w[i * k + j]).sum();
        for c in 0..t {
            let num: f64 = (0..f).map(|i| w[i * k + j] * a[i * t + c]).sum();
            let mut den = if beta == 1.0 {
                if wsum == 0.0 {
                    1.0
                } else {
                    wsum
                }
            } else {
                (0..f).map(|i| w[i * k + j] * b[i * t + c]).sum()
            };
            den += reg.1 + reg.3 * h[j * t + c];
            if den == 0.0 {
                den = eps;
            }
            hn[j * t + c] = h[j * t + c] * (num / den).powf(g);
            if beta <= 1.0 && hn[j * t + c] < f64::EPSILON {
                hn[j * t + c] = 0.0;
            }
        }
    }
    h.copy_from_slice(&hn);
}

#[test]
fn engine_matches_naive_reference_across_block_shapes() {
    for &(f, t, k) in &[(1, 7, 1), (37, 23, 3), (257, 5, 2), (600, 11, 4)] {
        for &beta in &BETAS {
            let mut x = rand_mat(f * t, 5, 0.0);
            x.iter_mut().step_by(7).for_each(|v| *v = 0.0);
            let w0 = rand_mat(f * k, 6, 0.05);
            let h0 = rand_mat(k * t, 7, 0.05);
            let p = NmfParams::new(k)
                .beta(beta)
                .init(Init::Custom)
                .max_iter(5)
                .tol(0.0)
                .alpha_w(0.01)
                .alpha_h(0.002)
                .l1_ratio(0.4);
            let fixed: Vec<usize> = if k > 1 { vec![0] } else { vec![] };
            let (mut w, mut h) = (w0.clone(), h0.clone());
            p.solve(&x, f, t, &mut w, &mut h, &fixed, true).unwrap();
            let (mut wr, mut hr) = (w0.clone(), h0.clone());
            let free: Vec<bool> = (0..k).map(|j| !fixed.contains(&j)).collect();
            for _ in 0..5 {
                naive_iteration(
                    &x,
                    &mut wr,
                    &mut hr,
                    f,
                    t,
                    k,
                    beta,
                    p.regularization(f, t),
                    &free,
                );
            }
            for (name, a, b) in [("W", &w, &wr), ("H", &h, &hr)] {
                for (i, (u, v)) in a.iter().zip(b.iter()).enumerate() {
                    assert!(
                        (u - v).abs() <= 1e-9 * (1.0 + v.abs()),
                        "{f}x{t} k{k} beta {beta} {name}[{i}]: {u} vs {v}"
                    );
                }
            }
            if k > 1 {
                for i in 0..f {
                    assert_eq!(w[i * k], w0[i * k], "fixed column kept");
                }
            }
        }
    }
}

#[test]
fn report_loss_is_the_gradient_engines_objective() {
    let (f, t, k) = (19, 14, 3);
    let x = rand_mat(f * t, 3, 0.0);
    for &beta in &BETAS {
        let p = NmfParams::new(k).beta(beta).max_iter(30).loss_eps(1e-8);
        let (w, h, rep) = p.fit(&x, f, t).unwrap();
        let d = Divergence::new(beta, 1e-8).unwrap();
        let want = objective_mean(&x, &w, &h, f, t, k, &d).unwrap();
        assert!(
            (rep.final_loss - want).abs() <= 1e-12 * want.abs(),
            "beta {beta}"
        );
        assert_eq!(rep.divergence, d);
        // And the same through Divergence::mean on an explicit product.
        let wh = matmul(&w, &h, f, k, t);
        assert!((d.mean(&x, &wh) - want).abs() <= 1e-12 * want.abs());
    }
}

#[test]
fn f32_agrees_with_f64() {
    let (f, t, k) = (40, 30, 4);
    let x = rand_mat(f * t, 8, 0.0);
    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    for beta in [0.0, 1.0, 2.0, 1.5] {
        let p = NmfParams::new(k)
            .beta(beta)
            .init(Init::Nndsvda)
            .max_iter(50)
            .tol(0.0);
        let (_, _, r64) = p.fit(&x, f, t).unwrap();
        let (w32, _, r32) = p.fit(&x32, f, t).unwrap();
        assert!(w32.iter().all(|v| v.is_finite()));
        assert_eq!(r32.dtype, "float32");
        let rel = (r32.final_loss - r64.final_loss).abs() / r64.final_loss;
        assert!(
            rel < 1e-3,
            "beta {beta}: f32 {} f64 {}",
            r32.final_loss,
            r64.final_loss
        );
    }
}

#[test]
fn fixed_factors_stay_fixed_and_partial_w_works() {
    let (f, t, k) = (20, 16, 3);
    let x = rand_mat(f * t, 11, 0.0);
    let h_fixed = rand_mat(k * t, 12, 0.1);
    let p = NmfParams::new(k).max_iter(50).tol(0.0);
    let (w, rep) = p.fit_w(&x, f, t, &h_fixed).unwrap();
    assert_eq!(w.len(), f * k);
    assert!(rep.final_loss < rep.initial_loss);

    let w_fixed: Vec<f64> = rand_mat(f * 2, 13, 0.1);
    let (w, h, rep) = p.fit_partial(&x, f, t, &w_fixed).unwrap();
    assert_eq!((w.len(), h.len()), (f * k, k * t));
    for i in 0..f {
        assert_eq!(&w[i * k..i * k + 2], &w_fixed[i * 2..i * 2 + 2]);
    }
    assert!(rep.final_loss < rep.initial_loss);
    // n_fixed = 0 and n_fixed = rank are both fine.
    p.fit_partial(&x, f, t, &[]).unwrap();
    let (w_all, _, _) = p.fit_partial(&x, f, t, &rand_mat(f * k, 14, 0.1)).unwrap();
    assert_eq!(w_all, rand_mat(f * k, 14, 0.1));
}

#[test]
fn zeros_never_produce_nan_or_inf() {
    let (f, t) = (10, 8);
    let mut x = rand_mat(f * t, 4, 0.0);
    for j in 0..t {
        x[3 * t + j] = 0.0; // a silent bin
    }
    for i in 0..f {
        x[i * t + 5] = 0.0; // a silent frame
    }
    let zero = vec![0.0; f * t];
    for data in [&x, &zero] {
        for &beta in &[-1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0] {
            for init in [
                Init::Random,
                Init::Paper,
                Init::Nndsvd,
                Init::Nndsvda,
                Init::Nndsvdar,
            ] {
                let p = NmfParams::new(3)
                    .beta(beta)
                    .init(init)
                    .max_iter(60)
                    .tol(1e-6);
                if beta < 0.0 {
                    let e = p.fit(data, f, t).unwrap_err();
                    assert!(
                        matches!(e, Error::InvalidParameter { name: "beta", .. }),
                        "{e}"
                    );
                    continue;
                }
                let (w, h, rep) = p.fit(data, f, t).unwrap();
                assert!(
                    w.iter().chain(&h).all(|v| v.is_finite() && *v >= 0.0),
                    "beta {beta} {init:?}"
                );
                assert!(rep.final_loss.is_finite(), "beta {beta} {init:?}");
                let x32: Vec<f32> = data.iter().map(|&v| v as f32).collect();
                let (w, h, _) = p.fit(&x32, f, t).unwrap();
                assert!(w.iter().chain(&h).all(|v| v.is_finite() && *v >= 0.0));
            }
        }
    }
}

#[test]
fn stopping_rule_and_warning() {
    let (f, t) = (25, 20);
    let x = rand_mat(f * t, 9, 0.0);
    let (_, _, r) = NmfParams::new(4)
        .max_iter(20)
        .tol(1e-12)
        .fit(&x, f, t)
        .unwrap();
    assert!(r.hit_max_iter() && !r.converged && r.n_iter == 20);
    assert!(r.warning().unwrap().contains("20"));
    let (_, _, r) = NmfParams::new(4)
        .max_iter(5000)
        .tol(1e-2)
        .fit(&x, f, t)
        .unwrap();
    assert!(r.converged && !r.hit_max_iter() && r.warning().is_none());
    assert_eq!(r.n_iter % 10, 0);
    assert!(r.n_iter < 5000);
    let checks: Vec<usize> = r.loss_history.iter().map(|p| p.iter).collect();
    assert_eq!(checks, (0..=r.n_iter).step_by(10).collect::<Vec<_>>());
    // tol = 0: runs to the limit without a warning; odd limits still report the final loss.
    let wall = std::time::Instant::now();
    let (_, _, r) = NmfParams::new(4)
        .max_iter(13)
        .tol(0.0)
        .fit(&x, f, t)
        .unwrap();
    let wall = wall.elapsed().as_secs_f64();
    assert!(!r.hit_max_iter() && r.n_iter == 13);
    assert_eq!(r.loss_history.last().unwrap().iter, 13);
    // the reported time is the solve's, in seconds: positive and within the call's wall time
    assert!(
        r.elapsed_s > 0.0 && r.elapsed_s <= wall,
        "{} vs {wall}",
        r.elapsed_s
    );
}

#[test]
fn same_seed_same_result_and_paper_order() {
    let (f, t) = (30, 21);
    let x = rand_mat(f * t, 15, 0.0);
    for init in [Init::Random, Init::Paper, Init::Nndsvdar] {
        let p = NmfParams::new(3)
            .init(init)
            .order(UpdateOrder::HThenW)
            .max_iter(30)
            .seed(7);
        let a = p.fit(&x, f, t).unwrap();
        let b = p.fit(&x, f, t).unwrap();
        assert_eq!((&a.0, &a.1), (&b.0, &b.1));
        let c = p.clone().seed(8).fit(&x, f, t).unwrap();
        assert_ne!(c.0, b.0, "{init:?}");
    }
}

#[test]
fn bad_input_gives_errors() {
    let (f, t) = (4, 3);
    let x = rand_mat(f * t, 1, 0.1);
    let p = NmfParams::new(2);
    let mut neg = x.clone();
    neg[5] = -1.0;
    assert!(matches!(
        p.fit(&neg, f, t),
        Err(Error::NegativeMagnitude { index: 5, .. })
    ));
    let mut nan = x.clone();
    nan[2] = f64::NAN;
    assert!(matches!(
        p.fit(&nan, f, t),
        Err(Error::NonFinite { index: 2, .. })
    ));
    let mut inf = x.clone();
    inf[0] = f64::INFINITY;
    assert!(matches!(
        p.fit(&inf, f, t),
        Err(Error::NonFinite { index: 0, .. })
    ));
    assert!(matches!(
        p.fit(&x, f, t + 1),
        Err(Error::LengthMismatch { .. })
    ));
    assert!(matches!(p.fit(&x[..0], 0, t), Err(Error::Empty { .. })));
    assert!(matches!(
        NmfParams::new(0).fit(&x, f, t),
        Err(Error::InvalidParameter { name: "rank", .. })
    ));
    assert!(matches!(
        NmfParams::new(4).init(Init::Nndsvd).fit(&x, f, t),
        Err(Error::InvalidParameter { name: "rank", .. })
    ));
    // Random init allows K > min(F, T).
    NmfParams::new(5)
        .init(Init::Random)
        .max_iter(5)
        .fit(&x, f, t)
        .unwrap();
    assert!(matches!(
        p.clone().init(Init::Custom).fit(&x, f, t),
        Err(Error::InvalidParameter { name: "init", .. })
    ));
    assert!(matches!(
        p.fit_from(&x, f, t, vec![0.1; 7], vec![0.1; 6]),
        Err(Error::LengthMismatch { .. })
    ));
    assert!(matches!(
        p.fit_from(&x, f, t, vec![-0.1; 8], vec![0.1; 6]),
        Err(Error::NegativeMagnitude { .. })
    ));
    assert!(matches!(
        p.fit_h(&x, f, t, &[1.0; 3]),
        Err(Error::LengthMismatch { .. })
    ));
    assert!(matches!(
        p.fit_w(&x, f, t, &[1.0; 5]),
        Err(Error::LengthMismatch { .. })
    ));
    assert!(matches!(
        p.fit_partial(&x, f, t, &[1.0; 5]),
        Err(Error::Shape(_))
    ));
    assert!(matches!(
        p.fit_partial(&x, f, t, &[1.0; 12]),
        Err(Error::Shape(_))
    ));
    let (mut w, mut h) = (vec![0.5; 8], vec![0.5; 6]);
    assert!(matches!(
        p.solve(&x, f, t, &mut w, &mut h, &[2], true),
        Err(Error::InvalidParameter {
            name: "fixed W column",
            ..
        })
    ));
    assert!(p.clone().beta(f64::INFINITY).fit(&x, f, t).is_err());
    let msg = p.fit(&neg, f, t).unwrap_err().to_string();
    assert!(msg.contains("-1"), "{msg}");
}
