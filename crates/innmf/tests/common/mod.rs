//! Shared by the engine tests: the whole model in f64 through the reference layers
//! (`innmf::field::reference`), for any factor kind, and a per-element comparison.
#![allow(dead_code)]

use innmf::divergence::Divergence;
use innmf::field::reference::component_forward_backward;
use innmf::field::Factor;
use innmf::{Model, TfPoints};

/// A factor's values `[K][coords]` in f64 through the reference (the network layer by layer,
/// or softplus of the table), and, given ∂loss/∂values, its parameter gradient in the factor's
/// own parameter order.
pub fn factor_reference(
    factor: &Factor,
    coords: &[f64],
    dv: &[Vec<f64>],
) -> (Vec<Vec<f64>>, Vec<f64>) {
    match factor {
        Factor::Implicit(mlp) => {
            let per = mlp.config.params_per_component();
            let p: Vec<f64> = mlp.params.iter().map(|&v| v as f64).collect();
            (0..mlp.config.components)
                .map(|c| {
                    component_forward_backward(mlp, c, &p[c * per..(c + 1) * per], coords, &dv[c])
                })
                .fold((vec![], vec![]), |(mut vals, mut grad), (v, g)| {
                    vals.push(v);
                    grad.extend(g);
                    (vals, grad)
                })
        }
        Factor::Explicit(table) => {
            assert_eq!(table.coords, coords);
            let n = coords.len();
            let theta = |c: usize, i: usize| table.params[c * n + i] as f64;
            let vals = (0..table.components)
                .map(|c| (0..n).map(|i| theta(c, i).exp().ln_1p()).collect())
                .collect();
            // d softplus(θ)/dθ = logistic(θ)
            let grad = (0..table.components)
                .flat_map(|c| (0..n).map(move |i| dv[c][i] / (1.0 + (-theta(c, i)).exp())))
                .collect();
            (vals, grad)
        }
    }
}

/// Mean divergence over `subset` (indices into `pts`, repeats counted) and its gradients
/// (W, H parameters), all in f64.
pub fn model_reference(
    model: &Model,
    pts: &TfPoints,
    div: Divergence,
    subset: &[u32],
) -> (f64, Vec<f64>, Vec<f64>) {
    let k = model.rank();
    let (fu, tu) = (pts.unique_freqs(), pts.unique_times());
    let zeros = |n: usize| vec![vec![0.0; n]; k];
    let (wv, _) = factor_reference(&model.w, fu, &zeros(fu.len()));
    let (hv, _) = factor_reference(&model.h, tu, &zeros(tu.len()));
    let n = subset.len() as f64;
    let (mut loss, mut dw, mut dh) = (0.0, zeros(fu.len()), zeros(tu.len()));
    for &i in subset {
        let i = i as usize;
        let (fi, ti) = (pts.freq_index()[i] as usize, pts.time_index()[i] as usize);
        let y: f64 = (0..k).map(|c| wv[c][fi] * hv[c][ti]).sum();
        loss += div.value(pts.m()[i], y) / n;
        let g = div.grad(pts.m()[i], y) / n;
        for c in 0..k {
            dw[c][fi] += g * hv[c][ti];
            dh[c][ti] += g * wv[c][fi];
        }
    }
    let (_, gw) = factor_reference(&model.w, fu, &dw);
    let (_, gh) = factor_reference(&model.h, tu, &dh);
    (loss, gw, gh)
}

/// |got − want| ≤ rel·(|want| + floor·max|want|) per element: relative, with a floor (a fraction
/// of the tensor's largest entry) for entries that are sums of cancelling terms. With
/// `INNMF_TOL_REPORT` set it prints the worst element's share of its tolerance instead of
/// failing (how the tolerances of the callers were chosen).
#[track_caller]
pub fn assert_close(got: &[f64], want: &[f64], (rel, floor): (f64, f64), what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    assert!(!want.is_empty(), "{what}: empty");
    let report = std::env::var_os("INNMF_TOL_REPORT").is_some();
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let mut worst = (0.0f64, 0usize);
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let tol = rel * (w.abs() + floor * scale);
        let share = (g - w).abs() / tol;
        if share > worst.0 {
            worst = (share, i);
        }
        assert!(
            report || (g - w).abs() <= tol,
            "{what}[{i}]: {g} vs {w} (diff {:e}, tol {tol:e}, largest entry {scale:e})",
            (g - w).abs()
        );
    }
    if report {
        let i = worst.1;
        eprintln!(
            "{what}: worst element [{i}] at {:.3} of its tolerance ({} vs {}, largest {scale:e})",
            worst.0, got[i], want[i]
        );
    }
}
