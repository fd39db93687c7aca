"""Value-scale detection and conversion of SAR inputs to the model's range."""

import numpy as np
import pytest
import rasterio
import torch
from synthetic import write_scene

from sargeo.sar_input import GRD_CALIBRATION_DB, InputSpec, detect_scale, pixel_size_m, resolve_input
from sargeo.scaling import SarScaling


@pytest.mark.parametrize(("dtype", "sample", "want"), [
    ("uint8", np.array([10, 200]), "uint8"),
    ("uint16", np.array([100, 300]), "amplitude"),
    ("float32", np.array([-15.0, -8.0, -3.0]), "db"),
    ("float32", np.array([0.02, 0.1, 0.5]), "linear"),
    ("float32", np.array([80.0, 150.0, 400.0]), "amplitude"),
])
def test_detect_scale(dtype, sample, want):
    assert detect_scale(dtype, sample) == want


@pytest.mark.parametrize(("scale", "raw"), [
    ("db", -12.5),
    ("linear", 10 ** (-12.5 / 10)),
    ("amplitude", 10 ** ((-12.5 + GRD_CALIBRATION_DB) / 20)),
    ("uint8", 127.5),
])
def test_every_scale_maps_the_window_middle_to_zero(scale, raw):
    spec = InputSpec(1, scale, SarScaling(-25, 0), None)
    assert spec.to_unit(torch.tensor([raw], dtype=torch.float64))[0].item() == pytest.approx(0.0, abs=1e-4)


def test_db_window_clips_to_unit_range():
    spec = InputSpec(1, "db", SarScaling(-25, 0), None)
    np.testing.assert_allclose(spec.to_unit(torch.tensor([-40.0, -25.0, 0.0, 5.0])).numpy(), [-1, -1, 1, 1])


def test_complex_data_is_refused(tmp_path):
    path = tmp_path / "slc.tif"
    with rasterio.open(path, "w", driver="GTiff", width=8, height=8, count=1, dtype="complex64") as ds:
        ds.write(np.ones((1, 8, 8), np.complex64))
    with rasterio.open(path) as ds, pytest.raises(ValueError, match="complex"):
        resolve_input(ds, None, "auto", SarScaling(), None)


def test_resolution_warning_and_auto_detection_on_a_file(tmp_path):
    src = write_scene(tmp_path / "in.tif", width=300, height=300)
    with rasterio.open(src) as ds:
        spec, notes = resolve_input(ds, None, "auto", SarScaling(), None)
        assert pixel_size_m(ds) == pytest.approx(10.0)
    assert spec.scale == "db" and spec.band == 1 and notes == []
    coarse = tmp_path / "coarse.tif"
    with rasterio.open(src) as ds:
        profile = ds.profile
        profile["transform"] = ds.transform @ ds.transform.scale(4, 4)
        with rasterio.open(coarse, "w", **profile) as out:
            out.write(ds.read())
    with rasterio.open(coarse) as ds:
        _, notes = resolve_input(ds, None, "auto", SarScaling(), None)
    assert any("40.0 m" in n for n in notes)


@pytest.mark.parametrize(("dtype", "nodata"), [("float32", -9999.0), ("float32", float("nan")),
                                                ("uint16", 0.0), ("int16", -32768.0)])
def test_valid_pixels_of_a_nodata_file_are_those_of_gdals_mask(tmp_path, dtype, nodata):
    """The file's nodata value is compared here rather than through GDAL's mask (which reads every
    strip twice): the result must be GDAL's mask, NaN and infinities excluded."""
    from sargeo.sar_input import read_strip

    rng = np.random.default_rng(1)
    values = rng.uniform(-20, -5, (60, 70))
    if dtype == "float32":
        values[30:35, 30:40] = np.nan
        values[5, 60] = np.inf
    path = write_scene(tmp_path / "in.tif", 70, 60, dtype=dtype, nodata=nodata, values=values, border=9)
    with rasterio.open(path) as ds:
        spec, _ = resolve_input(ds, None, "auto", SarScaling(), None)
        got = np.concatenate([read_strip(ds, spec, r, 20)[1] for r in (0, 20, 40)])
        expected = (ds.read_masks(1) > 0) & np.isfinite(ds.read(1).astype(float))
    assert got.shape == expected.shape and np.array_equal(got, expected)
    assert 0.5 < got.mean() < 0.95
