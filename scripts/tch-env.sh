# Source this (bash): sets up the build of sigmax-nn's `tch` feature (burn's LibTorch
# backend) against the libtorch inside PyPI's torch==2.9.0, the version tch 0.22 expects.
#
#   source scripts/tch-env.sh
#   cargo build --release -p sigmax-nn --features tch     # ~8 min the first time (2 cores)
#   target/release/sigmax-nn train --backend libtorch --device cpu   # or --device cuda
#
# It creates (once) a venv with torch 2.9.0 at $SIGMAX_TORCH_VENV (default
# ${TMPDIR:-/tmp}/sigmax-torch-venv; ~7 GB with the CUDA libraries PyPI's wheel brings,
# ~90 s to install here), then exports
#   LIBTORCH_USE_PYTORCH=1   torch-sys finds libtorch through that venv's python
#   PATH                     that python first
#   LD_LIBRARY_PATH          torch/lib, where the binaries find libtorch at run time
# (The tch build lives beside the default one in target/: cargo keeps each feature set's
# artifacts, so switching back and forth relinks but does not recompile.)
# A venv that already has torch 2.9.0 can be named by SIGMAX_TORCH_VENV.

SIGMAX_TORCH_VENV="${SIGMAX_TORCH_VENV:-${TMPDIR:-/tmp}/sigmax-torch-venv}"
if ! "$SIGMAX_TORCH_VENV/bin/python" -c 'import torch, sys; sys.exit(torch.__version__.split("+")[0] != "2.9.0")' 2>/dev/null; then
  echo "tch-env: installing torch==2.9.0 into $SIGMAX_TORCH_VENV" >&2
  python3 -m venv "$SIGMAX_TORCH_VENV" &&
    "$SIGMAX_TORCH_VENV/bin/pip" install -q "torch==2.9.0" numpy || return 1
fi
export LIBTORCH_USE_PYTORCH=1
export PATH="$SIGMAX_TORCH_VENV/bin:$PATH"
export LD_LIBRARY_PATH="$("$SIGMAX_TORCH_VENV/bin/python" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
