"""Make the README pictures with the shipped default model.

    python docs/make_figures.py [--shared ../shared/data]

docs/sample_scene.png: the sample scene (sample_data/) next to its colorization.
docs/heldout_pairs.png: held-out test pairs of the default model's split (SAR | model | optical),
drawn from the real SEN1-2 data in ../shared when it is present.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import rasterio
from matplotlib.figure import Figure

from sargeo.checkpoint import load_checkpoint
from sargeo.data import Split, discover_pairs, load_pair
from sargeo.evaluate import model_method
from sargeo.models import default_checkpoint_path
from sargeo.report import comparison_figure
from sargeo.scaling import unit_to_image
from sargeo.scene import colorize

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "sample_s1_vv_db.tif"


def sample_figure(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rgb_path = Path(tmp) / "rgb.tif"
        colorize(SAMPLE, rgb_path, device="cpu")
        with rasterio.open(SAMPLE) as src, rasterio.open(rgb_path) as rgb:
            shape = (src.height // 2, src.width // 2)
            db = src.read(1, out_shape=shape, masked=True)
            colour = rgb.read(out_shape=(4, *shape)).transpose(1, 2, 0)
    grey = np.clip((db.filled(-25) + 25) / 25, 0, 1)
    fig = Figure(figsize=(12, 5), dpi=110, layout="constrained")
    left, right = fig.subplots(1, 2)
    left.imshow(grey, cmap="gray")
    left.set_title("sample_data/sample_s1_vv_db.tif (VV, dB)")
    right.imshow(colour)
    right.set_title("sargeo colorize (default model)")
    for ax in (left, right):
        ax.axis("off")
    fig.savefig(out)


def heldout_figure(shared: Path, out: Path, n: int = 4) -> None:
    ckpt_path = default_checkpoint_path()
    split = Split.from_dict(load_checkpoint(ckpt_path).split)
    pairs = split.part(discover_pairs(shared).pairs, "test")
    step = max(1, len(pairs) // n)
    method, _ = model_method("default model", ckpt_path, device="cpu")
    samples = []
    for pair in pairs[::step][:n]:
        sar, rgb = load_pair(pair)
        samples.append({"title": pair.name, "images": {
            "SAR": unit_to_image(sar), "default model": method.predict(sar),
            "optical": unit_to_image(rgb)}})
    comparison_figure(samples, out, columns=["SAR", "default model", "optical"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    sample_figure(ROOT / "docs" / "sample_scene.png")
    if args.shared.is_dir():
        heldout_figure(args.shared, ROOT / "docs" / "heldout_pairs.png")


if __name__ == "__main__":
    main()
