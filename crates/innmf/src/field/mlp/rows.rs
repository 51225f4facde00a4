//! The row-block pass of [`MlpWorkspace`] (see its `impl` below).

use super::{
    backward_begin, backward_block, backward_end, forward_block, map_values, Collapsed,
    ComponentBuffers, LayerSpec, MlpWorkspace, OutputMap, ROWS,
};
use crate::simd::Level;
use rayon::prelude::*;

/// A block of the row-block pass: coordinates `r0..r0 + nb`, whose activations live at rows
/// `ra..ra + nb` of the workspace's buffers (two blocks in flight use two disjoint slots).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowBlock {
    /// First coordinate.
    pub r0: usize,
    /// Number of coordinates.
    pub nb: usize,
    /// First row of its activations in the buffers.
    pub ra: usize,
}

/// The row-block pass: a training step that runs the forward and backward passes block by
/// block of coordinates, so that the activations of every component stay in cache between the
/// two (the whole forward of K = 20 networks at 1001 coordinates is 31 MB of activations; a
/// block of 32 rows 1 MB). It needs ∂loss/∂value of a block before that
/// block's backward pass, as a dense spectrogram's loss gives it (each frequency's ∂loss/∂W
/// depends on that frequency's row only):
///
/// ```text
/// begin_rows(p, grad)
/// forward_rows(p, block 0, values)
/// for each block b, in order:  (∂loss/∂values of block b) … backward_forward_rows(p, dvalues, block b, grad, block b + 1, values)
/// end_rows(p, grad)
/// ```
///
/// Block `b`'s backward pass and block `b + 1`'s forward pass run in one parallel loop over the
/// components (one fork and join per block fewer, and each component's weights stay in cache
/// for both); the two blocks' activations must sit in disjoint rows of the buffers (`ra`).
/// Blocks come in order and may have any size; the values, gradients and sums are those of
/// [`forward`](MlpWorkspace::forward) and [`backward`](MlpWorkspace::backward), bit for bit:
/// every row's arithmetic is the same, and every sum over rows is one running sum that each
/// block continues (the kernels' products start from the sums so far and add their rows in
/// order). After a row-block pass the workspace holds only the last blocks' activations:
/// [`backward`](MlpWorkspace::backward) needs a whole [`forward`](MlpWorkspace::forward) first.
impl MlpWorkspace {
    #[track_caller]
    fn check_block(&self, b: RowBlock) {
        assert!(
            b.nb > 0 && b.r0 + b.nb <= self.n && b.ra + b.nb <= self.n,
            "row block {b:?} of {} coordinates",
            self.n
        );
    }

    /// Starts a row-block pass with `params`: collapses the first two layers and prepares the
    /// gradients (`grad` is overwritten).
    #[track_caller]
    pub fn begin_rows(&mut self, params: &[f32], grad: &mut [f32]) {
        self.each_component(params, grad, |ctx, buf, p, gr| {
            buf.prep = Collapsed::new(ctx.level, p, ctx.specs);
            buf.bad = false;
            backward_begin(buf, p, gr, ctx.specs);
        });
    }

    /// Forward pass over a block: its values into `values` (`[K, N]`, only the block's rows
    /// are written). A component whose pre-activations leave the sine's range in the block gets
    /// NaN values for these rows (the loss becomes NaN: the fit reports divergence).
    #[track_caller]
    pub fn forward_rows(&mut self, params: &[f32], block: RowBlock, values: &mut [f32]) {
        assert_eq!(params.len(), self.per * self.comps.len());
        assert_eq!(values.len(), self.n * self.comps.len());
        self.check_block(block);
        let (n, per) = (self.n, self.per);
        let (ctx, comps) = self.split();
        comps
            .par_iter_mut()
            .zip(params.par_chunks(per))
            .zip(values.par_chunks_mut(n))
            .for_each(|((buf, p), out)| ctx.forward(buf, p, out, block));
    }

