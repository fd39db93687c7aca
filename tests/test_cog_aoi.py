"""--aoi without edge effects, --crop to the AOI's window, and --cog (Cloud-Optimized GeoTIFF).

An AOI only masks the output: inside it the colours are those of a whole-scene run. The edge
tests use the shipped model on a cut of the sample scene, since a tiny random model barely
looks past a pixel's neighbours (today's code passed them with it).
"""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from rasterio.features import geometry_window, rasterize
from rasterio.transform import Affine, GCPTransformer
from rasterio.warp import transform_geom
from rasterio.windows import Window
from shapely.affinity import translate
from shapely.geometry import Polygon, box, mapping
from synthetic import write_scene

import sargeo.scene as scene
from sargeo.aoi import pixel_window
from sargeo.batch import colorize_many
from sargeo.cli.main import cli
from sargeo.models import DEFAULT_MODEL
from sargeo.options import ColorizeOptions
from sargeo.progress import Progress

SAMPLE = DEFAULT_MODEL.parents[2] / "sample_data" / "sample_s1_vv_db.tif"
#: An irregular AOI in pixel coordinates (off whole pixels, so rounding the window is unambiguous).
AOI_PIXELS = translate(Polygon([(100, 80), (290, 50), (400, 190), (350, 340), (220, 270), (140, 350),
                                (70, 210)]), 0.37, 0.41)


def _aoi_file(path: Path, src: Path, pixels: Polygon) -> Path:
    """`pixels` (col, row) of `src` as a WGS84 GeoJSON polygon."""
    with rasterio.open(src) as ds:
        world = Polygon([ds.transform @ xy for xy in pixels.exterior.coords])
        path.write_text(json.dumps(transform_geom(ds.crs, "EPSG:4326", mapping(world))))
    return path


def _mask(pixels: Polygon, shape: tuple[int, int], window: Window | None = None) -> np.ndarray:
    """Pixels of `shape` (of `window` of the scene) whose centres lie inside `pixels`."""
    offset = Affine.translation(window.col_off, window.row_off) if window is not None else Affine.identity()
    return rasterize([pixels], out_shape=shape, transform=offset, fill=0, default_value=1).astype(bool)


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.read().astype(int)


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, Path, Path]:
    """(a 480 x 400 cut of the sample scene, its whole-scene output, the AOI file)."""
    d = tmp_path_factory.mktemp("sample")
    window = Window(700, 500, 480, 400)
    with rasterio.open(SAMPLE) as ds:
        profile = {"driver": "GTiff", "width": window.width, "height": window.height, "count": 1,
                   "dtype": ds.dtypes[0], "nodata": ds.nodata, "crs": ds.crs,
                   "transform": ds.window_transform(window)}
        data = ds.read(1, window=window)
    src = d / "cut.tif"
    with rasterio.open(src, "w", **profile) as out:
        out.write(data, 1)
    full = d / "full.tif"
    scene.colorize(src, full, device="cpu")
    return src, full, _aoi_file(d / "aoi.geojson", src, AOI_PIXELS)


def test_aoi_colours_equal_the_whole_scene_run_inside(tmp_path, sample):
    src, full, aoi = sample
    scene.colorize(src, tmp_path / "aoi.tif", device="cpu", aoi=aoi)
    whole, part = _read(full), _read(tmp_path / "aoi.tif")
    inside = part[3] == 255
    assert inside.sum() > 0.3 * inside.size
    np.testing.assert_array_equal(inside, _mask(AOI_PIXELS, inside.shape) & (whole[3] == 255))
    diff = np.abs(whole[:3] - part[:3])[:, inside]
    assert diff.max() <= 1, f"mean {diff.mean():.2f}, max {diff.max()} DN off the whole-scene run"
    assert (part[:, ~inside] == 0).all()


