"""Scene-wise cross-validation: how a training recipe does on scenes it never saw.

Every scene lands in exactly one of K folds (balanced by pair count). For each fold a
model is trained on the other folds' scenes and scored on its own, next to two
baselines that need no model: the mean colour of that fold's training scenes and the
SAR as grey. With a dozen scenes a single held-out split swings by several dB, so
only the per-scene results over all folds say whether a recipe beats painting
everything one colour.

The output adjustment (shrinking toward the mean colour in CIELAB, the water guard)
is chosen honestly too: each fold gets the factors that scored best on the other
folds' held-out predictions.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sargeo.checkpoint import Checkpoint, save_checkpoint
from sargeo.data.dataset import augment_pair, jitter_unit
from sargeo.data.split import Split, listed
from sargeo.data.stats import mean_of_images
from sargeo.device import autocast, autocast_dtype
from sargeo.evaluate import GREY_SAR, MEAN_COLOUR
from sargeo.metrics import compute_all
from sargeo.model import Generator
from sargeo.postprocess import OutputAdjust, adjust_images
from sargeo.report import SCORE_DIGITS, SCORE_HEADERS, mean_sd_cells, scene_table
from sargeo.scaling import SarScaling, unit_to_image, unit_to_uint8_tensor
from sargeo.train import (
    TrainConfig,
    build_models,
    build_optimizers,
    gan_step,
    init_adjust,
    learnt_by,
    start_from,
)

MODEL = "model"
ADJUSTED = "model, adjusted"
STARTING = "starting model"
#: Shrink factors tried for lightness and for chroma (1 = the model's output, 0 = the flat mean colour).
SHRINK_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)
#: Selection score: PSNR (dB) + this x SSIM, i.e. 0.05 SSIM is worth 1 dB; both metrics count.
SSIM_WEIGHT = 20.0
#: Pixels counted as calm water when checking the water rule: smoothed SAR below -20 dB
#: (unit -0.6 on the default window) and dark in the optical truth.
WATER_SAR_UNIT, WATER_MAX_L = -0.6, 35.0
#: Scenes where water covers more than this leave too little land to compare with.
MAX_WATER_FRACTION = 0.9


@dataclass(frozen=True)
class Sample:
    """One SAR / optical patch in the model's [-1, 1] range: SAR (H, W), RGB (3, H, W)."""

    name: str
    scene: str
    sar: np.ndarray
    rgb: np.ndarray


def load_samples(data: str | Path, log: Callable[[str], None] = print) -> list[Sample]:
    """Every pair under `data` (any layout `sargeo train` reads), in memory: this is for small data."""
    from sargeo.data import discover_pairs, load_pair

    found = discover_pairs(data)
    if found.skipped:
        log(f"{len(found.skipped)} file(s) skipped (unpaired or unreadable), e.g. {found.skipped[0]}")
    samples = []
    for pair in found.pairs:
        sar, rgb = load_pair(pair)
        samples.append(Sample(pair.name, pair.scene, sar, rgb))
    return samples


def assign_folds(samples: Sequence[Sample], folds: int, seed: int = 0) -> dict[str, int]:
    """Scene -> fold, whole scenes only, folds balanced by pair count (largest scenes placed first)."""
    counts: dict[str, int] = defaultdict(int)
    for s in samples:
        counts[s.scene] += 1
    if folds < 2:
        raise ValueError(f"cross-validation needs at least 2 folds, got {folds}")
    if len(counts) < folds:
        raise ValueError(f"{folds} folds need at least {folds} scenes, the data has {len(counts)}")
    scenes = sorted(counts)
    random.Random(seed).shuffle(scenes)
    scenes.sort(key=lambda sc: -counts[sc])  # stable: equal sizes keep the seeded order
    load = [0] * folds
    fold_of = {}
    for scene in scenes:
        k = min(range(folds), key=lambda i: (load[i], i))
        fold_of[scene] = k
        load[k] += counts[scene]
    return fold_of


def mean_rgb(samples: Iterable[Sample]) -> tuple[float, float, float]:
    """Mean optical colour in [0, 1]: the flat-colour baseline and the shrink target."""
    return tuple(float(v) for v in mean_of_images(s.rgb for s in samples))


