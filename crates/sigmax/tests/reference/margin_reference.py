#!/usr/bin/env python3
"""Independent reference for sigmax's margin heads: PyTorch autograd (float64) on the
formulas of the papers, written directly with acos (sigmax uses Chebyshev polynomials and
explicit gradients instead). Writes margin_fixtures.json with the inputs and, per head,
the loss, logits and gradients.

Usage: python3 margin_reference.py [--check]    (needs torch and numpy)
"""
import json, math, os, sys
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_default_dtype(torch.float64)


def inputs():
    rng = np.random.default_rng(7)
    n, d, k = 7, 5, 4
    x = rng.normal(size=(n, d))
    w = rng.normal(size=(k, d))
    y = np.array([i % k for i in range(n)])
    # One sample nearly opposite its class weight (θ near π: ArcFace's fallback region)
    # and one nearly along it (θ near 0).
    x[5] = -1.3 * w[y[5]] + 0.05 * rng.normal(size=d)
    x[6] = 0.7 * w[y[6]] + 0.02 * rng.normal(size=d)
    return x, w, y


def psi(theta, m):
    """ψ_m(θ) = (−1)^k cos(mθ) − 2k, k = floor(mθ/π) (L-Softmax, ICML 2016, eq. 6)."""
    k = torch.clamp(torch.floor(m * theta.detach() / math.pi), 0, m - 1)
    sign = 1 - 2 * torch.remainder(k, 2)
    return sign * torch.cos(m * theta) - 2 * k


def logits(head, x, w, y, lam):
    kind = head["kind"]
    f = x @ w.T
    nx = x.norm(dim=1, keepdim=True)
    nw = w.norm(dim=1, keepdim=True).T
    cos = f / (nx * nw)
    onehot = torch.nn.functional.one_hot(torch.as_tensor(y), w.shape[0]).bool()
    theta = torch.acos(torch.clamp(cos, -1.0, 1.0))
    if kind == "softmax":
        return f
    if kind == "lsoftmax":
        target = (lam * f + nx * nw * psi(theta, head["m"])) / (1 + lam)
        return torch.where(onehot, target, f)
    if kind == "modified":
        return nx * cos
    if kind == "asoftmax":
        target = nx * (lam * cos + psi(theta, head["m"])) / (1 + lam)
        return torch.where(onehot, target, nx * cos)
    if kind == "combined":
        s, m1, m2, m3 = head["s"], head["m1"], head["m2"], head["m3"]
        phi = m1 * theta + m2
        margin = torch.where(phi <= math.pi, torch.cos(phi), cos - m2 * math.sin(m2)) - m3
        return s * torch.where(onehot, margin, cos)
    raise ValueError(kind)


HEADS = (
    [dict(kind="softmax")]
    + [dict(kind="lsoftmax", m=m) for m in (1, 2, 3, 4)]
    + [dict(kind="modified")]
    + [dict(kind="asoftmax", m=m) for m in (1, 2, 3, 4)]
    + [dict(kind="combined", name="cosface", s=64.0, m1=1.0, m2=0.0, m3=0.35),
       dict(kind="combined", name="arcface", s=64.0, m1=1.0, m2=0.5, m3=0.0),
       dict(kind="combined", name="arcface-s8", s=8.0, m1=1.0, m2=0.5, m3=0.0),
       dict(kind="combined", name="combined", s=8.0, m1=1.2, m2=0.2, m3=0.1)]
)


def main():
    x0, w0, y = inputs()
    cases = []
    for head in HEADS:
        for lam in ([0.0, 3.0] if head["kind"] in ("lsoftmax", "asoftmax") else [0.0]):
            x = torch.tensor(x0, requires_grad=True)
            w = torch.tensor(w0, requires_grad=True)
            z = logits(head, x, w, y, lam)
            loss = torch.nn.functional.cross_entropy(z, torch.as_tensor(y))
            loss.backward()
            cases.append(dict(head=head, lam=lam, loss=loss.item(), logits=z.detach().tolist(),
                              grad_x=x.grad.tolist(), grad_w=w.grad.tolist()))
    out = dict(made_by=f"margin_reference.py, torch {torch.__version__}, float64",
               x=x0.tolist(), w=w0.tolist(), y=y.tolist(), cases=cases)
    path = os.path.join(HERE, "margin_fixtures.json")
    if "--check" in sys.argv:
        pinned = json.load(open(path))
        worst = max(abs(a["loss"] - b["loss"]) for a, b in zip(cases, pinned["cases"]))
        print(f"largest loss difference to the pinned fixtures: {worst:.2e}")
        sys.exit(0 if worst < 1e-12 else 1)
    json.dump(out, open(path, "w"), indent=1)
    print(f"wrote {len(cases)} cases to {path}")


if __name__ == "__main__":
    main()
