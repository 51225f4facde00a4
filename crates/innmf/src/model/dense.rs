//! The full-grid pass of [`Trainer`]: `V̂ = Wᵀ·H` with one matrix product and the gradients
//! with two more, either over the whole grid ([`Trainer::dense_pass`]) or, for a network W
//! trained on every cell, frequency block by frequency block
//! ([`Trainer::dense_rows_pass`]), so that W's activations stay in cache between its forward
//! and backward passes.

use super::{
    kernels, kl_dense_terms, kl_fast, kl_sum_terms, pointwise, Factor, FactorWorkspace, LossCarry,
    Trainer,
};
use crate::field::RowBlock;
use rayon::prelude::*;

/// The loss's chunks divide blocks of this many rows (the networks' kernel blocks when the
/// row-block pass was made; the chunks, so the loss's bits, have not moved since).
const CHUNK_UNIT: usize = 96;

/// Rows of a loss task: about 16k cells, at least one row, and a divisor of [`CHUNK_UNIT`],
/// so that both passes cut the grid into the same chunks (the KL sums of a chunk run in f32
/// lanes: other cuts move the loss's last bits) and add their sums in the same order.
fn chunk_rows(nt: usize) -> usize {
    let max = (16384 / nt.max(1)).max(1);
    (1..=CHUNK_UNIT)
        .rev()
        .find(|d| CHUNK_UNIT.is_multiple_of(*d) && *d <= max)
        .unwrap_or(1)
}

/// Rows the row-block pass aims at per block: W's activations of all K = 20 networks
/// (h = 64, three sine layers) over 32 rows are about 1 MB, the second-level cache of a core of
/// the AMD EPYC we measure on, so that a block's forward pass is still there for its backward
/// pass on one thread. 96-row blocks (3 MB) made a preset's template fit (2001 × 20 cells) on
/// one thread 1.3× slower (16.2–18 s against 10.7–12.6 s for 300 steps, alternated).
const BLOCK_TARGET: usize = 32;

/// Rows per block of the row-block pass with loss chunks of `chunk` rows (a divisor of
/// [`CHUNK_UNIT`]): whole chunks when they are small (`chunk · ⌊32/chunk⌋`), else a whole
/// fraction of one chunk carried to the next block ([`LossCarry`]; 32 of 96, whole lane groups
/// since 32 rows are a multiple of 16 cells), else (48) one chunk.
fn block_rows(chunk: usize) -> usize {
    if chunk <= BLOCK_TARGET {
        chunk * (BLOCK_TARGET / chunk)
    } else if chunk.is_multiple_of(BLOCK_TARGET) {
        BLOCK_TARGET
    } else {
        chunk
    }
}