def fit(samples: Sequence[Sample], cfg: TrainConfig, device: torch.device, seed: int = 0,
        on_epoch: Callable[[int, Generator], None] | None = None,
        progress: Callable[[int], None] | None = None, init: Checkpoint | None = None) -> Generator:
    """Train a generator on in-memory samples with the recipe `cfg` (same losses and steps as
    `sargeo train`, without its run folder), from `init`'s weights when given;
    `on_epoch(epoch, gen)` sees the model after each epoch."""
    if len(samples) < 2:
        raise ValueError("need at least 2 training pairs (BatchNorm needs batches of 2 or more)")
    torch.manual_seed(seed)
    gen, disc = build_models(cfg)
    if init is not None:
        start_from(gen, init)
    gen.to(device)
    disc.to(device)
    opt_g, opt_d = build_optimizers(cfg, gen, disc)
    sar = torch.from_numpy(np.stack([s.sar for s in samples])[:, None]).float().to(device)
    rgb = torch.from_numpy(np.stack([s.rgb for s in samples])).float().to(device)
    amp = autocast_dtype(device) if cfg.amp else None
    jitter = jitter_unit(cfg.sar_jitter_db)

    n, batch = len(samples), min(cfg.batch_size, len(samples))
    for epoch in range(1, cfg.epochs + 1):
        gen.train()
        disc.train()
        order = torch.randperm(n)
        for start in range(0, n - batch + 1, batch):  # drop the last short batch, like train
            idx = order[start:start + batch].to(device)
            pairs = [augment_pair(x, y, jitter, cfg.augment) for x, y in zip(sar[idx], rgb[idx], strict=True)]
            x, y = torch.stack([p[0] for p in pairs]), torch.stack([p[1] for p in pairs])
            gan_step(gen, disc, opt_g, opt_d, x, y, cfg, lambda: autocast(device, amp))
        if progress is not None:
            progress(1)
        if on_epoch is not None:
            gen.eval()
            on_epoch(epoch, gen)
    return gen.eval()


@torch.no_grad()
def predict(gen: torch.nn.Module, samples: Sequence[Sample], device: torch.device,
            batch: int = 32) -> np.ndarray:
    """RGB predictions as uint8 (N, H, W, 3), the precision the scene engine writes."""
    out = []
    for i in range(0, len(samples), batch):
        x = torch.from_numpy(np.stack([s.sar for s in samples[i:i + batch]])[:, None]).float().to(device)
        y = gen(x).float().clamp(-1, 1)
        out.append(unit_to_uint8_tensor(y).permute(0, 2, 3, 1).cpu().numpy())
    return np.concatenate(out)


def _to_uint8(rgb01: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(rgb01 * 255.0), 0, 255).astype(np.uint8)


def _flat(colour: Sequence[float], shape: tuple[int, int]) -> np.ndarray:
    return np.broadcast_to(_to_uint8(np.asarray(colour, np.float32)), (*shape, 3)).copy()


def _grey(sar: np.ndarray) -> np.ndarray:
    return np.repeat(_to_uint8(unit_to_image(sar))[..., None], 3, axis=-1)


def apply_adjust(pred: np.ndarray, samples: Sequence[Sample], adjust: OutputAdjust) -> np.ndarray:
    """The output adjustment on uint8 predictions, as the engine applies it to the model's output."""
    rgb = torch.from_numpy(pred).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    sar = torch.from_numpy(np.stack([s.sar for s in samples])[:, None]).float()
    out = adjust_images(rgb, sar, adjust).clamp(-1, 1)
    return unit_to_uint8_tensor(out).permute(0, 2, 3, 1).numpy()


def _scores(args: tuple[np.ndarray, np.ndarray, bool]) -> dict[str, float]:
    pred, target, full = args
    p, t = pred.astype(np.float32) / 255.0, target.astype(np.float32) / 255.0
    if full:
        return compute_all(p, t, None)
    from sargeo.metrics import psnr, ssim

    return {"psnr": psnr(p, t), "ssim": ssim(p, t)}


class _Scorer:
    """Metrics of many images, on several processes when there are cores to spare."""

    def __init__(self, workers: int) -> None:
        # spawn, not fork: the parent may hold a CUDA context, which forked children must not inherit
        self.pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) \
            if workers > 1 else None

    def __call__(self, preds: np.ndarray, targets: np.ndarray, full: bool = True) -> list[dict[str, float]]:
        jobs = [(p, t, full) for p, t in zip(preds, targets, strict=True)]
        if self.pool is None:
            return [_scores(j) for j in jobs]
        return list(self.pool.map(_scores, jobs, chunksize=8))

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()


