#!/usr/bin/env bash
# sigmax-nn's tests on burn's LibTorch backend (the `tch` feature, CPU): autograd through
# every head against the core's explicit gradients, every head trains, bit-identical
# resume, and checkpoints that move between flex and libtorch with the same accuracy.
# Sets up torch 2.9.0 through scripts/tch-env.sh (SIGMAX_TORCH_VENV names an existing
# venv); the first build takes ~8 min on 2 cores. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tch-env.sh
source scripts/tch-env.sh
cargo test -p sigmax-nn --features tch "$@"
