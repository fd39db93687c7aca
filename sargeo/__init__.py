"""sargeo: colorize Sentinel-1 SAR into optical-looking RGB with a conditional GAN."""

__version__ = "0.1.0"
