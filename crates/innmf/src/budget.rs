//! The memory budget: one check, before allocation, that a large request fits in memory.
//!
//! The fixed caps ([`MAX_WINDOW`](crate::transform::representation::MAX_WINDOW),
//! [`MAX_GRID_VALUES`](crate::model::MAX_GRID_VALUES), …) refuse typos; a request below them can
//! still need more memory than the machine has, and an allocation that fails aborts the process
//! ("memory allocation of N bytes failed"). So every large allocation (an analysis, a fit's
//! training buffers, a grid evaluation, the Python binding's copies) first estimates its peak in
//! bytes and asks [`check`], which refuses with [`Error::InvalidParameter`] (exit code 2 from the
//! CLI, `ValueError` in Python) naming the request, the estimate, the limit and what to change.
//!
//! The limit ([`Limit::current`]) is `INNMF_MEMORY_LIMIT` when set (bytes, with an optional
//! suffix K, M, G or T in powers of 1024: `8G`, `512M`, `1.5G`; empty means unset; anything else
//! is an error), otherwise the machine's physical memory (`MemTotal` of `/proc/meminfo` on
//! Linux). Where the physical memory cannot be read (other systems) there is no limit but the
//! variable and the fixed caps. Estimates are of the peak (intermediates included) with a modest
//! allowance, not exact: each call site documents its own.

use crate::error::{Error, Result};
use std::sync::OnceLock;

/// The environment variable that overrides the memory limit (bytes, `8G`, `512M`).
pub const ENV_VAR: &str = "INNMF_MEMORY_LIMIT";

/// Where a [`Limit`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitSource {
    /// The `INNMF_MEMORY_LIMIT` environment variable.
    Env,
    /// The machine's physical memory (`MemTotal` in `/proc/meminfo`).
    PhysicalMemory,
    /// Unknown (the physical memory could not be read and the variable is unset): no limit.
    Unknown,
}

/// Bytes a point of a result needs at the peak of the call that makes it: the point (t, f, m in
/// f64: 24) and the copies a front end makes to hand it on (numpy arrays, a point file's archive
/// built in memory: 56). The analyses size their points by it.
pub const BYTES_PER_POINT: u128 = 80;

/// A memory limit in bytes and where it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Bytes.
    pub bytes: u128,
    /// Its origin.
    pub source: LimitSource,
}

impl Limit {
    /// The limit in force now: `INNMF_MEMORY_LIMIT` (read at every call) or the physical memory
    /// (read once).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `INNMF_MEMORY_LIMIT` when it is set to something that
    /// is not a positive size.
    pub fn current() -> Result<Limit> {
        Self::from_var(std::env::var_os(ENV_VAR).map(|v| v.to_string_lossy().into_owned()))
    }

    /// The limit for a value of `INNMF_MEMORY_LIMIT` (None: unset).
    fn from_var(var: Option<String>) -> Result<Limit> {
        match var {
            Some(s) if !s.trim().is_empty() => {
                let bytes = parse_size(&s).ok_or_else(|| {
                    Error::param(
                        ENV_VAR,
                        format!("{s:?}"),
                        "a positive number of bytes with an optional suffix K, M, G or T \
                         (powers of 1024), e.g. 8G or 512M",
                    )
                })?;
                Ok(Limit {
                    bytes,
                    source: LimitSource::Env,
                })
            }
            _ => Ok(match physical_memory() {
                Some(bytes) => Limit {
                    bytes,
                    source: LimitSource::PhysicalMemory,
                },
                None => Limit {
                    bytes: u128::MAX,
                    source: LimitSource::Unknown,
                },
            }),
        }
    }

    fn describe(&self) -> String {
        match self.source {
            LimitSource::Env => format!("{} (set by {ENV_VAR})", format_bytes(self.bytes)),
            LimitSource::PhysicalMemory => format!(
                "{} (the machine's physical memory; {ENV_VAR} overrides it)",
                format_bytes(self.bytes)
            ),
            LimitSource::Unknown => "unknown".into(),
        }
    }
}

/// The physical memory in bytes: `MemTotal` of `/proc/meminfo` (Linux), read once; None
/// elsewhere or when it cannot be read.
fn physical_memory() -> Option<u128> {
    static MEM: OnceLock<Option<u128>> = OnceLock::new();
    *MEM.get_or_init(|| {
        let info = std::fs::read_to_string("/proc/meminfo").ok()?;
        let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
        let kb: u128 = line
            .trim_start_matches("MemTotal:")
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        (kb > 0).then_some(kb * 1024)
    })
}

/// Parses a size: a positive number of bytes with an optional suffix `K`, `M`, `G`, `T` (also
/// `KB`, `KiB`, …; powers of 1024, any case); `1.5G` is allowed. None for anything else or 0.
pub fn parse_size(s: &str) -> Option<u128> {
    let t = s.trim().to_ascii_lowercase();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let shift = match unit.trim() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => return None,
    };
    if num.is_empty() {
        return None;
    }
    let bytes = if num.contains('.') {
        let v: f64 = num.parse().ok()?;
        let b = (v * (1u64 << shift) as f64).floor();
        if !(b.is_finite() && b < 1e30) {
            return None;
        }
        b as u128
    } else {
        num.parse::<u128>().ok()?.checked_mul(1u128 << shift)?
    };
    (bytes > 0).then_some(bytes)
}

