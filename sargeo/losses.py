"""Generator and discriminator losses of the paper, eq. (2)-(6).

The gradient loss compares forward differences of CIELAB lightness, so the
generator is pushed to reproduce edges and texture rather than a blurred mean.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from sargeo.colour import lightness, rgb_to_lab

REAL_LABEL = 0.9
FAKE_LABEL = 0.1


def gradient_loss(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Eq. (3)-(4): mean |dL_fake - dL_real| over vertical plus horizontal forward differences.

    L* is divided by 100 so the term lives on the same scale as the L1 loss.
    """
    return _lightness_gradient_loss(lightness(fake), lightness(real))


def _lightness_gradient_loss(lf: torch.Tensor, lr: torch.Tensor) -> torch.Tensor:
    """gradient_loss from the L* maps (N, 1, H, W) of fake and real."""
    lf, lr = lf / 100.0, lr / 100.0
    dv = (lf[:, :, 1:, :] - lf[:, :, :-1, :]) - (lr[:, :, 1:, :] - lr[:, :, :-1, :])
    dh = (lf[:, :, :, 1:] - lf[:, :, :, :-1]) - (lr[:, :, :, 1:] - lr[:, :, :, :-1])
    return dv.abs().mean() + dh.abs().mean()


def adversarial_loss(logits: torch.Tensor, target: float) -> torch.Tensor:
    """BCE against a constant smoothed label (0.9 real, 0.1 fake)."""
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def generator_loss(
    fake_logits: torch.Tensor | None,
    fake: torch.Tensor,
    real: torch.Tensor,
    lambda_l1: float = 100.0,
    lambda_grad: float = 100.0,
    lambda_adv: float = 1.0,
    space: str = "rgb",
) -> dict[str, torch.Tensor]:
    """Eq. (5): adversarial + lambda1 * L1 + lambda2 * gradient; returns every term and 'total'.

    ``lambda_adv`` (1 in the paper) weights the adversarial term; with 0, `fake_logits` may be None
    and the generator trains as a plain regression U-Net. ``space="lab"`` takes the L1 term on
    CIELAB / 50 (about the RGB term's scale), where errors weigh as people see them.
    """
    if space not in ("rgb", "lab"):
        raise ValueError(f"unknown loss space {space!r} (rgb or lab)")
    if space == "lab":
        lab_fake, lab_real = rgb_to_lab(fake), rgb_to_lab(real)
        l1 = ((lab_fake - lab_real) / 50.0).abs().mean()
    else:
        l1 = (fake.float() - real.float()).abs().mean()
    if not lambda_grad:
        grad = torch.zeros_like(l1)
    elif space == "lab":  # L* is LAB's first channel, already converted
        grad = _lightness_gradient_loss(lab_fake[:, :1], lab_real[:, :1])
    else:
        grad = gradient_loss(fake, real)
    adv = adversarial_loss(fake_logits, REAL_LABEL) if lambda_adv else torch.zeros_like(l1)
    total = lambda_adv * adv + lambda_l1 * l1 + lambda_grad * grad
    return {"adv": adv, "l1": l1, "grad": grad, "total": total}


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Eq. (6): 0.5 * (BCE(D(y), 0.9) + BCE(D(G(x)), 0.1))."""
    return 0.5 * (adversarial_loss(real_logits, REAL_LABEL) + adversarial_loss(fake_logits, FAKE_LABEL))
