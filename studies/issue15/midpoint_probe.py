#!/usr/bin/env python3
"""Issue 15, item 15: would exact spectra between the training bins make better templates than
linear interpolation? (numpy only; the bench venv has soundfile.)

  python3 studies/issue15/midpoint_probe.py [RECORDING.wav]

On the first 20 s (sqrt-Hann window 2000, hop 1000, |X|^0.5, rank 20, 1000 KL-MU iterations from
numpy seed 0): NMF's templates at the bins; their values at the midpoints between bins either
interpolated linearly or fitted by 500 KL-MU updates of W alone (H = NMF's) to the midpoints of
the zero-padded (4000-point FFT) spectrogram of the same frames. Then, at windows 1000, 1500 and
2500, H is fitted to each window's spectrogram with the templates interpolated to its bins, and
the KL is printed over that of NMF trained at that window (per-cell mean KL).
"""
import os
import sys

import numpy as np
import soundfile as sf
HERE = os.path.dirname(os.path.abspath(__file__))
x, sr = sf.read(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, '../../../shared/data/speech/slt.wav'))
if x.ndim>1: x=x[:,0]
x = x[:int(20*sr)]
N, hop = 2000, 1000
win = np.sqrt(np.hanning(N+1)[:N])
frames = np.lib.stride_tricks.sliding_window_view(x, N)[::hop] * win
V = np.abs(np.fft.rfft(frames, n=N, axis=1)).T ** 0.5          # 1001 x T
Z = np.abs(np.fft.rfft(frames, n=2*N, axis=1)).T ** 0.5        # 2001 x T (even rows = V)
assert np.allclose(Z[::2], V)
rng = np.random.default_rng(0); K=20; eps=1e-9
W = rng.random((V.shape[0],K))+.1; H = rng.random((K,V.shape[1]))+.1
for it in range(1000):
    R = V/(W@H+eps); H *= (W.T@R)/W.sum(0)[:,None]
    R = V/(W@H+eps); W *= (R@H.T)/H.sum(1)[None,:]
Vm = Z[1::2]                                      # 1000 midpoint rows
Wlin = 0.5*(W[:-1]+W[1:])
Wm = Wlin.copy()
for it in range(500):
    R = Vm/(Wm@H+eps); Wm *= (R@H.T)/H.sum(1)[None,:]
def kl(A,B): B=B+eps; return np.sum(A*np.log((A+eps)/B)-A+B)/A.size
print('KL bins', kl(V,W@H), 'midpoints: linear', kl(Vm,Wlin@H), 'fitted', kl(Vm,Wm@H), 'data-lin interp of V', kl(Vm,0.5*(V[:-1]+V[1:])))
rel = np.abs(Wm-Wlin)/(np.abs(Wlin)+1e-3*Wlin.max())
print('template midpoint rel dev: median %.3f p90 %.3f' % (np.median(rel), np.percentile(rel,90)))

def spec(N, nfft=None):
    hop=N//2; w=np.sqrt(np.hanning(N+1)[:N])
    fr=np.lib.stride_tricks.sliding_window_view(x, N)[::hop]*w
    return np.abs(np.fft.rfft(fr, n=nfft or N, axis=1)).T**0.5
def fitH(Vn, Wn, its=500):
    H=np.full((K,Vn.shape[1]),Vn.mean()/max(Wn.mean(),1e-9)/K)
    for it in range(its):
        R=Vn/(Wn@H+eps); H*= (Wn.T@R)/Wn.sum(0)[:,None]
    return kl(Vn,Wn@H)
fb=np.arange(1001)*sr/N; fm=np.arange(2001)*sr/(2*N)
Wfine=np.empty((2001,K)); Wfine[::2]=W; Wfine[1::2]=Wm
for Nn in [1000,1500,2500]:
    Vn=spec(Nn); fn=np.arange(Vn.shape[0])*sr/Nn
    Wa=np.stack([np.interp(fn,fb,W[:,k]) for k in range(K)],1)
    Wb=np.stack([np.interp(fn,fm,Wfine[:,k]) for k in range(K)],1)
    Wn=rng.random((Vn.shape[0],K))+.1; Hn=rng.random((K,Vn.shape[1]))+.1
    for it in range(1000):
        R=Vn/(Wn@Hn+eps); Hn*=(Wn.T@R)/Wn.sum(0)[:,None]
        R=Vn/(Wn@Hn+eps); Wn*=(R@Hn.T)/Hn.sum(1)[None,:]
    ref=kl(Vn,Wn@Hn)
    print(Nn, 'per-window NMF', round(ref,5), 'linear', round(fitH(Vn,Wa)/ref,4), 'fitted midpoints', round(fitH(Vn,Wb)/ref,4))
