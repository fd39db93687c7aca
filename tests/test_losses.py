"""Each loss term against inputs with known answers."""

import math

import numpy as np
import pytest
import torch
from skimage.color import rgb2lab

from sargeo import losses
from sargeo.colour import lightness


def test_lab_lightness_matches_scikit_image():
    rng = np.random.default_rng(0)
    img = rng.random((17, 23, 3))
    img[0, 0] = 0.0  # black, linear segment of f(t)
    img[0, 1] = 0.01
    img[0, 2] = 1.0
    ref = rgb2lab(img)[..., 0]
    t = torch.from_numpy(img.transpose(2, 0, 1)[None]).float() * 2 - 1
    got = lightness(t)[0, 0].numpy()
    np.testing.assert_allclose(got, ref, atol=2e-3)


def test_gradient_loss_zero_for_identical_and_for_constant_offset_free_shift():
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert losses.gradient_loss(x, x).item() == 0.0


def test_gradient_loss_known_value_for_a_vertical_step():
    # Target: flat grey; generated: top half black, bottom half white.
    real = torch.zeros(1, 3, 4, 4)
    fake = -torch.ones(1, 3, 4, 4)
    fake[:, :, 2:] = 1.0
    # L* jumps 0 -> 100 once per column between rows 1 and 2: 4 of 12 vertical diffs are 1.0.
    assert losses.gradient_loss(fake, real).item() == pytest.approx(4 / 12, abs=1e-5)


def test_adversarial_loss_is_bce_against_smoothed_label():
    logits = torch.tensor([0.0, 2.0])
    p = torch.sigmoid(logits)
    want = -(0.9 * torch.log(p) + 0.1 * torch.log(1 - p)).mean()
    assert losses.adversarial_loss(logits, losses.REAL_LABEL).item() == pytest.approx(want.item())


def test_generator_total_is_eq5_and_grad_term_can_be_ablated():
    fake_logits = torch.zeros(1, 1, 30, 30)
    real = torch.zeros(1, 3, 8, 8)
    fake = torch.full((1, 3, 8, 8), 0.5)
    fake[:, :, 4:] = -0.5
    out = losses.generator_loss(fake_logits, fake, real, lambda_l1=100, lambda_grad=100)
    adv = -(0.9 * math.log(0.5) + 0.1 * math.log(0.5))
    assert out["adv"].item() == pytest.approx(adv, rel=1e-5)
    assert out["l1"].item() == pytest.approx(0.5)
    assert out["grad"].item() > 0
    total = adv + 100 * 0.5 + 100 * out["grad"].item()
    assert out["total"].item() == pytest.approx(total, rel=1e-5)
    ablated = losses.generator_loss(fake_logits, fake, real, lambda_l1=100, lambda_grad=0)
    assert ablated["total"].item() == pytest.approx(adv + 50, rel=1e-5)


def test_discriminator_loss_is_eq6():
    real_logits, fake_logits = torch.full((1, 1, 2, 2), 3.0), torch.full((1, 1, 2, 2), -3.0)
    s = 1 / (1 + math.exp(-3))
    bce_real = -(0.9 * math.log(s) + 0.1 * math.log(1 - s))
    bce_fake = -(0.1 * math.log(1 - s) + 0.9 * math.log(s))
    got = losses.discriminator_loss(real_logits, fake_logits).item()
    assert got == pytest.approx(0.5 * (bce_real + bce_fake), rel=1e-5)


def test_adversarial_term_can_be_switched_off():
    real = torch.zeros(1, 3, 8, 8)
    fake = torch.full((1, 3, 8, 8), 0.25)
    out = losses.generator_loss(None, fake, real, lambda_l1=100, lambda_grad=100, lambda_adv=0)
    assert out["adv"].item() == 0.0
    assert out["total"].item() == pytest.approx(25.0)


def test_gradient_loss_has_finite_gradients_at_black_white_and_mid_grey():
    fake = torch.zeros(1, 3, 6, 6)
    fake[:, :, :2] = -1.0  # black and white: the clamped ends of the gamma and cube-root curves
    fake[:, :, 4:] = 1.0
    fake.requires_grad_()
    real = torch.rand(1, 3, 6, 6) * 2 - 1
    losses.gradient_loss(fake, real).backward()
    assert torch.isfinite(fake.grad).all()
    assert fake.grad.abs().sum() > 0


def test_lab_loss_space_takes_the_same_gradient_term_from_its_own_lab():
    torch.manual_seed(1)
    fake, real = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    lab = losses.generator_loss(None, fake, real, lambda_adv=0.0, space="lab")
    rgb = losses.generator_loss(None, fake, real, lambda_adv=0.0, space="rgb")
    assert lab["grad"].item() == pytest.approx(losses.gradient_loss(fake, real).item(), rel=1e-5)
    assert lab["grad"].item() == pytest.approx(rgb["grad"].item(), rel=1e-5) and lab["grad"] > 0.01
    assert losses.generator_loss(None, fake, real, lambda_adv=0.0, lambda_grad=0.0, space="lab")["grad"] == 0
