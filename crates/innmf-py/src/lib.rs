//! The native part of the `innmf` Python package (`innmf._innmf`): thin glue from pyo3 and
//! rust-numpy to the `innmf` library. The Python layer (`python/innmf`) checks and converts
//! arguments, holds the scikit-learn-style estimators and the docstrings; every computation runs
//! here without the GIL (see `progress` for Ctrl-C and progress callbacks).

mod analysis;
mod arrays;
mod audio;
mod errors;
mod experiment;
mod metrics;
mod model;
mod nmf;
mod progress;
mod separate;

use pyo3::prelude::*;

/// mimalloc, as in the CLI: glibc trims its heaps on free and re-faults the pages on the next
/// large allocation, which repeated analyses pay on every call.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[pymodule]
fn _innmf(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(audio::load_audio, m)?)?;
    m.add_function(wrap_pyfunction!(audio::write_wav, m)?)?;
    m.add_function(wrap_pyfunction!(analysis::representation_check, m)?)?;
    m.add_function(wrap_pyfunction!(analysis::representation_resolve, m)?)?;
    m.add_function(wrap_pyfunction!(analysis::analyze, m)?)?;
    m.add_class::<model::PyModel>()?;
    m.add_function(wrap_pyfunction!(model::fit_model, m)?)?;
    m.add_function(wrap_pyfunction!(arrays::py_check_point_copies, m)?)?;
    m.add_function(wrap_pyfunction!(nmf::nmf_fit, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::bss_eval_sources, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::si_sdr, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::stoi, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(separate::learn_templates, m)?)?;
    m.add_function(wrap_pyfunction!(separate::separate, m)?)?;
    m.add_function(wrap_pyfunction!(experiment::experiment_plan, m)?)?;
    m.add_function(wrap_pyfunction!(experiment::experiment_run_unit, m)?)?;
    m.add_function(wrap_pyfunction!(experiment::experiment_collect, m)?)?;
    m.add_function(wrap_pyfunction!(experiment::experiment_combine, m)?)?;
    Ok(())
}
