#!/usr/bin/env bash
# Experiment 1: the L-Softmax / SphereFace papers' 2-D pictures. Feature dimension 2 on
# MNIST-5k (embedded) and Fashion-MNIST; for each head the test features colored by class,
# and the same normalized onto the unit circle, with the class weight directions.
# Output: docs/nn/embedding-mnist5k.png, docs/nn/embedding-fashion.png (+ models in
# results/nn/pictures/). Env: NET (mlp), EPOCHS_MNIST (30), EPOCHS_FASHION (10).
source "$(dirname "$0")/nn_common.sh"
NET=${NET:-mlp}
# λ anneals fast to ~0 (λ = 1000/(1+0.2·step)²), so the final features show the pure margin.
ANNEAL=${ANNEAL:-1000,0.2,2,0}
out=results/nn/pictures
mkdir -p "$out" docs/nn
run_set() { # data-train data-test epochs tag
  local models=()
  for entry in "${PICTURE_HEADS[@]}"; do
    local name=${entry%%|*} flags=${entry#*|} anneal=()
    # λ annealing is a setting of the L-Softmax / A-Softmax heads only.
    case "$flags" in *lsoftmax*|*asoftmax*) anneal=(--anneal "$ANNEAL") ;; esac
    echo "== $4 $name" >&2
    $NN train "${COMPUTE[@]}" --data "$1" --test "$2" --net "$NET" --dim 2 --epochs "$3" "${anneal[@]}" $flags \
      -o "$out/$4-$name.sxnn" 2>&1 | grep -E "^(test|error)" >&2
    models+=("$out/$4-$name.sxnn")
  done
  $NN plot "${models[@]}" --data "$2" -o "docs/nn/embedding-$4.png"
}
run_set mnist5k-train mnist5k-test "${EPOCHS_MNIST:-30}" mnist5k
need_fashion
run_set fashion-train fashion-test "${EPOCHS_FASHION:-10}" fashion
