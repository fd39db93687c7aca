"""`sargeo evaluate`: score checkpoints and baselines on held-out scenes."""

from __future__ import annotations

from pathlib import Path

import click

from .errors import friendly_errors
from .options import device_option, quiet_option


def _named(spec: str) -> tuple[str, str]:
    """'NAME=PATH' or 'PATH' (named after the file's folder and stem)."""
    if "=" in spec:
        name, path = spec.split("=", 1)
        return name, path
    p = Path(spec)
    return f"{p.parent.name}/{p.stem}" if p.parent.name else p.stem, spec


@click.command("evaluate")
@click.option("--data", required=True, type=click.Path(exists=True, file_okay=False),
              help="Folder of SAR/optical pairs (the same data the run was split from).")
@click.option("--checkpoint", "-c", "checkpoints", multiple=True, required=True, metavar="[NAME=]PATH",
              help="Checkpoint to score (repeatable, to compare e.g. with and without gradient loss).")
@click.option("--split", type=click.Path(exists=True, dir_okay=False),
              help="split.json to use (default: the split recorded in the first checkpoint). Without it, "
                   "a checkpoint trained on the scored scenes is refused; with it, only warned about.")
@click.option("--part", type=click.Choice(["test", "val", "train"]), default="test", show_default=True,
              help="Which scenes of the split to score (test: never seen in training or model choice).")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Folder for per_image.csv, summary.json/.txt and comparison.png.")
@click.option("--lpips/--no-lpips", "use_lpips", default=True, show_default=True,
              help="LPIPS (AlexNet); needs torchvision's ImageNet AlexNet weights in the torch hub cache.")
@click.option("--figure-samples", type=click.IntRange(0), default=6, show_default=True,
              help="Pairs shown in comparison.png (0: no figure).")
@device_option
@quiet_option
@friendly_errors
def evaluate_cmd(data: str, checkpoints: tuple[str, ...], split: str | None, part: str, out: str,
                 use_lpips: bool, figure_samples: int, device: str | None, quiet: bool) -> None:
    """Report PSNR, SSIM, LPIPS, CIEDE2000 and SAM per image, per terrain and overall."""
    from sargeo.evaluate import evaluate  # heavy (scipy, lpips): only when evaluating

    for spec in checkpoints:
        if not Path(_named(spec)[1]).is_file():
            raise click.BadParameter(f"no such file: {_named(spec)[1]}", param_hint="--checkpoint")
    evaluate(data, [_named(s) for s in checkpoints], out, split=split, part=part,
             device=device or "auto", use_lpips=use_lpips, n_figure=figure_samples,
             log=(lambda _m: None) if quiet else click.echo)
