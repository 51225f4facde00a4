//! File formats: NumPy `.npy` / `.npz` arrays, CSV tables, and atomic writes.
//!
//! `.npy` support covers what the project exchanges with Python: little-endian `f4`, `f8`,
//! `i4`, `i8`, `u1` arrays in C order (read), `f4`/`f8` (write). `.npz` files are zip archives of
//! `.npy` members, stored or deflated (so both `np.savez` and `np.savez_compressed` read).

use crate::error::{Error, Result};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// An n-dimensional array read from or written to `.npy`: values as f64 plus the shape.
#[derive(Debug, Clone, PartialEq)]
pub struct NdArray {
    /// Shape, C order (last index fastest).
    pub shape: Vec<usize>,
    /// Values in C order.
    pub data: Vec<f64>,
}

impl NdArray {
    /// A new array; panics if `data.len()` does not match the shape (internal contract).
    #[track_caller]
    pub fn new(shape: Vec<usize>, data: Vec<f64>) -> Self {
        assert_eq!(
            shape.iter().product::<usize>(),
            data.len(),
            "NdArray shape/data"
        );
        NdArray { shape, data }
    }

    /// A 1-D array.
    pub fn vector(data: Vec<f64>) -> Self {
        NdArray {
            shape: vec![data.len()],
            data,
        }
    }

    /// Values as f32.
    pub fn to_f32(&self) -> Vec<f32> {
        self.data.iter().map(|&v| v as f32).collect()
    }
}

/// This machine's name as it appears in temporary file names ([`write_atomic`]): the kernel's
/// host name (`/proc/sys/kernel/hostname`, else `/etc/hostname`, else `$HOSTNAME`) with every
/// character other than ASCII letters, digits and `-` replaced by `-`, at most 64 characters;
/// `unknown` when none is found. Processes sharing one output folder over a network file system
/// tell their own leftovers from other machines' by it.
pub fn host_name() -> &'static str {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOST.get_or_init(|| {
        let raw = ["/proc/sys/kernel/hostname", "/etc/hostname"]
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .chain(std::env::var("HOSTNAME").ok())
            .map(|s| s.trim().to_string())
            .find(|s| !s.is_empty())
            .unwrap_or_default();
        let name: String = raw
            .chars()
            .take(64)
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        if name.is_empty() {
            "unknown".into()
        } else {
            name
        }
    })
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, then a rename.
/// The temporary file is `.<name>.<host>.<pid>.tmp` ([`host_name`], the process id), so a run
/// that starts after a crash can tell whether its writer is gone.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let name = path
        .file_name()
        .ok_or_else(|| Error::format(path, "not a file name"))?
        .to_string_lossy()
        .into_owned();
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        host_name(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

/// True for the point-set file names [`crate::TfPoints::read`] takes (`.npz`, `.csv`);
/// everything else is read as audio.
pub fn is_point_set_file(path: &Path) -> bool {
    matches!(
        path.extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .as_deref(),
        Some("npz") | Some("csv")
    )
}

/// Whether two paths name one file, by [`resolve_path`] (`./a.npz` and `a.npz` are one file,
/// also before it exists).
fn same_file(a: &Path, b: &Path) -> bool {
    resolve_path(a) == resolve_path(b)
}

/// `p` made absolute with its longest existing ancestor canonicalized (symbolic links and `..`
/// resolved), so that two spellings of one folder compare equal even before it exists.
pub fn resolve_path(p: &Path) -> PathBuf {
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut rest = Vec::new();
    let mut cur = abs.as_path();
    loop {
        if let Ok(c) = cur.canonicalize() {
            return rest.iter().rev().fold(c, |acc, r| acc.join(r));
        }
        match (cur.parent(), cur.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                cur = parent;
            }
            _ => return abs,
        }
    }
}

/// [`check_output`] for each of the fixed file `names` a command writes into the folder `dir`
/// (`what` names the folder's option in messages).
///
/// # Errors
/// Those of [`check_output`], for the first file that fails.
pub fn check_outputs_in<S: AsRef<str>>(
    dir: &Path,
    what: &'static str,
    names: &[S],
    inputs: &[&Path],
) -> Result<()> {
    names
        .iter()
        .try_for_each(|n| check_output(&dir.join(n.as_ref()), what, &[], inputs, &[]))
}

