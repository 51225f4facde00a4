//! Classical NMF by multiplicative updates (scikit-learn's `NMF(solver="mu")`), in the input's
//! precision: float32 in float32, float64 in float64.

use crate::arrays::{slice2, vec2};
use crate::errors::{guarded, py_err, to_py, value_error};
use crate::progress::Watch;
use innmf::nmf::init::initialize_free;
use innmf::nmf::{initialize, sklearn_beta_divergence, Float, Init, NmfParams, UpdateOrder};
use numpy::{Element, PyArray2, PyReadonlyArray2};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

use crate::model::parse_name;

/// What the Python estimator passes for one fit.
struct Job {
    params: NmfParams,
    update_h: bool,
}

type NmfOut<'py, T> = (
    Bound<'py, PyArray2<T>>,
    Bound<'py, PyArray2<T>>,
    String,
    f64,
);

#[allow(clippy::type_complexity)]
fn run<'py, T: Float + Element>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    w: Option<&Bound<'py, PyAny>>,
    h: Option<&Bound<'py, PyAny>>,
    job: Job,
    progress: Option<Py<PyAny>>,
) -> PyResult<NmfOut<'py, T>> {
    let name = T::NAME;
    let xa: PyReadonlyArray2<'py, T> = x
        .extract()
        .map_err(|_| PyTypeError::new_err(format!("X must be a 2-D {name} array")))?;
    let (xs, f, t) = slice2(&xa, "X")?;
    let k = job.params.rank;
    let take =
        |a: Option<&Bound<'py, PyAny>>, what: &str| -> PyResult<Option<PyReadonlyArray2<'py, T>>> {
            a.map(|a| {
                a.extract().map_err(|_| {
                    PyTypeError::new_err(format!("{what} must be a 2-D {name} array, as X is"))
                })
            })
            .transpose()
        };
    let (wa, ha) = (take(w, "W")?, take(h, "H")?);
    let w0 = match &wa {
        Some(a) => Some(slice2(a, "W")?),
        None => None,
    };
    let h0 = match &ha {
        Some(a) => Some(slice2(a, "H")?),
        None => None,
    };
    if let Some((_, r, c)) = w0 {
        if (r, c) != (f, k) {
            return Err(value_error(format!(
                "W has shape ({r}, {c}): expected (n_samples, n_components) = ({f}, {k})"
            )));
        }
    }
    if let Some((_, r, c)) = h0 {
        if (r, c) != (k, t) {
            return Err(value_error(format!(
                "H has shape ({r}, {c}): expected (n_components, n_features) = ({k}, {t})"
            )));
        }
    }
    let p = &job.params;
    let update_h = job.update_h;
    let mut watch = Watch::new(progress);
    let (wv, hv, report) = py.detach(|| {
        guarded("NMF", || {
            p.check().map_err(py_err)?;
            let x64: Vec<f64> = xs.iter().map(|v| v.to_f64()).collect();
            let from = |v: Vec<f64>| v.into_iter().map(T::from_f64).collect::<Vec<T>>();
            let (mut w, mut h) = match (w0, h0, update_h) {
                // scikit-learn's init='custom'
                (Some((w, _, _)), Some((h, _, _)), true) => (w.to_vec(), h.to_vec()),
                // transform: H fixed, W from scikit-learn's constant start sqrt(mean(X)/K)
                (_, Some((h, _, _)), false) => {
                    let start = initialize_free(&x64, f * k, k, Init::Nndsvda, p.seed);
                    (from(start), h.to_vec())
                }
                (None, None, true) => {
                    let (w, h) = initialize(&x64, f, t, k, p.init, p.seed).map_err(py_err)?;
                    (from(w), from(h))
                }
                _ => {
                    return Err(value_error(
                        "give both W and H (init='custom'), H alone (transform) or neither",
                    ))
                }
            };
            let mut cb = |s: usize, n: usize, l: f64| watch.tick(s, n, l);
            let r = p.solve_observed(xs, f, t, &mut w, &mut h, &[], update_h, Some(&mut cb));
            Ok((w, h, r))
        })
    })?;
    let report = report.map_err(|e| to_py(e, watch.error.take()))?;
    // scikit-learn's reconstruction_err_: sqrt(2·_beta_divergence(X, W, H, beta))
    let err = py.detach(|| {
        guarded("NMF", || {
            let c = |v: &[T]| v.iter().map(|a| a.to_f64()).collect::<Vec<f64>>();
            let d = sklearn_beta_divergence(&c(xs), &c(&wv), &c(&hv), f, t, k, p.beta)
                .map_err(py_err)?;
            Ok((2.0 * d.max(0.0)).sqrt())
        })
    })?;
    let report = serde_json::to_string(&report).map_err(|e| value_error(e.to_string()))?;
    Ok((vec2(py, wv, f, k)?, vec2(py, hv, k, t)?, report, err))
}

/// `nmf_fit(X, *, n_components, beta, init, max_iter, tol, seed, alpha_w, alpha_h, l1_ratio,
/// update_order, check_every, W=None, H=None, update_h=True, progress=None) -> (W, H,
/// report_json, reconstruction_err)`. `X` is float32 or float64 (C-contiguous), `W`/`H` of the
/// same dtype; the fit runs in that precision.
#[pyfunction]
#[pyo3(signature = (x, *, n_components, beta, init, max_iter, tol, seed, alpha_w, alpha_h,
    l1_ratio, update_order, check_every, w=None, h=None, update_h=true, progress=None))]
#[allow(clippy::too_many_arguments)]
pub fn nmf_fit<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    n_components: usize,
    beta: f64,
    init: &str,
    max_iter: usize,
    tol: f64,
    seed: u64,
    alpha_w: f64,
    alpha_h: Option<f64>,
    l1_ratio: f64,
    update_order: &str,
    check_every: usize,
    w: Option<&Bound<'py, PyAny>>,
    h: Option<&Bound<'py, PyAny>>,
    update_h: bool,
    progress: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let init = Init::parse(init).map_err(py_err)?;
    let order: UpdateOrder =
        parse_name("update_order", update_order, "\"w-then-h\", \"h-then-w\"")?;
    let mut params = NmfParams::new(n_components)
        .beta(beta)
        .init(init)
        .max_iter(max_iter)
        .tol(tol)
        .seed(seed)
        .alpha_w(alpha_w)
        .l1_ratio(l1_ratio)
        .order(order)
        .check_every(check_every);
    if let Some(a) = alpha_h {
        params = params.alpha_h(a);
    }
    let job = Job { params, update_h };
    let dtype = x.getattr("dtype")?.str()?.to_string();
    match dtype.as_str() {
        "float64" => Ok(run::<f64>(py, x, w, h, job, progress)?
            .into_pyobject(py)?
            .into_any()),
        "float32" => Ok(run::<f32>(py, x, w, h, job, progress)?
            .into_pyobject(py)?
            .into_any()),
        other => Err(PyTypeError::new_err(format!(
            "X has dtype {other}: expected float32 or float64"
        ))),
    }
}
