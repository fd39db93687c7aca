"""Image-quality metrics of the paper (PSNR, SSIM, LPIPS-AlexNet) plus colour metrics.

Every function takes ``pred`` and ``target`` as float arrays of shape (H, W, 3) in [0, 1].
CIEDE2000 and SAM are not in the paper; they are added because PSNR/SSIM barely react to
wrong hues, which is the typical failure of SAR colourization.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from skimage.color import deltaE_ciede2000, rgb2lab
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

#: Below this RGB vector length a pixel counts as black (no direction) for SAM.
SAM_ZERO_NORM = 1e-6


def _pair(pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate shapes once so every metric fails the same way on bad input."""
    p, t = np.asarray(pred, dtype=np.float64), np.asarray(target, dtype=np.float64)
    if p.shape != t.shape or p.ndim != 3 or p.shape[-1] != 3:
        raise ValueError(f"expected two HxWx3 images of equal shape, got {p.shape} and {t.shape}")
    return p, t


def psnr(pred: np.ndarray, target: np.ndarray) -> float:
    """PSNR in dB with data range 1; identical images return ``float('inf')``."""
    p, t = _pair(pred, target)
    if np.array_equal(p, t):
        return float("inf")
    return float(peak_signal_noise_ratio(t, p, data_range=1.0))


def ssim(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean SSIM over the three channels, 7x7 window, data range 1 (the paper's setting)."""
    p, t = _pair(pred, target)
    return float(structural_similarity(t, p, data_range=1.0, win_size=7, channel_axis=-1))


def ciede2000(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean CIEDE2000 colour difference (D65 CIELAB); about 2.3 is a just-noticeable difference."""
    p, t = _pair(pred, target)
    return float(np.mean(deltaE_ciede2000(rgb2lab(t), rgb2lab(p))))


def sam(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean spectral angle in degrees between per-pixel RGB vectors (0 = same hue/ratio).

    A black pixel has no direction, so the angle is undefined there. We score a pixel 0 when
    both vectors are black (nothing to get wrong) and 90, the largest angle possible between
    non-negative RGB vectors, when only one is black (the colour is missing entirely).
    """
    p, t = _pair(pred, target)
    np_, nt = np.linalg.norm(p, axis=-1), np.linalg.norm(t, axis=-1)
    p_zero, t_zero = np_ < SAM_ZERO_NORM, nt < SAM_ZERO_NORM
    valid = ~(p_zero | t_zero)
    cos = np.zeros_like(np_)
    cos[valid] = np.sum(p * t, axis=-1)[valid] / (np_[valid] * nt[valid])
    angle = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    angle[p_zero & t_zero] = 0.0
    return float(np.mean(angle))


class LpipsUnavailable(RuntimeError):
    """The ImageNet AlexNet weights LPIPS needs are not in the torch hub cache."""


def alexnet_weights_path() -> Path:
    """Where torchvision looks for the ImageNet AlexNet weights (honours TORCH_HOME)."""
    from torchvision.models import AlexNet_Weights

    name = AlexNet_Weights.IMAGENET1K_V1.url.rsplit("/", 1)[-1]
    return Path(torch.hub.get_dir()) / "checkpoints" / name


def _require_alexnet_weights() -> None:
    """Fail fast instead of letting torchvision start a download that hangs offline."""
    path = alexnet_weights_path()
    if not path.is_file():
        raise LpipsUnavailable(
            f"LPIPS needs the ImageNet AlexNet weights, missing: {path}. On a machine with "
            'internet run python -c "import torchvision; '
            "torchvision.models.alexnet(weights='IMAGENET1K_V1')\" and copy the file there."
        )


def _build_lpips(untrained_backbone: bool) -> torch.nn.Module:
    """lpips' AlexNet model with its packaged linear layers; imported late as it pulls scipy."""
    import lpips

    with warnings.catch_warnings():
        # lpips calls torchvision with the deprecated ``pretrained=`` argument.
        for message in (
            "The parameter 'pretrained' is deprecated",
            "Arguments other than a weight",
        ):
            warnings.filterwarnings("ignore", message=message, category=UserWarning)
        return lpips.LPIPS(pretrained=True, net="alex", pnet_rand=untrained_backbone, verbose=False)


class Lpips:
    """LPIPS with the AlexNet backbone through the `lpips` package.

    ``untrained_backbone=True`` uses a randomly initialised AlexNet so the plumbing can be
    tested without the ImageNet weights; its numbers are meaningless and labelled as such.
    """

    def __init__(self, device: str = "cpu", untrained_backbone: bool = False) -> None:
        if not untrained_backbone:
            _require_alexnet_weights()
        self.device = device
        self.label = (
            "LPIPS (untrained backbone, wiring test only)" if untrained_backbone else "LPIPS"
        )
        self.model = _build_lpips(untrained_backbone).to(device).eval()

    def _tensor(self, image: np.ndarray) -> torch.Tensor:
        """HxWx3 in [0, 1] -> 1x3xHxW in [-1, 1], the range lpips expects."""
        t = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))
        return (t.permute(2, 0, 1).unsqueeze(0) * 2.0 - 1.0).to(self.device)

    @torch.no_grad()
    def __call__(self, pred: np.ndarray, target: np.ndarray) -> float:
        """LPIPS distance (0 = identical, larger = more different)."""
        p, t = _pair(pred, target)
        return float(self.model(self._tensor(p), self._tensor(t)).item())


def compute_all(pred: np.ndarray, target: np.ndarray, lpips: Lpips | None) -> dict[str, float]:
    """All metrics for one image pair; "lpips" only when an Lpips model is given."""
    out = {
        "psnr": psnr(pred, target),
        "ssim": ssim(pred, target),
        "ciede2000": ciede2000(pred, target),
        "sam": sam(pred, target),
    }
    if lpips is not None:
        out["lpips"] = lpips(pred, target)
    return out
