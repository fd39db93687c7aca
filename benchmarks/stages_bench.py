"""Each stage of the scene engine alone, in tiles/s, to tell which one sets the engine's pace.

read: every strip of a generated scene through sargeo.source (and onto a GPU) by as many
threads as the engine's readers, nothing else;
write: the model loop's finished uint8 RGBA rows through sargeo.sink into a GeoTIFF with the
default creation options, or each compression of --codecs with each GDAL thread count of --write-threads
(made before the clock starts), with the writer thread's share of its wall time and the cores busy
(writer thread plus GDAL's compression threads): a writer thread near 100 % sets the pace itself, cores
busy well below the thread count means GDAL's threads wait; model loop: the
engine's model stage (sargeo.model_stage) over strips already in memory, nothing written
(scale, tile, model, blend, rows back to the host). The engine runs all three at once, so it can go
no faster than the slowest; colorize_bench.py prints the engine itself.

    python benchmarks/stages_bench.py [--size 12288] [--widths 16 64] [--device cuda] [--batch-size 64]
        [--codecs DEFLATE ZSTD:1] [--write-threads 1 4 ALL_CPUS]
"""

from __future__ import annotations

import argparse
import functools
import itertools
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from rasterio.transform import from_origin

sys.path.insert(0, str(Path(__file__).resolve().parent))
from colorize_bench import LEVEL_KEYS, checkpoint_for, creation_options, make_scene  # noqa: E402

from sargeo.checkpoint import Checkpoint, load_checkpoint  # noqa: E402
from sargeo.destination import output_profile  # noqa: E402
from sargeo.device import autocast_dtype, resolve_device  # noqa: E402
from sargeo.host_memory import reuse_freed_memory  # noqa: E402
from sargeo.infer import TileRunner  # noqa: E402
from sargeo.model_stage import ModelStage  # noqa: E402
from sargeo.options import DEFAULT_OVERLAP, TILE  # noqa: E402
from sargeo.sar_input import InputSpec, resolve_input  # noqa: E402
from sargeo.scaling import SarScaling  # noqa: E402
from sargeo.scene import reader_count  # noqa: E402
from sargeo.sink import write_rows  # noqa: E402
from sargeo.source import Strip, Uploader, open_source, read_strips  # noqa: E402
from sargeo.tiling import tile_starts  # noqa: E402


def model_loop(ckpt: Checkpoint, strips: list[Strip], spec: InputSpec, starts: list[int], size: int,
               device: torch.device, batch: int | None) -> tuple[float, int, list[np.ndarray]]:
    """(tiles/s, batch, finished rows) of the engine's model stage over strips already read."""
    runner = TileRunner(ckpt.generator, device, autocast_dtype(device), TILE)
    batch = batch or runner.auto_batch()
    runner(torch.zeros(batch, 1, TILE, TILE, device=device))  # warm-up, as a run's first batch
    stage = ModelStage(runner, batch, spec, starts, size, DEFAULT_OVERLAP)
    rows_out = []
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    dones = [end - start for start, end in zip(starts, [*starts[1:], size], strict=True)]
    t0 = time.perf_counter()
    for _row, rows in stage.run(zip(strips, dones[:len(strips)], strict=True)):
        # left on the device: a copy to the host here would make every strip wait for the GPU,
        # which the engine's model stage never does (its writer thread copies)
        rows_out.append(rows)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    rate = len(starts) ** 2 / (time.perf_counter() - t0)
    return rate, batch, [rows.cpu().numpy() for rows in rows_out]


