//! Agreement with scikit-learn 1.9 (`NMF(solver='mu', init='custom', tol=0)`,
//! `non_negative_factorization(update_H=False)`, `_initialize_nmf`): fixtures made by
//! `tests/data/nmf/make_nmf_fixtures.py`, compared in f64 to 1e-5 relative.

use innmf::io::{npz_get, read_npz, NdArray};
use innmf::nmf::{init::nndsvd, initialize, sklearn_beta_divergence, Init, NmfParams};
use std::path::{Path, PathBuf};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/nmf/");

fn load() -> (Vec<(String, NdArray)>, serde_json::Value) {
    let npz = PathBuf::from(DIR).join("mu_cases.npz");
    let arrays = read_npz(&npz).expect("mu_cases.npz (run tests/data/nmf/make_nmf_fixtures.py)");
    let json = std::fs::read_to_string(Path::new(DIR).join("fixtures.json")).unwrap();
    (arrays, serde_json::from_str(&json).unwrap())
}

fn get<'a>(a: &'a [(String, NdArray)], name: &str) -> &'a NdArray {
    npz_get(a, name, Path::new("mu_cases.npz")).unwrap()
}

/// |a − b| ≤ 1e-5·(|b| + 1e-3·max|B|): relative, with a floor for entries driven towards 0.
#[track_caller]
fn assert_close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        let tol = 1e-5 * (b.abs() + 1e-3 * scale);
        assert!(
            (a - b).abs() <= tol,
            "{what}[{i}]: got {a}, sklearn {b} (diff {:e})",
            (a - b).abs()
        );
    }
}

#[test]
fn multiplicative_updates_match_sklearn() {
    let (arrays, meta) = load();
    let (f, t, k) = (12, 10, 3);
    let w0 = &get(&arrays, "W0").data;
    let h0 = &get(&arrays, "H0").data;
    let mut n = 0;
    for case in meta["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let kind = case["kind"].as_str().unwrap();
        if kind == "init" {
            continue;
        }
        let x = &get(&arrays, case["x"].as_str().unwrap()).data;
        let beta = case["beta"].as_f64().unwrap();
        let mut p = NmfParams::new(k)
            .beta(beta)
            .init(Init::Custom)
            .max_iter(case["n_iter"].as_u64().unwrap() as usize)
            .tol(0.0)
            .alpha_w(case["alpha_W"].as_f64().unwrap())
            .l1_ratio(case["l1_ratio"].as_f64().unwrap());
        if let Some(ah) = case["alpha_H"].as_f64() {
            p = p.alpha_h(ah);
        }
        let loss = case["loss"].as_f64().unwrap();
        let (w, h) = if kind == "mu" {
            let (w, h, rep) = p.fit_from(x, f, t, w0.clone(), h0.clone()).unwrap();
            assert_eq!(rep.n_iter, p.max_iter);
            assert_close(
                &format!("{name} H"),
                &h,
                &get(&arrays, &format!("{name}_H")).data,
            );
            (w, h)
        } else {
            let (w, _) = p.fit_w(x, f, t, h0).unwrap();
            (w, h0.clone())
        };
        assert_close(
            &format!("{name} W"),
            &w,
            &get(&arrays, &format!("{name}_W")).data,
        );
        let ours = sklearn_beta_divergence(x, &w, &h, f, t, k, beta).unwrap();
        assert!(
            (ours - loss).abs() <= 1e-5 * loss.abs(),
            "{name}: loss {ours} vs sklearn {loss}"
        );
        n += 1;
    }
    assert_eq!(n, 15, "all multiplicative-update cases ran");
}

#[test]
fn nndsvd_inits_match_sklearn() {
    let (arrays, meta) = load();
    let (f, t, k) = (12, 10, 3);
    let mut n = 0;
    for case in meta["cases"].as_array().unwrap() {
        if case["kind"].as_str() != Some("init") {
            continue;
        }
        let name = case["name"].as_str().unwrap();
        let x = &get(&arrays, case["x"].as_str().unwrap()).data;
        let init = Init::parse(case["init"].as_str().unwrap()).unwrap();
        let (w, h) = initialize(x, f, t, k, init, 0).unwrap();
        assert_close(
            &format!("{name} W"),
            &w,
            &get(&arrays, &format!("{name}_W0")).data,
        );
        assert_close(
            &format!("{name} H"),
            &h,
            &get(&arrays, &format!("{name}_H0")).data,
        );
        if init == Init::Nndsvd {
            assert_eq!((w.clone(), h.clone()), nndsvd(x, f, t, k).unwrap());
        }
        n += 1;
    }
    assert_eq!(n, 4);
}

#[test]
fn sklearn_loss_of_the_start_matches() {
    // scikit-learn's _beta_divergence of the committed start factors (start_losses.json, made by
    // make_start_losses.py) against our port of it, and, on strictly positive data, against the
    // library's Divergence and a float64 sum of the definition done by NumPy.
    let (arrays, _) = load();
    let json = std::fs::read_to_string(Path::new(DIR).join("start_losses.json")).unwrap();
    let cases: serde_json::Value = serde_json::from_str(&json).unwrap();
    let w0 = &get(&arrays, "W0").data;
    let h0 = &get(&arrays, "H0").data;
    let mut n = 0;
    for case in cases["cases"].as_array().unwrap() {
        let beta = case["beta"].as_f64().unwrap();
        let x = &get(&arrays, case["x"].as_str().unwrap()).data;
        let sk = case["sklearn"].as_f64().unwrap();
        let port = sklearn_beta_divergence(x, w0, h0, 12, 10, 3, beta).unwrap();
        // sums of 120 terms of a few units: rounding differences of a few ulps
        assert!(
            (port - sk).abs() <= 1e-12 * sk.abs(),
            "beta {beta}: {port} vs sklearn {sk}"
        );
        if let Some(direct) = case["direct"].as_f64() {
            let d = innmf::Divergence::new(beta, 1e-13).unwrap();
            let ours = innmf::nmf::objective_sum(x, w0, h0, 12, 10, 3, &d).unwrap();
            assert!(
                (ours - direct).abs() <= 1e-11 * direct.abs(),
                "beta {beta}: {ours} vs NumPy {direct}"
            );
        }
        n += 1;
    }
    assert_eq!(n, 11, "cases read from start_losses.json");
}
