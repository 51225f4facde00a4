//! Separation metrics: BSS Eval v3 (mir_eval), SI-SDR, STOI/eSTOI (pystoi), and
//! `innmf::metrics::evaluate`, the one scoring path of the CLI.

use crate::arrays::{slice1, slice2, vec1};
use crate::errors::{guarded, py_err};
use innmf::metrics::{self, EvalOptions};
use numpy::{PyArray1, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;

/// The rows of a `(n_sources, n_samples)` C-contiguous float64 array.
fn rows<'a>(a: &'a PyReadonlyArray2<'_, f64>, name: &str) -> PyResult<Vec<&'a [f64]>> {
    let (s, r, c) = slice2(a, name)?;
    Ok((0..r).map(|i| &s[i * c..(i + 1) * c]).collect())
}

type Bss<'py> = (
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<i64>>,
);

/// `bss_eval_sources(reference, estimate, compute_permutation) -> (sdr, sir, sar, perm)`,
/// mir_eval's `bss_eval_sources` on `(n_sources, n_samples)` arrays.
#[pyfunction]
pub fn bss_eval_sources<'py>(
    py: Python<'py>,
    reference: PyReadonlyArray2<'py, f64>,
    estimate: PyReadonlyArray2<'py, f64>,
    compute_permutation: bool,
) -> PyResult<Bss<'py>> {
    let r = rows(&reference, "reference_sources")?;
    let e = rows(&estimate, "estimated_sources")?;
    let out = py.detach(|| {
        guarded("bss_eval", || {
            metrics::bss_eval_sources(&r, &e, compute_permutation).map_err(py_err)
        })
    })?;
    let perm = out.perm.iter().map(|&p| p as i64).collect();
    Ok((
        vec1(py, out.sdr),
        vec1(py, out.sir),
        vec1(py, out.sar),
        vec1(py, perm),
    ))
}

/// `si_sdr(reference, estimate, zero_mean) -> dB`.
#[pyfunction]
pub fn si_sdr(
    py: Python<'_>,
    reference: PyReadonlyArray1<'_, f64>,
    estimate: PyReadonlyArray1<'_, f64>,
    zero_mean: bool,
) -> PyResult<f64> {
    let r = slice1(&reference, "reference")?;
    let e = slice1(&estimate, "estimate")?;
    py.detach(|| {
        guarded("si_sdr", || {
            metrics::si_sdr(r, e, zero_mean).map_err(py_err)
        })
    })
}

/// `stoi(clean, processed, sample_rate, extended) -> score`, pystoi's algorithm.
#[pyfunction]
pub fn stoi(
    py: Python<'_>,
    clean: PyReadonlyArray1<'_, f64>,
    processed: PyReadonlyArray1<'_, f64>,
    sample_rate: u32,
    extended: bool,
) -> PyResult<f64> {
    let c = slice1(&clean, "clean")?;
    let p = slice1(&processed, "processed")?;
    py.detach(|| {
        guarded("stoi", || {
            metrics::stoi(c, p, sample_rate, extended).map_err(py_err)
        })
    })
}

/// `evaluate(references, estimates, sample_rate, permutation, stoi, extended_stoi,
/// si_sdr_zero_mean) -> json` (the scores `innmf eval` writes).
#[pyfunction]
pub fn evaluate(
    py: Python<'_>,
    references: PyReadonlyArray2<'_, f64>,
    estimates: PyReadonlyArray2<'_, f64>,
    sample_rate: f64,
    permutation: bool,
    stoi: bool,
    extended_stoi: bool,
    si_sdr_zero_mean: bool,
) -> PyResult<String> {
    let r = rows(&references, "references")?;
    let e = rows(&estimates, "estimates")?;
    let options = EvalOptions {
        permutation,
        stoi,
        extended_stoi,
        si_sdr_zero_mean,
    };
    py.detach(|| {
        guarded("evaluate", || {
            let s = metrics::evaluate(&r, &e, sample_rate, &options).map_err(py_err)?;
            serde_json::to_string(&s).map_err(|e| crate::errors::value_error(e.to_string()))
        })
    })
}
