"""`sargeo crossval`: score a training recipe scene by scene on data it never trained on."""

from __future__ import annotations

import os
from dataclasses import asdict, replace
from pathlib import Path

import click

from .errors import friendly_errors
from .options import device_option, finetune_base, init_option, quiet_option, recipe_options


@click.command("crossval")
@click.option("--data", required=True, type=click.Path(exists=True, file_okay=False),
              help="Folder of SAR/optical pairs (any layout `sargeo train` reads); held in memory.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for per_image.csv, per_scene.csv, summary.json/.md, crossval.png, comparison.png.")
@click.option("--folds", type=click.IntRange(2), default=5, show_default=True,
              help="Number of folds; whole scenes go to one fold each.")
@recipe_options
@init_option
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for folds, init and shuffling.")
@click.option("--adjust/--no-adjust", default=True, show_default=True,
              help="Also score the model shrunk toward the mean colour in CIELAB, factors chosen per fold on "
                   "the other folds.")
@click.option("--water-guard", is_flag=True,
              help="Keep calm water (SAR below about -20 dB) darker than the land around it.")
@click.option("--eval-epochs", default="", metavar="E1,E2,...",
              help="Also score the unadjusted model after these epochs (PSNR/SSIM), to choose --epochs.")
@click.option("--save-final", type=click.Path(dir_okay=False, path_type=Path),
              help="Then train on all scenes and save that model, with the chosen adjustment and this "
                   "report in its card.")
@device_option
@click.option("--workers", type=click.IntRange(1), default=min(8, os.cpu_count() or 1), show_default=True,
              help="Processes for computing metrics.")
@click.option("--progress", type=click.Choice(["bar", "none"]), default="bar", show_default=True)
@quiet_option
@friendly_errors
def crossval_cmd(data: str, out: Path, folds: int, seed: int, adjust: bool, water_guard: bool,
                 eval_epochs: str, save_final: Path | None, device: str | None, workers: int,
                 progress: str, quiet: bool, **recipe: object) -> None:
    """K-fold cross-validation grouped by scene: model vs the fold's mean colour vs grey SAR.

    For each fold a model is trained with the given recipe on the other folds' scenes;
    every scene is scored while held out. Writes per-image and per-scene tables, mean and
    spread over scenes, how many scenes beat the flat mean colour, and figures.
    """
    from sargeo.crossval import cross_validate, load_samples, write_report
    from sargeo.device import resolve_device
    from sargeo.train import TrainConfig

    if save_final is not None and save_final.exists():
        raise click.BadParameter(f"{save_final} already exists", param_hint="--save-final")
    try:
        epochs = sorted({int(e) for e in eval_epochs.split(",") if e.strip()})
    except ValueError:
        raise click.BadParameter(f"{eval_epochs!r} is not a list of epochs",
                                 param_hint="--eval-epochs") from None
    log = (lambda _m: None) if quiet else (lambda m: click.echo(m, err=True))
    given = {k: v for k, v in recipe.items() if v is not None}
    given, init = finetune_base(given.pop("init", None), given)
    cfg = TrainConfig.from_dict({**asdict(TrainConfig(data=data, out=str(out))), **given, "seed": seed})
    dev = resolve_device(device or "auto")
    cfg = replace(cfg, device=str(dev))
    from sargeo.report import FIGURES_MISSING, figures_available

    if not figures_available():
        log(f"Note: {FIGURES_MISSING}")
    samples = load_samples(data, log)
    log(f"{len(samples)} pairs from {len({s.scene for s in samples})} scenes, {folds} folds, device {dev}")
    bar = None
    if progress == "bar" and not quiet:
        from tqdm import tqdm

        bar = tqdm(total=folds * cfg.epochs, unit="epoch", desc="crossval", dynamic_ncols=True)
    try:
        report = cross_validate(samples, cfg, folds, dev, seed, adjust, water_guard, epochs, workers, log,
                                progress=bar.update if bar else None, init=init)
    finally:
        if bar is not None:
            bar.close()
    write_report(report, out)
    click.echo((out / "summary.md").read_text(), nl=False)
    if save_final is not None:
        from sargeo.crossval import train_final

        train_final(samples, cfg, report, save_final, dev, seed, log, init=init)
        log(f"wrote {save_final}")
