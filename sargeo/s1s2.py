"""Training pairs from a user's own Sentinel-1 and Sentinel-2 scenes of the same area.

A model for a new region needs pairs from that region. This cuts a co-registered S1 / S2 scene
pair into the SEN1-2 PNG patches that `sargeo train` and `sargeo crossval` read:

* S1 (anything `colorize` reads) is resampled onto the S2 pixel grid in linear power, because
  averaging dB values biases speckle dark, then goes back to dB and through the SEN1-2 window.
* S2 digital numbers become reflectance x10000 (minus the processing-baseline 04.00 offset where
  there is one) and go through the stretch the training pairs use (`reflectance_to_unit`).
* A patch is written only when every pixel is valid in both and it is (nearly) cloud-free;
  skipped patches are counted, never written half-empty.
* Patches are written into a temporary folder beside OUT_DIR and moved in only when all of them
  are complete, so a failure or Ctrl-C leaves OUT_DIR as it was.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import sys
import warnings
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import rasterio
from PIL import Image
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning, RasterioError, RasterioIOError
from rasterio.transform import rowcol, xy
from rasterio.warp import reproject
from rasterio.warp import transform as transform_points
from rasterio.windows import Window
from rasterio.windows import transform as window_transform
from shapely.geometry import Polygon, box
from tqdm import tqdm

from sargeo.destination import is_local, root_cause, temp_path
from sargeo.sar_input import (
    GRD_CALIBRATION_DB,
    InputSpec,
    pixel_size_m,
    resolve_input,
    shift_gcps,
    valid_pixels,
)
from sargeo.scaling import SarScaling, reflectance_to_unit, unit_to_uint8

PATCH = 256
#: The SEN1-2 dB window: `load_pair` reads the SAR PNGs on this scale.
SAR_WINDOW = SarScaling()
#: Sentinel-2 L2A scene classes that make a pixel unusable: cloud shadow, cloud medium and
#: high probability, thin cirrus.
SCL_CLOUD = (3, 8, 9, 10)
#: Brightness test (no SCL or mask given): blue reflectance above 0.2 is cloud. Land and water
#: are darker in blue (0.02-0.12); clouds, and also snow and some bright sand, are brighter.
CLOUD_BLUE = 0.2
#: A patch with more cloudy / shadow pixels than this fraction is skipped.
MAX_CLOUD_FRACTION = 0.01
MAX_DAYS_APART = 30
MIN_OVERLAP = 0.2
#: Products of processing baseline 04.00 or later (from 25 January 2022) store DN = reflectance
#: x 10000 - offset, with BOA_ADD_OFFSET (L2A) / RADIO_ADD_OFFSET (L1C) = -1000.
BASELINE_OFFSET = -1000.0
BASELINE_OFFSET_SINCE = date(2022, 1, 25)
OFFSET_CHOICES = ("auto", "0", "-1000")
#: Source pixels read around each strip for the resampling kernel and the GCP fit.
_MARGIN = 8
_OFFSET_KEYS = ("BOA_ADD_OFFSET", "RADIO_ADD_OFFSET")
_DATE_KEYS = ("ACQUISITION_START_TIME", "PRODUCT_START_TIME", "DATATAKE_1_DATATAKE_SENSING_START",
              "SENSING_TIME", "DATE_ACQUIRED", "TIFFTAG_DATETIME")
_STAMP = re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})t\d{6}(?!\d)", re.I)
_TAG_DATE = re.compile(r"^(\d{4})[-:]?(\d{2})[-:]?(\d{2})")
_SEASONS = ("winter", "winter", "spring", "spring", "spring", "summer", "summer", "summer",
            "fall", "fall", "fall", "winter")
_S2_PRODUCT_XML = ("MTD_MSIL2A.xml", "MTD_MSIL1C.xml")


@dataclass(frozen=True)
class PairsOptions:
    """Everything `pairs` can be told besides the two scenes and the output folder."""

    band: str | int | None = None
    scale: str = "auto"
    nodata: float | None = None
    rgb_bands: tuple[int, int, int] | None = None
    s2_offset: str = "auto"
    scl: str | None = None
    mask: str | None = None
    stride: int = PATCH
    scene: int | None = None
    overwrite: bool = False


@dataclass(frozen=True)
class PairsResult:
    out_dir: Path
    scene: str
    written: int
    skipped_nodata: int
    skipped_clouds: int
    outside_overlap: int
    s1_date: str
    s2_date: str
    s2_offset: float
    cloud_test: str
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class _Grid:
    """The S2 pixel grid that everything is brought onto."""

    crs: rasterio.crs.CRS
    transform: rasterio.Affine
    width: int
    height: int


# ---------------------------------------------------------------- names, dates, metadata


def acquisition_date(names: Sequence[str], tags: dict[str, str]) -> date | None:
    """Sensing date from a product-style name (…_20170617T064724_…) or, failing that, metadata."""
    for name in names:
        for part in reversed(Path(name).parts[-4:]):
            for m in _STAMP.finditer(part):
                found = _date(*m.groups())
                if found:
                    return found
    upper = {k.upper(): v for k, v in tags.items()}
    for key in _DATE_KEYS:
        m = _TAG_DATE.match(upper.get(key, "").strip())
        found = _date(*m.groups()) if m else None
        if found:
            return found
    return None


def _date(year: str, month: str, day: str) -> date | None:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def season(day: date | None) -> str:
    """SEN1-2-style season name of a date (meteorological, northern names), or 'unknown'."""
    return _SEASONS[day.month - 1] if day else "unknown"


def scene_prefix(s2_date: date | None) -> str:
    """'ROIs<YYYYMMDD>_<season>': the S2 date stands in for SEN1-2's region-of-interest number."""
    return f"ROIs{s2_date.strftime('%Y%m%d') if s2_date else 0}_{season(s2_date)}"