/// A byte count for people: `512 B`, `3.0 KiB`, `48.2 GiB`.
pub fn format_bytes(b: u128) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Checks that a request fits the memory limit in force ([`Limit::current`]) before it is
/// allocated. `name` and `value` are the parameter the error names (the one to change: `hop`
/// for an STFT); `request` describes what is being built ("an STFT of 2000000 samples with …"),
/// `bytes` is the estimated peak, `advice` says what to do ("use a larger hop").
///
/// # Errors
/// [`Error::InvalidParameter`] when `bytes` exceeds the limit, or when `INNMF_MEMORY_LIMIT` is
/// not a size.
pub fn check(
    name: &'static str,
    value: impl crate::error::ParamValue,
    request: impl FnOnce() -> String,
    bytes: u128,
    advice: &str,
) -> Result<()> {
    check_against(Limit::current()?, name, value, request, bytes, advice)
}

/// [`check`] against a given limit.
///
/// # Errors
/// [`Error::InvalidParameter`] when `bytes` exceeds `limit`.
pub fn check_against(
    limit: Limit,
    name: &'static str,
    value: impl crate::error::ParamValue,
    request: impl FnOnce() -> String,
    bytes: u128,
    advice: &str,
) -> Result<()> {
    if bytes <= limit.bytes {
        return Ok(());
    }
    Err(Error::param(
        name,
        value,
        format!(
            "a request that fits in memory: {} needs about {}, more than the memory limit of {}; \
             {advice}, or raise {ENV_VAR} (bytes: 64G, 512M) on a machine with more memory",
            request(),
            format_bytes(bytes),
            limit.describe()
        ),
    ))
}

/// `a × b` in u128, saturating (sizes are estimates; an overflow is simply too large).
pub fn mul(a: impl Into<u128>, b: impl Into<u128>) -> u128 {
    a.into().saturating_mul(b.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_size("123"), Some(123));
        assert_eq!(parse_size(" 8G "), Some(8 << 30));
        assert_eq!(parse_size("512m"), Some(512 << 20));
        assert_eq!(parse_size("64MiB"), Some(64 << 20));
        assert_eq!(parse_size("2kb"), Some(2048));
        assert_eq!(parse_size("1T"), Some(1 << 40));
        assert_eq!(parse_size("1.5G"), Some(3 << 29));
        assert_eq!(parse_size("100b"), Some(100));
        for bad in [
            "", "G", "0", "0G", "-1", "8X", "eight", "1e9", "1.2.3G", "8 G G", "nan",
        ] {
            assert_eq!(parse_size(bad), None, "{bad:?}");
        }
        assert_eq!(
            parse_size("99999999999999999999999999999999999999999T"),
            None
        );
    }

    #[test]
    fn the_variable_overrides_the_physical_memory() {
        let l = Limit::from_var(Some("64M".into())).unwrap();
        assert_eq!((l.bytes, l.source), (64 << 20, LimitSource::Env));
        for unset in [None, Some(String::new()), Some("  ".into())] {
            let l = Limit::from_var(unset).unwrap();
            assert_ne!(l.source, LimitSource::Env);
        }
        let e = Limit::from_var(Some("lots".into()))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("INNMF_MEMORY_LIMIT = \"lots\"") && e.contains("e.g. 8G or 512M"),
            "{e}"
        );
    }

    #[test]
    fn bytes_format_for_people() {
        assert_eq!(format_bytes(512), "512 B");
        assert_eq!(format_bytes(3 << 10), "3.0 KiB");
        assert_eq!(format_bytes(64 << 20), "64.0 MiB");
        assert_eq!(format_bytes(262_000_000_000), "244.0 GiB");
    }

    #[test]
    fn a_request_over_the_limit_is_refused_naming_it() {
        let limit = Limit {
            bytes: 64 << 20,
            source: LimitSource::Env,
        };
        let req = || "an STFT of 2000000 samples".to_string();
        assert!(check_against(limit, "hop", 1, req, 64 << 20, "use a larger hop").is_ok());
        let e =
            check_against(limit, "hop", 1, req, (64 << 20) + 1, "use a larger hop").unwrap_err();
        assert!(matches!(e, Error::InvalidParameter { name: "hop", .. }));
        let msg = e.to_string();
        for part in [
            "hop = 1",
            "an STFT of 2000000 samples needs about 64.0 MiB",
            "memory limit of 64.0 MiB (set by INNMF_MEMORY_LIMIT)",
            "use a larger hop, or raise INNMF_MEMORY_LIMIT",
        ] {
            assert!(msg.contains(part), "{part:?} not in {msg}");
        }
        let phys = Limit {
            bytes: 24 << 30,
            source: LimitSource::PhysicalMemory,
        };
        let msg = check_against(phys, "hop", 1, req, u128::MAX, "x")
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("24.0 GiB (the machine's physical memory"),
            "{msg}"
        );
        let none = Limit {
            bytes: u128::MAX,
            source: LimitSource::Unknown,
        };
        assert!(check_against(none, "hop", 1, req, u128::MAX, "x").is_ok());
    }

    #[test]
    fn the_physical_memory_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            let m = physical_memory().expect("MemTotal");
            assert!(m >= 64 << 20, "{m}");
        }
    }

    #[test]
    fn saturating_products() {
        assert_eq!(mul(3u64, 4u64), 12);
        assert_eq!(mul(u128::MAX, 2u8), u128::MAX);
    }
}
