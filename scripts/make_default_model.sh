#!/usr/bin/env bash
# Rebuild the packaged default model (seedgen/models/default.*) from the sample library, end to end.
# Usage: bash scripts/make_default_model.sh WORK_DIR
# Steps: hold back one seed per style (names ending 040-047) for evaluation, augment the other 40 x10,
# rasterize each variant at 256 px, build the patchnn library (training-free: about a minute on 2 cores),
# export it with the training images' fingerprints, then generate 50 seeds and evaluate them against all of
# samples/ and against the held-back seeds, beside one augment variant of each sample (the ceiling).
# The contact sheet it writes (WORK_DIR/gen_default/contact-s1.png) is the one in the README.
set -euo pipefail
work=${1:?usage: make_default_model.sh WORK_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$work/train_seeds" "$work/heldout"
for f in "$root"/samples/*.svg; do
  n=$(basename "$f" .svg); n=${n##*-}
  if [ "$((10#$n))" -ge 40 ]; then cp "$f" "$work/heldout/"; else cp "$f" "$work/train_seeds/"; fi
done
cd "$work"
seedgen augment train_seeds --variants 10 -o variants --seed 1 --quiet
seedgen dataset variants -o data256 --size 256 --crops 1 --seed 1 --quiet
seedgen train data256 --model patchnn --seed 1 -o run_patchnn --quiet
python "$root/scripts/export_default_model.py" run_patchnn/snapshot-latest.safetensors data256 "$root/seedgen/models/default"
seedgen generate --n 50 --svg --seed 1 -o gen_default --quiet
seedgen eval gen_default --reference "$root/samples" --train data256 -o eval_samples --overwrite --quiet
seedgen eval gen_default --reference heldout --train data256 -o eval_heldout --overwrite --quiet
seedgen augment "$root/samples" --variants 1 -o ceiling --seed 3 --quiet
seedgen eval ceiling --reference "$root/samples" -o eval_ceiling --overwrite --quiet
