"""`sargeo pairs`: a user's own Sentinel-1 and Sentinel-2 scenes become co-registered SEN1-2 PNG
pairs that `sargeo train` reads.

Synthetic scenes carry Gaussian blobs at known map coordinates on different grids (S2 in UTM at
10 m; S1 in EPSG:4326, or GCP-only, rotated and in GRD amplitude); the blob centroids in each SAR
patch and its optical patch must agree within one pixel. The real SEN12MS-CR pairs in
../shared/data (or $SARGEO_SHARED_DATA) must come out as what `load_pair` reads from the originals.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result
from conftest import SHARED
from PIL import Image
from rasterio.control import GroundControlPoint
from rasterio.transform import Affine, from_origin
from rasterio.warp import transform as transform_points
from rasterio.warp import transform_bounds
from scipy import ndimage
from synthetic import write_fake_safe, write_georef

from sargeo.cli.main import cli
from sargeo.data import Pair, discover_pairs, load_pair
from sargeo.s1s2 import acquisition_date, metadata_offset, sentinel2_subdatasets
from sargeo.scaling import SarScaling, reflectance_to_unit

UTM = "EPSG:32631"
ORIGIN = (600000.0, 5000000.0)
S2_TRANSFORM = from_origin(*ORIGIN, 10, 10)
#: Half an 8-bit step on the model's [-1, 1] scale, plus float rounding.
HALF_STEP = 0.5 / 127.5 + 1e-4
#: S1 linear power around the blobs, and the optical background (reflectance x10000).
SAR_BACKGROUND, RED_BACKGROUND = 0.03, 500.0
#: Blob centres as S2 pixel indexes (row, col): one per 256 x 256 patch of a 512 x 512 scene.
BLOBS = [(80.7, 100.3), (150.5, 400.2), (390.1, 180.6), (330.4, 350.9)]


def _pairs(*args: object) -> Result:
    return CliRunner().invoke(cli, ["pairs", *map(str, args)])


def _s2_xy(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """UTM coordinates of the S2 pixel centres."""
    cols, rows = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    return S2_TRANSFORM @ (cols, rows)


def _blobs(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Gaussian blobs (sigma 25 m) centred on BLOBS, evaluated at UTM coordinates."""
    out = np.zeros(np.shape(x))
    for row, col in BLOBS:
        bx, by = S2_TRANSFORM @ (col + 0.5, row + 0.5)
        out += np.exp(-((x - bx) ** 2 + (y - by) ** 2) / (2 * 25.0**2))
    return out


def _s2_tif(path: Path, rgb: np.ndarray, tags: dict[str, str] | None = None) -> Path:
    """S2-like GeoTIFF from (3, h, w) R, G, B DN: bands B1, B2 (blue), B3, B4 (red), so 4,3,2 = RGB."""
    return write_georef(path, np.stack([rgb[2], rgb[2], rgb[1], rgb[0]]).astype(np.uint16), UTM,
                        S2_TRANSFORM, tags=tags)


def _blob_rgb(size: int = 512) -> np.ndarray:
    g = _blobs(*_s2_xy(size, size))
    return np.stack([RED_BACKGROUND + 2000 * g, 500 + 1500 * g, np.full_like(g, 400.0)])


def _s1_on_s2_grid(path: Path, db: np.ndarray, transform: Affine = S2_TRANSFORM) -> Path:
    """S1 sigma0 in dB (float32, NaN = no data) in UTM, by default on the S2 grid."""
    return write_georef(path, db[None].astype(np.float32), UTM, transform)


def _centroids(signal: np.ndarray, origin: tuple[int, int]) -> list[tuple[float, float]]:
    """Intensity-weighted blob centroids (row, col) of one patch, in S2 pixel indexes."""
    labels, n = ndimage.label(signal > 0.1 * signal.max())
    return [(r + origin[0], c + origin[1])
            for r, c in ndimage.center_of_mass(signal, labels, range(1, n + 1))]


