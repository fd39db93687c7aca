"""Options shared by several sargeo commands."""

import click

device_option = click.option(
    "--device", default=None, metavar="auto|cpu|cuda[:N]|mps",
    help="Where to run the model (default: auto = CUDA, then MPS, then CPU).")
quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress bar or log lines.")
