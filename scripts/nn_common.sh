# Shared by the sigmax-nn experiment scripts: build the binary, find Fashion-MNIST.
set -euo pipefail
cd "$(dirname "$0")/.."
# FEATURES=tch builds burn's LibTorch backend (scripts/tch-env.sh sets up torch 2.9.0);
# DEVICE=cuda then runs on the GPU (libtorch's CUDA), BACKEND=flex|libtorch picks one.
if [[ ",${FEATURES:-}," == *",tch,"* ]]; then
  # shellcheck source=tch-env.sh
  source scripts/tch-env.sh
fi
cargo build --release -q -p sigmax-nn ${FEATURES:+--features "$FEATURES"}
NN=target/release/sigmax-nn
COMPUTE=(--device "${DEVICE:-cpu}")
if [ -n "${BACKEND:-}" ]; then COMPUTE+=(--backend "$BACKEND"); fi

# Fashion-MNIST from Debian (dataset-fashion-mnist), unless SIGMAX_FASHION_MNIST points elsewhere.
need_fashion() {
  local dir="${SIGMAX_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}"
  if [ ! -e "$dir/train-images-idx3-ubyte.gz" ]; then
    echo "installing Debian's dataset-fashion-mnist (31 MB)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null
  fi
}

# The 7 heads of the papers' 2-D pictures: name and sigmax-nn flags.
PICTURE_HEADS=(
  "softmax|--head softmax"
  "lsoftmax-m2|--head lsoftmax --margin 2"
  "lsoftmax-m3|--head lsoftmax --margin 3"
  "lsoftmax-m4|--head lsoftmax --margin 4"
  "modified|--head modified"
  "asoftmax-m2|--head asoftmax --margin 2"
  "asoftmax-m4|--head asoftmax --margin 4"
)

# The 6 heads compared on recognition.
RECOGNITION_HEADS=(
  "softmax|--head softmax"
  "modified|--head modified"
  "lsoftmax-m4|--head lsoftmax --margin 4"
  "asoftmax-m4|--head asoftmax --margin 4"
  "cosface|--head cosface --scale 30 --margin 0.35"
  "arcface|--head arcface --scale 30 --margin 0.5"
)
