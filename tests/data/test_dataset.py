from __future__ import annotations

import numpy as np
import pytest
import torch

from sargeo.data import Pair, PairDataset, discover_pairs, load_pair


def _png_pair(fake, tmp_path, size: int = 32) -> Pair:
    s1, s2 = tmp_path / "s1" / "a.png", tmp_path / "s2" / "a.png"
    fake.png_pair(s1, s2, size=size)
    return Pair(s1, s2, "scene", "agri", "png")


def test_png_values_follow_uint8_scaling(fake, tmp_path):
    s1, s2 = tmp_path / "s1.png", tmp_path / "s2.png"
    fake.png(s1, np.array([[0, 255], [51, 204]], np.uint8))
    fake.png(s2, np.stack([np.full((2, 2), v, np.uint8) for v in (0, 127, 255)], axis=-1))
    sar, rgb = load_pair(Pair(s1, s2, "s", "agri", "png"), size=2)
    assert sar.dtype == rgb.dtype == np.float32
    np.testing.assert_allclose(sar, [[-1.0, 1.0], [-0.6, 0.6]], atol=1e-6)
    np.testing.assert_allclose(rgb[:, 0, 0], [-1.0, 127 / 127.5 - 1, 1.0], atol=1e-6)


def test_png_is_resized_bilinearly(fake, tmp_path):
    sar, rgb = load_pair(_png_pair(fake, tmp_path, size=32), size=64)
    assert sar.shape == (64, 64) and rgb.shape == (3, 64, 64)
    # upsampling keeps the pixel-wise relation G = -R of the fixture
    np.testing.assert_allclose(rgb[1], -rgb[0], atol=1e-5)
    small, _ = load_pair(_png_pair(fake, tmp_path, size=32), size=16)
    assert small.shape == (16, 16) and -1 <= small.min() and small.max() <= 1


def test_sen12ms_known_db_maps_to_unit(fake, tmp_path):
    vv = np.full((16, 16), -12.5, np.float32)
    vv[0, 0] = np.nan
    vv[0, 1] = 5.0
    vv[0, 2] = -40.0
    s1 = fake.tif(tmp_path / "s1" / "x.tif", np.stack([vv, np.full_like(vv, 3.0)]))
    s2 = fake.s2_tif(tmp_path / "s2" / "x.tif")
    sar, rgb = load_pair(Pair(s1, s2, "x", "unknown", "sen12ms"), size=16)
    # -12.5 dB is the middle of the SEN1-2 window [-25, 0]: 0.0; VH (3 dB -> 1.0) is ignored
    assert sar[5, 5] == pytest.approx(0.0, abs=1e-6)
    assert sar[0, :3].tolist() == [-1.0, 1.0, -1.0]
    # bands 4, 3, 2 hold 400, 300, 200 (x10000 reflectance): x / 3000 * 2 - 1
    np.testing.assert_allclose(rgb[:, 0, 0], [400 / 1500 - 1, 300 / 1500 - 1, 200 / 1500 - 1],
                               atol=1e-6)
    assert sar.shape == (16, 16) and rgb.shape == (3, 16, 16)


def test_bigearthnet_reads_vv_and_b04_b03_b02(fake, tmp_path):
    s1, s2 = fake.ben_pair(tmp_path, "S1A_X_1_1", "S2A_X_1_1", size=12)
    sar, rgb = load_pair(Pair(s1, s2, "S1A_X", "unknown", "bigearthnet"), size=24)
    assert sar.shape == (24, 24) and rgb.shape == (3, 24, 24)
    np.testing.assert_allclose(sar, 0.0, atol=1e-6)
    np.testing.assert_allclose(rgb.mean(axis=(1, 2)), [2700 / 1500 - 1, 1500 / 1500 - 1,
                                                       300 / 1500 - 1], atol=1e-5)


def test_dataset_tensors(fake, tmp_path):
    data = PairDataset([_png_pair(fake, tmp_path, size=32)] * 3, size=48)
    assert len(data) == 3
    x, y = data[2]
    assert x.shape == (1, 48, 48) and y.shape == (3, 48, 48)
    assert x.dtype == y.dtype == torch.float32
    assert -1 <= x.min() and x.max() <= 1 and -1 <= y.min() and y.max() <= 1


def test_augmentation_keeps_sar_and_rgb_aligned(fake, tmp_path):
    torch.manual_seed(0)
    pair = _png_pair(fake, tmp_path, size=16)
    plain_x, _ = PairDataset([pair], size=16)[0]
    data = PairDataset([pair], size=16, augment=True)
    seen = set()
    for _ in range(64):
        x, y = data[0]
        # RGB was built from SAR pixel by pixel (R = SAR, G = -SAR, B = SAR)
        torch.testing.assert_close(y[0], x[0])
        torch.testing.assert_close(y[1], -x[0])
        torch.testing.assert_close(y[2], x[0])
        seen.add(x.numpy().tobytes())
    # all 8 flips/rotations of an asymmetric patch show up, the identity among them
    assert len(seen) == 8 and plain_x.numpy().tobytes() in seen


def test_real_pairs_load_in_range(shared_data):
    pairs = [*discover_pairs(shared_data / "sen12_pairs").pairs[:2],
             *discover_pairs(shared_data / "s1s2_tif_pairs").pairs]
    assert {p.fmt for p in pairs} == {"png", "sen12ms", "bigearthnet"}
    for pair in pairs:
        sar, rgb = load_pair(pair)
        assert sar.shape == (256, 256) and rgb.shape == (3, 256, 256), pair.name
        assert np.isfinite(sar).all() and np.isfinite(rgb).all()
        assert sar.min() >= -1 and sar.max() <= 1 and rgb.min() >= -1 and rgb.max() <= 1
        assert sar.std() > 0.01 and rgb.std() > 0.001, pair.name


def test_sar_jitter_shifts_the_whole_patch_by_one_offset_within_bounds(tmp_path):
    import numpy as np
    from PIL import Image

    from sargeo.data import PairDataset, discover_pairs

    (tmp_path / "s1").mkdir()
    (tmp_path / "s2").mkdir()
    sar = np.full((256, 256), 128, np.uint8)
    sar[:, :128] = 100
    Image.fromarray(sar, "L").save(tmp_path / "s1" / "ROIs1_fall_s1_1_p1.png")
    Image.fromarray(np.zeros((256, 256, 3), np.uint8), "RGB").save(tmp_path / "s2" / "ROIs1_fall_s2_1_p1.png")
    pairs = discover_pairs(tmp_path).pairs
    plain = PairDataset(pairs)[0][0]
    shifts = []
    for _ in range(20):
        x = PairDataset(pairs, sar_jitter_db=5.0)[0][0]
        shift = x - plain
        assert torch.allclose(shift, shift.flatten()[0].expand_as(shift), atol=1e-6)
        shifts.append(shift.flatten()[0].item())
    assert max(abs(s) for s in shifts) <= 2 * 5.0 / 25 + 1e-6
    assert len({round(s, 4) for s in shifts}) > 10
