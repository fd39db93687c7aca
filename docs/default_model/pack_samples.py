"""Pack every pair under a data folder into one .npz, for a machine without rasterio (the GPU box).

    python docs/default_model/pack_samples.py ../shared/data .cvdata/samples.npz

SAR is kept as float16 on the model's [-1, 1] scale, optical RGB as uint8: what the model
and the metrics see, at the precision the metrics use.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from sargeo.crossval import load_samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    samples = load_samples(args.data)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out, names=np.array([s.name for s in samples]), scenes=np.array([s.scene for s in samples]),
        sar=np.stack([s.sar for s in samples]).astype(np.float16),
        rgb=np.stack([np.clip(np.rint((s.rgb + 1) * 127.5), 0, 255) for s in samples]).astype(np.uint8))
    print(f"{len(samples)} pairs from {len({s.scene for s in samples})} scenes -> {args.out} "
          f"({args.out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
