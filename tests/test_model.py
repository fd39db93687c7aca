"""Generator / discriminator shapes, sizes and batch independence."""

import pytest
import torch

from sargeo.model import Discriminator, Generator, count_parameters, init_weights


def test_paper_width_generator_has_54_4m_parameters():
    n = count_parameters(Generator(width=64))
    assert 54.3e6 < n < 54.5e6


def test_generator_maps_sar_to_rgb_in_tanh_range():
    g = Generator(width=4).eval()
    with torch.no_grad():
        y = g(torch.rand(2, 1, 256, 256) * 2 - 1)
    assert y.shape == (2, 3, 256, 256)
    assert y.min() >= -1 and y.max() <= 1


def test_width_scales_parameters_quadratically():
    small, big = count_parameters(Generator(width=8)), count_parameters(Generator(width=16))
    assert 3.5 < big / small < 4.1


def test_discriminator_gives_30x30_logit_map():
    d = Discriminator(width=8)
    out = d(torch.zeros(3, 1, 256, 256), torch.zeros(3, 3, 256, 256))
    assert out.shape == (3, 1, 30, 30)


def test_init_weights_draws_from_normal_0_002():
    g = Generator(width=16)
    init_weights(g)
    w = torch.cat([m.weight.flatten() for m in g.modules() if isinstance(m, torch.nn.Conv2d)])
    assert abs(w.mean().item()) < 1e-3
    assert w.std().item() == pytest.approx(0.02, rel=0.05)


def test_eval_output_of_a_tile_does_not_depend_on_its_batch():
    torch.manual_seed(0)
    g = Generator(width=8)
    init_weights(g)
    g.train()
    with torch.no_grad():  # give BatchNorm non-trivial running statistics
        for _ in range(3):
            g(torch.randn(4, 1, 256, 256))
    g.eval()
    tile = torch.randn(1, 1, 256, 256)
    others = torch.randn(7, 1, 256, 256) * 3
    with torch.no_grad():
        alone = g(tile)
        in_batch = g(torch.cat([others[:3], tile, others[3:]]))[3:4]
    torch.testing.assert_close(alone, in_batch, atol=1e-5, rtol=0)


def test_gflops_per_tile_counts_every_convolution():
    from sargeo.model import gflops_per_tile

    g = Generator(width=8)
    # first down block alone: 128*128 outputs x 8 channels x (1 * 4 * 4) MACs
    first = 2 * 128 * 128 * 8 * 16 / 1e9
    assert gflops_per_tile(g) > first
    # inner layers scale with width squared, the first layer and the full-resolution head linearly
    assert 3.0 < gflops_per_tile(Generator(width=16)) / gflops_per_tile(g) < 4.0


def test_dropout_acts_in_training_only_and_keeps_the_weights_layout():
    torch.manual_seed(0)
    g = Generator(width=4, dropout=0.5)
    x = torch.randn(2, 1, 256, 256)
    with torch.no_grad():
        g.train()
        assert not torch.equal(g(x), g(x))
        plain = Generator(width=4)
        plain.load_state_dict(g.state_dict())
        g.eval()
        plain.eval()
        torch.testing.assert_close(g(x), plain(x))


@pytest.mark.parametrize(("norm", "offset_changes_output"), [("tile", False), ("none", True)])
def test_tile_input_norm_ignores_the_scene_backscatter_level(norm, offset_changes_output):
    torch.manual_seed(0)
    g = Generator(width=4, input_norm=norm)
    init_weights(g)
    g.eval()
    x = torch.rand(2, 1, 256, 256) * 0.6 - 0.5  # [-0.5, 0.1]: +0.3 stays inside [-1, 1]
    with torch.no_grad():
        diff = (g(x + 0.3) - g(x)).abs().max().item()
    assert g.input_norm == norm
    assert (diff > 1e-3) if offset_changes_output else (diff < 1e-5)


def test_tile_input_norm_adds_no_weights_and_unknown_modes_are_refused():
    tile = Generator(width=4, input_norm="tile")
    assert tile.state_dict().keys() == Generator(width=4).state_dict().keys()
    Generator(width=4).load_state_dict(tile.state_dict())
    with pytest.raises(ValueError, match="unknown input_norm 'pixel'"):
        Generator(width=4, input_norm="pixel")
