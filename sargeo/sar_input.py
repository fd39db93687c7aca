"""What a SAR raster holds and how to bring it to the model's input scale.

Sentinel-1 products come as dB floats (SNAP, GEE exports), linear power floats,
raw GRD amplitude integers, or 8-bit images already on the SEN1-2 scale. The
model was trained on sigma0 in dB clipped to a window (SEN1-2: [-25, 0]), so
each kind is converted to dB first and then through the checkpoint's window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import rasterio
from rasterio.control import GroundControlPoint
from rasterio.enums import MaskFlags
from rasterio.windows import Window

from sargeo.scaling import SarScaling

if TYPE_CHECKING:
    import torch

SCALES = ("db", "linear", "amplitude", "uint8")
#: 20*log10(DN) minus this approximates sigma0 in dB for Sentinel-1 IW GRD amplitude
#: (calibration LUT values around 10**(53/20) ~ 450); calibrate in SNAP for exact values.
GRD_CALIBRATION_DB = 53.0
#: Pixel sizes (metres) outside this range trigger a resolution warning (model: 10 m).
PIXEL_SIZE_OK = (6.0, 16.0)
METRES_PER_DEGREE = 111_320.0


@dataclass(frozen=True)
class InputSpec:
    """Resolved reading instructions for one SAR band."""

    band: int
    scale: str
    window_db: SarScaling
    nodata: float | None
    #: Honour GDAL's mask; False when it only encodes a nodata value that the user overrode.
    use_mask: bool = True

    def to_unit(self, values: torch.Tensor) -> torch.Tensor:
        """Raw band values -> model input in [-1, 1], as torch operations so that the engine
        scales on the model's device (invalid pixels must be handled by the caller)."""
        import torch  # the engine's device; importing this module for its names stays light

        x = values.float()
        if self.scale == "uint8":
            return x / 127.5 - 1.0
        if self.scale == "linear":
            x = 10.0 * torch.log10(x.clamp_min(1e-10))
        elif self.scale == "amplitude":
            x = 20.0 * torch.log10(x.clamp_min(1e-5)) - GRD_CALIBRATION_DB
        return self.window_db.db_to_unit_tensor(x)

    def valid(self, values: np.ndarray, gdal_mask: np.ndarray | None) -> np.ndarray:
        """Valid-pixel mask: GDAL's mask, the nodata value, and NaN for floats."""
        return valid_pixels(values, gdal_mask, self.nodata, self.use_mask)


def valid_pixels(values: np.ndarray, gdal_mask: np.ndarray | None, nodata: float | None,
                 use_mask: bool) -> np.ndarray:
    """GDAL's mask (a mask band, or the file's nodata) if `use_mask`, and the given nodata value;
    NaN is never valid."""
    ok = gdal_mask > 0 if use_mask else np.ones(values.shape, bool)
    if nodata is not None and not math.isnan(nodata):
        ok &= values != nodata
    if values.dtype.kind == "f":
        ok &= np.isfinite(values)
    return ok


def shift_gcps(points: list[GroundControlPoint], row_off: float, col_off: float) -> list[GroundControlPoint]:
    """GCPs on the pixel grid of a window that starts at (row_off, col_off)."""
    return [GroundControlPoint(g.row - row_off, g.col - col_off, g.x, g.y, g.z, g.id, g.info) for g in points]


def select_band(ds: rasterio.DatasetReader, band: str | int | None) -> int:
    """1-based band index from a number, a band description (e.g. 'VV'), or the VV band by default."""
    names = [(d or "").strip().lower() for d in ds.descriptions]
    if band is None:
        return names.index("vv") + 1 if "vv" in names else 1
    if isinstance(band, int) or str(band).isdigit():
        idx = int(band)
        if not 1 <= idx <= ds.count:
            raise ValueError(f"band {idx} out of range: the input has {ds.count} band(s)")
        return idx
    if str(band).lower() not in names:
        known = ", ".join(d for d in ds.descriptions if d) or "none"
        raise ValueError(f"no band named {band!r} (band descriptions: {known})")
    return names.index(str(band).lower()) + 1


