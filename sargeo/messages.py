"""One-line messages from exceptions: for the CLI's errors, the many-scenes report and GDAL's
messages. Light on purpose (no torch, no rasterio): the command line imports it at start-up."""

from __future__ import annotations


def first_line(exc: BaseException | str) -> str:
    """The first line of an error's text, or its type's name when it has none."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