impl Trainer<'_> {
    /// The loss on every cell of the grid from W's and H's current values and, with `grads`,
    /// `∂loss/∂W` and `∂loss/∂H` in `dwv` and `dhv` (`[K, F]`, `[K, T]`).
    pub(super) fn dense_pass(&mut self, grads: bool) -> f64 {
        let (k, nf, nt) = (self.k, self.nf, self.nt);
        let d = self.dense.as_mut().expect("dense buffers");
        // W stored [K, F]; the row blocks of V̂ = Wᵀ·H need Wᵀ as [F, K]
        for c in 0..k {
            for f in 0..nf {
                d.wt[f * k + c] = self.wv[c * nf + f];
            }
        }
        let norm = match &d.weight {
            Some(w) => w.iter().map(|&v| v as f64).sum::<f64>(),
            None => (nf * nt) as f64,
        };
        let div = self.div;
        let rows = chunk_rows(nt);
        let hv = &self.hv;
        let wt = &d.wt;
        let weight = d.weight.as_deref();
        let target: &[f32] = &d.target;
        let level = self.level;
        let sums: Vec<f64> = d
            .vhat
            .par_chunks_mut(rows * nt)
            .zip(target.par_chunks(rows * nt))
            .enumerate()
            .map(|(b, (vh, x))| {
                let r0 = b * rows;
                let nr = vh.len() / nt;
                kernels::gemm(
                    level,
                    vh,
                    &wt[r0 * k..(r0 + nr) * k],
                    hv,
                    nr,
                    k,
                    nt,
                    false,
                    false,
                );
                let w = weight.map(|w| &w[r0 * nt..r0 * nt + vh.len()]);
                pointwise(
                    level,
                    &div,
                    x,
                    vh,
                    w,
                    norm,
                    grads,
                    true,
                    &mut LossCarry::default(),
                    true,
                )
            })
            .collect();
        // the chunks' sums in order, whatever the threads
        let loss = sums.iter().sum::<f64>()
            + if kl_fast(&div, weight.is_some()) {
                d.kl_const
            } else {
                0.0
            };
        if grads {
            // Hᵀ as [T, K] (the right operand of ∂Wᵀ = G·Hᵀ)
            for c in 0..k {
                for t in 0..nt {
                    self.ht[t * k + c] = self.hv[c * nt + t];
                }
            }
            let g = &d.vhat;
            let (dwt, dhv, ht) = (&mut self.wt, &mut self.dhv, &self.ht);
            rayon::join(
                // ∂Wᵀ = G·Hᵀ : [F, T]·[T, K]
                || kernels::gemm(level, dwt, g, ht, nf, nt, k, false, false),
                // ∂H = W·G : [K, F]·[F, T], W as stored transposed ([F, K])
                || kernels::gemm(level, dhv, wt, g, k, nf, nt, true, false),
            );
            for c in 0..k {
                for f in 0..nf {
                    self.dwv[c * nf + f] = self.wt[f * k + c];
                }
            }
        }
        loss / norm
    }

    /// True when [`dense_rows_pass`](Self::dense_rows_pass) serves a step with gradients on
    /// every cell: a full grid, W a network evaluated exactly (no resampling grid) and trained.
    pub(super) fn rows_pass_applies(&self, model: &super::Model) -> bool {
        self.rows_pass
            && self.nf > 0
            && self.dense.is_some()
            && !self.w_frozen_values
            && self.w_eval.grid.is_none()
            && matches!(model.w, Factor::Implicit(_))
            && matches!(self.w_eval.ws, FactorWorkspace::Implicit(_))
    }

    /// [`dense_pass`](Self::dense_pass) with gradients, and W's forward and backward passes,
    /// block of frequencies by block: each frequency's ∂loss/∂W needs that frequency's row of V̂
    /// only, so a block's rows of `V̂ = Wᵀ·H`, of `G = ∂loss/∂V̂` and of `∂Wᵀ = G·Hᵀ` follow its
    /// forward pass and W's backward pass follows them while the activations are still in
    /// cache; `∂H = W·G` accumulates block by block (its products add the rows in order, as the
    /// one product over every row does). The loss and gradients are those of the whole-grid pass
    /// bit for bit (the same chunks, their sums added in order). H's values must be current.
    pub(super) fn dense_rows_pass(&mut self, model: &super::Model) -> f64 {
        let (k, nf, nt) = (self.k, self.nf, self.nt);
        let (Factor::Implicit(mlp), FactorWorkspace::Implicit(ws)) =
            (&model.w, &mut self.w_eval.ws)
        else {
            unreachable!("rows_pass_applies checked an implicit W");
        };
        let params = &mlp.params;
        let d = self.dense.as_mut().expect("dense buffers");
        let norm = match &d.weight {
            Some(w) => w.iter().map(|&v| v as f64).sum::<f64>(),
            None => (nf * nt) as f64,
        };
        // Hᵀ as [T, K] (the right operand of ∂Wᵀ = G·Hᵀ)
        for c in 0..k {
            for t in 0..nt {
                self.ht[t * k + c] = self.hv[c * nt + t];
            }
        }
        let (div, level) = (self.div, self.level);
        let chunk = chunk_rows(nt);
        let rows_per_block = block_rows(chunk);
        let mut sums: Vec<f64> = Vec::new();
        let mut carry = LossCarry::default();
        // the fused KL (no weights, β = 1): its terms computed in parallel, summed in order
        let fast = kl_fast(&div, d.weight.is_some());
        let (eps, inv) = (div.eps as f32, (1.0 / norm) as f32);
        let threads = rayon::current_num_threads().max(1);
        let mut terms = if fast {
            vec![0.0f32; rows_per_block * nt]
        } else {
            Vec::new()
        };
        // block i's activations in rows (i mod 2)·rows_per_block.. of W's buffers: block i + 1's
        // forward pass runs with block i's backward pass
        let block = |i: usize| {
            let r0 = i * rows_per_block;
            RowBlock {
                r0,
                nb: rows_per_block.min(nf - r0),
                ra: (i % 2) * rows_per_block,
            }
        };
        let blocks = nf.div_ceil(rows_per_block);
        ws.begin_rows(params, &mut self.grad_w);
        ws.forward_rows(params, block(0), &mut self.wv);
        for i in 0..blocks {
            let RowBlock { r0, nb, .. } = block(i);
            for f in r0..r0 + nb {
                for c in 0..k {
                    d.wt[f * k + c] = self.wv[c * nf + f];
                }
            }
            let cells = r0 * nt..(r0 + nb) * nt;
            let (wt, ht, hv) = (&d.wt, &self.ht, &self.hv);
            let weight = d.weight.as_deref();
            // rows q0..q0 + nr: V̂ = Wᵀ·H, G = ∂loss/∂V̂ over it, these rows of ∂Wᵀ = G·Hᵀ
            // ([F, T]·[T, K]); the loss continues `carry`, `last` when the rows end a chunk
            let piece = |q0: usize,
                         vh: &mut [f32],
                         x: &[f32],
                         dw: &mut [f32],
                         carry: &mut LossCarry,
                         last: bool| {
                let nr = vh.len() / nt;
                kernels::gemm(
                    level,
                    vh,
                    &wt[q0 * k..(q0 + nr) * k],
                    hv,
                    nr,
                    k,
                    nt,
                    false,
                    false,
                );
                let w = weight.map(|w| &w[q0 * nt..q0 * nt + vh.len()]);
                let loss = pointwise(level, &div, x, vh, w, norm, true, true, carry, last);
                kernels::gemm(level, dw, vh, ht, nr, nt, k, false, false);
                loss
            };
            let (vh, x, dw) = (
                &mut d.vhat[cells.clone()],
                &d.target[cells.clone()],
                &mut self.wt[r0 * k..(r0 + nb) * k],
            );
            if fast {
                // the products and each cell's KL term and gradient in parallel, cut by rows
                // whatever the chunks (every cell's arithmetic is its own), then the terms'
                // sums chunk by chunk in order, as `kl_block` adds them (`kl_sum_terms`)
                let per = nb.div_ceil(threads);
                vh.par_chunks_mut(per * nt)
                    .zip(x.par_chunks(per * nt))
                    .zip(dw.par_chunks_mut(per * k))
                    .zip(terms[..nb * nt].par_chunks_mut(per * nt))
                    .enumerate()
                    .for_each(|(b, (((vh, x), dw), tm))| {
                        let (q0, nr) = (r0 + b * per, vh.len() / nt);
                        let w_rows = &wt[q0 * k..(q0 + nr) * k];
                        kernels::gemm(level, vh, w_rows, hv, nr, k, nt, false, false);
                        kl_dense_terms(level, x, vh, eps, inv, tm);
                        kernels::gemm(level, dw, vh, ht, nr, nt, k, false, false);
                    });
                let mut q = r0;
                while q < r0 + nb {
                    let end = ((q / chunk + 1) * chunk).min(r0 + nb);
                    let last = end.is_multiple_of(chunk) || end == nf;
                    kl_sum_terms(&terms[(q - r0) * nt..(end - r0) * nt], &mut carry, last);
                    if last {
                        sums.push(carry.sum());
                        carry = LossCarry::default();
                    }
                    q = end;
                }
            } else if rows_per_block.is_multiple_of(chunk) {
                // whole chunks, in parallel
                let block_sums: Vec<f64> = vh
                    .par_chunks_mut(chunk * nt)
                    .zip(x.par_chunks(chunk * nt))
                    .zip(dw.par_chunks_mut(chunk * k))
                    .enumerate()
                    .map(|(b, ((vh, x), dw))| {
                        piece(r0 + b * chunk, vh, x, dw, &mut LossCarry::default(), true)
                    })
                    .collect();
                sums.extend(block_sums);
            } else {
                // a part of one chunk: its sum carried to the chunk's last block
                let end = r0 + nb;
                let last = end.is_multiple_of(chunk) || end == nf;
                piece(r0, vh, x, dw, &mut carry, last);
                if last {
                    sums.push(carry.sum());
                    carry = LossCarry::default();
                }
            }
            for c in 0..k {
                for f in r0..r0 + nb {
                    self.dwv[c * nf + f] = self.wt[f * k + c];
                }
            }
            let (g, wt_block) = (&d.vhat[cells], &d.wt[r0 * k..(r0 + nb) * k]);
            let (dhv, dwv, grad_w, wv) = (&mut self.dhv, &self.dwv, &mut self.grad_w, &mut self.wv);
            let next = (i + 1 < blocks).then(|| block(i + 1));
            rayon::join(
                // ∂H (+)= W·G over these rows : [K, F]·[F, T], W as stored transposed ([F, K])
                || kernels::gemm(level, dhv, wt_block, g, k, nb, nt, true, r0 > 0),
                || ws.backward_forward_rows(params, dwv, block(i), grad_w, next, wv),
            );
        }
        ws.end_rows(params, &mut self.grad_w);
        let loss = sums.iter().sum::<f64>()
            + if kl_fast(&div, d.weight.is_some()) {
                d.kl_const
            } else {
                0.0
            };
        loss / norm
    }
}

