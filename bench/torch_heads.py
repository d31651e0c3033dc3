#!/usr/bin/env python3
"""Margin losses in PyTorch on CPU, side by side in one run: forward + backward of
sigmax.torch's losses (the Rust kernel), the same formulas as torch operations
(sigmax.torch.margin_logits + cross_entropy), and pytorch-metric-learning's losses (when
installed) on the same W, embeddings and labels. Medians of --repeats steps after warm-up;
ratios are sigmax / the other.

Usage (with the package and torch installed, see README "Python"):
    python bench/torch_heads.py [--repeats 30] [--threads N]
"""
import argparse
import math
import statistics
import time

import torch

from sigmax import torch as sx

SHAPES = [  # (batch, embedding, classes, dtype)
    (128, 128, 10, torch.float32),
    (256, 512, 1000, torch.float32),
    (256, 512, 10000, torch.float32),
]


def step_time(loss_func, x, y, repeats):
    params = [p for p in loss_func.parameters()]
    times = []
    for i in range(repeats + 3):
        xi = x.detach().requires_grad_(True)
        t = time.perf_counter()
        loss = loss_func(xi, y)
        torch.autograd.grad(loss, [xi, *params])
        if i >= 3:
            times.append(time.perf_counter() - t)
    return statistics.median(times), loss.item()


class TorchOps(torch.nn.Module):
    """sigmax's formulas as torch operations (the path used off-CPU)."""

    def __init__(self, ours):
        super().__init__()
        self.ours = ours
        self.W = ours.W

    def forward(self, x, y):
        o = self.ours
        logits = sx.margin_logits(
            o._prepare(x), self.W.t(), y, o.head, o._kernel_margin(), o._kernel_scale(), 0.0
        )
        return torch.nn.functional.cross_entropy(logits, y)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        from pytorch_metric_learning import losses as pml
    except ImportError:
        pml = None
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; medians of {args.repeats} steps (forward + backward)")
    print("| loss | batch × emb × classes | sigmax | torch ops | ratio | pytorch-metric-learning | ratio |")
    print("|---|---|---|---|---|---|---|")
    for n, d, k, dtype in SHAPES:
        g = torch.Generator().manual_seed(0)
        x = torch.randn(n, d, generator=g, dtype=dtype)
        y = torch.randint(0, k, (n,), generator=g)
        cases = [
            ("ArcFace", sx.ArcFaceLoss(k, d), pml and pml.ArcFaceLoss(k, d, margin=math.degrees(0.5))),
            ("CosFace", sx.CosFaceLoss(k, d), pml and pml.CosFaceLoss(k, d)),
            ("SphereFace", sx.SphereFaceLoss(k, d, annealing="none"), pml and pml.SphereFaceLoss(k, d)),
        ]
        for name, ours, theirs in cases:
            ours = ours.to(dtype)
            t_ours, l_ours = step_time(ours, x, y, args.repeats)
            t_ops, l_ops = step_time(TorchOps(ours), x, y, args.repeats)
            row = f"| {name} | {n}×{d}×{k} | {t_ours * 1e3:.2f} ms | {t_ops * 1e3:.2f} ms | {t_ours / t_ops:.2f} |"
            if theirs is not None:
                theirs = theirs.to(dtype)
                with torch.no_grad():
                    theirs.W.copy_(ours.W)
                t_pml, l_pml = step_time(theirs, x, y, args.repeats)
                assert math.isclose(l_ours, l_pml, rel_tol=1e-4), (name, l_ours, l_pml)
                row += f" {t_pml * 1e3:.2f} ms | {t_ours / t_pml:.2f} |"
            else:
                row += " (not installed) | |"
            assert math.isclose(l_ours, l_ops, rel_tol=1e-4), (name, l_ours, l_ops)
            print(row, flush=True)


if __name__ == "__main__":
    main()
