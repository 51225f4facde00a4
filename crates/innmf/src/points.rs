//! [`TfPoints`]: a time-frequency representation as a set of points `(t_i, f_i, m_i)`.
//!
//! Every representation (STFT grids, constant-Q frames with per-bin hops, sinusoidal peaks,
//! hybrids) is one `TfPoints`. Alongside the magnitudes it keeps the *unique-coordinate index*:
//! the sorted distinct frequencies and times, and for each point the index of its frequency and
//! of its time. The model evaluates `W_k` once per distinct frequency and `H_k` once per distinct
//! time and gathers per point. When every (frequency, time) pair occurs exactly once the set is a
//! full grid ([`TfPoints::grid`]) and dense matrix products are used instead.
//!
//! **Storage.** A grid built by [`TfPoints::from_grid`] (an STFT, say) is stored as its
//! magnitudes in row-major (frequency, time) order plus the two coordinate axes: 8 bytes per
//! point. The per-point views [`t`](TfPoints::t), [`f`](TfPoints::f),
//! [`freq_index`](TfPoints::freq_index), [`time_index`](TfPoints::time_index) and the
//! [`grid`](TfPoints::grid) map are built on first use and kept (the training engine uses none of
//! them on such a grid). A scattered point set stores its coordinates and indices.
//!
//! Coordinates are compared exactly (bitwise after sorting): transforms in this crate compute
//! times from integer sample positions, so equal instants give equal floats.

use crate::error::{check_finite, Error, Result};
use crate::io::{self, NdArray};
use std::path::Path;
use std::sync::OnceLock;

/// A dense grid layout: point `i` sits at row `fi[i]`, column `ti[i]`, and `cell_to_point`
/// maps the row-major cell `f * n_times + t` back to the point index.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// Point index of each row-major (frequency, time) cell.
    pub cell_to_point: Vec<u32>,
}

#[derive(Debug, Clone)]
enum Layout {
    /// Point `i` is cell `(i / n_times, i % n_times)` of the full grid.
    RowMajor,
    /// Scattered points: coordinates and unique-coordinate indices per point, and the grid map
    /// when the points happen to fill a grid in another order.
    Cloud {
        t: Vec<f64>,
        f: Vec<f64>,
        fi: Vec<u32>,
        ti: Vec<u32>,
        grid: Option<Grid>,
    },
}

/// Per-point views of a row-major grid, built on first use.
#[derive(Debug, Clone, Default)]
struct Lazy {
    t: OnceLock<Vec<f64>>,
    f: OnceLock<Vec<f64>>,
    fi: OnceLock<Vec<u32>>,
    ti: OnceLock<Vec<u32>>,
    grid: OnceLock<Grid>,
}

/// A point set with its unique-coordinate index. Build with [`TfPoints::new`] or
/// [`TfPoints::from_grid`].
#[derive(Debug, Clone)]
pub struct TfPoints {
    m: Vec<f64>,
    freqs: Vec<f64>,
    times: Vec<f64>,
    layout: Layout,
    lazy: Lazy,
}

impl PartialEq for TfPoints {
    /// The same points in the same order (whatever the storage).
    fn eq(&self, other: &Self) -> bool {
        self.m == other.m
            && self.freqs == other.freqs
            && self.times == other.times
            && self.t() == other.t()
            && self.f() == other.f()
    }
}

fn unique_index(values: &[f64]) -> (Vec<f64>, Vec<u32>) {
    let mut order: Vec<u32> = (0..values.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| values[a as usize].total_cmp(&values[b as usize]));
    let mut uniq: Vec<f64> = Vec::new();
    let mut idx = vec![0u32; values.len()];
    for &o in &order {
        let v = values[o as usize];
        if uniq
            .last()
            .is_none_or(|&last| last.to_bits() != v.to_bits())
        {
            uniq.push(v);
        }
        idx[o as usize] = (uniq.len() - 1) as u32;
    }
    (uniq, idx)
}

fn check_magnitudes(m: &[f64]) -> Result<()> {
    check_finite("m (magnitudes)", m)?;
    if let Some(index) = m.iter().position(|&v| v < 0.0) {
        return Err(Error::NegativeMagnitude {
            index,
            value: m[index],
        });
    }
    Ok(())
}

fn strictly_increasing(v: &[f64]) -> bool {
    v.windows(2).all(|w| w[0] < w[1])
}

