#!/usr/bin/env python3
"""One timed run of one Python baseline of `bench/compare.sh` (issue 12's table), as JSON on stdout.

The models, inputs, loss and NMF updates are those of `../shared/bench/torch_baseline.py`
(imported from it, so they cannot drift apart); this file only runs a single side of a single
workload once, so that compare.sh can alternate innmf and the baseline run by run:

  stft-fit   eager | compiled   optimized batched PyTorch model (BatchedImplicit, Rprop foreach),
                                1001 x 319 |STFT|^0.5 of 20 s speech; median ms per step
  hybrid-fit eager | compiled   2K batched implicit networks on the hybrid point set, random
                                50 % per step (gather included); median ms per step
  nmf-kl     torch-f32 | sklearn   KL multiplicative updates, rank 20, 3000 iterations; seconds
                                (PyTorch in float32 with subnormals flushed; scikit-learn mu, float64)

As torch_baseline.py: subnormals flushed (`torch.set_flush_denormal(True)`), glibc malloc in its
"steady" mode (re-exec with GLIBC_TUNABLES), torch's default thread count unless --threads.

    python bench/torch_side.py stft-fit eager [--steps 60] [--warmup 10]
"""

import argparse
import importlib.util
import json
import os
import sys
import time
import warnings

import numpy as np

BASELINE = os.environ.get("INNMF_TORCH_BASELINE", os.path.join(
    os.environ.get("INNMF_SHARED", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared")),
    "bench", "torch_baseline.py"))


def load_baseline():
    spec = importlib.util.spec_from_file_location("torch_baseline", BASELINE)
    tb = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tb)
    return tb


def step_times(step, warmup, steps):
    ts = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        step()
        dt = time.perf_counter() - t0
        if i >= warmup:
            ts.append(dt)
    return ts


def compiled(torch, make_loss, opt):
    """torch.compile of the forward + loss and of the optimiser step, as torch_baseline.py."""
    fwd_loss = torch.compile(make_loss)

    @torch.compile
    def opt_step():
        opt.step()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = fwd_loss()
        loss.backward()
        opt_step()
        return loss

    return step


def stft_fit(tb, torch, args):
    _, s = tb.load_speech(args.speech)
    spec = tb.stft_mag_w1(s, 2000, 1000) ** 0.5
    fb, t = spec.shape
    finds = torch.arange(fb) / fb - 0.5
    torch.manual_seed(args.seed)
    model = tb.build_models(torch)["OptW"](20, 64, t, finds)
    opt = torch.optim.Rprop(model.parameters(), lr=1e-3, foreach=True)
    loss_fn = lambda: tb.kl_loss(torch, spec, model())  # noqa: E731
    if args.impl == "eager":
        def step():
            opt.zero_grad(set_to_none=True)
            loss = loss_fn()
            loss.backward()
            opt.step()
            return loss
    else:
        step = compiled(torch, loss_fn, opt)
    return {"shape": [fb, t], "unit": "ms"}, step


def hybrid_fit(tb, torch, args):
    sr, s = tb.load_piano(args.piano)
    mag, finds, tinds, _ = tb.hybrid_point_set(s, sr)
    p = mag.shape[0]
    p_sub = int(0.5 * p)
    m32, f32, t32 = (torch.from_numpy(a).float() for a in (mag, finds, tinds))
    torch.manual_seed(args.seed)
    model = tb.build_models(torch)["OptWH"](2, 16)
    opt = torch.optim.Rprop(model.parameters(), lr=1e-3, foreach=True)
    if args.impl == "eager":
        def step():
            idx = torch.randperm(p)[:p_sub]
            opt.zero_grad(set_to_none=True)
            loss = tb.kl_loss(torch, m32[idx], model(f32[idx], t32[idx]))
            loss.backward()
            opt.step()
            return loss
    else:
        fwd_loss = torch.compile(lambda m_, f_, t_: tb.kl_loss(torch, m_, model(f_, t_)))

        @torch.compile
        def opt_step():
            opt.step()

        def step():
            idx = torch.randperm(p)[:p_sub]
            opt.zero_grad(set_to_none=True)
            loss = fwd_loss(m32[idx], f32[idx], t32[idx])
            loss.backward()
            opt_step()
            return loss
    return {"points": int(p), "points_per_step": p_sub, "unit": "ms"}, step


