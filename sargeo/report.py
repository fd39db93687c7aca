"""Evaluation outputs: per-image CSV, summary JSON, a text table and PNG figures.

A row is ``{"method", "image", "scene", "terrain", <metric>: float, ...}``. Figures are drawn on
standalone ``matplotlib.figure.Figure`` objects (Agg canvas), so nothing touches pyplot's global
state and nothing has to be closed.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class MetricInfo:
    """How a metric is displayed and which direction is better (for table arrows); kept here, not
    with the metrics, so that showing scores (a model card) does not load scipy (0.7 s)."""

    label: str
    higher_is_better: bool


METRICS: dict[str, MetricInfo] = {
    "psnr": MetricInfo("PSNR (dB)", True),
    "ssim": MetricInfo("SSIM", True),
    "lpips": MetricInfo("LPIPS", False),
    "ciede2000": MetricInfo("CIEDE2000", False),
    "sam": MetricInfo("SAM (deg)", False),
}


#: Said once by commands that would draw figures, when they cannot.
FIGURES_MISSING = "matplotlib is not installed, so no figures are drawn (pip install 'sargeo[figures]')"


#: Decimals and column titles of the scores in cross-validation tables (summaries, model cards).
SCORE_DIGITS = {"psnr": 2, "ssim": 3, "ciede2000": 1, "sam": 1}
SCORE_HEADERS = {"psnr": "PSNR (dB)", "ssim": "SSIM", "ciede2000": "CIEDE2000", "sam": "SAM (deg)"}


def mean_sd_cells(stats: Mapping[str, Mapping[str, float]]) -> list[str]:
    """'mean ± sd' of each score, in SCORE_HEADERS order."""
    return [f"{stats[m]['mean']:.{d}f} ± {stats[m]['std']:.{d}f}" for m, d in SCORE_DIGITS.items()]


def scene_table(per_scene: Mapping[str, Mapping[str, Mapping[str, Any]]], baseline: str) -> list[str]:
    """Markdown table of the held-out scenes: fold, pairs and 'PSNR / SSIM' of every method."""
    lines = ["| scene | fold | pairs | " + " | ".join(f"{m} PSNR / SSIM" for m in per_scene) + " |",
             "| --- | --- | --- |" + " --- |" * len(per_scene)]
    for scene, row in per_scene[baseline].items():
        cells = [f"{per_scene[m][scene]['psnr']:.2f} / {per_scene[m][scene]['ssim']:.3f}" for m in per_scene]
        lines.append(f"| {scene} | {row['fold'] + 1} | {row['pairs']} | " + " | ".join(cells) + " |")
    return lines


def figures_available() -> bool:
    """Figures need matplotlib, an optional extra: without it every table, log and checkpoint is
    still written. (Installed, it also slows every `rio` command: rasterio's `rio insp` imports it.)"""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _new_figure(**kwargs: Any) -> Figure | None:
    if not figures_available():
        return None
    from matplotlib.figure import Figure

    return Figure(**kwargs)

ID_FIELDS = ("method", "image", "scene", "terrain")
LOSS_KEYS = ("g_total", "g_adv", "g_l1", "g_grad", "d_loss")
#: Inches per image cell in the image grids; with a fixed DPI the PNG size follows the grid.
CELL_IN = 2.0
DPI = 100


def metric_names(rows: Iterable[Mapping]) -> list[str]:
    """Metric columns present in rows: known metrics in METRICS order, then any others."""
    seen = list(dict.fromkeys(k for row in rows for k in row if k not in ID_FIELDS))
    return [m for m in METRICS if m in seen] + [m for m in seen if m not in METRICS]


def write_rows_csv(rows: Sequence[Mapping], path: str | Path) -> None:
    """Per-image CSV; a metric a row lacks (e.g. LPIPS unavailable) is left empty."""
    fields = list(ID_FIELDS) + metric_names(rows)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, restval="")
        writer.writeheader()
        writer.writerows(rows)


def _stats(values: list[float]) -> dict[str, float]:
    """Mean, population std (ddof=0, as numpy) and count; an infinite value makes std NaN."""
    arr = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return {"mean": float(arr.mean()), "std": float(arr.std()), "n": len(values)}


def _group_stats(rows: Sequence[Mapping], metrics: Sequence[str]) -> dict[str, dict]:
    """Stats per metric, skipping missing/NaN values (so ``n`` may differ per metric).

    A metric with no value in the group is left out rather than reported as NaN.
    """
    out = {}
    for m in metrics:
        values = [float(r[m]) for r in rows if r.get(m) not in (None, "")]
        values = [v for v in values if not math.isnan(v)]
        if values:
            out[m] = _stats(values)
    return out


