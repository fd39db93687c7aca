"""Measure tile seams against overlap, to choose colorize's default overlap.

    python benchmarks/seams.py [--scene sample_data/sample_s1_vv_db.tif] [--checkpoint M.pt]

For each overlap it colorizes the scene and prints the mean absolute RGB difference
between neighbouring pixels across tile edges and elsewhere; their ratio is ~1 when
tiles blend without seams. It also prints the cost in tiles.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio

from sargeo.scene import TILE, colorize
from sargeo.tiling import tile_starts

ROOT = Path(__file__).resolve().parents[1]


def edge_ratio(rgb: np.ndarray, valid: np.ndarray, starts: list[int], axis: int) -> tuple[float, float]:
    """Mean |difference| across tile edges and elsewhere along one axis (valid pixel pairs only)."""
    d = np.abs(np.diff(rgb.astype(float), axis=axis + 1)).mean(axis=0)
    ok = np.logical_and(valid, np.roll(valid, -1, axis=axis))
    ok = ok[:-1] if axis == 0 else ok[:, :-1]
    d = np.moveaxis(d, axis, 0)
    ok = np.moveaxis(ok, axis, 0)
    edges = sorted({s + TILE - 1 for s in starts[:-1]} | {s - 1 for s in starts[1:]})
    inside = np.setdiff1d(np.arange(d.shape[0]), edges)
    return float(d[edges][ok[edges]].mean()), float(d[inside][ok[inside]].mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", type=Path, default=ROOT / "sample_data" / "sample_s1_vv_db.tif")
    parser.add_argument("--checkpoint", type=Path)
    parser.add_argument("--overlaps", type=int, nargs="+", default=[0, 16, 32, 64, 96, 128])
    args = parser.parse_args()
    print(f"{'overlap':>7} {'tiles':>6} {'s':>6} {'edge':>7} {'inside':>7} {'ratio':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for overlap in args.overlaps:
            out = Path(tmp) / f"o{overlap}.tif"
            t0 = time.perf_counter()
            result = colorize(args.scene, out, args.checkpoint, device="cpu", overlap=overlap)
            seconds = time.perf_counter() - t0
            with rasterio.open(out) as ds:
                rgb, valid = ds.read((1, 2, 3)), ds.read(4) == 255
            pairs = [edge_ratio(rgb, valid, tile_starts(n, TILE, overlap), axis)
                     for axis, n in ((0, result.height), (1, result.width))]
            edge, inside = np.mean([p[0] for p in pairs]), np.mean([p[1] for p in pairs])
            print(f"{overlap:>7} {result.tiles:>6} {seconds:>6.1f} {edge:>7.3f} {inside:>7.3f} "
                  f"{edge / inside:>6.3f}")


if __name__ == "__main__":
    main()
