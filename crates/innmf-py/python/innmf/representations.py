"""Time-frequency representations: the settings of each transform.

Each class maps to one variant of the Rust library's ``innmf::transform::Representation``
(its JSON form ``{"transform": "cqt", ...}``, the one the CLI's ``--transform`` flags and the
model files use). Fields left as ``None`` take the library's defaults, some of which depend on
the sample rate (see :meth:`Representation.resolve`). Times are in samples (window and hop
lengths) or seconds, frequencies in Hz.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Mapping, Sequence

from . import _innmf

__all__ = [
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
]


class Representation:
    """Base class: a transform's name and its settings (checked when constructed)."""

    transform: ClassVar[str] = ""

    def __init__(self, **fields: Any) -> None:
        for alias, name in (("fmin", "f_min"), ("fmax", "f_max")):
            if alias in fields:
                v = fields.pop(alias)
                if v is not None and fields.get(name) is not None:
                    raise TypeError(f"{alias} and {name} are the same field: give one")
                if v is not None:
                    fields[name] = v
        given = {k: _plain(v) for k, v in fields.items() if v is not None}
        known = _defaults(self.transform)
        unknown = sorted(set(given) - set(known) - {"transform"})
        if unknown:
            raise TypeError(
                f"{type(self).__name__}: unknown field(s) {', '.join(unknown)}; "
                f"expected some of {', '.join(k for k in known if k != 'transform')}"
            )
        self._dict: dict[str, Any] = json.loads(
            _innmf.representation_check(json.dumps({"transform": self.transform, **given}))
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form with every field (defaults filled in), as model files record it."""
        return json.loads(json.dumps(self._dict))

    def to_json(self) -> str:
        """:meth:`to_dict` as a JSON string."""
        return json.dumps(self._dict)

    def resolve(self, sample_rate: float) -> dict[str, Any]:
        """The settings at ``sample_rate`` Hz, every sample-rate-dependent default resolved
        (bin counts, top frequencies, multires bands)."""
        return json.loads(_innmf.representation_resolve(self.to_json(), float(sample_rate)))

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__.get("_dict")
        if d is not None and name in d and name != "transform":
            return d[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Representation) and self._dict == other._dict

    def __hash__(self) -> int:
        return hash(self.to_json())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._dict.items() if k != "transform")
        return f"{type(self).__name__}({args})"

    def __getstate__(self) -> dict[str, Any]:
        return self._dict

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._dict = state


_DEFAULTS: dict[str, dict[str, Any]] = {}


def _defaults(transform: str) -> dict[str, Any]:
    if transform not in _DEFAULTS:
        _DEFAULTS[transform] = json.loads(
            _innmf.representation_check(json.dumps({"transform": transform}))
        )
    return _DEFAULTS[transform]


def _plain(v: Any) -> Any:
    if isinstance(v, Representation):
        return v.to_dict()
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if hasattr(v, "item") and callable(v.item):  # numpy scalars
        return v.item()
    return v


class STFT(Representation):
    """Short-time Fourier transform (points on the grid bin k·sr/window_len × frame j·hop/sr).

    window_len: window length (samples); hop: hop (samples); window: ``"hann"``,
    ``"sqrt-hann"``, ``"hamming"``, ``"rect"`` ...; padding: ``"none"`` or ``"center"``; norm:
    ``"ortho"`` (1/√N), ``"amplitude"`` or ``"none"``. Defaults: the paper's speech STFT
    (2000/1000, √Hann, no padding, 1/√N).
    """

    transform = "stft"

    def __init__(
        self,
        window_len: int | None = None,
        hop: int | None = None,
        window: str | None = None,
        padding: str | None = None,
        norm: str | None = None,
    ) -> None:
        super().__init__(window_len=window_len, hop=hop, window=window, padding=padding, norm=norm)


class CQT(Representation):
    """The paper's constant-Q transform (per-bin hop N_k/hop_divisor).

    f_min (Hz), bins_per_octave B, q (cycles per window; None: B), n_bins or f_max (Hz; None:
    6.7 octaves above f_min, below 0.45·sr), hop_divisor, kernels ``"sparse"`` or ``"direct"``.
    """

    transform = "cqt"

    def __init__(
        self,
        f_min: float | None = None,
        bins_per_octave: int | None = None,
        q: float | None = None,
        n_bins: int | None = None,
        f_max: float | None = None,
        hop_divisor: int | None = None,
        kernels: str | None = None,
        *,
        fmin: float | None = None,
        fmax: float | None = None,
    ) -> None:
        super().__init__(
            fmin=fmin,
            fmax=fmax,
            
            f_min=f_min,
            bins_per_octave=bins_per_octave,
            q=q,
            n_bins=n_bins,
            f_max=f_max,
            hop_divisor=hop_divisor,
            kernels=kernels,
        )


class VQT(Representation):
    """librosa-compatible constant-/variable-Q transform (one hop for all bins).

    f_min (Hz; default C1), bins_per_octave, n_bins or f_max (Hz), filter_scale, gamma (Hz;
    0: constant Q), hop (samples).
    """

    transform = "vqt"

    def __init__(
        self,
        f_min: float | None = None,
        bins_per_octave: int | None = None,
        n_bins: int | None = None,
        f_max: float | None = None,
        filter_scale: float | None = None,
        gamma: float | None = None,
        hop: int | None = None,
        *,
        fmin: float | None = None,
        fmax: float | None = None,
    ) -> None:
        super().__init__(
            fmin=fmin,
            fmax=fmax,
            
            f_min=f_min,
            bins_per_octave=bins_per_octave,
            n_bins=n_bins,
            f_max=f_max,
            filter_scale=filter_scale,
            gamma=gamma,
            hop=hop,
        )


class NSGT(Representation):
    """Invertible constant-Q nonstationary Gabor transform (per-band time steps).

    f_min, f_max (Hz; None: 6.7 octaves, below 0.45·sr), bins_per_octave.
    """

    transform = "nsgt"

    def __init__(
        self,
        f_min: float | None = None,
        f_max: float | None = None,
        bins_per_octave: int | None = None,
        *,
        fmin: float | None = None,
        fmax: float | None = None,
    ) -> None:
        super().__init__(
            fmin=fmin,
            fmax=fmax,
            f_min=f_min, f_max=f_max, bins_per_octave=bins_per_octave)


class CWT(Representation):
    """Continuous wavelet transform with an analytic Morlet wavelet.

    f_min, f_max (Hz), voices_per_octave, omega0 (the Morlet's centre frequency, rad), hop (the
    JSON form of the hop rule, e.g. ``{"fraction": 0.5, "max": 512}``).
    """

    transform = "cwt"

    def __init__(
        self,
        f_min: float | None = None,
        f_max: float | None = None,
        voices_per_octave: int | None = None,
        omega0: float | None = None,
        hop: Mapping[str, Any] | None = None,
        *,
        fmin: float | None = None,
        fmax: float | None = None,
    ) -> None:
        super().__init__(
            fmin=fmin,
            fmax=fmax,
            
            f_min=f_min,
            f_max=f_max,
            voices_per_octave=voices_per_octave,
            omega0=omega0,
            hop=dict(hop) if hop is not None else None,
        )


class Sines(Representation):
    """Sinusoidal model: interpolated spectral peaks (points off any grid).

    window_len, hop (samples), zero_pad (FFT size factor), threshold_db (dB below the frame's
    peak), max_peaks per frame, tracking (None, or ``{"max_deviation": {"cents": 50}, "min_len":
    3}``, ``{"hz": 10}`` for a deviation in Hz, to keep only peaks on partial tracks).
    """

    transform = "sines"

    def __init__(
        self,
        window_len: int | None = None,
        hop: int | None = None,
        zero_pad: int | None = None,
        threshold_db: float | None = None,
        max_peaks: int | None = None,
        tracking: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(
            window_len=window_len,
            hop=hop,
            zero_pad=zero_pad,
            threshold_db=threshold_db,
            max_peaks=max_peaks,
            tracking=dict(tracking) if tracking is not None else None,
        )


class Multires(Representation):
    """Multi-resolution STFT on one time axis: band i (between splits) uses windows[i].

    splits (Hz, low to high), windows (samples, one more than splits), hops (samples; None:
    a quarter window), window shape and norm for all bands. None: defaults for the sample rate.
    """

    transform = "multires"

    def __init__(
        self,
        splits: Sequence[float] | None = None,
        windows: Sequence[int] | None = None,
        hops: Sequence[int] | None = None,
        window: str | None = None,
        norm: str | None = None,
    ) -> None:
        super().__init__(
            splits=list(splits) if splits is not None else None,
            windows=list(windows) if windows is not None else None,
            hops=list(hops) if hops is not None else None,
            window=window,
            norm=norm,
        )


class Hybrid(Representation):
    """Several representations placed one signal duration apart in time.

    parts: representations (default: the paper's STFT 128/32, STFT 1024/256, direct CQT).
    """

    transform = "hybrid"

    def __init__(self, parts: Sequence[Representation | Mapping[str, Any]] | None = None) -> None:
        if parts is not None:
            parts = [p.to_dict() if isinstance(p, Representation) else dict(p) for p in parts]
        super().__init__(parts=parts)


_CLASSES: dict[str, type[Representation]] = {
    c.transform: c for c in (STFT, CQT, VQT, NSGT, CWT, Sines, Multires, Hybrid)
}


def representation_from_dict(d: Mapping[str, Any] | str) -> Representation:
    """A representation from its JSON form (a dict or a string), e.g. one a model file records."""
    if isinstance(d, str):
        d = json.loads(d)
    d = dict(d)
    name = d.pop("transform", None)
    cls = _CLASSES.get(str(name).lower()) if name is not None else None
    if cls is None:
        raise ValueError(
            f"transform = {name!r}: expected one of {', '.join(_CLASSES)}"
        )
    obj = cls.__new__(cls)
    Representation.__init__(obj, **d)
    return obj


def as_representation(r: Representation | Mapping[str, Any] | str) -> Representation:
    """A representation object from an object, a JSON dict or a transform name (its defaults)."""
    if isinstance(r, Representation):
        return r
    if isinstance(r, str) and not r.lstrip().startswith("{"):
        return representation_from_dict({"transform": r})
    if isinstance(r, (str, Mapping)):
        return representation_from_dict(r)
    raise TypeError(
        f"representation = {r!r}: expected an innmf representation (STFT(), CQT(), ...), "
        "a dict or a transform name"
    )
