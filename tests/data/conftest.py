"""Tiny on-disk datasets in every layout discover_pairs knows, written per test into tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from PIL import Image
from rasterio.transform import Affine


def _pattern(size: int, seed: int) -> np.ndarray:
    """Asymmetric 8-bit image, so any flip or rotation changes it."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (size, size), dtype=np.uint8)


class Fake:
    """Writers for small PNG / GeoTIFF / BigEarthNet files."""

    def png(self, path: Path, array: np.ndarray) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(array).save(path)
        return path

    def png_pair(self, s1: Path, s2: Path, size: int = 32, seed: int = 0) -> None:
        """SAR pattern a and RGB (a, 255 - a, a) derived from it pixel by pixel."""
        a = _pattern(size, seed)
        self.png(s1, a)
        self.png(s2, np.stack([a, 255 - a, a], axis=-1))

    def tif(self, path: Path, bands: np.ndarray) -> Path:
        """Write (count, h, w) bands as a GeoTIFF with a UTM transform."""
        path.parent.mkdir(parents=True, exist_ok=True)
        count, h, w = bands.shape
        with rasterio.open(path, "w", driver="GTiff", width=w, height=h, count=count,
                           dtype=bands.dtype, crs="EPSG:32650",
                           transform=Affine(10, 0, 700000, 0, -10, 3700000)) as ds:
            ds.write(bands)
        return path

    def s1_tif(self, path: Path, vv_db: float = -12.5, vh_db: float = -20.0,
               size: int = 16) -> Path:
        """SEN12MS S1: 2 bands (VV, VH) in dB."""
        vv = np.full((size, size), vv_db, np.float32)
        return self.tif(path, np.stack([vv, np.full_like(vv, vh_db)]))

    def s2_tif(self, path: Path, size: int = 16) -> Path:
        """SEN12MS S2: 13 bands, band k (1-based) holds k * 100."""
        bands = np.stack([np.full((size, size), k * 100, np.uint16) for k in range(1, 14)])
        return self.tif(path, bands)

    def ben_pair(self, root: Path, s1_name: str, s2_name: str, size: int = 12) -> tuple[Path, Path]:
        """BigEarthNet-MM S1/<s1_name>/ and S2/<s2_name>/ with their metadata JSON."""
        s1, s2 = root / "S1" / s1_name, root / "S2" / s2_name
        self.tif(s1 / f"{s1_name}_VV.tif", np.full((1, size, size), -12.5, np.float32))
        self.tif(s1 / f"{s1_name}_VH.tif", np.full((1, size, size), -20.0, np.float32))
        self.json(s1 / f"{s1_name}_labels_metadata.json", {"corresponding_s2_patch": s2_name})
        for band, value in {"B02": 300, "B03": 1500, "B04": 2700, "B08": 3000}.items():
            self.tif(s2 / f"{s2_name}_{band}.tif", np.full((1, size, size), value, np.uint16))
        self.json(s2 / f"{s2_name}_labels_metadata.json", {"labels": ["Pastures"]})
        return s1, s2

    def json(self, path: Path, data: dict) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data))


@pytest.fixture
def fake() -> Fake:
    return Fake()
