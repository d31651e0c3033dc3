#!/usr/bin/env bash
# Experiment 2, closed set: Fashion-MNIST test accuracy of the same network with each head,
# over several seeds (mean ± std). Output: results/nn/closed-set-$NET-${EPOCHS}ep.md.
# Env: NET (cnn), EPOCHS (10), SEEDS ("1 2 3"), DIM (64), HEADS (names to run; default all).
source "$(dirname "$0")/nn_common.sh"
need_fashion
NET=${NET:-cnn}; EPOCHS=${EPOCHS:-10}; SEEDS=${SEEDS:-1 2 3}; DIM=${DIM:-64}
out=results/nn/closed-$NET-${EPOCHS}ep
mkdir -p "$out"
files=()
for entry in "${RECOGNITION_HEADS[@]}"; do
  name=${entry%%|*} flags=${entry#*|}
  if [ -n "${HEADS:-}" ] && [[ " $HEADS " != *" $name "* ]]; then continue; fi
  for seed in $SEEDS; do
    echo "== $name seed $seed" >&2
    $NN train "${COMPUTE[@]}" --data fashion-train --test fashion-test --net "$NET" --dim "$DIM" --epochs "$EPOCHS" \
      --seed "$seed" $flags -o "$out/$name-seed$seed.sxnn" --json > "$out/$name-seed$seed.json"
    files+=("$out/$name-seed$seed.json")
  done
done
python3 scripts/nn_summarize.py "${files[@]}" | tee "results/nn/closed-set-$NET-${EPOCHS}ep.md"
