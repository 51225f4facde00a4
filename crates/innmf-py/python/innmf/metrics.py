"""Separation metrics with mir_eval's and pystoi's names, shapes and results.

- :func:`bss_eval`: BSS Eval v3 SDR/SIR/SAR (``mir_eval.separation.bss_eval_sources``);
- :func:`si_sdr`: scale-invariant SDR (Le Roux et al. 2019);
- :func:`stoi`: STOI / extended STOI (pystoi's algorithm, resampled to 10 kHz internally);
- :func:`evaluate`: all of them, as ``innmf eval`` and ``innmf separate --reference`` report.

Signals are float64 arrays: one source ``(n_samples,)`` or several ``(n_sources, n_samples)``.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from . import _checks, _innmf

__all__ = ["bss_eval", "bss_eval_sources", "si_sdr", "stoi", "evaluate"]


def _sources(x: Any, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim == 1:
        a = a[np.newaxis, :]
    return _checks.array(a, name, 2)


def _common_scale(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """The arrays times one power of two when their peak is far from 1 (above 2^150 or below
    2^-300): the scores are invariant to a common scale, but the energies of samples near 1e300
    overflowed (and those near 1e-300 underflowed) to a NaN score, and the library refuses
    peaks above 1e50 (`MAX_AMPLITUDE` of its metrics). A power of two scales exactly, and
    signals of ordinary amplitude are passed through untouched."""
    peak = max((float(np.max(np.abs(a))) for a in arrays if a.size), default=0.0)
    if peak == 0.0 or 2.0**-300 <= peak <= 2.0**150:
        return arrays
    # elementwise: 2^1063 (for subnormal peaks) is not a double, the scaled samples are
    e = -int(np.frexp(peak)[1])
    return tuple(np.ldexp(a, e) for a in arrays)


def bss_eval(
    reference_sources: Any,
    estimated_sources: Any,
    sr: float | None = None,
    compute_permutation: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """BSS Eval v3: ``(sdr, sir, sar, perm)``, each of shape ``(n_sources,)`` (dB; ``perm[j]``:
    the estimate matched to reference j), as ``mir_eval.separation.bss_eval_sources``.

    Args:
        reference_sources, estimated_sources: ``(n_sources, n_samples)`` or ``(n_samples,)``.
        sr: the sample rate (Hz); unused (BSS Eval does not depend on it), accepted so that all
            the metrics take the same arguments.
        compute_permutation: search the estimates' order that maximizes the mean SIR.

    Raises:
        ValueError: different shapes, non-finite samples, an all-zero source, too many sources.
    """
    r = _sources(reference_sources, "reference_sources")
    e = _sources(estimated_sources, "estimated_sources")
    r, e = _common_scale(r, e)
    return _innmf.bss_eval_sources(r, e, bool(compute_permutation))


bss_eval_sources = bss_eval


def si_sdr(reference: Any, estimate: Any, zero_mean: bool = False) -> float | np.ndarray:
    """Scale-invariant SDR (dB) of ``estimate`` against ``reference``: a float for 1-D signals,
    an array ``(n_sources,)`` for ``(n_sources, n_samples)`` (row j against row j).

    ``zero_mean`` removes each signal's mean first (Le Roux et al.'s recipe).
    """
    r = np.asarray(reference)
    e = np.asarray(estimate)
    if r.ndim == 1 and e.ndim == 1:
        r1, e1 = _common_scale(_checks.array(r, "reference", 1), _checks.array(e, "estimate", 1))
        return _innmf.si_sdr(r1, e1, bool(zero_mean))
    rs, es = _sources(r, "reference"), _sources(e, "estimate")
    if rs.shape != es.shape:
        raise ValueError(
            f"reference has shape {rs.shape} and estimate {es.shape}: expected one shape"
        )
    return np.array([_innmf.si_sdr(*_common_scale(a, b), bool(zero_mean))
                     for a, b in zip(rs, es)])


def stoi(clean: Any, processed: Any, sr: int, extended: bool = False) -> float:
    """Short-time objective intelligibility of ``processed`` against ``clean`` (1-D, same length,
    ``sr`` Hz): pystoi's ``stoi(clean, processed, sr, extended)``, in [−1, 1] (≈ [0, 1])."""
    c, p = _common_scale(_checks.array(clean, "clean", 1), _checks.array(processed, "processed", 1))
    return _innmf.stoi(c, p, _checks.positive_int(sr, "sr", 1, 2**32 - 1), bool(extended))


def _floats(v: Any) -> Any:
    """The report with JSON's stand-ins for non-finite scores ("inf", "-inf", "nan": JSON has
    no infinity) turned back into floats, as mir_eval returns them."""
    if isinstance(v, dict):
        return {k: _floats(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_floats(x) for x in v]
    if isinstance(v, str) and v in ("inf", "-inf", "nan"):
        return float(v)
    return v


def evaluate(
    references: Any,
    estimates: Any,
    sr: float,
    *,
    permutation: bool = True,
    stoi: bool = True,
    extended_stoi: bool = True,
    si_sdr_zero_mean: bool = False,
) -> dict[str, Any]:
    """Every score of a separation, as ``innmf eval`` writes it: a dict with ``sources`` (per
    reference: ``estimate``, ``sdr``, ``sir``, ``sar``, ``si_sdr``, ``stoi``, ``estoi``),
    ``mean``, ``permutation``, ``samples``, ``sample_rate`` and ``options``.

    Args:
        references, estimates: ``(n_sources, n_samples)`` or ``(n_samples,)``.
        sr: sample rate (Hz; a whole number when STOI is computed).
        permutation: match estimates to references by BSS Eval's permutation search.
        stoi, extended_stoi: compute STOI and eSTOI.
        si_sdr_zero_mean: remove means before SI-SDR.
    """
    r = _sources(references, "references")
    e = _sources(estimates, "estimates")
    r, e = _common_scale(r, e)
    return _floats(json.loads(
        _innmf.evaluate(
            r,
            e,
            _checks.real(sr, "sr"),
            bool(permutation),
            bool(stoi),
            bool(extended_stoi),
            bool(si_sdr_zero_mean),
        )
    ))