def test_crop_writes_the_aoi_window_with_the_whole_scene_colours(tmp_path, sample):
    src, full, aoi = sample
    result = scene.colorize(src, tmp_path / "crop.tif", device="cpu", aoi=aoi, crop=True)
    with rasterio.open(src) as ds:
        geom = transform_geom("EPSG:4326", ds.crs, json.loads(aoi.read_text()))
        window = geometry_window(ds, [geom])
        transform, crs = ds.window_transform(window), ds.crs
    assert window == Window(70, 50, 331, 301)  # AOI_PIXELS' bounds rounded outward
    with rasterio.open(tmp_path / "crop.tif") as out:
        assert (out.width, out.height) == (window.width, window.height) == (result.width, result.height)
        assert out.transform == transform and out.crs == crs
        cropped = out.read().astype(int)
    whole = _read(full)[:, window.row_off:window.row_off + window.height,
                        window.col_off:window.col_off + window.width]
    inside = cropped[3] == 255
    np.testing.assert_array_equal(inside, _mask(AOI_PIXELS, inside.shape, window) & (whole[3] == 255))
    assert np.abs(whole[:3] - cropped[:3])[:, inside].max() <= 1
    assert (cropped[:, ~inside] == 0).all()


def _gcp_lonlat(col: float, row: float) -> tuple[float, float]:
    """Where synthetic.write_scene's GCPs put a pixel."""
    return 3 + col * 1e-4, 45 - row * 1e-4


def test_crop_clips_to_the_raster_and_shifts_gcps(tmp_path, tiny_checkpoint):
    """A GCP-only GRD: the cropped output's GCPs put every pixel where the input's did."""
    src = write_scene(tmp_path / "grd.tif", width=300, height=280, dtype="uint16", nodata=None, gcps=True,
                      border=0)
    # the AOI runs past the right edge
    ring = [_gcp_lonlat(col, row) for col, row in ((152.3, 49.6), (350, 60), (340, 168.2), (180, 120))]
    aoi = tmp_path / "aoi.geojson"
    aoi.write_text(json.dumps(mapping(Polygon(ring))))
    scene.colorize(src, tmp_path / "full.tif", tiny_checkpoint, device="cpu")
    scene.colorize(src, tmp_path / "crop.tif", tiny_checkpoint, device="cpu", aoi=aoi, crop=True)
    with rasterio.open(src) as a, rasterio.open(tmp_path / "crop.tif") as b:
        assert (b.width, b.height) == (300 - 152, 169 - 49) and b.crs is None and b.gcps[1] == a.gcps[1]
        with GCPTransformer(a.gcps[0]) as ta, GCPTransformer(b.gcps[0]) as tb:
            for row, col in ((0, 0), (50, 100), (119, 147)):
                np.testing.assert_allclose(tb.xy(row, col), ta.xy(row + 49, col + 152), atol=1e-9)
        cropped = b.read().astype(int)
    whole = _read(tmp_path / "full.tif")[:, 49:169, 152:300]
    inside = cropped[3] == 255
    assert inside[:, -1].any() and not inside[0].all()
    assert np.abs(whole[:3] - cropped[:3])[:, inside].max() <= 1
    assert (cropped[:, ~inside] == 0).all()


def test_crop_window_rounds_outward_and_clips_to_the_raster(tmp_path, tiny_checkpoint):
    assert pixel_window(box(-20.5, 10.2, 50.1, 30.9), 40, 25) == Window(0, 10, 40, 15)
    assert pixel_window(box(3.5, 4.5, 3.6, 4.6), 40, 25) == Window(3, 4, 1, 1)
    src = write_scene(tmp_path / "in.tif", width=100, height=100)
    with rasterio.open(src) as ds:  # touching the left edge, in the raster's CRS: exactly 0 columns
        world = Polygon([ds.transform @ xy for xy in box(-30, 10, 0, 50).exterior.coords])
        doc = {**mapping(world), "crs": {"type": "name", "properties": {"name": ds.crs.to_string()}}}
    (tmp_path / "aoi.geojson").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="does not overlap"):
        scene.colorize(src, tmp_path / "out.tif", tiny_checkpoint, device="cpu", aoi=tmp_path / "aoi.geojson",
                       crop=True)


def test_crop_needs_an_aoi(tmp_path, tiny_checkpoint):
    src = write_scene(tmp_path / "in.tif", width=100, height=100)
    with pytest.raises(ValueError, match="--crop needs --aoi"):
        scene.colorize(src, tmp_path / "out.tif", tiny_checkpoint, device="cpu", crop=True)
    with pytest.raises(ValueError, match="--crop needs --aoi"):
        colorize_many([src], tmp_path / "many", tiny_checkpoint, ColorizeOptions(device="cpu", crop=True))
    result = CliRunner().invoke(cli, ["colorize", str(src), str(tmp_path / "out.tif"), "--crop"])
    lines = result.stderr.splitlines()
    assert result.exit_code == 2 and len(lines) == 1, lines
    assert lines[0].startswith("Error: --crop needs --aoi")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tif"]


