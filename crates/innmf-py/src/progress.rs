//! The bridge between a long computation running without the GIL and Python: Ctrl-C and the
//! user's progress callback.
//!
//! The library calls [`Watch::tick`] after every step. At most every [`INTERVAL`] (and after the
//! last step) it attaches to the interpreter, runs `check_signals` (so Ctrl-C raises
//! `KeyboardInterrupt` within a fraction of a second on the main thread) and the user's
//! callback `progress(step, steps, loss)`. An exception from either stops the computation: the
//! library returns `Error::Interrupted` and the glue re-raises the stored exception.

use pyo3::prelude::*;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

/// Shortest time between two visits to the interpreter.
pub const INTERVAL: Duration = Duration::from_millis(100);

/// State of one long call: the callback, the time of the last visit, the exception that stopped
/// the computation.
pub struct Watch {
    callback: Option<Py<PyAny>>,
    last: Instant,
    /// The exception raised by `check_signals` or the callback, if any.
    pub error: Option<PyErr>,
}

impl Watch {
    /// A watch with an optional Python callable `progress(step, steps, loss)`.
    pub fn new(callback: Option<Py<PyAny>>) -> Self {
        Watch {
            callback,
            last: Instant::now(),
            error: None,
        }
    }

    /// Called by the library after every step: visits the interpreter when [`INTERVAL`] has
    /// passed or `step == steps`; `Break` when an exception was raised there.
    pub fn tick(&mut self, step: usize, steps: usize, loss: f64) -> ControlFlow<()> {
        let now = Instant::now();
        if step < steps && now.duration_since(self.last) < INTERVAL {
            return ControlFlow::Continue(());
        }
        self.last = now;
        let callback = &self.callback;
        let r = Python::attach(|py| -> PyResult<()> {
            py.check_signals()?;
            if let Some(cb) = callback {
                cb.call1(py, (step, steps, loss))?;
            }
            Ok(())
        });
        match r {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                self.error = Some(e);
                ControlFlow::Break(())
            }
        }
    }
}
