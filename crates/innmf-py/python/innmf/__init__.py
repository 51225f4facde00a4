"""innmf: implicit neural non-negative matrix factorization (iN-NMF; Subramani, Smaragdis,
Higuchi, Souden, arXiv 2404.04439) for Python.

A time-frequency representation is a set of points ``(t_i, f_i, m_i)`` (seconds, Hz, magnitude)
modelled as ``m_i ≈ Σ_k W_k(f_i)·H_k(t_i)`` with small coordinate networks or tables, so NMF
works on constant-Q transforms, sinusoidal peaks and hybrids, and templates learned at one STFT
window can be sampled at another.

    >>> import numpy as np, innmf
    >>> x, sr = innmf.load_audio("speech.wav")
    >>> pts = innmf.analyze(x, sr, innmf.CQT(f_min=20.0, bins_per_octave=64), power=0.5)
    >>> model = innmf.ImplicitNMF(n_components=20, steps=1000, seed=0).fit(pts)
    >>> W = model.sample_w(np.linspace(0, 8000, 801))        # (K, F), float32
    >>> model.save("speech.safetensors")                     # read by `innmf sample`

Everything runs in the Rust library (the ``innmf`` crate) without the GIL; errors are
``ValueError`` (bad values and shapes), ``TypeError`` (non-numeric arrays) and ``OSError``
(files), with the library's message.
"""

from __future__ import annotations

from . import experiment, metrics
from ._innmf import __version__
from .analysis import Points, analyze, load_audio, write_wav
from .model import ImplicitNMF
from .nmf import NMF
from .separation import learn_templates, separate
from .representations import (
    CQT,
    CWT,
    NSGT,
    STFT,
    VQT,
    Hybrid,
    Multires,
    Representation,
    Sines,
    representation_from_dict,
)

__all__ = [
    "__version__",
    "load_audio",
    "write_wav",
    "analyze",
    "Points",
    "Representation",
    "STFT",
    "CQT",
    "VQT",
    "NSGT",
    "CWT",
    "Sines",
    "Multires",
    "Hybrid",
    "representation_from_dict",
    "ImplicitNMF",
    "NMF",
    "separate",
    "learn_templates",
    "metrics",
    "experiment",
]