def _scene_mean(rows: Sequence[dict[str, Any]], value: Callable[[dict[str, Any]], float]) -> float:
    """Mean over scenes of the per-scene mean: every scene counts once, whatever its size."""
    by_scene: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        by_scene[r["scene"]].append(value(r))
    return float(np.mean([np.mean(v) for v in by_scene.values()]))


def _scene_score(rows: Sequence[dict[str, Any]]) -> float:
    """The selection score: PSNR + SSIM_WEIGHT * SSIM, scene-averaged."""
    return _scene_mean(rows, lambda r: r["psnr"] + SSIM_WEIGHT * r["ssim"])


def _per_scene(rows: Sequence[dict[str, Any]], metrics: Sequence[str]) -> dict[str, dict[str, dict]]:
    """method -> scene -> {fold, pairs, metric means}."""
    out: dict[str, dict[str, dict]] = defaultdict(dict)
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows:
        groups[(r["method"], r["scene"])].append(r)
    for (method, scene), rs in sorted(groups.items()):
        out[method][scene] = {"fold": rs[0]["fold"], "pairs": len(rs),
                              **{m: float(np.mean([r[m] for r in rs])) for m in metrics if m in rs[0]}}
    return dict(out)


def _summary(per_scene: dict[str, dict[str, dict]], metrics: Sequence[str]) -> dict[str, dict]:
    """Mean and spread over scenes per method, and wins against the mean colour scene by scene."""
    base = per_scene[MEAN_COLOUR]
    out = {}
    for method, scenes in per_scene.items():
        stats = {m: {"mean": float(np.mean([s[m] for s in scenes.values()])),
                     "std": float(np.std([s[m] for s in scenes.values()])), "n": len(scenes)}
                 for m in metrics if m in next(iter(scenes.values()))}
        wins = {m: sum(scenes[sc][m] > base[sc][m] for sc in scenes) for m in ("psnr", "ssim")}
        wins["both"] = sum(scenes[sc]["psnr"] > base[sc]["psnr"] and scenes[sc]["ssim"] > base[sc]["ssim"]
                           for sc in scenes)
        out[method] = {**stats, "wins_vs_mean_colour": wins}
    return out


