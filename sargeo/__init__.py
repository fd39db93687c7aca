"""sargeo: colorize Sentinel-1 SAR into optical-looking, georeferenced RGB with a conditional GAN.

``sargeo.colorize(src, dst, checkpoint=None, **options)`` is the scene engine (see sargeo.scene).
"""

__version__ = "0.1.0"

from sargeo.scene import ColorizeOptions, ColorizeResult, colorize  # noqa: E402

__all__ = ["ColorizeOptions", "ColorizeResult", "colorize", "__version__"]
