"""Generate the synthetic Sentinel-1-like VV sigma0 scene that sargeo ships as sample data.

Real Copernicus scenes must not be committed, yet the CLI, docs and nodata handling need a
georeferenced SAR-looking GeoTIFF to run on. This script paints a procedural landscape (fields,
river, lake, roads, town, forest) as clean backscatter, applies gamma speckle like an IW GRD
product, and writes float32 dB in a UTM grid with a ragged swath-edge nodata border.

    python sample_data/make_sample_scene.py [--out PATH] [--size N] [--seed S]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.transform import Affine

DEFAULT_OUT = Path(__file__).resolve().parent / "sample_s1_vv_db.tif"
DEFAULT_SIZE = 2000  # columns; rows are 4/5 of that
DEFAULT_SEED = 1
NODATA = -9999.0
ENL = 4.4  # equivalent number of looks of Sentinel-1 IW GRD high resolution
STEP_DB = 1 / 16  # a binary step leaves low mantissa bits zero, so speckled float32 compresses
CLIP_DB = (-35.0, 5.0)
PIXEL_M = 10.0
EPSG = 32631  # UTM 31N
WEST, NORTH = 600_000.0, 5_620_000.0  # northern France
TRANSFORM = Affine(PIXEL_M, 0.0, WEST, 0.0, -PIXEL_M, NORTH)  # north-up

# Parcel means (dB): smooth bare soil, rough soil, grassland, cereals, beet, rapeseed, maize.
CROPS_DB = np.array([-15.5, -13.0, -11.5, -10.0, -9.0, -8.0, -7.0])
CROPS_P = np.array([0.07, 0.13, 0.2, 0.22, 0.16, 0.12, 0.1])
HARMONICS = ((2, 0.25), (3, 0.15), (5, 0.08), (9, 0.04))  # (order, max amplitude) of blob outlines
SIDELOBES_DB = np.array([-13.3, -17.8, -20.8])  # sinc sidelobes around strong point targets


def _bspline_upsample(coarse: np.ndarray, n: int, cell: int, axis: int) -> np.ndarray:
    """Cubic B-spline upsampling by `cell` along one axis, as four gathers: fast, smooth, deterministic."""
    t = np.arange(n) / cell + 1.0
    i = t.astype(np.int64)
    f = t - i
    weights = (
        (1 - f) ** 3 / 6,
        (3 * f**3 - 6 * f**2 + 4) / 6,
        (-3 * f**3 + 3 * f**2 + 3 * f + 1) / 6,
        f**3 / 6,
    )
    shape = [1, 1]
    shape[axis] = n
    return sum(
        wk.reshape(shape).astype(np.float32) * np.take(coarse, i + k - 1, axis=axis)
        for k, wk in enumerate(weights)
    )


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cell: float) -> np.ndarray:
    """Unit-variance noise correlated over ~`cell` pixels (B-spline-smoothed coarse lattice)."""
    h, w = shape
    cell = max(1, round(cell))
    coarse = rng.standard_normal((h // cell + 4, w // cell + 4)).astype(np.float32)
    fine = _bspline_upsample(_bspline_upsample(coarse, h, cell, 0), w, cell, 1)
    return (fine - fine.mean()) / fine.std()


def _smooth_1d(rng: np.random.Generator, n: int, cell: float) -> np.ndarray:
    """1-D unit-scale wobble for edges and widths."""
    knots = rng.standard_normal(int(n / cell) + 2)
    return np.interp(np.arange(n) / cell, np.arange(knots.size), knots)


def _rotate(r: np.ndarray, c: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates in a frame rotated by `angle`, so parcels and streets need not be north-up."""
    return c * np.cos(angle) + r * np.sin(angle), r * np.cos(angle) - c * np.sin(angle)


def _strips(
    rng: np.random.Generator, coord: np.ndarray, extent: float, lo: float, hi: float
) -> tuple[np.ndarray, np.ndarray]:
    """Cut [-extent, extent] into strips of random width in [lo, hi): strip index and offset inside it."""
    edges = -extent + np.concatenate([[0.0], np.cumsum(rng.uniform(lo, hi, size=int(2 * extent / lo) + 1))])
    i = np.searchsorted(edges, coord, side="right") - 1
    return i, coord - edges[i]


