"""The `sargeo colorize` command line for the algorithm's parameter values.

Standard library only, so that the mapping from parameters to CLI options is tested without QGIS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SCALES = ["auto", "db", "linear", "amplitude", "uint8"]  # --scale choices; auto is the CLI's default
DEVICES = ["auto", "cpu", "cuda", "mps"]  # --device choices; auto is the CLI's default
# GDAL option names are letters, digits and underscores; the CLI and GDAL judge the values
_CREATION_OPTION = re.compile(r"[A-Za-z][A-Za-z0-9_]*=\S*")


@dataclass(frozen=True)
class ColorizeOptions:
    """What the user chose; None (or the CLI's default) passes nothing, so the CLI decides as on the
    command line (e.g. the band described VV, the checkpoint's dB window, the automatic batch size)."""

    checkpoint: str | None = None
    band: int | None = None
    scale: str = "auto"
    db_range: tuple[float, float] | None = None
    nodata: float | None = None
    aoi: str | None = None
    overlap: int | None = None
    batch_size: int | None = None
    device: str = "auto"
    resample: bool = False
    overviews: bool = False
    cog: bool = False
    crop: bool = False
    creation_options: tuple[str, ...] = ()


def colorize_command(exe: str, src: str, dst: str, options: ColorizeOptions) -> list[str]:
    """The argv to run: only the options that differ from the CLI's defaults, so the logged command is
    what a user would type. `--` keeps a file name that starts with '-' from being read as an option."""
    o = options
    argv = [exe, "colorize"]
    for flag, value in (("--checkpoint", o.checkpoint), ("--band", o.band),
                        ("--scale", None if o.scale == "auto" else o.scale), ("--db-range", o.db_range),
                        ("--nodata", o.nodata), ("--aoi", o.aoi), ("--overlap", o.overlap),
                        ("--batch-size", o.batch_size),
                        ("--device", None if o.device == "auto" else o.device)):
        if value is not None:
            argv += [flag, *(_text(v) for v in (value if isinstance(value, tuple) else (value,)))]
    argv += [flag for flag, on in (("--resample", o.resample), ("--overviews", o.overviews), ("--cog", o.cog),
                                   ("--crop", o.crop)) if on]
    for item in o.creation_options:
        argv += ["--co", item]
    return [*argv, "--overwrite", "--progress", "json", "--", src, dst]


def _text(value: str | int | float) -> str:
    """repr of a float round-trips exactly; '%g' would turn a nodata of 123456789 into 1.23457e+08."""
    return repr(value) if isinstance(value, float) else str(value)


def db_range(low: float | None, high: float | None) -> tuple[float, float] | None:
    """Both ends or neither: with one end only, the other would silently be the checkpoint's."""
    if low is None and high is None:
        return None
    if low is None or high is None:
        raise ValueError("dB range: set both the minimum and the maximum, or neither (the checkpoint's "
                         "window, e.g. -25 to 0).")
    return low, high


def creation_options(text: str) -> tuple[str, ...]:
    """`KEY=VALUE` items separated by spaces or '|' (as QGIS's GDAL algorithms write them)."""
    items = tuple(item for item in re.split(r"[\s|]+", text) if item)
    bad = [item for item in items if not _CREATION_OPTION.fullmatch(item)]
    if bad:
        listed = ", ".join(f"'{item}'" for item in bad)
        raise ValueError(f"Creation options: {listed} {'is' if len(bad) == 1 else 'are'} not KEY=VALUE. "
                         "Write GeoTIFF creation options as KEY=VALUE separated by spaces, e.g. "
                         "COMPRESS=ZSTD PREDICTOR=2.")
    return items