impl TfPoints {
    /// Builds a point set from times (s), frequencies (Hz) and magnitudes (≥ 0).
    ///
    /// Rejects empty input, arrays of different lengths, non-finite values and negative
    /// magnitudes, each with an error naming the value.
    pub fn new(t: Vec<f64>, f: Vec<f64>, m: Vec<f64>) -> Result<Self> {
        if t.is_empty() {
            return Err(Error::Empty { what: "point set" });
        }
        for (name, len) in [("f (frequencies)", f.len()), ("m (magnitudes)", m.len())] {
            if len != t.len() {
                return Err(Error::LengthMismatch {
                    what: format!("{name} vs t (times)"),
                    expected: t.len(),
                    got: len,
                });
            }
        }
        if t.len() > u32::MAX as usize {
            return Err(Error::param(
                "number of points",
                t.len(),
                "at most 2^32 - 1",
            ));
        }
        check_finite("t (times)", &t)?;
        check_finite("f (frequencies)", &f)?;
        check_magnitudes(&m)?;
        let (freqs, fi) = unique_index(&f);
        let (times, ti) = unique_index(&t);
        let grid = detect_grid(&fi, &ti, freqs.len(), times.len());
        Ok(TfPoints {
            m,
            freqs,
            times,
            layout: Layout::Cloud { t, f, fi, ti, grid },
            lazy: Lazy::default(),
        })
    }

    /// Builds the full grid `freqs × times` from a row-major `freqs.len() × times.len()` matrix.
    pub fn from_grid(freqs: &[f64], times: &[f64], mag: &[f64]) -> Result<Self> {
        Self::from_grid_owned(freqs.to_vec(), times.to_vec(), mag.to_vec())
    }

    /// [`from_grid`](Self::from_grid) taking ownership of the matrix (no copy). With strictly
    /// increasing axes the set is stored as the matrix and the two axes (see the module docs).
    pub fn from_grid_owned(freqs: Vec<f64>, times: Vec<f64>, mag: Vec<f64>) -> Result<Self> {
        let (nf, nt) = (freqs.len(), times.len());
        if nf.checked_mul(nt) != Some(mag.len()) {
            return Err(Error::LengthMismatch {
                what: "magnitude matrix vs freqs × times".into(),
                expected: nf.saturating_mul(nt),
                got: mag.len(),
            });
        }
        if mag.is_empty() {
            return Err(Error::Empty { what: "point set" });
        }
        if mag.len() > u32::MAX as usize {
            return Err(Error::param(
                "number of points",
                mag.len(),
                "at most 2^32 - 1",
            ));
        }
        check_finite("f (frequencies)", &freqs)?;
        check_finite("t (times)", &times)?;
        if !(strictly_increasing(&freqs) && strictly_increasing(&times)) {
            // repeated or unordered axes: the general path sorts out what the points are
            let mut t = Vec::with_capacity(nf * nt);
            let mut f = Vec::with_capacity(nf * nt);
            for &fv in &freqs {
                for &tv in &times {
                    f.push(fv);
                    t.push(tv);
                }
            }
            return TfPoints::new(t, f, mag);
        }
        check_magnitudes(&mag)?;
        Ok(TfPoints {
            m: mag,
            freqs,
            times,
            layout: Layout::RowMajor,
            lazy: Lazy::default(),
        })
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.m.len()
    }

    /// Always false: a `TfPoints` holds at least one point.
    pub fn is_empty(&self) -> bool {
        self.m.is_empty()
    }

    /// True when point `i` is cell `(i / n_times, i % n_times)` of the full grid (so no per-point
    /// coordinates are stored; see [`grid`](Self::grid) for the general grid map).
    pub fn is_row_major_grid(&self) -> bool {
        matches!(self.layout, Layout::RowMajor)
    }

    /// Times in seconds, one per point.
    pub fn t(&self) -> &[f64] {
        match &self.layout {
            Layout::Cloud { t, .. } => t,
            Layout::RowMajor => self.lazy.t.get_or_init(|| {
                let mut v = Vec::with_capacity(self.len());
                for _ in 0..self.freqs.len() {
                    v.extend_from_slice(&self.times);
                }
                v
            }),
        }
    }

    /// Frequencies in Hz, one per point.
    pub fn f(&self) -> &[f64] {
        match &self.layout {
            Layout::Cloud { f, .. } => f,
            Layout::RowMajor => self.lazy.f.get_or_init(|| {
                let nt = self.times.len();
                self.freqs
                    .iter()
                    .flat_map(|&v| std::iter::repeat_n(v, nt))
                    .collect()
            }),
        }
    }

    /// Magnitudes, one per point.
    pub fn m(&self) -> &[f64] {
        &self.m
    }