#: Values the scale guess looks at: plenty for a stable median (a million took 17 ms more).
SAMPLE_VALUES = 1 << 16
#: Blocks a sample of a big band reads: on an even grid, so a nodata border cannot fill it.
SAMPLE_BLOCKS = 16


def _sample(ds: rasterio.DatasetReader, band: int, nodata: float | None, use_mask: bool) -> np.ndarray:
    """Valid values from all over the band, at a cost that does not grow with the scene.

    A decimated read of the whole band decodes every block unless there are overviews (8192 px
    float scene: 0.18 s uncompressed, 0.88 s DEFLATE, all before the first tile); a band of
    more blocks than a sample reads is sampled by SAMPLE_BLOCKS blocks instead (0.06 s DEFLATE),
    or decimated after all if those hold no valid value.
    """
    bh, bw = ds.block_shapes[band - 1]
    grid = math.ceil(ds.height / bh), math.ceil(ds.width / bw)
    if ds.overviews(band) or grid[0] * grid[1] <= SAMPLE_BLOCKS:
        return _decimated_sample(ds, band, nodata, use_mask)
    step = max(1, math.ceil(math.sqrt(bh * bw * SAMPLE_BLOCKS / SAMPLE_VALUES)))
    values = []
    for window in _spread_blocks(grid, (bh, bw), (ds.height, ds.width)):
        shape = (math.ceil(window.height / step), math.ceil(window.width / step))
        block = ds.read(band, window=window, out_shape=shape)
        mask = ds.read_masks(band, window=window, out_shape=shape) if use_mask else None
        values.append(block[valid_pixels(block, mask, nodata, use_mask)])
    sample = np.concatenate(values)
    return sample if sample.size else _decimated_sample(ds, band, nodata, use_mask)


