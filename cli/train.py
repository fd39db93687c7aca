"""`sargeo train`: translate options into a TrainConfig and run sargeo.train."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click

from .errors import friendly_errors
from .options import device_option, finetune_base, init_option, quiet_option, recipe_options


def _resume_config(resume: Path) -> tuple[Path, dict]:
    from sargeo.checkpoint import read_payload

    ckpt = resume / "last.pt" if resume.is_dir() else resume
    return ckpt, read_payload(ckpt)["config"]


@click.command("train")
@click.option("--data", type=click.Path(exists=True, file_okay=False), help="Folder of SAR/optical pairs.")
@click.option("--out", type=click.Path(file_okay=False),
              help="New run folder for logs, figures, checkpoints (refused if it holds a run).")
@recipe_options
@init_option
@click.option("--terrain", "terrains", multiple=True, help="Only these terrains (repeatable).")
@click.option("--max-per-terrain", type=click.IntRange(1), help="Cap pairs per terrain.")
@click.option("--val-fraction", type=click.FloatRange(0, 1), help="Share of scenes for validation.")
@click.option("--test-fraction", type=click.FloatRange(0, 1), help="Share of scenes held out for testing.")
@click.option("--split", "split_file", type=click.Path(exists=True, dir_okay=False),
              help="Reuse a split.json instead of making a new scene split.")
@click.option("--seed", type=int, help="Seed for split, init and shuffling.")
@click.option("--save-every", type=click.IntRange(0), help="Also keep a checkpoint every N epochs.")
@click.option("--best-metric", type=click.Choice(["psnr", "ssim"]), help="Validation metric for best.pt.")
@click.option("--best-from-epoch", type=click.IntRange(1),
              help="Epochs before this one never become best.pt (early epochs are near-constant colour).")
@device_option
@click.option("--amp/--no-amp", default=None, help="bf16 mixed precision on CUDA (default on).")
@click.option("--workers", type=click.IntRange(0), help="DataLoader worker processes.")
@click.option("--resume", type=click.Path(exists=True, path_type=Path),
              help="Continue a run (its folder or last.pt) on its own data, scene split and width; "
                   "other options (epochs, learning rates, device...) override its config.")
@click.option("--progress", type=click.Choice(["bar", "none"]), default="bar", show_default=True,
              help="A progress bar per epoch on stderr, or none (the epoch lines stay).")
@quiet_option
@friendly_errors
def train_cmd(resume: Path | None, quiet: bool, progress: str, terrains: tuple[str, ...],
              **options: object) -> None:
    """Train the cGAN on SEN1-2 style pairs (CPU, GPU, or torchrun for several GPUs/nodes)."""
    from sargeo.train import TrainConfig, train

    given = {k: v for k, v in options.items() if v is not None}
    if terrains:
        given["terrains"] = list(terrains)
    checkpoint = start = None
    if resume:
        checkpoint, base = _resume_config(resume)
        base.update(given)
    else:
        base, start = finetune_base(given.pop("init", None), given)
        missing = [f"--{k}" for k in ("data", "out") if k not in given]
        if missing:
            raise click.UsageError(f"missing {' and '.join(missing)} (or use --resume)")
    cfg = TrainConfig.from_dict({**asdict(TrainConfig(data="", out="")), **base})
    train(cfg, resume=checkpoint, progress=progress == "bar" and not quiet,
          log=(lambda _m: None) if quiet else click.echo, init=start)
