#!/usr/bin/env python3
"""The one reproducible speed comparison of innmf against its Python baselines (issue 12's
table); run it through `bench/compare.sh`, which builds innmf first.

Each round checks that the machine is quiet (1-minute load average below QUIET_LOAD, waiting
up to QUIET_TIMEOUT seconds; past that the round is recorded as "not quiet" with its load), then
runs every selected workload once per side, alternating: innmf, its baseline(s), next workload.
Every run is a fresh process; its peak memory (maximum resident set, from wait4's rusage), CPU
time, and the CPU that *other* processes used while it ran (machine busy time from /proc/stat
minus the run's own, as a fraction of the cores) are recorded next to its time.

Environment: ROUNDS (3), ONLY (workload names separated by spaces or commas), PYTHON (the
baselines' venv interpreter), INNMF (the binary), OUT (the JSON), QUIET_LOAD (0.5),
QUIET_TIMEOUT (600 s).

The JSON holds the machine, commit, `innmf --version`, package versions and thread counts of
both sides, every round's values and the medians, ratios (baseline / innmf) and targets;
`bench/speed_table.py JSON` prints the README's table from it.
"""

import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
# the shared data and baselines: ../shared next to the checkout, or INNMF_SHARED (a worktree elsewhere)
SHARED = os.path.abspath(os.environ.get("INNMF_SHARED", os.path.join(ROOT, "..", "shared")))
SPEECH = os.path.join(SHARED, "bench", "data", "speech_slt_20s.wav")
PIANO = os.path.join(SHARED, "bench", "data", "piano_4410.wav")
ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                               "NUMBA_NUM_THREADS")}


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def busy_jiffies():
    with open("/proc/stat") as f:
        vals = [int(v) for v in f.readline().split()[1:9]]
    return sum(vals) - vals[3] - vals[4]


def run(cmd, env=None, cwd=ROOT):
    """Runs cmd (stdout to a file), returns (stdout, wall_s, rusage, foreign_cpu_frac)."""
    full_env = dict(os.environ, **(env or {}))
    tck = os.sysconf("SC_CLK_TCK")
    ncpu = os.cpu_count() or 1
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        b0 = busy_jiffies()
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, cwd=cwd, env=full_env, stdout=out, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        b1 = busy_jiffies()
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {p.returncode}:\n{stderr[-3000:]}")
    own = ru.ru_utime + ru.ru_stime
    foreign = max(0.0, ((b1 - b0) / tck - own) / max(wall * ncpu, 1e-9))
    return stdout, wall, ru, round(foreign, 3)