/// Checks an output file before any work is done: its extension is one of `extensions`
/// (lowercase, without the dot; empty = any), it is none of `inputs` nor of `other_outputs` (by
/// canonical path, so `./a.npz` and `a.npz` are one file), and its folder exists or can be
/// created and accepts a new file. `what` names the output in messages ("model", "report").
///
/// # Errors
/// [`Error::InvalidParameter`] naming the path and what was expected; [`Error::Io`] for a
/// folder that cannot be created or written.
pub fn check_output(
    path: &Path,
    what: &'static str,
    extensions: &[&str],
    inputs: &[&Path],
    other_outputs: &[&Path],
) -> Result<()> {
    if path.as_os_str().is_empty() || path.file_name().is_none() {
        return Err(Error::param(what, path.display(), "a file name"));
    }
    if !extensions.is_empty() {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if !extensions.contains(&ext.as_str()) {
            let list: Vec<String> = extensions.iter().map(|e| format!(".{e}")).collect();
            return Err(Error::param(
                what,
                path.display(),
                format!("a file name ending in {}", list.join(" or ")),
            ));
        }
    }
    if path.is_dir() {
        return Err(Error::param(what, path.display(), "a file, not a folder"));
    }
    for input in inputs {
        if same_file(path, input) {
            return Err(Error::param(
                what,
                path.display(),
                format!(
                    "a file other than the input {} (it would be overwritten)",
                    input.display()
                ),
            ));
        }
    }
    for other in other_outputs {
        if same_file(path, other) {
            return Err(Error::param(
                what,
                path.display(),
                format!(
                    "a file other than the output {} (one would replace the other)",
                    other.display()
                ),
            ));
        }
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    check_writable_dir(&dir)
}

/// Creates `dir` if needed and checks that a file can be created in it (by creating and removing
/// a hidden probe file).
///
/// # Errors
/// [`Error::Io`] naming the folder.
pub fn check_writable_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let probe = dir.join(format!(".innmf-write-probe.{}", std::process::id()));
    std::fs::File::create(&probe).map_err(|e| Error::io(dir, e))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Reads a whole file, naming it in the error.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

/// Serializes an array to `.npy` bytes (f64 as `<f8`, or f32 as `<f4` when `f32` is set).
pub fn npy_bytes(arr: &NdArray, as_f32: bool) -> Vec<u8> {
    let descr = if as_f32 { "<f4" } else { "<f8" };
    let shape = match arr.shape.len() {
        1 => format!("({},)", arr.shape[0]),
        _ => format!(
            "({})",
            arr.shape
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // magic(6) + version(2) + header_len(2) + header + '\n' padded to a multiple of 64
    let unpadded = 10 + header.len() + 1;
    let pad = (64 - unpadded % 64) % 64;
    header.push_str(&" ".repeat(pad));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + arr.data.len() * 8);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    if as_f32 {
        for v in &arr.data {
            out.extend_from_slice(&(*v as f32).to_le_bytes());
        }
    } else {
        for v in &arr.data {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

/// Parses `.npy` bytes. `name` is used in error messages.
pub fn parse_npy(bytes: &[u8], name: &Path) -> Result<NdArray> {
    let bad = |m: &str| Error::format(name, format!("not a valid .npy array: {m}"));
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad("missing magic"));
    }
    let major = bytes[6];
    let (hlen, start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(bad("truncated header"));
            }
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            )
        }
        v => return Err(bad(&format!("unsupported version {v}"))),
    };
    let header = std::str::from_utf8(
        bytes
            .get(start..start + hlen)
            .ok_or_else(|| bad("truncated header"))?,
    )
    .map_err(|_| bad("header is not UTF-8"))?;
    let field = |key: &str| -> Option<&str> {
        let i = header.find(&format!("'{key}'"))?;
        let rest = &header[i + key.len() + 2..];
        let rest = rest.trim_start().strip_prefix(':')?.trim_start();
        Some(rest)
    };
    let descr = field("descr").ok_or_else(|| bad("no descr"))?;
    let descr = descr
        .strip_prefix('\'')
        .and_then(|d| d.split('\'').next())
        .ok_or_else(|| bad("bad descr"))?;
    let fortran = field("fortran_order")
        .map(|s| s.starts_with("True"))
        .unwrap_or(false);
    if fortran {
        return Err(bad(
            "Fortran-order arrays are not supported; save with np.ascontiguousarray",
        ));
    }
    let shape_s = field("shape").ok_or_else(|| bad("no shape"))?;
    let inner = shape_s
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| bad("bad shape"))?;
    let shape: Vec<usize> = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| bad("bad shape")))
        .collect::<Result<_>>()?;
    let n = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| {
            bad(&format!(
                "shape {shape:?} has more elements than memory can index"
            ))
        })?;
    let body = &bytes[start + hlen..];
    let (size, conv): (usize, fn(&[u8]) -> f64) = match descr {
        "<f8" => (8, |b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8]))),
        "<f4" => (4, |b| {
            f32::from_le_bytes(b.try_into().unwrap_or([0; 4])) as f64
        }),
        "<i8" => (8, |b| {
            i64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as f64
        }),
        "<i4" => (4, |b| {
            i32::from_le_bytes(b.try_into().unwrap_or([0; 4])) as f64
        }),
        "|u1" => (1, |b| b[0] as f64),
        "|b1" => (1, |b| b[0] as f64),
        d => {
            return Err(bad(&format!(
                "dtype {d} is not supported (use float32, float64, int32 or int64)"
            )))
        }
    };
    if n.checked_mul(size).is_none_or(|need| body.len() < need) {
        return Err(bad(&format!(
            "data truncated: {} bytes for {n} values of {size} bytes",
            body.len()
        )));
    }
    let data = body[..n * size].chunks_exact(size).map(conv).collect();
    Ok(NdArray { shape, data })
}

