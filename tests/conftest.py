"""Shared fixtures: tiny generated SEN1-2 style pairs and the optional real data in ../shared."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


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


@pytest.fixture
def tiny_pairs(tmp_path: Path) -> Path:
    return write_tiny_pairs(tmp_path / "pairs")


@pytest.fixture
def shared_data() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"real data not present at {SHARED}")
    return SHARED
