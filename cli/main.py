"""The `sargeo` command group; each subcommand lives in its own module."""

import click

from sargeo import __version__

from .colorize import colorize_cmd
from .evaluate import evaluate_cmd
from .info import info_cmd
from .qgis_plugin_cmd import qgis_plugin_group
from .train import train_cmd


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sargeo")
def cli() -> None:
    """Colorize Sentinel-1 SAR into optical-looking RGB with a conditional GAN."""


cli.add_command(train_cmd)
cli.add_command(colorize_cmd)
cli.add_command(qgis_plugin_group)
cli.add_command(info_cmd)
cli.add_command(evaluate_cmd)