# --- Cloud-Optimized GeoTIFF ---------------------------------------------------------------------------


def _assert_cog(path: Path, block: int = 512) -> None:
    """A valid COG (rio-cogeo's validator, when installed), tiled, with overviews and an alpha band."""
    with rasterio.open(path) as ds:
        assert ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert ds.block_shapes[0] == (block, block) and ds.overviews(1)
        assert ds.colorinterp[3] == rasterio.enums.ColorInterp.alpha
    cog_validate = pytest.importorskip("rio_cogeo.cogeo").cog_validate
    valid, errors, warnings = cog_validate(str(path))
    assert valid and not errors and not warnings, (errors, warnings)


@pytest.fixture(scope="module")
def projected(tmp_path_factory, tiny_checkpoint) -> tuple[Path, Path]:
    """(a 700 x 600 scene, larger than a COG block so that it gets overviews; its GeoTIFF output)."""
    d = tmp_path_factory.mktemp("projected")
    src = write_scene(d / "in.tif", width=700, height=600)
    scene.colorize(src, d / "plain.tif", tiny_checkpoint, device="cpu")
    return src, d / "plain.tif"


def test_cog_has_the_pixels_and_georeferencing_of_the_geotiff(tmp_path, tiny_checkpoint, projected):
    src, plain = projected
    result = scene.colorize(src, tmp_path / "out.tif", tiny_checkpoint, device="cpu", cog=True)
    _assert_cog(result.output)
    with rasterio.open(plain) as a, rasterio.open(result.output) as b:
        assert (b.crs, b.transform, b.shape) == (a.crs, a.transform, a.shape)
        assert b.tags(ns="IMAGE_STRUCTURE")["COMPRESSION"] == "DEFLATE"
        np.testing.assert_array_equal(b.read(), a.read())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.tif"]


def test_cog_creation_options_go_to_the_cog_driver(tmp_path, tiny_checkpoint, projected):
    src, plain = projected
    result = CliRunner().invoke(cli, ["colorize", str(src), str(tmp_path / "out.tif"), "-c",
                                      str(tiny_checkpoint), "--device", "cpu", "-q", "--cog",
                                      "--co", "BLOCKSIZE=256", "--co", "COMPRESS=LZW"])
    assert result.exit_code == 0, result.output
    _assert_cog(tmp_path / "out.tif", block=256)
    with rasterio.open(tmp_path / "out.tif") as b:
        assert b.tags(ns="IMAGE_STRUCTURE")["COMPRESSION"] == "LZW"
    np.testing.assert_array_equal(_read(tmp_path / "out.tif"), _read(plain))


@pytest.mark.parametrize("options", [["COMPRESS=LZW"], ["COMPRESS=ZSTD"], ["ZLEVEL=9"], ["COMPRESS=NONE"]])
def test_other_compressions_and_levels_are_taken_with_the_same_pixels(tmp_path, tiny_checkpoint, projected,
                                                                      options):
    """Options beside sargeo's DEFLATE default reach GDAL and change only the encoding."""
    src, plain = projected
    co = [arg for option in options for arg in ("--co", option)]
    result = CliRunner().invoke(cli, ["colorize", str(src), str(tmp_path / "out.tif"), "-c",
                                      str(tiny_checkpoint), "--device", "cpu", "-q", *co])
    assert result.exit_code == 0, result.output
    compress = dict(o.split("=") for o in options).get("COMPRESS", "DEFLATE")
    with rasterio.open(tmp_path / "out.tif") as b:
        assert b.tags(ns="IMAGE_STRUCTURE").get("COMPRESSION", "NONE") == compress
    np.testing.assert_array_equal(_read(tmp_path / "out.tif"), _read(plain))


@pytest.mark.parametrize(("option", "word"), [
    ("TILED=YES", "TILED"), ("COMPRESS=BOGUS", "COMPRESS"), ("BLOCKSIZE=abc", "BLOCKSIZE"),
    ("BLOCKSIZE=65536", "BLOCKSIZE"), ("PREDICTOR=9", "PREDICTOR"), ("COMPRESS=JPEG", "COMPRESS=JPEG")])
