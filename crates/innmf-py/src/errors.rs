//! Library errors and panics as Python exceptions.
//!
//! | innmf error | Python exception |
//! |---|---|
//! | `Io` (a file could not be read or written) | `OSError` (`FileNotFoundError`, `PermissionError`, ... by the OS error kind) |
//! | `Format` (a file's contents are not what was expected) | `OSError` |
//! | `Interrupted` (the progress callback stopped a fit) | the exception that stopped it (`KeyboardInterrupt` for Ctrl-C) |
//! | every other variant (bad values, shapes, a diverging fit) | `ValueError` |
//!
//! A panic (a bug) becomes `RuntimeError`, never an abort of the interpreter.

use innmf::Error;
use pyo3::exceptions::{
    PyFileExistsError, PyFileNotFoundError, PyIsADirectoryError, PyKeyboardInterrupt, PyOSError,
    PyPermissionError, PyRuntimeError, PyValueError,
};
use pyo3::PyErr;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The Python exception for a library error. `stopped_by` is the exception a progress callback
/// raised, if any: an [`Error::Interrupted`] re-raises it.
pub fn to_py(e: Error, stopped_by: Option<PyErr>) -> PyErr {
    match e {
        Error::Interrupted { step } => stopped_by.unwrap_or_else(|| {
            PyKeyboardInterrupt::new_err(format!("interrupted after step {step}"))
        }),
        Error::Io { ref source, .. } => {
            let msg = e.to_string();
            match source.kind() {
                std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(msg),
                std::io::ErrorKind::PermissionDenied => PyPermissionError::new_err(msg),
                std::io::ErrorKind::AlreadyExists => PyFileExistsError::new_err(msg),
                std::io::ErrorKind::IsADirectory => PyIsADirectoryError::new_err(msg),
                _ => PyOSError::new_err(msg),
            }
        }
        Error::Format { .. } => PyOSError::new_err(e.to_string()),
        other => PyValueError::new_err(other.to_string()),
    }
}

/// Shorthand for errors without a progress callback.
pub fn py_err(e: Error) -> PyErr {
    to_py(e, None)
}

/// Runs `f`, turning a panic into `Err(RuntimeError)` so that it never unwinds into Python.
pub fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T, PyErr>) -> Result<T, PyErr> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(PyRuntimeError::new_err(format!(
                "internal error in innmf ({what}): {msg}; please report this as a bug"
            )))
        }
    }
}

/// A `ValueError` for a bad argument of the glue itself.
pub fn value_error(msg: impl Into<String>) -> PyErr {
    PyValueError::new_err(msg.into())
}
