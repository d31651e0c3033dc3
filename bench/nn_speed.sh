#!/usr/bin/env bash
# Training speed of sigmax-nn beside PyTorch CPU on the same MLP and CNN, in one run:
# images/s per training step (median of at least STEPS steps and 2 s), the ratio of
# sigmax-nn's step time to PyTorch's, and the share of a step the margin head takes. Rows
# for burn's flex backend (the default build) and, with --tch, for burn's LibTorch backend
# (sigmax-nn built with `--features tch` through scripts/tch-env.sh, against the same torch
# 2.9.0 that runs the PyTorch reference): `libtorch` with libtorch's native convolution
# and ReLU backward (sigmax-nn's ops), `libtorch-burn-ops` with burn's generic ones.
# sigmax-nn keeps freed buffers for reuse (glibc mallopt, src/allocator.rs); the PyTorch
# reference runs with the same malloc thresholds (MALLOC_*_ below), and once more with glibc's
# defaults, shown beside it.
# Usage: bench/nn_speed.sh [--tch] [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
TCH=0
if [ "${1:-}" = "--tch" ]; then TCH=1; shift; fi
STEPS=${1:-30}
ROUNDS=${ROUNDS:-3}
cargo build --release -q -p sigmax-nn --example nn_speed
flex_bin=target/release/examples/nn_speed
if [ "$TCH" = 1 ]; then
  # A copy: the tch build below relinks the same path.
  cp "$flex_bin" "${TMPDIR:-/tmp}/nn_speed_flex"
  flex_bin="${TMPDIR:-/tmp}/nn_speed_flex"
  # shellcheck source=../scripts/tch-env.sh
  source scripts/tch-env.sh
  cargo build --release -q -p sigmax-nn --features tch --example nn_speed
  tch_bin="${CARGO_TARGET_DIR:-target}/release/examples/nn_speed"
  py=python
else
  python3 -c "import torch" 2>/dev/null || pip install -q "torch==2.9.0"
  py=python3
fi
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $ROUNDS rounds of at least $STEPS steps and 2 s each, sides alternating"
# The sides alternate over ROUNDS rounds (this VM's speed drifts by 20-50% over a minute);
# each row's figure is the median over rounds of the per-round medians.
sx=""; pt=""; pt_default=""
for _ in $(seq "$ROUNDS"); do
  sx="$sx"$'\n'"$("$flex_bin" "$STEPS" flex | tail -n +2)"
  if [ "$TCH" = 1 ]; then
    sx="$sx"$'\n'"$("$tch_bin" "$STEPS" libtorch | tail -n +2)"
    sx="$sx"$'\n'"$("$tch_bin" "$STEPS" libtorch-burn-ops | grep -v head-only | tail -n +2)"
  fi
  # The thresholds of crates/sigmax-nn/src/allocator.rs (MMAP_THRESHOLD, TRIM_THRESHOLD).
  pt="$pt"$'\n'"$(MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=268435456 "$py" bench/nn_speed.py "$STEPS" | tail -n +2)"
  pt_default="$pt_default"$'\n'"$("$py" bench/nn_speed.py "$STEPS" | tail -n +2)"
done
"$py" - "$sx" "$pt" "$pt_default" <<'PY'
import sys
import torch
import statistics
def rows(text, with_backend):
    runs = {}
    for line in text.strip().splitlines():
        parts = line.split(",")
        backend = parts.pop(0) if with_backend else "torch"
        net, head, s, _ = parts
        runs.setdefault((backend, net, head), []).append(float(s))
    return {k: statistics.median(v) for k, v in runs.items()}
sx, pt = rows(sys.argv[1], True), rows(sys.argv[2], False)
pt_default = rows(sys.argv[3], False)
print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads, with sigmax-nn's malloc thresholds")
for (_, net, _), s in pt_default.items():
    print(f"  (PyTorch with glibc's default malloc: {net} {128 / s:.0f} img/s)")
print(f"| backend | network | head | sigmax-nn img/s | PyTorch img/s | time ratio |")
print(f"|---|---|---|---|---|---|")
for (backend, net, head), s in sx.items():
    if net == "head-only":
        continue
    ref = pt.get(("torch", net, "Softmax")) if head == "Softmax" else None
    ratio = f"{s / ref:.2f}" if ref else ""
    ref_ips = f"{128 / ref:.0f}" if ref else ""
    print(f"| {backend} | {net} | {head} | {128 / s:.0f} | {ref_ips} | {ratio} |")
print()
print("margin head share of a training step (head alone: forward + backward + update of W, 128 × 64 features, 10 classes):")
for (backend, net, head), s in sx.items():
    if net != "head-only":
        continue
    for n in ("mlp", "cnn"):
        step = sx.get((backend, n, head))
        if step:
            print(f"  {backend:8} {head:24} {n}: {100 * s / step:5.1f}% of a step ({s * 1e3:.2f} ms of {step * 1e3:.1f} ms)")
PY
