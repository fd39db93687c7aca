"""Differentiable sRGB <-> CIELAB (D65, 2 degree observer) on model-range tensors.

The losses compare lightness and the output adjustment moves colours in LAB, so both
need a conversion that runs on batches on any device and carries gradients. The
constants are scikit-image's (``rgb2lab`` / ``lab2rgb``), so numbers agree with the
metrics computed with it. Everything runs in float32, even inside a bf16 autocast
region: cube roots and gamma curves lose whole L* units in bf16.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch

#: Linear sRGB -> XYZ (sRGB specification, as in skimage.color).
XYZ_FROM_RGB = (
    (0.412453, 0.357580, 0.180423),
    (0.212671, 0.715160, 0.072169),
    (0.019334, 0.119193, 0.950227),
)
#: D65 white point, 2 degree observer.
WHITE_D65 = (0.95047, 1.0, 1.08883)
_EPS = 0.008856  # (6/29)^3: below it f(t) is linear
_KAPPA = 7.787  # slope of the linear segment of f(t)
_F_EPS = 0.2068966  # 6/29 = f(_EPS): below it f^-1 is linear
_SRGB_LIN = 0.0031308  # linear-light threshold of the sRGB gamma curve

_f64 = torch.float64
_xyzn = torch.tensor(XYZ_FROM_RGB, dtype=_f64) / torch.tensor(WHITE_D65, dtype=_f64)[:, None]
_lab = torch.tensor([[0.0, 116.0, 0.0], [500.0, -500.0, 0.0], [0.0, 200.0, -200.0]], dtype=_f64)
#: Linear sRGB -> XYZ relative to the white point, and back.
_XYZN_FROM_RGB, _RGB_FROM_XYZN = _xyzn.float(), torch.linalg.inv(_xyzn).float()
#: Its Y row alone (the white point's Y is 1), for lightness.
_Y_FROM_RGB = _XYZN_FROM_RGB[1:2].clone()
#: (f(x), f(y), f(z)) -> (L* + 16, a*, b*), and back.
_LAB_FROM_F, _F_FROM_LAB = _lab.float(), torch.linalg.inv(_lab).float()
_L_OFFSET = torch.tensor([16.0, 0.0, 0.0]).view(1, 3, 1, 1)
#: skimage clips negative Z (colours far outside the gamut) before inverting f, but not X or Y.
_F_MIN = torch.tensor([-torch.inf, -torch.inf, 0.0]).view(1, 3, 1, 1)


@functools.cache
def on_device(constant: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A module constant on `device`, copied there once: a copy from pageable host memory makes
    the host wait for all queued GPU work, so one per call stalled the scene engine. Cached by
    the tensor object, so only for constants made once (a slice made per call is a new entry,
    and a new copy, every call)."""
    return constant.to(device)


def _mix(matrix: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """A (k, 3) matrix times the channel axis of (N, 3, H, W) -> (N, k, H, W): one matmul, kept in
    float32 under autocast."""
    with torch.autocast(t.device.type, enabled=False):
        return (on_device(matrix, t.device) @ t.flatten(2)).unflatten(2, t.shape[2:])


def _pow(x: torch.Tensor, p: float) -> torch.Tensor:
    """x ** p for positive x, as exp(p log x): on a CPU 2.5x faster than pow, same to float rounding
    (the result is exp_'s output, which its gradient needs: not to be changed in place)."""
    return x.log().mul_(p).exp_()


def _spliced(x: torch.Tensor, at: float, curve: Callable[[torch.Tensor], torch.Tensor],
             slope: float) -> torch.Tensor:
    """`curve` above `at`, the straight line of `slope` through curve(at) below it.

    The sRGB and CIELAB curves meet their linear segments (to 1e-6), so this is their
    torch.where(x > at, curve(x), line(x)) in clamps and adds, 10x faster on a CPU, and each
    piece is evaluated only where it is defined (no NaN from the unused branch, nor in its
    gradient)."""
    return curve(x.clamp_min(at)) + (x.clamp_max(at) - at).mul_(slope)


def _linear_rgb(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [-1, 1] -> linear-light RGB in [0, 1] (the sRGB gamma curve undone)."""
    c = (rgb.float() * 0.5 + 0.5).clamp(0.0, 1.0)
    return _spliced(c, 0.04045, lambda c: _pow((c + 0.055) / 1.055, 2.4), 1 / 12.92)


def _f(t: torch.Tensor) -> torch.Tensor:
    """CIELAB's f(t): cube root above (6/29)^3, linear below."""
    return _spliced(t, _EPS, lambda t: _pow(t, 1.0 / 3.0), _KAPPA)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [-1, 1], (N, 3, H, W) -> CIELAB (N, 3, H, W): L* in 0..100, then a*, b*."""
    f = _f(_mix(_XYZN_FROM_RGB, _linear_rgb(rgb)))
    return _mix(_LAB_FROM_F, f) - on_device(_L_OFFSET, f.device)


def lightness(rgb: torch.Tensor) -> torch.Tensor:
    """CIELAB L* (0-100) of sRGB in [-1, 1], (N, 3, H, W) -> (N, 1, H, W): rgb_to_lab's first
    channel for a third of its cube roots, for the gradient loss and lightness-only adjustments."""
    return 116.0 * _f(_mix(_Y_FROM_RGB, _linear_rgb(rgb))) - 16.0


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """CIELAB (N, 3, H, W) -> sRGB in [-1, 1], out-of-gamut colours clamped."""
    lab = lab.float()
    device = lab.device
    f = torch.maximum(_mix(_F_FROM_LAB, lab + on_device(_L_OFFSET, device)), on_device(_F_MIN, device))
    lin = _mix(_RGB_FROM_XYZN, _spliced(f, _F_EPS, lambda f: f**3, 1 / _KAPPA))
    c = _spliced(lin, _SRGB_LIN, lambda v: _pow(v, 1 / 2.4) * 1.055 - 0.055, 12.92)
    return c.clamp(0.0, 1.0) * 2.0 - 1.0
