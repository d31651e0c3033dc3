#!/usr/bin/env bash
# Experiment 3, open set: train on Fashion-MNIST classes 0–6 only; embed the test images
# of classes 7–9 (never seen); 6,000 same/different pairs in 10 folds (LFW-style), scored
# by cosine similarity: 10-fold verification accuracy (threshold from the other 9 folds),
# ROC AUC, EER and TAR at FAR = 1e-2 for each head; all ROC curves in one picture.
# Output: results/nn/open-set-$NET-${EPOCHS}ep.md, docs/nn/open-set-roc-$NET.png.
# Env: NET (cnn), EPOCHS (10), SEEDS ("1"), DIM (64), HEADS.
source "$(dirname "$0")/nn_common.sh"
need_fashion
NET=${NET:-cnn}; EPOCHS=${EPOCHS:-10}; SEEDS=${SEEDS:-1}; DIM=${DIM:-64}
out=results/nn/open-$NET-${EPOCHS}ep
mkdir -p "$out" docs/nn
files=(); models=()
for entry in "${RECOGNITION_HEADS[@]}"; do
  name=${entry%%|*} flags=${entry#*|}
  if [ -n "${HEADS:-}" ] && [[ " $HEADS " != *" $name "* ]]; then continue; fi
  for seed in $SEEDS; do
    echo "== $name seed $seed" >&2
    $NN train "${COMPUTE[@]}" --data fashion-train --classes 0-6 --test fashion-test --net "$NET" --dim "$DIM" \
      --epochs "$EPOCHS" --seed "$seed" $flags -o "$out/$name-seed$seed.sxnn" --json > "$out/$name-seed$seed.json"
    files+=("$out/$name-seed$seed.json")
  done
  models+=("$out/$name-seed${SEEDS%% *}.sxnn")
done
python3 scripts/nn_summarize.py "${files[@]}" | tee "results/nn/open-set-$NET-${EPOCHS}ep.md"
$NN roc "${models[@]}" --data fashion-test -o "docs/nn/open-set-roc-$NET.png"
