"""Model card: what a checkpoint is, how it was trained, and how well it does on held-out scenes.

Rendered from the checkpoint's own metadata, so the card can never disagree with the weights.
"""

from __future__ import annotations

import shlex
from typing import Any

from sargeo.checkpoint import ARCHITECTURE, Checkpoint
from sargeo.model import count_parameters, gflops_per_tile

#: Config fields not turned into flags: handled separately, or runtime choices of one machine.
_SKIP = {"data", "out", "extra", "device", "workers", "split_file", "terrains"}


def training_command(config: dict[str, Any]) -> str:
    """The `sargeo train` command line that reproduces a config."""
    from sargeo.train import TrainConfig

    defaults = TrainConfig(data="", out="").__dict__
    parts = ["sargeo", "train", "--data", str(config.get("data")), "--out", str(config.get("out"))]
    if config.get("split_file"):
        parts += ["--split", str(config["split_file"])]
    for key, value in config.items():
        if key in _SKIP or key not in defaults or value == defaults[key]:
            continue
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            parts.append(flag if value else "--no-" + key.replace("_", "-"))
        elif value is not None:
            parts += [flag, str(value)]
    for terrain in config.get("terrains") or []:
        parts += ["--terrain", terrain]
    return shlex.join(parts)


def _metrics_table(results: dict[str, dict[str, float]]) -> list[str]:
    lines = ["| method | PSNR (dB) | SSIM | CIEDE2000 | SAM (deg) | LPIPS |",
             "| --- | --- | --- | --- | --- | --- |"]
    for method, m in results.items():
        cells = [f"{m[k]:.3f}" if k in m else "n/a" for k in ("psnr", "ssim", "ciede2000", "sam", "lpips")]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return lines


def _verdict(results: dict[str, dict[str, float]]) -> str:
    """Say plainly whether the model beats the constant mean-colour image on PSNR and SSIM."""
    base = results.get("mean colour")
    models = [m for m in results if m not in ("mean colour", "grey SAR")]
    if not base or not models:
        return ""
    m = results[models[0]]
    wins = [k.upper() for k in ("psnr", "ssim") if m[k] > base[k]]
    losses = [k.upper() for k in ("psnr", "ssim") if m[k] <= base[k]]
    if not losses:
        return "The model beats the constant mean-colour baseline in PSNR and SSIM on these scenes."
    won = f" It does beat it in {' and '.join(wins)}." if wins else ""
    return (f"**The model does not beat the constant mean-colour baseline in {' and '.join(losses)} on "
            f"these held-out scenes** (PSNR {m['psnr']:.2f} vs {base['psnr']:.2f} dB, SSIM {m['ssim']:.3f} "
            f"vs {base['ssim']:.3f}).{won}")


def render_card(ckpt: Checkpoint, title: str = "sargeo model") -> str:
    """Markdown model card for a checkpoint."""
    info = ckpt.extra.get("card", {})
    s = ckpt.scaling
    lines = [f"# {title}", "", *([info["summary"], ""] if info.get("summary") else []), "## Architecture", "",
             f"- {ARCHITECTURE}: U-Net generator of Islam et al. (2024), width {ckpt.width} "
             f"(paper: 64), {count_parameters(ckpt.generator) / 1e6:.2f} M parameters, "
             f"{gflops_per_tile(ckpt.generator):.2f} GFLOPs per 256 x 256 tile",
             f"- input: one SAR band, sigma0 in dB clipped to [{s.db_min:g}, {s.db_max:g}] and scaled to "
             "[-1, 1] (the SEN1-2 PNG scale); output: RGB in [-1, 1]",
             f"- sargeo {ckpt.version}", "", "## Training", ""]
    if ckpt.config:
        lines += ["```bash", training_command(ckpt.config), "```", ""]
        lines += [f"- {k}: {ckpt.config[k]}" for k in ("lambda_l1", "lambda_grad", "lambda_adv", "augment",
                                                     "epochs", "batch_size", "lr_g") if k in ckpt.config]
        if "epoch" in ckpt.metrics:
            metric = ckpt.config.get("best_metric", "psnr")
            lines.append(f"- weights of epoch {ckpt.metrics['epoch']}, chosen by validation {metric.upper()} "
                         f"({ckpt.metrics.get('val_psnr', float('nan')):.2f} dB, "
                         f"SSIM {ckpt.metrics.get('val_ssim', float('nan')):.3f})")
    if info.get("data"):
        lines += ["", "## Data", "", info["data"]]
    if ckpt.split:
        lines += ["", "## Split (whole scenes)", ""]
        lines += [f"- {part}: {', '.join(ckpt.split.get(part, []))}" for part in ("train", "val", "test")]
    if info.get("test"):
        lines += ["", f"## Held-out test scenes ({info.get('test_pairs', '?')} pairs)", "",
                  *_metrics_table(info["test"])]
        lines += ["", _verdict(info["test"])]
        if info.get("lpips_note"):
            lines += ["", info["lpips_note"]]
    if info.get("limitations"):
        lines += ["", "## Limitations", "", info["limitations"]]
    return "\n".join(lines).rstrip() + "\n"