def test_bad_cog_options_are_refused_before_any_work(tmp_path, tiny_checkpoint, option, word):
    src = write_scene(tmp_path / "in.tif", width=100, height=100)
    key, value = option.split("=")
    progress = []

    class Watch(Progress):
        def start(self, *args, **kwargs) -> None:
            progress.append(args)

    with pytest.raises(ValueError, match=f"creation options? {word}"):
        scene.colorize(src, tmp_path / "out.tif", tiny_checkpoint, device="cpu", cog=True,
                       creation_options={key: value}, progress=Watch())
    with pytest.raises(ValueError, match=word):
        colorize_many([src], tmp_path / "many", tiny_checkpoint,
                      ColorizeOptions(device="cpu", cog=True, creation_options={key: value}))
    assert not progress and sorted(p.name for p in tmp_path.iterdir()) == ["in.tif"]


def test_cog_with_aoi_and_crop_and_many_scenes(tmp_path, tiny_checkpoint, projected):
    src, _ = projected
    aoi = _aoi_file(tmp_path / "aoi.geojson", src, AOI_PIXELS)
    crop = scene.colorize(src, tmp_path / "crop.tif", tiny_checkpoint, device="cpu", aoi=aoi, crop=True)
    assert crop.tiles == 3 * 3  # of the scene's 4 x 3: only the tiles that reach into the window
    options = ColorizeOptions(device="cpu", aoi=aoi, crop=True, cog=True)
    outcomes = colorize_many([src], tmp_path / "many", tiny_checkpoint, options)
    assert [o.ok for o in outcomes] == [True]
    with rasterio.open(crop.output) as a, rasterio.open(outcomes[0].dst) as b:
        assert (b.crs, b.transform, b.shape) == (a.crs, a.transform, a.shape) and a.shape == (301, 331)
        np.testing.assert_array_equal(b.read(), a.read())
    # 331 x 301 fits in one COG block, so no overviews: the validator alone
    valid = pytest.importorskip("rio_cogeo.cogeo").cog_validate(str(outcomes[0].dst))
    assert valid[0], valid
    whole = scene.colorize(src, tmp_path / "aoi.tif", tiny_checkpoint, device="cpu", aoi=aoi, cog=True)
    _assert_cog(whole.output)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("stage", ["write_cog", "verify_output"])
def test_cog_failure_leaves_no_temporary_file_and_keeps_the_output(tmp_path, tiny_checkpoint, monkeypatch,
                                                                   stage):
    src = write_scene(tmp_path / "in.tif", width=300, height=300)
    dst = tmp_path / "out.tif"
    dst.write_bytes(b"an earlier, valid result")
    before, seen = _digest(dst), []
    real = getattr(scene, stage)

    def failing(*args, **kwargs):
        if stage == "write_cog":
            real(*args, **kwargs)
        seen.extend(sorted(p.name for p in tmp_path.glob(".out.tif.*.tmp")))
        raise OSError(f"injected {stage} failure")

    monkeypatch.setattr(scene, stage, failing)
    with pytest.raises(OSError, match=f"injected {stage} failure"):
        scene.colorize(src, dst, tiny_checkpoint, device="cpu", cog=True, overwrite=True)
    assert len(seen) == (2 if stage == "write_cog" else 1)  # the GeoTIFF goes once the COG is written
    assert _digest(dst) == before and sorted(p.name for p in tmp_path.iterdir()) == ["in.tif", "out.tif"]


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs POSIX file size limits")
def test_full_disk_while_writing_the_cog_is_one_error(tmp_path, tiny_checkpoint):
    """The engine's GeoTIFF fits under the limit, the COG (overviews added) does not."""
    rng = np.random.default_rng(1)
    src = write_scene(tmp_path / "in.tif", width=900, height=900, values=rng.normal(-12, 4, (900, 900)))
    scene.colorize(src, tmp_path / "plain.tif", tiny_checkpoint, device="cpu")
    limit = int((tmp_path / "plain.tif").stat().st_size * 1.15)

    def limit_file_size() -> None:
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    dst = tmp_path / "out.tif"
    res = subprocess.run([sys.executable, "-m", "sargeo.cli", "colorize", str(src), str(dst), "-c",
                          str(tiny_checkpoint), "--device", "cpu", "--progress", "none", "--cog"],
                         capture_output=True, text=True, timeout=120, preexec_fn=limit_file_size)
    assert res.returncode == 2, res.stderr
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: ") and str(dst) in last and "COG" in last and "Traceback" not in res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tif", "plain.tif"]
