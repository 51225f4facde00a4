"""Audio in and out, and analysis: audio → a point set ``(t_i, f_i, m_i)``."""

from __future__ import annotations

import json
import os
from typing import Any, Mapping

import numpy as np

from . import _checks, _innmf
from .representations import STFT, Representation, as_representation, representation_from_dict

__all__ = ["load_audio", "write_wav", "analyze", "Points"]


def load_audio(
    path: str | os.PathLike[str],
    channel: int | None = None,
    sample_rate: int | None = None,
    start: float = 0.0,
    seconds: float | None = None,
) -> tuple[np.ndarray, int]:
    """Reads an audio file (WAV, FLAC, MP3, Ogg Vorbis, M4A, SPHERE; detected from its bytes).

    Args:
        path: the file.
        channel: the channel to keep (0-based); ``None``: the mean of all channels.
        sample_rate: resample to this rate (Hz); ``None``: the file's rate.
        start: first second to read (s).
        seconds: how many seconds to read; ``None``: to the end.

    Returns:
        ``(x, sr)``: float64 samples of shape ``(n_samples,)`` and the sample rate in Hz.

    Raises:
        OSError: the file cannot be read or is not audio (``FileNotFoundError`` when missing).
        ValueError: a bad channel, rate or excerpt.
    """
    return _innmf.load_audio(
        _checks.path(path),
        channel=None if channel is None else _checks.positive_int(channel, "channel", 0),
        sample_rate=None if sample_rate is None else _checks.positive_int(
            sample_rate, "sample_rate", 1, 2**32 - 1
        ),
        start=float(start),
        seconds=None if seconds is None else float(seconds),
    )


def write_wav(path: str | os.PathLike[str], x: Any, sample_rate: int) -> None:
    """Writes ``x`` (shape ``(n_samples,)``) as a mono 32-bit float WAV at ``sample_rate`` Hz,
    atomically (a temporary file, then a rename)."""
    a = _checks.array(x, "x", 1)
    _innmf.write_wav(
        _checks.path(path), a, _checks.positive_int(sample_rate, "sample_rate", 1, 2**32 - 1)
    )


class Points:
    """A point set: times ``t`` (s), frequencies ``f`` (Hz), magnitudes ``m`` (≥ 0), float64
    arrays of shape ``(n_points,)``.

    ``Points(t, f, m)`` wraps any arrays (copied to C-contiguous float64 when they are not);
    :func:`analyze` returns one that also records how it was made (``analysis``: the
    representation with every default resolved, the sample rate, the power and the calibration),
    which :class:`~innmf.ImplicitNMF` stores in the model file as ``innmf fit`` does.
    """

    __slots__ = ("t", "f", "m", "analysis", "segments")

    def __init__(
        self,
        t: Any,
        f: Any,
        m: Any,
        analysis: Mapping[str, Any] | None = None,
        segments: list[dict[str, Any]] | None = None,
    ) -> None:
        self.t = _checks.array(t, "t", 1)
        self.f = _checks.array(f, "f", 1)
        self.m = _checks.array(m, "m", 1, nonnegative=True)
        if not (len(self.t) == len(self.f) == len(self.m)):
            raise ValueError(
                f"t, f and m have lengths {len(self.t)}, {len(self.f)}, {len(self.m)}: "
                "expected one length"
            )
        self.analysis = dict(analysis) if analysis is not None else None
        self.segments = list(segments) if segments is not None else []

    def __len__(self) -> int:
        return len(self.m)

    @property
    def representation(self) -> Representation | None:
        """The representation the points were analyzed with (defaults resolved), if any."""
        if self.analysis is None:
            return None
        return representation_from_dict(self.analysis["representation"])

    @property
    def sample_rate(self) -> float | None:
        """Sample rate of the analyzed signal (Hz), if any."""
        return None if self.analysis is None else float(self.analysis["sample_rate"])

    @property
    def power(self) -> float:
        """Magnitude power p: the points hold ``|c|^p`` (1 for points not made by analyze)."""
        return 1.0 if self.analysis is None else float(self.analysis["power"])

    def __repr__(self) -> str:
        what = "" if self.analysis is None else f", {self.analysis['representation']['transform']}"
        return (
            f"Points({len(self)} points, {len(np.unique(self.f))} frequencies, "
            f"{len(np.unique(self.t))} times{what})"
        )

    def __getstate__(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for k in self.__slots__:
            object.__setattr__(self, k, state[k])


def analyze(
    x: Any,
    sr: float,
    representation: Representation | Mapping[str, Any] | str | None = None,
    power: float = 1.0,
    calibrate: bool | str = False,
) -> Points:
    """The points ``(t, f, |c|^power)`` of signal ``x`` in a time-frequency representation.

    Args:
        x: mono signal, shape ``(n_samples,)`` (any real dtype; copied to float64 if needed).
        sr: sample rate (Hz).
        representation: :class:`STFT` (default, the paper's 2000/1000), :class:`CQT`,
            :class:`VQT`, :class:`NSGT`, :class:`CWT`, :class:`Sines`, :class:`Multires`,
            :class:`Hybrid`, a JSON dict or a transform name.
        power: magnitude power p in (0, 16] (the CLI's ``--power``; ``innmf fit`` uses 0.5).
        calibrate: ``True`` or ``"unit-tone"``: a unit-amplitude sinusoid reads 1 in every
            transform (the CLI's ``--calibrate``); ``False`` or ``"native"``: each transform's
            own scale.

    Returns:
        :class:`Points` with ``t`` (s), ``f`` (Hz), ``m`` of shape ``(n_points,)``.

    Raises:
        ValueError: a bad signal (empty, non-finite), sample rate, power or setting.
    """
    rep = STFT() if representation is None else as_representation(representation)
    a = _checks.array(x, "x", 1)
    sr = _checks.real(sr, "sr")
    cal = calibrate if isinstance(calibrate, str) else ("unit-tone" if calibrate else "native")
    t, f, m, analysis, segments = _innmf.analyze(
        a, sr, rep.to_json(), _checks.real(power, "power"), cal
    )
    pts = Points.__new__(Points)
    # the arrays come from Rust as fresh, owned, C-contiguous float64 buffers: no copy, no check
    pts.t, pts.f, pts.m = t, f, m
    pts.analysis = json.loads(analysis)
    pts.segments = json.loads(segments)
    return pts
