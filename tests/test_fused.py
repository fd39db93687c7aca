"""The inference rewrite of the generator computes the trained network's function."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from sargeo import fused
from sargeo.fused import PhaseHead, SmallInputDeconv, inference_net
from sargeo.model import Generator, init_weights
from sargeo.postprocess import AdjustedGenerator, OutputAdjust


def _trained_like(width: int, **kwargs) -> Generator:
    """A generator whose BatchNorms hold non-trivial running statistics, as after training."""
    torch.manual_seed(width)
    gen = Generator(width=width, **kwargs)
    init_weights(gen)
    for m in gen.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.3, 0.3)
            m.running_var.uniform_(0.5, 2.0)
            m.bias.data.uniform_(-0.2, 0.2)
    return gen.eval()


@pytest.mark.parametrize(("width", "mix_first"), [(8, False), (32, True)])
def test_fused_generator_matches_the_trained_one(width, mix_first):
    gen = _trained_like(width)
    fast = inference_net(gen).to(memory_format=torch.channels_last)  # as the tile runner holds it
    assert isinstance(fast.head, PhaseHead) and fast.head.mix_first is mix_first
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fast.modules())
    x = (torch.rand(2, 1, 256, 256) * 2 - 1).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        expected, got = gen(x), fast(x)
    # float rounding only: a thousand times below one 8-bit step (2 / 255), and far below the
    # spread of the output itself (so a head that ignored its input would fail)
    diff = (got - expected).abs().max()
    assert diff < 1e-5 and expected.std() > 1000 * diff


def test_original_generator_is_left_as_trained():
    gen = _trained_like(8)
    before = {k: v.clone() for k, v in gen.state_dict().items()}
    # the copy starts on the model's weight memory: converting it, as TileRunner does, must
    # give it tensors of its own
    inference_net(gen).to(memory_format=torch.channels_last).to(torch.float64)
    after = gen.state_dict()
    assert all(p.dtype == torch.float32 and p.is_contiguous() for p in gen.parameters())
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    assert any(isinstance(m, nn.BatchNorm2d) for m in gen.modules())


def test_adjusted_and_tile_normalised_generators_keep_their_output():
    gen = _trained_like(8, input_norm="tile")
    adjusted = AdjustedGenerator(gen, OutputAdjust((0.3, 0.4, 0.3), 0.25, 0.0, True)).eval()
    fast = inference_net(adjusted)
    assert isinstance(fast, AdjustedGenerator) and fast.adjust == adjusted.adjust
    x = torch.rand(2, 1, 256, 256) * 2 - 1
    x[0, :, 40:160, 60:200] = -0.95  # a calm lake, so the water guard acts
    with torch.inference_mode():
        assert (fast(x) - adjusted(x)).abs().max() < 1e-4


def test_unfamiliar_head_is_kept():
    gen = _trained_like(8)
    gen.head[1] = nn.ZeroPad2d((1, 2, 1, 2))
    fast = inference_net(gen)
    assert isinstance(fast.head, nn.Sequential)
    x = torch.rand(1, 1, 256, 256) * 2 - 1
    with torch.inference_mode():
        assert (fast(x) - gen(x)).abs().max() < 1e-5


@pytest.mark.parametrize("matmul", [True, False])
@pytest.mark.parametrize("size", [1, 2, 3, 8, 9, 16])
def test_small_input_deconvolution_is_the_transposed_convolution(size, matmul, monkeypatch):
    """Matrix multiply + col2im, or oneDNN with the weight kept as a matrix: the same values, also
    after the model is made channels-last (which must not reach the matrix)."""
    monkeypatch.setattr(fused, "MATMUL_WEIGHTS_PER_PIXEL", 0 if matmul else 10**12)
    torch.manual_seed(size)
    deconv = nn.ConvTranspose2d(24, 10, 4, stride=2, padding=1).eval()
    x = torch.randn(3, 24, size, size).contiguous(memory_format=torch.channels_last)
    small = SmallInputDeconv(deconv).to(memory_format=torch.channels_last)
    with torch.inference_mode():
        expected, got = deconv(x), small(x)
    assert got.shape == expected.shape == (3, 10, 2 * size, 2 * size)
    assert (got - expected).abs().max() < 1e-5 and expected.std() > 0.1


@pytest.mark.parametrize("mix_first", [False, True])
@pytest.mark.parametrize(("h", "w"), [(1, 1), (1, 5), (2, 2), (3, 7), (4, 4), (9, 6), (128, 128)])
def test_phase_head_is_upsample_pad_conv_tanh(mix_first, h, w):
    """Every output pixel, borders and corners included, at sizes from one input pixel up."""
    torch.manual_seed(h * 100 + w)
    cin = 64 if mix_first else 12
    conv = nn.Conv2d(cin, 3, 4)
    reference = nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear"), nn.ZeroPad2d((2, 1, 2, 1)), conv,
                              nn.Tanh()).eval()
    head = PhaseHead(conv)
    assert head.mix_first is mix_first
    x = torch.randn(2, cin, h, w) * 0.5
    with torch.inference_mode():
        expected, got = reference(x), head(x)
    assert got.shape == expected.shape == (2, 3, 2 * h, 2 * w)
    assert (got - expected).abs().max() < 1e-5 and expected.std() > 0.05
