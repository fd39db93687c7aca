"""`sargeo colorize` (also `rio colorize`): translate options and progress for sargeo.colorize,
or for sargeo.batch.colorize_many when there are several scenes."""

from __future__ import annotations

import dataclasses
import json
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    import sargeo.batch

from sargeo.options import DEFAULT_OVERLAP, TILE, ColorizeOptions
from sargeo.progress import JsonProgress, Progress, make_progress
from sargeo.sar_input import SCALES

from .errors import friendly_errors
from .imports import heavy_imports
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


class _SceneJson(JsonProgress):
    """JSON progress of one scene among many: every event names its scene."""

    def __init__(self, scene: str) -> None:
        super().__init__()
        self.scene = scene

    def _emit(self, event: str, **fields: Any) -> None:
        super()._emit(event, scene=self.scene, **fields)


@click.command("colorize")
@click.argument("src", nargs=-1)
@click.argument("dst", type=click.Path(path_type=Path))
@click.option("--list", "list_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              metavar="FILE", help="Also colorize the scenes listed in FILE, one path per line (blank lines "
                                   "and # comments skipped); DST is then an output folder.")
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
              help="Polygon vector file (GeoJSON); only the area inside is colorized (the model still "
                   "sees the pixels around it, so colours inside match a whole-scene run).")
@click.option("--crop", is_flag=True,
              help="Write only the AOI's bounding box instead of the whole scene (needs --aoi).")
@click.option("--overlap", type=click.IntRange(0, TILE - 1), default=DEFAULT_OVERLAP, show_default=True,
              help="Tile overlap in pixels (tiles are 256 x 256).")
@click.option("--batch-size", type=click.IntRange(1),
              help="Tiles per forward pass (default: 8 on a CPU, from free memory on a GPU; larger "
                   "batches are split as the model needs, any size gives the same output).")
@device_option
@click.option("--resample", is_flag=True, help="Warp the input to 10 m pixels (the model's) on the fly.")
@click.option("--overviews", is_flag=True, help="Build overviews in the output.")
@click.option("--cog", is_flag=True,
              help="Write a Cloud-Optimized GeoTIFF (tiled, DEFLATE, with overviews); --co options then "
                   "go to GDAL's COG driver, e.g. --co BLOCKSIZE=256.")
@click.option("--co", "creation_options", multiple=True, callback=_creation_options, metavar="KEY=VALUE",
              help="GeoTIFF creation option (repeatable), e.g. --co COMPRESS=ZSTD.")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
@click.option("--progress", type=click.Choice(["bar", "json", "none"]), default="bar", show_default=True,
              help="json: one JSON object per line on stdout, for programs.")
@quiet_option
@friendly_errors
def colorize_cmd(src: tuple[str, ...], dst: Path, list_file: Path | None, checkpoint: str | None,
                 progress: str, quiet: bool, device: str | None, **options: object) -> None:
    """Colorize the SAR raster SRC into an RGB + alpha GeoTIFF DST on the same pixel grid.

    SRC is anything GDAL opens: GeoTIFF, COG, VRT, /vsicurl/ URLs, a SAFE measurement TIFF.

    With several SRC (or --list), DST is a folder (created if missing) that receives
    DST/<SRC name>.tif for each scene. A scene that fails is reported in one line and the
    others go on; the exit code is then 2. Under torchrun every process colorizes its own
    share of the scenes, on GPU LOCAL_RANK.
    """
    if options["crop"] and options["aoi"] is None:
        raise click.UsageError("--crop needs --aoi")
    with heavy_imports():  # PyTorch loads here, not at `rio` start-up
        from rasterio.errors import NotGeoreferencedWarning

        from sargeo.batch import FILE_SUFFIXES, read_list
        from sargeo.host_memory import reuse_freed_memory
        from sargeo.scene import colorize

    # sargeo's own warning says once when an input has no georeferencing; rasterio's would repeat
    # it for every file the engine opens. The filter is set here, for this process, because
    # warnings.catch_warnings is not thread-safe and the engine opens files in several threads.
    warnings.filterwarnings("ignore", category=NotGeoreferencedWarning)
    reuse_freed_memory()  # a process setting too; for `rio colorize`, which skips `cli`

    opts = ColorizeOptions(device=device or "auto", **options)
    log = (lambda _m: None) if quiet else (lambda m: click.echo(m, err=True))
    if list_file is None and len(src) == 1:
        reporter = make_progress("none" if quiet and progress == "bar" else progress)
        result = colorize(src[0], dst, checkpoint, opts, progress=reporter, log=log)
        if not quiet and progress != "json":
            click.echo(f"wrote {result.output} ({result.width} x {result.height}, {result.tiles_run} of "
                       f"{result.tiles} tiles run on {result.device})", err=True)
        sys.stdout.flush()
        return
    if list_file is None and not src:
        raise click.UsageError("Missing argument 'DST'.")
    if dst.suffix.lower() in FILE_SUFFIXES and not dst.is_dir():
        raise click.UsageError(f"with --list, DST must be an output folder, not the file name {dst}"
                               if list_file else f"several SRC given but DST {dst} is a file name: give an "
                               "output folder as DST (or drop the extra arguments)")
    sources = [*src, *(read_list(list_file) if list_file else [])]
    _colorize_many(sources, dst, checkpoint, opts, progress, quiet)


def _colorize_many(sources: list[str], out_dir: Path, checkpoint: str | None, opts: ColorizeOptions,
                   progress: str, quiet: bool) -> None:
    """Run this process's share, show each failure as it happens, end with a summary and exit 2 if
    any of its scenes failed.

    Under torchrun every process checks every output before any starts (so all refuse alike),
    none exits before all are done (torchrun would stop the others), and there are no bars
    (several on one terminal garble each other; the scene lines remain)."""
    from sargeo.batch import colorize_many, join_ranks, leave_ranks, plan_outputs, rank_device, torchrun_env

    rank, world, local_rank = torchrun_env()
    prefix = f"[rank {rank}/{world}] " if world > 1 else ""
    if world > 1:
        opts = dataclasses.replace(opts, device=rank_device(opts.device, local_rank))
        plan_outputs(sources, out_dir, opts.overwrite)
    log = (lambda _m: None) if quiet else (lambda m: click.echo(prefix + m, err=True))
    bars = progress == "bar" and not quiet and world == 1

    def progress_for(scene: str) -> Progress:
        return _SceneJson(scene) if progress == "json" else make_progress("bar" if bars else "none")

    def report(outcome: sargeo.batch.SceneOutcome) -> None:
        if not outcome.ok:  # the scene's bar, if any, was closed when its tiles ended
            click.echo(f"Error: {outcome.src}: {outcome.error}", err=True)

    outcomes = colorize_many(sources, out_dir, checkpoint, opts, rank, world, log=log,
                             progress_factory=progress_for, on_outcome=report,
                             ready=join_ranks if world > 1 else lambda: None)
    failed = [o for o in outcomes if not o.ok]
    if failed or not quiet:
        click.echo(f"{prefix}colorized {len(outcomes) - len(failed)} of {len(outcomes)} scenes; "
                   f"{len(failed)} failed", err=True)
    if progress == "json":
        click.echo(json.dumps({"event": "summary", "scenes": len(outcomes),
                               "colorized": [o.src for o in outcomes if o.ok],
                               "failed": [{"scene": o.src, "error": o.error} for o in failed],
                               "rank": rank, "world": world}))
    sys.stdout.flush()
    if world > 1:
        leave_ranks()
    if failed:
        sys.exit(2)
