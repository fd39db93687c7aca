"""Output adjustment: shrink toward the mean colour, the water guard, and the generator wrapper."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import torch
from skimage.color import lab2rgb, rgb2lab
from synthetic import write_raster
from torch import nn

from sargeo.checkpoint import Checkpoint, load_checkpoint
from sargeo.model import Generator
from sargeo.postprocess import AdjustedGenerator, OutputAdjust, adjust_images, water_weight
from sargeo.scaling import SarScaling
from sargeo.scene import colorize

MEAN = (0.35, 0.38, 0.33)
DB = SarScaling()


def _unit(db: np.ndarray | float) -> torch.Tensor:
    return torch.as_tensor(DB.db_to_unit(np.asarray(db)))


def _lake_tile(size: int = 128, seed: int = 0) -> tuple[torch.Tensor, np.ndarray]:
    """SAR (1, 1, size, size) of speckled land at about -9 dB around a calm lake at -24 dB; lake mask."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    lake = np.hypot(yy - size / 2, xx - size / 3) < size / 5
    db = np.where(lake, -24.0, -9.0) + rng.normal(0, 2.0, (size, size))
    return _unit(db)[None, None], lake


class WhiteWater(nn.Module):
    """Stands for today's model: paints dark SAR white and land green, varying with the SAR."""

    width = 4

    def forward(self, sar: torch.Tensor) -> torch.Tensor:
        green = torch.cat([-0.6 + 0.2 * sar, -0.2 + 0.2 * sar, -0.7 + 0.1 * sar], dim=1)
        return torch.where(sar < -0.6, torch.full_like(green, 0.95), green)


def _lightness(rgb: torch.Tensor) -> np.ndarray:
    return rgb2lab((rgb[0].numpy().transpose(1, 2, 0) + 1) / 2)[..., 0]


def _far_from(mask: np.ndarray, pixels: int) -> np.ndarray:
    from scipy.ndimage import binary_dilation

    return ~binary_dilation(mask, iterations=pixels)


# --- OutputAdjust --------------------------------------------------------------------------------

def test_to_dict_holds_plain_values_and_round_trips():
    a = OutputAdjust(mean_rgb=MEAN, lightness=0.8, chroma=0.5, water_guard=True)
    d = a.to_dict()
    assert d == {"mean_rgb": list(MEAN), "lightness": 0.8, "chroma": 0.5, "water_guard": True}
    assert OutputAdjust.from_dict(d) == a
    assert OutputAdjust.from_dict({"mean_rgb": [0, 1, 0.5]}) == OutputAdjust(mean_rgb=(0.0, 1.0, 0.5))


@pytest.mark.parametrize(("fields", "message"), [
    ({"mean_rgb": (0.2, 0.3)}, "mean_rgb must be three numbers in"),
    ({"mean_rgb": (0.2, 0.3, 1.2)}, "mean_rgb must be three numbers in"),
    ({"mean_rgb": "abc"}, "mean_rgb must be three numbers in"),
    ({"mean_rgb": (0.2, float("nan"), 0.3)}, "mean_rgb must be a finite number"),
    ({"mean_rgb": MEAN, "lightness": -0.1}, r"lightness factor must be in \[0, 1.5\]"),
    ({"mean_rgb": MEAN, "chroma": 1.6}, r"chroma factor must be in \[0, 1.5\]"),
    ({"mean_rgb": MEAN, "chroma": float("inf")}, "chroma must be a finite number"),
    ({"mean_rgb": MEAN, "lightness": "1"}, "lightness must be a finite number"),
    ({"mean_rgb": MEAN, "water_guard": 1}, "water_guard must be true or false"),
])
def test_invalid_values_are_refused_by_name(fields, message):
    with pytest.raises(ValueError, match=message):
        OutputAdjust(**fields)


def test_from_dict_refuses_unknown_and_missing_fields():
    with pytest.raises(ValueError, match="unknown field.*saturation"):
        OutputAdjust.from_dict({"mean_rgb": list(MEAN), "saturation": 1.0})
    with pytest.raises(ValueError, match="no mean_rgb"):
        OutputAdjust.from_dict({"lightness": 1.0})


# --- shrink toward the mean colour ---------------------------------------------------------------

def test_unit_factors_leave_images_unchanged():
    rgb = torch.rand(3, 3, 32, 32) * 2 - 1
    out = adjust_images(rgb, torch.zeros(3, 1, 32, 32), OutputAdjust(mean_rgb=MEAN))
    torch.testing.assert_close(out, rgb, atol=1e-4, rtol=0)


