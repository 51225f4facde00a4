"""Golden fixtures for the iN-NMF engine, computed with PyTorch.

The reference architecture of the paper (models.py in SubramaniKrishna/in-nmf, re-typed from
PAPER.md section 2): per component, Fourier features [cos(pi 2^j u + b_j), sin(...)] (j < 10),
Linear(20->h) without activation, three Linear(h->h)+sin, Linear(h->1), softplus.  Weights are
drawn with NumPy (seeded) and given to both implementations, so only the maths is compared.

Case "w_table": implicit W (K=3, h=16) at 40 frequencies, explicit H (K x 30, softplus) on the
full 40 x 30 grid (the paper's innmf_W).  Case "both": implicit W and H (K=2, h=8) on a cloud of
300 points (the paper's innmf_WH_both).  For each: model output, mean KL loss (eps 1e-8),
gradients of every tensor, and 5 steps of torch.optim.Rprop(lr=1e-3) (parameters and losses).

Run:  python make_engine_fixtures.py   (needs numpy and torch: pip install numpy torch)
Writes engine_w_table.npz, engine_both.npz and versions.json beside this file.
"""
import json
import os
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_default_dtype(torch.float32)


def mlp_params(rng, k, h, nfeat=10):
    shapes = [(2 * nfeat, h), (h, h), (h, h), (h, h), (h, 1)]
    layers = []
    for fi, fo in shapes:
        bound = 1.0 / np.sqrt(fi)
        w = rng.uniform(-bound, bound, size=(k, fi, fo)).astype(np.float32)
        b = rng.uniform(-bound, bound, size=(k, fo)).astype(np.float32)
        layers.append((w, b))
    fb = rng.standard_normal((k, nfeat)).astype(np.float32)
    return fb, layers


def torch_field(u, fb, layers):
    """u: (N,) tensor; fb: (K, J); layers: list of (W (K,in,out), b (K,out)) tensors -> (K, N)."""
    j = fb.shape[1]
    freqs = torch.tensor([np.pi * 2.0 ** l for l in range(j)], dtype=torch.float64)
    # the features of fixed coordinates are constants: computed in f64, then rounded to f32 (as
    # innmf does). Rounding the argument π·2^j·u + b (up to ≈ 1600 rad) to f32 first would move
    # the top features by up to ≈ 6e-5 and the gradients by up to 2e-5 of their largest entry.
    arg = u.double()[None, :, None] * freqs[None, None, :] + fb.double()[:, None, :]
    x = torch.cat([torch.cos(arg), torch.sin(arg)], dim=-1).float()  # (K, N, 2J)
    x = torch.baddbmm(layers[0][1][:, None, :], x, layers[0][0])
    for w, b in layers[1:-1]:
        x = torch.sin(torch.baddbmm(b[:, None, :], x, w))
    x = torch.baddbmm(layers[-1][1][:, None, :], x, layers[-1][0])
    return torch.nn.functional.softplus(x[:, :, 0])


def kl(v, vhat, eps=1e-8):
    return torch.mean(v * torch.log((v + eps) / (vhat + eps)) - v + vhat)


def run_case(name, build):
    params, forward, extra = build()
    tensors = {n: torch.tensor(a, requires_grad=(n != "w_fb" and n != "h_fb")) for n, a in params.items()}
    out = {f"in_{n}": a for n, a in params.items()}
    out.update(extra)
    vhat, loss = forward(tensors)
    loss.backward()
    out["vhat"] = vhat.detach().numpy().astype(np.float64)
    out["loss"] = np.array([loss.item()])
    for n, t in tensors.items():
        if t.requires_grad:
            out[f"grad_{n}"] = t.grad.numpy().astype(np.float64)
    # 5 Rprop steps from the same start
    tensors = {n: torch.tensor(a, requires_grad=(n != "w_fb" and n != "h_fb")) for n, a in params.items()}
    opt = torch.optim.Rprop([t for t in tensors.values() if t.requires_grad], lr=1e-3)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        _, loss = forward(tensors)
        loss.backward()
        losses.append(loss.item())
        opt.step()
    out["rprop_losses"] = np.array(losses)
    for n, t in tensors.items():
        if t.requires_grad:
            out[f"rprop_{n}"] = t.detach().numpy().astype(np.float64)
    np.savez(os.path.join(HERE, f"engine_{name}.npz"), **{k: np.asarray(v, dtype=np.float64) for k, v in out.items()})


def build_w_table():
    rng = np.random.default_rng(20240404)
    k, h, nf, nt = 3, 16, 40, 30
    uf = np.sort(rng.uniform(0.0, 1.0, nf))
    fb, layers = mlp_params(rng, k, h)
    hraw = rng.uniform(0.0, 1.0, (k, nt)).astype(np.float32)
    target = (rng.gamma(2.0, 0.5, (nf, nt)) * (rng.uniform(size=(nf, nt)) > 0.1)).astype(np.float32)
    params = {"w_fb": fb, "h_raw": hraw}
    for l, (w, b) in enumerate(layers):
        params[f"w_l{l}_weight"] = w
        params[f"w_l{l}_bias"] = b
    uf_t = torch.tensor(uf)
    target_t = torch.tensor(target)

    def forward(t):
        lay = [(t[f"w_l{l}_weight"], t[f"w_l{l}_bias"]) for l in range(5)]
        w = torch_field(uf_t, t["w_fb"], lay)  # (K, F)
        vhat = w.T @ torch.nn.functional.softplus(t["h_raw"])  # (F, T)
        return vhat, kl(target_t, vhat)

    return params, forward, {"uf": uf, "target": target.astype(np.float64)}


def build_both():
    rng = np.random.default_rng(7)
    k, h, n = 2, 8, 300
    uf_u = np.sort(rng.uniform(0.0, 1.0, 25))
    ut_u = np.sort(rng.uniform(0.0, 1.0, 60))
    fi = rng.integers(0, 25, n)
    ti = rng.integers(0, 60, n)
    target = rng.gamma(2.0, 0.5, n).astype(np.float32)
    params = {}
    for p in ("w", "h"):
        fb, layers = mlp_params(rng, k, h)
        params[f"{p}_fb"] = fb
        for l, (w, b) in enumerate(layers):
            params[f"{p}_l{l}_weight"] = w
            params[f"{p}_l{l}_bias"] = b
    uf_t, ut_t, target_t = torch.tensor(uf_u), torch.tensor(ut_u), torch.tensor(target)
    fi_t, ti_t = torch.tensor(fi), torch.tensor(ti)

    def forward(t):
        w = torch_field(uf_t, t["w_fb"], [(t[f"w_l{l}_weight"], t[f"w_l{l}_bias"]) for l in range(5)])
        hh = torch_field(ut_t, t["h_fb"], [(t[f"h_l{l}_weight"], t[f"h_l{l}_bias"]) for l in range(5)])
        vhat = (w[:, fi_t] * hh[:, ti_t]).sum(0)
        return vhat, kl(target_t, vhat)

    extra = {"uf": uf_u, "ut": ut_u, "fi": fi.astype(np.float64), "ti": ti.astype(np.float64),
             "target": target.astype(np.float64)}
    return params, forward, extra


if __name__ == "__main__":
    run_case("w_table", build_w_table)
    run_case("both", build_both)
    with open(os.path.join(HERE, "versions.json"), "w") as f:
        json.dump({"torch": torch.__version__, "numpy": np.__version__}, f, indent=1)
    print("wrote fixtures to", HERE)
