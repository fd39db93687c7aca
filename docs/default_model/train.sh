#!/usr/bin/env bash
# How the shipped default model (sargeo/models/default.pt) was trained: on 2 CPU cores, about 2 hours.
# Data: the real pairs in ../shared/data (SEN1-2 PNGs, SEN12MS-CR and BigEarthNet GeoTIFFs), with the
# hand-made scene split in this folder (whole scenes held out for validation and test).
set -euo pipefail
cd "$(dirname "$0")/../.."
sargeo train --data ../shared/data --split docs/default_model/split.json --out runs/default \
  --width 16 --epochs 80 --batch-size 8 --augment --sar-jitter-db 6 --dropout 0.5 --lambda-adv 0 --lambda-l1 100 --lambda-grad 100 \
  --best-from-epoch 20 --save-every 10 --device cpu --quiet
