"""Calm water must come out darker than the land around it (a physics prior the training data lacks).

Calm water reflects the radar pulse away, so it is the darkest thing in a SAR scene and dark in
optical images too. The training data's darkest SAR is mostly bright sand and tarmac, so a model
can learn to paint lakes white. These tests colorize a window of the shipped sample scene around
its lake, with the lake and river known from the scene's generator script.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window
from scipy.ndimage import binary_erosion, distance_transform_edt
from skimage.color import rgb2lab

from sargeo.checkpoint import Checkpoint, load_checkpoint
from sargeo.models import default_checkpoint_path
from sargeo.postprocess import AdjustedGenerator, OutputAdjust
from sargeo.scene import colorize

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "sample_data"
CROP = 800
#: Water pixels this far inside the shore, so mixed shore pixels do not count.
ERODE_PX = 3
#: Land between these distances (px) from the water is what the water is compared with.
RING_PX = (10, 40)


@pytest.fixture(scope="module")
def lake_window(tmp_path_factory) -> tuple[Path, np.ndarray]:
    """An 800 x 800 px GeoTIFF cut from the sample scene around its lake, and its water mask."""
    spec = importlib.util.spec_from_file_location("make_sample_scene", SAMPLE_DIR / "make_sample_scene.py")
    maker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(maker)
    water = maker.water_mask()
    row, col = np.unravel_index(np.argmax(distance_transform_edt(water)), water.shape)  # lake centre
    row0 = int(np.clip(row - CROP // 2, 0, water.shape[0] - CROP))
    col0 = int(np.clip(col - CROP // 2, 0, water.shape[1] - CROP))
    window = Window(col0, row0, CROP, CROP)
    path = tmp_path_factory.mktemp("water") / "lake.tif"
    with rasterio.open(SAMPLE_DIR / "sample_s1_vv_db.tif") as src:
        profile = {**src.profile, "width": CROP, "height": CROP, "transform": src.window_transform(window)}
        data = src.read(1, window=window)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    return path, water[row0:row0 + CROP, col0:col0 + CROP]


def _water_and_land_lightness(src: Path, water: np.ndarray, ckpt: Checkpoint | None, out: Path
                              ) -> tuple[float, float]:
    """Mean L* of the colorized water (eroded) and of the land ring around it, valid pixels only."""
    colorize(src, out, ckpt, device="cpu")
    with rasterio.open(out) as ds:
        rgb, valid = ds.read((1, 2, 3)), ds.read(4) == 255
    lightness = rgb2lab(rgb.transpose(1, 2, 0) / 255.0)[..., 0]
    core = binary_erosion(water, iterations=ERODE_PX) & valid
    distance = distance_transform_edt(~water)
    ring = (distance >= RING_PX[0]) & (distance <= RING_PX[1]) & valid
    assert core.sum() > 5000 and ring.sum() > 5000
    return float(lightness[core].mean()), float(lightness[ring].mean())


def test_calm_water_is_not_brighter_than_the_land_around_it(lake_window, tmp_path):
    """The shipped default model, as `sargeo colorize` runs it."""
    src, water = lake_window
    water_l, land_l = _water_and_land_lightness(src, water, None, tmp_path / "out.tif")
    assert water_l < land_l, f"default model: water L* {water_l:.1f} vs land ring L* {land_l:.1f}"


def test_water_guard_darkens_the_lake_that_the_raw_model_paints_white(lake_window, tmp_path):
    """The guard alone fixes it, whatever model ships: it wraps the default checkpoint's bare U-Net."""
    src, water = lake_window
    ckpt = load_checkpoint(default_checkpoint_path())
    raw = Checkpoint(generator=ckpt.plain_generator, scaling=ckpt.scaling)
    adjust = OutputAdjust(mean_rgb=(0.35, 0.38, 0.33), water_guard=True)
    guarded = Checkpoint(generator=AdjustedGenerator(ckpt.plain_generator, adjust, ckpt.scaling),
                         scaling=ckpt.scaling)
    raw_water, raw_land = _water_and_land_lightness(src, water, raw, tmp_path / "raw.tif")
    water_l, land_l = _water_and_land_lightness(src, water, guarded, tmp_path / "guarded.tif")
    assert water_l < land_l, (f"guarded: water L* {water_l:.1f} vs land ring L* {land_l:.1f} "
                              f"(unguarded: {raw_water:.1f} vs {raw_land:.1f})")
    assert abs(land_l - raw_land) < 0.5  # the land around the water is left as the model made it
