//! One error type for the whole library. Every variant carries the offending value and what was
//! expected, so a message can be acted upon without reading the source.

use std::fmt;
use std::path::PathBuf;

/// A float for messages: the ordinary `{}` form (`0.25`, `44100`, `-3.5`) for magnitudes in
/// [1e-6, 1e16), scientific notation (`1e300`, `-2.5e-12`) outside it, so a value such as 1e300
/// reads as `1e300` and not as 301 digits. Rust's `{}` prints every decimal digit of an f64;
/// [`Num`] is what every message that shows a float goes through. NaN, infinities and zero print
/// as `{}` does. A precision (`{:.3}`) applies to either form.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Num<T = f64>(pub T);

/// Magnitudes at or above this print in scientific notation (f64 holds integers exactly only
/// below 2^53 ≈ 9e15, so every digit from here on is noise).
pub const SCI_ABOVE: f64 = 1e16;
/// Nonzero magnitudes below this print in scientific notation.
pub const SCI_BELOW: f64 = 1e-6;

fn scientific(v: f64) -> bool {
    let a = v.abs();
    a.is_finite() && a != 0.0 && !(SCI_BELOW..SCI_ABOVE).contains(&a)
}

fn write_num<T: fmt::Display + fmt::LowerExp>(
    f: &mut fmt::Formatter<'_>,
    v: T,
    sci: bool,
) -> fmt::Result {
    match (sci, f.precision()) {
        (true, Some(p)) => write!(f, "{v:.p$e}"),
        (true, None) => write!(f, "{v:e}"),
        (false, Some(p)) => write!(f, "{v:.p$}"),
        (false, None) => write!(f, "{v}"),
    }
}

impl fmt::Display for Num<f64> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_num(f, self.0, scientific(self.0))
    }
}

impl fmt::Display for Num<f32> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_num(f, self.0, scientific(f64::from(self.0)))
    }
}

/// A value shown in an [`Error::InvalidParameter`] message: floats through [`Num`], everything
/// else through its `Display`. Implemented for the numbers, strings and `bool`; wrap anything
/// else in `.to_string()`.
pub trait ParamValue {
    /// The value as the message shows it.
    fn param_text(&self) -> String;
}

impl ParamValue for f64 {
    fn param_text(&self) -> String {
        Num(*self).to_string()
    }
}
impl ParamValue for f32 {
    fn param_text(&self) -> String {
        Num(*self).to_string()
    }
}
impl<T> ParamValue for Num<T>
where
    Num<T>: fmt::Display,
{
    fn param_text(&self) -> String {
        self.to_string()
    }
}
macro_rules! param_value_display {
    ($($t:ty),*) => {
        $(impl ParamValue for $t {
            fn param_text(&self) -> String {
                self.to_string()
            }
        })*
    };
}
param_value_display!(
    u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, bool, char, str, String
);
impl<T: ParamValue + ?Sized> ParamValue for &T {
    fn param_text(&self) -> String {
        (**self).param_text()
    }
}
impl ParamValue for std::path::Display<'_> {
    fn param_text(&self) -> String {
        self.to_string()
    }
}
impl ParamValue for std::borrow::Cow<'_, str> {
    fn param_text(&self) -> String {
        self.to_string()
    }
}

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
    #[error("non-finite value in {what} at index {index}: {}", Num(*.value))]
    NonFinite {
        /// Which array.
        what: &'static str,
        /// Position of the first bad value.
        index: usize,
        /// The value itself.
        value: f64,
    },
    /// A negative magnitude (magnitudes must be >= 0).
    #[error("negative magnitude at index {index}: {} (magnitudes must be >= 0)", Num(*.value))]
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
    #[error("training diverged at step {step}: loss = {}", Num(*.loss))]
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
    /// Shorthand for [`Error::InvalidParameter`]; a float value prints through [`Num`].
    pub fn param(name: &'static str, value: impl ParamValue, expected: impl ToString) -> Self {
        Error::InvalidParameter {
            name,
            value: value.param_text(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_short_in_messages() {
        // `{}` printed 1e300 as 301 digits
        for (v, want) in [
            (1e300, "1e300"),
            (-1e300, "-1e300"),
            (1e-300, "1e-300"),
            (2.5e-7, "2.5e-7"),
            (1e16, "1e16"),
            (44100.0, "44100"),
            (0.001, "0.001"),
            (-3.5, "-3.5"),
            (0.0, "0"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-inf"),
        ] {
            assert_eq!(Num(v).to_string(), want);
        }
        assert_eq!(Num(1e30f32).to_string(), "1e30");
        assert_eq!(format!("{:.1}", Num(1e300)), "1.0e300");
        assert_eq!(format!("{:.1}", Num(440.04)), "440.0");
    }

    #[test]
    fn messages_holding_floats_stay_short() {
        let e = Error::param("power", 1e300, "a value in (0, 16]");
        assert_eq!(
            e.to_string(),
            "invalid parameter power = 1e300: expected a value in (0, 16]"
        );
        let e = Error::param("omega", -1e30f32, "a value > 0");
        assert!(e.to_string().contains("omega = -1e30:"), "{e}");
        let e = Error::param("fmin", 1e-300, "a frequency > 0");
        assert!(e.to_string().contains("fmin = 1e-300:"), "{e}");
        // integers are not reformatted
        let e = Error::param("window", u64::MAX, "at most 2^24");
        assert!(e.to_string().contains("18446744073709551615"), "{e}");
        let e = Error::NegativeMagnitude {
            index: 3,
            value: -1e300,
        };
        assert!(e.to_string().contains("index 3: -1e300 "), "{e}");
        let e = Error::Diverged {
            step: 0,
            loss: 1e300,
        };
        assert!(e.to_string().ends_with("loss = 1e300"), "{e}");
        for e in [check_sample_rate(-1e300), check_signal(&[1.0], -1e-300)] {
            let m = e.unwrap_err().to_string();
            assert!(m.len() < 100, "{m}");
        }
    }
}
