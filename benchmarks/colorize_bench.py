"""Benchmark `sargeo colorize` against the generator alone, on generated scenes.

Prints one table: device, model width, precision, batch, the generator alone on random tiles
(same runner, precision and memory format as the engine), the whole engine (read, scale,
tile, model, blend, write a compressed GeoTIFF), their ratio, megapixels/s and the peak
resident memory of the colorize process (it must not grow with scene height). On a CPU it
also prints the generator's FLOP rate next to a same-run fp32 4096^3 matrix multiply. Each
scene size also gets the engine's ceiling: the whole engine with a model that does nothing,
i.e. what reading, tiling, blending and writing allow on this machine whatever the model.

    python benchmarks/colorize_bench.py --sizes 2048 4096 [--widths 16 64] [--device cuda] [--batch-size N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
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
from sargeo.device import autocast_dtype, resolve_device
from sargeo.host_memory import reuse_freed_memory
from sargeo.infer import TileRunner
from sargeo.model import Generator, gflops_per_tile, init_weights
from sargeo.models import DEFAULT_MODEL
from sargeo.options import DEFAULT_OVERLAP, TILE
from sargeo.tiling import tile_starts

CHILD = """
import json, resource, sys, time
import torch
from sargeo.checkpoint import Checkpoint
from sargeo.host_memory import reuse_freed_memory
from sargeo.scene import colorize

if sys.argv[7] == "reuse":
    reuse_freed_memory()  # as the sargeo command does

class DoNothing(torch.nn.Module):  # the engine's ceiling: every stage but the model
    width, input_norm = 1, "none"
    def forward(self, x):
        return x.expand(-1, 3, -1, -1)

batch = None if sys.argv[5] == "auto" else int(sys.argv[5])
model = Checkpoint(generator=DoNothing()) if sys.argv[3] == "none" else sys.argv[3]
if sys.argv[4].startswith("cuda"):  # the CUDA context: once per process, however many scenes
    torch.zeros(1, device=sys.argv[4])
