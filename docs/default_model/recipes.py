"""Choose the shipped model's recipe by 5-fold scene-wise cross-validation, then train it on everything.

    python docs/default_model/recipes.py .cvdata/samples.npz OUT --only 1,2   # some recipes
    python docs/default_model/recipes.py .cvdata/samples.npz OUT --final      # table + best on all data

Runs `sargeo.crossval.cross_validate` (the code behind `sargeo crossval`) for the recipes
below, all on the same folds, writing OUT/recipe_<i>.json each; several `--only` processes
can share one GPU. `--final` gathers them into OUT/recipes.md and OUT/recipes.json, and
trains the recipe with the best cross-validated score (PSNR + 20 SSIM, adjusted) on all
scenes as OUT/final.pt. Made for a GPU: on a CPU each recipe takes hours (use --epochs to
shorten every recipe for a trial).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from sargeo.crossval import (
    ADJUSTED,
    MEAN_COLOUR,
    MODEL,
    SSIM_WEIGHT,
    Sample,
    cross_validate,
    summary_markdown,
    train_final,
)
from sargeo.train import TrainConfig

BASE = TrainConfig(data="shared/data", out="", width=16, epochs=80, batch_size=8, lambda_adv=0.0,
                   dropout=0.5, augment=True, sar_jitter_db=6.0)
#: name -> recipe, in the order they are tried (most informative first).
RECIPES = {
    "previous default (L1+grad, no GAN, dropout, jitter)": BASE,
    "+ tile standardisation": replace(BASE, input_norm="tile"),
    "+ adversarial loss (paper)": replace(BASE, lambda_adv=1.0),
    "+ L1 in LAB": replace(BASE, loss_space="lab"),
    "+ tile standardisation + L1 in LAB": replace(BASE, input_norm="tile", loss_space="lab"),
    "no SAR jitter": replace(BASE, sar_jitter_db=0.0),
    "width 32": replace(BASE, width=32),
    "paper (width 16): GAN, no dropout, no augmentation": replace(BASE, lambda_adv=1.0, dropout=0.0,
                                                                  augment=False, sar_jitter_db=0.0),
}
FOLDS = 5


def load(path: Path) -> list[Sample]:
    z = np.load(path)
    return [Sample(str(n), str(s), sar.astype(np.float32), rgb.astype(np.float32) / 127.5 - 1.0)
            for n, s, sar, rgb in zip(z["names"], z["scenes"], z["sar"], z["rgb"], strict=True)]


def score(summary: dict, method: str) -> float:
    return summary[method]["psnr"]["mean"] + SSIM_WEIGHT * summary[method]["ssim"]["mean"]


def row(name: str, report: dict, seconds: float) -> str:
    s = report["summary"]
    n = s[MODEL]["psnr"]["n"]
    cells = []
    for method in (MODEL, ADJUSTED):
        w = s[method]["wins_vs_mean_colour"]
        cells.append(f"{s[method]['psnr']['mean']:.2f} / {s[method]['ssim']['mean']:.3f} "
                     f"({w['both']}/{n})")
    a = report["adjust"]
    epochs = ", ".join(f"{e}: {v['psnr']:.2f}/{v['ssim']:.3f}" for e, v in sorted(report["by_epoch"].items()))
    water = "; ".join(f"{sc[:18]} {v[MODEL]:+.0f}->{v[ADJUSTED]:+.0f} (truth {v['optical']:+.0f})"
                      for sc, v in report["water"].items())
    return (f"| {name} | {cells[0]} | {cells[1]} | {a['lightness']:g} / {a['chroma']:g} | "
            f"{s[MEAN_COLOUR]['psnr']['mean']:.2f} / {s[MEAN_COLOUR]['ssim']['mean']:.3f} | {epochs} | "
            f"{water} | {seconds:.0f} |")


HEADER = ("| recipe | model PSNR / SSIM (scenes beating mean colour on both) | adjusted | "
          "lightness / chroma | mean colour | unadjusted by epoch | "
          "water L* minus land L*: model -> adjusted | seconds |\n"
          "| --- | --- | --- | --- | --- | --- | --- | --- |")


def run_recipes(samples: list[Sample], out: Path, which: list[int], device: torch.device,
                epochs: int | None, workers: int) -> None:
    names = list(RECIPES)
    for i in which:
        name = names[i - 1]
        cfg = replace(RECIPES[name], epochs=epochs or RECIPES[name].epochs, device=str(device))
        t = time.perf_counter()
        report = cross_validate(samples, cfg, FOLDS, device, seed=0, adjust=True, water_guard=True,
                                eval_epochs=(20, 40, 60), workers=workers, log=print)
        keep = {k: report[k] for k in ("recipe", "folds", "summary", "by_epoch", "adjust", "adjust_per_fold",
                                       "water", "per_scene", "fold_of")}
        (out / f"recipe_{i}.json").write_text(json.dumps({"name": name, "seconds": time.perf_counter() - t,
                                                          **keep}, indent=1))
        print(row(name, report, time.perf_counter() - t), flush=True)


def final(samples: list[Sample], out: Path, device: torch.device) -> None:
    """Gather the recipes' results, write the table, train the best one on all scenes."""
    results = [json.loads(p.read_text()) for p in sorted(out.glob("recipe_*.json"))]
    lines = [HEADER, *(row(r["name"], r, r["seconds"]) for r in results)]
    (out / "recipes.md").write_text("\n".join(lines) + "\n")
    (out / "recipes.json").write_text(json.dumps(results, indent=1))
    for p in out.glob("recipe_*.json"):
        p.unlink()
    best = max(results, key=lambda r: score(r["summary"], ADJUSTED))
    cfg = replace(TrainConfig.from_dict(best["recipe"]), device=str(device))
    print(f"best: {best['name']}; training it on all scenes", flush=True)
    (out / "best.md").write_text(f"Best recipe: {best['name']}\n\n{summary_markdown(best)}")
    train_final(samples, cfg, best, out / "final.pt", device, seed=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("samples", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--only", default="", help="comma-separated recipe numbers (1-based)")
    parser.add_argument("--final", action="store_true")
    parser.add_argument("--epochs", type=int, help="override every recipe's epochs (quick trials)")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    samples, device = load(args.samples), torch.device(args.device)
    if args.final:
        final(samples, args.out, device)
    else:
        which = [int(i) for i in args.only.split(",") if i] or list(range(1, len(RECIPES) + 1))
        run_recipes(samples, args.out, which, device, args.epochs, args.workers)


if __name__ == "__main__":
    main()