def summarize(rows: Sequence[Mapping]) -> dict[str, dict]:
    """``{method: {"overall": {metric: stats}, "by_terrain": {terrain: {metric: stats}}}}``.

    Rows without a terrain are grouped under "unknown". An infinite PSNR (identical images)
    is kept, so it makes that group's mean infinite rather than silently disappearing.
    """
    metrics = metric_names(rows)
    summary: dict[str, dict] = {}
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == method]
        terrains = sorted({r.get("terrain") or "unknown" for r in mine})
        summary[method] = {
            "overall": _group_stats(mine, metrics),
            "by_terrain": {
                t: _group_stats([r for r in mine if (r.get("terrain") or "unknown") == t], metrics)
                for t in terrains
            },
        }
    return summary


def _finite_or_none(obj):
    """Strict JSON has no NaN/Infinity: write them as null."""
    if isinstance(obj, dict):
        return {k: _finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_summary_json(summary: Mapping, path: str | Path) -> None:
    """Summary as strict JSON (non-finite numbers become null)."""
    with open(path, "w") as f:
        json.dump(_finite_or_none(summary), f, indent=2, allow_nan=False)
        f.write("\n")


def _header(metric: str) -> str:
    """Column title with an arrow pointing to the better direction, when known."""
    info = METRICS.get(metric)
    if info is None:
        return metric
    return f"{info.label} {'↑' if info.higher_is_better else '↓'}"


def _cell(stats: Mapping | None) -> str:
    """``mean ± std``, or "-" for a metric the group does not have."""
    if stats is None:
        return "-"
    return f"{stats['mean']:.3f} ± {stats['std']:.3f}"


def _block(title: str, groups: Mapping[str, Mapping], metrics: Sequence[str]) -> list[str]:
    """One aligned table: a row per method with its image count and metric cells."""
    header = ["method", "n"] + [_header(m) for m in metrics]
    body = []
    for name, stats in groups.items():
        n = max((s["n"] for s in stats.values()), default=0)
        body.append([name, str(n)] + [_cell(stats.get(m)) for m in metrics])
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in [header, *body]]
    return [title] + [line.rstrip() for line in lines]


def format_table(summary: Mapping[str, Mapping], metrics: Sequence[str] | None = None) -> str:
    """Plain-text table: overall mean ± std per method, then one block per terrain."""
    if metrics is None:
        metrics = metric_names(group["overall"] for group in summary.values())
    blocks = [_block("overall", {k: v["overall"] for k, v in summary.items()}, metrics)]
    terrains = sorted({t for v in summary.values() for t in v["by_terrain"]})
    if terrains == ["unknown"]:  # no terrain labels: the overall block already says it all
        terrains = []
    for terrain in terrains:
        groups = {
            k: v["by_terrain"][terrain] for k, v in summary.items() if terrain in v["by_terrain"]
        }
        blocks.append(_block(f"terrain: {terrain}", groups, metrics))
    return "\n\n".join("\n".join(b) for b in blocks) + "\n"


def _show(ax: Axes, image: np.ndarray | None) -> None:
    """Draw a [0, 1] image (2-D as grey); an absent image leaves the cell blank."""
    ax.set_xticks([])
    ax.set_yticks([])
    if image is None:
        ax.set_frame_on(False)
        return
    img = np.clip(np.squeeze(np.asarray(image, dtype=np.float64)), 0.0, 1.0)
    ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0.0, vmax=1.0)


def _image_grid(
    grid: Sequence[Sequence[np.ndarray | None]],
    columns: Sequence[str],
    row_titles: Sequence[str],
    path: str | Path,
) -> None:
    """Rows x columns of images with column headers and row labels, saved as PNG."""
    nrows, ncols = len(grid), len(columns)
    fig = _new_figure(figsize=(ncols * CELL_IN, nrows * CELL_IN), dpi=DPI)
    if fig is None:
        return
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for r, images in enumerate(grid):
        for c, image in enumerate(images):
            _show(axes[r, c], image)
        axes[r, 0].set_ylabel(row_titles[r], fontsize=8)
    for c, name in enumerate(columns):
        axes[0, c].set_title(name, fontsize=9)
    top = 1 - 0.25 / nrows  # room for the column headers
    fig.subplots_adjust(left=0.06, right=0.99, bottom=0.01, top=top, wspace=0.03, hspace=0.03)
    fig.savefig(path, format="png", dpi=DPI)