    /// Backward pass over `back` (the block of an earlier [`forward_rows`], with ∂loss/∂value
    /// in `dvalues`, `[K, N]`, only its rows read), adding to `grad`; then, when `next` is set,
    /// the forward pass over `next` into `values` as [`forward_rows`].
    ///
    /// [`forward_rows`]: MlpWorkspace::forward_rows
    #[track_caller]
    pub fn backward_forward_rows(
        &mut self,
        params: &[f32],
        dvalues: &[f32],
        back: RowBlock,
        grad: &mut [f32],
        next: Option<RowBlock>,
        values: &mut [f32],
    ) {
        assert_eq!(params.len(), self.per * self.comps.len());
        assert_eq!(grad.len(), params.len());
        assert_eq!(dvalues.len(), self.n * self.comps.len());
        assert_eq!(values.len(), self.n * self.comps.len());
        self.check_block(back);
        if let Some(nx) = next {
            self.check_block(nx);
            assert!(
                nx.r0 >= back.r0 + back.nb
                    && (nx.ra >= back.ra + back.nb || back.ra >= nx.ra + nx.nb),
                "blocks {back:?} then {nx:?}: in order, with disjoint activations"
            );
        }
        let (n, per) = (self.n, self.per);
        let (ctx, comps) = self.split();
        comps
            .par_iter_mut()
            .zip(params.par_chunks(per))
            .zip(grad.par_chunks_mut(per))
            .zip(dvalues.par_chunks(n))
            .zip(values.par_chunks_mut(n))
            .for_each(|((((buf, p), gr), dv), out)| {
                ctx.backward(buf, p, gr, dv, back);
                if let Some(nx) = next {
                    ctx.forward(buf, p, out, nx);
                }
            });
    }

    /// What each component's block needs, beside the components' buffers (borrowed apart).
    fn split(&mut self) -> (Ctx<'_>, &mut [ComponentBuffers]) {
        let ctx = Ctx {
            specs: &self.specs,
            level: self.level,
            omega: self.omega,
            output: self.output,
        };
        (ctx, &mut self.comps)
    }

    /// Ends a row-block pass: the gradients of the output bias and of the collapsed layers.
    #[track_caller]
    pub fn end_rows(&mut self, params: &[f32], grad: &mut [f32]) {
        self.each_component(params, grad, |ctx, buf, p, gr| {
            backward_end(ctx.level, buf, p, gr, ctx.specs)
        });
    }

    /// `f` on every component's buffers, parameters and gradient, in parallel.
    #[track_caller]
    fn each_component(
        &mut self,
        params: &[f32],
        grad: &mut [f32],
        f: impl Fn(Ctx<'_>, &mut ComponentBuffers, &[f32], &mut [f32]) + Sync,
    ) {
        assert_eq!(params.len(), self.per * self.comps.len());
        assert_eq!(grad.len(), params.len());
        let per = self.per;
        let (ctx, comps) = self.split();
        comps
            .par_iter_mut()
            .zip(params.par_chunks(per))
            .zip(grad.par_chunks_mut(per))
            .for_each(|((buf, p), gr)| f(ctx, buf, p, gr));
    }
}

/// What every component's block needs besides its own buffers.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    specs: &'a [LayerSpec],
    level: Level,
    omega: f32,
    output: OutputMap,
}

impl Ctx<'_> {
    /// One component's forward pass over `b` (values into `out`, the component's `[N]`).
    fn forward(self, buf: &mut ComponentBuffers, p: &[f32], out: &mut [f32], b: RowBlock) {
        let j2 = self.specs[0].fan_in;
        let mut bad = false;
        for q0 in (b.r0..b.r0 + b.nb).step_by(ROWS) {
            let qn = ROWS.min(b.r0 + b.nb - q0);
            bad |= forward_block(
                self.level,
                p,
                self.specs,
                &buf.prep,
                self.omega,
                &buf.feats[q0 * j2..(q0 + qn) * j2],
                &mut buf.acts,
                &mut buf.cos,
                b.ra + q0 - b.r0,
                qn,
                &mut buf.g[q0..q0 + qn],
            );
        }
        let rows = b.r0..b.r0 + b.nb;
        let (g, vals) = (&buf.g[rows.clone()], &mut buf.values[rows.clone()]);
        map_values(self.level, self.output, g, vals);
        if bad {
            vals.fill(f32::NAN);
            buf.bad = true;
        }
        out[rows].copy_from_slice(vals);
    }

    /// One component's backward pass over `b` (∂loss/∂value in `dv`, the component's `[N]`).
    fn backward(
        self,
        buf: &mut ComponentBuffers,
        p: &[f32],
        gr: &mut [f32],
        dv: &[f32],
        b: RowBlock,
    ) {
        for q0 in (b.r0..b.r0 + b.nb).step_by(ROWS) {
            let qn = ROWS.min(b.r0 + b.nb - q0);
            backward_block(
                self.level,
                buf,
                p,
                gr,
                &dv[q0..q0 + qn],
                self.specs,
                self.output,
                self.omega,
                q0,
                b.ra + q0 - b.r0,
                qn,
            );
        }
    }
}
