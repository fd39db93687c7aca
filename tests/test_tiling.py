"""Tile lattice covers every pixel; blending weights are strictly positive and symmetric."""

import numpy as np
import pytest

from sargeo.tiling import tile_starts, weight_window


@pytest.mark.parametrize("length", [1, 100, 256, 257, 500, 511, 1000, 4097])
@pytest.mark.parametrize("overlap", [0, 32, 64, 128])
def test_tiles_cover_every_pixel_and_stay_inside(length, overlap):
    starts = tile_starts(length, 256, overlap)
    covered = np.zeros(max(length, 256), bool)
    for s in starts:
        covered[s:s + 256] = True
    assert covered[:length].all()
    assert starts[0] == 0 and all(s + 256 <= max(length, 256) for s in starts)
    assert all(b - a <= 256 - overlap for a, b in zip(starts, starts[1:], strict=False))


def test_bad_overlap_is_refused():
    with pytest.raises(ValueError, match="overlap"):
        tile_starts(1000, 256, 256)


def test_weight_window_is_positive_smooth_and_symmetric():
    w = weight_window(256, 64)
    assert w.shape == (256, 256) and w.min() > 0
    assert w[128, 128] == 1.0 and w[0, 0] < 1e-4
    np.testing.assert_array_equal(w, w.T)
    np.testing.assert_array_equal(w, w[::-1, ::-1])
    assert np.abs(np.diff(w[128])).max() < 0.05


def test_blending_a_constant_reproduces_it_exactly():
    length, tile, overlap = 700, 256, 64
    acc, wsum = np.zeros(length), np.zeros(length)
    w = weight_window(tile, overlap)[128]
    for s in tile_starts(length, tile, overlap):
        acc[s:s + tile] += w * 5.0
        wsum[s:s + tile] += w
    np.testing.assert_allclose(acc / wsum, 5.0)