    /// Sorted distinct frequencies.
    pub fn unique_freqs(&self) -> &[f64] {
        &self.freqs
    }

    /// Sorted distinct times.
    pub fn unique_times(&self) -> &[f64] {
        &self.times
    }

    /// Per point, the index of its frequency in [`unique_freqs`](Self::unique_freqs).
    pub fn freq_index(&self) -> &[u32] {
        match &self.layout {
            Layout::Cloud { fi, .. } => fi,
            Layout::RowMajor => self.lazy.fi.get_or_init(|| {
                let nt = self.times.len();
                (0..self.freqs.len() as u32)
                    .flat_map(|v| std::iter::repeat_n(v, nt))
                    .collect()
            }),
        }
    }

    /// Per point, the index of its time in [`unique_times`](Self::unique_times).
    pub fn time_index(&self) -> &[u32] {
        match &self.layout {
            Layout::Cloud { ti, .. } => ti,
            Layout::RowMajor => self.lazy.ti.get_or_init(|| {
                let nt = self.times.len() as u32;
                (0..self.freqs.len()).flat_map(|_| 0..nt).collect()
            }),
        }
    }

    /// Frequency and time index of point `i`.
    #[inline]
    pub fn cell_of(&self, i: usize) -> (usize, usize) {
        match &self.layout {
            Layout::Cloud { fi, ti, .. } => (fi[i] as usize, ti[i] as usize),
            Layout::RowMajor => (i / self.times.len(), i % self.times.len()),
        }
    }

    /// The dense layout when every (frequency, time) pair occurs exactly once.
    pub fn grid(&self) -> Option<&Grid> {
        match &self.layout {
            Layout::Cloud { grid, .. } => grid.as_ref(),
            Layout::RowMajor => Some(self.lazy.grid.get_or_init(|| Grid {
                cell_to_point: (0..self.len() as u32).collect(),
            })),
        }
    }

    /// The magnitudes in row-major (frequency, time) cell order when the points fill one grid:
    /// borrowed when they are stored in that order (an STFT's point set: no copy, no grid map),
    /// gathered through [`grid`](Self::grid) otherwise; `None` when they are not a grid.
    pub fn grid_values(&self) -> Option<std::borrow::Cow<'_, [f64]>> {
        if self.is_row_major_grid() {
            return Some(std::borrow::Cow::Borrowed(&self.m));
        }
        let grid = self.grid()?;
        Some(std::borrow::Cow::Owned(
            grid.cell_to_point
                .iter()
                .map(|&i| self.m[i as usize])
                .collect(),
        ))
    }

    /// Returns a copy with every magnitude raised to `p` (the paper compresses with p = 0.5).
    pub fn powered(&self, p: f64) -> Result<Self> {
        self.clone().into_powered(p)
    }

    /// [`powered`](Self::powered) in place, without a copy.
    pub fn into_powered(mut self, p: f64) -> Result<Self> {
        if !(p.is_finite() && p > 0.0) {
            return Err(Error::param("p (magnitude power)", p, "a finite value > 0"));
        }
        if p != 1.0 {
            // a finite magnitude can overflow when raised (1e200 squared): refuse, naming the
            // largest (magnitudes are >= 0, so it overflows first), rather than hand on infinity
            let top = self.m.iter().copied().fold(0.0, f64::max);
            if !top.powf(p).is_finite() {
                return Err(Error::param(
                    "power",
                    p,
                    format!("a power at which every magnitude stays finite: {top:e}^{p} overflows"),
                ));
            }
            self.m.iter_mut().for_each(|v| *v = v.powf(p));
        }
        Ok(self)
    }

    /// Concatenates point sets, shifting the times of set `j` by `shifts[j]` seconds.
    pub fn concat(parts: &[&TfPoints], shifts: &[f64]) -> Result<Self> {
        if parts.len() != shifts.len() {
            return Err(Error::LengthMismatch {
                what: "time shifts vs point sets".into(),
                expected: parts.len(),
                got: shifts.len(),
            });
        }
        let (mut t, mut f, mut m) = (Vec::new(), Vec::new(), Vec::new());
        for (p, &s) in parts.iter().zip(shifts) {
            t.extend(p.t().iter().map(|&v| v + s));
            f.extend_from_slice(p.f());
            m.extend_from_slice(&p.m);
        }
        TfPoints::new(t, f, m)
    }

    /// Frequency range `(min, max)` in Hz.
    pub fn freq_range(&self) -> (f64, f64) {
        (self.freqs[0], self.freqs[self.freqs.len() - 1])
    }

    /// Time range `(min, max)` in seconds.
    pub fn time_range(&self) -> (f64, f64) {
        (self.times[0], self.times[self.times.len() - 1])
    }

    /// Reads a point set from `.npz` (arrays `t`, `f`, `m`) or `.csv` (columns `t`, `f`, `m`).
    pub fn read(path: &Path) -> Result<Self> {
        Self::from_bytes(&io::read_bytes(path)?, path)
    }

    /// Parses a point set held in memory, `.npz` or `.csv` as `path`'s extension says (as
    /// [`TfPoints::read`]); `path` names errors.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let (t, f, m) = match ext.as_str() {
            "npz" => {
                let arrays = io::parse_npz(bytes, path)?;
                let get = |n| io::npz_get(&arrays, n, path).map(|a| a.data.clone());
                (get("t")?, get("f")?, get("m")?)
            }
            "csv" => {
                let (names, cols) = io::parse_csv(bytes, path)?;
                let col = |n: &str| {
                    names
                        .iter()
                        .position(|c| c == n)
                        .map(|i| cols[i].clone())
                        .ok_or_else(|| {
                            Error::format(path, format!("no column '{n}' (found {names:?})"))
                        })
                };
                (col("t")?, col("f")?, col("m")?)
            }
            _ => {
                return Err(Error::format(
                    path,
                    "point sets are read from .npz (arrays t, f, m) or .csv (columns t,f,m)",
                ))
            }
        };
        TfPoints::new(t, f, m).map_err(|e| Error::format(path, e))
    }

    /// Writes the point set as `.npz` (arrays `t`, `f`, `m`, f64) or `.csv`, by extension.
    pub fn write(&self, path: &Path) -> Result<()> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "npz" => io::write_npz(
                path,
                &[
                    ("t", &NdArray::vector(self.t().to_vec())),
                    ("f", &NdArray::vector(self.f().to_vec())),
                    ("m", &NdArray::vector(self.m.clone())),
                ],
                false,
            ),
            "csv" => io::write_csv(path, &["t", "f", "m"], &[self.t(), self.f(), &self.m]),
            _ => Err(Error::format(path, "write point sets as .npz or .csv")),
        }
    }
}