/// Reads a `.npy` file.
pub fn read_npy(path: &Path) -> Result<NdArray> {
    parse_npy(&read_bytes(path)?, path)
}

/// Writes a `.npy` file atomically.
pub fn write_npy(path: &Path, arr: &NdArray, as_f32: bool) -> Result<()> {
    write_atomic(path, &npy_bytes(arr, as_f32))
}

/// The most bytes one `.npz` member may decompress to (16 GiB): a deflated member can claim, and
/// expand to, about a thousand times its stored size.
pub const MAX_NPZ_MEMBER_BYTES: u64 = 1 << 34;

/// Reads every array of a `.npz` archive, in archive order.
pub fn read_npz(path: &Path) -> Result<Vec<(String, NdArray)>> {
    parse_npz(&read_bytes(path)?, path)
}

/// Parses `.npz` bytes (every array, in archive order). `path` is used in error messages.
pub fn parse_npz(bytes: &[u8], path: &Path) -> Result<Vec<(String, NdArray)>> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| Error::format(path, format!("not a valid .npz (zip) file: {e}")))?;
    let mut out = Vec::new();
    for i in 0..zip.len() {
        let entry = zip
            .by_index(i)
            .map_err(|e| Error::format(path, format!("bad zip member {i}: {e}")))?;
        let name = entry.name().trim_end_matches(".npy").to_string();
        if entry.size() > MAX_NPZ_MEMBER_BYTES {
            return Err(Error::format(
                path,
                format!(
                    "zip member '{name}' claims {} bytes, more than the {MAX_NPZ_MEMBER_BYTES} \
                     accepted",
                    entry.size()
                ),
            ));
        }
        let mut buf = Vec::new();
        entry
            .take(MAX_NPZ_MEMBER_BYTES)
            .read_to_end(&mut buf)
            .map_err(|e| Error::format(path, format!("bad zip member '{name}': {e}")))?;
        out.push((name.clone(), parse_npy(&buf, &path.join(&name))?));
    }
    Ok(out)
}

/// Writes arrays into a `.npz` archive (stored members, as `np.savez` does), atomically.
pub fn write_npz(path: &Path, arrays: &[(&str, &NdArray)], as_f32: bool) -> Result<()> {
    // sized once (values, headers, the zip's entries): doubling held up to twice the archive
    let size: usize = arrays
        .iter()
        .map(|(_, a)| a.data.len() * if as_f32 { 4 } else { 8 } + 512)
        .sum();
    let mut cursor = std::io::Cursor::new(Vec::with_capacity(size + 1024));
    {
        let mut zw = zip::ZipWriter::new(&mut cursor);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for (name, arr) in arrays {
            zw.start_file(format!("{name}.npy"), opts)
                .map_err(|e| Error::format(path, e))?;
            zw.write_all(&npy_bytes(arr, as_f32))
                .map_err(|e| Error::io(path, e))?;
        }
        zw.finish().map_err(|e| Error::format(path, e))?;
    }
    write_atomic(path, &cursor.into_inner())
}

/// Finds an array by name in a list read by [`read_npz`].
pub fn npz_get<'a>(
    arrays: &'a [(String, NdArray)],
    name: &str,
    path: &Path,
) -> Result<&'a NdArray> {
    arrays
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, a)| a)
        .ok_or_else(|| {
            let names: Vec<&str> = arrays.iter().map(|(n, _)| n.as_str()).collect();
            Error::format(path, format!("no array named '{name}' (found: {names:?})"))
        })
}