def comparison_figure(samples: Sequence[Mapping], path: str | Path, columns: Sequence[str]) -> None:
    """Side-by-side comparison like the paper's Fig. 2: a row per sample, a column per source.

    Each sample is ``{"title": str, "images": {column: HxW or HxWx3 in [0, 1]}}``; a column a
    sample lacks is left blank.
    """
    grid = [[s["images"].get(c) for c in columns] for s in samples]
    _image_grid(grid, columns, [s["title"] for s in samples], path)


def crossval_figure(per_scene: Mapping[str, Mapping[str, Mapping]], path: str | Path, baseline: str) -> None:
    """Per held-out scene, each method's PSNR and SSIM minus the baseline's (above zero: better)."""
    scenes = list(per_scene[baseline])
    methods = [m for m in per_scene if m != baseline]
    fig = _new_figure(figsize=(max(6.0, 0.5 * len(scenes) + 2), 6.0), dpi=DPI)
    if fig is None:
        return
    axes = fig.subplots(2, 1, sharex=True)
    x = np.arange(len(scenes))
    width = 0.8 / max(len(methods), 1)
    for ax, metric, unit in zip(axes, ("psnr", "ssim"), ("dB", ""), strict=True):
        for j, method in enumerate(methods):
            delta = [per_scene[method][sc][metric] - per_scene[baseline][sc][metric] for sc in scenes]
            ax.bar(x + (j - (len(methods) - 1) / 2) * width, delta, width, label=method)
        ax.axhline(0.0, color="black", linewidth=0.8)
        ax.set_ylabel(f"{metric.upper()} - {baseline} {unit}".strip(), fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=7, ncol=len(methods))
    axes[0].set_title("held-out scenes: difference to the flat mean colour", fontsize=9)
    axes[1].set_xticks(x, scenes, rotation=60, ha="right", fontsize=6)
    fig.subplots_adjust(left=0.1, right=0.99, bottom=0.3, top=0.94, hspace=0.08)
    fig.savefig(path, format="png", dpi=DPI)


def sample_grid_figure(
    sar: np.ndarray,
    generated: np.ndarray,
    optical: np.ndarray,
    path: str | Path,
    titles: Sequence[str] | None = None,
) -> None:
    """Training snapshot: a row per sample, columns SAR | generated | optical (all in [0, 1])."""
    titles = titles if titles is not None else [f"#{i}" for i in range(len(sar))]
    grid = [[s, g, o] for s, g, o in zip(sar, generated, optical, strict=True)]
    _image_grid(grid, ["SAR", "generated", "optical"], titles, path)


def _series(rows: Sequence[Mapping], key: str) -> tuple[list[float], list[float]]:
    """(epochs, values) for one log column, dropping epochs where it is missing or NaN."""
    pairs = [(float(r["epoch"]), float(r[key])) for r in rows if r.get(key) not in (None, "")]
    kept = [(e, v) for e, v in pairs if not math.isnan(v)]
    return [e for e, _ in kept], [v for _, v in kept]


def loss_curve_figure(epoch_rows: Sequence[Mapping], path: str | Path) -> None:
    """Two panels: training losses vs epoch, and validation PSNR (left axis) / SSIM (right)."""
    fig = _new_figure(figsize=(10, 4), dpi=DPI, layout="constrained")
    if fig is None:
        return
    from matplotlib.ticker import MaxNLocator

    ax_loss, ax_psnr = fig.subplots(1, 2)
    for key in LOSS_KEYS:
        epochs, values = _series(epoch_rows, key)
        if values:
            ax_loss.plot(epochs, values, label=key)
    ax_loss.set(xlabel="epoch", ylabel="loss", title="training losses")
    ax_loss.legend(fontsize=8)
    ax_ssim = ax_psnr.twinx()
    for ax, key, colour in ((ax_psnr, "val_psnr", "tab:blue"), (ax_ssim, "val_ssim", "tab:orange")):
        epochs, values = _series(epoch_rows, key)
        ax.plot(epochs, values, marker="o", ms=3, color=colour, label=key)
        ax.set_ylabel(key, color=colour)
    ax_psnr.set(xlabel="epoch", title="validation")
    for ax in (ax_loss, ax_psnr):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.savefig(path, format="png", dpi=DPI)
