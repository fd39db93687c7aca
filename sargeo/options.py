"""What `colorize` can be told and what it returns, without importing the engine.

The command line (and `rio`, which loads sargeo's plugin on every call) needs these
names and defaults to build its options; importing them must not load PyTorch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

TILE = 256
#: Default tile overlap in pixels. benchmarks/seams.py on the sample scene with the shipped model:
#: edge/inside gradient ratio 9.7 at 0, 1.08 at 32, 1.05 at 64, 1.04 at 128 (but twice the tiles).
DEFAULT_OVERLAP = 64


@dataclass(frozen=True)
class ColorizeOptions:
    """Everything `colorize` can be told besides source, destination and model."""

    band: str | int | None = None
    overlap: int = DEFAULT_OVERLAP
    #: tiles per forward pass; None: 8 on a CPU, from free memory on a GPU
    batch_size: int | None = None
    device: str = "auto"
    scale: str = "auto"
    db_range: tuple[float, float] | None = None
    nodata: float | None = None
    aoi: str | Path | None = None
    #: write only the AOI's bounding window instead of the whole scene (needs `aoi`)
    crop: bool = False
    overwrite: bool = False
    creation_options: dict[str, str] = field(default_factory=dict)
    overviews: bool = False
    #: Cloud-Optimized GeoTIFF (always with overviews); creation_options then go to GDAL's COG driver
    cog: bool = False
    resample: bool = False
    amp: bool = True


@dataclass(frozen=True)
class ColorizeResult:
    output: Path
    device: str
    width: int
    height: int
    tiles: int
    tiles_run: int
    warnings: tuple[str, ...]