def read_scene(scene: Path, size: int, device: torch.device,
               readers: int) -> tuple[InputSpec, list[Strip], float]:
    """Every strip of a generated scene, in order, read (and uploaded) as the engine's readers do
    (reader k reads every n-th strip from its own dataset), and the seconds that took."""
    starts = tile_starts(size, TILE, DEFAULT_OVERLAP)
    with open_source(str(scene), False) as ds:
        spec, _ = resolve_input(ds, None, "auto", SarScaling(), None)
    parts: list[list[Strip]] = [[] for _ in range(readers)]

    def read(k: int) -> None:
        upload = Uploader(device)
        with open_source(str(scene), False) as ds:
            strips = read_strips(ds, str(scene), spec, starts[k::readers], TILE, (0, size), starts)
            parts[k].extend(upload(strip) for strip in strips)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(readers) as pool:
        list(pool.map(read, range(readers)))
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return spec, [parts[i % readers][i // readers] for i in range(len(starts))], time.perf_counter() - t0


def write_stage(out: Path, profile: dict, rows: list[np.ndarray], tiles: int) -> tuple[float, float, float]:
    """(tiles/s, share of the wall time the writer thread was on a core, cores busy on average) of
    writing the finished rows as the engine's writer does."""
    pending = iter([*rows, None])
    t0, thread0, process0 = time.perf_counter(), time.thread_time(), time.process_time()
    write_rows(out, out, profile, ([], None), functools.partial(next, pending))
    wall = time.perf_counter() - t0
    writer, busy = time.thread_time() - thread0, time.process_time() - process0
    out.unlink()
    return tiles / wall, writer / wall, busy / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--widths", type=int, nargs="+", default=[16])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, help="tiles per batch (default: the engine's)")
    parser.add_argument("--codecs", nargs="+", default=["DEFLATE"], metavar="CODEC[:LEVEL]",
                        help="output compressions to write, e.g. DEFLATE DEFLATE:4 ZSTD:1 (default: ours)")
    parser.add_argument("--write-threads", nargs="+", default=["ALL_CPUS"], metavar="N",
                        help="GDAL compression threads (NUM_THREADS) to write with, e.g. 1 4 ALL_CPUS "
                             "(default: ours)")
    args = parser.parse_args()
    reuse_freed_memory()  # as the sargeo command does: the stages' rates then compare with the engine's
    device = resolve_device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        scene = work / "scene.tif"
        make_scene(scene, args.size)
        starts = tile_starts(args.size, TILE, DEFAULT_OVERLAP)
        tiles = len(starts) ** 2
        rates: dict[str, float] = {}

        readers = reader_count(device)
        spec, strips, seconds = read_scene(scene, args.size, device, readers)
        rates[f"read, {readers} thread(s)"] = tiles / seconds

        for width in args.widths:
            ckpt = load_checkpoint(checkpoint_for(width, work))
            rate, batch, rows_out = model_loop(ckpt, strips, spec, starts, args.size, device, args.batch_size)
            rates[f"model loop, width {width}, batch {batch}"] = rate

        georef = {"crs": "EPSG:32631", "transform": from_origin(500000, 5000000, 10, 10)}
        for codec, threads in itertools.product(args.codecs, args.write_threads):
            options = {**creation_options(codec), "NUM_THREADS": threads}
            profile = output_profile(args.size, args.size, options, georef)
            level = next((profile[k] for k in LEVEL_KEYS.values() if k in profile), "default")
            rate, writer, cores = write_stage(work / "out.tif", profile, rows_out, tiles)
            rates[f"write, {profile['COMPRESS']} level {level}, {threads} GDAL threads "
                  f"(writer thread {writer:.0%} busy, {cores:.1f} cores)"] = rate

    on_gpu = device.type == "cuda"
    name = torch.cuda.get_device_name(device) if on_gpu else f"CPU, {torch.get_num_threads()} threads"
    precision = "bf16" if autocast_dtype(device) else "fp32"
    print(f"device {name}; {precision}; {args.size} x {args.size} px, {tiles} tiles")
    print("| stage | tiles/s |")
    print("| --- | --- |")
    for stage, rate in rates.items():
        print(f"| {stage} | {rate:.0f} |")


if __name__ == "__main__":
    main()
