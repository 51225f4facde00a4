"""Coefficients of the nsgt package's CQ_NSGT for crates/innmf/src/transform/nsgt.rs, per band,
where the package's frame layout equals innmf's (read by crates/innmf/tests/transform_references.rs).

Run:  /root/.bench-venv/bin/python make_nsgt_coeffs.py   (numpy + nsgt)
Writes nsgt_coeffs.npz and nsgt_coeffs.json beside this file.

Signal and transform: those of make_transform_fixtures.py's nsgt_fixture (sr 8000 Hz, L = 32000,
CQ_NSGT(200, 3200·(1 − 1e-12), 12 bins per octave): 49 constant-Q bands f_k = 200·2^{k/12}).

Frame layouts.  The package's band k (1..49 in its list; 0 is its DC band, 50 its Nyquist band)
keeps M_k = round(ξ_{k+1} − ξ_{k−1}) coefficients (ξ = f·L/sr in DFT bins), the length of its Hann
window, so coefficient n sits at n·L/M_k samples.  innmf keeps M_j = the smallest 2^a·3^b·5^c·7^d
≥ the number of integer bins inside its open window support (ξ_j − h_j, ξ_j + h_j),
h_j = ξ_j·(2^{1/B} − 2^{−1/B})/2.  Where the two M agree the coefficients share their times and
are stored here (complex, as the package returns them), with the package's window (its values
and the DFT bins they multiply) so the Rust test can bound the only remaining difference, the
window.  The rule for innmf's M is re-typed below (`innmf_m`) only to choose which bands to
store; the Rust test checks that the stored set is exactly the set of bands whose M agree.
"""

import importlib.metadata
import json
import os
import types

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def shim_nsgt():
    """nsgt 0.18 clips an int array to np.inf in place, which numpy 2 refuses; shim np.clip."""
    import nsgt.nsgfwin_sl as _w

    def _clip(a, lo, hi, out=None):
        if np.asarray(a).dtype.kind == "i" and hi == np.inf:
            hi = np.iinfo(np.asarray(a).dtype).max
        return np.clip(a, lo, hi, out=out)

    shim = types.SimpleNamespace(**{k: getattr(np, k) for k in dir(np) if not k.startswith("__")})
    shim.clip = _clip
    _w.np = shim


def smooth_size(n):
    m = max(n, 1)
    while True:
        r = m
        for p in (2, 3, 5, 7):
            while r % p == 0:
                r //= p
        if r == 1:
            return m
        m += 1


def innmf_m(f, sr, n, bpo):
    r = 2.0 ** (1.0 / bpo)
    xi = f * n / sr
    h = xi * (r - 1.0 / r) / 2.0
    lo = int(np.floor(xi - h)) + 1
    hi = int(np.ceil(xi + h)) - 1
    return smooth_size(hi - lo + 1)


def main():
    shim_nsgt()
    from nsgt import CQ_NSGT

    sr, n, fmin, bpo, octaves = 8000.0, 32000, 200.0, 12, 4
    t = np.arange(n) / sr
    x = (
        0.5 * np.sin(2 * np.pi * 220 * t)
        + 0.3 * np.sin(2 * np.pi * (300 * t + 400 * t * t))
        + 0.2 * np.sin(2 * np.pi * 1250 * t + 0.3)
    )
    fmax = fmin * 2**octaves * (1 - 1e-12)
    nsg = CQ_NSGT(fmin, fmax, bpo, sr, n, real=True, matrixform=False, reducedform=0)
    c = nsg.forward(x)
    freqs = np.asarray(nsg.frqs)
    assert len(freqs) == bpo * octaves + 1
    assert np.allclose(freqs, fmin * 2 ** (np.arange(len(freqs)) / bpo), rtol=1e-9)
    arrays = {}
    stored = []
    m_pkg = []
    for k, f in enumerate(freqs):
        band = c[k + 1]  # skip the package's DC band
        m_pkg.append(len(band))
        if len(band) != innmf_m(f, sr, n, bpo):
            continue
        g = np.asarray(nsg.g[k + 1])
        lg = len(g)
        # nsgtf_loop multiplies ft[wins[:lg//2]] by g[-(lg//2):] and ft[wins[lg//2:]] by
        # g[:(lg+1)//2]: the window in bin order is fftshift(g) over the bins wins
        bins = np.asarray(nsg.wins[k + 1])
        vals = np.concatenate([g[lg - lg // 2:], g[: (lg + 1) // 2]])
        assert np.all(np.diff(bins) == 1)
        arrays[f"band{k}_re"] = band.real
        arrays[f"band{k}_im"] = band.imag
        arrays[f"band{k}_win"] = vals
        arrays[f"band{k}_win_first_bin"] = np.array([float(bins[0])])
        stored.append(k)
    np.savez_compressed(os.path.join(HERE, "nsgt_coeffs.npz"), **arrays)
    with open(os.path.join(HERE, "nsgt_coeffs.json"), "w") as fh:
        json.dump({"nsgt": importlib.metadata.version("nsgt"), "numpy": np.__version__,
                   "sr": sr, "n": n, "fmin": fmin, "fmax": fmin * 2**octaves,
                   "bins_per_octave": bpo, "freqs": freqs.tolist(), "m_package": m_pkg,
                   "stored_bands": stored}, fh, indent=1)
    print("stored bands", stored, "of", len(freqs))


if __name__ == "__main__":
    main()
