"""sargeo: colorize Sentinel-1 SAR into optical-looking, georeferenced RGB with a conditional GAN.

``sargeo.colorize(src, dst, checkpoint=None, **options)`` is the scene engine (see sargeo.scene).
It is imported on first use, so that importing sargeo (or starting its command line, or
`rio`, which loads sargeo's plugin) does not load PyTorch.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["ColorizeOptions", "ColorizeResult", "colorize", "__version__"]


def __getattr__(name: str) -> Any:
    if name in ("ColorizeOptions", "ColorizeResult", "colorize"):
        from sargeo import scene

        return getattr(scene, name)
    raise AttributeError(f"module 'sargeo' has no attribute {name!r}")