/// Reads a CSV file with a header row of column names; returns (names, columns).
pub fn read_csv(path: &Path) -> Result<(Vec<String>, Vec<Vec<f64>>)> {
    parse_csv(&read_bytes(path)?, path)
}

/// Parses CSV bytes with a header row of column names (see [`read_csv`]); `path` names errors.
pub fn parse_csv(bytes: &[u8], path: &Path) -> Result<(Vec<String>, Vec<Vec<f64>>)> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| Error::format(path, "CSV is not UTF-8 text"))?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = lines
        .next()
        .ok_or_else(|| Error::format(path, "CSV file is empty"))?;
    let names: Vec<String> = header.split(',').map(|s| s.trim().to_string()).collect();
    let mut cols = vec![Vec::new(); names.len()];
    for (row, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        if cells.len() != names.len() {
            return Err(Error::format(
                path,
                format!(
                    "row {} has {} cells, the header has {}",
                    row + 2,
                    cells.len(),
                    names.len()
                ),
            ));
        }
        for (c, cell) in cells.iter().enumerate() {
            let v = cell.trim().parse::<f64>().map_err(|_| {
                Error::format(
                    path,
                    format!("row {}: '{}' is not a number", row + 2, cell.trim()),
                )
            })?;
            cols[c].push(v);
        }
    }
    Ok((names, cols))
}

/// Writes named columns of equal length as CSV, atomically.
pub fn write_csv(path: &Path, names: &[&str], cols: &[&[f64]]) -> Result<()> {
    let n = cols.first().map_or(0, |c| c.len());
    let mut s = names.join(",");
    s.push('\n');
    for i in 0..n {
        let row: Vec<String> = cols.iter().map(|c| format!("{}", c[i])).collect();
        s.push_str(&row.join(","));
        s.push('\n');
    }
    write_atomic(path, s.as_bytes())
}

/// Writes a JSON value, pretty-printed, atomically.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let s = serde_json::to_string_pretty(value).map_err(|e| Error::format(path, e))?;
    write_atomic(path, s.as_bytes())
}

/// Serde helpers for floats in JSON reports: JSON has no infinity or NaN (serde_json writes them
/// as `null`, which reads back as "missing"), so a non-finite value is written as the string
/// `"inf"`, `"-inf"` or `"nan"` (what Python's `float(s)` and numpy read) and read back from
/// either form. An SIR or SI-SDR is `+inf` for a perfect estimate, as in mir_eval.
///
/// Use with `#[serde(with = "innmf::io::json_float")]` (`f64`) or
/// `#[serde(with = "innmf::io::json_float::option")]` (`Option<f64>`).
pub mod json_float {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes a finite value as a number, others as `"inf"`, `"-inf"` or `"nan"`.
    pub fn serialize<S: Serializer>(v: &f64, s: S) -> std::result::Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else if v.is_nan() {
            s.serialize_str("nan")
        } else if *v > 0.0 {
            s.serialize_str("inf")
        } else {
            s.serialize_str("-inf")
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Number(f64),
        Text(String),
        Null(()),
    }

    fn from(e: Either) -> std::result::Result<f64, String> {
        match e {
            Either::Number(v) => Ok(v),
            Either::Null(()) => Ok(f64::NAN),
            Either::Text(t) => match t.trim().to_ascii_lowercase().as_str() {
                "inf" | "+inf" | "infinity" => Ok(f64::INFINITY),
                "-inf" | "-infinity" => Ok(f64::NEG_INFINITY),
                "nan" => Ok(f64::NAN),
                _ => Err(format!("'{t}' is not a number, inf, -inf or nan")),
            },
        }
    }

