"""``innmf.experiment``: a small study run by Dask (a ``LocalCluster`` of two worker processes on
the loopback interface) gives the same ``results.json`` as the CLI (same units, same values; the
timings aside), and the plan / run_unit / collect steps behave like the CLI's."""

from __future__ import annotations

import json
import pathlib
import subprocess

import pytest
from dask.distributed import Client, LocalCluster

import innmf
from innmf import experiment


def _results(out: pathlib.Path) -> dict:
    r = json.loads((out / "results.json").read_text())
    for k in ("wall_s", "jobs", "seconds_by_kind"):
        del r[k]
    return r


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, cli: pathlib.Path) -> pathlib.Path:
    d = tmp_path_factory.mktemp("corpus")
    subprocess.run([str(cli), "experiment", "synth-corpus", "--out", str(d)], check=True)
    return d


def test_dask_run_gives_the_cli_results(
    tmp_path: pathlib.Path, cli: pathlib.Path, corpus: pathlib.Path
) -> None:
    plain = tmp_path / "cli"
    subprocess.run(
        [str(cli), "experiment", "separation", "--quick", "--pairs", "1"]
        + ["--data", str(corpus), "--out", str(plain)],
        check=True,
        capture_output=True,
    )
    out = tmp_path / "dask"
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster, Client(cluster) as client:
        r = innmf.experiment.run("separation", corpus, out, client=client, config="quick", pairs=1)
        # the tasks ran on the workers, not here
        assert len(client.scheduler_info()["workers"]) == 2
    assert _results(out) == _results(plain)
    assert r["rows"]["separation"] == _results(plain)["rows"]["separation"]
    assert (out / "REPORT.md").read_text() != ""
    assert (out / "figures" / "separation_sdr.png").is_file()
    # no claim or temporary file is left
    left = [p for p in out.rglob("*") if p.name.endswith((".tmp", ".claim", ".recover"))]
    assert left == []


def test_plan_run_unit_collect(tmp_path: pathlib.Path, corpus: pathlib.Path) -> None:
    out = tmp_path / "o"
    p = experiment.plan("hybrid", corpus, out, {**_quick_config(corpus, tmp_path)}, seed=0)
    assert [u["id"] for u in p["units"]] == ["hybrid.two_notes"]
    assert (out / "plan.json").is_file()
    with pytest.raises(ValueError, match="hybrid.two_notes"):
        experiment.collect(out)  # not finished yet
    with pytest.raises(ValueError, match="no.such.unit"):
        experiment.run_unit(out, ["no.such.unit"])
    experiment.run_unit(out, "hybrid.two_notes")
    r = experiment.collect(out)
    assert len(r["rows"]["hybrid"]) == 1
    # run() without a client runs in this process and finds the unit done
    again = experiment.run("hybrid", corpus, out, config=r["config"])
    assert again["rows"] == r["rows"]
    with pytest.raises(ValueError, match="nonsense"):
        experiment.plan("nonsense", corpus, out)
    with pytest.raises(ValueError, match="config"):
        experiment.plan("hybrid", corpus, out, {"seed": 0})
    with pytest.raises(TypeError, match="config"):
        experiment.plan("hybrid", corpus, out, 3)


def _quick_config(corpus: pathlib.Path, tmp: pathlib.Path) -> dict:
    """The quick settings as a dict (from a plan written with config="quick")."""
    return experiment.plan("hybrid", corpus, tmp / "q", "quick")["config"]


RUNS = pathlib.Path(__file__).resolve().parents[3] / "studies" / "issue15" / "runs"


def _write_run(folder: pathlib.Path, results: dict) -> pathlib.Path:
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps(results))
    return folder


def test_combine_averages_seeds_row_by_row(tmp_path: pathlib.Path) -> None:
    import numpy as np

    src = [json.loads((RUNS / f"all-mid1-tt-f32-s{s}.results.json").read_text()) for s in (0, 1)]
    runs = [_write_run(tmp_path / f"s{s}", r) for s, r in enumerate(src)]
    out = tmp_path / "both"
    r = experiment.combine(out, runs)
    assert r["seeds"] == [0, 1]
    assert (out / "REPORT.md").read_text().count("Seeds 0, 1") == 1
    by_key = [
        {(x["pair"], x["method"], x["window"]): x for x in s["rows"]["separation"]} for s in src
    ]
    assert len(r["rows"]["separation"]) == len(src[0]["rows"]["separation"]) == 112
    for row in r["rows"]["separation"]:
        k = (row["pair"], row["method"], row["window"])
        for m in ("sdr", "sir", "sar", "si_sdr", "stoi"):
            assert row[m] == pytest.approx(np.mean([b[k][m] for b in by_key]), rel=1e-12)
        assert row["per_source"]["sdr"] == pytest.approx(
            np.mean([b[k]["per_source"]["sdr"] for b in by_key], axis=0), rel=1e-12
        )
    # the output never goes over a run's results.json
    before = (runs[0] / "results.json").read_bytes()
    with pytest.raises(ValueError, match="overwritten"):
        experiment.combine(runs[0], runs)
    assert (runs[0] / "results.json").read_bytes() == before
    # runs differing in more than the seed, or at the same seed, are refused by name
    other = dict(src[1], config=dict(src[1]["config"], rank=10))
    with pytest.raises(ValueError, match="rank"):
        experiment.combine(tmp_path / "x", [runs[0], _write_run(tmp_path / "r10", other)])
    with pytest.raises(ValueError, match="seed 0 twice"):
        experiment.combine(tmp_path / "x", [runs[0], runs[0]])
    with pytest.raises(ValueError, match="at least 2 runs"):
        experiment.combine(tmp_path / "x", [runs[0]])
    with pytest.raises(OSError):
        experiment.combine(tmp_path / "x", [runs[0], tmp_path / "missing"])
    with pytest.raises(TypeError, match="sequence"):
        experiment.combine(tmp_path / "x", str(runs[0]))


def test_plan_arguments_beyond_64_bits_and_binary_configs(tmp_path: pathlib.Path) -> None:
    # OverflowErrors from the conversions before; a binary config file a UnicodeDecodeError
    data = tmp_path / "data"
    data.mkdir()
    with pytest.raises(ValueError, match="pairs = -1"):
        experiment.plan("separation", data, tmp_path / "o", "quick", pairs=-1)
    with pytest.raises(ValueError, match="seed = 18446744073709551616"):
        experiment.plan("separation", data, tmp_path / "o", "quick", seed=2**64)
    with pytest.raises(ValueError, match="jobs = -1"):
        experiment.run_unit(tmp_path / "o", [], jobs=-1)
    binary = tmp_path / "config.json"
    binary.write_bytes(b"\x80\x81\x82")
    with pytest.raises(ValueError, match="not a UTF-8 JSON file"):
        experiment.plan("separation", data, tmp_path / "o", binary)