def _water_check(samples: Sequence[Sample], preds: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Scenes with calm water (2-90 % of pixels): mean L* of water minus mean L* of land, per method
    and for the optical truth (negative: water darker, as it should be)."""
    from scipy.ndimage import uniform_filter
    from skimage.color import rgb2lab

    masks, by_scene = [], defaultdict(list)
    for i, s in enumerate(samples):
        truth_l = rgb2lab(unit_to_image(s.rgb))[..., 0]
        water = (uniform_filter(s.sar, 9, mode="reflect") < WATER_SAR_UNIT) & (truth_l < WATER_MAX_L)
        masks.append(water)
        by_scene[s.scene].append(i)
    out: dict[str, dict[str, float]] = {}
    for scene, idx in sorted(by_scene.items()):
        water = np.stack([masks[i] for i in idx])
        if not 0.02 <= water.mean() <= MAX_WATER_FRACTION:
            continue
        row = {"water_fraction": float(water.mean())}
        images = {"optical": np.stack([_to_uint8(unit_to_image(samples[i].rgb)) for i in idx]),
                  **{m: p[idx] for m, p in preds.items()}}
        for name, imgs in images.items():
            light = rgb2lab(imgs.astype(np.float32) / 255.0)[..., 0]
            row[name] = float(light[water].mean() - light[~water].mean())
        out[scene] = row
    return out


def cross_validate(
    samples: Sequence[Sample],
    cfg: TrainConfig,
    folds: int = 5,
    device: torch.device | str = "cpu",
    seed: int = 0,
    adjust: bool = True,
    water_guard: bool = False,
    eval_epochs: Sequence[int] = (),
    workers: int = 1,
    log: Callable[[str], None] = print,
    progress: Callable[[int], None] | None = None,
    init: Checkpoint | None = None,
) -> dict[str, Any]:
    """Train one model per fold and score every scene while held out; returns the full report
    (per-image rows, per-scene table, summary, chosen adjustment, water check, predictions).

    With `init`, every fold fine-tunes that checkpoint, and the checkpoint as it is (with its own
    output adjustment) is scored too, as "starting model": the gain fine-tuning brings.
    """
    device = torch.device(device)
    learnt = sorted(set(learnt_by(init, log)) & {s.scene for s in samples})
    if learnt:
        log(f"Warning: the --init checkpoint learnt from {len(learnt)} of these scenes ({listed(learnt)}): "
            "their scores, and the starting model's, are not held-out scores")
    fold_of = assign_folds(samples, folds, seed)
    order = sorted(range(len(samples)), key=lambda i: (fold_of[samples[i].scene], samples[i].name))
    samples = [samples[i] for i in order]
    fold = np.array([fold_of[s.scene] for s in samples])
    targets = np.stack([_to_uint8(unit_to_image(s.rgb)) for s in samples])
    size = samples[0].sar.shape
    preds = {MODEL: np.zeros_like(targets), MEAN_COLOUR: np.zeros_like(targets),
             GREY_SAR: np.stack([_grey(s.sar) for s in samples])}
    if init is not None:
        preds[STARTING] = predict(init.generator.to(device).eval(), samples, device)
    epoch_preds: dict[int, np.ndarray] = {e: np.zeros_like(targets) for e in eval_epochs if e < cfg.epochs}
    means: dict[int, tuple[float, float, float]] = {}
    for k in range(folds):
        held = np.flatnonzero(fold == k)
        train_set = [samples[i] for i in np.flatnonzero(fold != k)]
        held_set = [samples[i] for i in held]
        means[k] = mean_rgb(train_set)
        preds[MEAN_COLOUR][held] = _flat(means[k], size)

        def snapshot(epoch: int, gen: Generator, held: np.ndarray = held,
                     held_set: list[Sample] = held_set) -> None:
            if epoch in epoch_preds:
                epoch_preds[epoch][held] = predict(gen, held_set, device)

        gen = fit(train_set, cfg, device, seed=seed + k, on_epoch=snapshot, progress=progress, init=init)
        preds[MODEL][held] = predict(gen, held_set, device)
        log(f"fold {k + 1}/{folds}: trained on {len(train_set)} pairs, held out {len(held)} pairs of "
            f"{len({s.scene for s in held_set})} scene(s)")

    scorer = _Scorer(workers)
    try:
        chosen, final = {}, None
        if adjust:
            preds[ADJUSTED], chosen, final = _choose_adjust(samples, fold, preds[MODEL], targets, means,
                                                            water_guard, scorer)
        rows = []
        for method, p in preds.items():
            for i, r in enumerate(scorer(p, targets)):
                rows.append({"method": method, "fold": int(fold[i]), "scene": samples[i].scene,
                             "image": samples[i].name, **r})
        by_epoch = {}
        for epoch, p in sorted(epoch_preds.items()):
            er = [{"scene": samples[i].scene, **r} for i, r in enumerate(scorer(p, targets, full=False))]
            by_epoch[epoch] = {m: _scene_mean(er, lambda r, m=m: r[m]) for m in ("psnr", "ssim")}
    finally:
        scorer.close()
    metrics = ("psnr", "ssim", "ciede2000", "sam")
    per_scene = _per_scene(rows, metrics)
    summary = _summary(per_scene, metrics)
    by_epoch[cfg.epochs] = {m: summary[MODEL][m]["mean"] for m in ("psnr", "ssim")}
    return {
        "recipe": asdict(cfg), "folds": folds, "seed": seed, "fold_of": fold_of, "rows": rows,
        "per_scene": per_scene, "summary": summary, "by_epoch": by_epoch,
        "adjust_per_fold": {k: a.to_dict() for k, a in chosen.items()},
        "adjust": final.to_dict() if final else None,
        "water": _water_check(samples, preds), "init_learnt": learnt, "samples": samples,
        "predictions": preds,
    }


def _choose_adjust(samples: list[Sample], fold: np.ndarray, pred: np.ndarray, targets: np.ndarray,
                   means: dict[int, tuple[float, float, float]], water_guard: bool,
                   scorer: _Scorer) -> tuple[np.ndarray, dict[int, OutputAdjust], OutputAdjust]:
    """Per fold, the shrink factors that scored best on the OTHER folds' held-out predictions
    (each adjusted toward its own fold's training mean colour); and the best over all folds."""
    grid = list(itertools.product(SHRINK_GRID, SHRINK_GRID))
    scores: dict[tuple[float, float], list[dict]] = {}
    for light, chroma in grid:
        adjusted = np.zeros_like(pred)
        for k, colour in means.items():
            held = np.flatnonzero(fold == k)
            adjust = OutputAdjust(colour, light, chroma, water_guard)
            adjusted[held] = apply_adjust(pred[held], [samples[i] for i in held], adjust)
        scores[(light, chroma)] = [{"scene": samples[i].scene, "fold": int(fold[i]), **r}
                                   for i, r in enumerate(scorer(adjusted, targets, full=False))]

    def best(keep: Callable[[int], bool]) -> tuple[float, float]:
        return max(grid, key=lambda g: (_scene_score([r for r in scores[g] if keep(r["fold"])]), g))

    out, chosen = np.zeros_like(pred), {}
    for k, colour in means.items():
        light, chroma = best(lambda f, k=k: f != k)
        chosen[k] = OutputAdjust(colour, light, chroma, water_guard)
        held = np.flatnonzero(fold == k)
        out[held] = apply_adjust(pred[held], [samples[i] for i in held], chosen[k])
    light, chroma = best(lambda _f: True)
    final = OutputAdjust(mean_rgb(samples), light, chroma, water_guard)
    return out, chosen, final


def write_report(report: dict[str, Any], out: str | Path, n_figure: int = 6) -> None:
    """per_image.csv, per_scene.csv, summary.json, summary.md and crossval.png in `out`."""
    from sargeo.report import comparison_figure, crossval_figure, write_rows_csv

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_rows_csv(report["rows"], out / "per_image.csv")
    scene_rows = [{"method": m, "scene": sc, **v} for m, scenes in report["per_scene"].items()
                  for sc, v in scenes.items()]
    write_rows_csv(scene_rows, out / "per_scene.csv")
    keep = ("recipe", "folds", "seed", "fold_of", "summary", "by_epoch", "adjust_per_fold", "adjust", "water",
            "init_learnt")
    (out / "summary.json").write_text(json.dumps({k: report[k] for k in keep}, indent=2, default=_plain))
    (out / "summary.md").write_text(summary_markdown(report))
    crossval_figure(report["per_scene"], out / "crossval.png", baseline=MEAN_COLOUR)
    samples, preds = report["samples"], report["predictions"]
    picks = _figure_picks(samples, n_figure)
    if picks:
        comparison_figure([{"title": f"{samples[i].name} (fold {report['fold_of'][samples[i].scene] + 1})",
                            "images": {"SAR": unit_to_image(samples[i].sar),
                                       "optical": unit_to_image(samples[i].rgb),
                                       **{m: p[i] / 255.0 for m, p in preds.items()}}} for i in picks],
                          out / "comparison.png", columns=["SAR", "optical", *preds])


def _figure_picks(samples: Sequence[Sample], n: int) -> list[int]:
    """One patch from each of up to n scenes, so the figure shows variety."""
    seen, picks = set(), []
    for i, s in enumerate(samples):
        if s.scene not in seen and len(picks) < n:
            seen.add(s.scene)
            picks.append(i)
    return picks


def _plain(obj: Any) -> Any:
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    raise TypeError(type(obj).__name__)


def _gain(summary: dict[str, dict], a: str, b: str) -> str:
    """Mean PSNR and SSIM of method a minus method b, e.g. '+0.52 PSNR (dB), +0.012 SSIM'."""
    diff = {m: summary[a][m]["mean"] - summary[b][m]["mean"] for m in ("psnr", "ssim")}
    return ", ".join(f"{d:+.{SCORE_DIGITS[m]}f} {SCORE_HEADERS[m]}" for m, d in diff.items())


def summary_markdown(report: dict[str, Any]) -> str:
    """The cross-validation tables as Markdown: methods (mean ± spread over scenes), then per scene."""
    summary, per_scene = report["summary"], report["per_scene"]
    n = next(iter(summary.values()))["psnr"]["n"]
    lines = [f"{report['folds']}-fold scene-wise cross-validation, {n} scenes, "
             f"{sum(v['pairs'] for v in per_scene[MEAN_COLOUR].values())} pairs; mean ± standard deviation "
             "over scenes.", "",
             "| method | " + " | ".join(SCORE_HEADERS.values())
             + " | scenes beating the mean colour (PSNR / SSIM / both) |",
             "| --- |" + " --- |" * (len(SCORE_HEADERS) + 1)]
    for method, s in summary.items():
        wins = s["wins_vs_mean_colour"]
        won = "" if method == MEAN_COLOUR else f"{wins['psnr']} / {wins['ssim']} / {wins['both']} of {n}"
        lines.append(f"| {method} | " + " | ".join(mean_sd_cells(s)) + f" | {won} |")
    lines += ["", *scene_table(per_scene, MEAN_COLOUR)]
    if STARTING in summary:
        best = ADJUSTED if ADJUSTED in summary else MODEL
        lines += ["", f"Fine-tuning gain ({best} minus the starting model, mean over scenes): "
                  f"{_gain(summary, best, STARTING)}; {best} against the flat mean colour of the new data: "
                  f"{_gain(summary, best, MEAN_COLOUR)} (the starting model against it: "
                  f"{_gain(summary, STARTING, MEAN_COLOUR)})."]
    if report.get("init_learnt"):
        lines += ["", f"Not held out for the starting model: it learnt from {len(report['init_learnt'])} of "
                  f"these scenes ({', '.join(report['init_learnt'])}), so their scores favour fine-tuning "
                  "from it."]
    if report["adjust"]:
        a = report["adjust"]
        lines += ["", f"Output adjustment chosen on all folds: lightness {a['lightness']:g}, chroma "
                  f"{a['chroma']:g}, water guard {'on' if a['water_guard'] else 'off'} (per fold, chosen on "
                  "the other folds: " + ", ".join(f"{int(k) + 1}: {v['lightness']:g}/{v['chroma']:g}"
                                                  for k, v in report["adjust_per_fold"].items()) + ")."]
    if report["water"]:
        lines += ["", "Calm water (L* of water minus L* of land; negative = darker, as in the optical):", "",
                  "| scene | water | " + " | ".join(k for k in next(iter(report["water"].values()))
                                                      if k != "water_fraction") + " |",
                  "| --- | --- |" + " --- |" * (len(next(iter(report["water"].values()))) - 1)]
        for scene, row in report["water"].items():
            lines.append(f"| {scene} | {row['water_fraction']:.0%} | "
                         + " | ".join(f"{v:+.1f}" for k, v in row.items() if k != "water_fraction") + " |")
    if len(report["by_epoch"]) > 1:
        lines += ["", "Model (unadjusted) by training epoch, mean over scenes: "
                  + ", ".join(f"{e}: {v['psnr']:.2f} dB / {v['ssim']:.3f}"
                              for e, v in sorted(report["by_epoch"].items())) + "."]
    return "\n".join(lines) + "\n"


def card_results(report: dict[str, Any]) -> dict[str, Any]:
    """What a model card shows of a cross-validation: summary per method, per-scene PSNR/SSIM, adjustment."""
    return {"folds": report["folds"], "summary": report["summary"], "adjust": report["adjust"],
            "per_scene": {m: {sc: {k: v[k] for k in ("fold", "pairs", "psnr", "ssim")}
                              for sc, v in scenes.items()} for m, scenes in report["per_scene"].items()},
            "water": report["water"]}


def train_final(samples: Sequence[Sample], cfg: TrainConfig, report: dict[str, Any], path: str | Path,
                device: torch.device, seed: int = 0, log: Callable[[str], None] = print,
                init: Checkpoint | None = None) -> Checkpoint:
    """Train the recipe on every scene (from `init` when given) and save it with the
    cross-validated adjustment (else the start's water guard) and results."""
    gen = fit(samples, cfg, device, seed=seed, init=init)
    mean = mean_rgb(samples)
    if report["adjust"]:
        adjust = OutputAdjust.from_dict(report["adjust"])
    else:
        adjust = init_adjust(init.adjust if init is not None else None, mean)
    scenes = sorted({s.scene for s in samples})
    split = Split(tuple(scenes), (), (), seed, (init.learnt or ()) if init is not None else ())
    ckpt = Checkpoint(generator=gen.cpu(), scaling=SarScaling(), adjust=adjust,
                      config={**asdict(cfg), "train_mean_rgb": list(mean)}, split=split.to_dict(),
                      metrics={"crossval": card_results(report)})
    save_checkpoint(ckpt, path)
    log(f"final model trained on {len(samples)} pairs from {len(scenes)} scenes")
    return ckpt