fn detect_grid(fi: &[u32], ti: &[u32], nf: usize, nt: usize) -> Option<Grid> {
    if nf.checked_mul(nt)? != fi.len() {
        return None;
    }
    let mut cell_to_point = vec![u32::MAX; nf * nt];
    for (p, (&f, &t)) in fi.iter().zip(ti).enumerate() {
        let c = f as usize * nt + t as usize;
        if cell_to_point[c] != u32::MAX {
            return None;
        }
        cell_to_point[c] = p as u32;
    }
    Some(Grid { cell_to_point })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_input_with_typed_errors() {
        assert!(matches!(
            TfPoints::new(vec![], vec![], vec![]),
            Err(Error::Empty { .. })
        ));
        assert!(matches!(
            TfPoints::new(vec![0.0, 1.0], vec![1.0], vec![1.0, 1.0]),
            Err(Error::LengthMismatch {
                expected: 2,
                got: 1,
                ..
            })
        ));
        assert!(matches!(
            TfPoints::new(vec![0.0], vec![f64::NAN], vec![1.0]),
            Err(Error::NonFinite { index: 0, .. })
        ));
        let e = TfPoints::new(vec![0.0, 1.0], vec![1.0, 2.0], vec![1.0, -0.5]).unwrap_err();
        assert!(matches!(e, Error::NegativeMagnitude { index: 1, .. }));
        assert!(e.to_string().contains("-0.5"));
        // a power that overflows a finite magnitude (a float WAV of 1e200 at --power 2)
        let big = TfPoints::new(vec![0.0, 1.0], vec![1.0, 2.0], vec![1.0, 1e200]).unwrap();
        let e = big.powered(2.0).unwrap_err().to_string();
        assert!(e.contains("power") && e.contains("1e200"), "{e}");
        assert!(big.powered(0.5).is_ok());
    }

    #[test]
    fn unique_index_and_grid_detection() {
        let p = TfPoints::from_grid(&[10.0, 20.0, 30.0], &[0.5, 0.1], &[1., 2., 3., 4., 5., 6.])
            .unwrap();
        assert_eq!(p.unique_freqs(), &[10.0, 20.0, 30.0]);
        assert_eq!(p.unique_times(), &[0.1, 0.5]);
        let g = p.grid().expect("full grid");
        // cell (f=1, t=0) is time 0.1 at 20 Hz: point index 3 (row-major input 20 Hz, 0.1 s)
        assert_eq!(g.cell_to_point[2], 3);
        for i in 0..p.len() {
            assert_eq!(p.unique_freqs()[p.freq_index()[i] as usize], p.f()[i]);
            assert_eq!(p.unique_times()[p.time_index()[i] as usize], p.t()[i]);
        }
        // a cloud with a repeated cell or a missing cell is not a grid
        let cloud = TfPoints::new(vec![0.0, 0.0, 1.0], vec![5.0, 6.0, 5.0], vec![1.0; 3]).unwrap();
        assert!(cloud.grid().is_none());
        let dup = TfPoints::new(vec![0.0, 0.0], vec![5.0, 5.0], vec![1.0; 2]).unwrap();
        assert!(dup.grid().is_none());
    }

    #[test]
    fn row_major_grids_store_only_magnitudes_and_agree_with_the_general_path() {
        let (freqs, times) = ([10.0, 20.0, 30.0], [0.1, 0.5]);
        let mag = [1., 2., 3., 4., 5., 6.];
        let p = TfPoints::from_grid(&freqs, &times, &mag).unwrap();
        assert!(p.is_row_major_grid());
        let mut t = vec![];
        let mut f = vec![];
        for &fv in &freqs {
            for &tv in &times {
                f.push(fv);
                t.push(tv);
            }
        }
        let general = TfPoints::new(t.clone(), f.clone(), mag.to_vec()).unwrap();
        assert!(!general.is_row_major_grid());
        assert_eq!(p, general);
        assert_eq!(p.t(), &t[..]);
        assert_eq!(p.f(), &f[..]);
        assert_eq!(p.freq_index(), general.freq_index());
        assert_eq!(p.time_index(), general.time_index());
        assert_eq!(p.grid(), general.grid());
        for i in 0..p.len() {
            assert_eq!(p.cell_of(i), general.cell_of(i));
        }
        // the cell-order magnitudes: borrowed from a row-major grid, gathered from a cloud
        let (pv, gv) = (p.grid_values().unwrap(), general.grid_values().unwrap());
        assert!(matches!(pv, std::borrow::Cow::Borrowed(_)));
        assert_eq!(pv, gv);
        let shuffled = TfPoints::new(
            t.iter().rev().copied().collect(),
            f.iter().rev().copied().collect(),
            mag.iter().rev().copied().collect(),
        )
        .unwrap();
        assert_eq!(shuffled.grid_values().unwrap(), pv);
        let cloud = TfPoints::new(vec![0.0, 0.0, 1.0], vec![5.0, 6.0, 5.0], vec![1.0; 3]).unwrap();
        assert!(cloud.grid_values().is_none());
        // unsorted or repeated axes take the general path; errors name the value
        let q = TfPoints::from_grid(&[20.0, 10.0], &[0.0], &[1.0, 2.0]).unwrap();
        assert!(!q.is_row_major_grid() && q.grid().is_some());
        assert_eq!(q.unique_freqs(), &[10.0, 20.0]);
        let e = TfPoints::from_grid(&[1.0], &[0.0, 1.0], &[1.0, -2.0]).unwrap_err();
        assert!(matches!(e, Error::NegativeMagnitude { index: 1, .. }));
        assert!(TfPoints::from_grid(&[1.0], &[0.0], &[]).is_err());
        let pw = p.powered(0.5).unwrap();
        assert!(pw.is_row_major_grid() && (pw.m()[3] - 2.0).abs() < 1e-15);
    }

    #[test]
    fn concat_shifts_times() {
        let a = TfPoints::new(vec![0.0, 1.0], vec![1.0, 1.0], vec![1.0, 2.0]).unwrap();
        let c = TfPoints::concat(&[&a, &a], &[0.0, 2.0]).unwrap();
        assert_eq!(c.t(), &[0.0, 1.0, 2.0, 3.0]);
        assert_eq!(c.unique_freqs(), &[1.0]);
        assert!(c.grid().is_some());
    }

    #[test]
    fn file_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let a = TfPoints::new(vec![0.0, 0.25], vec![100.0, 200.0], vec![1.0, 0.0]).unwrap();
        for name in ["p.npz", "p.csv"] {
            let path = dir.path().join(name);
            a.write(&path).unwrap();
            assert_eq!(TfPoints::read(&path).unwrap(), a);
        }
        assert!(TfPoints::read(&dir.path().join("p.txt")).is_err());
    }
}