#[cfg(test)]
mod tests {
    use super::{block_rows, chunk_rows, CHUNK_UNIT};
    use crate::divergence::Divergence;
    use crate::simd::Level;
    use crate::{FactorKind, Model, ModelSpec, TfPoints, Trainer};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// 450 frequencies × `nt` times: whole blocks of the row-block pass and a shorter one, so
    /// both activation slots are used and reused.
    fn grid(seed: u64, nt: usize) -> TfPoints {
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        let freqs: Vec<f64> = (0..450).map(|i| i as f64 * 16.0).collect();
        let times: Vec<f64> = (0..nt).map(|i| i as f64 * 0.05).collect();
        let mag: Vec<f64> = (0..450 * nt).map(|_| r.random_range(0.0..2.0)).collect();
        TfPoints::from_grid(&freqs, &times, &mag).unwrap()
    }

    /// The terms computed apart and summed in pieces (`kl_dense_terms`, `kl_sum_terms`) give
    /// the fused KL's loss and gradients (`kl_dense` over the whole chunk) bit for bit: a chunk
    /// of 2213 cells (two flushes of the lanes and a 5-cell tail) in pieces of 512, 1024 and the
    /// rest, carried, at every SIMD level.
    #[test]
    fn kl_terms_summed_in_pieces_match_the_fused_pass() {
        use crate::model::loss::{kl_dense, kl_dense_terms, kl_sum_terms, LossCarry};
        let mut r = ChaCha8Rng::seed_from_u64(9);
        let n = 2213;
        let x: Vec<f32> = (0..n).map(|_| r.random_range(0.0f32..2.0)).collect();
        let y: Vec<f32> = (0..n).map(|_| r.random_range(0.01f32..2.0)).collect();
        let (eps, inv) = (1e-8f32, 1.0 / n as f32);
        for level in [Level::Scalar, crate::simd::level()] {
            let mut fused = y.clone();
            let mut carry = LossCarry::default();
            let whole = kl_dense(level, &x, &mut fused, eps, inv, true, &mut carry, true);
            let mut split = y.clone();
            let mut terms = vec![0.0f32; n];
            kl_dense_terms(level, &x, &mut split, eps, inv, &mut terms);
            let mut carry = LossCarry::default();
            let mut sum = 0.0;
            for (a, b) in [(0, 512), (512, 1536), (1536, n)] {
                sum = kl_sum_terms(&terms[a..b], &mut carry, b == n);
            }
            assert_eq!(
                whole.to_bits(),
                sum.to_bits(),
                "{level:?}: {whole} vs {sum}"
            );
            assert_eq!(bits(&fused), bits(&split), "{level:?}");
        }
    }