def _fields(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Parcel means (dB): rotated strips inside warped Voronoi blocks, like real field systems."""
    h, w = shape
    half = ((h + 1) // 2, (w + 1) // 2)  # blocks on a 2x coarser grid: invisible under speckle, 4x faster
    warp = 0.03 * w
    yy = np.arange(0, h, 2, dtype=np.float32)[:, None] + warp * _smooth_noise(rng, half, w / 16)
    xx = np.arange(0, w, 2, dtype=np.float32)[None, :] + warp * _smooth_noise(rng, half, w / 16)
    seeds = rng.uniform((0, 0), (h, w), size=(20, 2))
    best = np.full(half, np.inf, dtype=np.float32)
    block = np.zeros(half, dtype=np.int32)
    for i, (sy, sx) in enumerate(seeds):
        d = (yy - sy) ** 2 + (xx - sx) ** 2
        closer = d < best
        best[closer] = d[closer]
        block[closer] = i
    block = block.repeat(2, axis=0).repeat(2, axis=1)[:h, :w]

    db = np.empty(h * w, dtype=np.float32)
    parcel = np.empty(h * w, dtype=np.int64)
    diag = float(np.hypot(h, w))
    first_id, flat_block = 0, block.ravel()
    for i in range(len(seeds)):
        idx = np.flatnonzero(flat_block == i)
        u, v = _rotate(*np.divmod(idx, w), rng.uniform(-0.7, 0.7))
        (iu, _), (iv, _) = _strips(rng, u, diag, 25, 90), _strips(rng, v, diag, 40, 200)
        table = (int(iu.max()) + 1, int(iv.max()) + 1)
        db[idx] = (rng.choice(CROPS_DB, size=table, p=CROPS_P) + rng.normal(0, 0.7, table))[iu, iv]
        parcel[idx] = first_id + iu * table[1] + iv
        first_id += table[0] * table[1]
    db, parcel = db.reshape(shape), parcel.reshape(shape)

    # Hedgerows and tracks between parcels return a little more than the crops beside them.
    hedged = rng.random(len(seeds)) < 0.5
    edge = np.zeros(shape, dtype=bool)
    edge[:, 1:] |= parcel[:, 1:] != parcel[:, :-1]
    edge[1:, :] |= parcel[1:, :] != parcel[:-1, :]
    db[edge & hedged[block]] += 3.0
    return db


def _road_distance(
    rng: np.random.Generator, shape: tuple[int, int], through: tuple[float, float] | None = None
) -> np.ndarray:
    """Distance (px) to a gently curving road crossing the scene, optionally through a given point."""
    h, w = shape
    py, px = through if through is not None else rng.uniform((0, 0), (h, w))
    a = rng.uniform(0, np.pi)
    yy, xx = np.arange(h, dtype=np.float32)[:, None] - py, np.arange(w, dtype=np.float32) - px
    along, across = _rotate(yy, xx, a)
    bend = rng.uniform(0, 0.02 * w) * np.sin(2 * np.pi * along / rng.uniform(0.5 * w, 1.5 * w))
    return np.abs(across + bend)


def _blob(
    rng: np.random.Generator, shape: tuple[int, int], centre: tuple[float, float], radius: float
) -> np.ndarray:
    """Irregular round shape (lake shore, town limits) from a few angular harmonics."""
    harmonics = [(k, amp * rng.uniform(0.5, 1), rng.uniform(0, 2 * np.pi)) for k, amp in HARMONICS]
    reach = radius * (1 + sum(amp for _, amp, _ in harmonics))
    (h, w), (cy, cx) = shape, centre
    r0, r1 = max(0, int(cy - reach)), min(h, int(cy + reach) + 2)
    c0, c1 = max(0, int(cx - reach)), min(w, int(cx + reach) + 2)
    yy, xx = np.arange(r0, r1)[:, None] - cy, np.arange(c0, c1)[None, :] - cx
    ang = np.arctan2(yy, xx)
    edge = 1 + sum(amp * np.sin(k * ang + phase) for k, amp, phase in harmonics)
    mask = np.zeros(shape, dtype=bool)
    mask[r0:r1, c0:c1] = np.hypot(yy, xx) < radius * edge
    return mask


def _settlement(rng: np.random.Generator, db: np.ndarray, mask: np.ndarray, points: list[np.ndarray]) -> None:
    """Irregular street grid of bright, uneven building blocks (double bounce) with point scatterers."""
    r, c = np.nonzero(mask)
    if r.size == 0:
        return
    u, v = _rotate(r, c, rng.uniform(0, np.pi / 2))
    diag = float(np.hypot(*db.shape))
    (iu, du), (iv, dv) = _strips(rng, u, diag, 8, 25), _strips(rng, v, diag, 8, 25)
    _, block = np.unique(iu * (int(iv.max()) + 1) + iv, return_inverse=True)
    block_db = rng.uniform(-5, 2, size=int(block.max()) + 1)
    block_db[rng.random(block_db.size) < 0.1] = -12.0  # parks
    street = (du < 2) | (dv < 2)
    db[r, c] = np.where(street, -11.0, block_db[block] + rng.normal(0, 2, r.size))
    n = max(1, r.size // 150)
    pick = rng.choice(r.size, size=n, replace=False)
    points.append(np.column_stack([r[pick], c[pick], rng.uniform(10, 25, n)]))


def _add_points(lin: np.ndarray, points: np.ndarray) -> None:
    """Add point targets (rows of row, col, dB) with their range/azimuth sidelobe cross."""
    h, w = lin.shape
    r, c, p = points[:, 0].astype(np.int64), points[:, 1].astype(np.int64), 10 ** (points[:, 2] / 10)
    np.add.at(lin, (r, c), p)
    for k, lobe in enumerate(10 ** (SIDELOBES_DB / 10), start=1):
        for dr, dc in ((k, 0), (-k, 0), (0, k), (0, -k)):
            rr, cc = r + dr, c + dc
            ok = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
            np.add.at(lin, (rr[ok], cc[ok]), p[ok] * lobe)


def _nodata(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Ragged slanted swath edge on the west, the slice's end across the south-west, and a small hole."""
    h, w = shape
    rows, cols = np.arange(h)[:, None], np.arange(w)[None, :]
    west = 0.01 * w + 0.065 * w * rows[:, 0] / h + 4 * _smooth_1d(rng, h, 80) + rng.integers(0, 4, h)
    mask = cols < west[:, None]
    south = 0.055 * h * (1 - cols[0] / (0.6 * w)) + 3 * _smooth_1d(rng, w, 60) + rng.integers(0, 3, w)
    mask |= rows >= h - south[None, :]
    hole_centre = (rng.uniform(0.2 * h, 0.8 * h), rng.uniform(0.2 * w, 0.8 * w))
    mask |= _blob(rng, shape, hole_centre, 0.012 * w)
    return mask


def _landscape(rng: np.random.Generator, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clean (speckle-free) backscatter in dB painted back to front, point targets (row, col, dB), and
    the open water surface (lake and river without bridges)."""
    h, w = shape
    db = _fields(rng, shape)

    river_x = rng.uniform(0.4, 0.6) * w
    for amp, period in ((0.06, 0.6), (0.02, 0.17), (0.006, 0.05)):
        river_x = river_x + amp * w * np.sin(2 * np.pi * np.arange(h) / (period * h) + rng.uniform(0, 7))
    half_width = (5 + 2 * _smooth_1d(rng, h, 150))[:, None]
    river_dist = np.abs(np.arange(w) - river_x[:, None]) / np.hypot(1, np.gradient(river_x))[:, None]
    db[river_dist < half_width + 20] = -12.0  # riverside meadows
    db += 0.6 * _smooth_noise(rng, shape, 12)  # soil moisture and crop vigour vary within parcels

    forest = _smooth_noise(rng, shape, w / 12) > 1.0
    db[forest] = -7.8 + 1.2 * _smooth_noise(rng, shape, 3)[forest]

    lake_row = rng.uniform(0.2, 0.8) * h
    lake_col = float(np.clip(river_x[int(lake_row)] + rng.choice([-1, 1]) * 0.2 * w, 0.2 * w, 0.85 * w))
    lake = _blob(rng, shape, (lake_row, lake_col), 0.045 * w)
    db[lake] = -24.0 + 1.2 * _smooth_noise(rng, shape, w / 20)[lake]  # wind roughens parts of the lake
    river = river_dist < half_width
    db[river] = -22.5 + 0.8 * _smooth_noise(rng, shape, 8)[river]
    water = lake | river

    town_centre = (rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.8) * w)
    roads = [_road_distance(rng, shape, town_centre) for _ in range(2)]
    roads += [_road_distance(rng, shape) for _ in range(max(1, round(3 * w / DEFAULT_SIZE)))]
    bridges = np.zeros(shape, dtype=bool)
    for dist in roads:
        if rng.random() < 0.5:  # tree alleys and crash barriers line some roads
            db[(dist >= 1.5) & (dist < 2.5) & ~water] = -4.0
        road = dist < 1.0
        db[road] = np.where(water[road], -1.0, -17.0)  # asphalt is dark, bridges bright
        bridges |= road & water

    points: list[np.ndarray] = []
    _settlement(rng, db, _blob(rng, shape, town_centre, 0.06 * w) & ~water, points)
    for _ in range(3):
        centre = (rng.uniform(0.1, 0.9) * h, rng.uniform(0.15, 0.9) * w)
        _settlement(rng, db, _blob(rng, shape, centre, rng.uniform(0.012, 0.02) * w) & ~water, points)
    n_farms = max(1, h * w // 80_000)  # pylons and barns: isolated bright targets in the countryside
    farms = np.column_stack([rng.integers(0, h, n_farms), rng.integers(0, w, n_farms)])
    points.append(np.column_stack([farms, rng.uniform(3, 15, n_farms)]))
    return db, np.concatenate(points), water & ~bridges


def make_scene(size: int = DEFAULT_SIZE, seed: int = DEFAULT_SEED) -> np.ndarray:
    """The sigma0 VV dB array (float32, NODATA outside the swath), `size` columns by 4/5 of that rows."""
    rng = np.random.default_rng(seed)
    shape = (size * 4 // 5, size)
    db, points, _ = _landscape(rng, shape)
    lin = 10 ** (db.astype(np.float64) / 10) * rng.gamma(ENL, 1 / ENL, shape)  # multiplicative speckle
    _add_points(lin, points)
    out = np.round(np.clip(10 * np.log10(lin), *CLIP_DB) / STEP_DB) * STEP_DB
    out[_nodata(rng, shape)] = NODATA
    return out.astype(np.float32)


def water_mask(size: int = DEFAULT_SIZE, seed: int = DEFAULT_SEED) -> np.ndarray:
    """Where `make_scene(size, seed)` painted open water (lake and river, not bridges), as a bool array.

    The landscape takes the first draws of the seeded generator, so redrawing it alone gives the
    same scene; tests use this as ground truth for what colorized water must look like.
    """
    return _landscape(np.random.default_rng(seed), (size * 4 // 5, size))[2]


def write_scene(out: Path = DEFAULT_OUT, size: int = DEFAULT_SIZE, seed: int = DEFAULT_SEED) -> Path:
    """Write the scene as a tiled, compressed, georeferenced GeoTIFF tagged as synthetic."""
    data = make_scene(size, seed)
    h, w = data.shape
    profile = {
        "driver": "GTiff",
        "width": w,
        "height": h,
        "count": 1,
        "dtype": "float32",
        "crs": CRS.from_epsg(EPSG),
        "transform": TRANSFORM,
        "nodata": NODATA,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
        "zlevel": 9,
        "predictor": 3,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(data, 1)
        dst.set_band_description(1, "VV")
        dst.units = ("dB",)
        dst.update_tags(
            SARGEO_SYNTHETIC="procedural scene from sample_data/make_sample_scene.py, not Copernicus data",
            SARGEO_SEED=str(seed),
            QUANTITY="sigma0 VV, dB",
            ENL=str(ENL),
            QUANTISATION_DB=str(STEP_DB),
        )
    return out


def main(argv: list[str] | None = None) -> None:
    """Command line: regenerate the shipped file, or a variant for experiments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output GeoTIFF")
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE, help="columns (rows are 4/5 of that)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    path = write_scene(args.out, args.size, args.seed)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
