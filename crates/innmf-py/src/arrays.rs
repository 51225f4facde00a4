//! numpy in and out: read-only borrows of C-contiguous inputs (no copy), owned results handed to
//! numpy without a copy.

use numpy::ndarray::Array2;
use numpy::{
    Element, IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// The data of a 1-D array, which must be C-contiguous (the Python layer makes it so).
pub fn slice1<'a, T: Element>(a: &'a PyReadonlyArray1<'_, T>, name: &str) -> PyResult<&'a [T]> {
    a.as_slice().map_err(|_| {
        PyValueError::new_err(format!(
            "{name}: a C-contiguous array is needed (use numpy.ascontiguousarray)"
        ))
    })
}

/// The data and shape `(rows, cols)` of a 2-D C-contiguous array.
pub fn slice2<'a, T: Element>(
    a: &'a PyReadonlyArray2<'_, T>,
    name: &str,
) -> PyResult<(&'a [T], usize, usize)> {
    let shape = a.shape();
    let (r, c) = (shape[0], shape[1]);
    let s = a.as_slice().map_err(|_| {
        PyValueError::new_err(format!(
            "{name}: a C-contiguous array is needed (use numpy.ascontiguousarray)"
        ))
    })?;
    Ok((s, r, c))
}

/// A vector as a 1-D numpy array (the buffer is handed over, not copied).
pub fn vec1<T: Element>(py: Python<'_>, v: Vec<T>) -> Bound<'_, PyArray1<T>> {
    v.into_pyarray(py)
}

/// A row-major `rows × cols` vector as a 2-D numpy array (the buffer is handed over).
pub fn vec2<T: Element>(
    py: Python<'_>,
    v: Vec<T>,
    rows: usize,
    cols: usize,
) -> PyResult<Bound<'_, PyArray2<T>>> {
    let a = Array2::from_shape_vec((rows, cols), v)
        .map_err(|e| PyValueError::new_err(format!("internal shape error {rows}×{cols}: {e}")))?;
    Ok(a.into_pyarray(py))
}

/// Checks, before `t`, `f` (and `m`) are copied into a point set, that the copies (24 bytes a
/// point), the point set's index of distinct coordinates (16) and what is then done with it
/// (`per_point` more bytes: 32 for a fit's training buffers, 8 for a prediction) fit in memory
/// ([`innmf::budget`]); `what` names the call.
pub fn check_point_copies(n: usize, per_point: u128, what: &str) -> PyResult<()> {
    innmf::budget::check(
        "t",
        format!("{n} points"),
        || format!("{what} on {n} points (the binding copies t, f and m)"),
        innmf::budget::mul(n as u128, 40 + per_point),
        "use fewer points (a larger hop, fewer bins, a shorter signal)",
    )
    .map_err(crate::errors::py_err)
}

/// [`check_point_copies`] for the Python layer, which calls it before it builds the t and f of
/// a grid with `np.tile`/`np.repeat` (16 bytes a point more), so a grid too large for memory is
/// a `ValueError` and not numpy's `MemoryError` half-way through.
#[pyfunction]
#[pyo3(name = "check_point_copies")]
pub fn py_check_point_copies(n: u64, per_point: u64, what: &str) -> PyResult<()> {
    check_point_copies(
        usize::try_from(n).unwrap_or(usize::MAX),
        u128::from(per_point),
        what,
    )
}
