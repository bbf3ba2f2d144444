#!/usr/bin/env bash
# Rebuild the packaged default model (seedgen/models/default.*) from the sample library, end to end.
# Usage: bash scripts/make_default_model.sh WORK_DIR [KIMG]
# Steps: hold back one seed per style (names ending 040-047) for evaluation, augment the other 40 x10,
# rasterize 2 crops each at 64 px, train StyleGAN2-ADA (small config), export G_ema with training-set
# fingerprints, and evaluate it against the held-back seeds beside the procedural baseline.
set -euo pipefail
work=${1:?usage: make_default_model.sh WORK_DIR [KIMG]}
kimg=${2:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$work/train_seeds" "$work/heldout"
for f in "$root"/samples/*.svg; do
  n=$(basename "$f" .svg); n=${n##*-}
  if [ "$((10#$n))" -ge 40 ]; then cp "$f" "$work/heldout/"; else cp "$f" "$work/train_seeds/"; fi
done
cd "$work"
seedgen augment train_seeds --variants 10 -o variants --seed 1 --quiet
seedgen dataset variants -o data64 --size 64 --crops 2 --seed 1 --quiet
OMP_NUM_THREADS=1 seedgen train data64 -o run_sg2 --cfg small --kimg "$kimg" --snap 0.5 --seed 1 --quiet
python "$root/scripts/export_default_model.py" run_sg2/snapshot-latest.safetensors data64 "$root/seedgen/models/default"
seedgen augment heldout --variants 8 -o ref_variants --seed 7 --quiet
seedgen generate --n 48 --svg --size 256 -o gen_default --seed 1 --quiet
seedgen eval gen_default --reference ref_variants --train data64 -o eval_default --overwrite --quiet
seedgen synth -n 48 -o synth_base --seed 99 --size 512
seedgen eval synth_base --reference ref_variants --train data64 -o eval_synth --overwrite --quiet
