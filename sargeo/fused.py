"""The generator rewritten for inference: the same function with fewer passes over memory.

On a CPU the paper-width generator spent a third of its time in its head, which
upsamples 2 * width channels to full tile size, zero-pads them and convolves them down
to 3 channels: two full-size copies of a wide tensor for 6 % of the FLOPs. Since the
head's convolution is linear in the channels and upsampling and padding act on each
channel alone, the channels can be mixed first, at half resolution, into one map per
output colour and kernel tap (3 x 16); only those are upsampled, and a fixed one-hot
grouped convolution adds the taps up. Narrow heads (no more channels than taps) just
take the padding into the convolution. BatchNorm is folded into the convolution before
it. On a CPU the decoder's innermost transposed convolutions (inputs of 1 x 1 to 8 x 8
pixels) run as one matrix multiply and a col2im (fold): oneDNN took 4-7x longer there.
Only float rounding changes (about 1e-6); training and checkpoints keep the original
modules.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from sargeo.model import Generator
from sargeo.postprocess import AdjustedGenerator


class MixFirstHead(nn.Module):
    """Bilinear x2, zero pad (left, right, top, bottom) = (2, 1, 2, 1), k x k conv, tanh."""

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        out, cin, k, _ = conv.weight.shape
        self.k, self.out = k, out
        self.mix_first = cin > out * k * k
        weight = conv.weight.detach()
        if self.mix_first:
            # row (o, ky, kx) of the 1x1 mix is the weight of output o at tap (ky, kx)
            self.register_buffer("mix", weight.permute(0, 2, 3, 1).reshape(out * k * k, cin, 1, 1).clone())
            taps = torch.zeros(out, k * k, k, k, dtype=weight.dtype)
            for t in range(k * k):
                taps[:, t, t // k, t % k] = 1.0
            self.register_buffer("taps", taps)
        else:
            self.register_buffer("weight", weight.clone())
        bias = conv.bias.detach().clone() if conv.bias is not None else torch.zeros(out, dtype=weight.dtype)
        self.register_buffer("bias", bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = (2 * x.shape[-2], 2 * x.shape[-1])
        if self.mix_first:
            x = F.conv2d(x, self.mix.to(x.dtype))
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        # symmetric padding 2 with the last row and column dropped = padding (2, 1, 2, 1)
        if self.mix_first:
            y = F.conv2d(x, self.taps.to(x.dtype), self.bias.to(x.dtype), padding=2, groups=self.out)
        else:
            y = F.conv2d(x, self.weight.to(x.dtype), self.bias.to(x.dtype), padding=2)
        return torch.tanh(y[..., :size[0], :size[1]])


#: Largest input (pixels per channel) that SmallInputDeconv runs as a matrix multiply. Measured on
#: the paper-width decoder, batch 8: 1 x 1 3.2 -> 1.8 ms, 2 x 2 48 -> 7 ms, 4 x 4 49 -> 12 ms,
#: 8 x 8 64 -> 43 ms; at 16 x 16 oneDNN is faster (92 against 114 ms).
SMALL_INPUT_PIXELS = 64


class SmallInputDeconv(nn.Module):
    """A transposed convolution that on a CPU runs small inputs as x @ W then col2im.

    oneDNN's deconvolution is slow where a few pixels meet many weights (the U-Net's innermost
    levels read 33 MB of weights for 2 x 2 pixels); a plain matrix multiply is not.
    """

    def __init__(self, deconv: nn.ConvTranspose2d) -> None:
        super().__init__()
        self.deconv = deconv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = self.deconv
        n, c, h, w = x.shape
        if x.device.type != "cpu" or h * w > SMALL_INPUT_PIXELS:
            return d(x)
        # (n*h*w, c) @ (c, cout*kh*kw): every input pixel's contribution to each kernel tap
        cols = x.permute(0, 2, 3, 1).reshape(n * h * w, c) @ d.weight.reshape(c, -1).to(x.dtype)
        size = tuple((i - 1) * s - 2 * p + k for i, s, p, k in zip((h, w), d.stride, d.padding, d.kernel_size,
                                                                   strict=True))
        y = F.fold(cols.view(n, h * w, -1).transpose(1, 2), size, d.kernel_size, stride=d.stride,
                   padding=d.padding)
        if d.bias is not None:
            y = y + d.bias.to(y.dtype).view(1, -1, 1, 1)
        return y.contiguous(memory_format=torch.channels_last)


def _plain_deconv(m: nn.Module) -> bool:
    return (isinstance(m, nn.ConvTranspose2d) and m.groups == 1 and m.dilation == (1, 1)
            and m.output_padding == (0, 0) and m.padding_mode == "zeros")


def _fold(block: nn.Sequential) -> nn.Sequential:
    """A (conv, BatchNorm, ...) block with the BatchNorm folded into the conv (eval mode only),
    activations in place (nothing else reads the conv's output)."""
    layers = list(block)
    if len(layers) > 1 and isinstance(layers[1], nn.BatchNorm2d):
        conv = fuse_conv_bn_eval(layers[0], layers[1], transpose=isinstance(layers[0], nn.ConvTranspose2d))
        layers = [conv, *layers[2:]]
    if _plain_deconv(layers[0]):
        layers[0] = SmallInputDeconv(layers[0])
    for m in layers[1:]:
        if isinstance(m, (nn.ReLU, nn.LeakyReLU)):
            m.inplace = True
    return nn.Sequential(*[m for m in layers if not isinstance(m, nn.Dropout)])


def _head_is_standard(head: nn.Sequential) -> bool:
    parts = list(head)
    return (len(parts) == 4 and isinstance(parts[0], nn.Upsample) and parts[0].mode == "bilinear"
            and parts[0].scale_factor in (2, 2.0, (2.0, 2.0)) and not parts[0].align_corners
            and isinstance(parts[1], nn.ZeroPad2d) and tuple(parts[1].padding) == (2, 1, 2, 1)
            and isinstance(parts[2], nn.Conv2d) and parts[2].kernel_size == (4, 4)
            and parts[2].stride == (1, 1) and parts[2].padding == (0, 0) and isinstance(parts[3], nn.Tanh))


def inference_net(model: nn.Module) -> nn.Module:
    """An eval-mode copy of a Generator (or AdjustedGenerator) computing the same outputs faster;
    any other module is returned as it is."""
    if isinstance(model, AdjustedGenerator):
        return AdjustedGenerator(inference_net(model.generator), model.adjust, model.scaling).eval()
    if not isinstance(model, Generator):
        return model
    net = copy.deepcopy(model).eval()
    with torch.no_grad():
        net.downs = nn.ModuleList(_fold(b) for b in net.downs)
        net.ups = nn.ModuleList(_fold(b) for b in net.ups)
        if _head_is_standard(net.head):
            net.head = MixFirstHead(net.head[2])
    return net
