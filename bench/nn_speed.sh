#!/usr/bin/env bash
# Training speed of sigmax-nn (burn, flex CPU backend) beside PyTorch CPU on the same MLP
# and CNN, in one run: images/s per training step (median of STEPS), the ratio of
# sigmax-nn's step time to PyTorch's, and the share of a step the margin head takes.
# Usage: bench/nn_speed.sh [STEPS]   (installs torch from pip if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${1:-30}
python3 -c "import torch" 2>/dev/null || pip install -q torch --index-url https://download.pytorch.org/whl/cpu || pip install -q torch
cargo build --release -q -p sigmax-nn --example nn_speed
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
sx=$(target/release/examples/nn_speed "$STEPS")
pt=$(python3 bench/nn_speed.py "$STEPS")
python3 - "$sx" "$pt" <<'PY'
import sys
def rows(text):
    out = {}
    for line in text.strip().splitlines()[1:]:
        net, head, s, ips = line.split(",")
        out[(net, head)] = float(s)
    return out
sx, pt = rows(sys.argv[1]), rows(sys.argv[2])
print(f"{'network':8} {'head':32} {'sigmax-nn img/s':>16} {'PyTorch img/s':>14} {'time ratio':>10}")
for (net, head), s in sx.items():
    if net == "head-only":
        continue
    ref = pt.get((net, "Softmax"))
    ratio = f"{s / ref:.2f}x" if ref and head == "Softmax" else ""
    print(f"{net:8} {head:32} {128 / s:16.0f} {(128 / ref if ref and head == 'Softmax' else float('nan')):14.0f} {ratio:>10}")
print()
print("margin head share of a training step (head alone: forward + backward + update of W, 128 × 64 features, 10 classes):")
for (net, head), s in sx.items():
    if net != "head-only":
        continue
    for n in ("mlp", "cnn"):
        step = sx.get((n, head))
        if step:
            print(f"  {head:32} {n}: {100 * s / step:5.1f}% of a step ({s * 1e3:.2f} ms of {step * 1e3:.1f} ms)")
PY
