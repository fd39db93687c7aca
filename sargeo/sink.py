"""The write stage of the scene engine: finished RGBA rows into the temporary GeoTIFF.

Rows arrive a strip at a time, in any number, as tensors on the model's device; they are
written in whole output blocks (the last block may be short), so GDAL compresses each block
once, on all cores (NUM_THREADS).
GDAL's first complaint stops the stage, so a damaged file is never published.

Rows on the host are copied by numpy, not torch: a torch copy in this thread would start an
OpenMP team of its own beside the model's, and with more OpenMP threads than cores libgomp
stops spinning between parallel regions, so the model's threads sleep and wake thousands of
times a second (2 cores: 1.72 instead of 1.97 cores busy, the engine 10 % slower).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import torch
from rasterio.errors import RasterioError
from rasterio.windows import Window

from sargeo.destination import BLOCK, gdal_messages, root_cause


def write_rows(tmp: Path, dst: Path, profile: dict[str, Any], gcps: tuple[list, Any],
               next_rows: Callable[[], torch.Tensor | np.ndarray | None]) -> None:
    """Create `tmp` with `profile` (and the GCPs when there is no CRS) and write the (4, n, width)
    uint8 rows `next_rows` hands over until it returns None; errors name `dst`, the file the user
    asked for."""
    try:
        with gdal_messages() as messages, rasterio.open(tmp, "w", **profile) as out:
            if gcps[0] and "crs" not in profile:
                out.gcps = gcps
            write_blocks(out, int(profile.get("BLOCKYSIZE", BLOCK)), next_rows, messages)
    except RasterioError as exc:
        raise OSError(f"cannot write {dst}: {root_cause(exc)}") from None
    if messages:
        raise OSError(f"cannot write {dst}: {messages[0]}")


def write_blocks(out: rasterio.io.DatasetWriter, block: int,
                 next_rows: Callable[[], torch.Tensor | np.ndarray | None], messages: list[str]) -> None:
    """Copy rows as they come into a buffer one block high and write it whenever it is full;
    return at the first GDAL message. Rows still on a GPU are copied straight into the buffer
    (then page-locked, so the copy runs at full speed): no other copy is made."""
    buffer, filled, start = None, 0, 0
    while (item := next_rows()) is not None:
        rows = torch.as_tensor(item)
        if buffer is None:
            buffer = torch.empty((out.count, block, out.width), dtype=torch.uint8, pin_memory=rows.is_cuda)
        done = 0
        while done < rows.shape[1]:
            n = min(block - filled, rows.shape[1] - done)
            _copy(buffer[:, filled:filled + n], rows[:, done:done + n])
            filled, done = filled + n, done + n
            if filled == block:
                out.write(buffer.numpy(), window=Window(0, start, out.width, block))
                filled, start = 0, start + block
                if messages:
                    return
    if buffer is not None and filled:
        last = np.ascontiguousarray(buffer[:, :filled].numpy())
        out.write(last, window=Window(0, start, out.width, filled))


def _copy(dst: torch.Tensor, src: torch.Tensor) -> None:
    """dst[...] = src, `dst` a slice of the (bands, rows, width) block buffer, with no torch copy
    between host tensors (see the module's docstring). Rows on a GPU go band by band: each
    band's slice is contiguous, so the GPU copies straight into the pinned buffer; into the
    strided slice of all bands torch would stage the rows in pageable memory and then copy
    them again on the host, with its thread pool."""
    if src.device.type == "cpu":
        np.copyto(dst.numpy(), src.numpy())
        return
    for band_dst, band_src in zip(dst, src, strict=True):
        band_dst.copy_(band_src)
