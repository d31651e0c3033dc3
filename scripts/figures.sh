#!/usr/bin/env bash
# Regenerates the pictures shown in the README (docs/*.png) from embedded or generated data.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p sigmax-cli
S=./target/release/sigmax
tmp=$(mktemp -d)
mkdir -p docs
$S plot losses -o docs/losses.png
$S plot psi -o docs/psi.png
$S plot boundary --demo softmax -o docs/boundary.png
$S plot roc -o docs/roc.png
# Solvers on heart_scale, λ = 1e-3: Newton, L-BFGS, GD with line search, SGD.
H=crates/sigmax/data/heart_scale
for s in newton lbfgs gd sgd; do
  $S train $H --lambda 1e-3 --solver $s --tol 1e-12 --max-iter 3000 --epochs 40 --learning-rate 1 -o "$tmp/m.json" --log-csv "$tmp/$s.csv" --json > /dev/null 2>&1
done
$S train $H --lambda 1e-3 --solver gd --tol 1e-12 --max-iter 3000 -o "$tmp/m.json" --log-csv "$tmp/gd-linesearch.csv" --json > /dev/null 2>&1
$S plot curve "$tmp/newton.csv" "$tmp/lbfgs.csv" "$tmp/gd-linesearch.csv" "$tmp/gd.csv" "$tmp/sgd.csv" -o docs/curves.png
