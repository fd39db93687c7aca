"""The generator rewritten for inference: the same function with fewer passes over memory.

The head upsampled 2 * width channels to full tile size, zero-padded them and convolved
them down to 3 channels: two full-size copies of a wide tensor for 6 % of the FLOPs, a
third of the paper-width net's CPU time and half the shipped width-16 net's. Upsampling,
padding and the convolution are linear and shift-invariant per output phase, so the head
runs at half resolution as one convolution and a pixel shuffle (`PhaseHead`). BatchNorm is
folded into the convolution before it. On a CPU the decoder's innermost transposed
convolutions, where a few pixels meet many weights, run as one matrix multiply and a
col2im (fold): oneDNN took up to 7x longer there. Only float rounding changes (about
1e-6); training and checkpoints keep the original modules.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from sargeo.model import Generator
from sargeo.postprocess import AdjustedGenerator


def _bilinear_taps() -> torch.Tensor:
    """a[p, k, d]: weight of input offset d - 2 in the upsampled pixel 2i + p + k - 2, i.e. what tap k
    of a 4-wide kernel sees at output phase p after bilinear x2 (half-pixel centres: 1/4, 3/4)."""
    a = torch.zeros(2, 4, 4)
    for p in range(2):
        for k in range(4):
            s, odd = divmod(p + k - 2, 2)
            for d, w in (((s, 0.75), (s + 1, 0.25)) if odd else ((s - 1, 0.25), (s, 0.75))):
                a[p, k, d + 2] += w
    return a


#: The phase convolution's filters are padded with zeros to a multiple of this: oneDNN runs 16
#: output channels of a 4 x 4 convolution faster than 12 (AVX2 CPU, batch 8, width 16: 18.7 ->
#: 12.5 ms); the spare filters are cut off before the pixel shuffle. Not for the grouped form of
#: wide heads, whose groups are the colours.
PADDED_FILTERS = 16


class PhaseHead(nn.Module):
    """Bilinear x2, zero pad (left, right, top, bottom) = (2, 1, 2, 1), 4 x 4 conv, tanh, computed at
    the input's resolution.

    Each output pixel of phase (py, px) is a fixed linear function of a 4 x 4 window of the
    input (the conv's taps composed with bilinear's 1/4, 3/4 weights), so one convolution with
    4 x out channels and a pixel shuffle give the whole output; replicate padding reproduces
    bilinear's clamp at the edges. Only the zero padding differs: the first two and the last row
    and column read padded zeros, so they are recomputed the direct way from two input rows or
    columns. Wide heads first mix their channels into one map per colour and tap (3 x 16).
    """

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        out, cin = conv.weight.shape[:2]
        self.out = out
        weight = conv.weight.detach()
        bias = conv.bias.detach().clone() if conv.bias is not None else torch.zeros(out, dtype=weight.dtype)
        self.mix_first = cin > out * 16
        if self.mix_first:
            # row (o, ky, kx) of the 1x1 mix is the weight of output o at tap (ky, kx)
            self.register_buffer("mix", weight.permute(0, 2, 3, 1).reshape(out * 16, cin, 1, 1).clone())
            weight = torch.eye(16, dtype=weight.dtype).view(1, 16, 4, 4).expand(out, 16, 4, 4)
        self.register_buffer("weight", weight.clone())  # the direct way's kernel on each group
        self.register_buffer("bias", bias)
        a = _bilinear_taps().to(weight.dtype)
        phases = torch.einsum("ocyx,pyd,qxe->opqcde", weight, a, a).reshape(out * 4, -1, 4, 4)
        bias = bias.repeat_interleave(4)
        if not self.mix_first:
            spare = -len(phases) % PADDED_FILTERS
            phases = torch.cat([phases, phases.new_zeros(spare, *phases.shape[1:])])
            bias = torch.cat([bias, bias.new_zeros(spare)])
        self.register_buffer("phases", phases)
        self.register_buffer("phase_bias", bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mix_first:
            x = F.conv2d(x, self.mix.to(x.dtype))
        h, w = x.shape[-2:]
        if h < 2 or w < 2:
            return torch.tanh(self._direct(x))
        y = F.conv2d(F.pad(x, (2, 1, 2, 1), mode="replicate"), self.phases.to(x.dtype),
                     self.phase_bias.to(x.dtype), groups=self.groups)
        y = F.pixel_shuffle(y[:, :4 * self.out], 2)
        # the rows, then the columns (transposed, as rows: oneDNN took 2.2 ms for a 2-column strip
        # of the width-16 head at batch 8, 0.8 ms for the same strip as rows; the kernel is
        # transposed with it), that read the zero padding; the columns' pass sets the corners
        for rows, out, weight in ((x, y, self.weight),
                                  (x.transpose(-1, -2), y.transpose(-1, -2), self.weight.transpose(-1, -2))):
            out[..., :2, :] = self._edge(rows[..., :2, :], weight, first=True)
            out[..., -1:, :] = self._edge(rows[..., -2:, :], weight, first=False)
        return torch.tanh_(y)

    @property
    def groups(self) -> int:
        return self.out if self.mix_first else 1

    def _edge(self, rows: torch.Tensor, weight: torch.Tensor, first: bool) -> torch.Tensor:
        """The output's first two rows (`first`) or its last one, from the input's first or last two
        `rows`: of those rows upsampled, the three nearest the edge are exact (the fourth would
        need a third input row), and beyond them the conv reads the zero padding, two rows above
        the first, one below the last."""
        up = F.interpolate(rows, scale_factor=2, mode="bilinear", align_corners=False)
        up = F.pad(up[..., :3, :], (2, 1, 2, 0)) if first else F.pad(up[..., -3:, :], (2, 1, 0, 1))
        return F.conv2d(up, weight.to(up.dtype), self.bias.to(up.dtype), groups=self.groups)

    def _direct(self, x: torch.Tensor) -> torch.Tensor:
        """Upsample, then the 4 x 4 conv; symmetric padding 2 with the last row and column dropped
        is padding (2, 1, 2, 1)."""
        size = (2 * x.shape[-2], 2 * x.shape[-1])
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        y = F.conv2d(x, self.weight.to(x.dtype), self.bias.to(x.dtype), padding=2, groups=self.groups)
        return y[..., :size[0], :size[1]]


#: SmallInputDeconv runs a matrix multiply where the weights per input pixel reach this. Measured,
#: batch 8, ms as matmul / oneDNN: paper width (weights 8.4 M) 1 x 1 1.7 / 2.9, 2 x 2 5.7 / 41,
#: 4 x 4 22 / 41, 8 x 8 62 / 86, 16 x 16 (4.2 M) 129 / 100; width 16 (0.5 M) 2 x 2 0.7 / 2.0,
#: 4 x 4 1.7 / 1.6, 8 x 8 6.2 / 2.8.
MATMUL_WEIGHTS_PER_PIXEL = 32768


class SmallInputDeconv(nn.Module):
    """A transposed convolution that on a CPU runs small inputs as x @ W then col2im.

    oneDNN's deconvolution is slow where a few pixels meet many weights (the U-Net's innermost
    levels read 33 MB of weights for 2 x 2 pixels); a plain matrix multiply is not. The weight
    is kept as that matrix: a 4-D weight would be turned channels-last with the model, and
    reshaping it back copied 33 MB per call.
    """

    def __init__(self, deconv: nn.ConvTranspose2d) -> None:
        super().__init__()
        self.shape = tuple(deconv.weight.shape)
        self.stride, self.padding = deconv.stride, deconv.padding
        self.register_buffer("matrix", deconv.weight.detach().reshape(self.shape[0], -1).clone())
        bias = deconv.bias.detach().clone() if deconv.bias is not None else torch.zeros(self.shape[1])
        self.register_buffer("bias", bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        matrix, bias = self.matrix.to(x.dtype), self.bias.to(x.dtype)
        if x.device.type != "cpu" or matrix.numel() < MATMUL_WEIGHTS_PER_PIXEL * h * w:
            return F.conv_transpose2d(x, matrix.view(self.shape), bias, self.stride, self.padding)
        # (n*h*w, c) @ (c, cout*kh*kw): every input pixel's contribution to each kernel tap
        cols = x.permute(0, 2, 3, 1).reshape(n * h * w, c) @ matrix
        kernel = self.shape[2:]
        size = tuple((i - 1) * s - 2 * p + k
                     for i, s, p, k in zip((h, w), self.stride, self.padding, kernel, strict=True))
        y = F.fold(cols.view(n, h * w, -1).transpose(1, 2), size, kernel, stride=self.stride,
                   padding=self.padding)
        return y.add_(bias.view(1, -1, 1, 1)).contiguous(memory_format=torch.channels_last)


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
    # the copy starts on the trained weights' memory (in Parameters of its own, so moving or
    # reformatting the copy leaves the model alone): folding replaces most of them, and cloning
    # them all first took 100 ms at the paper's width
    shared = {id(p): nn.Parameter(p.detach(), requires_grad=False) for p in model.parameters()}
    net = copy.deepcopy(model, shared).eval()
    with torch.no_grad():
        net.downs = nn.ModuleList(_fold(b) for b in net.downs)
        net.ups = nn.ModuleList(_fold(b) for b in net.ups)
        if _head_is_standard(net.head):
            net.head = PhaseHead(net.head[2])
    return net
