//! The engine against PyTorch: for fixed initial weights, the reference architecture's output,
//! loss and gradients, and 5 Rprop steps. Fixtures: tests/data/engine/make_engine_fixtures.py.
//!
//! Tolerance: 1e-4 relative to each tensor's largest magnitude. Both sides compute in f32 with
//! differently ordered sums (≈ 1e-6 relative per value); 1e-4 leaves room for the sums over
//! 1,200 points while catching any real formula error (those show up at 1e-1).

use innmf::divergence::Divergence;
use innmf::field::{Axis, Factor, Mlp, MlpConfig, MlpInit, Table};
use innmf::io::{npz_get, read_npz, NdArray};
use innmf::optim::{Optimizer, OptimizerConfig};
use innmf::{Model, TfPoints, Trainer};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> (PathBuf, Vec<(String, NdArray)>) {
    let p = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/data/engine"
    ))
    .join(name);
    let a = read_npz(&p).unwrap();
    (p, a)
}

fn get(a: &[(String, NdArray)], p: &Path, name: &str) -> Vec<f64> {
    npz_get(a, name, p).unwrap().data.clone()
}

fn assert_rel(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-30);
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * scale,
            "{what}[{i}]: {g} vs {w} (scale {scale})"
        );
    }
}

/// Builds an implicit factor from the fixture's `{prefix}_l{l}_weight/bias` and `{prefix}_fb`.
fn mlp_from(a: &[(String, NdArray)], p: &Path, prefix: &str, key: &str, k: usize, h: usize) -> Mlp {
    let cfg = MlpConfig {
        components: k,
        width: h,
        depth: 3,
        n_features: 10,
        omega: 1.0,
        init: MlpInit::Pytorch,
        axis: Axis::identity(),
        output: Default::default(),
    };
    let per = cfg.params_per_component();
    let mut params = vec![0.0f32; k * per];
    let mut off = 0;
    for (l, &(fi, fo)) in cfg.layer_shapes().iter().enumerate() {
        let w = get(a, p, &format!("{prefix}{key}_l{l}_weight"));
        let b = get(a, p, &format!("{prefix}{key}_l{l}_bias"));
        for c in 0..k {
            for i in 0..fi * fo {
                params[c * per + off + i] = w[c * fi * fo + i] as f32;
            }
            for i in 0..fo {
                params[c * per + off + fi * fo + i] = b[c * fo + i] as f32;
            }
        }
        off += fi * fo + fo;
    }
    let fb: Vec<f32> = get(a, p, &format!("{prefix}{key}_fb"))
        .iter()
        .map(|&v| v as f32)
        .collect();
    Mlp::from_parts(cfg, fb, params).unwrap()
}

/// Gradient in fixture layout ([K,in,out] per layer) from the component-major vector.
fn layered(mlp: &Mlp, flat: &[f32]) -> Vec<Vec<f64>> {
    let cfg = &mlp.config;
    let per = cfg.params_per_component();
    let mut out = Vec::new();
    let mut off = 0;
    for &(fi, fo) in &cfg.layer_shapes() {
        let mut w = Vec::new();
        let mut b = Vec::new();
        for c in 0..cfg.components {
            w.extend(
                flat[c * per + off..c * per + off + fi * fo]
                    .iter()
                    .map(|&v| v as f64),
            );
            b.extend(
                flat[c * per + off + fi * fo..c * per + off + fi * fo + fo]
                    .iter()
                    .map(|&v| v as f64),
            );
        }
        out.push(w);
        out.push(b);
        off += fi * fo + fo;
    }
    out
}

fn check_layers(
    a: &[(String, NdArray)],
    p: &Path,
    mlp: &Mlp,
    flat: &[f32],
    prefix: &str,
    tol: f64,
) {
    let got = layered(mlp, flat);
    for l in 0..5 {
        assert_rel(
            &got[2 * l],
            &get(a, p, &format!("{prefix}_l{l}_weight")),
            tol,
            &format!("{prefix} l{l} weight"),
        );
        assert_rel(
            &got[2 * l + 1],
            &get(a, p, &format!("{prefix}_l{l}_bias")),
            tol,
            &format!("{prefix} l{l} bias"),
        );
    }
}

