"""`sargeo colorize` (also `rio colorize`): translate options and progress for sargeo.colorize."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from sargeo.progress import make_progress
from sargeo.sar_input import SCALES
from sargeo.scene import DEFAULT_OVERLAP, TILE, ColorizeOptions, colorize

from .errors import friendly_errors
from .options import device_option, quiet_option


def _creation_options(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> dict:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not key.strip() or not sep:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE")
        out[key.strip().upper()] = value.strip()
    return out


def _band(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | int | None:
    return int(value) if value is not None and value.isdigit() else value


@click.command("colorize")
@click.argument("src")
@click.argument("dst", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--checkpoint", "-c", type=click.Path(exists=True, dir_okay=False),
              help="Model checkpoint from `sargeo train` (default: the model shipped with sargeo).")
@click.option("--band", "-b", callback=_band,
              help="Band number or description, e.g. 2 or VV (default: VV or 1).")
@click.option("--scale", type=click.Choice(["auto", *SCALES]), default="auto", show_default=True,
              help="What the values are: dB sigma0, linear power, GRD amplitude DN, or 8-bit (SEN1-2 scale).")
@click.option("--db-range", type=(float, float), metavar="MIN MAX",
              help="dB window mapped to the model's input range (default: the checkpoint's, e.g. -25 0).")
@click.option("--nodata", type=float, help="Input nodata value (overrides the file's metadata).")
@click.option("--aoi", type=click.Path(exists=True, dir_okay=False),
              help="Polygon vector file (GeoJSON); only the area inside is colorized.")
@click.option("--overlap", type=click.IntRange(0, TILE - 1), default=DEFAULT_OVERLAP, show_default=True,
              help="Tile overlap in pixels (tiles are 256 x 256).")
@click.option("--batch-size", type=click.IntRange(1), default=8, show_default=True, help="Tiles per batch.")
@device_option
@click.option("--resample", is_flag=True, help="Warp the input to 10 m pixels (the model's) on the fly.")
@click.option("--overviews", is_flag=True, help="Build overviews in the output.")
@click.option("--co", "creation_options", multiple=True, callback=_creation_options, metavar="KEY=VALUE",
              help="GeoTIFF creation option (repeatable), e.g. --co COMPRESS=ZSTD.")
@click.option("--overwrite", is_flag=True, help="Replace DST if it exists.")
@click.option("--progress", type=click.Choice(["bar", "json", "none"]), default="bar", show_default=True,
              help="json: one JSON object per line on stdout, for programs.")
@quiet_option
@friendly_errors
def colorize_cmd(src: str, dst: Path, checkpoint: str | None, progress: str, quiet: bool,
                 device: str | None, **options: object) -> None:
    """Colorize the SAR raster SRC into an RGB + alpha GeoTIFF DST on the same pixel grid.

    SRC is anything GDAL opens: GeoTIFF, COG, VRT, /vsicurl/ URLs, a SAFE measurement TIFF.
    """
    opts = ColorizeOptions(device=device or "auto", **options)
    reporter = make_progress("none" if quiet and progress == "bar" else progress)
    log = (lambda _m: None) if quiet else (lambda m: click.echo(m, err=True))
    result = colorize(src, dst, checkpoint, opts, progress=reporter, log=log)
    if not quiet and progress != "json":
        click.echo(f"wrote {result.output} ({result.width} x {result.height}, {result.tiles_run} of "
                   f"{result.tiles} tiles run on {result.device})", err=True)
    sys.stdout.flush()
