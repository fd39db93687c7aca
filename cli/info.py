"""`sargeo info`: print the model card of the shipped model or of any checkpoint."""

from __future__ import annotations

import click

from .errors import friendly_errors


@click.command("info")
@click.option("--checkpoint", "-c", type=click.Path(exists=True, dir_okay=False),
              help="Checkpoint to describe (default: the model shipped with sargeo).")
@friendly_errors
def info_cmd(checkpoint: str | None) -> None:
    """Show architecture, size, input scaling, training command, split and held-out scores."""
    from sargeo.checkpoint import load_checkpoint
    from sargeo.modelcard import render_card
    from sargeo.models import default_checkpoint_path

    path = checkpoint or default_checkpoint_path()
    title = "sargeo default model" if checkpoint is None else f"sargeo model {path}"
    click.echo(render_card(load_checkpoint(path), title), nl=False)
