"""Where the engine's model stage spends its time: torch.profiler over the model loop.

Prints, per model width, the generator alone at batch 64 and 256, the model loop alone
(stages_bench.py) and the top operations by host time and, on a GPU, by device time. On an
H200 this found the host-to-device copies that made the host wait for the GPU (each copy from
pageable memory is a full sync): look for cudaStreamSynchronize and 'Memcpy HtoD (Pageable'.

    python benchmarks/profile_loop.py [--size 6144] [--device cuda]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parent))
from colorize_bench import checkpoint_for, make_scene, model_tiles_per_s  # noqa: E402
from stages_bench import model_loop, read_scene  # noqa: E402

from sargeo.checkpoint import load_checkpoint  # noqa: E402
from sargeo.device import autocast_dtype, resolve_device  # noqa: E402
from sargeo.infer import TileRunner  # noqa: E402
from sargeo.options import DEFAULT_OVERLAP, TILE  # noqa: E402
from sargeo.tiling import tile_starts  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=6144)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--strips", type=int, default=12, help="strips profiled (the table grows with them)")
    args = parser.parse_args()
    device = resolve_device(args.device)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        scene = work / "scene.tif"
        make_scene(scene, args.size)
        starts = tile_starts(args.size, TILE, DEFAULT_OVERLAP)
        spec, strips, _ = read_scene(scene, args.size, device, 1)
        for width in (16, 64):
            ckpt = load_checkpoint(checkpoint_for(width, work))
            runner = TileRunner(ckpt.generator, device, autocast_dtype(device), TILE)
            for batch in (64, 256):
                print(f"width {width}, generator alone, batch {batch}: "
                      f"{model_tiles_per_s(runner, 4000, batch):.0f} tiles/s")
            rate, batch, _ = model_loop(ckpt, strips, spec, starts, args.size, device, None)
            print(f"width {width}, model loop, batch {batch}: {rate:.0f} tiles/s")
            with profile(activities=activities) as prof:
                model_loop(ckpt, strips[:args.strips], spec, starts, args.size, device, None)
            table = prof.key_averages()
            print(table.table(sort_by="self_cpu_time_total", row_limit=20, max_name_column_width=40))
            if device.type == "cuda":
                print(table.table(sort_by="self_cuda_time_total", row_limit=15, max_name_column_width=40))


if __name__ == "__main__":
    main()