    #[test]
    fn blocks_hold_whole_chunks_or_whole_lane_groups_of_one() {
        for nt in 1..=20_000 {
            let (c, b) = (chunk_rows(nt), block_rows(chunk_rows(nt)));
            assert!(
                CHUNK_UNIT.is_multiple_of(c) && (16_384 / nt).max(1) >= c,
                "nt {nt}"
            );
            assert!(b.is_multiple_of(c) || (c.is_multiple_of(b) && (b * nt) % 16 == 0));
            assert!((16..=96).contains(&b) || b == c, "nt {nt}: {b} rows");
        }
        // the three kinds: whole chunks (16-row chunks, two a block), a third of a 96-row
        // chunk carried over three blocks, one 48-row chunk
        assert_eq!((chunk_rows(700), block_rows(16)), (16, 32));
        assert_eq!((chunk_rows(20), block_rows(96)), (96, 32));
        assert_eq!((chunk_rows(319), block_rows(48)), (48, 48));
    }

    fn model(points: &TfPoints, h: FactorKind, depth: usize) -> Model {
        let mut spec = ModelSpec::new(3);
        spec.width = 24;
        spec.depth = depth;
        spec.h = h;
        spec.build(points, &mut ChaCha8Rng::seed_from_u64(5))
            .unwrap()
    }

