#!/usr/bin/env python3
"""Issue 15, item 18: would templates trained at several windows at once serve every window?

  /root/.bench-venv/bin/python studies/issue15/multiwindow_probe.py [RECORDING.wav ...]

Option (b) of issue 15's open decision: leave the one-window protocol and train one set of
templates on the spectra of several windows. A point-based model can do this where NMF cannot
(NMF's W is tied to one grid). Here the networks are stood in for by a table T on a 2 Hz grid,
read at window N's bins by linear interpolation P_N (what the preset's networks hold between
the bins, item 11). T is fitted by KL multiplicative updates of V_N ~ P_N T H_N for every
training window N at once, each window with its own activations H_N (the windows' frames
differ), started from NMF's window-2000 templates on the grid; grid points that no training
bin reads keep that linear interpolant. A table on a 2 Hz grid is freer between the bins than
the networks are: at the training windows this is about the best a multi-window fit can do;
between them, the networks' smoothness could carry more from one window to the next.

On each recording's first 20 s (sqrt-Hann, hop N/2, |X|^0.5, rank 20, numpy seed 0; 1000 KL-MU
iterations from NMF's templates, which had 1000; the reference NMF at each window had 2000):
for each set of training windows, H is fitted at every test window with the templates frozen,
and the KL is printed over that of NMF trained at that window (1.000 = as good as NMF fitted
there). The set {2000} is the one-window protocol (the row to beat); the set of all four test
windows is an in-sample bound, not a protocol. Numpy only; no separation.
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
# item 17's probe: the same excerpt, analysis, NMF and H fit
from window_probe import EPS, K, excerpt, fit_h, kl, nmf, spec  # noqa: E402

ITERS = 1000
GRID_HZ = 2.0
TEST = (1000, 1500, 2000, 2500)
SETS = ((2000,), (1500, 2500), (1000, 2500), (1000, 3000), TEST)


def h_update(v, w, h):
    h *= (w.T @ (v / (w @ h + EPS))) / w.sum(0)[:, None]


def interp(n, sr, grid):
    """Rows: window n's bins; columns: the grid; linear interpolation weights."""
    fb = np.arange(n // 2 + 1) * sr / n
    j = np.minimum(np.searchsorted(grid, fb, side='right') - 1, grid.size - 2)
    a = (fb - grid[j]) / (grid[j + 1] - grid[j])
    p = np.zeros((fb.size, grid.size))
    rows = np.arange(fb.size)
    p[rows, j] = 1 - a
    p[rows, j + 1] += a
    return p


def train(specs, interps, t0, rng):
    """KL-MU of V_N ~ P_N T H_N over every window N at once; returns T."""
    t = t0.copy()
    hs = {n: rng.random((K, v.shape[1])) + 0.1 for n, v in specs.items()}
    for _ in range(ITERS):
        for n, v in specs.items():
            h_update(v, interps[n] @ t, hs[n])
        num = np.zeros_like(t)
        den = np.zeros_like(t)
        for n, v in specs.items():
            p, h = interps[n], hs[n]
            num += p.T @ ((v / (p @ t @ h + EPS)) @ h.T)
            den += p.T @ np.ones((p.shape[0], 1)) @ h.sum(1)[None, :]
        # grid points no training bin reads keep their value (their interpolant's)
        t *= np.where(den > 0, num / np.maximum(den, EPS), 1.0)
    return t


def main(path):
    x, sr = excerpt(path)
    grid = np.arange(0, sr / 2 + GRID_HZ / 2, GRID_HZ)
    windows = sorted({n for s in SETS for n in s} | set(TEST))
    specs = {n: spec(x, n) for n in windows}
    interps = {n: interp(n, sr, grid) for n in windows}
    rng = np.random.default_rng(0)
    ref = {n: kl(specs[n], np.matmul(*nmf(specs[n], rng, 2 * ITERS))) for n in TEST}
    w2000, _ = nmf(specs[2000], rng)
    fb = np.arange(w2000.shape[0]) * sr / 2000
    t0 = np.stack([np.interp(grid, fb, w2000[:, k]) for k in range(K)], 1)
    print(os.path.basename(path), 'KL over NMF trained at each window,',
          ' / '.join(str(n) for n in TEST))
    for s in SETS:
        t = train({n: specs[n] for n in s}, interps, t0, rng)
        row = ['%.4f' % (fit_h(specs[n], interps[n] @ t) / ref[n]) for n in TEST]
        print('  trained at %-22s' % '+'.join(str(n) for n in s), ' / '.join(row))
        sys.stdout.flush()


if __name__ == '__main__':
    paths = sys.argv[1:] or [os.path.join(HERE, '../../../shared/data/speech/%s.wav' % s)
                             for s in ('awb', 'ked', 'rms')]
    for p in paths:
        main(p)
