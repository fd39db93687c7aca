"""Properties of the scene engine over random rasters: pixel grid, georeferencing, alpha, seams, batching.

Every raster here is drawn by hypothesis: shape (biased to tile-size edges and tiny scenes), data
type, invalid-pixel pattern, georeferencing, band layout, overlap and batch size. Tile counts are
capped so that one example stays well under a second with the width-4 test model.
"""

from __future__ import annotations

import hashlib
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from rasterio.enums import ColorInterp
from rasterio.errors import NotGeoreferencedWarning
from synthetic import write_raster

from sargeo.checkpoint import Checkpoint
from sargeo.scene import TILE, colorize
from sargeo.tiling import tile_starts

SETTINGS = dict(deadline=None, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large, HealthCheck.filter_too_much])
#: Sizes where tiling changes: one pixel, just under / at / over one tile, the output block.
EDGE_SIZES = (1, 2, 3, 17, 255, 256, 257, 319, 320, 321, 448, 511, 512, 513, 700)
DTYPES = ("float32", "float64", "int16", "uint16", "uint8")
#: Nodata values a file may declare, per data type.
NODATA = {"float32": (-9999.0, 0.0, -32768.0), "float64": (-9999.0, 0.0, 1e30),
          "int16": (0, -32768, -1), "uint16": (0, 65535), "uint8": (0, 255)}
PATTERNS = ("none", "rects", "border", "nan_holes", "scattered", "mask_band", "all_invalid")
GEOREF = ("projected", "geographic", "gcps", "none")
DEFAULT_DB = (-25.0, 0.0)  # SarScaling() of a Checkpoint built without a scaling


