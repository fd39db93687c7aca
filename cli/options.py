"""Options shared by several sargeo commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # the CLI's option module stays light: sargeo.checkpoint imports torch
    from sargeo.checkpoint import Checkpoint

device_option = click.option(
    "--device", default=None, metavar="auto|cpu|cuda[:N]|mps",
    help="Where to run the model (default: auto = CUDA, then MPS, then CPU).")
quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress bar or log lines.")


#: What a model is trained with, shared by `train` and `crossval`; every default is None so that
#: `train --resume` can tell a given option from the run's stored one (TrainConfig holds the defaults).
RECIPE_OPTIONS = [
    click.option("--width", type=click.IntRange(1), help="Generator/discriminator width (paper: 64)."),
    click.option("--epochs", type=click.IntRange(1), help="Total epochs (paper: 100)."),
    click.option("--batch-size", type=click.IntRange(2), help="Batch size per process (paper: 16)."),
    click.option("--lr-g", type=float, help="Generator learning rate (paper: 2e-4)."),
    click.option("--lr-d", type=float, help="Discriminator learning rate (paper: 1e-5)."),
    click.option("--beta1", type=float, help="Adam beta1 (paper: 0.5)."),
    click.option("--beta2", type=float, help="Adam beta2 (paper: 0.999)."),
    click.option("--lambda-l1", type=float, help="Weight of the L1 loss (paper: 100)."),
    click.option("--lambda-grad", type=float,
                 help="Weight of the LAB gradient loss (paper: 100; 0 = ablation)."),
    click.option("--lambda-adv", type=float,
                 help="Weight of the adversarial loss (paper: 1; 0 = plain U-Net, no discriminator)."),
    click.option("--dropout", type=click.FloatRange(0, 1, max_open=True),
                 help="Dropout in the 3 innermost decoder blocks while training (paper: 0; pix2pix: 0.5)."),
    click.option("--augment/--no-augment", default=None, help="Random flips and 90-degree turns."),
    click.option("--sar-jitter-db", type=click.FloatRange(0),
                 help="Random SAR level offset per patch, +-dB (robustness to scene calibration; paper: 0)."),
    click.option("--input-norm", type=click.Choice(["none", "tile"]),
                 help="tile: standardise each SAR patch in the model (colour cannot follow a scene's "
                      "absolute backscatter level; paper: none)."),
    click.option("--loss-space", type=click.Choice(["rgb", "lab"]),
                 help="Space of the L1 loss (paper: rgb)."),
]


def recipe_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the recipe options; their help shows TrainConfig's defaults although they default to None."""
    from sargeo.config import TrainConfig  # plain dataclass: no PyTorch

    defaults = TrainConfig(data="", out="").__dict__
    for option in reversed(RECIPE_OPTIONS):
        func = option(func)
    for param in getattr(func, "__click_params__", []):
        if param.name in defaults and param.show_default is None:
            value = defaults[param.name]
            param.show_default = ("on" if value else "off") if isinstance(value, bool) else str(value)
    return func


init_option = click.option(
    "--init", metavar="CKPT|default",
    help="Fine-tune from this checkpoint ('default': the shipped model), keeping its architecture, SAR "
         "scaling and recipe; fine-tuning defaults unless given: --epochs 20 --lr-g 2e-5 --lr-d 1e-6.")


def finetune_base(init: str | None, given: dict[str, Any]) -> tuple[dict[str, Any], Checkpoint | None]:
    """Recipe options for a run and its starting checkpoint, loaded once: with --init, the
    start's architecture and recipe plus the fine-tuning defaults, overridden by what was given."""
    if not init:
        return given, None
    from sargeo.train import finetune_options, load_init

    start = load_init(init)
    return {**finetune_options(start), **given, "init": init}, start
