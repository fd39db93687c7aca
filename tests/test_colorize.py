"""Scene engine on generated georeferenced fixtures and, when present, the real rasters in ../shared."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import rasterio
from synthetic import write_scene

import sargeo.scene as scene_module
from sargeo.infer import TileRunner
from sargeo.progress import JsonProgress
from sargeo.scene import TILE, colorize


def _read(path):
    with rasterio.open(path) as ds:
        return ds.read(), ds


def _valid(path):
    with rasterio.open(path) as ds:
        v = ds.read(1)
        ok = ds.read_masks(1) > 0
        return ok & np.isfinite(v) if v.dtype.kind == "f" else ok


@pytest.mark.parametrize("crs", ["EPSG:32631", "EPSG:4326"])
def test_georeferencing_is_copied_and_alpha_matches_valid_area(tmp_path, tiny_checkpoint, crs):
    src = write_scene(tmp_path / "in.tif", width=613, height=389, crs=crs)
    out = colorize(src, tmp_path / "out.tif", tiny_checkpoint, device="cpu")
    with rasterio.open(src) as a, rasterio.open(out.output) as b:
        assert b.crs == a.crs and b.transform == a.transform and (b.width, b.height) == (a.width, a.height)
        assert b.count == 4 and b.dtypes[0] == "uint8"
        assert b.colorinterp[3] == rasterio.enums.ColorInterp.alpha
        alpha = b.read(4)
        rgb = b.read((1, 2, 3))
    valid = _valid(src)
    np.testing.assert_array_equal(alpha == 255, valid)
    assert (alpha[~valid] == 0).all() and (rgb[:, ~valid] == 0).all()
    assert rgb[:, valid].std() > 0


def test_gcp_only_input_keeps_its_gcps(tmp_path, tiny_checkpoint):
    src = write_scene(tmp_path / "grd.tif", width=300, height=280, dtype="uint16", nodata=None, gcps=True)
    colorize(src, tmp_path / "out.tif", tiny_checkpoint, device="cpu")
    with rasterio.open(src) as a, rasterio.open(tmp_path / "out.tif") as b:
        assert b.gcps[1] == a.gcps[1]
        assert [(g.row, g.col, g.x, g.y) for g in b.gcps[0]] == [(g.row, g.col, g.x, g.y) for g in a.gcps[0]]
        assert b.crs is None
        # raw GRD: 0 is the border even without nodata metadata
        np.testing.assert_array_equal(b.read(4) == 255, a.read(1) != 0)


def test_input_without_crs_works_with_a_warning(tmp_path, tiny_checkpoint):
    src = write_scene(tmp_path / "plain.tif", width=300, height=260, crs=None)
    logs = []
    colorize(src, tmp_path / "out.tif", tiny_checkpoint, device="cpu", log=logs.append)
    assert any("no CRS" in m for m in logs)
    with rasterio.open(tmp_path / "out.tif") as b:
        assert b.crs is None and b.read(4).any()


@pytest.mark.parametrize("size", [(1, 1), (17, 200), (100, 80), (256, 256), (257, 300)])
def test_small_and_odd_sizes_are_fully_covered(tmp_path, tiny_checkpoint, size):
    h, w = size
    src = write_scene(tmp_path / "small.tif", width=w, height=h, border=0, nodata=None)
    colorize(src, tmp_path / "out.tif", tiny_checkpoint, device="cpu")
    with rasterio.open(tmp_path / "out.tif") as b:
        assert (b.height, b.width) == (h, w)
        alpha = b.read(4)
    np.testing.assert_array_equal(alpha == 255, _valid(src))


def test_all_nodata_tiles_are_skipped(tmp_path, tiny_checkpoint):
    src = write_scene(tmp_path / "in.tif", width=1000, height=300, border=600)
    result = colorize(src, tmp_path / "out.tif", tiny_checkpoint, device="cpu", overlap=0)
    assert result.tiles == 2 * 4 and result.tiles_run == 2 * 2


def test_colour_does_not_depend_on_batch_size(tmp_path, tiny_checkpoint):
    src = write_scene(tmp_path / "in.tif", width=700, height=520)
    colorize(src, tmp_path / "b1.tif", tiny_checkpoint, device="cpu", batch_size=1)
    colorize(src, tmp_path / "b16.tif", tiny_checkpoint, device="cpu", batch_size=16)
    a, _ = _read(tmp_path / "b1.tif")
    b, _ = _read(tmp_path / "b16.tif")
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


def test_several_readers_give_the_pixels_of_one(tmp_path, tiny_checkpoint, monkeypatch):
    """On a GPU each of several readers reads every n-th strip; the rows must still meet in order."""
    src = write_scene(tmp_path / "in.tif", width=500, height=1400, border=40)
    colorize(src, tmp_path / "one.tif", tiny_checkpoint, device="cpu", batch_size=3)
    monkeypatch.setattr(scene_module, "reader_count", lambda _device: 3)
    colorize(src, tmp_path / "three.tif", tiny_checkpoint, device="cpu", batch_size=3)
    one, _ = _read(tmp_path / "one.tif")
    three, _ = _read(tmp_path / "three.tif")
    np.testing.assert_array_equal(one, three)


def _boundary_vs_inside(img: np.ndarray, starts: list[int]) -> tuple[float, float]:
    """Mean |horizontal difference| across tile edges vs. elsewhere."""
    d = np.abs(np.diff(img.astype(float), axis=-1)).mean(axis=(0, 1))
    edges = sorted({s + TILE - 1 for s in starts[:-1]} | {s - 1 for s in starts[1:]})
    inside = np.setdiff1d(np.arange(d.size), edges)
    return d[edges].mean(), d[inside].mean()


def test_blended_tiles_leave_no_seams(tmp_path, tiny_checkpoint):
    yy, xx = np.mgrid[0:300, 0:1100]
    smooth = -14 + 4 * np.sin(xx / 90.0) + 2 * np.cos(yy / 70.0)
    src = write_scene(tmp_path / "smooth.tif", width=1100, height=300, border=0, nodata=None, values=smooth)
    from sargeo.tiling import tile_starts

    colorize(src, tmp_path / "o64.tif", tiny_checkpoint, device="cpu", overlap=64)
    colorize(src, tmp_path / "o0.tif", tiny_checkpoint, device="cpu", overlap=0)
    blended, _ = _read(tmp_path / "o64.tif")
    hard, _ = _read(tmp_path / "o0.tif")
    edge, inside = _boundary_vs_inside(blended[:3], tile_starts(1100, TILE, 64))
    assert edge <= inside * 1.1
    edge0, inside0 = _boundary_vs_inside(hard[:3], tile_starts(1100, TILE, 0))
    assert edge0 > inside0 * 1.5  # the measure does see seams when tiles are not blended


def test_failure_leaves_no_output_and_keeps_an_existing_one(tmp_path, tiny_checkpoint, monkeypatch):
    src = write_scene(tmp_path / "in.tif", width=800, height=600)
    before = hashlib.sha256(src.read_bytes()).hexdigest()
    dst = tmp_path / "out.tif"
    dst.write_bytes(b"previous result")
    calls = {"n": 0}
    real = TileRunner._forward

    def failing(self, batch):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("simulated crash")
        return real(self, batch)

    monkeypatch.setattr(TileRunner, "_forward", failing)
    with pytest.raises(RuntimeError, match="simulated"):
        colorize(src, dst, tiny_checkpoint, device="cpu", batch_size=2, overwrite=True)
    assert dst.read_bytes() == b"previous result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tif", "out.tif"]
    assert hashlib.sha256(src.read_bytes()).hexdigest() == before


def test_existing_output_needs_overwrite(tmp_path, tiny_checkpoint):
    src = write_scene(tmp_path / "in.tif", width=300, height=300)
    (tmp_path / "out.tif").write_bytes(b"x")
    with pytest.raises(ValueError, match="already exists"):
        colorize(src, tmp_path / "out.tif", tiny_checkpoint, device="cpu")
    colorize(src, tmp_path / "out.tif", tiny_checkpoint, device="cpu", overwrite=True)
    assert _read(tmp_path / "out.tif")[0].shape == (4, 300, 300)


def test_band_is_chosen_by_description(tmp_path, tiny_checkpoint):
    src = write_scene(tmp_path / "in.tif", width=300, height=300, count=2, descriptions=("VV", "VH"))
    with rasterio.open(src, "r+") as ds:
        ds.write(ds.read(2) - 7.0, 2)
    colorize(src, tmp_path / "vv.tif", tiny_checkpoint, device="cpu")
    colorize(src, tmp_path / "vh.tif", tiny_checkpoint, device="cpu", band="VH")
    colorize(src, tmp_path / "b2.tif", tiny_checkpoint, device="cpu", band=2)
    vv, vh, b2 = (_read(tmp_path / f)[0] for f in ("vv.tif", "vh.tif", "b2.tif"))
    np.testing.assert_array_equal(vh, b2)
    assert np.abs(vv.astype(int) - vh.astype(int)).mean() > 1
    with pytest.raises(ValueError, match="no band named 'HH'"):
        colorize(src, tmp_path / "hh.tif", tiny_checkpoint, device="cpu", band="HH")


def test_aoi_restricts_the_valid_area(tmp_path, tiny_checkpoint):
    src = write_scene(tmp_path / "in.tif", width=400, height=300, border=0, nodata=None)
    # left half of the scene, in WGS84 (GeoJSON), via the raster's own CRS
    from rasterio.warp import transform_geom
    from shapely.geometry import box, mapping

    with rasterio.open(src) as ds:
        b = ds.bounds
        half = box(b.left - 50, b.bottom - 50, (b.left + b.right) / 2, b.top + 50)
        geom = transform_geom(ds.crs, "EPSG:4326", mapping(half))
    aoi = tmp_path / "aoi.geojson"
    aoi.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": geom}]}))
    colorize(src, tmp_path / "out.tif", tiny_checkpoint, device="cpu", aoi=aoi)
    alpha = _read(tmp_path / "out.tif")[0][3]
    valid = _valid(src)
    np.testing.assert_array_equal(alpha[:, :195] == 255, valid[:, :195])
    assert (alpha[:, 205:] == 0).all() and valid[:, 205:].all()


def test_json_progress_reaches_one(tmp_path, tiny_checkpoint):
    import io

    src = write_scene(tmp_path / "in.tif", width=600, height=500)
    stream = io.StringIO()
    colorize(src, tmp_path / "out.tif", tiny_checkpoint, device="cpu", progress=JsonProgress(stream, 0))
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert events[0]["event"] == "start" and events[0]["device"] == "cpu"
    assert events[-1]["event"] == "done" and events[-1]["output"].endswith("out.tif")
    fractions = [e["fraction"] for e in events if e["event"] == "progress"]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_real_sentinel1_rasters(shared_data, tmp_path, tiny_checkpoint):
    scenes = sorted((shared_data / "s1_scenes").rglob("*.tif"))
    assert scenes
    for i, src in enumerate(scenes):
        out = tmp_path / f"{i}.tif"
        colorize(src, out, tiny_checkpoint, device="cpu")
        with rasterio.open(src) as a, rasterio.open(out) as b:
            assert (b.crs, b.transform, b.shape) == (a.crs, a.transform, a.shape)
            alpha = b.read(4)
        np.testing.assert_array_equal(alpha == 255, _valid(src))


def test_nodata_values_do_not_bleed_into_valid_pixels(tmp_path, tiny_checkpoint):
    """Same valid pixels, different values in the nodata border: identical colours."""
    a = write_scene(tmp_path / "a.tif", width=500, height=300, border=100, nodata=-9999.0)
    b = write_scene(tmp_path / "b.tif", width=500, height=300, border=100, nodata=30.0)
    colorize(a, tmp_path / "oa.tif", tiny_checkpoint, device="cpu")
    colorize(b, tmp_path / "ob.tif", tiny_checkpoint, device="cpu")
    np.testing.assert_array_equal(_read(tmp_path / "oa.tif")[0], _read(tmp_path / "ob.tif")[0])


def test_nodata_override_masks_a_value_missing_from_metadata(tmp_path, tiny_checkpoint):
    src = write_scene(tmp_path / "in.tif", width=300, height=280, border=50, nodata=None)
    colorize(src, tmp_path / "meta.tif", tiny_checkpoint, device="cpu")
    colorize(src, tmp_path / "over.tif", tiny_checkpoint, device="cpu", nodata=0.0)
    assert (_read(tmp_path / "meta.tif")[0][3, :, :50] == 255).all()
    alpha = _read(tmp_path / "over.tif")[0][3]
    assert (alpha[:, :50] == 0).all() and (alpha[:, 50:][_valid(src)[:, 50:]] == 255).all()


def test_resample_warps_to_10m_pixels(tmp_path, tiny_checkpoint):
    src = write_scene(tmp_path / "in.tif", width=200, height=150, border=0, nodata=None)
    with rasterio.open(src) as ds:
        profile = ds.profile
        profile["transform"] = ds.transform @ ds.transform.scale(2, 2)
        with rasterio.open(tmp_path / "20m.tif", "w", **profile) as out:
            out.write(ds.read())
    logs: list[str] = []
    colorize(tmp_path / "20m.tif", tmp_path / "plain.tif", tiny_checkpoint, device="cpu", log=logs.append)
    assert any("20.0 m" in m for m in logs)
    colorize(tmp_path / "20m.tif", tmp_path / "o.tif", tiny_checkpoint, device="cpu", resample=True)
    with rasterio.open(tmp_path / "20m.tif") as a, rasterio.open(tmp_path / "o.tif") as b:
        assert b.res == (10.0, 10.0) and (b.width, b.height) == (400, 300)
        assert b.bounds == a.bounds


def test_vrt_input(tmp_path, tiny_checkpoint):
    src = write_scene(tmp_path / "in.tif", width=300, height=260)
    vrt = tmp_path / "in.vrt"
    with rasterio.open(src) as ds:
        vrt.write_text(
            f'<VRTDataset rasterXSize="{ds.width}" rasterYSize="{ds.height}">'
            f"<SRS>{ds.crs.to_wkt()}</SRS><GeoTransform>{', '.join(map(str, ds.transform.to_gdal()))}"
            '</GeoTransform><VRTRasterBand dataType="Float32" band="1"><NoDataValue>-9999</NoDataValue>'
            '<SimpleSource><SourceFilename relativeToVRT="1">in.tif</SourceFilename>'
            "<SourceBand>1</SourceBand></SimpleSource></VRTRasterBand></VRTDataset>")
    colorize(vrt, tmp_path / "o.tif", tiny_checkpoint, device="cpu")
    colorize(src, tmp_path / "ref.tif", tiny_checkpoint, device="cpu")
    np.testing.assert_array_equal(_read(tmp_path / "o.tif")[0], _read(tmp_path / "ref.tif")[0])


def test_top_level_api(tmp_path, tiny_checkpoint):
    import sargeo

    src = write_scene(tmp_path / "in.tif", width=120, height=100)
    result = sargeo.colorize(src, tmp_path / "o.tif", tiny_checkpoint, device="cpu", batch_size=2)
    assert isinstance(result, sargeo.ColorizeResult) and result.output.is_file()


def test_sparse_output_with_empty_blocks_is_accepted(tmp_path, tiny_checkpoint):
    """With SPARSE_OK GDAL leaves all-zero blocks out of the file: that is not a failed write."""
    src = write_scene(tmp_path / "in.tif", width=1200, height=700, border=700)
    colorize(src, tmp_path / "out.tif", tiny_checkpoint, device="cpu",
             creation_options={"SPARSE_OK": "TRUE", "BLOCKXSIZE": "256", "BLOCKYSIZE": "256"})
    with rasterio.open(tmp_path / "out.tif") as ds:
        assert ds.get_tag_item("BLOCK_OFFSET_0_0", "TIFF", bidx=1) in (None, "0")  # left out
        np.testing.assert_array_equal(ds.read(4) == 255, _valid(src))
