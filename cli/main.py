"""The `sargeo` command group; each subcommand lives in its own module."""

from __future__ import annotations

import sys
from typing import Any

import click

from sargeo import __version__
from sargeo.host_memory import reuse_freed_memory

from .colorize import colorize_cmd
from .crossval import crossval_cmd
from .errors import exit_interrupted
from .evaluate import evaluate_cmd
from .info import info_cmd
from .qgis_plugin_cmd import qgis_plugin_group
from .s1s2_pairs import pairs_cmd
from .train import train_cmd


class OneLineErrors(click.Group):
    """Usage errors in one line, like every other sargeo error (click prints three)."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            click.echo(f"Error: {exc.format_message().rstrip('.')}{hint}", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            click.echo(f"Error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except (KeyboardInterrupt, click.Abort) as exc:
            exit_interrupted(exc)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sargeo")
def cli() -> None:
    """Colorize Sentinel-1 SAR into optical-looking RGB with a conditional GAN."""
    reuse_freed_memory()  # the model's tensors reuse freed memory (sargeo.host_memory)


cli.add_command(train_cmd)
cli.add_command(colorize_cmd)
cli.add_command(qgis_plugin_group)
cli.add_command(info_cmd)
cli.add_command(evaluate_cmd)
cli.add_command(crossval_cmd)
cli.add_command(pairs_cmd)