def last_json(text):
    """The JSON object a command printed (whole output, or its last line)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return json.loads(text.strip().splitlines()[-1])


def workloads(py, innmf):
    """name -> definition. `ours`: the innmf command and the key of its figure; `theirs`: commands,
    each giving one or more named baselines (name -> (value, threads)); `targets`: (side, op,
    bound) with side 'innmf' (its median, absolute) or a baseline name (ratio baseline/innmf)."""
    bench = [innmf, "bench", "--shared", SHARED]
    torch_side = [py, os.path.join(ROOT, "bench", "torch_side.py")]

    def torch_fit(doc):
        return lambda d: {doc: (d["value"], d["threads"])}

    def nmf(name):
        return lambda d: {name: (d["value"], d["threads"])}

    blas = f"BLAS default ({os.cpu_count()} cores)"
    bss = [py, os.path.join(ROOT, "tests", "data", "metrics", "bench_bss_eval.py"), "--skip-innmf", "--repeats", "5"]
    ode = os.path.join(SHARED, "data", "music", "ode_piano.wav")
    transforms = [py, os.path.join(ROOT, "tests", "data", "transforms", "bench_transforms.py"),
                  ode, "--only", "vqt"]
    return {
        "stft-fit": {
            "what": "implicit W (K=20, h=64) + explicit H on STFT magnitudes^0.5 of 20 s speech (1001 x 319), Rprop, per step",
            "unit": "ms",
            "ours": (bench + ["stft-fit", "--input", SPEECH, "--steps", "60"], {}, "median_ms"),
            "theirs": [(torch_side + ["stft-fit", "eager"], {}, torch_fit("torch-eager")),
                       (torch_side + ["stft-fit", "compiled"], {}, torch_fit("torch-compiled"))],
            "targets": [("innmf", "<=", 7.0), ("torch-eager", ">=", 3.5), ("torch-compiled", ">=", 2.2)],
        },
        "hybrid-fit": {
            "what": "implicit W and H (K=2, h=16), 99,729 hybrid points, random halves, per step",
            "unit": "ms",
            "ours": (bench + ["hybrid-fit", "--input", PIANO, "--steps", "100"], {}, "median_ms"),
            "theirs": [(torch_side + ["hybrid-fit", "eager"], {}, torch_fit("torch-eager")),
                       (torch_side + ["hybrid-fit", "compiled"], {}, torch_fit("torch-compiled"))],
            "targets": [("torch-eager", ">=", 20.0)],
        },
        "nmf-kl": {
            "what": "KL multiplicative updates, rank 20, 3000 iterations, 1001 x 319",
            "unit": "s",
            "ours": (bench + ["nmf-kl", "--input", SPEECH, "--warmup", "1"], {}, "median_s"),
            "theirs": [(torch_side + ["nmf-kl", "torch-f32"], {}, nmf("torch-f32")),
                       (torch_side + ["nmf-kl", "sklearn"], {}, nmf("sklearn"))],
            "targets": [("innmf", "<=", 1.0), ("torch-f32", ">=", 2.0), ("sklearn", ">=", 6.0)],
        },
        "bss-eval": {
            "what": "BSS Eval, two 5 s sources at 16 kHz, permutation search, 512-tap filters",
            "unit": "ms",
            "ours": (bench + ["bss-eval", "--repeats", "5"], {}, "median_ms"),
            "theirs": [(bss, {}, lambda d: {"mir_eval": (d["mir_eval"]["median_s"] * 1e3, blas),
                                            "fast_bss_eval": (d["fast_bss_eval"]["median_s"] * 1e3, blas)})],
            "targets": [("fast_bss_eval", ">=", 4.0)],
        },
        "analyze-vqt": {
            "what": "VQT of 30 s at 22.05 kHz (20 Hz, 428 bins, 64/octave, hop 512), planning included",
            "unit": "s",
            "ours": (bench + ["analyze-vqt", "--input", ode, "--steps", "5", "--threads", "1"], {}, "median_s"),
            "theirs": [(transforms, ONE_THREAD, lambda d: {"librosa": (d["librosa_vqt_s"], 1)})],
            "targets": [("librosa", ">=", 3.0)],
        },
        "analyze-nsgt": {
            "what": "constant-Q NSGT of 30 s at 22.05 kHz (20-2079 Hz, 64/octave), planning included",
            "unit": "s",
            "ours": (bench + ["analyze-nsgt", "--input", ode, "--steps", "5", "--threads", "1"], {}, "median_s"),
            "theirs": [(transforms, ONE_THREAD, lambda d: {"nsgt": (d["nsgt_s"], 1)})],
            "targets": [("nsgt", ">=", 4.0)],
        },
    }


def wait_quiet(threshold, timeout):
    t0 = time.time()
    while True:
        load = os.getloadavg()[0]
        waited = time.time() - t0
        if load < threshold or waited >= timeout:
            quiet = load < threshold
            log(f"load {load:.2f} after {waited:.0f} s" + ("" if quiet else f" (not quiet: gave up after {timeout:.0f} s)"))
            return {"load1": round(load, 2), "waited_s": round(waited, 1), "quiet": quiet}
        time.sleep(5)


def versions(py):
    code = ("import importlib.metadata as m, json\n"
            "out = {}\n"
            "for p in ('torch', 'scikit-learn', 'numpy', 'scipy', 'librosa', 'nsgt', 'mir_eval', 'fast_bss_eval'):\n"
            "    try: out[p] = m.version(p)\n"
            "    except Exception: out[p] = None\n"
            "print(json.dumps(out))")
    try:
        return json.loads(subprocess.run([py, "-c", code], capture_output=True, text=True, check=True).stdout)
    except (OSError, subprocess.CalledProcessError, json.JSONDecodeError) as e:
        return {"error": repr(e)}


def machine():
    info = {"platform": platform.platform(), "cpu_count": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu_model"] = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return info


def git(*args):
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()


def summarize(name, w, rounds):
    ours = [r["value"] for r in rounds if r.get("value") is not None]
    s = {"what": w["what"], "unit": w["unit"], "rounds": len(ours)}
    if not ours:
        return s
    s["innmf_median"] = statistics.median(ours)
    s["innmf_range"] = [min(ours), max(ours)]
    s["innmf_peak_rss_mb"] = max(r["peak_rss_kb"] for r in rounds if "peak_rss_kb" in r) / 1024
    s["innmf_threads"] = sorted({r["threads"] for r in rounds if "threads" in r})
    s["innmf_foreign_cpu_max"] = max(r["foreign_cpu_frac"] for r in rounds)
    s["baselines"] = {}
    names = list(dict.fromkeys(b for r in rounds for b in r.get("baselines", {})))  # first-seen order
    for b in names:
        runs = [r["baselines"][b] for r in rounds if b in r.get("baselines", {})]
        vals = [x["value"] for x in runs]
        med = statistics.median(vals)
        s["baselines"][b] = {"median": med, "range": [min(vals), max(vals)], "ratio": med / s["innmf_median"],
                             "peak_rss_mb": max(x["peak_rss_kb"] for x in runs) / 1024,
                             "foreign_cpu_max": max(x["foreign_cpu_frac"] for x in runs),
                             "threads": sorted({str(x["threads"]) for x in runs})}
    s["targets"] = []
    for side, op, bound in w["targets"]:
        got = s["innmf_median"] if side == "innmf" else s["baselines"].get(side, {}).get("ratio")
        met = None if got is None else (got <= bound if op == "<=" else got >= bound)
        s["targets"].append({"side": side, "op": op, "bound": bound, "got": got, "met": met})
    return s


def main():
    py = os.environ.get("PYTHON", os.path.expanduser("~/.bench-venv/bin/python"))
    innmf = os.path.abspath(os.environ.get("INNMF", os.path.join(ROOT, "target", "release", "innmf")))
    n_rounds = int(os.environ.get("ROUNDS", "3"))
    threshold = float(os.environ.get("QUIET_LOAD", "0.5"))
    timeout = float(os.environ.get("QUIET_TIMEOUT", "600"))
    if not os.path.isdir(os.path.join(SHARED, "bench")):
        sys.exit(f"no baselines at {SHARED}/bench: set INNMF_SHARED to the shared folder")
    defs = workloads(py, innmf)
    only = os.environ.get("ONLY", "").replace(",", " ").split()
    unknown = [o for o in only if o not in defs]
    if unknown:
        sys.exit(f"ONLY: unknown workload(s) {unknown}; expected some of {list(defs)}")
    names = [n for n in defs if not only or n in only]
    if n_rounds < 1:
        sys.exit(f"ROUNDS={n_rounds}: expected at least 1")
    now = datetime.datetime.now(datetime.timezone.utc)
    out_path = os.environ.get("OUT", os.path.join(ROOT, "bench", f"compare-{now:%Y%m%d-%H%M}.json"))
    res = {
        "generated_utc": now.isoformat(timespec="seconds"),
        "commit": git("rev-parse", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "innmf_version": subprocess.run([innmf, "--version"], capture_output=True, text=True, check=True).stdout.strip(),
        "machine": machine(),
        "python": py,
        "shared": SHARED,
        "python_versions": versions(py),
        "rounds_requested": n_rounds,
        "quiet_rule": f"1-minute load average < {threshold} before each round, waiting at most {timeout:.0f} s",
        "order": "per round: for each workload, innmf then its baseline command(s)",
        "rounds": [],
    }
    per = {n: [] for n in names}
    inductor = tempfile.mkdtemp(prefix="inductor_compare_")
    for r in range(n_rounds):
        q = wait_quiet(threshold, timeout)
        rnd = {"round": r + 1, "started_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               **q, "workloads": {}}
        for n in names:
            w = defs[n]
            cmd, env, key = w["ours"]
            entry = {}
            # every path is absolute: the training inputs are passed with --input, bss-eval's
            # pair and the analyses' recording come from --shared SHARED (in `bench`)
            text, wall, ru, foreign = run(cmd, env)
            d = last_json(text)
            entry.update({"value": d[key], "input": d.get("input"), "peak_rss_kb": ru.ru_maxrss, "threads": d.get("threads"),
                          "wall_s": round(wall, 2), "cpu_s": round(ru.ru_utime + ru.ru_stime, 2),
                          "foreign_cpu_frac": foreign})
            log(f"round {r + 1} {n}: innmf {d[key]:.4g} {w['unit']} ({ru.ru_maxrss / 1024:.0f} MB, foreign {foreign})")
            entry["baselines"] = {}
            for bcmd, benv, extract in w["theirs"]:
                benv = dict(benv, TORCHINDUCTOR_CACHE_DIR=inductor, INNMF_SHARED=SHARED,
                            INNMF_SPEECH_DIR=os.path.join(SHARED, "data", "speech"),
                            INNMF_TORCH_BASELINE=os.path.join(SHARED, "bench", "torch_baseline.py"))
                text, wall, ru, foreign = run(bcmd, benv)
                for b, (value, threads) in extract(last_json(text)).items():
                    entry["baselines"][b] = {"value": value, "threads": threads, "peak_rss_kb": ru.ru_maxrss,
                                             "wall_s": round(wall, 2), "foreign_cpu_frac": foreign}
                    log(f"round {r + 1} {n}: {b} {value:.4g} {w['unit']} (foreign {foreign})")
            rnd["workloads"][n] = entry
            per[n].append(entry)
        res["rounds"].append(rnd)
        res["summary"] = {n: summarize(n, defs[n], per[n]) for n in names}
        res["all_rounds_quiet"] = all(x["quiet"] for x in res["rounds"])
        tmp = out_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(res, f, indent=1)
        os.replace(tmp, out_path)  # after every round: an interrupted run keeps what it measured
    log(f"wrote {out_path}")
    print(out_path)


if __name__ == "__main__":
    main()
