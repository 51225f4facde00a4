//! The engine against PyTorch: for fixed initial weights, the reference architecture's output,
//! loss and gradients, and 5 Rprop steps. Fixtures: tests/data/engine/make_engine_fixtures.py.
//!
//! Every tensor is compared per element, `|ours − torch| ≤ rel·(|torch| + floor·max|torch|)`
//! (constants below). Both sides compute the network in f32 from the same f32 Fourier features
//! (evaluated in f64, then rounded), with differently ordered sums.
//!
//! Why the fixture's features are evaluated in f64: with the argument π·2^j·u + b (up to
//! ≈ 1600 rad) rounded to f32 before cos/sin, as an earlier version of the script did, the top
//! features move by up to ≈ 6e-5, and PyTorch's first-layer gradients then differed from an
//! f64 evaluation of the same model (PyTorch in float64, or innmf's f64 reference) by up to
//! 2e-5 of their largest entry (up to 1.3 % of small entries), while innmf's stayed within
//! 4e-7 of it: the difference was the fixture's rounding, not accumulation order nor a wrong
//! gradient.

use innmf::divergence::Divergence;
use innmf::field::{Axis, Factor, Mlp, MlpConfig, MlpInit, Table};
use innmf::io::{npz_get, read_npz, NdArray};
use innmf::optim::{Optimizer, OptimizerConfig};
use innmf::{Model, TfPoints, Trainer};
use std::path::{Path, PathBuf};

mod common;

use common::assert_close;

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

/// Outputs and losses: one f32 evaluation each side, ≈ 1e-7 relative; 1e-5 relative, no floor
/// (every value is positive: softplus outputs and KL losses).
const VALUE: (f64, f64) = (1e-5, 0.0);
/// Gradients: sums over 1,200 (grid) or 300 (cloud) points in f32, in different orders.
/// 1e-4 relative; the floor, 1e-2·1e-4 = 1e-6 of the tensor's largest entry, is for entries
/// that are cancellations of such sums (ε₃₂·√1200·max ≈ 4e-6·max at worst; the worst element
/// measured uses about a tenth of its tolerance with INNMF_TOL_REPORT=1). A wrong formula
/// shows up at 1e-1.
const GRAD: (f64, f64) = (1e-4, 1e-2);
/// Parameters after 5 Rprop steps: each moves by ± its own step size, the same on both sides
/// when the gradient signs agree, so they agree to an f32 rounding (measured: bit for bit). A
/// flipped sign moves a parameter by ≥ 1e-3·0.5⁵ ≈ 3e-5, far above 1e-6 relative with a floor
/// of 1e-9 of the largest parameter.
const PARAM: (f64, f64) = (1e-6, 1e-3);

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
    (rel, floor): (f64, f64),
) {
    let got = layered(mlp, flat);
    for l in 0..5 {
        assert_close(
            &got[2 * l],
            &get(a, p, &format!("{prefix}_l{l}_weight")),
            (rel, floor),
            &format!("{prefix} l{l} weight"),
        );
        assert_close(
            &got[2 * l + 1],
            &get(a, p, &format!("{prefix}_l{l}_bias")),
            (rel, floor),
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
    assert_close(&[loss], &get(&a, &p, "loss"), VALUE, "loss");
    let vhat = model.reconstruct_grid(&uf, &times);
    assert_close(
        &vhat.iter().map(|&v| v as f64).collect::<Vec<_>>(),
        &get(&a, &p, "vhat"),
        VALUE,
        "vhat",
    );
    check_layers(&a, &p, &w, &tr.grad_w, "grad_w", GRAD);
    assert_close(
        &tr.grad_h.iter().map(|&v| v as f64).collect::<Vec<_>>(),
        &get(&a, &p, "grad_h_raw"),
        GRAD,
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
    assert_close(&losses, &get(&a, &p, "rprop_losses"), VALUE, "rprop losses");
    check_layers(&a, &p, &w, model.w.params(), "rprop_w", PARAM);
    assert_close(
        &model
            .h
            .params()
            .iter()
            .map(|&v| v as f64)
            .collect::<Vec<_>>(),
        &get(&a, &p, "rprop_h_raw"),
        PARAM,
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
    assert_close(&[loss], &get(&a, &p, "loss"), VALUE, "loss");
    let pred = model.predict(&points);
    assert_close(&pred, &get(&a, &p, "vhat"), VALUE, "prediction");
    check_layers(&a, &p, &w, &tr.grad_w, "grad_w", GRAD);
    check_layers(&a, &p, &hn, &tr.grad_h, "grad_h", GRAD);
    let mut ow = Optimizer::new(OptimizerConfig::rprop(1e-3), model.w.params().len()).unwrap();
    let mut oh = Optimizer::new(OptimizerConfig::rprop(1e-3), model.h.params().len()).unwrap();
    let mut losses = Vec::new();
    for _ in 0..5 {
        losses.push(tr.loss_and_grad(&model, None, true));
        ow.step(model.w.params_mut(), &tr.grad_w);
        oh.step(model.h.params_mut(), &tr.grad_h);
    }
    assert_close(&losses, &get(&a, &p, "rprop_losses"), VALUE, "rprop losses");
    check_layers(&a, &p, &w, model.w.params(), "rprop_w", PARAM);
    check_layers(&a, &p, &hn, model.h.params(), "rprop_h", PARAM);
}
