//! The point-by-point pass of [`Trainer`]: on a cloud, or a random subset of a grid, each
//! selected point's `m̂_i = Σ_k W[k, fᵢ]·H[k, tᵢ]` is gathered and the gradients scatter-added.

use super::{pointwise_f32, Trainer};
use crate::points::TfPoints;
use rayon::prelude::*;

impl Trainer<'_> {
    pub(super) fn gather_pass(&mut self, subset: Option<&[u32]>, grads: bool) -> f64 {
        let (k, nf, nt) = (self.k, self.nf, self.nt);
        for c in 0..k {
            for f in 0..nf {
                self.wt[f * k + c] = self.wv[c * nf + f];
            }
            for t in 0..nt {
                self.ht[t * k + c] = self.hv[c * nt + t];
            }
        }
        let n_sel = subset.map_or(self.points.len(), |s| s.len());
        let norm = match (&self.weight, subset) {
            (Some(w), Some(s)) => s.iter().map(|&i| w[i as usize] as f64).sum::<f64>(),
            (Some(w), None) => w.iter().map(|&v| v as f64).sum::<f64>(),
            (None, _) => n_sel as f64,
        }
        .max(f64::MIN_POSITIVE);
        let gb = &mut self.gather;
        if gb.g.len() < n_sel {
            gb.g.resize(n_sel, 0.0);
            gb.x.resize(n_sel, 0.0);
        }
        let div = self.div;
        let points = self.points;
        let cells = Cells::of(points);
        let m = points.m();
        let (wt, ht, weight) = (&self.wt, &self.ht, self.weight.as_deref());
        let level = self.level;
        const CHUNK: usize = 4096;
        let (gbuf, xbuf) = (&mut gb.g[..n_sel], &mut gb.x[..n_sel]);
        let loss: f64 = gbuf
            .par_chunks_mut(CHUNK)
            .zip(xbuf.par_chunks_mut(CHUNK))
            .enumerate()
            .map(|(b, (y, x))| {
                let j0 = b * CHUNK;
                // gather the estimate and target of each selected point (y becomes the gradient)
                cells.walk(subset, j0..j0 + y.len(), |o, i, f, t| {
                    let (f, t) = (f * k, t * k);
                    let mut acc = 0.0f32;
                    for c in 0..k {
                        acc += wt[f + c] * ht[t + c];
                    }
                    y[o] = acc;
                    x[o] = m[i] as f32;
                });
                let w = weight.map(|ws| {
                    // weights gathered here, into a per-chunk vector (weighted fits only)
                    (j0..j0 + y.len())
                        .map(|j| ws[subset.map_or(j, |s| s[j] as usize)])
                        .collect::<Vec<f32>>()
                });
                pointwise_f32(level, &div, x, y, w.as_deref(), norm, grads)
            })
            .sum();
        if grads {
            let g = &gb.g[..n_sel];
            let (wv, hv) = (&self.wv, &self.hv);
            let w_frozen = self.w_frozen_values;
            self.dwv
                .par_chunks_mut(nf)
                .zip(self.dhv.par_chunks_mut(nt))
                .enumerate()
                .for_each(|(c, (dw, dh))| {
                    let (wc, hc) = (&wv[c * nf..(c + 1) * nf], &hv[c * nt..(c + 1) * nt]);
                    dw.fill(0.0);
                    dh.fill(0.0);
                    cells.walk(subset, 0..g.len(), |j, _, f, t| {
                        let gj = g[j];
                        if !w_frozen {
                            dw[f] += gj * hc[t];
                        }
                        dh[t] += gj * wc[f];
                    });
                });
        }
        loss / norm
    }
}

/// The (frequency, time) index of points, without per-point indices on row-major grids.
#[derive(Clone, Copy)]
enum Cells<'a> {
    Index { fi: &'a [u32], ti: &'a [u32] },
    RowMajor { nt: usize },
}

impl<'a> Cells<'a> {
    fn of(points: &'a TfPoints) -> Self {
        if points.is_row_major_grid() {
            Cells::RowMajor {
                nt: points.unique_times().len(),
            }
        } else {
            Cells::Index {
                fi: points.freq_index(),
                ti: points.time_index(),
            }
        }
    }

    /// Calls `f(j − range.start, point, freq index, time index)` for the selected points `j` in
    /// `range` (point `subset[j]`, or `j` without a subset), in order.
    #[inline]
    fn walk(
        self,
        subset: Option<&[u32]>,
        range: std::ops::Range<usize>,
        mut f: impl FnMut(usize, usize, usize, usize),
    ) {
        let point = |j: usize| subset.map_or(j, |s| s[j] as usize);
        match self {
            Cells::Index { fi, ti } => {
                for (o, j) in range.enumerate() {
                    let i = point(j);
                    f(o, i, fi[i] as usize, ti[i] as usize);
                }
            }
            Cells::RowMajor { nt } => {
                if range.is_empty() {
                    return;
                }
                // ascending points (the usual subsets): advance (row, column) by the gap,
                // dividing only across rows; a step back (any order is allowed) divides afresh
                let first = point(range.start);
                let (mut row, mut col, mut prev) = (first / nt, first % nt, first);
                for (o, j) in range.enumerate() {
                    let i = point(j);
                    if i >= prev {
                        col += i - prev;
                        if col >= nt {
                            row += col / nt;
                            col %= nt;
                        }
                    } else {
                        (row, col) = (i / nt, i % nt);
                    }
                    prev = i;
                    f(o, i, row, col);
                }
            }
        }
    }
}