def test_zero_factors_give_the_flat_mean_colour():
    rgb = torch.rand(2, 3, 16, 16) * 2 - 1
    out = adjust_images(rgb, torch.zeros(2, 1, 16, 16), OutputAdjust(mean_rgb=MEAN, lightness=0, chroma=0))
    want = torch.tensor(MEAN).view(1, 3, 1, 1) * 2 - 1
    assert (out - want).abs().max().item() < 2 / 255  # 1/255 on the [0, 1] scale


def test_factors_scale_the_lab_distance_to_the_mean():
    """Reference computed with scikit-image: L and (a, b) moved toward the mean by their own factors."""
    img = np.random.default_rng(2).random((12, 10, 3))
    lab, mean_lab = rgb2lab(img), rgb2lab(np.array([[MEAN]]))[0, 0]
    want = mean_lab + np.array([0.5, 0.3, 0.3]) * (lab - mean_lab)
    adjust = OutputAdjust(mean_rgb=MEAN, lightness=0.5, chroma=0.3)
    out = adjust_images(torch.from_numpy(img.transpose(2, 0, 1)[None]).float() * 2 - 1,
                        torch.zeros(1, 1, 12, 10), adjust)
    np.testing.assert_allclose((out[0].numpy().transpose(1, 2, 0) + 1) / 2, lab2rgb(want), atol=1e-3)


# --- water guard ---------------------------------------------------------------------------------

def test_water_weight_follows_the_minus_20_db_threshold_in_the_given_window():
    for window in (SarScaling(), SarScaling(-30.0, 5.0)):
        w = water_weight(torch.as_tensor(window.db_to_unit(np.full((1, 1, 20, 20), -23.0))), window)
        land = water_weight(torch.as_tensor(window.db_to_unit(np.full((1, 1, 20, 20), -17.0))), window)
        assert w.min() > 0.99 and land.max() < 0.01


def test_water_weight_is_a_box_mean_then_a_max_filter_with_reflected_edges():
    """Against scipy's filters: mean over 9 x 9 (reflected borders), sigmoid, max over 9 x 9."""
    from scipy import ndimage

    rng = np.random.default_rng(3)
    db = rng.normal(-14, 3, (2, 1, 40, 50))
    db[:, :, 5:30, :20] -= 10  # a lake
    w = water_weight(_unit(db).float(), DB).numpy()
    unit = DB.db_to_unit(db).astype(np.float64)
    smooth = ndimage.uniform_filter(unit, size=(1, 1, 9, 9), mode="mirror")
    per_db = 2 / (DB.db_max - DB.db_min)
    soft = 1 / (1 + np.exp(-(((-20 - DB.db_min) * per_db - 1) - smooth) / (0.5 * per_db)))
    expected = ndimage.maximum_filter(soft, size=(1, 1, 9, 9), mode="nearest")
    assert w.shape == db.shape and np.abs(w - expected).max() < 1e-5
    assert 0.05 < (w > 0.5).mean() < 0.95  # both water and land present


@pytest.mark.parametrize("factors", [(1.0, 1.0), (0.5, 0.4)])
def test_water_guard_darkens_a_lake_painted_white_and_leaves_far_land_alone(factors):
    sar, lake = _lake_tile()
    gen = WhiteWater()
    raw = gen(sar)
    assert _lightness(raw)[lake].mean() > _lightness(raw)[~lake].mean() + 20  # the failure it fixes
    adjust = OutputAdjust(mean_rgb=MEAN, lightness=factors[0], chroma=factors[1], water_guard=True)
    out = adjust_images(raw, sar, adjust)
    L = _lightness(out)
    assert L[lake].mean() < L[~lake].mean() - 2, (L[lake].mean(), L[~lake].mean())
    unguarded = adjust_images(raw, sar, OutputAdjust(mean_rgb=MEAN, lightness=factors[0], chroma=factors[1]))
    far = torch.from_numpy(_far_from(lake, 12))
    torch.testing.assert_close(out[0][:, far], unguarded[0][:, far], atol=1e-4, rtol=0)


def test_water_guard_leaves_an_all_dark_tile_alone():
    """Open sea or a dark desert: no land in the tile to compare with, so no guard."""
    rng = np.random.default_rng(3)
    sar = _unit(-23.0 + rng.normal(0, 1.5, (1, 1, 64, 64)))
    raw = WhiteWater()(sar)
    out = adjust_images(raw, sar, OutputAdjust(mean_rgb=MEAN, water_guard=True))
    torch.testing.assert_close(out, raw, atol=1e-4, rtol=0)


def test_water_guard_works_per_tile_in_a_batch():
    lake_sar, _ = _lake_tile(64)
    dark = _unit(np.full((1, 1, 64, 64), -23.0))
    bright = _unit(np.full((1, 1, 64, 64), -5.0))
    batch = torch.cat([dark, lake_sar, bright])
    adjust = OutputAdjust(mean_rgb=MEAN, water_guard=True)
    gen = WhiteWater()
    together = adjust_images(gen(batch), batch, adjust)
    for i in range(3):
        alone = adjust_images(gen(batch[i:i + 1]), batch[i:i + 1], adjust)
        torch.testing.assert_close(together[i:i + 1], alone, atol=1e-5, rtol=0)


