"""Side-by-side timing of librosa.vqt and nsgt with the parameters of `innmf bench analyze-vqt`
and `innmf bench analyze-nsgt` (30 s of 22.05 kHz audio: ode_piano.wav looped). Prints JSON.

    /root/.bench-venv/bin/python tests/data/transforms/bench_transforms.py [WAV]
"""

import json
import sys
import time

import numpy as np
import soundfile as sf

path = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/music/ode_piano.wav"
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
