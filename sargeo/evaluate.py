"""Held-out evaluation of checkpoints next to trivial baselines on the same scenes.

PSNR and SSIM reward blandness, so every report carries two baselines that
need no model: the training set's mean colour everywhere, and the SAR copied
to grey. A model is only worth something where it beats them. Every checkpoint's
recorded split is checked, so no model is scored on scenes it was trained on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from sargeo.checkpoint import load_checkpoint
from sargeo.data import Pair, Split, discover_pairs, load_pair
from sargeo.data.stats import mean_colour
from sargeo.device import resolve_device
from sargeo.metrics import Lpips, LpipsUnavailable, compute_all
from sargeo.model import colorize_patch
from sargeo.report import (
    FIGURES_MISSING,
    comparison_figure,
    figures_available,
    format_table,
    summarize,
    write_rows_csv,
    write_summary_json,
)
from sargeo.scaling import unit_to_image

MEAN_COLOUR = "mean colour"
GREY_SAR = "grey SAR"


@dataclass(frozen=True)
class Method:
    """A named way of turning a SAR patch in [-1, 1] (H, W) into RGB in [0, 1] (H, W, 3)."""

    name: str
    predict: Callable[[np.ndarray], np.ndarray]


def model_method(name: str, path: str | Path, device: torch.device) -> tuple[Method, dict]:
    """Wrap a checkpoint's generator (eval mode); also return its config."""
    ckpt = load_checkpoint(path)
    gen = ckpt.generator.to(device).eval()

    return Method(name, lambda sar: colorize_patch(gen, sar, device)), {"config": ckpt.config,
                                                                        "split": ckpt.split}


def mean_colour_method(rgb: Sequence[float]) -> Method:
    colour = np.asarray(rgb, dtype=np.float32)
    return Method(MEAN_COLOUR, lambda sar: np.broadcast_to(colour, (*sar.shape, 3)).copy())


def grey_sar_method() -> Method:
    return Method(GREY_SAR, lambda sar: np.repeat(unit_to_image(sar)[..., None], 3, axis=-1))


def _resolve_split(split: str | Path | None, metas: list[tuple[str, dict]], part: str,
                   log: Callable[[str], None]) -> Split:
    """The split to score on: ``split`` or else the first recorded one, checked against every checkpoint.

    A checkpoint has seen the parts of its own split before ``part`` (train for val, train
    and val for test) and what its starting checkpoint had seen. Scores on those scenes are not
    held-out scores: refused, or with an explicit ``split`` the caller asked for, reported once
    per checkpoint.
    """
    if split:
        chosen, source = Split.load(split), str(split)
    else:
        first = next(((name, meta["split"]) for name, meta in metas if meta["split"]), None)
        if first is None:
            raise ValueError("no scene split: pass --split (the split.json of the training run)")
        chosen, source = Split.from_dict(first[1]), f"the split of {first[0]}"
    scenes = set(chosen.scenes(part))
    for name, meta in metas:
        if not meta["split"]:
            log(f"Warning: {name} records no scene split, so whether it was trained on the {part} scenes "
                "cannot be checked")
            continue
        own = Split.from_dict(meta["split"])
        leaked = scenes & own.before(part)
        if not leaked:
            continue
        what = f"{name} saw {len(leaked)} of the {len(scenes)} {part} scenes of {source} in training"
        if not split:
            raise ValueError(f"{what}: evaluate it on its own split, or pass --split to score it anyway")
        log(f"Warning: {what}; its scores there are not held-out scores")
    return chosen


def evaluate(
    data: str | Path,
    checkpoints: Sequence[tuple[str, str | Path]],
    out: str | Path,
    split: str | Path | None = None,
    part: str = "test",
    device: str = "auto",
    use_lpips: bool = True,
    n_figure: int = 6,
    log: Callable[[str], None] = print,
) -> dict:
    """Score every checkpoint and both baselines on the held-out part; write CSV, JSON, table, figure."""
    dev = resolve_device(device)
    if n_figure and not figures_available():
        log(f"Note: {FIGURES_MISSING}")
    models = [model_method(name, path, dev) for name, path in checkpoints]
    split_obj = _resolve_split(split, [(method.name, meta) for method, meta in models], part, log)
    found = discover_pairs(data)
    pairs: list[Pair] = split_obj.part(found.pairs, part)
    if not pairs:
        raise ValueError(f"no pairs of the split's {part} scenes found under {data}")
    rgb = next((m["config"].get("train_mean_rgb") for _, m in models if m["config"].get("train_mean_rgb")),
               None)
    if rgb is None:
        rgb = mean_colour(split_obj.part(found.pairs, "train"), seed=0)
    methods = [m for m, _ in models] + [mean_colour_method(rgb), grey_sar_method()]

    lpips = None
    if use_lpips:
        try:
            lpips = Lpips(device=str(dev))
        except LpipsUnavailable as exc:
            log(f"LPIPS unavailable: {exc}")

    rows, samples = [], []
    for i, pair in enumerate(pairs):
        sar, target = load_pair(pair)
        target01 = unit_to_image(target)
        images = {"SAR": unit_to_image(sar), "optical": target01}
        for method in methods:
            pred = method.predict(sar)
            images[method.name] = pred
            rows.append({"method": method.name, "image": pair.name, "scene": pair.scene,
                         "terrain": pair.terrain, **compute_all(pred, target01, lpips)})
        if i < n_figure:
            samples.append({"title": pair.name, "images": images})

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize(rows)
    table = format_table(summary)
    write_rows_csv(rows, out / "per_image.csv")
    write_summary_json(summary, out / "summary.json")
    (out / "summary.txt").write_text(table + "\n")
    (out / "evaluation.json").write_text(json.dumps({
        "part": part, "pairs": len(pairs), "scenes": sorted({p.scene for p in pairs}),
        "lpips": "computed" if lpips else "unavailable", "train_mean_rgb": list(rgb),
        "checkpoints": {name: str(path) for name, path in checkpoints}}, indent=2))
    if samples:
        comparison_figure(samples, out / "comparison.png",
                          columns=["SAR", "optical", *[m.name for m in methods]])
    log(f"{len(pairs)} {part} pairs from {len({p.scene for p in pairs})} scenes")
    log(table)
    return summary
