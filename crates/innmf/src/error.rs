//! One error type for the whole library. Every variant carries the offending value and what was
//! expected, so a message can be acted upon without reading the source.

use std::path::PathBuf;

/// The library's error type.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A point set or signal with no elements where at least one is needed.
    #[error("{what} is empty: at least one element is needed")]
    Empty {
        /// What was empty ("point set", "signal", ...).
        what: &'static str,
    },
    /// Parallel arrays of different lengths.
    #[error("length mismatch: {what}: expected {expected}, got {got}")]
    LengthMismatch {
        /// Which arrays disagree.
        what: String,
        /// The length the other arrays have.
        expected: usize,
        /// The offending length.
        got: usize,
    },
    /// A NaN or infinity in input data.
    #[error("non-finite value in {what} at index {index}: {value}")]
    NonFinite {
        /// Which array.
        what: &'static str,
        /// Position of the first bad value.
        index: usize,
        /// The value itself.
        value: f64,
    },
    /// A negative magnitude (magnitudes must be >= 0).
    #[error("negative magnitude at index {index}: {value} (magnitudes must be >= 0)")]
    NegativeMagnitude {
        /// Position of the first negative value.
        index: usize,
        /// The value.
        value: f64,
    },
    /// A parameter outside its valid range.
    #[error("invalid parameter {name} = {value}: expected {expected}")]
    InvalidParameter {
        /// Parameter name as the user spells it.
        name: &'static str,
        /// The value given (formatted).
        value: String,
        /// What would have been accepted.
        expected: String,
    },
    /// A file that could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file whose contents are not what was expected.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// Shapes that do not fit together (model vs. data, tensors in a model file).
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// The optimisation produced a non-finite loss.
    #[error("training diverged at step {step}: loss = {loss}")]
    Diverged {
        /// The step at which it happened.
        step: usize,
        /// The loss value.
        loss: f64,
    },
    /// A long computation stopped because its caller asked it to (Ctrl-C, a cancelled job).
    #[error("interrupted after step {step}")]
    Interrupted {
        /// Steps completed before the interruption.
        step: usize,
    },
    /// An operation the representation or object does not support (e.g. inverting a transform
    /// without an inverse).
    #[error("{what} is not supported: {why}")]
    Unsupported {
        /// What was asked.
        what: String,
        /// Why it cannot be done, and what to do instead.
        why: String,
    },
}

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Shorthand for [`Error::InvalidParameter`].
    pub fn param(name: &'static str, value: impl ToString, expected: impl ToString) -> Self {
        Error::InvalidParameter {
            name,
            value: value.to_string(),
            expected: expected.to_string(),
        }
    }

    /// Shorthand for [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Shorthand for [`Error::Format`].
    pub fn format(path: impl Into<PathBuf>, message: impl ToString) -> Self {
        Error::Format {
            path: path.into(),
            message: message.to_string(),
        }
    }
}

/// Checks that every value is finite; returns the first offender.
pub(crate) fn check_finite(what: &'static str, values: &[f64]) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(Error::NonFinite {
            what,
            index,
            value: values[index],
        }),
        None => Ok(()),
    }
}

/// Checks a sample rate: finite and positive.
pub(crate) fn check_sample_rate(sample_rate: f64) -> Result<()> {
    if sample_rate.is_finite() && sample_rate > 0.0 {
        Ok(())
    } else {
        Err(Error::param(
            "sample rate",
            sample_rate,
            "a positive number of Hz",
        ))
    }
}

/// Checks a signal to analyze: non-empty, finite samples, valid sample rate.
pub(crate) fn check_signal(x: &[f64], sample_rate: f64) -> Result<()> {
    if x.is_empty() {
        return Err(Error::Empty { what: "signal" });
    }
    check_sample_rate(sample_rate)?;
    check_finite("signal", x)
}

/// `impl FromStr` for a unit-variant enum through its serde names (the names its JSON form and
/// the command line use), with an error listing the accepted names.
macro_rules! from_str_by_serde_name {
    ($t:ty, $what:literal, $names:literal) => {
        impl std::str::FromStr for $t {
            type Err = $crate::error::Error;
            fn from_str(s: &str) -> $crate::error::Result<Self> {
                serde_json::from_value(serde_json::Value::String(s.trim().to_ascii_lowercase()))
                    .map_err(|_| $crate::error::Error::param($what, s, concat!("one of ", $names)))
            }
        }
    };
}
pub(crate) use from_str_by_serde_name;
