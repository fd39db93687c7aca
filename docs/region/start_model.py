"""Train a stand-in for the shipped model that never saw one scene, for an honest before/after.

    python docs/region/start_model.py .cvdata/samples.npz OUT.pt --exclude ROIs1158_spring_101

The shipped default model was trained on every scene in ../shared/data, so measuring how much
fine-tuning on a user's own pairs helps needs a starting model that has not seen them: this one
is made exactly like the default (its recipe, seed and output adjustment factors) from all scenes
but the excluded ones.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from sargeo.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from sargeo.crossval import Sample, fit, mean_rgb
from sargeo.models import default_checkpoint_path
from sargeo.scaling import SarScaling
from sargeo.train import TrainConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("samples", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--exclude", action="append", required=True)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--epochs", type=int, help="override the default model's epochs (quick trials)")
    args = parser.parse_args()
    z = np.load(args.samples)
    samples = [Sample(str(n), str(s), sar.astype(np.float32), rgb.astype(np.float32) / 127.5 - 1.0)
               for n, s, sar, rgb in zip(z["names"], z["scenes"], z["sar"], z["rgb"], strict=True)
               if str(s) not in args.exclude]
    default = load_checkpoint(default_checkpoint_path())
    cfg = replace(TrainConfig.from_dict(default.config), device=args.device)
    cfg = replace(cfg, epochs=args.epochs or cfg.epochs)
    gen = fit(samples, cfg, torch.device(args.device), seed=0)
    adjust = replace(default.adjust, mean_rgb=mean_rgb(samples)) if default.adjust else None
    scenes = sorted({s.scene for s in samples})
    save_checkpoint(Checkpoint(generator=gen.cpu(), scaling=SarScaling(), adjust=adjust,
                               config={**cfg.__dict__, "train_mean_rgb": list(mean_rgb(samples))},
                               split={"train": scenes, "val": [], "test": [], "seed": 0}), args.out)
    print(f"{args.out}: trained on {len(samples)} pairs from {len(scenes)} scenes, without {args.exclude}")


if __name__ == "__main__":
    main()
