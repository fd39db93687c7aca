"""The write stage of the scene engine: finished RGBA rows into the temporary GeoTIFF.

Rows arrive a strip at a time, in any number, as tensors on the model's device; they are
written in whole output blocks (the last block may be short), so GDAL compresses each block
once, on all cores (NUM_THREADS).
GDAL's first complaint stops the stage, so a damaged file is never published.
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
            buffer[:, filled:filled + n].copy_(rows[:, done:done + n])
            filled, done = filled + n, done + n
            if filled == block:
                out.write(buffer.numpy(), window=Window(0, start, out.width, block))
                filled, start = 0, start + block
                if messages:
                    return
    if buffer is not None and filled:
        last = np.ascontiguousarray(buffer[:, :filled].numpy())
        out.write(last, window=Window(0, start, out.width, filled))