def _sha(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _tiles(length: int, overlap: int) -> int:
    return len(tile_starts(length, TILE, overlap))


def _lengths(max_len: int, min_len: int = 1) -> st.SearchStrategy[int]:
    edges = [v for v in EDGE_SIZES if min_len <= v <= max_len]
    ints = st.integers(min_len, max_len)
    return st.one_of(st.sampled_from(edges), ints) if edges else ints


def _max_length(overlap: int, tiles_per_axis: int, cap: int) -> int:
    """Longest side that still gives at most `tiles_per_axis` tiles at this overlap."""
    return min(cap, TILE + (tiles_per_axis - 1) * (TILE - overlap))


@dataclass
class Scene:
    data: np.ndarray  # (bands, rows, cols), the exact values written
    nodata: float | None
    mask: np.ndarray | None
    georef: str
    descriptions: tuple[str | None, ...]
    pattern: str

    @property
    def band(self) -> int:
        """0-based band the engine must read: the one described 'VV', else the first."""
        names = [(d or "").lower() for d in self.descriptions]
        return names.index("vv") if "vv" in names else 0

    def valid(self) -> np.ndarray:
        """Where the selected band holds data: finite, not nodata, inside the mask band.

        Integer amplitude files (int16/uint16) without a declared nodata value use 0 as nodata
        (the engine's documented rule for raw GRD borders).
        """
        v = self.data[self.band]
        ok = np.ones(v.shape, bool)
        if v.dtype.kind == "f":
            ok &= np.isfinite(v)
        if self.nodata is not None:
            ok &= v != self.nodata
        elif v.dtype.name in ("int16", "uint16"):
            ok &= v != 0
        if self.mask is not None:
            ok &= self.mask
        return ok

    def write(self, path: Path) -> Path:
        crs = {"projected": "EPSG:32631", "geographic": "EPSG:4326"}.get(self.georef)
        return write_raster(path, self.data, crs=crs, nodata=self.nodata, descriptions=self.descriptions,
                            gcps=self.georef == "gcps", mask=self.mask)


def _values(rng: np.random.Generator, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    """Plausible SAR values of each kind, never 0 for integer amplitudes (0 is their border)."""
    if dtype.startswith("float"):
        return rng.uniform(-30.0, 5.0, shape).astype(dtype)
    hi = {"int16": 3000, "uint16": 60000, "uint8": 256}[dtype]
    lo = 0 if dtype == "uint8" else 1
    return rng.integers(lo, hi, shape).astype(dtype)


def _rects(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    out = np.zeros((rows, cols), bool)
    for _ in range(rng.integers(1, 5)):
        r0, c0 = rng.integers(0, rows), rng.integers(0, cols)
        out[r0:r0 + rng.integers(1, rows + 1), c0:c0 + rng.integers(1, cols + 1)] = True
    return out


def _border(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    out = np.zeros((rows, cols), bool)
    side = rng.integers(0, 4)
    n = int(rng.integers(1, max(2, (rows if side < 2 else cols) // 2 + 1)))
    (out[:n], out[-n:], out[:, :n], out[:, -n:])[side][...] = True
    return out


def make_scene(rows: int, cols: int, dtype: str = "float32", pattern: str = "none",
               georef: str = "projected", nodata: float | None = None,
               descriptions: tuple[str | None, ...] = (None,), seed: int = 0) -> Scene:
    """A raster of `dtype` whose invalid pixels follow `pattern` (independently per band).

    Invalid pixels hold `nodata` when given, else NaN/+-inf (floats) or 0 (int16/uint16);
    "nan_holes" puts NaN rectangles in floats; "mask_band" writes an internal GDAL mask instead.
    """
    count = len(descriptions)
    rng = np.random.default_rng(seed)
    data = _values(rng, dtype, (count, rows, cols))
    is_float = dtype.startswith("float")
    mask = None
    if pattern in ("rects", "border", "scattered", "all_invalid"):
        assert nodata is not None or is_float or dtype in ("int16", "uint16")
        for b in range(count):
            bad = {"rects": lambda: _rects(rng, rows, cols), "border": lambda: _border(rng, rows, cols),
                   "scattered": lambda: rng.random((rows, cols)) < rng.uniform(0.01, 0.95),
                   "all_invalid": lambda: np.ones((rows, cols), bool)}[pattern]()
            if nodata is not None:
                data[b][bad] = nodata
            elif is_float:
                data[b][bad] = rng.choice(np.array([np.nan, np.inf, -np.inf], dtype=dtype), size=bad.sum())
            else:
                data[b][bad] = 0
    elif pattern == "nan_holes":
        assert is_float
        for b in range(count):
            data[b][_rects(rng, rows, cols)] = np.nan
    elif pattern == "mask_band":
        assert nodata is None  # GDAL's mask band, not a nodata value, says what is valid
        mask = _rects(rng, rows, cols) if rng.random() < 0.5 else rng.random((rows, cols)) < 0.7
        if rng.random() < 0.5:
            mask = ~mask
    return Scene(data, nodata, mask, georef, descriptions, pattern)


@st.composite
def scenes(draw, max_len: int, dtypes=DTYPES, patterns=PATTERNS, georefs=GEOREF):
    rows, cols = draw(_lengths(max_len)), draw(_lengths(max_len))
    dtype = draw(st.sampled_from(dtypes))
    count = draw(st.integers(1, 3))
    vv = draw(st.one_of(st.none(), st.integers(0, count - 1)))
    descriptions = tuple("VV" if i == vv else draw(st.sampled_from([None, "VH", "HH"])) for i in range(count))
    pattern = draw(st.sampled_from(patterns))
    is_float = dtype.startswith("float")
    if pattern == "nan_holes" and not is_float:
        pattern = "scattered"
    nodata = None
    if pattern != "mask_band":
        # uint8 has no implicit invalid value: it needs a declared one to have invalid pixels
        needs = pattern in ("rects", "border", "scattered", "all_invalid") and dtype == "uint8"
        if needs or draw(st.booleans()):
            nodata = draw(st.sampled_from(NODATA[dtype]))
    return make_scene(rows, cols, dtype, pattern, draw(st.sampled_from(georefs)), nodata, descriptions,
                      draw(st.integers(0, 2**32 - 1)))


@st.composite
def jobs(draw, max_tiles_per_axis: int = 4, cap: int = 700, **scene_kw):
    overlap = draw(st.one_of(st.sampled_from([0, 1, 32, 64, 128, 200, 254, 255]), st.integers(0, TILE - 1)))
    scene = draw(scenes(_max_length(overlap, max_tiles_per_axis, cap), **scene_kw))
    batch = draw(st.integers(1, 16))
    return scene, overlap, batch


def _read_output(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as ds:
            return ds.read(), ds.colorinterp, ds.dtypes


def _georef(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as ds:
            gcps, gcp_crs = ds.gcps
            return ds.crs, ds.transform, [(g.row, g.col, g.x, g.y, g.z) for g in gcps], gcp_crs


@settings(max_examples=30, **SETTINGS)
@given(job=jobs())
# cases that must always run, besides the random ones
# an internal mask band on integer amplitudes: the mask, not the implicit 0 nodata, says what is valid
@example(job=(make_scene(300, 280, "int16", "mask_band", seed=1), 64, 8))
@example(job=(make_scene(60, 50, "float32", "all_invalid"), 64, 8))  # NaN/inf only: "no valid pixel"
@example(job=(make_scene(40, 30, "int16", "all_invalid", "none"), 0, 1))  # all 0, no nodata declared
@example(job=(make_scene(257, 513, "uint16", "border", "gcps", seed=2), 128, 3))  # raw GRD layout
@example(job=(make_scene(1, 1, "uint8", "none", "none"), 255, 16))
@example(job=(make_scene(320, 700, "float64", "nan_holes", "geographic", -9999.0, (None, "VH", "VV"), 3),
              200, 5))
def test_any_raster_gives_a_grid_aligned_rgba_or_a_value_error(tiny_checkpoint, job):
    scene, overlap, batch = job
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = Path(tmp) / "in", Path(tmp) / "out"
        inp.mkdir()
        out.mkdir()
        src = scene.write(inp / "scene.tif")
        before = _sha(inp)
        valid = scene.valid()
        dst = out / "rgb.tif"
        if not valid.any():
            with pytest.raises(ValueError, match="(?i)valid"):
                colorize(src, dst, tiny_checkpoint, device="cpu", overlap=overlap, batch_size=batch)
            assert list(out.iterdir()) == [], "a failed run left files behind"
            assert _sha(inp) == before
            return
        # anything raised here (even a ValueError) fails: this input is usable
        colorize(src, dst, tiny_checkpoint, device="cpu", overlap=overlap, batch_size=batch)
        assert _sha(inp) == before, "the input was modified"
        assert [p.name for p in out.iterdir()] == ["rgb.tif"], "temporary files were left behind"
        pixels, colorinterp, dtypes = _read_output(dst)
        _, rows, cols = scene.data.shape
        assert pixels.shape == (4, rows, cols)
        assert dtypes == ("uint8",) * 4
        assert colorinterp[3] == ColorInterp.alpha
        in_crs, in_transform, in_gcps, in_gcp_crs = _georef(src)
        out_crs, out_transform, out_gcps, out_gcp_crs = _georef(dst)
        if scene.georef in ("projected", "geographic"):
            assert out_crs == in_crs and out_crs is not None
            assert out_transform == in_transform
        elif scene.georef == "gcps":
            assert out_crs is None
            assert out_gcp_crs == in_gcp_crs and out_gcps == in_gcps and len(out_gcps) == 4
        else:
            assert out_crs is None and not out_gcps
            assert out_transform.is_identity
        alpha, rgb = pixels[3], pixels[:3]
        assert set(np.unique(alpha)) <= {0, 255}
        np.testing.assert_array_equal(alpha == 255, valid, err_msg="alpha does not match the valid pixels")
        assert not rgb[:, ~valid].any(), "RGB is not 0 where alpha is 0"


class Pointwise(torch.nn.Module):
    """A 'generator' whose output at each pixel depends only on that pixel's input value."""

    width = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([0.5 * x, torch.tanh(3.0 * x), -0.8 * x], dim=1)


def _pointwise_expected(db: np.ndarray) -> np.ndarray:
    """(3, rows, cols) uint8 for dB input: window [-25, 0] -> [-1, 1], Pointwise, then (v + 1) * 127.5."""
    lo, hi = DEFAULT_DB
    u = np.clip((db.astype(np.float64) - lo) / (hi - lo), 0.0, 1.0) * 2.0 - 1.0
    v = np.stack([0.5 * u, np.tanh(3.0 * u), -0.8 * u])
    return np.clip(np.rint((v + 1.0) * 127.5), 0, 255).astype(np.uint8)


@st.composite
def seam_jobs(draw):
    overlap = draw(st.one_of(st.sampled_from([0, 1, 16, 64, 128, 192, 255]), st.integers(0, TILE - 1)))
    hi = _max_length(overlap, 6, 900)
    rows = draw(st.integers(min(300, hi), hi))
    cols = draw(st.integers(min(300, hi), hi))
    batch = draw(st.integers(1, 16))
    holes = draw(st.booleans())
    return rows, cols, overlap, batch, holes, draw(st.integers(0, 2**32 - 1))


@settings(max_examples=25, **SETTINGS)
@given(job=seam_jobs())
@example(job=(900, 700, 64, 3, True, 1))
@example(job=(261, 261, 255, 16, False, 2))
@example(job=(513, 769, 0, 1, True, 3))
def test_blending_is_exact_across_tile_rows_and_columns(job):
    """Every overlapping tile predicts the same value at a pixel, so blending must reproduce it.

    Random per-pixel input makes any misplaced, dropped or mis-weighted tile (in either direction)
    show up as an error of many DN; only float rounding (at most 1 DN) is allowed.
    """
    rows, cols, overlap, batch, holes, seed = job
    assert _tiles(rows, overlap) >= 2 and _tiles(cols, overlap) >= 2  # several tile rows and columns
    rng = np.random.default_rng(seed)
    db = rng.uniform(-28.0, 3.0, (rows, cols)).astype(np.float32)
    nodata = -9999.0
    if holes:
        db[_rects(rng, rows, cols)] = nodata
        db[_rects(rng, rows, cols)] = np.nan
    valid = np.isfinite(db) & (db != nodata)
    assume(valid.sum() > 1000)
    expected = _pointwise_expected(db)
    assert expected[:, valid].std(axis=1).min() > 10  # the check has teeth: values vary pixel to pixel
    with tempfile.TemporaryDirectory() as tmp:
        src = write_raster(Path(tmp) / "in.tif", db[None], crs="EPSG:32631", nodata=nodata)
        ckpt = Checkpoint(generator=Pointwise())
        colorize(src, Path(tmp) / "out.tif", ckpt, device="cpu", overlap=overlap, batch_size=batch)
        pixels = _read_output(Path(tmp) / "out.tif")[0]
    np.testing.assert_array_equal(pixels[3] == 255, valid)
    diff = np.abs(pixels[:3].astype(int) - expected.astype(int))[:, valid]
    worst = np.unravel_index(np.argmax(np.abs(pixels[:3].astype(int) - expected.astype(int)) * valid),
                             (3, rows, cols))
    assert diff.max() <= 1, (f"blended output differs from the pointwise value by {diff.max()} DN "
                             f"(worst at band/row/col {worst}; tile rows {tile_starts(rows, TILE, overlap)}, "
                             f"tile cols {tile_starts(cols, TILE, overlap)})")
    assert not pixels[:3, ~valid].any()


@settings(max_examples=12, **SETTINGS)
@given(job=jobs(max_tiles_per_axis=3, patterns=("none", "rects", "border", "nan_holes"),
                georefs=("projected",)),
       batches=st.lists(st.integers(1, 16), min_size=2, max_size=2, unique=True))
@example(job=(make_scene(600, 700, "float32", "rects", seed=4), 64, 8), batches=[1, 16])
def test_output_does_not_depend_on_batch_size(tiny_checkpoint, job, batches):
    scene, overlap, _ = job
    assume(scene.valid().any())
    with tempfile.TemporaryDirectory() as tmp:
        src = scene.write(Path(tmp) / "in.tif")
        outs = []
        for b in batches:
            colorize(src, Path(tmp) / f"b{b}.tif", tiny_checkpoint, device="cpu", overlap=overlap,
                     batch_size=b)
            outs.append(_read_output(Path(tmp) / f"b{b}.tif")[0])
    diff = outs[0] != outs[1]
    assert not diff.any(), f"batch sizes {batches} differ at {int(diff.sum())} values"
