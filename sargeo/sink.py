"""The write stage of the scene engine: finished RGBA rows into the temporary GeoTIFF.

Rows arrive a strip at a time, in any number; they are written in whole output blocks (the
last block may be short), so GDAL compresses each block once, on all cores (NUM_THREADS).
GDAL's first complaint stops the stage, so a damaged file is never published.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.errors import RasterioError
from rasterio.windows import Window

from sargeo.destination import BLOCK, gdal_messages, root_cause


def write_rows(tmp: Path, dst: Path, profile: dict[str, Any], gcps: tuple[list, Any],
               next_rows: Callable[[], np.ndarray | None]) -> None:
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


def write_blocks(out: rasterio.io.DatasetWriter, block: int, next_rows: Callable[[], np.ndarray | None],
                 messages: list[str]) -> None:
    """Write rows as they come, `block` rows at a time; return at the first GDAL message."""
    pending, start = [], 0
    while True:
        item = next_rows()
        if item is not None:
            pending.append(item)
        rows = sum(p.shape[1] for p in pending)
        n = rows - rows % block if item is not None else rows
        if n:
            data = np.concatenate(pending, axis=1)
            out.write(data[:, :n], window=Window(0, start, out.width, n))
            start += n
            pending = [data[:, n:]] if n < rows else []
            if messages:
                return
        if item is None:
            return
