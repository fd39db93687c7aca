"""Load pairs as model-ready arrays, each format brought to the SEN1-2 scale in [-1, 1].

The model was trained on SEN1-2 PNGs, so GeoTIFF inputs go through ``sargeo.scaling``
(dB window for SAR, reflectance stretch for RGB) to look the same to it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import Dataset

from sargeo.data.pairs import Pair, bigearthnet_band
from sargeo.scaling import SarScaling, reflectance_to_unit, uint8_to_unit

_SAR_SCALING = SarScaling()
_RGB_BANDS = (4, 3, 2)  # SEN12MS band order: B1..B12 with B8A and B10, so red/green/blue = 4,3,2


def load_pair(pair: Pair, size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """SAR (size, size) and RGB (3, size, size), float32 in [-1, 1]."""
    sar, rgb = _READERS[pair.fmt](pair)
    return _resize(sar[None], size)[0], _resize(rgb, size)


def _read_png(pair: Pair) -> tuple[np.ndarray, np.ndarray]:
    with Image.open(pair.sar) as im:
        sar = uint8_to_unit(np.asarray(im.convert("L")))
    with Image.open(pair.optical) as im:
        rgb = uint8_to_unit(np.asarray(im.convert("RGB"))).transpose(2, 0, 1)
    return sar, rgb


def _read_sen12ms(pair: Pair) -> tuple[np.ndarray, np.ndarray]:
    sar = _db_to_unit(_read_bands(pair.sar, 1))
    rgb = reflectance_to_unit(_read_bands(pair.optical, _RGB_BANDS))
    return sar, rgb


def _read_bigearthnet(pair: Pair) -> tuple[np.ndarray, np.ndarray]:
    sar = _db_to_unit(_read_bands(bigearthnet_band(pair.sar, "VV"), 1))
    rgb = np.stack([_read_bands(bigearthnet_band(pair.optical, b), 1)
                    for b in ("B04", "B03", "B02")])
    return sar, reflectance_to_unit(rgb)


_READERS: dict[str, Callable[[Pair], tuple[np.ndarray, np.ndarray]]] = {
    "png": _read_png, "sen12ms": _read_sen12ms, "bigearthnet": _read_bigearthnet,
}


def _read_bands(path: Path, bands: int | tuple[int, ...]) -> np.ndarray:
    import rasterio  # only GeoTIFF pairs need it

    with rasterio.open(path) as ds:
        return ds.read(bands).astype(np.float32)


def _db_to_unit(db: np.ndarray) -> np.ndarray:
    """NaN (no return / no data) becomes the darkest value rather than poisoning the batch."""
    return _SAR_SCALING.db_to_unit(np.nan_to_num(db, nan=_SAR_SCALING.db_min))


def _resize(x: np.ndarray, size: int) -> np.ndarray:
    """Bilinear to (C, size, size); anti-aliased only when shrinking, plain when enlarging."""
    if x.shape[-2:] == (size, size):
        return np.ascontiguousarray(x, dtype=np.float32)
    shrink = size < max(x.shape[-2:])
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None]
    out = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False,
                        antialias=shrink)
    # bilinear weights are convex; the clip only removes float rounding past +-1
    return np.clip(out[0].numpy(), -1.0, 1.0)


class PairDataset(Dataset):
    """Pairs as tensors: SAR (1, S, S) and RGB (3, S, S), optionally randomly flipped/rotated.

    ``sar_jitter_db`` adds one random offset in [-j, +j] dB to each SAR patch: scenes differ in
    absolute backscatter (calibration, incidence angle), and without it a small training set
    teaches the model that a scene's overall SAR level decides its overall colour.
    """

    def __init__(self, pairs: Sequence[Pair], size: int = 256, augment: bool = False,
                 sar_jitter_db: float = 0.0) -> None:
        self.pairs = tuple(pairs)
        self.size = size
        self.augment = augment
        self.jitter = jitter_unit(sar_jitter_db)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        sar, rgb = load_pair(self.pairs[i], self.size)
        return augment_pair(torch.from_numpy(sar)[None], torch.from_numpy(rgb), self.jitter, self.augment)


def jitter_unit(sar_jitter_db: float) -> float:
    """A dB offset on the model's [-1, 1] SAR scale."""
    return 2 * sar_jitter_db / (_SAR_SCALING.db_max - _SAR_SCALING.db_min)


def augment_pair(x: torch.Tensor, y: torch.Tensor, jitter: float,
                 flips: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """One training sample's randomness: a SAR level offset in [-jitter, jitter], then flips/turns."""
    if jitter:
        x = (x + (torch.rand((), device=x.device) * 2 - 1) * jitter).clamp(-1.0, 1.0)
    return _augment(x, y) if flips else (x, y)


def _augment(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One random flip/rotation applied to both, so SAR and RGB stay pixel-aligned.

    Uses torch's RNG so DataLoader workers, which torch seeds apart, draw different ones.
    """
    k = int(torch.randint(4, ()))
    dims = [d for d in (-1, -2) if torch.rand(()) < 0.5]
    x, y = torch.rot90(x, k, (-2, -1)), torch.rot90(y, k, (-2, -1))
    return (x.flip(dims), y.flip(dims)) if dims else (x, y)
