"""Metrics against closed-form values and direct scikit-image computations."""

import math

import numpy as np
import pytest
import torch
import torchvision
from skimage.color import deltaE_ciede2000, rgb2lab
from skimage.metrics import structural_similarity

from sargeo import metrics

RED, GREEN = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0)


def solid(colour, h=8, w=8):
    return np.broadcast_to(np.asarray(colour, dtype=np.float64), (h, w, 3)).copy()


@pytest.fixture
def image():
    return np.random.default_rng(0).uniform(0.2, 0.8, size=(32, 32, 3))


@pytest.fixture
def no_download(monkeypatch):
    """Any attempt to fetch weights from the internet fails the test instead of hanging."""

    def refuse(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)


def test_psnr_identical_is_inf(image):
    assert metrics.psnr(image, image.copy()) == math.inf


def test_psnr_constant_offset_is_20_db(image):
    assert metrics.psnr(image + 0.1, image) == pytest.approx(20.0)


def test_psnr_matches_mse_formula_on_noise(image):
    noisy = np.clip(image + np.random.default_rng(1).normal(0, 0.05, image.shape), 0, 1)
    mse = np.mean((noisy - image) ** 2)
    assert metrics.psnr(noisy, image) == pytest.approx(10 * math.log10(1.0 / mse))


def test_ssim_identical_is_one_and_drops_with_noise(image):
    rng = np.random.default_rng(2)
    mild = np.clip(image + rng.normal(0, 0.02, image.shape), 0, 1)
    strong = np.clip(image + rng.normal(0, 0.2, image.shape), 0, 1)
    assert metrics.ssim(image, image) == pytest.approx(1.0)
    assert 1.0 > metrics.ssim(mild, image) > metrics.ssim(strong, image)


def test_ssim_is_the_channel_mean_with_the_papers_7x7_window(image):
    noisy = np.clip(image + np.random.default_rng(4).normal(0, 0.1, image.shape), 0, 1)
    per_channel = [
        structural_similarity(image[..., c], noisy[..., c], data_range=1.0, win_size=7)
        for c in range(3)
    ]
    assert metrics.ssim(noisy, image) == pytest.approx(np.mean(per_channel))


def test_ciede2000_zero_for_identical(image):
    assert metrics.ciede2000(image, image) == pytest.approx(0.0, abs=1e-9)


def test_ciede2000_red_vs_green_matches_single_lab_value():
    expected = deltaE_ciede2000(rgb2lab(np.array([[RED]])), rgb2lab(np.array([[GREEN]])))[0, 0]
    got = metrics.ciede2000(solid(RED), solid(GREEN))
    assert expected > 50  # a large, clearly visible difference
    assert got == pytest.approx(expected)


def test_ciede2000_is_the_mean_over_pixels():
    pred, target = solid(RED), solid(RED)
    target[:4] = GREEN  # half the pixels differ
    single = metrics.ciede2000(solid(RED), solid(GREEN))
    assert metrics.ciede2000(pred, target) == pytest.approx(single / 2)


def test_sam_identical_and_scaled_are_zero(image):
    assert metrics.sam(image, image) == pytest.approx(0.0, abs=1e-6)
    assert metrics.sam(0.5 * image, image) == pytest.approx(0.0, abs=1e-5)


def test_sam_orthogonal_colours_are_90_degrees():
    assert metrics.sam(solid(RED), solid(GREEN)) == pytest.approx(90.0)


def test_sam_known_45_degree_angle():
    assert metrics.sam(solid((1.0, 1.0, 0.0)), solid(RED)) == pytest.approx(45.0)


def test_sam_black_pixels_both_zero_count_0_one_zero_counts_90():
    black = solid((0.0, 0.0, 0.0))
    assert metrics.sam(black, black) == 0.0
    assert metrics.sam(black, solid(RED)) == pytest.approx(90.0)
    pred = solid(RED)
    pred[:4] = 0.0  # half black where the target is black too, half correct red
    target = pred.copy()
    target[:2, :] = RED  # a quarter of pixels: prediction black, target red
    assert metrics.sam(pred, target) == pytest.approx(90.0 / 4)


@pytest.mark.parametrize("fn", [metrics.psnr, metrics.ssim, metrics.ciede2000, metrics.sam])
def test_metrics_reject_mismatched_shapes(fn):
    with pytest.raises(ValueError, match="HxWx3"):
        fn(solid(RED, 8, 8), solid(RED, 8, 9))


def test_every_metric_computed_is_shown_with_its_direction(image):
    from sargeo.report import METRICS

    higher = {name for name, info in METRICS.items() if info.higher_is_better}
    assert higher == {"psnr", "ssim"}
    assert set(METRICS) == {*metrics.compute_all(np.clip(image + 0.05, 0, 1), image, None), "lpips"}


def test_compute_all_without_lpips(image):
    noisy = np.clip(image + 0.05, 0, 1)
    out = metrics.compute_all(noisy, image, None)
    assert set(out) == {"psnr", "ssim", "ciede2000", "sam"}
    assert out["psnr"] == metrics.psnr(noisy, image)
    assert out["sam"] == metrics.sam(noisy, image)


def test_lpips_missing_weights_raises_with_path(tmp_path, monkeypatch, no_download):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    expected = tmp_path / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth"
    assert metrics.alexnet_weights_path() == expected
    with pytest.raises(metrics.LpipsUnavailable) as err:
        metrics.Lpips()
    assert str(expected) in str(err.value)
    assert "IMAGENET1K_V1" in str(err.value)


def test_lpips_loads_backbone_from_hub_cache(tmp_path, monkeypatch, no_download):
    """A stand-in weights file in the cache is what ends up in the backbone (no download)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    state = torchvision.models.alexnet(weights=None).state_dict()
    metrics.alexnet_weights_path().parent.mkdir(parents=True)
    torch.save(state, metrics.alexnet_weights_path())
    lp = metrics.Lpips()
    assert lp.label == "LPIPS"
    assert torch.equal(lp.model.net.slice1[0].weight, state["features.0.weight"])
    assert not lp.model.training


def test_lpips_feeds_nchw_in_minus_one_to_one():
    """Wiring only: the numpy -> tensor conversion lpips relies on."""
    lp = metrics.Lpips(untrained_backbone=True)
    seen = []

    def record(a, b):
        seen.extend([a, b])
        return torch.full((1, 1, 1, 1), 0.25)

    lp.model = record
    pred, target = solid(RED, 5, 7), solid((0.5, 0.5, 0.5), 5, 7)
    assert lp(pred, target) == 0.25
    assert seen[0].shape == (1, 3, 5, 7)
    assert seen[0][0, :, 0, 0].tolist() == [1.0, -1.0, -1.0]
    assert seen[1].unique().tolist() == [0.0]


def test_lpips_untrained_backbone_wiring_only(image):
    """Wiring test with a random AlexNet: its values carry no perceptual meaning."""
    torch.manual_seed(0)
    lp = metrics.Lpips(untrained_backbone=True)
    assert "untrained" in lp.label and "wiring test only" in lp.label
    other = np.random.default_rng(3).random(image.shape)
    assert lp(image, image) == pytest.approx(0.0, abs=1e-7)
    assert lp(other, image) > 0.0
    out = metrics.compute_all(other, image, lp)
    assert out["lpips"] == pytest.approx(lp(other, image))
