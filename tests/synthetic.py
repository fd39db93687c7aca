"""Tiny generated inputs for tests: SEN1-2 style pairs and georeferenced SAR scenes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_tiny_pairs(root: Path, scenes: int = 4, patches: int = 3, size: int = 64, seed: int = 0) -> Path:
    """Plain s1/ + s2/ folders of SEN1-2 named PNGs whose colour is a function of the SAR."""
    rng = np.random.default_rng(seed)
    (root / "s1").mkdir(parents=True)
    (root / "s2").mkdir()
    for scene in range(scenes):
        for p in range(patches):
            sar = (rng.random((size, size)) * 80 + 60 + 30 * scene).astype(np.uint8)
            sar[: size // 2] //= 2
            rgb = np.stack([sar, 255 - sar, sar // 2], axis=-1).astype(np.uint8)
            name = f"ROIs1868_summer_s{{}}_{scene + 1}_p{p}.png"
            Image.fromarray(sar, "L").save(root / "s1" / name.format(1))
            Image.fromarray(rgb, "RGB").save(root / "s2" / name.format(2))
    return root


def write_scene(path: Path, width: int = 600, height: int = 500, crs: str | None = "EPSG:32631",
                dtype: str = "float32", nodata: float | None = -9999.0, count: int = 1,
                descriptions: tuple[str, ...] | None = None, gcps: bool = False, seed: int = 0,
                border: int = 40, values: np.ndarray | None = None) -> Path:
    """A georeferenced dB scene with a nodata border on the left and a NaN hole (floats)."""
    import rasterio
    from rasterio.control import GroundControlPoint
    from rasterio.transform import from_origin

    rng = np.random.default_rng(seed)
    if values is None:
        yy, xx = np.mgrid[0:height, 0:width]
        values = -12 + 6 * np.sin(xx / 37.0) * np.cos(yy / 53.0) + rng.normal(0, 1.5, (height, width))
    data = np.repeat(values[None].astype(np.float64), count, axis=0)
    if dtype == "uint16":
        data = np.clip(10 ** ((data + 53) / 20), 1, 65535)
    if border:
        data[:, :, :border] = nodata if nodata is not None else 0
    if np.dtype(dtype).kind == "f" and min(width, height) > 60:
        data[:, 30:45, 50:70] = np.nan
    profile = dict(driver="GTiff", width=width, height=height, count=count, dtype=dtype, nodata=nodata)
    if gcps:
        pts = [GroundControlPoint(row, col, 3.0 + col * 1e-4, 45.0 - row * 1e-4)
               for row in (0, height) for col in (0, width)]
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(data.astype(dtype))
            dst.gcps = (pts, "EPSG:4326")
        return path
    if crs is not None:
        res = 1e-4 if crs == "EPSG:4326" else 10.0
        origin = (3.0, 45.0) if crs == "EPSG:4326" else (500000.0, 5000000.0)
        profile.update(crs=crs, transform=from_origin(*origin, res, res))
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data.astype(dtype))
        if descriptions:
            for i, d in enumerate(descriptions, 1):
                dst.set_band_description(i, d)
    return path


def write_raster(path: Path, data: np.ndarray, crs: str | None = None, res: float | None = None,
                 nodata: float | None = None, descriptions: tuple[str | None, ...] | None = None,
                 gcps: bool = False, mask: np.ndarray | None = None) -> Path:
    """Write (bands, rows, cols) `data` as a GeoTIFF of its dtype, exactly as given.

    crs: georeferenced with a north-up transform (res: 10 m, or 1e-4 degrees for EPSG:4326);
    gcps: four corner GCPs in EPSG:4326 and no CRS; mask: an internal per-dataset mask band.
    """
    import warnings

    import rasterio
    from rasterio.control import GroundControlPoint
    from rasterio.errors import NotGeoreferencedWarning
    from rasterio.transform import from_origin

    count, height, width = data.shape
    profile = dict(driver="GTiff", width=width, height=height, count=count, dtype=data.dtype.name,
                   nodata=nodata)
    if crs is not None:
        geographic = crs == "EPSG:4326"
        res = res or (1e-4 if geographic else 10.0)
        origin = (3.0, 45.0) if geographic else (500000.0, 5000000.0)
        profile.update(crs=crs, transform=from_origin(*origin, res, res))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(data)
            if gcps:
                dst.gcps = ([GroundControlPoint(row, col, 3.0 + col * 1e-4, 45.0 - row * 1e-4)
                             for row in (0, height) for col in (0, width)], "EPSG:4326")
            for i, d in enumerate(descriptions or (), 1):
                if d:
                    dst.set_band_description(i, d)
            if mask is not None:
                dst.write_mask(np.where(mask, 255, 0).astype(np.uint8))
    return path
