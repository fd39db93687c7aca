"""The torch sRGB <-> CIELAB conversion agrees with scikit-image and carries usable gradients."""

import warnings

import numpy as np
import torch
from skimage.color import lab2rgb, rgb2lab

from sargeo.colour import lab_to_rgb, rgb_to_lab


def _to_model(img: np.ndarray) -> torch.Tensor:
    """(H, W, 3) in [0, 1] -> (1, 3, H, W) in [-1, 1]."""
    return torch.from_numpy(img.transpose(2, 0, 1)[None].copy()).float() * 2 - 1


def _from_torch(t: torch.Tensor) -> np.ndarray:
    return t[0].detach().numpy().transpose(1, 2, 0)


def _random_image() -> np.ndarray:
    img = np.random.default_rng(0).random((23, 19, 3))
    img[0, :3] = [[0, 0, 0], [1, 1, 1], [0.01, 0.02, 0.0]]  # black, white, linear segment of f(t)
    img[1, :3] = np.eye(3)  # primaries
    return img


def test_rgb_to_lab_matches_scikit_image():
    img = _random_image()
    np.testing.assert_allclose(_from_torch(rgb_to_lab(_to_model(img))), rgb2lab(img), atol=1e-3)


def test_lab_to_rgb_matches_scikit_image_including_out_of_gamut_clamping():
    rng = np.random.default_rng(1)
    lab = np.stack([rng.uniform(0, 100, (17, 13)), rng.uniform(-90, 90, (17, 13)),
                    rng.uniform(-90, 90, (17, 13))], axis=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skimage warns about negative Z it clips
        want = lab2rgb(lab)
    got = lab_to_rgb(torch.from_numpy(lab.transpose(2, 0, 1)[None].copy()).float())
    assert got.min() >= -1 and got.max() <= 1
    np.testing.assert_allclose((_from_torch(got) + 1) / 2, want, atol=1e-4)


def test_round_trip_returns_the_image():
    x = _to_model(_random_image())
    torch.testing.assert_close(lab_to_rgb(rgb_to_lab(x)), x, atol=1e-4, rtol=0)


def test_gradients_are_finite_at_black_white_and_saturated_colours():
    x = _to_model(_random_image()).requires_grad_()
    lab = rgb_to_lab(x)
    lab.sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    lab_in = torch.tensor([[0.0, 0, 0], [100, 0, 0], [50, 120, -120], [3, -40, 60]]).T[None, :, :, None]
    lab_in.requires_grad_()
    lab_to_rgb(lab_in).sum().backward()
    assert torch.isfinite(lab_in.grad).all()


def test_works_in_float32_inside_bf16_autocast():
    x = _to_model(_random_image()).bfloat16()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        lab = rgb_to_lab(x)
        rgb = lab_to_rgb(lab)
    assert lab.dtype == rgb.dtype == torch.float32
    torch.testing.assert_close(lab, rgb_to_lab(x.float()), atol=1e-4, rtol=0)
    torch.testing.assert_close(rgb, x.float(), atol=1e-4, rtol=0)


def test_lightness_is_the_first_lab_channel():
    from sargeo.colour import lightness

    torch.manual_seed(1)
    rgb = torch.rand(3, 3, 17, 19) * 2.2 - 1.1  # a little out of range too: clamped alike
    assert torch.allclose(lightness(rgb), rgb_to_lab(rgb)[:, :1], atol=1e-4)