def scene_number(inputs: Sequence[str]) -> int:
    """A stable number from the input names, so each input pair is its own scene."""
    return zlib.crc32("|".join(Path(p).name for p in inputs).encode()) % 100_000


def metadata_offset(band_tags: dict[str, str], dataset_tags: dict[str, str]) -> float | None:
    """The band's additive DN offset from Sentinel-2 metadata, or None when nothing tells.

    GDAL's SENTINEL2 driver puts BOA_ADD_OFFSET / RADIO_ADD_OFFSET on each band; exported
    GeoTIFFs may carry them, or only PROCESSING_BASELINE, as dataset tags.
    """
    for tags in (band_tags, dataset_tags):
        upper = {k.upper(): v for k, v in tags.items()}
        for key in _OFFSET_KEYS:
            if key in upper:
                try:
                    return float(upper[key])
                except ValueError:
                    raise ValueError(f"S2 metadata {key}={upper[key]!r} is not a number") from None
    baseline = {k.upper(): v for k, v in dataset_tags.items()}.get("PROCESSING_BASELINE")
    try:
        return None if baseline is None else (BASELINE_OFFSET if float(baseline) >= 4.0 else 0.0)
    except ValueError:
        return None


def sentinel2_subdatasets(names: Sequence[str]) -> tuple[str, str | None]:
    """The 10 m subdataset of a Sentinel-2 product (bands B4, B3, B2, B8) and, for L2A, the
    20 m one of the same UTM zone, which holds the scene classification (SCL)."""
    ten = [n for n in names if re.search(r":10m:EPSG_\d+$", n)]
    if not ten:
        raise ValueError("the Sentinel-2 product has no 10 m subdataset (bands B2, B3, B4)")
    epsg = ten[0].rsplit(":", 1)[1]
    twenty = next((n for n in names if n.upper().startswith("SENTINEL2_L2A:")
                   and n.endswith(f":20m:{epsg}")), None)
    return ten[0], twenty


def rgb_band_indexes(names: Sequence[str], given: tuple[int, int, int] | None,
                     count: int) -> tuple[int, int, int]:
    """1-based red, green, blue bands: as given, else the bands named B4/B3/B2, else 4, 3, 2."""
    if given is None:
        found = {_band_key(n): i for i, n in enumerate(names, 1) if _band_key(n)}
        named = [found.get(b) for b in ("B4", "B3", "B2")]
        given = (named[0], named[1], named[2]) if None not in named else (4, 3, 2)
    if max(given) > count:
        raise ValueError(f"S2 has {count} band(s) but red, green, blue = bands "
                         f"{','.join(map(str, given))}: give them with --rgb-bands (e.g. 1,2,3 for an "
                         "RGB file), or the three bands as R.tif,G.tif,B.tif")
    return given


