"""Overlapping tiles over a scene and the weights that blend them without seams.

Tiles lie on a regular lattice (stride = tile - overlap) whose last tile is
snapped to the far edge, so every pixel is covered, including the right and
bottom borders. Blending divides sum(w * tile) by sum(w) with a strictly
positive window, so every pixel gets weight and no constant is assumed.
"""

from __future__ import annotations

import numpy as np

#: Smallest weight at a tile's outer edge; > 0 so border pixels of the scene still count.
EDGE_WEIGHT = 1e-3


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles covering [0, length); one start (0) when length <= tile."""
    if not 0 <= overlap < tile:
        raise ValueError(f"overlap must be in [0, {tile - 1}], got {overlap}")
    if length <= tile:
        return [0]
    stride = tile - overlap
    starts = list(range(0, length - tile, stride))
    return [*starts, length - tile]


def weight_window(tile: int, overlap: int) -> np.ndarray:
    """(tile, tile) float32 window: 1 in the middle, raised-cosine ramp to EDGE_WEIGHT over `overlap`."""
    ramp = np.ones(tile, dtype=np.float64)
    if overlap > 0:
        t = (np.arange(overlap) + 0.5) / overlap
        edge = EDGE_WEIGHT + (1 - EDGE_WEIGHT) * 0.5 * (1 - np.cos(np.pi * t))
        ramp[:overlap] = edge
        ramp[tile - overlap:] = edge[::-1]
    return np.outer(ramp, ramp).astype(np.float32)