# --- AdjustedGenerator ---------------------------------------------------------------------------

def test_adjusted_generator_behaves_like_the_generator_it_wraps():
    torch.manual_seed(0)
    gen = Generator(width=4)
    adjust = OutputAdjust(mean_rgb=MEAN, lightness=0.7, chroma=0.6, water_guard=True)
    wrapped = AdjustedGenerator(gen, adjust)
    assert wrapped.width == 4 and wrapped.input_norm == "none"
    assert wrapped.state_dict().keys() == gen.state_dict().keys()
    other = Generator(width=4)
    wrapped.load_state_dict(other.state_dict())
    torch.testing.assert_close(gen.state_dict(), other.state_dict())
    model = wrapped.to("cpu").eval().to(memory_format=torch.channels_last)
    assert model is wrapped and not gen.training
    assert gen.downs[1][0].weight.is_contiguous(memory_format=torch.channels_last)
    x, _ = _lake_tile(256)
    with torch.no_grad():
        torch.testing.assert_close(model(x), adjust_images(gen(x), x, adjust))


def test_engine_applies_the_adjustment_of_a_checkpoint(tmp_path, tiny_checkpoint):
    """One 256 x 256 tile, so the scene is exactly one model call and no blending."""
    rng = np.random.default_rng(4)
    db = np.where(np.arange(256)[None, :] < 90, -24.0, -8.0) + rng.normal(0, 2.0, (256, 256))
    src = write_raster(tmp_path / "in.tif", db[None].astype(np.float32), crs="EPSG:32631")
    plain = load_checkpoint(tiny_checkpoint)
    adjust = OutputAdjust(mean_rgb=MEAN, lightness=0.6, chroma=0.3, water_guard=True)
    adjusted = Checkpoint(generator=plain.generator, scaling=plain.scaling, adjust=adjust)
    out = {}
    for name, ckpt in (("plain", plain), ("adjusted", adjusted)):
        colorize(src, tmp_path / f"{name}.tif", ckpt, device="cpu", scale="db")
        with rasterio.open(tmp_path / f"{name}.tif") as ds:
            out[name] = ds.read((1, 2, 3)).astype(np.float32)
    sar = torch.as_tensor(plain.scaling.db_to_unit(db.astype(np.float32)))[None, None]
    want = adjust_images(torch.from_numpy(out["plain"])[None] / 127.5 - 1, sar, adjust, plain.scaling)
    want = np.rint((want[0].numpy() + 1) * 127.5)
    assert np.abs(out["adjusted"] - want).max() <= 2
    assert np.abs(out["adjusted"] - out["plain"]).max() > 20  # the adjustment really did something


def test_engine_with_zero_factors_paints_the_mean_colour_where_valid(tmp_path, tiny_checkpoint):
    db = -12 + 4 * np.random.default_rng(5).standard_normal((300, 420))
    db[:, :40] = -9999.0
    src = write_raster(tmp_path / "in.tif", db[None].astype(np.float32), crs="EPSG:32631", nodata=-9999.0)
    ckpt = load_checkpoint(tiny_checkpoint)
    flat = Checkpoint(generator=ckpt.generator, adjust=OutputAdjust(mean_rgb=MEAN, lightness=0, chroma=0))
    colorize(src, tmp_path / "out.tif", flat, device="cpu", overlap=32)
    with rasterio.open(tmp_path / "out.tif") as ds:
        rgb, alpha = ds.read((1, 2, 3)), ds.read(4)
    valid = alpha == 255
    assert valid[:, 40:].all() and not valid[:, :40].any()
    want = np.rint(np.array(MEAN) * 255)[:, None]
    assert np.abs(rgb[:, valid] - want).max() <= 1


def test_lightness_only_adjustment_equals_the_full_lab_path():
    """chroma 0 converts only L*; a hair above 0 takes the full CIELAB round trip: same colours."""
    torch.manual_seed(0)
    rgb = torch.rand(2, 3, 40, 50) * 2 - 1
    sar = _unit(np.full((2, 1, 40, 50), -12.0)).float()
    sar[:, :, 5:25, 5:25] = _unit(-24.0)  # a lake, so the guard acts on L*
    fast = adjust_images(rgb, sar, OutputAdjust(MEAN, 0.25, 0.0, True))
    full = adjust_images(rgb, sar, OutputAdjust(MEAN, 0.25, 1e-9, True))
    assert (fast - full).abs().max() < 1e-4
    assert fast.std() > 0.01  # lightness structure is kept, not a flat colour
