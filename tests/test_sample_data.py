"""The shipped synthetic Sentinel-1 scene: metadata, SAR-like statistics, reproducible by its script."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import rasterio

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "sample_data"
SCRIPT = SAMPLE_DIR / "make_sample_scene.py"
SCENE = SAMPLE_DIR / "sample_s1_vv_db.tif"


@pytest.fixture(scope="module")
def maker() -> ModuleType:
    """The generator script imported by path: sample_data/ is not a package."""
    spec = importlib.util.spec_from_file_location("make_sample_scene", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def scene() -> tuple[np.ndarray, float]:
    with rasterio.open(SCENE) as src:
        return src.read(1), src.nodata


def read(path: Path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read(1)


def test_committed_file_is_a_georeferenced_vv_geotiff():
    assert SCENE.is_file()
    assert SCENE.stat().st_size <= 4 * 1024**2
    with rasterio.open(SCENE) as src:
        assert src.count == 1
        assert src.dtypes == ("float32",)
        assert src.descriptions == ("VV",)
        assert src.units == ("dB",)
        assert "SARGEO_SYNTHETIC" in src.tags()
        assert src.crs.is_projected
        epsg = src.crs.to_epsg()
        assert 32601 <= epsg <= 32660 or 32701 <= epsg <= 32760  # WGS 84 / UTM
        assert src.res == (10.0, 10.0)
        assert src.transform.b == src.transform.d == 0  # north-up
        assert src.nodata is not None
        assert src.profile["tiled"] and src.compression is not None


def test_nodata_is_a_few_percent_along_the_swath_edge(scene):
    data, nodata = scene
    missing = data == nodata
    assert 0.01 < missing.mean() < 0.2
    assert missing[:, 0].all()  # the slanted west swath edge
    assert not missing[:, -1].all()


def test_valid_values_look_like_vv_sigma0_db(scene):
    data, nodata = scene
    valid = data[data != nodata]
    assert np.isfinite(valid).all()
    assert -35 <= valid.min() and valid.max() <= 5
    assert -14 < np.median(valid) < -7
    assert (valid < -18).mean() > 0.01  # river and lake
    assert (valid > -3).mean() > 0.005  # town and point scatterers


def test_regeneration_is_deterministic_per_seed(maker, tmp_path):
    paths = {name: tmp_path / f"{name}.tif" for name in ("a", "b", "c")}
    maker.write_scene(paths["a"], size=256, seed=7)
    maker.write_scene(paths["b"], size=256, seed=7)
    maker.write_scene(paths["c"], size=256, seed=8)
    a, b, c = (read(p) for p in paths.values())
    assert a.shape == (204, 256)
    assert a.tobytes() == b.tobytes()
    assert not np.array_equal(a, c)


def test_command_line_writes_what_make_scene_returns(maker, tmp_path):
    out = tmp_path / "cli.tif"
    args = [sys.executable, str(SCRIPT), "--out", str(out), "--size", "160", "--seed", "3"]
    subprocess.run(args, check=True, capture_output=True)
    np.testing.assert_array_equal(read(out), maker.make_scene(160, 3))


def test_committed_file_matches_the_script_defaults(maker, scene):
    """Regenerating with the defaults reproduces the shipped file, so script and file cannot drift apart."""
    data, nodata = scene
    assert nodata == maker.NODATA
    with rasterio.open(SCENE) as src:
        assert src.crs.to_epsg() == maker.EPSG
        assert src.transform == maker.TRANSFORM
        assert src.tags()["SARGEO_SEED"] == str(maker.DEFAULT_SEED)
    np.testing.assert_array_equal(data, maker.make_scene())


def test_water_mask_marks_the_dark_lake_and_river_of_the_committed_scene(maker, scene):
    """The mask that water tests use as ground truth lines up with the water in the shipped file."""
    from scipy.ndimage import binary_erosion

    data, nodata = scene
    water = maker.water_mask()
    assert water.shape == data.shape and water.dtype == bool
    assert 0.005 < water.mean() < 0.05
    valid = data != nodata
    core = binary_erosion(water, iterations=2) & valid
    assert np.median(data[core]) < -22 and (data[core] < -15).mean() > 0.97
    assert np.median(data[~water & valid]) > -14
    assert maker.water_mask(256, 7).shape == maker.make_scene(256, 7).shape
