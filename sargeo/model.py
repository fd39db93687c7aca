"""The paper's U-Net generator and PatchGAN discriminator (pix2pix family).

``width`` scales every channel count, so width 64 is the paper's 54.4 M-parameter
generator and widths 8-32 give compact CPU variants with the same topology.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from sargeo.scaling import unit_to_image

#: Channel multipliers of the 8 encoder blocks (pix2pix / paper layout).
DOWN_MULT = (1, 2, 4, 8, 8, 8, 8, 8)
#: Channel multipliers of the 7 decoder blocks.
UP_MULT = (8, 8, 8, 8, 4, 2, 1)


def _down(cin: int, cout: int, norm: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 4, stride=2, padding=1, bias=not norm)]
    if norm:
        layers.append(nn.BatchNorm2d(cout))
    layers.append(nn.LeakyReLU(0.2))
    return nn.Sequential(*layers)


def _up(cin: int, cout: int, dropout: float = 0.0) -> nn.Sequential:
    layers: list[nn.Module] = [nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1, bias=False),
                               nn.BatchNorm2d(cout)]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.ReLU())
    return nn.Sequential(*layers)


#: Decoder blocks that get dropout when it is asked for (as in pix2pix: the three innermost).
DROPOUT_BLOCKS = 3
#: How the generator normalises its SAR input: "none" (as given) or "tile" (per-sample standardised).
INPUT_NORMS = ("none", "tile")
#: Added to a tile's standard deviation so flat tiles (calm sea, fill values) are not blown up.
TILE_STD_FLOOR = 0.05


class Generator(nn.Module):
    """U-Net: 8 down blocks, 7 up blocks with skips, upsample + pad + conv4x4 + tanh.

    ``dropout`` (0 in the paper) regularises the innermost decoder blocks during training only;
    it has no weights, so checkpoints load with or without it. ``input_norm="tile"`` standardises
    each sample's SAR over its pixels before the first convolution, so the net sees texture and
    contrast rather than the scene's absolute backscatter level, which a model can use as a
    shortcut; it has no weights either.
    """

    def __init__(self, width: int = 64, in_channels: int = 1, out_channels: int = 3,
                 dropout: float = 0.0, input_norm: str = "none") -> None:
        super().__init__()
        if input_norm not in INPUT_NORMS:
            raise ValueError(f"unknown input_norm {input_norm!r} (expected one of {', '.join(INPUT_NORMS)})")
        self.width = width
        self.input_norm = input_norm
        downs, cin = [], in_channels
        for i, m in enumerate(DOWN_MULT):
            downs.append(_down(cin, width * m, norm=i > 0))
            cin = width * m
        self.downs = nn.ModuleList(downs)
        ups = []
        for i, m in enumerate(UP_MULT):
            skip = width * DOWN_MULT[-2 - i]
            ups.append(_up(cin, width * m, dropout if i < DROPOUT_BLOCKS else 0.0))
            cin = width * m + skip
        self.ups = nn.ModuleList(ups)
        self.head = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
            nn.ZeroPad2d((2, 1, 2, 1)),
            nn.Conv2d(cin, out_channels, 4),
            nn.Tanh(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.input_norm == "tile":
            std, mean = torch.std_mean(x, dim=(2, 3), correction=0, keepdim=True)
            x = (x - mean) / (std + TILE_STD_FLOOR) * 0.5
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
        for up, skip in zip(self.ups, reversed(skips[:-1]), strict=True):
            x = torch.cat([up(x), skip], dim=1)
        return self.head(x)


class Discriminator(nn.Module):
    """PatchGAN on concatenated SAR + RGB; a 256x256 pair gives a 30x30 logit map."""

    def __init__(self, width: int = 64, in_channels: int = 4) -> None:
        super().__init__()
        self.width = width
        self.net = nn.Sequential(
            _down(in_channels, width, norm=False),
            _down(width, width * 2),
            _down(width * 2, width * 4),
            nn.ZeroPad2d(1),
            nn.Conv2d(width * 4, width * 8, 4, bias=False),
            nn.BatchNorm2d(width * 8),
            nn.LeakyReLU(0.2),
            nn.ZeroPad2d(1),
            nn.Conv2d(width * 8, 1, 4),
        )

    def forward(self, sar: torch.Tensor, rgb: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([sar, rgb], dim=1))


def init_weights(module: nn.Module, std: float = 0.02) -> None:
    """Paper init: conv weights N(0, 0.02); BatchNorm scale N(1, 0.02), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def gflops_per_tile(gen: Generator, size: int = 256) -> float:
    """Multiply-adds x 2 of convolutions for one size x size tile, in GFLOPs (counted with hooks)."""
    total = 0

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.ConvTranspose2d):  # each input pixel scatters a full kernel
            total += inputs[0].numel() * module.out_channels * module.kernel_size[0] * module.kernel_size[1]
        else:
            total += output.numel() * module.in_channels * module.kernel_size[0] * module.kernel_size[1]

    handles = [m.register_forward_hook(hook) for m in gen.modules()
               if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    try:
        with torch.no_grad():
            gen.eval()(torch.zeros(1, 1, size, size, device=next(gen.parameters()).device))
    finally:
        for h in handles:
            h.remove()
    return 2 * total / 1e9


def colorize_patch(gen: nn.Module, sar: np.ndarray, device: torch.device | str = "cpu") -> np.ndarray:
    """SAR patch in [-1, 1] (H, W) through the generator, as it is (train/eval) -> RGB (H, W, 3) in [0, 1]."""
    with torch.no_grad():
        out = gen(torch.from_numpy(sar)[None, None].to(device))[0].float().cpu().numpy()
    return unit_to_image(out)
