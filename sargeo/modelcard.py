"""Model card: what a checkpoint is, how it was trained, and how well it does on held-out scenes.

Rendered from the checkpoint's own metadata, so the card can never disagree with the weights.
"""

from __future__ import annotations

import shlex
from typing import Any

from sargeo.checkpoint import ARCHITECTURE, Checkpoint
from sargeo.model import count_parameters, gflops_per_tile
from sargeo.report import SCORE_HEADERS, mean_sd_cells, scene_table

#: Config fields not turned into flags: handled separately, or runtime choices of one machine.
_SKIP = {"data", "out", "extra", "device", "workers", "split_file", "terrains"}


def training_command(config: dict[str, Any], crossval: dict[str, Any] | None = None) -> str:
    """The `sargeo train` (or, for a model made by cross-validation, `sargeo crossval`) command
    line that reproduces a config."""
    from sargeo.config import TrainConfig

    defaults = TrainConfig(data="", out="").__dict__
    command = "train" if crossval is None else "crossval"
    parts = ["sargeo", command, "--data", str(config.get("data")), "--out", str(config.get("out"))]
    if crossval is not None:
        parts += ["--folds", str(crossval["folds"])]
        if (crossval.get("adjust") or {}).get("water_guard"):
            parts.append("--water-guard")
        parts += ["--save-final", "model.pt"]
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


#: Shipping rule for a cross-validated model: mean PSNR and SSIM over scenes above the mean
#: colour's, and better on both in at least this share of the scenes.
WIN_SHARE = 2 / 3


def crossval_verdict(summary: dict[str, dict]) -> tuple[bool, str]:
    """Whether the cross-validated model (adjusted, when it was) beats the flat mean colour, in words."""
    method = "model, adjusted" if "model, adjusted" in summary else "model"
    m, base = summary[method], summary["mean colour"]
    n, both = m["psnr"]["n"], m["wins_vs_mean_colour"]["both"]
    ok = (m["psnr"]["mean"] > base["psnr"]["mean"] and m["ssim"]["mean"] > base["ssim"]["mean"]
          and both >= WIN_SHARE * n)
    numbers = (f"PSNR {m['psnr']['mean']:.2f} vs {base['psnr']['mean']:.2f} dB, SSIM {m['ssim']['mean']:.3f} "
               f"vs {base['ssim']['mean']:.3f}, better on both in {both} of {n} scenes")
    if ok:
        return True, f"On scenes it never saw, the model beats the flat mean colour ({numbers})."
    return False, (f"**On scenes it never saw, the model does not clearly beat the flat mean colour** "
                   f"({numbers}; the rule is: both means higher and better on both in 2/3 of the scenes).")


def _crossval_section(cv: dict[str, Any]) -> list[str]:
    summary, per_scene = cv["summary"], cv["per_scene"]
    n = summary["mean colour"]["psnr"]["n"]
    lines = [f"## Cross-validation ({cv['folds']} folds by scene, {n} scenes)", "",
             "Each scene scored by a model trained without it; mean ± spread over scenes.", "",
             "| method | " + " | ".join(SCORE_HEADERS.values()) + " | better than mean colour on both |",
             "| --- |" + " --- |" * (len(SCORE_HEADERS) + 1)]
    for method, s in summary.items():
        won = "" if method == "mean colour" else f"{s['wins_vs_mean_colour']['both']} of {n}"
        lines.append(f"| {method} | " + " | ".join(mean_sd_cells(s)) + f" | {won} |")
    lines += ["", crossval_verdict(summary)[1], "", "Per held-out scene:", "",
              *scene_table(per_scene, "mean colour")]
    for scene, w in (cv.get("water") or {}).items():
        shown = ", ".join(f"{k} {v:+.1f}" for k, v in w.items() if k != "water_fraction")
        lines.append(f"\nCalm water in {scene} ({w['water_fraction']:.0%} of pixels), "
                     f"L* of water minus land: {shown}.")
    return lines


def _feature_lines(ckpt: Checkpoint) -> list[str]:
    """One line each for the input normalisation and output adjustment, when the checkpoint has them."""
    lines = []
    if ckpt.input_norm == "tile":
        lines.append("- input normalisation: each tile's SAR is standardised (mean removed, divided by its "
                     "spread) inside the generator, so absolute backscatter level is not used")
    a = ckpt.adjust
    if a is not None:
        mean = ", ".join(str(round(255 * v)) for v in a.mean_rgb)
        guard = "; water guard on (calm water kept darker than the land around it)" if a.water_guard else ""
        lines.append(f"- output adjustment: lightness x{a.lightness:.2f} and chroma x{a.chroma:.2f} "
                     f"toward the training mean colour (RGB {mean}){guard}")
    return lines


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
             *_feature_lines(ckpt), f"- sargeo {ckpt.version}", "", "## Training", ""]
    crossval = ckpt.metrics.get("crossval")
    if ckpt.config:
        lines += ["```bash", training_command(ckpt.config, crossval), "```", ""]
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
        lines += [f"- {part}: {', '.join(ckpt.split[part])}" for part in ("train", "val", "test")
                  if ckpt.split.get(part)]
    if crossval:
        lines += ["", *_crossval_section(crossval)]
    if info.get("test"):
        lines += ["", f"## Held-out test scenes ({info.get('test_pairs', '?')} pairs)", "",
                  *_metrics_table(info["test"])]
        lines += ["", _verdict(info["test"])]
        if info.get("lpips_note"):
            lines += ["", info["lpips_note"]]
    if info.get("limitations"):
        lines += ["", "## Limitations", "", info["limitations"]]
    return "\n".join(lines).rstrip() + "\n"