t0 = time.perf_counter()
creation = json.loads(sys.argv[6])
r = colorize(sys.argv[1], sys.argv[2], model, device=sys.argv[4], batch_size=batch, creation_options=creation)
print(time.perf_counter() - t0, r.tiles_run, r.device, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def run_engine(model: str, scene: Path, out: Path, device: torch.device, batch: str,
               codec: str, memory: str) -> tuple[float, int, float]:
    """(seconds, tiles run, peak RSS in MB) of one colorize run in a fresh process (codec as
    `creation_options` takes it; memory "reuse" as the sargeo command, else glibc's defaults)."""
    cmd = [sys.executable, "-c", CHILD, str(scene), str(out), model, str(device), batch,
           json.dumps(creation_options(codec)), memory]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    seconds, tiles, _dev, rss_kb = res.stdout.split()
    os.remove(out)
    return float(seconds), int(tiles), int(rss_kb) / 1024


#: Creation option that sets each codec's level.
LEVEL_KEYS = {"DEFLATE": "ZLEVEL", "ZSTD": "ZSTD_LEVEL"}


def creation_options(codec: str) -> dict[str, str]:
    """GeoTIFF creation options for CODEC[:LEVEL], e.g. DEFLATE (ours), DEFLATE:4, ZSTD:1."""
    name, _, level = codec.upper().partition(":")
    return {"COMPRESS": name, **({LEVEL_KEYS.get(name, "ZLEVEL"): level} if level else {})}


def make_scene(path: Path, size: int, seed: int = 0) -> None:
    """A size x size float32 dB scene with fields and speckle, tiled and uncompressed like a GRD TIFF."""
    rng = np.random.default_rng(seed)
    profile = dict(driver="GTiff", width=size, height=size, count=1, dtype="float32", nodata=-9999.0,
                   crs="EPSG:32631", transform=from_origin(500000, 5000000, 10, 10), tiled=True,
                   blockxsize=512, blockysize=512, BIGTIFF="IF_SAFER")
    with rasterio.open(path, "w", **profile) as dst:
        for row in range(0, size, 512):
            h = min(512, size - row)
            yy, xx = np.mgrid[row:row + h, 0:size]
            field = -12 + 4 * np.sign(np.sin(xx / 97.0) * np.cos(yy / 131.0))
            speckle = 10 * np.log10(rng.gamma(4.4, 1 / 4.4, (h, size)))
            dst.write((field + speckle).astype(np.float32)[None], window=Window(0, row, size, h))


def model_tiles_per_s(runner: TileRunner, n_tiles: int, batch: int) -> float:
    """The generator alone through the engine's own TileRunner, tiles already on the device."""
    device = runner.device
    x = torch.rand(batch, 1, TILE, TILE, device=device) * 2 - 1
    runner(x)  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    done, t0 = 0, time.perf_counter()
    while done < n_tiles and time.perf_counter() - t0 < 60:
        runner(x)
        done += batch
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return done / (time.perf_counter() - t0)


def flop_share(runner: TileRunner, batch: int, gflops: float, rounds: int = 10) -> tuple[float, float]:
    """(generator GFLOP/s, its share of a fp32 4096^3 matmul) on the CPU, from rounds that alternate
    one matmul and one batch and take the median ratio: on a shared machine the speed of both
    swings by a factor of 1.5-2 within a minute, so only side-by-side figures compare."""
    x = torch.rand(batch, 1, TILE, TILE) * 2 - 1
    a, b = torch.rand(4096, 4096), torch.rand(4096, 4096)
    a @ b, runner(x)  # warm-up
    rates, shares = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        a @ b
        matmul = 2 * 4096**3 / (time.perf_counter() - t0) / 1e9
        t0 = time.perf_counter()
        runner(x)
        rates.append(batch * gflops / (time.perf_counter() - t0))
        shares.append(rates[-1] / matmul)
    return statistics.median(rates), statistics.median(shares)


def checkpoint_for(width: int, work: Path) -> Path:
    """The shipped model for width 16 when present, else a randomly initialised net of that width."""
    if width == 16 and DEFAULT_MODEL.is_file():
        return DEFAULT_MODEL
    gen = Generator(width=width)
    init_weights(gen)
    path = work / f"w{width}.pt"
    save_checkpoint(Checkpoint(generator=gen.eval()), path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2048, 4096])
    parser.add_argument("--widths", type=int, nargs="+", default=[16])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", default="auto", help="tiles per batch, or auto (the engine default)")
    parser.add_argument("--codec", default="DEFLATE", metavar="CODEC[:LEVEL]",
                        help="output compression, e.g. DEFLATE:4 or ZSTD:1 (default: ours)")
    parser.add_argument("--workdir", type=Path, help="where scenes are written (default: a temp dir)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="rounds of each measurement: best rates, median engine/generator ratio")
    parser.add_argument("--malloc-defaults", action="store_true",
                        help="leave glibc's malloc settings alone (the sargeo command reuses freed memory)")
    args = parser.parse_args()
    memory = "glibc" if args.malloc_defaults else "reuse"
    if memory == "reuse":
        reuse_freed_memory()
    device = resolve_device(args.device)
    precision = "bf16" if autocast_dtype(device) else "fp32"
    threads = f"CPU, {torch.get_num_threads()} threads"
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else threads
    print(f"device {name}; overlap {DEFAULT_OVERLAP}; batch {args.batch_size}; "
          f"output {args.codec}; malloc {memory}"
          + ("; engine times exclude creating the CUDA context" if device.type == "cuda" else ""))
    on_cpu = device.type == "cpu"
    print("| width | precision | scene (px) | tiles | generator alone (tiles/s) | engine (tiles/s) "
          "| ratio (median of rounds) | MP/s | peak RSS (MB) | engine ceiling, do-nothing model (tiles/s) |"
          + (" generator GFLOP/s (% of a 4096^3 matmul, median of interleaved rounds) |" if on_cpu else ""))
    print("|" + " --- |" * (11 if on_cpu else 10))
    ceilings: dict[int, float] = {}
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        work = Path(tmp)
        for width in args.widths:
            ckpt_path = checkpoint_for(width, work)
            ckpt = load_checkpoint(ckpt_path)
            gflops = gflops_per_tile(ckpt.plain_generator)
            # one runner (the engine's fused copy, same precision) for every measurement of this width
            runner = TileRunner(ckpt.generator, device, autocast_dtype(device), TILE)
            for size in args.sizes:
                scene, out = work / f"scene_{size}.tif", work / f"out_{size}.tif"
                if not scene.exists():
                    make_scene(scene, size)
                batch = 8 if args.batch_size == "auto" and on_cpu else (
                    64 if args.batch_size == "auto" else int(args.batch_size))
                n = len(tile_starts(size, TILE, DEFAULT_OVERLAP)) ** 2
                # engine and generator alone in alternation, the ratio taken within each round: on a
                # shared machine either alone swings by 1.5x from one minute to the next
                engines, models, ratios = [], [], []
                run = (scene, out, device, args.batch_size, args.codec, memory)
                for _ in range(args.repeats):
                    seconds, tiles, rss = run_engine(str(ckpt_path), *run)
                    engines.append(tiles / seconds)
                    models.append(model_tiles_per_s(runner, min(n, 4000), batch))
                    ratios.append(engines[-1] / models[-1])
                if size not in ceilings:
                    none_s, none_tiles, _ = min(run_engine("none", *run) for _ in range(args.repeats))
                    ceilings[size] = none_tiles / none_s
                engine, model = max(engines), max(models)
                mps = size * size / 1e6 * engine / n
                row = (f"| {width} | {precision} | {size} x {size} | {n} | {model:.0f} | {engine:.0f} "
                       f"| {statistics.median(ratios):.2f} | {mps:.1f} | {rss:.0f} | {ceilings[size]:.0f} |")
                if on_cpu:
                    rate, share = flop_share(runner, batch, gflops)
                    row += f" {rate:.0f} ({100 * share:.0f} %) |"
                print(row, flush=True)


if __name__ == "__main__":
    main()
