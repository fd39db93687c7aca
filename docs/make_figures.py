"""Make the README picture of the sample scene with the shipped default model.

    python docs/make_figures.py

docs/sample_scene.png: the sample scene (sample_data/) next to its colorization. The
cross-validation figure, docs/default_model/crossval.png, comes from
docs/default_model/package.py.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import rasterio
from matplotlib.figure import Figure

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


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    sample_figure(ROOT / "docs" / "sample_scene.png")


if __name__ == "__main__":
    main()