#[test]
fn implicit_w_explicit_h_matches_pytorch() {
    let (p, a) = fixture("engine_w_table.npz");
    let (k, h) = (3, 16);
    let uf = get(&a, &p, "uf");
    let target = get(&a, &p, "target");
    let nt = target.len() / uf.len();
    let times: Vec<f64> = (0..nt).map(|t| t as f64).collect();
    let points = TfPoints::from_grid(&uf, &times, &target).unwrap();
    assert!(points.grid().is_some());
    let w = mlp_from(&a, &p, "in_", "w", k, h);
    let hraw: Vec<f32> = get(&a, &p, "in_h_raw").iter().map(|&v| v as f32).collect();
    let mut table = Table::from_values(k, times.clone(), &vec![1.0; k * nt]).unwrap();
    table.params = hraw;
    let mut model = Model::new(Factor::Implicit(w.clone()), Factor::Explicit(table)).unwrap();

    let mut tr = Trainer::new(&model, &points, Divergence::kl(), None).unwrap();
    let loss = tr.loss_and_grad(&model, None, true);
    assert_rel(&[loss], &get(&a, &p, "loss"), 1e-5, "loss");
    let vhat = model.reconstruct_grid(&uf, &times);
    assert_rel(
        &vhat.iter().map(|&v| v as f64).collect::<Vec<_>>(),
        &get(&a, &p, "vhat"),
        1e-5,
        "vhat",
    );
    check_layers(&a, &p, &w, &tr.grad_w, "grad_w", 1e-4);
    assert_rel(
        &tr.grad_h.iter().map(|&v| v as f64).collect::<Vec<_>>(),
        &get(&a, &p, "grad_h_raw"),
        1e-4,
        "grad_h",
    );

    // five Rprop steps
    let mut ow = Optimizer::new(OptimizerConfig::rprop(1e-3), model.w.params().len()).unwrap();
    let mut oh = Optimizer::new(OptimizerConfig::rprop(1e-3), model.h.params().len()).unwrap();
    let mut losses = Vec::new();
    for _ in 0..5 {
        losses.push(tr.loss_and_grad(&model, None, true));
        ow.step(model.w.params_mut(), &tr.grad_w);
        oh.step(model.h.params_mut(), &tr.grad_h);
    }
    assert_rel(&losses, &get(&a, &p, "rprop_losses"), 1e-5, "rprop losses");
    check_layers(&a, &p, &w, model.w.params(), "rprop_w", 1e-4);
    assert_rel(
        &model
            .h
            .params()
            .iter()
            .map(|&v| v as f64)
            .collect::<Vec<_>>(),
        &get(&a, &p, "rprop_h_raw"),
        1e-4,
        "rprop h",
    );
}

#[test]
fn implicit_w_and_h_on_a_cloud_match_pytorch() {
    let (p, a) = fixture("engine_both.npz");
    let (k, h) = (2, 8);
    let (uf, ut) = (get(&a, &p, "uf"), get(&a, &p, "ut"));
    let (fi, ti) = (get(&a, &p, "fi"), get(&a, &p, "ti"));
    let f: Vec<f64> = fi.iter().map(|&i| uf[i as usize]).collect();
    let t: Vec<f64> = ti.iter().map(|&i| ut[i as usize]).collect();
    let points = TfPoints::new(t, f, get(&a, &p, "target")).unwrap();
    assert!(points.grid().is_none());
    let w = mlp_from(&a, &p, "in_", "w", k, h);
    let hn = mlp_from(&a, &p, "in_", "h", k, h);
    let mut model = Model::new(Factor::Implicit(w.clone()), Factor::Implicit(hn.clone())).unwrap();
    let mut tr = Trainer::new(&model, &points, Divergence::kl(), None).unwrap();
    let loss = tr.loss_and_grad(&model, None, true);
    assert_rel(&[loss], &get(&a, &p, "loss"), 1e-5, "loss");
    let pred = model.predict(&points);
    assert_rel(&pred, &get(&a, &p, "vhat"), 1e-5, "prediction");
    check_layers(&a, &p, &w, &tr.grad_w, "grad_w", 1e-4);
    check_layers(&a, &p, &hn, &tr.grad_h, "grad_h", 1e-4);
    let mut ow = Optimizer::new(OptimizerConfig::rprop(1e-3), model.w.params().len()).unwrap();
    let mut oh = Optimizer::new(OptimizerConfig::rprop(1e-3), model.h.params().len()).unwrap();
    let mut losses = Vec::new();
    for _ in 0..5 {
        losses.push(tr.loss_and_grad(&model, None, true));
        ow.step(model.w.params_mut(), &tr.grad_w);
        oh.step(model.h.params_mut(), &tr.grad_h);
    }
    assert_rel(&losses, &get(&a, &p, "rprop_losses"), 1e-5, "rprop losses");
    check_layers(&a, &p, &w, model.w.params(), "rprop_w", 1e-4);
    check_layers(&a, &p, &hn, model.h.params(), "rprop_h", 1e-4);
}
