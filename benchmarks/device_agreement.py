"""How far `sargeo colorize` on a GPU (bf16) lands from the same run on the CPU (fp32), in DN.

The engine promises outputs within 1 DN of each other across devices; this prints, per model,
the largest difference, the mean, and the share of values more than 1 DN apart, on a
generated scene (the shipped model and a paper-width model with random weights). Run it
where CUDA is available; there is nothing to compare without one.

    python benchmarks/device_agreement.py [--size 2048] [--device cuda]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import rasterio
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from colorize_bench import make_scene  # noqa: E402

from sargeo.checkpoint import Checkpoint, save_checkpoint  # noqa: E402
from sargeo.model import Generator, init_weights  # noqa: E402
from sargeo.models import DEFAULT_MODEL  # noqa: E402
from sargeo.scene import colorize  # noqa: E402


def colorized(scene: Path, out: Path, model: str, device: str) -> np.ndarray:
    colorize(scene, out, model, device=device)
    with rasterio.open(out) as src:
        return src.read().astype(np.int16)


def paper_width() -> Generator:
    """A width-64 generator whose BatchNorm statistics come from a few batches, as after training
    (with the initial ones its output is nearly flat, and flat outputs always agree)."""
    torch.manual_seed(0)
    gen = Generator(width=64)
    init_weights(gen)
    with torch.no_grad():
        for _ in range(3):
            gen(torch.rand(4, 1, 256, 256) * 2 - 1)
    return gen.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("no CUDA device here: nothing to compare")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        scene = work / "scene.tif"
        make_scene(scene, args.size)
        save_checkpoint(Checkpoint(generator=paper_width()), work / "w64.pt")
        print(f"{args.size} x {args.size} scene, CPU fp32 against {args.device} (the engine's default "
              "precision)")
        print("| model | max abs diff (DN) | mean abs diff (DN) | values > 1 DN apart |")
        print("| --- | --- | --- | --- |")
        models = (("shipped, width 16", str(DEFAULT_MODEL)), ("random, width 64", str(work / "w64.pt")))
        for name, model in models:
            cpu = colorized(scene, work / "cpu.tif", model, "cpu")
            gpu = colorized(scene, work / "gpu.tif", model, args.device)
            diff = np.abs(cpu[:3] - gpu[:3])
            alpha_same = np.array_equal(cpu[3], gpu[3])
            print(f"| {name} | {diff.max()} | {diff.mean():.3f} | {(diff > 1).mean():.4%} |"
                  + ("" if alpha_same else " alpha differs!"))
            for f in ("cpu.tif", "gpu.tif"):
                (work / f).unlink()


if __name__ == "__main__":
    main()
