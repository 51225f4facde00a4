//! The row-block pass of [`MlpWorkspace`] (see its `impl` below).

use super::{
    backward_begin, backward_block, backward_end, forward_block, map_values, Collapsed,
    MlpWorkspace, ROWS,
};
use rayon::prelude::*;

/// The row-block pass: a training step that runs the forward and backward passes block by
/// block of coordinates, so that the activations of every component stay in cache between the
/// two (the whole forward of K = 20 networks at 1001 coordinates is 31 MB; a block of 96 rows is
/// 3 MB). It needs ∂loss/∂value of a block before the next block's forward, as a dense
/// spectrogram's loss gives it (each frequency's ∂loss/∂W depends on that frequency's row only):
///
/// ```text
/// begin_rows(p)
/// for each block of rows, in order:  forward_rows(p, r0, nb, values) … backward_rows(p, dvalues, r0, nb, grad)
/// end_rows(p, grad)
/// ```
///
/// Blocks start at multiples of [`MlpWorkspace::ROW_BLOCK`] (the last may be shorter) and
/// their values, gradients and sums are those of [`forward`](MlpWorkspace::forward) and
/// [`backward`](MlpWorkspace::backward), bit for bit: every row's arithmetic is the same and the
/// gradients' sums over rows run in the same order. After a row-block pass the workspace keeps
/// only the last block's activations: [`backward`](MlpWorkspace::backward) needs a whole
/// [`forward`](MlpWorkspace::forward) first.
impl MlpWorkspace {
    /// The rows a block of the row-block pass starts at a multiple of (the forward and backward
    /// passes' own blocks, so the sums over rows keep their order).
    pub const ROW_BLOCK: usize = ROWS;

    /// Starts a row-block pass with `params`: collapses the first two layers and prepares the
    /// gradients (`grad` is overwritten).
    #[track_caller]
    pub fn begin_rows(&mut self, params: &[f32], grad: &mut [f32]) {
        assert_eq!(params.len(), self.per * self.comps.len());
        assert_eq!(grad.len(), params.len());
        let (specs, level) = (&self.specs, self.level);
        self.comps
            .par_iter_mut()
            .zip(params.par_chunks(self.per))
            .zip(grad.par_chunks_mut(self.per))
            .for_each(|((buf, p), gr)| {
                buf.prep = Collapsed::new(level, p, specs);
                buf.bad = false;
                backward_begin(buf, p, gr, specs);
            });
    }

    /// Forward pass over rows `r0..r0 + nb`: their values into `values` (`[K, N]`, only those
    /// rows are written). A component whose pre-activations leave the sine's range in this
    /// block gets NaN values for these rows (the loss becomes NaN: the fit reports divergence).
    #[track_caller]
    pub fn forward_rows(&mut self, params: &[f32], r0: usize, nb: usize, values: &mut [f32]) {
        assert_eq!(params.len(), self.per * self.comps.len());
        assert_eq!(values.len(), self.n * self.comps.len());
        assert!(r0.is_multiple_of(Self::ROW_BLOCK) && nb > 0 && r0 + nb <= self.n);
        let (n, specs, omega, level, output) =
            (self.n, &self.specs, self.omega, self.level, self.output);
        let j2 = specs[0].fan_in;
        self.comps
            .par_iter_mut()
            .zip(params.par_chunks(self.per))
            .zip(values.par_chunks_mut(n))
            .for_each(|((buf, p), out)| {
                let mut bad = false;
                for b0 in (r0..r0 + nb).step_by(ROWS) {
                    let bn = ROWS.min(r0 + nb - b0);
                    bad |= forward_block(
                        level,
                        p,
                        specs,
                        &buf.prep,
                        omega,
                        &buf.feats[b0 * j2..(b0 + bn) * j2],
                        &mut buf.acts,
                        &mut buf.cos,
                        b0 - r0,
                        bn,
                        &mut buf.g[b0..b0 + bn],
                    );
                }
                let (g, vals) = (&buf.g[r0..r0 + nb], &mut buf.values[r0..r0 + nb]);
                map_values(level, output, g, vals);
                if bad {
                    vals.fill(f32::NAN);
                    buf.bad = true;
                }
                out[r0..r0 + nb].copy_from_slice(vals);
            });
    }

    /// Backward pass over rows `r0..r0 + nb` (those of the last [`forward_rows`]), from
    /// `dvalues` (`[K, N]`, only those rows are read); adds to `grad`.
    ///
    /// [`forward_rows`]: MlpWorkspace::forward_rows
    #[track_caller]
    pub fn backward_rows(
        &mut self,
        params: &[f32],
        dvalues: &[f32],
        r0: usize,
        nb: usize,
        grad: &mut [f32],
    ) {
        assert_eq!(params.len(), self.per * self.comps.len());
        assert_eq!(grad.len(), params.len());
        assert_eq!(dvalues.len(), self.n * self.comps.len());
        assert!(r0.is_multiple_of(Self::ROW_BLOCK) && nb > 0 && r0 + nb <= self.n);
        let (n, specs, omega, level, output) =
            (self.n, &self.specs, self.omega, self.level, self.output);
        self.comps
            .par_iter_mut()
            .zip(params.par_chunks(self.per))
            .zip(grad.par_chunks_mut(self.per))
            .zip(dvalues.par_chunks(n))
            .for_each(|(((buf, p), gr), dv)| {
                for b0 in (r0..r0 + nb).step_by(ROWS) {
                    let bn = ROWS.min(r0 + nb - b0);
                    backward_block(
                        level,
                        buf,
                        p,
                        gr,
                        &dv[b0..b0 + bn],
                        specs,
                        output,
                        omega,
                        b0,
                        b0 - r0,
                        bn,
                    );
                }
            });
    }

    /// Ends a row-block pass: the gradients of the output bias and of the collapsed layers.
    #[track_caller]
    pub fn end_rows(&mut self, params: &[f32], grad: &mut [f32]) {
        assert_eq!(params.len(), self.per * self.comps.len());
        assert_eq!(grad.len(), params.len());
        let (specs, level) = (&self.specs, self.level);
        self.comps
            .par_iter_mut()
            .zip(params.par_chunks(self.per))
            .zip(grad.par_chunks_mut(self.per))
            .for_each(|((buf, p), gr)| backward_end(level, buf, p, gr, specs));
    }
}
