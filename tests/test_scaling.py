"""Value mappings between data, model range and images."""

import numpy as np

from sargeo.scaling import uint8_to_unit, unit_to_image, unit_to_uint8


def test_unit_to_image_handles_sar_and_rgb_layouts():
    sar = np.array([[-1.0, 0.0], [1.0, 3.0]])
    np.testing.assert_allclose(unit_to_image(sar), [[0.0, 0.5], [1.0, 1.0]])
    rgb = np.stack([np.full((2, 3), -1.0), np.zeros((2, 3)), np.ones((2, 3))])
    img = unit_to_image(rgb)
    assert img.shape == (2, 3, 3)
    np.testing.assert_allclose(img[0, 0], [0.0, 0.5, 1.0])


def test_uint8_round_trip():
    x = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(unit_to_uint8(uint8_to_unit(x)), x)
