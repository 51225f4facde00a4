"""Type stubs of the native module ``innmf._innmf`` (pyo3 glue over the ``innmf`` crate).

The public API is the Python layer (``innmf``, ``innmf.metrics``); these functions take checked,
C-contiguous arrays and the JSON forms of the library's settings. Every call runs without the
GIL; errors are ``ValueError`` (bad values), ``OSError`` (files), ``KeyboardInterrupt`` (Ctrl-C
during a fit) or ``RuntimeError`` (an internal error, never an abort of the interpreter).
"""

from collections.abc import Callable
from os import PathLike
from typing import Any

import numpy as np
import numpy.typing as npt

__version__: str

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]

def load_audio(
    path: str | PathLike[str],
    channel: int | None = None,
    sample_rate: int | None = None,
    start: float = 0.0,
    seconds: float | None = None,
) -> tuple[F64, int]:
    """Mono float64 samples ``(n,)`` and the sample rate (Hz)."""

def write_wav(path: str | PathLike[str], samples: F64, sample_rate: int) -> None:
    """Mono 32-bit float WAV, written atomically."""

def check_point_copies(n: int, per_point: int, what: str) -> None:
    """ValueError when copying n points (and per_point more bytes each) would exceed the memory limit."""

def representation_check(json: str) -> str:
    """A representation's JSON form with every field (defaults filled in), checked."""

def representation_resolve(json: str, sample_rate: float) -> str:
    """The representation with its sample-rate-dependent defaults resolved."""

def analyze(
    x: F64, sample_rate: float, representation: str, power: float, calibration: str
) -> tuple[F64, F64, F64, str, str]:
    """``(t, f, m, analysis_json, segments_json)``: points ``|c|^power`` of ``x``."""

class Model:
    """A fitted iN-NMF model (immutable) and its safetensors bytes."""

    @staticmethod
    def from_bytes(data: bytes) -> Model: ...
    @staticmethod
    def load(path: str | PathLike[str]) -> Model: ...
    def to_bytes(self) -> bytes: ...
    def save(self, path: str | PathLike[str]) -> None: ...
    @property
    def rank(self) -> int: ...
    @property
    def w_kind(self) -> str: ...
    @property
    def h_kind(self) -> str: ...
    @property
    def n_params(self) -> int: ...
    @property
    def config_json(self) -> str: ...
    def sample_w(self, freqs: F64) -> F32:
        """``(K, len(freqs))``."""
    def sample_h(self, times: F64) -> F32:
        """``(K, len(times))``."""
    def reconstruct(self, freqs: F64, times: F64) -> F32:
        """``(len(freqs), len(times))``."""
    def predict(self, t: F64, f: F64) -> F64:
        """``(len(t),)``."""

def fit_model(
    t: F64,
    f: F64,
    m: F64,
    *,
    rank: int,
    w: str,
    h: str,
    width: int,
    depth: int,
    n_features: int,
    omega: float,
    init: str,
    log_freq: bool,
    beta: float,
    optimizer: str,
    lr: float,
    steps: int,
    fraction: float,
    tol: float,
    check_every: int,
    seed: int,
    match_scale: bool = False,
    output: str = "softplus",
    h_optimizer: str | None = None,
    analysis: str | None = None,
    source: str = "numpy arrays",
    weights: F64 | None = None,
    progress: Callable[[int, int, float], Any] | None = None,
    preset: str = "paper",
) -> tuple[Model, str]:
    """Builds and fits a model as ``innmf fit`` does: ``(model, report_json)``."""

def nmf_fit(
    x: npt.NDArray[np.floating[Any]],
    *,
    n_components: int,
    beta: float,
    init: str,
    max_iter: int,
    tol: float,
    seed: int,
    alpha_w: float,
    alpha_h: float | None,
    l1_ratio: float,
    update_order: str,
    check_every: int,
    w: npt.NDArray[np.floating[Any]] | None = None,
    h: npt.NDArray[np.floating[Any]] | None = None,
    update_h: bool = True,
    progress: Callable[[int, int, float], Any] | None = None,
) -> tuple[npt.NDArray[np.floating[Any]], npt.NDArray[np.floating[Any]], str, float]:
    """MU NMF in ``x``'s precision: ``(W (F, K), H (K, T), report_json, reconstruction_err)``."""

def bss_eval_sources(
    reference: F64, estimate: F64, compute_permutation: bool
) -> tuple[F64, F64, F64, npt.NDArray[np.int64]]:
    """``(sdr, sir, sar, perm)`` of ``(n_sources, n_samples)`` arrays."""

def si_sdr(reference: F64, estimate: F64, zero_mean: bool) -> float: ...
def stoi(clean: F64, processed: F64, sample_rate: int, extended: bool) -> float: ...
def evaluate(
    references: F64,
    estimates: F64,
    sample_rate: float,
    permutation: bool,
    stoi: bool,
    extended_stoi: bool,
    si_sdr_zero_mean: bool,
) -> str:
    """The scores ``innmf eval`` writes, as JSON."""

def learn_templates(
    x: F64,
    sample_rate: float,
    method: str,
    window: int,
    hop: int,
    settings: str,
    lr: float,
    progress: Callable[[int, int, float], Any] | None = None,
) -> tuple[Model, str]:
    """A source's templates from its solo signal: ``(model, report_json)``."""

def separate(
    mixture: F64,
    sample_rate: float,
    models: list[Model],
    settings: str,
    lr: float,
    other_rates: bool = False,
    progress: Callable[[int, int, float], Any] | None = None,
) -> tuple[list[F64], str]:
    """One signal per model (then the free components'), each as long as the mixture."""

def experiment_plan(
    study: str,
    data: str | PathLike[str],
    out: str | PathLike[str],
    config: str | None = None,
    pairs: int = 10,
    seed: int | None = None,
    preset: str | None = None,
) -> str:
    """Writes OUT/plan.json and returns its JSON text."""

def experiment_run_unit(
    out: str | PathLike[str], ids: list[str], jobs: int = 1, stale_after: float = 300.0
) -> None:
    """Runs the units ``ids`` of OUT/plan.json (finished ones are skipped)."""

def experiment_collect(out: str | PathLike[str]) -> str:
    """Writes results.json, REPORT.md and the figures; returns results.json's text."""

def experiment_combine(out: str | PathLike[str], runs: list[str | PathLike[str]]) -> str:
    """Averages runs at different seeds into OUT; returns results.json's text."""
