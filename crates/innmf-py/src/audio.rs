//! Reading and writing audio files.

use crate::arrays::{slice1, vec1};
use crate::errors::{guarded, py_err, value_error};
use innmf::audio::{self, LoadOptions};
use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use std::path::PathBuf;

/// `load_audio(path, channel=None, sample_rate=None, start=0.0, seconds=None)`: see the Python
/// docstring in `innmf/__init__.py`.
#[pyfunction]
#[pyo3(signature = (path, channel=None, sample_rate=None, start=0.0, seconds=None))]
pub fn load_audio<'py>(
    py: Python<'py>,
    path: PathBuf,
    channel: Option<usize>,
    sample_rate: Option<u32>,
    start: f64,
    seconds: Option<f64>,
) -> PyResult<(Bound<'py, PyArray1<f64>>, u32)> {
    let options = LoadOptions {
        channel,
        sample_rate,
        start,
        seconds,
    };
    let sig = py.detach(|| {
        guarded("load_audio", || {
            audio::load(&path, &options).map_err(py_err)
        })
    })?;
    // file rates are whole numbers of Hz (u32 in every reader)
    let rate = sig.sample_rate.round() as u32;
    Ok((vec1(py, sig.samples), rate))
}

/// `write_wav(path, samples, sample_rate)`: mono 32-bit float WAV, written atomically.
#[pyfunction]
pub fn write_wav(
    py: Python<'_>,
    path: PathBuf,
    samples: PyReadonlyArray1<'_, f64>,
    sample_rate: u32,
) -> PyResult<()> {
    let x = slice1(&samples, "samples")?;
    if sample_rate == 0 {
        return Err(value_error(
            "sample_rate = 0: expected a positive number of Hz",
        ));
    }
    py.detach(|| {
        guarded("write_wav", || {
            audio::write_wav(&path, x, sample_rate).map_err(py_err)
        })
    })
}