def _band_key(name: str) -> str | None:
    """'B04', 'b4', 'B4' -> 'B4'."""
    m = re.fullmatch(r"b0?(\d{1,2}a?)", (name or "").strip().lower())
    return f"B{m.group(1).upper()}" if m else None


# ---------------------------------------------------------------- inputs


def _require(path: str, role: str) -> str:
    if is_local(path) and not Path(path).exists():
        raise FileNotFoundError(f"{role} input not found: {path}")
    return path


def _open(path: str, role: str, stack: ExitStack) -> rasterio.DatasetReader:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            return stack.enter_context(rasterio.open(path))
    except RasterioIOError as exc:
        raise ValueError(f"cannot open {role} input {path} as a raster: "
                         f"{str(exc).splitlines()[0]}") from None


def _border(width: float, height: float, n: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of n points per side along a raster's outer edge (pixel corners)."""
    t = np.linspace(0.0, 1.0, n, endpoint=False)
    rows = np.concatenate([np.zeros(n), t * height, np.full(n, float(height)), (1 - t) * height])
    cols = np.concatenate([t * width, np.full(n, float(width)), (1 - t) * width, np.zeros(n)])
    return rows, cols


class _Sar:
    """The S1 band as linear power, resampled strip by strip onto the S2 grid."""

    def __init__(self, ds: rasterio.DatasetReader, spec: InputSpec, path: str) -> None:
        self.ds, self.spec, self.path = ds, spec, path
        if ds.crs is not None and not ds.transform.is_identity:
            self.georef, self.crs = ds.transform, ds.crs
        elif ds.gcps[0]:
            self.georef, self.crs = list(ds.gcps[0]), ds.gcps[1]
        else:
            raise ValueError(f"S1 input {path} has no georeferencing (CRS and transform, or GCPs): "
                             "cannot co-register it with S2")

    def footprint(self, grid: _Grid) -> Polygon:
        """The S1 raster's outline in S2 pixel coordinates."""
        rows, cols = _border(self.ds.width, self.ds.height)
        xs, ys = xy(self.georef, rows, cols, offset="ul")
        xs, ys = transform_points(self.crs, grid.crs, xs, ys)
        cols2, rows2 = ~grid.transform @ (np.asarray(xs), np.asarray(ys))
        ok = np.isfinite(cols2) & np.isfinite(rows2)
        return Polygon(np.column_stack([cols2[ok], rows2[ok]])).buffer(0) if ok.sum() >= 3 else Polygon()

    def read(self, grid: _Grid, window: Window, resampling: Resampling) -> np.ndarray:
        """sigma0 in dB on the S2 pixels of `window`; NaN where S1 has no valid data."""
        out = np.full((int(window.height), int(window.width)), np.nan, np.float32)
        src = self._source_window(grid, window)
        if src is None:
            return out
        try:
            values = self.ds.read(self.spec.band, window=src)
            valid = self.spec.valid(values, self.ds.read_masks(self.spec.band, window=src))
        except RasterioError as exc:
            raise OSError(f"cannot read S1 input {self.path}: {root_cause(exc)}") from None
        power = _linear(values, self.spec)
        power[~valid] = np.nan
        if isinstance(self.georef, list):
            georef = {"gcps": shift_gcps(self.georef, src.row_off, src.col_off)}
        else:
            georef = {"src_transform": window_transform(src, self.georef)}
        reproject(power, out, src_crs=self.crs, src_nodata=np.nan, dst_crs=grid.crs,
                  dst_transform=window_transform(window, grid.transform), dst_nodata=np.nan,
                  resampling=resampling, **georef)
        return 10.0 * np.log10(np.maximum(out, np.float32(1e-10)))  # NaN stays NaN

    def _source_window(self, grid: _Grid, window: Window) -> Window | None:
        """The S1 pixels that the S2 window can draw from, with a margin; None if outside S1."""
        rows, cols = _border(window.width, window.height, 8)
        xs, ys = grid.transform @ (cols + window.col_off, rows + window.row_off)
        xs, ys = np.asarray(transform_points(grid.crs, self.crs, xs, ys))
        ok = np.isfinite(xs) & np.isfinite(ys)
        if not ok.any():
            return None
        r, c = (np.asarray(v) for v in rowcol(self.georef, xs[ok], ys[ok]))
        r0, r1 = max(0, int(r.min()) - _MARGIN), min(self.ds.height, int(r.max()) + 1 + _MARGIN)
        c0, c1 = max(0, int(c.min()) - _MARGIN), min(self.ds.width, int(c.max()) + 1 + _MARGIN)
        return Window(c0, r0, c1 - c0, r1 - r0) if r1 > r0 and c1 > c0 else None


def _linear(values: np.ndarray, spec: InputSpec) -> np.ndarray:
    """Band values -> sigma0 in linear power, the quantity that may be averaged."""
    x = values.astype(np.float32)
    if spec.scale == "linear":
        return x
    if spec.scale == "amplitude":
        return x * x / np.float32(10.0 ** (GRD_CALIBRATION_DB / 10.0))
    if spec.scale == "uint8":  # 8-bit on the SEN1-2 scale: 0..255 spans the dB window
        x = spec.window_db.db_min + x / 255.0 * (spec.window_db.db_max - spec.window_db.db_min)
    return np.power(np.float32(10.0), x / 10.0)


@dataclass
class _Optical:
    """The S2 red, green and blue bands: a multi-band raster, three files, or a SAFE product."""

    bands: list[tuple[rasterio.DatasetReader, int]]
    names: list[str]
    tags: dict[str, str]
    scl: tuple[rasterio.DatasetReader, int] | None
    notes: list[str]
    offsets: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def grid(self) -> _Grid:
        ds = self.bands[0][0]
        return _Grid(ds.crs, ds.transform, ds.width, ds.height)

    def read(self, window: Window) -> tuple[np.ndarray, np.ndarray]:
        """Reflectance x10000 (3, h, w) float32 and the pixels valid in all three bands."""
        refl, valid = [], np.ones((int(window.height), int(window.width)), bool)
        for (ds, band), offset in zip(self.bands, self.offsets, strict=True):
            try:
                values = ds.read(band, window=window)
                mask = ds.read_masks(band, window=window)
            except RasterioError as exc:
                raise OSError(f"cannot read S2 input {ds.name}: {root_cause(exc)}") from None
            # Sentinel-2 DN 0 is nodata (SPECIAL_VALUE_NODATA) even where the file does not say so
            nodata = ds.nodata if ds.nodata is not None else (0 if values.dtype.kind in "iu" else None)
            valid &= valid_pixels(values, mask, nodata, True)
            refl.append(values.astype(np.float32) + np.float32(offset))
        return np.stack(refl), valid


def _s2_product_xml(path: str) -> str:
    """A SAFE folder stands for its MTD_MSIL1C.xml / MTD_MSIL2A.xml."""
    if not Path(path).is_dir():
        return path
    for name in _S2_PRODUCT_XML:
        if (Path(path) / name).is_file():
            return str(Path(path) / name)
    raise ValueError(f"S2 input {path} is a folder without {' or '.join(_S2_PRODUCT_XML)} "
                     "(a Sentinel-2 SAFE product)")


def _open_optical(arg: str, rgb_bands: tuple[int, int, int] | None, stack: ExitStack) -> _Optical:
    parts = [p.strip() for p in arg.split(",")] if "," in arg else [arg]
    if len(parts) == 3:
        if rgb_bands is not None:
            raise ValueError("--rgb-bands applies to one multi-band S2 raster, not to three files")
        dss = [_open(_require(p, "S2"), "S2", stack) for p in parts]
        first = dss[0]
        for p, ds in zip(parts[1:], dss[1:], strict=True):
            if (ds.crs, ds.transform, ds.shape) != (first.crs, first.transform, first.shape):
                raise ValueError(f"S2 files {parts[0]} and {p} are not on the same pixel grid")
        tags = {k: v for ds in dss for k, v in ds.tags().items()}
        return _Optical([(ds, 1) for ds in dss], parts, tags, None, [])
    if len(parts) != 1:
        raise ValueError(f"S2 must be one raster, a SAFE product, or three files R.tif,G.tif,B.tif "
                         f"(got {len(parts)} comma-separated names)")
    ds = _open(_s2_product_xml(_require(arg, "S2")), "S2", stack)
    scl, notes = None, []
    if ds.subdatasets and ds.count == 0:
        ten, twenty = sentinel2_subdatasets(ds.subdatasets)
        if sum(":10m:" in n for n in ds.subdatasets) > 1:
            notes.append(f"the S2 product spans several UTM zones; using {ten.rsplit(':', 1)[1]}")
        ds = _open(ten, "S2", stack)
        if twenty is not None:
            ds20 = _open(twenty, "S2", stack)
            names20 = [ds20.tags(i).get("BANDNAME", "") for i in ds20.indexes]
            scl = (ds20, names20.index("SCL") + 1) if "SCL" in names20 else None
    if ds.crs is None or ds.transform.is_identity:
        raise ValueError(f"S2 input {arg} has no CRS and transform: pairs are cut on the S2 pixel grid")
    names = [ds.tags(i).get("BANDNAME") or ds.descriptions[i - 1] or "" for i in ds.indexes]
    bands = rgb_band_indexes(names, rgb_bands, ds.count)
    return _Optical([(ds, b) for b in bands], [arg], ds.tags(), scl, notes)


def _resolve_offsets(optical: _Optical, choice: str, s2_date: date | None) -> tuple[str, list[str]]:
    """Set the S2 offsets from --s2-offset or the metadata; returns where they came from."""
    if choice not in OFFSET_CHOICES:
        raise ValueError(f"--s2-offset must be one of {', '.join(OFFSET_CHOICES)}, got {choice!r}")
    found = [metadata_offset(ds.tags(b), ds.tags()) for ds, b in optical.bands]
    notes: list[str] = []
    if choice != "auto":
        optical.offsets = (float(choice),) * 3
        known = {f for f in found if f is not None}
        if known and known != {float(choice)}:
            notes.append(f"--s2-offset {choice} overrides the S2 metadata's offset {known.pop():g}")
        return "option", notes
    if all(f is None for f in found):
        late = s2_date is None or s2_date >= BASELINE_OFFSET_SINCE
        notes.append("no offset in the S2 metadata (BOA_ADD_OFFSET, RADIO_ADD_OFFSET or "
                     "PROCESSING_BASELINE): using reflectance = DN / 10000"
                     + ("; products of processing baseline 04.00 or later (from 25 January 2022) "
                        "need --s2-offset -1000" if late else ""))
        return "assumed", notes
    optical.offsets = tuple(f or 0.0 for f in found)
    return "metadata", notes


class _CloudTest:
    """Cloud and shadow pixels: SCL classes and the user's mask where given, else bright blue."""

    def __init__(self, rasters: list[tuple[rasterio.DatasetReader, int, tuple[int, ...] | None]],
                 name: str) -> None:
        self.rasters, self.name = rasters, name

    def read(self, grid: _Grid, window: Window, refl: np.ndarray) -> np.ndarray:
        if not self.rasters:
            return refl[2] > CLOUD_BLUE * 10000.0
        bad = np.zeros(refl.shape[1:], bool)
        for ds, band, classes in self.rasters:
            dst = np.zeros(refl.shape[1:], np.float32)
            try:
                reproject(rasterio.band(ds, band), dst, dst_crs=grid.crs, dst_nodata=0,
                          dst_transform=window_transform(window, grid.transform),
                          resampling=Resampling.nearest)
            except RasterioError as exc:
                raise OSError(f"cannot read {ds.name}: {root_cause(exc)}") from None
            bad |= np.isin(dst, classes) if classes else dst != 0
        return bad


def _cloud_test(options: PairsOptions, optical: _Optical, stack: ExitStack) -> _CloudTest:
    rasters: list[tuple[rasterio.DatasetReader, int, tuple[int, ...] | None]] = []
    names = []
    scl = (_open(_require(options.scl, "--scl"), "--scl", stack), 1) if options.scl else optical.scl
    if scl is not None:
        rasters.append((*scl, SCL_CLOUD))
        names.append("SCL")
    if options.mask:
        rasters.append((_open(_require(options.mask, "--mask"), "--mask", stack), 1, None))
        names.append("mask")
    for ds, _, _ in rasters:
        if ds.crs is None and not ds.gcps[0]:
            raise ValueError(f"{ds.name} has no georeferencing: cannot place it on the S2 grid")
    name = " + ".join(names) or f"brightness (blue > {CLOUD_BLUE:g})"
    return _CloudTest(rasters, name)


# ---------------------------------------------------------------- output folder


def _existing_patches(out_dir: Path, prefix: str, number: int) -> list[Path]:
    pattern = re.compile(rf"^{re.escape(prefix)}_s[12]_{number}_p\d+\.png$")
    return [p for sub in ("s1", "s2") if (out_dir / sub).is_dir()
            for p in sorted((out_dir / sub).iterdir()) if pattern.match(p.name)]


def _read_index(out_dir: Path) -> dict:
    path = out_dir / "pairs.json"
    if not path.exists():
        return {"scenes": {}}
    try:
        index = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read {path} ({exc}); move it away to start a new index") from None
    if not isinstance(index, dict) or not isinstance(index.get("scenes"), dict):
        raise ValueError(f"{path} is not a sargeo pairs index; move it away to start a new one")
    return index


def _check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir} exists and is not a folder")
    if not out_dir.parent.is_dir():
        raise ValueError(f"output folder's parent does not exist: {out_dir.parent}")
    if not os.access(out_dir.parent, os.W_OK) or (out_dir.is_dir() and not os.access(out_dir, os.W_OK)):
        raise ValueError(f"output folder is not writable: {out_dir}")


