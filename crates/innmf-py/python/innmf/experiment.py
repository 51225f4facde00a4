"""The paper's studies (arXiv 2404.04439: reconstruction, separation, transfer, hybrid) on a folder
of recordings, as units that run anywhere: in this process, or as tasks of a Dask cluster.

A study is a list of **units** (train one model, separate one pair at one window, ...), each
stored as ``OUT/units/<id>.json`` with a hash of the settings it reads; a unit's seed comes from
its id, so the numbers do not depend on where, in which order or on how many workers the units
ran. The same output folder can be shared by the CLI (``innmf experiment run-unit``, its
``--shard I/N`` on Slurm), Python processes and Dask workers: each unit is claimed in
``OUT/claims/`` before it runs, so no unit is computed by two of them at once, and finished units
are never recomputed.

    >>> from dask.distributed import Client, LocalCluster
    >>> from innmf import experiment
    >>> with LocalCluster(n_workers=8, threads_per_worker=1) as cluster, Client(cluster) as client:
    ...     results = experiment.run("separation", "corpus/", "out/", client=client, pairs=500)
    >>> results["rows"]["separation"][0]["sdr"]

``client`` may be any ``dask.distributed.Client``: of a ``LocalCluster``, or of a cluster on
Slurm or Kubernetes (dask-jobqueue, dask-kubernetes). The workers must see the data and output
folders at the same paths (a shared file system) and have this package installed.

Settings (``config``): ``None`` for the paper's (its TIMIT experiments), ``"quick"`` for small
fast ones, a ``dict`` (the ``config`` object of a results.json), or the path of such a JSON file.
The iN-NMF protocol (``preset``): ``"innmf"`` (ours, the default: templates from an NMF warm
start, activations by multiplicative updates) or ``"paper"`` (the authors'), as ``innmf
experiment --preset``; ``None`` takes the config's ``"preset"`` or, when the config names none
and leaves the fields a preset sets at the paper's values, ``"innmf"``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from typing import Any

from . import _checks, _innmf

__all__ = ["plan", "run_unit", "collect", "combine", "run"]

PathLike = str | os.PathLike[str]

STUDIES = ("reconstruction", "separation", "transfer", "hybrid", "all")


def _config_text(config: Any) -> str | None:
    if config is None or config == "quick":
        return config
    if isinstance(config, dict):
        return json.dumps(config)
    if isinstance(config, (str, os.PathLike)):
        with open(config, encoding="utf-8") as f:
            try:
                return f.read()
            except UnicodeDecodeError as e:
                raise ValueError(
                    f"config = {os.fspath(config)!r}: not a UTF-8 JSON file ({e})"
                ) from None
    raise TypeError(
        f"config = {config!r}: expected None, 'quick', a dict or the path of a JSON file"
    )


def plan(
    study: str,
    data: PathLike,
    out: PathLike,
    config: Any = None,
    *,
    pairs: int = 10,
    seed: int | None = None,
    preset: str | None = None,
) -> dict:
    """Plans ``study`` (reconstruction, separation, transfer, hybrid or all) on the recordings of
    ``data`` and writes ``OUT/plan.json``; returns it: ``units`` (each with ``id``, ``kind``,
    ``deps``: the ids it reads, and ``hash``), ``config``, ``studies``, ``pairs``.

    ``pairs`` speaker pairs for the separation study; ``seed`` overrides the config's;
    ``preset`` (``"innmf"``, ``"paper"``) as in the module's notes.
    """
    if study not in STUDIES:
        raise ValueError(f"study = {study!r}: expected one of {', '.join(STUDIES)}")
    text = _innmf.experiment_plan(
        study,
        _checks.path(data, "data"),
        _checks.path(out, "out"),
        _config_text(config),
        # bounded here: a negative or huge count was an OverflowError from the conversion
        _checks.positive_int(pairs, "pairs", 0),
        None if seed is None else _checks.seed(seed, "seed"),
        preset,
    )
    return json.loads(text)


def run_unit(out: PathLike, ids: str | Sequence[str], *, jobs: int = 1) -> None:
    """Runs the units ``ids`` of ``OUT/plan.json``, ``jobs`` at a time (finished ones are
    skipped; a unit whose dependencies are neither finished nor among ``ids`` is a
    ``ValueError`` naming them). The GIL is released while they run."""
    if isinstance(ids, str):
        ids = [ids]
    _innmf.experiment_run_unit(_checks.path(out, "out"), list(ids), _checks.positive_int(jobs, "jobs"))


def collect(out: PathLike) -> dict:
    """Writes ``results.json``, ``REPORT.md`` and the figures from the finished units of
    ``OUT/plan.json`` (the same files as ``innmf experiment collect``); returns the results."""
    return json.loads(_innmf.experiment_collect(_checks.path(out, "out")))


def combine(out: PathLike, runs: Sequence[PathLike]) -> dict:
    """Averages ``runs`` (folders or ``results.json`` files of one study at different seeds) row
    by row and writes ``results.json``, ``REPORT.md`` and the figures into ``out`` (the same
    files as ``innmf experiment combine``); returns the results, whose ``seeds`` lists the runs'.

    A seed changes every random start (NMF's, the networks', the activations' on a mixture); on
    speech one pair's Δ SDR moves by about 0.3 dB between seeds, so comparisons between methods
    are better made on rows averaged over several. The runs must differ in their seed alone
    (reconstruction and separation studies, the same recordings and pairs): anything else is a
    ``ValueError`` naming what differs, as is ``out`` being one of the runs' folders.
    """
    if isinstance(runs, (str, os.PathLike)):
        raise TypeError(f"runs = {runs!r}: expected a sequence of run folders or results.json paths")
    text = _innmf.experiment_combine(
        _checks.path(out, "out"), [_checks.path(r, "runs[]") for r in runs]
    )
    return json.loads(text)


def _run_one(out: str, unit: str, *deps: str) -> str:
    """A Dask task: one unit (its dependencies' tasks are its arguments, so it runs after them)."""
    del deps
    _innmf.experiment_run_unit(out, [unit], 1)
    return unit


def run(
    study: str,
    data: PathLike,
    out: PathLike,
    client: Any = None,
    config: Any = None,
    *,
    pairs: int = 10,
    seed: int | None = None,
    preset: str | None = None,
) -> dict:
    """Plans ``study``, runs every unit and collects the results (``results.json``,
    ``REPORT.md``, figures in ``out``); returns the results.

    With a ``dask.distributed.Client``, each unit is a task (``client.submit``) whose arguments
    are the futures of the units it reads, so Dask runs it after them, on any worker; the
    results are gathered and collected here. Without one, the units run in this process in
    plan order. Finished units (from an earlier, interrupted run) are not recomputed.
    """
    p = plan(study, data, out, config, pairs=pairs, seed=seed, preset=preset)
    out_s = os.path.abspath(os.fspath(out))
    if client is None:
        run_unit(out_s, [u["id"] for u in p["units"]])
        return collect(out_s)
    futures: dict[str, Any] = {}
    for u in p["units"]:
        # the key names the unit, its settings and the folder: a client reused for another
        # folder or other settings does not mistake one task for another
        tag = hashlib.sha256(f"{out_s}\0{u['hash']}".encode()).hexdigest()[:16]
        futures[u["id"]] = client.submit(
            _run_one,
            out_s,
            u["id"],
            *[futures[d] for d in u["deps"]],
            key=f"innmf-{u['id']}-{tag}",
        )
    client.gather(list(futures.values()))
    return collect(out_s)
