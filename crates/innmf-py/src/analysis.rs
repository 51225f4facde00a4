//! Representations (their JSON form) and analysis: audio → points.

use crate::arrays::{slice1, vec1};
use crate::errors::{guarded, py_err, value_error};
use innmf::transform::{Analysis, Calibration, Representation};
use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;

/// Parses a representation's JSON form (`{"transform": "cqt", ...}`, missing fields take their
/// defaults) and checks it.
pub fn parse_representation(json: &str) -> PyResult<Representation> {
    let r: Representation = serde_json::from_str(json)
        .map_err(|e| value_error(format!("representation {json}: {e}")))?;
    r.validate().map_err(py_err)?;
    Ok(r)
}

/// Parses `native` / `unit-tone` (or a bool: calibrate or not).
pub fn parse_calibration(s: &str) -> PyResult<Calibration> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(|_| {
        value_error(format!(
            "calibration = {s:?}: expected \"native\" or \"unit-tone\""
        ))
    })
}

fn to_json<T: serde::Serialize>(v: &T) -> PyResult<String> {
    serde_json::to_string(v).map_err(|e| value_error(format!("JSON: {e}")))
}

/// `representation_check(json) -> json`: the representation with every field (defaults filled
/// in), after the checks that need no sample rate.
#[pyfunction]
pub fn representation_check(json: &str) -> PyResult<String> {
    to_json(&parse_representation(json)?)
}

/// `representation_resolve(json, sample_rate) -> json`: the representation with the defaults
/// that depend on the sample rate resolved (bin counts, top frequencies, multires bands).
#[pyfunction]
pub fn representation_resolve(json: &str, sample_rate: f64) -> PyResult<String> {
    let r = parse_representation(json)?;
    to_json(&r.resolve(sample_rate).map_err(py_err)?)
}

type PointArrays<'py> = (
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    String,
    String,
);

/// `analyze(x, sample_rate, representation_json, power, calibration) -> (t, f, m, analysis_json,
/// segments_json)`: the points `|c|^power` of `x` in the representation.
#[pyfunction]
pub fn analyze<'py>(
    py: Python<'py>,
    x: PyReadonlyArray1<'py, f64>,
    sample_rate: f64,
    representation: &str,
    power: f64,
    calibration: &str,
) -> PyResult<PointArrays<'py>> {
    let rep = parse_representation(representation)?;
    let cal = parse_calibration(calibration)?;
    let x = slice1(&x, "x")?;
    let (t, f, m, analysis, segments) = py.detach(|| {
        guarded("analyze", || {
            let analysis = Analysis::new(&rep, sample_rate, power, cal).map_err(py_err)?;
            let (pts, segs) = analysis
                .representation
                .analyze(x, sample_rate, power, cal)
                .map_err(py_err)?;
            Ok((
                pts.t().to_vec(),
                pts.f().to_vec(),
                pts.m().to_vec(),
                to_json(&analysis)?,
                to_json(&segs)?,
            ))
        })
    })?;
    Ok((vec1(py, t), vec1(py, f), vec1(py, m), analysis, segments))
}
