"""The read stage of the scene engine: the input, opened (or warped to 10 m pixels on the fly)
and read strip by strip.

A strip is one tile high, cut to the columns of the tiles that reach the output and padded to
whole tiles. What the model stage must know per tile column (does it reach an output pixel,
does it need its nodata filled) is decided here from the host arrays, so a GPU is never
waited on mid-strip. This stage reads (GDAL releases the GIL) and, for a GPU, uploads the
strip on its own CUDA stream (`Uploader`); scaling runs with the model, on its device.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace

import numpy as np
import rasterio
import torch
from rasterio.enums import Resampling
from rasterio.errors import RasterioError, RasterioIOError
from rasterio.vrt import WarpedVRT
from shapely.geometry.base import BaseGeometry

from sargeo.aoi import strip_mask
from sargeo.destination import root_cause
from sargeo.sar_input import InputSpec, read_strip

MODEL_PIXEL_M = 10.0


@contextmanager
def open_source(src: str, resample: bool) -> Iterator[rasterio.io.DatasetReaderBase]:
    """Open the input read-only, optionally warped on the fly to 10 m pixels in its own CRS.

    Read errors inside the block name the file and GDAL's cause (rasterio's own message
    says only 'Read failed').
    """
    try:
        ds = rasterio.open(src)
    except RasterioIOError as exc:
        raise ValueError(f"cannot open {src} as a raster: {str(exc).splitlines()[0]}") from None
    try:
        with ds:
            if not resample:
                yield ds
                return
            if ds.crs is None or ds.transform.is_identity or ds.crs.is_geographic:
                raise ValueError("--resample needs an input in a projected CRS with an affine transform")
            factor = abs(ds.transform.a) / MODEL_PIXEL_M, abs(ds.transform.e) / MODEL_PIXEL_M
            transform = ds.transform @ ds.transform.scale(1 / factor[0], 1 / factor[1])
            with WarpedVRT(ds, crs=ds.crs, transform=transform, width=round(ds.width * factor[0]),
                           height=round(ds.height * factor[1]), resampling=Resampling.bilinear) as vrt:
                yield vrt
    except RasterioError as exc:
        raise OSError(f"cannot read {src}: {root_cause(exc)}") from None


@dataclass(frozen=True)
class Strip:
    """One tile-high strip: its first scene row; SAR values, validity and (with an AOI) validity
    inside the AOI, each (tile, width), on the host or (after an Uploader) on a GPU, with the
    event that marks their copy done; per tile column whether it reaches an output pixel and
    whether it needs its nodata filled."""

    row: int
    arrays: list[torch.Tensor]
    flags: list[tuple[bool, bool]]
    copied: torch.cuda.Event | None = None

    def on(self, device: torch.device) -> list[torch.Tensor]:
        """The arrays on `device`, for use on its current stream."""
        if self.copied is None:
            return [a.to(device, non_blocking=True) for a in self.arrays]
        stream = torch.cuda.current_stream(device)
        stream.wait_event(self.copied)
        for a in self.arrays:  # their memory is not reused until this stream is done with them
            a.record_stream(stream)
        return self.arrays


class Uploader:
    """Copies strips to a GPU on a CUDA stream of its own (one per reader thread), so neither the
    model stage nor the GPU's queue waits for a copy from host memory; other devices: a no-op."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.stream = torch.cuda.Stream(device) if device.type == "cuda" else None

    def __call__(self, strip: Strip) -> Strip:
        if self.stream is None:
            return strip
        with torch.cuda.stream(self.stream):
            arrays = [a.to(self.device, non_blocking=True) for a in strip.arrays]
            copied = torch.cuda.Event()
            copied.record(self.stream)
        return replace(strip, arrays=arrays, copied=copied)


def read_strips(ds: rasterio.io.DatasetReaderBase, src: str, spec: InputSpec, rows: Sequence[int],
                tile: int, span: tuple[int, int], cols: Sequence[int],
                aoi: BaseGeometry | None = None) -> Iterator[Strip]:
    """The strips of `src` (open as `ds`) starting at scene rows `rows`, over scene columns
    span = [x0, x1); `cols` are the tile columns relative to x0, `aoi` the output's area in
    pixels (None: all of it)."""
    x0, x1 = span
    width = max(x1 - x0, tile)
    for row in rows:
        height = min(tile, ds.height - row)
        try:
            values, valid = read_strip(ds, spec, row, height)
        except RasterioError as exc:
            raise OSError(f"cannot read rows {row}-{row + height} of {src}: {root_cause(exc)}") from None
        values = np.ascontiguousarray(values[:, x0:x1], dtype=np.float32)
        valid = np.ascontiguousarray(valid[:, x0:x1])
        # with an AOI the output's mask is its own: the input's validity alone decides the nodata
        # fill of the tiles, as in a whole-scene run
        masks = [valid] if aoi is None else [valid, valid & strip_mask(aoi, row, height, x1 - x0, x0)]
        padded = [_pad_to(a, tile, width) for a in (values, *masks)]
        flags = [(bool(padded[-1][:, c:c + tile].any()), not padded[1][:, c:c + tile].all()) for c in cols]
        yield Strip(row, [torch.from_numpy(a) for a in padded], flags)


def _pad_to(a: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Reflect-pad (symmetric) the bottom and right of a 2-D array up to rows x cols."""
    pad = ((0, max(0, rows - a.shape[0])), (0, max(0, cols - a.shape[1])))
    return np.pad(a, pad, mode="symmetric") if any(p[1] for p in pad) else a