def _spread_blocks(grid: tuple[int, int], block: tuple[int, int], shape: tuple[int, int]) -> list[Window]:
    """At most SAMPLE_BLOCKS block windows of a band of `grid` blocks, on an even grid with
    about as many grid rows per grid column as the band has block rows per block column."""
    rows = min(grid[0], SAMPLE_BLOCKS, max(1, round(math.sqrt(SAMPLE_BLOCKS * grid[0] / grid[1]))))
    cols = min(grid[1], max(1, SAMPLE_BLOCKS // rows))
    windows = []
    for i in ((np.arange(rows) + 0.5) * grid[0] / rows).astype(int):
        for j in ((np.arange(cols) + 0.5) * grid[1] / cols).astype(int):
            top, left = int(i) * block[0], int(j) * block[1]
            windows.append(Window(left, top, min(block[1], shape[1] - left), min(block[0], shape[0] - top)))
    return windows


def _decimated_sample(ds: rasterio.DatasetReader, band: int, nodata: float | None,
                      use_mask: bool) -> np.ndarray:
    """Valid values of a decimated read of the whole band (cheap only with overviews)."""
    step = max(1, math.ceil(max(ds.height, ds.width) / math.isqrt(SAMPLE_VALUES)))
    shape = (max(1, ds.height // step), max(1, ds.width // step))
    values = ds.read(band, out_shape=shape)
    mask = ds.read_masks(band, out_shape=shape) if use_mask else None
    return values[valid_pixels(values, mask, nodata, use_mask)]


def detect_scale(dtype: str, sample: np.ndarray) -> str:
    """Guess the value scale from the data type and a sample of valid values."""
    if dtype == "uint8":
        return "uint8"
    if np.dtype(dtype).kind in "iu":
        return "amplitude"
    if sample.size == 0:
        return "db"
    # the upper median: np.median first imports numpy.ma (10 ms of every run's start)
    median = float(np.partition(sample, sample.size // 2)[sample.size // 2])
    if median < 0:
        return "db"
    return "linear" if median < 2.0 else "amplitude"


def resolve_input(
    ds: rasterio.DatasetReader,
    band: str | int | None,
    scale: str,
    window_db: SarScaling,
    nodata: float | None,
) -> tuple[InputSpec, list[str]]:
    """Band, scale and nodata for a dataset; also the warnings a user should see."""
    warnings: list[str] = []
    idx = select_band(ds, band)
    dtype = ds.dtypes[idx - 1]
    if "complex" in dtype:  # numpy has no dtype for GDAL's CInt16/CInt32
        raise ValueError(f"band {idx} holds complex ({dtype}) values, i.e. SLC data, which is not "
                         "supported: use a GRD or a detected/calibrated product")
    if nodata is None and ds.nodata is None and np.dtype(dtype).kind in "iu" and dtype != "uint8":
        nodata = 0.0
        warnings.append("no nodata value set; treating 0 as nodata (GRD border); use --nodata to override")
    if scale not in ("auto", *SCALES):
        raise ValueError(f"unknown scale {scale!r} (use auto, {', '.join(SCALES)})")
    flags = ds.mask_flag_enums[idx - 1]
    if nodata is None and flags == [MaskFlags.nodata]:
        # GDAL's mask only encodes the file's nodata value: compare with it here instead, or GDAL
        # reads every strip a second time to build the mask (12 of 14 ms a 12,288 px strip)
        nodata, use_mask = ds.nodatavals[idx - 1], False
    else:
        # GDAL's mask stands for the file's nodata value, unless it is a real mask band; an
        # all-valid mask needs no reading
        use_mask = (nodata is None or MaskFlags.nodata not in flags) and flags != [MaskFlags.all_valid]
    sample = _sample(ds, idx, nodata, use_mask)
    if scale == "auto":
        scale = detect_scale(dtype, sample)
    elif scale in ("linear", "amplitude") and sample.size and np.mean(sample <= 0) > 0.5:
        warnings.append(f"--scale {scale} but {np.mean(sample <= 0):.0%} of the values are zero or "
                        f"negative (dB data?): they all map to the darkest input; check --scale")
    if scale == "amplitude":
        warnings.append(f"amplitude input: approximating sigma0 as 20*log10(DN) - {GRD_CALIBRATION_DB:g} dB; "
                        "calibrated sigma0 in dB gives truer colours")
    size = pixel_size_m(ds)
    if size is not None and not PIXEL_SIZE_OK[0] <= size <= PIXEL_SIZE_OK[1]:
        warnings.append(f"pixel size is about {size:.1f} m but the model was trained on 10 m pixels; "
                        "consider --resample")
    return InputSpec(idx, scale, window_db, nodata, use_mask), warnings


def pixel_size_m(ds: rasterio.DatasetReader) -> float | None:
    """Approximate pixel size in metres, or None when it cannot be told (no CRS or GCPs only)."""
    if ds.crs is None or ds.transform.is_identity:
        return None
    size = math.sqrt(abs(ds.transform.determinant))
    if ds.crs.is_geographic:
        lat = (ds.bounds.top + ds.bounds.bottom) / 2
        return size * METRES_PER_DEGREE * math.sqrt(max(math.cos(math.radians(lat)), 1e-6))
    return size * (ds.crs.linear_units_factor[1] if ds.crs.linear_units_factor else 1.0)


def read_strip(ds: rasterio.DatasetReader, spec: InputSpec, row: int, height: int) -> tuple[np.ndarray, ...]:
    """Rows [row, row + height) of the band: (values, valid mask)."""
    window = Window(0, row, ds.width, height)
    values = ds.read(spec.band, window=window)
    mask = ds.read_masks(spec.band, window=window) if spec.use_mask else None
    return values, spec.valid(values, mask)
