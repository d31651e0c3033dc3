#!/usr/bin/env bash
# Softmax regression on Fashion-MNIST (60k train / 10k test, 784 pixels scaled to [0,1]):
# trains with the default solver, reports test accuracy and training time.
# Data: ../shared/data/fashion-mnist, or Debian's dataset-fashion-mnist, or $FASHION_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${FASHION_DIR:-}
for d in ../shared/data/fashion-mnist /usr/share/datasets/fashion-mnist; do
  [ -z "$dir" ] && [ -f "$d/train-images-idx3-ubyte.gz" ] && dir=$d
done
[ -n "$dir" ] || { echo "Fashion-MNIST not found: set FASHION_DIR or apt-get install dataset-fashion-mnist" >&2; exit 1; }
lambda=${LAMBDA:-1e-4}
cargo build --release -q -p sigmax-cli
out=$(mktemp -d)
./target/release/sigmax train "$dir/train-images-idx3-ubyte.gz" --lambda "$lambda" -o "$out/model.json"
./target/release/sigmax eval "$out/model.json" "$dir/t10k-images-idx3-ubyte.gz"