def _publish(tmp: Path, out_dir: Path, names: list[str], stale: list[Path], scene: str,
             entry: dict) -> None:
    """Move the finished patches in, drop the scene's old ones, then add the scene to pairs.json
    (read again now, so that scenes another run added meanwhile are kept)."""
    for sub in ("s1", "s2"):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)
    for name in names:
        os.replace(tmp / name, out_dir / name)
    fresh = {out_dir / n for n in names}
    for path in stale:
        if path not in fresh:
            path.unlink(missing_ok=True)
    index = _read_index(out_dir)
    index["scenes"][scene] = entry
    part = temp_path(out_dir / "pairs.json")
    part.write_text(json.dumps(index, indent=2) + "\n")
    os.replace(part, out_dir / "pairs.json")


# ---------------------------------------------------------------- the command


def _check_options(options: PairsOptions) -> None:
    if options.stride < 1:
        raise ValueError("--stride must be at least 1")
    if options.nodata is not None and math.isinf(options.nodata):
        raise ValueError("--nodata must be a finite number or nan")
    if options.rgb_bands is not None and (len(options.rgb_bands) != 3 or min(options.rgb_bands) < 1):
        raise ValueError("--rgb-bands needs three band numbers from 1, e.g. 4,3,2")


def _overlap_window(footprint: Polygon, grid: _Grid, s1: str, s2: str) -> Window:
    """S2 pixel window of the S1 footprint within the S2 raster; errors when no patch fits."""
    inside = footprint.intersection(box(0, 0, grid.width, grid.height))
    if inside.is_empty or inside.area == 0:
        raise ValueError(f"S1 {s1} and S2 {s2} do not overlap")
    x0, y0, x1, y1 = inside.bounds
    c0, r0 = math.floor(x0 + 1e-6), math.floor(y0 + 1e-6)
    c1, r1 = math.ceil(x1 - 1e-6), math.ceil(y1 - 1e-6)
    if c1 - c0 < PATCH or r1 - r0 < PATCH:
        raise ValueError(f"the S1/S2 overlap is only {c1 - c0} x {r1 - r0} S2 pixels, smaller than "
                         f"one {PATCH} x {PATCH} patch: nothing to cut")
    return Window(c0, r0, c1 - c0, r1 - r0)