def _assert_coregistered(out: Path) -> None:
    (entry,) = json.loads((out / "pairs.json").read_text())["scenes"].values()
    (c0, r0), ncols = entry["grid"]["first_patch_col_row"], entry["grid"]["columns"]
    sar, optical = [], []
    for pair in discover_pairs(out).pairs:
        p = int(pair.name.rsplit("_p", 1)[1])
        origin = (r0 + p // ncols * 256, c0 + p % ncols * 256)
        db = -25.0 + np.asarray(Image.open(pair.sar), float) / 255 * 25.0
        sar += _centroids(10 ** (db / 10) - SAR_BACKGROUND, origin)
        red = np.asarray(Image.open(pair.optical), float)[..., 0]
        optical += _centroids(red - RED_BACKGROUND / 3000 * 255, origin)
    assert len(sar) == len(optical) == len(BLOBS)
    for want in BLOBS:
        got = min(optical, key=lambda c: np.hypot(c[0] - want[0], c[1] - want[1]))
        assert np.hypot(got[0] - want[0], got[1] - want[1]) < 0.25, (want, got)
        near = min(sar, key=lambda c: np.hypot(c[0] - got[0], c[1] - got[1]))
        assert np.hypot(near[0] - got[0], near[1] - got[1]) < 1.0, (got, near)


@pytest.mark.parametrize("res, resampling", [(1e-4, "average"), (2e-4, "bilinear")],
                         ids=["s1-finer-averaged", "s1-coarser-interpolated"])
def test_lonlat_s1_is_coregistered_with_utm_s2(tmp_path, res, resampling):
    """S1 in EPSG:4326 at 0.0001 degrees (8 x 11 m) or 0.0002 degrees, S2 in UTM at 10 m."""
    s2 = _s2_tif(tmp_path / "s2.tif", _blob_rgb())
    w, s, e, n = transform_bounds(UTM, "EPSG:4326", ORIGIN[0], ORIGIN[1] - 5120, ORIGIN[0] + 5120, ORIGIN[1])
    t = from_origin(w - 0.003, n + 0.003, res, res)
    width, height = int((e - w + 0.006) / res), int((n - s + 0.006) / res)
    lon, lat = t @ np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    x, y = (np.reshape(v, lon.shape) for v in transform_points("EPSG:4326", UTM, lon.ravel(), lat.ravel()))
    db = 10 * np.log10(SAR_BACKGROUND + 0.5 * _blobs(x, y))
    s1 = write_georef(tmp_path / "s1.tif", db[None].astype(np.float32), "EPSG:4326", t)
    result = _pairs(s1, s2, tmp_path / "out", "--quiet")
    assert result.exit_code == 0, result.output
    _assert_coregistered(tmp_path / "out")
    (entry,) = json.loads((tmp_path / "out" / "pairs.json").read_text())["scenes"].values()
    assert entry["s1_resampling"] == resampling


def test_gcp_only_grd_amplitude_is_coregistered(tmp_path):
    """A GRD-like S1: uint16 amplitude with a zero border, 20 m pixels turned by 192 degrees
    (an ascending pass), located only by a 4 x 4 grid of lon/lat GCPs."""
    s2 = _s2_tif(tmp_path / "s2.tif", _blob_rgb())
    size = 420
    to_utm = (Affine.translation(ORIGIN[0] + 2560, ORIGIN[1] - 2560) @ Affine.rotation(192)
              @ Affine.scale(20, -20) @ Affine.translation(-size / 2, -size / 2))
    x, y = to_utm @ np.meshgrid(np.arange(size) + 0.5, np.arange(size) + 0.5)
    power = SAR_BACKGROUND + 0.5 * _blobs(x, y)
    dn = np.rint(np.sqrt(power * 10 ** 5.3)).astype(np.uint16)
    dn[:, :12] = 0
    gcps = []
    for row in np.linspace(0, size, 4):
        for col in np.linspace(0, size, 4):
            (lon,), (lat,) = transform_points(UTM, "EPSG:4326", *[[v] for v in to_utm @ (col, row)])
            gcps.append(GroundControlPoint(row, col, lon, lat))
    s1 = write_georef(tmp_path / "measurement.tiff", dn[None], "EPSG:4326", gcps=gcps)
    result = _pairs(s1, s2, tmp_path / "out", "--quiet")
    assert result.exit_code == 0, result.output
    _assert_coregistered(tmp_path / "out")
    (entry,) = json.loads((tmp_path / "out" / "pairs.json").read_text())["scenes"].values()
    assert entry["s1_scale"] == "amplitude" and entry["s1_resampling"] == "bilinear"


def test_finer_s1_is_averaged_in_linear_power(tmp_path):
    """A 5 m checkerboard of -5 and -25 dB: each 10 m pixel holds two of each, whose mean power is
    -7.96 dB (averaging the dB values would give -15 dB)."""
    rows, cols = np.mgrid[0:512, 0:512]
    db = np.where((rows + cols) % 2 == 0, -5.0, -25.0)
    s1 = write_georef(tmp_path / "s1.tif", db[None].astype(np.float32), UTM, from_origin(*ORIGIN, 5, 5))
    s2 = _s2_tif(tmp_path / "s2.tif", np.full((3, 256, 256), 800.0))
    assert _pairs(s1, s2, tmp_path / "out", "-q").exit_code == 0
    (pair,) = discover_pairs(tmp_path / "out").pairs
    mean_db = 10 * np.log10((10 ** -0.5 + 10 ** -2.5) / 2)
    assert np.abs(load_pair(pair)[0] - SarScaling().db_to_unit(mean_db)).max() <= HALF_STEP


def _gradient_rgb(height: int = 256, width: int = 256) -> np.ndarray:
    rows, cols = np.mgrid[0:height, 0:width]
    return np.stack([200 + 10 * cols, 300 + 8 * rows, 150 + 1.5 * (rows + cols)]).astype(np.float64)


def _s2_png(out: Path) -> np.ndarray:
    (pair,) = discover_pairs(out).pairs
    return np.asarray(Image.open(pair.optical), np.int16)


@pytest.mark.parametrize("tags, options", [
    ({"BOA_ADD_OFFSET": "-1000"}, []),
    ({"PROCESSING_BASELINE": "04.00"}, []),
    ({}, ["--s2-offset", "-1000"]),
], ids=["BOA_ADD_OFFSET-tag", "baseline-tag", "option"])
def test_l2a_offset_gives_the_l1c_pngs(tmp_path, tags, options):
    s1 = _s1_on_s2_grid(tmp_path / "s1.tif", np.full((256, 256), -12.0))
    l1c = _s2_tif(tmp_path / "l1c.tif", _gradient_rgb())
    l2a = _s2_tif(tmp_path / "l2a.tif", _gradient_rgb() + 1000, tags)
    assert _pairs(s1, l1c, tmp_path / "a", "-q").exit_code == 0
    result = _pairs(s1, l2a, tmp_path / "b", "-q", *options)
    assert result.exit_code == 0, result.output
    reference, png = _s2_png(tmp_path / "a"), _s2_png(tmp_path / "b")
    assert reference.std() > 20 and np.abs(png - reference).max() <= 1
    (entry,) = json.loads((tmp_path / "b" / "pairs.json").read_text())["scenes"].values()
    assert entry["s2_offset"] == [-1000.0] * 3


def test_l2a_without_offset_metadata_is_read_as_is_with_a_note(tmp_path):
    s1 = _s1_on_s2_grid(tmp_path / "s1.tif", np.full((256, 256), -12.0))
    assert _pairs(s1, _s2_tif(tmp_path / "l1c.tif", _gradient_rgb()), tmp_path / "a", "-q").exit_code == 0
    result = _pairs(s1, _s2_tif(tmp_path / "l2a.tif", _gradient_rgb() + 1000), tmp_path / "b")
    assert result.exit_code == 0, result.output
    assert "Note: no offset in the S2 metadata" in result.output and "--s2-offset -1000" in result.output
    diff = _s2_png(tmp_path / "b") - _s2_png(tmp_path / "a")
    unclipped = _s2_png(tmp_path / "b") < 255
    assert np.median(diff[unclipped]) == pytest.approx(1000 / 3000 * 255, abs=1)


def _skip_scene(tmp_path: Path) -> tuple[Path, Path]:
    """768 x 512 S2 = patches p0 p1 p2 / p3 p4 p5 with one problem each in p0 to p4."""
    db = np.full((512, 768), -12.0)
    db[100:120, 100:120] = np.nan  # p0: a hole in S1
    db[256:, :256] = np.nan  # p3: no S1 at all
    rgb = np.full((3, 512, 768), 800.0)
    rgb[:, 10:30, 300:320] = 0  # p1: S2 nodata
    rgb[:, 100:140, 600:640] = 6000  # p2: a bright cloud, 2.4 % of the patch
    return _s1_on_s2_grid(tmp_path / "s1.tif", db), _s2_tif(tmp_path / "s2.tif", rgb)


def _written(out: Path) -> tuple[set[int], dict]:
    (entry,) = json.loads((out / "pairs.json").read_text())["scenes"].values()
    return {int(p.name.rsplit("_p", 1)[1]) for p in discover_pairs(out).pairs}, entry["counts"]


def test_nodata_and_cloudy_patches_are_skipped_and_counted(tmp_path):
    s1, s2 = _skip_scene(tmp_path)
    scl = np.full((256, 384), 4, np.uint8)  # 20 m scene classification: vegetation
    scl[150:170, 150:170] = 9  # p4: high-probability cloud, 2.4 % of the patch
    scl_tif = write_georef(tmp_path / "scl.tif", scl[None], UTM, from_origin(*ORIGIN, 20, 20))
    # a user mask on a lon/lat grid marking 3.8 % of p5
    w, s, e, n = transform_bounds(UTM, "EPSG:4326", ORIGIN[0], ORIGIN[1] - 5120, ORIGIN[0] + 7680, ORIGIN[1])
    t = from_origin(w, n, 1e-4, 1e-4)
    lon, lat = t @ np.meshgrid(np.arange(int((e - w) / 1e-4)) + 0.5, np.arange(int((n - s) / 1e-4)) + 0.5)
    x, y = transform_points("EPSG:4326", UTM, lon.ravel(), lat.ravel())
    col, row = ~S2_TRANSFORM @ (np.reshape(x, lon.shape), np.reshape(y, lon.shape))
    mask = ((col >= 600) & (col < 650) & (row >= 350) & (row < 400)).astype(np.uint8)
    mask_tif = write_georef(tmp_path / "mask.tif", mask[None], "EPSG:4326", t)

    runs = {"bright": [], "scl": ["--scl", scl_tif], "mask": ["--mask", mask_tif]}
    for name, options in runs.items():
        result = _pairs(s1, s2, tmp_path / name, "-q", *options)
        assert result.exit_code == 0, (name, result.output)
    counts = {"skipped_nodata": 2, "outside_overlap": 1, "skipped_clouds": 1, "written": 2}
    # SCL or a mask replace the brightness test: the bright patch p2 then counts as clear
    assert _written(tmp_path / "bright") == ({4, 5}, counts)
    assert _written(tmp_path / "scl") == ({2, 5}, counts)
    assert _written(tmp_path / "mask") == ({2, 4}, counts)


def test_dates_are_reported_and_far_apart_dates_and_small_overlap_warned(tmp_path):
    rgb = np.full((3, 1000, 1000), 900.0)
    s2 = _s2_tif(tmp_path / "S2A_MSIL2A_20200301T105031_N0214_R051_T31TFJ_20200301T130000.tif", rgb)
    part = from_origin(ORIGIN[0] + 1000, ORIGIN[1] - 1000, 10, 10)
    s1 = _s1_on_s2_grid(tmp_path / "S1A_IW_GRDH_1SDV_20200101T055000_20200101T055025_030000_036000_AB12.tif",
                        np.full((300, 300), -11.0), part)
    result = _pairs(s1, s2, tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "Warning: S1 (2020-01-01) and S2 (2020-03-01) were taken 60 days apart" in result.output
    assert "Warning: S1 covers only 9% of the S2 scene" in result.output
    assert "S1 date 2020-01-01, S2 date 2020-03-01" in result.output
    # S1 date from TIFFTAG_DATETIME, 10 days before S2, covering it whole: no warnings
    tagged = write_georef(tmp_path / "s1.tif", np.full((1, 1000, 1000), -11.0, np.float32), UTM, S2_TRANSFORM,
                          tags={"TIFFTAG_DATETIME": "2020:02:20 10:00:00"})
    result = _pairs(tagged, s2, tmp_path / "out2")
    assert result.exit_code == 0, result.output
    assert "Warning" not in result.output and "S1 date 2020-02-20, S2 date 2020-03-01" in result.output
    (entry,) = json.loads((tmp_path / "out2" / "pairs.json").read_text())["scenes"].values()
    assert (entry["s1_date"], entry["s2_date"], entry["counts"]["written"]) == ("2020-02-20", "2020-03-01", 9)


def test_output_is_one_scene_for_the_trainer_and_holds_the_input_values(tmp_path):
    rng = np.random.default_rng(0)
    db = rng.uniform(-24, -1, (256, 512))
    rgb = rng.uniform(100, 2900, (3, 256, 512)).round()
    rgb[2] = (rgb[2] * 0.6).round()  # blue below the brightness test's cloud level
    s1 = _s1_on_s2_grid(tmp_path / "s1.tif", db)
    s2 = _s2_tif(tmp_path / "S2B_MSIL1C_20210704T103629_N0301_R008_T31TFJ_20210704T124307.tif", rgb)
    out = tmp_path / "out"
    assert _pairs(s1, s2, out, "-q", "--stride", "128", "--scene", "7").exit_code == 0
    found = discover_pairs(out)
    assert not found.skipped and {p.scene for p in found.pairs} == {"ROIs20210704_summer_7"}
    assert [p.name for p in found.pairs] == [f"ROIs20210704_summer_7_p{i}" for i in range(3)]
    for i, pair in enumerate(found.pairs):
        sar, optical = load_pair(pair)
        cut = np.s_[..., 128 * i: 128 * i + 256]
        assert np.abs(sar - SarScaling().db_to_unit(db[cut])).max() <= HALF_STEP
        assert np.abs(optical - reflectance_to_unit(rgb[cut])).max() <= HALF_STEP

    # a second scene merges into the same folder and pairs.json; the same one is refused
    other = _s1_on_s2_grid(tmp_path / "s1_other.tif", db)
    assert _pairs(other, s2, out, "-q").exit_code == 0
    index = json.loads((out / "pairs.json").read_text())["scenes"]
    assert len(index) == 2 and len({p.scene for p in discover_pairs(out).pairs}) == 2
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    again = _pairs(s1, s2, out, "-q", "--scene", "7")
    assert again.exit_code == 2 and "already holds scene ROIs20210704_summer_7" in again.output
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    # replacing it at stride 256 leaves 2 of its patches: the old p2 goes
    assert _pairs(s1, s2, out, "-q", "--scene", "7", "--overwrite").exit_code == 0
    assert [p.name for p in discover_pairs(out).pairs if p.scene == "ROIs20210704_summer_7"] == [
        "ROIs20210704_summer_7_p0", "ROIs20210704_summer_7_p1"]
    scenes = json.loads((out / "pairs.json").read_text())["scenes"]
    assert scenes["ROIs20210704_summer_7"]["grid"]["stride"] == 256


def test_fake_safe_l2a_product_gives_the_geotiff_pngs(tmp_path):
    """The SAFE path through GDAL's SENTINEL2 driver: 10 m subdataset, BOA_ADD_OFFSET from the
    product metadata, SCL from the 20 m subdataset. The product is a minimal fake (no real SAFE
    can be downloaded here): GDAL's driver reads it like a real one."""
    rgb = _gradient_rgb(256, 512)
    scl = np.full((128, 256), 4, np.uint8)
    scl[40:80, 170:210] = 8  # cloud in p1
    dn = {"B04": rgb[0], "B03": rgb[1], "B02": rgb[2], "B08": rgb[0]}
    safe = write_fake_safe(tmp_path, {b: (v + 1000).astype(np.uint16) for b, v in dn.items()}, scl, ORIGIN)
    s1 = _s1_on_s2_grid(tmp_path / "s1.tif", np.full((256, 512), -12.0))
    scl_tif = write_georef(tmp_path / "scl.tif", scl[None], UTM, from_origin(*ORIGIN, 20, 20))
    reference = _pairs(s1, _s2_tif(tmp_path / "l1c.tif", rgb), tmp_path / "ref", "-q", "--scl", scl_tif)
    assert reference.exit_code == 0, reference.output
    for name, s2 in {"folder": safe, "xml": safe / "MTD_MSIL2A.xml"}.items():
        result = _pairs(s1, s2, tmp_path / name, "-q")
        assert result.exit_code == 0, result.output
        assert _written(tmp_path / name) == ({0}, {"written": 1, "skipped_nodata": 0, "skipped_clouds": 1,
                                                  "outside_overlap": 0})
        assert np.array_equal(_s2_png(tmp_path / name), _s2_png(tmp_path / "ref"))
        (entry,) = json.loads((tmp_path / name / "pairs.json").read_text())["scenes"].values()
        assert (entry["s2_offset"], entry["s2_offset_source"], entry["cloud_test"], entry["s2_date"]) == (
            [-1000.0] * 3, "metadata", "SCL", "2023-08-23")


def test_sentinel2_subdataset_choice():
    l2a = [f"SENTINEL2_L2A:/d/MTD_MSIL2A.xml:{r}:EPSG_{e}"
           for e in (32631, 32632) for r in ("10m", "20m", "60m", "TCI")]
    assert sentinel2_subdatasets(l2a) == (l2a[0], l2a[1])
    l1c = [f"SENTINEL2_L1C:/d/MTD_MSIL1C.xml:{r}:EPSG_32633" for r in ("10m", "20m", "60m", "PREVIEW")]
    assert sentinel2_subdatasets(l1c) == (l1c[0], None)
    with pytest.raises(ValueError, match="no 10 m subdataset"):
        sentinel2_subdatasets(l1c[1:])


def test_offset_and_date_metadata():
    assert metadata_offset({"BOA_ADD_OFFSET": "-1000"}, {"PROCESSING_BASELINE": "03.01"}) == -1000
    assert metadata_offset({}, {"radio_add_offset": "-1000"}) == -1000
    assert metadata_offset({}, {"PROCESSING_BASELINE": "03.01"}) == 0
    assert metadata_offset({}, {"PROCESSING_BASELINE": "05.10"}) == -1000
    assert metadata_offset({}, {}) is None
    grd = "S1A_IW_GRDH_1SDV_20170617T064724_20170617T064749_017065_01C7A8_3F4B.SAFE/measurement/" \
          "s1a-iw-grd-vv-20170617t064724-20170617t064749-017065-01c7a8-001.tiff"
    assert str(acquisition_date([grd], {})) == "2017-06-17"
    assert str(acquisition_date(["x.tif"], {"TIFFTAG_DATETIME": "2020:02:20 10:00:00"})) == "2020-02-20"
    assert acquisition_date(["ROIs1970_fall_139_p839.tif"], {}) is None


@pytest.fixture
def tif_pairs() -> Path:
    folder = SHARED / "s1s2_tif_pairs"
    if not folder.is_dir():
        pytest.skip(f"real data not present at {folder} (set SARGEO_SHARED_DATA)")
    return folder


def test_real_sen12ms_cr_pairs_match_the_loader(tif_pairs, tmp_path):
    originals = sorted((tif_pairs / "sen12ms_cr" / "s1").glob("*.tif"))
    assert len(originals) == 4
    out = tmp_path / "out"
    for s1 in originals:
        s2 = tif_pairs / "sen12ms_cr" / "s2_cloudfree" / s1.name
        result = _pairs(s1, s2, out, "-q")
        assert result.exit_code == 0, result.output
    index = json.loads((out / "pairs.json").read_text())["scenes"]
    assert [e["counts"]["written"] for e in index.values()] == [1] * 4
    found = discover_pairs(out)
    assert len(found.pairs) == 4 and len({p.scene for p in found.pairs}) == 4
    for pair in found.pairs:
        (entry,) = [e for scene, e in index.items() if pair.scene == scene]
        s1 = Path(entry["s1"])
        original = Pair(s1, Path(entry["s2"][0]), s1.stem, "unknown", "sen12ms")
        for mine, theirs in zip(load_pair(pair), load_pair(original), strict=True):
            assert np.abs(mine - theirs).max() <= HALF_STEP


def test_real_bigearthnet_patches_are_too_small(tif_pairs, tmp_path):
    s1 = next((tif_pairs / "bigearthnet_mm" / "S1").iterdir())
    s2 = tif_pairs / "bigearthnet_mm" / "S2" / json.loads(
        (s1 / f"{s1.name}_labels_metadata.json").read_text())["corresponding_s2_patch"]
    rgb = ",".join(str(s2 / f"{s2.name}_{b}.tif") for b in ("B04", "B03", "B02"))
    result = _pairs(s1 / f"{s1.name}_VV.tif", rgb, tmp_path / "out", "-q")
    assert result.exit_code == 2
    assert "overlap is only 120 x 120 S2 pixels, smaller than one 256 x 256 patch" in result.output
    assert not (tmp_path / "out").exists()


def _bad_cases(d: Path) -> dict[str, tuple[list[object], str]]:
    s1 = _s1_on_s2_grid(d / "s1.tif", np.full((300, 300), -12.0))
    s2 = _s2_tif(d / "s2.tif", np.full((3, 300, 300), 800.0))
    far = _s1_on_s2_grid(d / "far.tif", np.full((300, 300), -12.0),
                         from_origin(ORIGIN[0] + 50000, ORIGIN[1], 10, 10))
    rgb3 = write_georef(d / "rgb.tif", np.full((3, 300, 300), 800, np.uint16), UTM, S2_TRANSFORM)
    red = write_georef(d / "red.tif", np.full((1, 300, 300), 800, np.uint16), UTM, S2_TRANSFORM)
    shifted = write_georef(d / "blue.tif", np.full((1, 300, 300), 800, np.uint16), UTM,
                           from_origin(ORIGIN[0] + 10, ORIGIN[1], 10, 10))
    (d / "notes.tif").write_text("not a raster")
    return {
        "no overlap": ([far, s2], "do not overlap"),
        "S2 with three bands": ([s1, rgb3], "S2 has 3 band(s) but red, green, blue = bands 4,3,2"),
        "band out of range": ([s1, s2, "--rgb-bands", "1,2,9"], "bands 1,2,9"),
        "missing S1": ([d / "nope.tif", s2], "S1 input not found"),
        "S2 not a raster": ([s1, d / "notes.tif"], "cannot open S2 input"),
        "S2 files on different grids": ([s1, f"{red},{red},{shifted}"], "not on the same pixel grid"),
    }


@pytest.mark.parametrize("case", ["no overlap", "S2 with three bands", "band out of range", "missing S1",
                                  "S2 not a raster", "S2 files on different grids"])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, case):
    args, words = _bad_cases(tmp_path)[case]
    before = sorted(tmp_path.rglob("*"))
    result = _pairs(*args, tmp_path / "out", "-q")
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and words in lines[0], lines
    assert sorted(tmp_path.rglob("*")) == before
