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


class _ReadSpy:
    """A dataset that records the pixels each read decodes: whole blocks under each window."""

    def __init__(self, ds: rasterio.DatasetReader) -> None:
        self.ds, self.pixels = ds, 0

    def __getattr__(self, name):
        return getattr(self.ds, name)

    def _count(self, window) -> None:
        bh, bw = self.ds.block_shapes[0]
        if window is None:
            self.pixels += self.ds.height * self.ds.width
        else:
            rows = -(-(window.row_off + window.height) // bh) - window.row_off // bh
            cols = -(-(window.col_off + window.width) // bw) - window.col_off // bw
            self.pixels += rows * bh * cols * bw

    def read(self, *args, window=None, **kwargs):
        self._count(window)
        return self.ds.read(*args, window=window, **kwargs)

    def read_masks(self, *args, window=None, **kwargs):
        self._count(window)
        return self.ds.read_masks(*args, window=window, **kwargs)


def _tiled_scene(path, values: np.ndarray, block: tuple[int, int], nodata: float | None = None):
    profile = dict(driver="GTiff", width=values.shape[1], height=values.shape[0], count=1, dtype="float32",
                   nodata=nodata, tiled=block[0] > 1, blockysize=block[0], blockxsize=block[1])
    if block[0] == 1:  # stripped, one row per strip
        del profile["tiled"], profile["blockxsize"]
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(values.astype(np.float32)[None])
    return path


@pytest.mark.parametrize("block", [(16, 16), (1, 600)])
@pytest.mark.parametrize(("values", "want"), [(-14.0, "db"), (0.05, "linear"), (300.0, "amplitude")])
def test_scale_of_a_big_band_is_guessed_from_a_few_of_its_blocks(tmp_path, block, values, want):
    """The input's scale is guessed before the first tile, so that read must not grow with the
    scene: a band of 1,600 tiles or 800 strips is sampled by whole blocks, spread over it,
    not decoded whole; a nodata border round the data does not fool it."""
    from sargeo.sar_input import SAMPLE_BLOCKS

    data = np.full((800, 600), -9999.0)
    data[100:700, 80:520] = values * np.random.default_rng(0).gamma(4.0, 0.25, (600, 440))
    path = _tiled_scene(tmp_path / "big.tif", data, block, nodata=-9999.0)
    with rasterio.open(path) as ds:
        spy = _ReadSpy(ds)
        spec, _ = resolve_input(spy, None, "auto", SarScaling(), None)
    assert spec.scale == want
    assert spy.pixels <= SAMPLE_BLOCKS * block[0] * (block[1] if block[0] > 1 else 600)


def test_a_sample_of_blocks_holding_no_valid_value_falls_back_to_the_whole_band(tmp_path):
    """Data in a corner that no sampled block reaches still sets the scale (linear here, not
    the dB guess an empty sample gives)."""
    data = np.full((800, 600), -9999.0)
    data[:20, :20] = 0.05
    path = _tiled_scene(tmp_path / "corner.tif", data, (16, 16), nodata=-9999.0)
    with rasterio.open(path) as ds:
        spec, _ = resolve_input(ds, None, "auto", SarScaling(), None)
    assert spec.scale == "linear"


@pytest.mark.parametrize("grid", [(50, 38), (800, 1), (1, 900), (3, 1000), (17, 17)])
def test_sampled_blocks_are_distinct_inside_the_band_and_spread_over_it(grid):
    from sargeo.sar_input import SAMPLE_BLOCKS, _spread_blocks

    block = (16, 16) if min(grid) > 1 else (1, 600) if grid[1] == 1 else (600, 1)
    cut = (5, 3) if min(grid) > 1 else (0, 0)  # short edge blocks
    shape = (grid[0] * block[0] - cut[0], grid[1] * block[1] - cut[1])
    windows = _spread_blocks(grid, block, shape)
    corners = {(w.row_off, w.col_off) for w in windows}
    assert min(grid[0] * grid[1], 12) <= len(windows) == len(corners) <= SAMPLE_BLOCKS
    for w in windows:
        assert w.row_off % block[0] == 0 and w.col_off % block[1] == 0
        assert 0 < w.height <= block[0] and 0 < w.width <= block[1]
        assert w.row_off + w.height <= shape[0] and w.col_off + w.width <= shape[1]
    rows = sorted({w.row_off for w in windows})
    cols = sorted({w.col_off for w in windows})
    for starts, size in ((rows, shape[0]), (cols, shape[1])):  # reaches both halves where it can
        if len(starts) > 1:
            assert starts[0] < size / 2 <= starts[-1]