    /// Reads a number, or `"inf"`, `"-inf"`, `"nan"` (and `null`, as older reports wrote NaN).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
        from(Either::deserialize(d)?).map_err(serde::de::Error::custom)
    }

    /// The same for a matrix (`Vec<Vec<f64>>`, e.g. framewise scores).
    pub mod matrix {
        use super::{from, Either};
        use serde::ser::SerializeSeq;
        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        struct Row<'a>(&'a [f64]);
        struct Value(f64);

        impl Serialize for Value {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                super::serialize(&self.0, s)
            }
        }

        impl Serialize for Row<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                let mut seq = s.serialize_seq(Some(self.0.len()))?;
                for v in self.0 {
                    seq.serialize_element(&Value(*v))?;
                }
                seq.end()
            }
        }

        /// See [`super::serialize`], element by element.
        pub fn serialize<S: Serializer>(
            v: &[Vec<f64>],
            s: S,
        ) -> std::result::Result<S::Ok, S::Error> {
            let mut seq = s.serialize_seq(Some(v.len()))?;
            for r in v {
                seq.serialize_element(&Row(r))?;
            }
            seq.end()
        }

        /// See [`super::deserialize`], element by element.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> std::result::Result<Vec<Vec<f64>>, D::Error> {
            Vec::<Vec<Either>>::deserialize(d)?
                .into_iter()
                .map(|r| r.into_iter().map(from).collect::<Result<Vec<_>, _>>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(serde::de::Error::custom)
        }
    }

    /// The same for optional values (`None` is `null`).
    pub mod option {
        use super::{from, Either};
        use serde::{Deserialize, Deserializer, Serializer};

        /// See [`super::serialize`]; `None` is `null`.
        pub fn serialize<S: Serializer>(
            v: &Option<f64>,
            s: S,
        ) -> std::result::Result<S::Ok, S::Error> {
            match v {
                Some(v) => super::serialize(v, s),
                None => s.serialize_none(),
            }
        }

        /// See [`super::deserialize`]; `null` is `None`.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> std::result::Result<Option<f64>, D::Error> {
            match Option::<Either>::deserialize(d)? {
                None => Ok(None),
                Some(e) => from(e).map(Some).map_err(serde::de::Error::custom),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_floats_round_trip_through_json_as_strings() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct R {
            #[serde(with = "json_float")]
            a: f64,
            #[serde(with = "json_float")]
            b: f64,
            #[serde(with = "json_float::option")]
            c: Option<f64>,
            #[serde(with = "json_float::option")]
            d: Option<f64>,
        }
        let r = R {
            a: f64::INFINITY,
            b: -3.5,
            c: Some(f64::NEG_INFINITY),
            d: None,
        };
        let s = serde_json::to_string(&r).unwrap();
        assert_eq!(s, r#"{"a":"inf","b":-3.5,"c":"-inf","d":null}"#);
        assert_eq!(serde_json::from_str::<R>(&s).unwrap(), r);
        let nan: R = serde_json::from_str(r#"{"a":"nan","b":null,"c":1,"d":"Infinity"}"#).unwrap();
        assert!(nan.a.is_nan() && nan.b.is_nan());
        assert_eq!((nan.c, nan.d), (Some(1.0), Some(f64::INFINITY)));
        let e = serde_json::from_str::<R>(r#"{"a":"big","b":1,"c":null,"d":null}"#).unwrap_err();
        assert!(e.to_string().contains("'big'"), "{e}");
    }

    #[test]
    fn npy_round_trip_f64_and_f32() {
        let arr = NdArray::new(vec![2, 3], vec![1.0, -2.5, 3.0, 4.0, 5.0, 1e-30]);
        let p = Path::new("x.npy");
        assert_eq!(parse_npy(&npy_bytes(&arr, false), p).unwrap(), arr);
        let back = parse_npy(&npy_bytes(&arr, true), p).unwrap();
        assert_eq!(back.shape, arr.shape);
        for (a, b) in back.data.iter().zip(&arr.data) {
            assert!((a - b).abs() <= 1e-7 * b.abs());
        }
        // header must be 64-byte aligned as numpy writes it
        assert_eq!(
            (10 + u16::from_le_bytes([npy_bytes(&arr, false)[8], npy_bytes(&arr, false)[9]])
                as usize)
                % 64,
            0
        );
    }

    #[test]
    fn npz_and_csv_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let a = NdArray::vector(vec![1.0, 2.0]);
        let b = NdArray::new(vec![1, 1], vec![3.0]);
        let p = dir.path().join("a.npz");
        write_npz(&p, &[("a", &a), ("b", &b)], false).unwrap();
        let back = read_npz(&p).unwrap();
        assert_eq!(npz_get(&back, "a", &p).unwrap(), &a);
        assert_eq!(npz_get(&back, "b", &p).unwrap(), &b);
        assert!(npz_get(&back, "c", &p).is_err());
        let c = dir.path().join("a.csv");
        write_csv(&c, &["x", "y"], &[&[1.0, 2.0], &[3.0, 4.5]]).unwrap();
        let (names, cols) = read_csv(&c).unwrap();
        assert_eq!(names, vec!["x", "y"]);
        assert_eq!(cols, vec![vec![1.0, 2.0], vec![3.0, 4.5]]);
    }

    #[test]
    fn garbage_is_rejected_with_a_message() {
        let err = parse_npy(b"hello world, not numpy", Path::new("g.npy")).unwrap_err();
        assert!(err.to_string().contains("g.npy"));
    }
}