    /// One step's loss, gradients and values with the row-block pass on or off.
    fn step(
        points: &TfPoints,
        m: &Model,
        weights: Option<&[f64]>,
        level: Level,
        rows: bool,
    ) -> (f64, [Vec<u32>; 4]) {
        let mut tr = Trainer::new(m, points, Divergence::kl(), weights).unwrap();
        tr.set_level(level);
        tr.rows_pass = rows;
        assert_eq!(tr.rows_pass_applies(m), rows);
        let loss = tr.loss_and_grad(m, None, true);
        let out = [
            bits(&tr.grad_w),
            bits(&tr.grad_h),
            bits(tr.w_values()),
            bits(tr.h_values()),
        ];
        (loss, out)
    }

    /// Every kind of block (see `block_rows`): 23 times (96-row chunks, a third of one per
    /// block, carried), 319 (48-row chunks, one per block) and 700 (16-row chunks, two per
    /// block); 450 rows end each with a shorter block and a shorter chunk.
    #[test]
    fn row_block_pass_gives_the_whole_grid_pass_bits() {
        for nt in [23, 319, 700] {
            row_block_pass_matches(nt);
        }
    }

    fn row_block_pass_matches(nt: usize) {
        let points = grid(1, nt);
        let mut r = ChaCha8Rng::seed_from_u64(2);
        let weights: Vec<f64> = (0..points.len())
            .map(|_| r.random_range(0.0..3.0))
            .collect();
        let kinds = if nt == 23 {
            &[
                (FactorKind::Explicit, 3),
                (FactorKind::Implicit, 3),
                (FactorKind::Explicit, 1),
                (FactorKind::Explicit, 0),
            ][..]
        } else {
            &[(FactorKind::Explicit, 3)][..]
        };
        for &(h, depth) in kinds {
            let m = model(&points, h, depth);
            for w in [None, Some(&weights[..])] {
                for level in [Level::Scalar, crate::simd::level()] {
                    let (l0, whole) = step(&points, &m, w, level, false);
                    let (l1, rows) = step(&points, &m, w, level, true);
                    assert_eq!(
                        whole,
                        rows,
                        "{nt} times, {h:?} depth {depth} weighted {}",
                        w.is_some()
                    );
                    assert_eq!(l0.to_bits(), l1.to_bits(), "{l0} vs {l1}");
                }
            }
        }
    }

    #[test]
    fn row_block_pass_marks_a_diverged_network() {
        let points = grid(3, 23);
        let mut m = model(&points, FactorKind::Explicit, 3);
        if let crate::field::Factor::Implicit(mlp) = &mut m.w {
            mlp.params.iter_mut().for_each(|p| *p *= 1e6);
        }
        let mut tr = Trainer::new(&m, &points, Divergence::kl(), None).unwrap();
        assert!(tr.rows_pass_applies(&m));
        assert!(tr.loss_and_grad(&m, None, true).is_nan());
    }
}

/// Run by hand (`cargo test --release -p innmf --lib rows_pass_timing -- --ignored --nocapture`):
/// the `stft-fit` workload's step (20 s at 16 kHz synthesized, 1001 × 319, K = 20, h = 64) with
/// the row-block pass and with the whole-grid pass, alternating step by step so that both see
/// the same machine; medians of each.
#[cfg(test)]
mod timing {
    use crate::bench::{fit_workload, synthesized, Workload};
    use crate::Trainer;
    use std::time::Instant;

    #[test]
    #[ignore]
    fn rows_pass_timing() {
        let x = synthesized(16000, 20.0);
        let wl = fit_workload(Workload::StftFit, &x).unwrap();
        let mut tr = [true, false].map(|rows| {
            let mut t = Trainer::new(&wl.model, &wl.points, wl.config.divergence, None).unwrap();
            t.rows_pass = rows;
            t
        });
        let mut times = [vec![], vec![]];
        for i in 0..160 {
            for (t, ts) in tr.iter_mut().zip(times.iter_mut()) {
                let t0 = Instant::now();
                t.loss_and_grad(&wl.model, None, true);
                if i >= 10 {
                    ts.push(t0.elapsed().as_secs_f64() * 1e3);
                }
            }
        }
        let med = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (a, b) = (med(&mut times[0]), med(&mut times[1]));
        println!(
            "loss and gradients, {} threads: row-block pass {a:.2} ms, whole-grid pass {b:.2} ms ({:.2}x)",
            rayon::current_num_threads(),
            b / a
        );
    }
}
