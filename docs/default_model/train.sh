#!/usr/bin/env bash
# How the shipped default model (sargeo/models/default.pt) was made: the recipe that docs/default_model/RECIPES.md
# chose, cross-validated over 5 folds of whole scenes and then trained on all 161 real pairs in ../shared/data.
# On one GPU this takes about 5 minutes; on 2 CPU cores, hours. recipes.py ran exactly this (same seed, same code).
set -euo pipefail
cd "$(dirname "$0")/../.."
sargeo crossval --data ../shared/data --out runs/crossval --folds 5 --seed 0 \
  --width 16 --epochs 80 --batch-size 8 --lambda-adv 0 --dropout 0.5 --augment --sar-jitter-db 6 --input-norm tile \
  --water-guard --eval-epochs 20,40,60 --save-final runs/crossval/final.pt
python docs/default_model/package.py runs/crossval/final.pt