def _starts(start: int, length: int, stride: int) -> list[int]:
    return list(range(start, start + length - PATCH + 1, stride))


def make_pairs(s1: str, s2: str, out_dir: str | Path, options: PairsOptions | None = None,
               log: Callable[[str], None] = lambda _msg: None, progress: bool = False,
               **kwargs: object) -> PairsResult:
    """Cut the S1 scene `s1` and the S2 scene `s2` into co-registered 256 x 256 PNG pairs in
    `out_dir` (s1/, s2/ and pairs.json), one scene for scene-wise splits.

    Options come as a PairsOptions or as keyword arguments of the same names. Bad input raises
    ValueError (OSError for files that cannot be read); nothing is written then.
    """
    options = options or PairsOptions(**kwargs)
    out_dir = Path(out_dir).resolve()
    _check_options(options)
    _check_out_dir(out_dir)
    with ExitStack() as stack:
        sar_ds = _open(_require(s1, "S1"), "S1", stack)
        spec, sar_notes = resolve_input(sar_ds, options.band, options.scale, SAR_WINDOW, options.nodata)
        # the pixel-size hint is colorize's; here S1 is resampled onto the S2 grid anyway
        sar_notes = [n for n in sar_notes if not n.startswith("pixel size")]
        sar = _Sar(sar_ds, spec, s1)
        optical = _open_optical(s2, options.rgb_bands, stack)
        grid = optical.grid
        s1_date = acquisition_date([s1], sar_ds.tags())
        s2_date = acquisition_date(optical.names, optical.tags)
        offset_source, offset_notes = _resolve_offsets(optical, options.s2_offset, s2_date)
        clouds = _cloud_test(options, optical, stack)

        footprint = sar.footprint(grid)
        window = _overlap_window(footprint, grid, s1, s2)
        rows = _starts(int(window.row_off), int(window.height), options.stride)
        cols = _starts(int(window.col_off), int(window.width), options.stride)
        warns = list(sar_notes)
        size = pixel_size_m(optical.bands[0][0])
        if size is not None and not 8.0 <= size <= 12.0:
            warns.append(f"S2 pixels are about {size:.0f} m; the model's training pairs have 10 m pixels")
        warns += _date_and_overlap_warnings(s1_date, s2_date, footprint, grid)
        for line in warns:
            log(f"Warning: {line}")
        for line in optical.notes + offset_notes:
            log(f"Note: {line}")

        prefix = scene_prefix(s2_date)
        number = options.scene if options.scene is not None else scene_number([s1, *optical.names])
        scene = f"{prefix}_{number}"
        stale = _existing_patches(out_dir, prefix, number)
        if (stale or scene in _read_index(out_dir)["scenes"]) and not options.overwrite:
            raise ValueError(f"{out_dir} already holds scene {scene} ({len(stale)} files); use "
                             "--overwrite to replace it, or --scene N to add these inputs as another scene")
        # S2 pixels per S1 pixel: S1 coarser than S2 is interpolated, finer is averaged
        coarser = footprint.area >= sar_ds.width * sar_ds.height
        resampling = Resampling.bilinear if coarser else Resampling.average

        tmp = temp_path(out_dir)
        try:
            for sub in ("s1", "s2"):
                (tmp / sub).mkdir(parents=True)
            with tqdm(total=len(rows) * len(cols), unit="patch", desc="pairs", file=sys.stderr,
                      disable=not progress, dynamic_ncols=True) as bar:
                counts, names = _cut(sar, optical, clouds, grid, resampling, rows, cols,
                                     lambda p, db, refl: _write_patch(tmp, prefix, number, p, db, refl),
                                     bar.update)
            if not counts["written"]:
                raise ValueError(f"no patch passed: {counts['nodata']} with nodata, {counts['clouds']} "
                                 f"cloudy, {counts['outside']} outside the S1/S2 overlap")
            entry = {
                "s1": _abs(s1), "s2": [_abs(p) for p in optical.names],
                "s1_date": _iso(s1_date), "s2_date": _iso(s2_date),
                "s2_offset": list(optical.offsets), "s2_offset_source": offset_source,
                "s1_band": spec.band, "s1_scale": spec.scale, "s1_resampling": resampling.name,
                "cloud_test": clouds.name, "max_cloud_fraction": MAX_CLOUD_FRACTION,
                "grid": {"crs": grid.crs.to_string(), "transform": list(grid.transform)[:6],
                         "first_patch_col_row": [cols[0], rows[0]], "columns": len(cols),
                         "patch": PATCH, "stride": options.stride},
                "counts": {"written": counts["written"], "skipped_nodata": counts["nodata"],
                           "skipped_clouds": counts["clouds"], "outside_overlap": counts["outside"]},
                "warnings": warns,
            }
            _publish(tmp, out_dir, names, stale, scene, entry)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return PairsResult(out_dir, scene, counts["written"], counts["nodata"], counts["clouds"],
                       counts["outside"], _iso(s1_date), _iso(s2_date), optical.offsets[0],
                       clouds.name, tuple(warns))