def nmf_kl(tb, torch, args):
    _, s = tb.load_speech(args.speech)
    spec = tb.stft_mag_w1(s, 2000, 1000) ** 0.5
    x = spec.numpy()
    t0 = time.perf_counter()
    if args.impl == "torch-f32":
        w, h = tb.nmf_kl_torch(torch, spec, 20, args.iters, torch.float32, args.seed)
        xhat = (w @ h).double().numpy()
    else:
        from sklearn.decomposition import NMF
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mdl = NMF(n_components=20, solver="mu", beta_loss="kullback-leibler", max_iter=args.iters, tol=0,
                      random_state=args.seed)
            w = mdl.fit_transform(x.astype(np.float64))
        xhat = w @ mdl.components_
    secs = time.perf_counter() - t0
    return {"shape": list(x.shape), "iterations": args.iters, "unit": "s", "value": secs,
            "kld_freq": tb.kld_freq(x, xhat)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workload", choices=("stft-fit", "hybrid-fit", "nmf-kl"))
    ap.add_argument("impl", choices=("eager", "compiled", "torch-f32", "sklearn"))
    ap.add_argument("--steps", type=int, default=60, help="timed steps (fits)")
    ap.add_argument("--warmup", type=int, default=10, help="untimed steps (fits; compiled: after compiling)")
    ap.add_argument("--iters", type=int, default=3000, help="NMF iterations")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--speech", default=None)
    ap.add_argument("--piano", default=None)
    args = ap.parse_args()
    fits = {"stft-fit": ("eager", "compiled"), "hybrid-fit": ("eager", "compiled"), "nmf-kl": ("torch-f32", "sklearn")}
    if args.impl not in fits[args.workload]:
        ap.error(f"{args.workload} has the baselines {fits[args.workload]}, not {args.impl!r}")
    tb = load_baseline()
    if os.environ.get("INNMF_BENCH_MALLOC") != "steady":
        # as torch_baseline.py: GLIBC_TUNABLES is read at process start, so re-exec with it set
        env = dict(os.environ)
        env["GLIBC_TUNABLES"] = ":".join(v for v in (env.get("GLIBC_TUNABLES"), tb.STEADY_MALLOC) if v)
        env["INNMF_BENCH_MALLOC"] = "steady"
        os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:], env)
    args.speech = args.speech or os.path.join(tb.DATA, "speech_slt_20s.wav")
    args.piano = args.piano or os.path.join(tb.HERE, "..", "data", "music", "learnerspiano_low_octave.wav")
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    out = {"workload": args.workload, "impl": args.impl, "torch": torch.__version__,
           "threads": torch.get_num_threads(), "baseline_script": os.path.abspath(BASELINE),
           "baseline_sha256": tb.sha256_of(BASELINE)}
    if args.workload == "nmf-kl":
        out.update(nmf_kl(tb, torch, args))
        if args.impl == "sklearn":
            import sklearn
            out["sklearn"] = sklearn.__version__
            out["dtype"] = "float64"
        else:
            out["dtype"] = "float32, subnormals flushed"
    else:
        info, step = (stft_fit if args.workload == "stft-fit" else hybrid_fit)(tb, torch, args)
        out.update(info)
        if args.impl == "compiled":
            t0 = time.perf_counter()
            step()
            step()
            out["compile_and_first2_s"] = round(time.perf_counter() - t0, 2)
        ts = step_times(step, args.warmup, args.steps)
        out.update({"warmup_steps": args.warmup, "timed_steps": len(ts), "value": float(np.median(ts)) * 1e3,
                    "p10_ms": float(np.percentile(ts, 10)) * 1e3, "p90_ms": float(np.percentile(ts, 90)) * 1e3})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
