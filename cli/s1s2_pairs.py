"""`sargeo pairs`: cut a user's own Sentinel-1 and Sentinel-2 scenes into training pairs."""

from __future__ import annotations

from pathlib import Path

import click

from sargeo.s1s2 import OFFSET_CHOICES, PATCH, PairsOptions, make_pairs
from sargeo.sar_input import SCALES

from .errors import friendly_errors
from .options import quiet_option


def _rgb_bands(_ctx: click.Context, _param: click.Parameter,
               value: str | None) -> tuple[int, int, int] | None:
    if value is None:
        return None
    parts = [p.strip() for p in value.split(",")]
    if len(parts) != 3 or not all(p.isdigit() and int(p) >= 1 for p in parts):
        raise click.BadParameter(f"{value!r} is not three band numbers such as 4,3,2")
    return int(parts[0]), int(parts[1]), int(parts[2])


@click.command("pairs")
@click.argument("s1")
@click.argument("s2")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--band", "-b", help="S1 band number or description, e.g. 2 or VV (default: VV or 1).")
@click.option("--scale", type=click.Choice(["auto", *SCALES]), default="auto", show_default=True,
              help="What the S1 values are: dB sigma0, linear power, GRD amplitude DN, or 8-bit.")
@click.option("--nodata", type=float, help="S1 nodata value (overrides the file's metadata).")
@click.option("--rgb-bands", callback=_rgb_bands, metavar="R,G,B",
              help="1-based S2 bands holding red, green, blue (default: the bands named B4,B3,B2, "
                   "else 4,3,2).")
@click.option("--s2-offset", type=click.Choice(OFFSET_CHOICES), default="auto", show_default=True,
              help="Added to S2 DN before dividing by 10000 (baseline 04.00+ products: -1000); "
                   "auto: from the metadata, else 0.")
@click.option("--scl", type=click.Path(exists=True, dir_okay=False),
              help="Sentinel-2 L2A scene classification raster (classes 3, 8, 9, 10 count as cloud).")
@click.option("--mask", type=click.Path(exists=True, dir_okay=False),
              help="Your own cloud / bad-pixel mask, any grid: nonzero = bad.")
@click.option("--stride", type=click.IntRange(1), default=PATCH, show_default=True,
              help=f"Step between patches in S2 pixels (patches are {PATCH} x {PATCH}).")
@click.option("--scene", type=click.IntRange(0),
              help="Scene number in the patch names (default: derived from the input names).")
@click.option("--overwrite", is_flag=True, help="Replace this scene's patches if OUT_DIR has them.")
@quiet_option
@friendly_errors
def pairs_cmd(s1: str, s2: str, out_dir: Path, quiet: bool, **options: object) -> None:
    """Cut the Sentinel-1 scene S1 and the Sentinel-2 scene S2 of the same area into co-registered
    256 x 256 PNG pairs in OUT_DIR (s1/, s2/, pairs.json) for `sargeo train` and `sargeo crossval`.

    S1 is anything `sargeo colorize` reads (dB, linear, GRD amplitude, GCP-only measurement
    TIFFs); it is resampled onto the S2 10 m grid. S2 is a multi-band GeoTIFF, three single-band
    files given as R.tif,G.tif,B.tif, or a SAFE folder / its MTD_MSIL1C.xml or MTD_MSIL2A.xml.

    Patches with any nodata are skipped, and so are cloudy ones (over 1 % cloud or shadow): by
    the L2A scene classification (from the SAFE or --scl) and/or --mask where given, else by
    blue reflectance above 0.2. Each run adds one scene; run it again with other scenes and the
    same OUT_DIR to collect more.
    """
    log = (lambda _m: None) if quiet else (lambda m: click.echo(m, err=True))
    result = make_pairs(s1, s2, out_dir, PairsOptions(**options), log=log, progress=not quiet)
    log(f"S1 date {result.s1_date}, S2 date {result.s2_date}; S2 offset {result.s2_offset:g}; "
        f"cloud test: {result.cloud_test}")
    log(f"wrote {result.written} pairs of scene {result.scene} to {result.out_dir}; skipped "
        f"{result.skipped_nodata} with nodata, {result.skipped_clouds} cloudy, "
        f"{result.outside_overlap} outside the S1/S2 overlap")