def _cut(sar: _Sar, optical: _Optical, clouds: _CloudTest, grid: _Grid, resampling: Resampling,
         rows: list[int], cols: list[int], write: Callable[[int, np.ndarray, np.ndarray], list[str]],
         advance: Callable[[], object]) -> tuple[Counter, list[str]]:
    """Go through the patch grid one row of patches (a strip) at a time, so memory follows the
    scene width; returns the verdict counts and the files written."""
    counts: Counter = Counter()
    names: list[str] = []
    for i, row in enumerate(rows):
        strip = Window(cols[0], row, cols[-1] + PATCH - cols[0], PATCH)
        db = sar.read(grid, strip, resampling)
        refl, s2_valid = optical.read(strip)
        cloudy = clouds.read(grid, strip, refl)
        ok = np.isfinite(db) & s2_valid
        for j, col in enumerate(cols):
            cut = np.s_[..., col - cols[0]: col - cols[0] + PATCH]
            verdict = _verdict(ok[cut], cloudy[cut])
            counts[verdict] += 1
            if verdict == "written":
                names += write(i * len(cols) + j, db[cut], refl[cut])
            advance()
    return counts, names


def _date_and_overlap_warnings(s1_date: date | None, s2_date: date | None, footprint: Polygon,
                               grid: _Grid) -> list[str]:
    out = []
    if s1_date and s2_date and abs((s1_date - s2_date).days) > MAX_DAYS_APART:
        out.append(f"S1 ({s1_date}) and S2 ({s2_date}) were taken {abs((s1_date - s2_date).days)} days "
                   f"apart (more than {MAX_DAYS_APART}): the ground may have changed between them")
    covered = footprint.intersection(box(0, 0, grid.width, grid.height)).area / (grid.width * grid.height)
    if covered < MIN_OVERLAP:
        out.append(f"S1 covers only {covered:.0%} of the S2 scene (less than {MIN_OVERLAP:.0%})")
    return out


def _verdict(ok: np.ndarray, cloudy: np.ndarray) -> str:
    """written, nodata (some pixel invalid), outside (no pixel valid in both) or clouds."""
    if not ok.any():
        return "outside"
    if not ok.all():
        return "nodata"
    return "clouds" if cloudy.mean() > MAX_CLOUD_FRACTION else "written"


def _write_patch(tmp: Path, prefix: str, number: int, p: int, db: np.ndarray,
                 refl: np.ndarray) -> list[str]:
    """SEN1-2 PNGs: SAR 8-bit over the dB window, RGB 8-bit over the reflectance stretch."""
    names = [f"s1/{prefix}_s1_{number}_p{p}.png", f"s2/{prefix}_s2_{number}_p{p}.png"]
    Image.fromarray(unit_to_uint8(SAR_WINDOW.db_to_unit(db))).save(tmp / names[0])
    Image.fromarray(unit_to_uint8(reflectance_to_unit(refl)).transpose(1, 2, 0)).save(tmp / names[1])
    return names


def _iso(day: date | None) -> str:
    return day.isoformat() if day else "unknown"


def _abs(path: str) -> str:
    return str(Path(path).resolve()) if is_local(path) else path
