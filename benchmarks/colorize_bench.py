"""Benchmark `sargeo colorize` on generated scenes of growing size.

Prints, per scene size: tiles/s and megapixels/s of the whole pipeline (read,
scale, infer, blend, write), pure-model tiles/s on the same tile count and batch
size, their ratio (how much of the model's speed the pipeline keeps), and the
peak resident memory of the colorize process (it must not grow with scene size).

    python benchmarks/colorize_bench.py --sizes 2048 8192 20000 [--checkpoint M.pt] [--device cuda]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
import torch
from rasterio.transform import from_origin
from rasterio.windows import Window

from sargeo.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from sargeo.device import resolve_device
from sargeo.model import Generator, init_weights
from sargeo.models import DEFAULT_MODEL
from sargeo.scene import DEFAULT_OVERLAP, TILE
from sargeo.tiling import tile_starts

CHILD = """
import resource, sys, time
from sargeo.scene import colorize
t0 = time.perf_counter()
r = colorize(sys.argv[1], sys.argv[2], sys.argv[3], device=sys.argv[4], batch_size=int(sys.argv[5]))
print(time.perf_counter() - t0, r.tiles_run, r.device, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def make_scene(path: Path, size: int, seed: int = 0) -> None:
    """A size x size float32 dB scene with fields and speckle, written strip by strip."""
    rng = np.random.default_rng(seed)
    profile = dict(driver="GTiff", width=size, height=size, count=1, dtype="float32", nodata=-9999.0,
                   crs="EPSG:32631", transform=from_origin(500000, 5000000, 10, 10), tiled=True,
                   blockxsize=512, blockysize=512, compress="deflate", BIGTIFF="IF_SAFER")
    with rasterio.open(path, "w", **profile) as dst:
        for row in range(0, size, 512):
            h = min(512, size - row)
            yy, xx = np.mgrid[row:row + h, 0:size]
            field = -12 + 4 * np.sign(np.sin(xx / 97.0) * np.cos(yy / 131.0))
            speckle = 10 * np.log10(rng.gamma(4.4, 1 / 4.4, (h, size)))
            dst.write((field + speckle).astype(np.float32)[None], window=Window(0, row, size, h))


def model_tiles_per_s(ckpt: Checkpoint, device: torch.device, n_tiles: int, batch: int) -> float:
    """Generator alone on random tiles (no I/O), same batch size and memory format, capped at 2 minutes."""
    gen = ckpt.generator.to(device).eval().to(memory_format=torch.channels_last)
    x = torch.rand(batch, 1, TILE, TILE, device=device) * 2 - 1
    x = x.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        gen(x)  # warm-up
        done, t0 = 0, time.perf_counter()
        while done < n_tiles and time.perf_counter() - t0 < 120:
            gen(x).cpu()
            done += batch
    return done / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2048, 8192, 20000])
    parser.add_argument("--checkpoint", type=Path, help="default: the shipped model, else a width-16 net")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--workdir", type=Path, help="where scenes are written (default: a temp dir)")
    args = parser.parse_args()
    device = resolve_device(args.device)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        work = Path(tmp)
        ckpt_path = args.checkpoint or (DEFAULT_MODEL if DEFAULT_MODEL.is_file() else None)
        if ckpt_path is None:
            gen = Generator(width=16)
            init_weights(gen)
            ckpt_path = work / "w16.pt"
            save_checkpoint(Checkpoint(generator=gen.eval()), ckpt_path)
        ckpt = load_checkpoint(ckpt_path)
        print(f"model width {ckpt.width}, device {device}, batch {args.batch_size}, "
              f"overlap {DEFAULT_OVERLAP}, torch threads {torch.get_num_threads()}")
        print(f"{'size':>7} {'tiles':>7} {'s':>8} {'tiles/s':>8} {'MP/s':>7} {'model t/s':>9} "
              f"{'ratio':>6} {'peak RSS MB':>11}")
        for size in args.sizes:
            scene, out = work / f"scene_{size}.tif", work / f"out_{size}.tif"
            make_scene(scene, size)
            cmd = [sys.executable, "-c", CHILD, str(scene), str(out), str(ckpt_path), str(device),
                   str(args.batch_size)]
            res = subprocess.run(cmd, capture_output=True, text=True, check=True)
            seconds, tiles, _dev, rss_kb = res.stdout.split()
            seconds, tiles = float(seconds), int(tiles)
            n = len(tile_starts(size, TILE, DEFAULT_OVERLAP)) ** 2
            model = model_tiles_per_s(ckpt, device, min(n, 2000), args.batch_size)
            mps = size * size / 1e6 / seconds
            print(f"{size:>7} {n:>7} {seconds:>8.1f} {tiles / seconds:>8.2f} {mps:>7.2f} "
                  f"{model:>9.2f} {tiles / seconds / model:>6.2f} {int(rss_kb) / 1024:>11.0f}")
            for p in (scene, out):
                os.remove(p)


if __name__ == "__main__":
    main()
