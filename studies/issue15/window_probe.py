#!/usr/bin/env python3
"""Issue 15, item 17: would templates that know the analysis window transfer better?

  /root/.bench-venv/bin/python studies/issue15/window_probe.py [RECORDING.wav ...]

A spectrum seen through a window of N samples is the source's spectrum blurred by the window's
power response, which is twice as wide at N = 1000 as at 2000. Templates learned at 2000 carry
2000's blur: too sharp for a 1000 window's spectra, too blunt for 2500's (item 13). A template
model could instead hold an "intrinsic" template T on a fine frequency grid and be observed at
window N through B_N T, B_N the row-normalised blur by window N's power response (|DFT of the
sqrt-Hann window|^2, main lobe and six side lobes each side), sampled at N's bins.
Learning T from window 2000 alone is a deconvolution: T is fitted by KL multiplicative updates
of V_2000 ~ B_2000 T H with H fixed to NMF's (Richardson-Lucy, which its iteration count
regularises), started from NMF's templates interpolated to the fine grid.

On each recording's first 20 s (sqrt-Hann, hop N/2, |X|^0.5, rank 20, 1000 KL-MU iterations from
numpy seed 0), for windows 1000, 1500 and 2500: H fitted with the templates frozen, and the KL
printed over that of NMF trained at that window: NMF's 2000 templates interpolated linearly
(what the preset's networks hold, item 11) against B_N T for a few deconvolution lengths.
Numpy only; no separation is run here.
"""
import os
import sys

import numpy as np
import soundfile as sf

HERE = os.path.dirname(os.path.abspath(__file__))
K, EPS, TRAIN = 20, 1e-9, 2000
GRID_HZ = 2.0


def spec(x, n):
    w = np.sqrt(np.hanning(n + 1)[:n])
    fr = np.lib.stride_tricks.sliding_window_view(x, n)[:: n // 2] * w
    return np.abs(np.fft.rfft(fr, axis=1)).T ** 0.5


def kl(a, b):
    b = b + EPS
    return np.sum(a * np.log((a + EPS) / b) - a + b) / a.size


def nmf(v, rng, its=1000):
    w = rng.random((v.shape[0], K)) + 0.1
    h = rng.random((K, v.shape[1])) + 0.1
    for _ in range(its):
        h *= (w.T @ (v / (w @ h + EPS))) / w.sum(0)[:, None]
        w *= ((v / (w @ h + EPS)) @ h.T) / h.sum(1)[None, :]
    return w, h


def fit_h(v, w, its=500):
    h = np.full((K, v.shape[1]), v.mean() / max(w.mean(), 1e-12) / K)
    for _ in range(its):
        h *= (w.T @ (v / (w @ h + EPS))) / w.sum(0)[:, None]
    return kl(v, w @ h)


def blur(n, sr, grid):
    """Rows: window n's bins; columns: the fine grid; each row sums to 1."""
    w = np.sqrt(np.hanning(n + 1)[:n])
    over = 64
    resp = np.abs(np.fft.fft(w, n * over)) ** 2
    resp /= resp[0]
    fb = np.arange(n // 2 + 1) * sr / n
    off = (grid[None, :] - fb[:, None]) * n / sr  # in bins of window n
    idx = np.rint(np.abs(off) * over).astype(int)
    b = np.where(np.abs(off) <= 7.5, resp[np.minimum(idx, n * over // 2)], 0.0)
    return b / b.sum(1, keepdims=True)


def excerpt(path):
    """The recording's first channel, first 20 s, and its rate."""
    x, sr = sf.read(path)
    if x.ndim > 1:
        x = x[:, 0]
    return x[: int(20 * sr)], sr


def main(path):
    x, sr = excerpt(path)
    grid = np.arange(0, sr / 2 + GRID_HZ / 2, GRID_HZ)
    v = spec(x, TRAIN)
    rng = np.random.default_rng(0)
    w, h = nmf(v, rng)
    fb = np.arange(v.shape[0]) * sr / TRAIN
    b_train = blur(TRAIN, sr, grid)
    t = np.stack([np.interp(grid, fb, w[:, k]) for k in range(K)], 1)
    ones = b_train.T @ np.ones((v.shape[0], 1)) @ h.sum(1)[None, :]
    intrinsic = {0: t.copy()}
    for it in range(1, 201):
        t *= (b_train.T @ ((v / (b_train @ t @ h + EPS)) @ h.T)) / (ones + EPS)
        if it in (10, 50, 200):
            intrinsic[it] = t.copy()
    print(os.path.basename(path), 'KL at 2000: NMF %.5f' % kl(v, w @ h),
          ' '.join('RL%d %.5f' % (i, kl(v, b_train @ intrinsic[i] @ h)) for i in intrinsic))
    for n in (1000, 1500, 2500):
        vn = spec(x, n)
        ref = kl(vn, np.matmul(*nmf(vn, rng)))
        fn = np.arange(vn.shape[0]) * sr / n
        lin = np.stack([np.interp(fn, fb, w[:, k]) for k in range(K)], 1)
        bn = blur(n, sr, grid)
        row = ['linear %.4f' % (fit_h(vn, lin) / ref)]
        row += ['RL%d %.4f' % (i, fit_h(vn, bn @ intrinsic[i]) / ref) for i in intrinsic]
        print('  %d over NMF at %d:' % (n, n), ' '.join(row))


if __name__ == '__main__':
    paths = sys.argv[1:] or [os.path.join(HERE, '../../../shared/data/speech/%s.wav' % s)
                             for s in ('awb', 'ked', 'rms')]
    for p in paths:
        main(p)
