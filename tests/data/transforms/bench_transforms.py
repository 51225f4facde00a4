"""Side-by-side timing of librosa.vqt, nsgt and pywt.cwt with the parameters of `innmf bench
analyze-vqt`, `analyze-nsgt` and `analyze-cwt-full` (30 s of 22.05 kHz audio: ode_piano.wav
looped). Prints JSON. `--only cwt` runs just the CWT.

    /root/.bench-venv/bin/python tests/data/transforms/bench_transforms.py [WAV]
"""

import json
import sys
import time

import numpy as np
import soundfile as sf

args = [a for a in sys.argv[1:] if not a.startswith("--only")]
only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
if only:
    args = [a for a in args if a != only]
path = args[0] if args else "../shared/data/music/ode_piano.wav"
x, sr = sf.read(path)
if x.ndim > 1:
    x = x[:, 0]
assert sr == 22050
n = 30 * sr
x = np.resize(x, n).astype(np.float64)


def timeit(f, runs=3):
    f()
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


out = {"samples": n, "sample_rate": sr}
if only in (None, "cwt"):
    import pywt

    # innmf's Morlet with omega0 = 6 is pywt's cmorB-C with omega0 = pi*sqrt(2B)*C: B = 2,
    # C = 6/(2 pi); scales a = C*sr/f_j for f_j = 20*2^(j/12) <= 7000 Hz (102 scales), full rate
    B, C = 2.0, 6.0 / (2 * np.pi)
    freqs = 20.0 * 2.0 ** (np.arange(int(np.floor(12 * np.log2(7000 / 20) + 1e-9)) + 1) / 12)
    out["pywt"] = pywt.__version__
    out["pywt_cwt_scales"] = len(freqs)
    out["pywt_cwt_s"] = timeit(
        lambda: pywt.cwt(x, C * sr / freqs, f"cmor{B}-{C}", method="fft"), runs=1
    )
if only == "cwt":
    print(json.dumps(out, indent=1))
    sys.exit(0)
import librosa

out["librosa"] = librosa.__version__
out["librosa_vqt_s"] = timeit(
    lambda: librosa.vqt(x, sr=sr, hop_length=512, fmin=20.0, n_bins=428, bins_per_octave=64,
                        filter_scale=1.0, gamma=0.0, pad_mode="constant")
)
try:
    import types

    import nsgt.nsgfwin_sl as _w
    from nsgt import NSGT, OctScale

    # nsgt 0.18 clips an int array to np.inf in place, which numpy 2 refuses; shim np.clip there
    def _clip(a, lo, hi, out=None):
        if np.asarray(a).dtype.kind == "i" and hi == np.inf:
            hi = np.iinfo(np.asarray(a).dtype).max
        return np.clip(a, lo, hi, out=out)

    _shim = types.SimpleNamespace(**{k: getattr(np, k) for k in dir(np) if not k.startswith("__")})
    _shim.clip = _clip
    _w.np = _shim

    def run_nsgt():
        scale = OctScale(20.0, 2079.0, 64)
        t = NSGT(scale, sr, n, real=True, matrixform=False, reducedform=0)
        list(t.forward(x))

    out["nsgt_s"] = timeit(run_nsgt)
except ImportError as e:
    out["nsgt_error"] = str(e)
print(json.dumps(out, indent=1))
