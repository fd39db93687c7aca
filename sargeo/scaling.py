"""How SAR and optical values map to the model's [-1, 1] range.

The SEN1-2 Sentinel-1 PNGs are sigma0 in dB clipped to [-25, 0] and scaled to
0-255; any other input must be brought to the same scale or colours go wrong.
The scaling travels inside each checkpoint (``SarScaling.to_dict``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

#: Sentinel-2 reflectance (x10000) that maps to 255 when stretching bands 4,3,2
#: like the SEN1-2 optical PNGs: typical land reflectance (0.08-0.12) then lands
#: at DN 70-100, where the PNGs' per-channel medians (74-90) sit.
S2_REFLECTANCE_MAX = 3000.0


@dataclass(frozen=True)
class SarScaling:
    """Linear dB window mapped onto [-1, 1] (SEN1-2: [-25, 0] dB)."""

    db_min: float = -25.0
    db_max: float = 0.0

    def db_to_unit(self, db: np.ndarray) -> np.ndarray:
        """Map sigma0 in dB to model input in [-1, 1] (float32)."""
        t = (np.asarray(db, dtype=np.float32) - self.db_min) / (self.db_max - self.db_min)
        return np.clip(t, 0.0, 1.0) * 2.0 - 1.0

    def db_to_unit_tensor(self, db: torch.Tensor) -> torch.Tensor:
        """db_to_unit for float tensors on any device, as one multiply-add and a clip (fewer
        passes over the engine's big strips; equal to float rounding)."""
        scale = 2.0 / (self.db_max - self.db_min)
        return (db * scale).add_(-self.db_min * scale - 1.0).clamp_(-1.0, 1.0)

    def to_dict(self) -> dict:
        return {"kind": "db_linear", **asdict(self)}

    @classmethod
    def from_dict(cls, d: dict) -> SarScaling:
        if d.get("kind") != "db_linear":
            raise ValueError(f"unknown SAR scaling kind {d.get('kind')!r}")
        return cls(db_min=float(d["db_min"]), db_max=float(d["db_max"]))


def uint8_to_unit(x: np.ndarray) -> np.ndarray:
    """Map 8-bit values (SEN1-2 PNGs) to [-1, 1] float32."""
    return np.asarray(x, dtype=np.float32) / 127.5 - 1.0


def unit_to_uint8(x: np.ndarray) -> np.ndarray:
    """Map [-1, 1] floats back to rounded 8-bit values."""
    return np.clip(np.rint((np.asarray(x, dtype=np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def unit_to_uint8_tensor(x: torch.Tensor) -> torch.Tensor:
    """The same rounding as unit_to_uint8, for torch tensors on any device."""
    return ((x.float() + 1.0) * 127.5).round().clamp(0, 255).byte()


def unit_to_image(x: np.ndarray) -> np.ndarray:
    """Model-range [-1, 1] array to a displayable [0, 1] image: (H, W) stays, (3, H, W) -> (H, W, 3)."""
    x = np.asarray(x)
    return (((x.transpose(1, 2, 0) if x.ndim == 3 else x) + 1.0) / 2.0).clip(0.0, 1.0)


def reflectance_to_unit(refl: np.ndarray) -> np.ndarray:
    """Stretch Sentinel-2 reflectance x10000 to [-1, 1] like the SEN1-2 optical PNGs."""
    t = np.asarray(refl, dtype=np.float32) / S2_REFLECTANCE_MAX
    return np.clip(t, 0.0, 1.0) * 2.0 - 1.0
