"""The model stage never makes the host wait for a GPU, checked without one.

On a GPU, a copy from pageable host memory or a value read back (`.item()`, a boolean index,
`nonzero`) makes the host wait for all queued work, and a few per batch kept the engine far
below the model's speed on an H200. Here the stage runs on fake CUDA tensors (torch's
FakeTensorMode: shapes and devices, no data, no GPU) while a dispatch mode records every
operation that brings host data to the device. Reading a value back has no answer on fake
tensors, so it fails the test by itself. The first strip may copy constants to the device
once; later strips may not.
"""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Iterator

import pytest
import torch
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

import sargeo.infer
from sargeo import colour, postprocess
from sargeo.checkpoint import load_checkpoint
from sargeo.infer import TileRunner
from sargeo.model import Generator
from sargeo.model_stage import ModelStage
from sargeo.models import default_checkpoint_path
from sargeo.postprocess import AdjustedGenerator, OutputAdjust
from sargeo.sar_input import InputSpec
from sargeo.scaling import SarScaling
from sargeo.source import Strip

TILE, OVERLAP = 256, 64
CUDA = torch.device("cuda", 0)
_TO_DEVICE = (torch.ops.aten.to, torch.ops.aten._to_copy, torch.ops.aten.copy_)


class HostToDevice(TorchDispatchMode):
    """Records operations whose inputs include host tensors (not Python scalars) and whose
    outputs are on a GPU, with where they were called from."""

    def __init__(self) -> None:
        super().__init__()
        self.copies: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func.overloadpacket is torch.ops.aten.to and "device" in kwargs:
            # under inference_mode `.to(device)` arrives undecomposed, which FakeTensorMode would
            # try to run for real on a host constant; _to_copy is what it decomposes to
            out = torch.ops.aten._to_copy.default(args[0], **kwargs)
        else:
            out = func(*args, **kwargs)
        host = [t for t in tree_leaves((args, kwargs))
                if isinstance(t, torch.Tensor) and t.device.type == "cpu"
                and (t.dim() > 0 or func.overloadpacket in _TO_DEVICE)]
        if host and any(isinstance(t, torch.Tensor) and t.device.type == "cuda" for t in tree_leaves(out)):
            caller = "".join(traceback.format_stack(limit=12)[:-1])
            self.copies.append(f"{func} of host {[tuple(t.shape) for t in host]}\n{caller}")
        return out


@contextlib.contextmanager
def _autocast(device: torch.device, dtype: torch.dtype | None) -> Iterator[None]:
    """sargeo.device.autocast as it is on a GPU: torch.autocast turns itself off without one."""
    before = torch.is_autocast_enabled("cuda"), torch.get_autocast_dtype("cuda")
    torch.set_autocast_enabled("cuda", dtype is not None)
    torch.set_autocast_dtype("cuda", dtype or torch.float16)
    try:
        yield
    finally:
        torch.set_autocast_enabled("cuda", before[0])
        torch.set_autocast_dtype("cuda", before[1])


@pytest.fixture
def fake_cuda(monkeypatch) -> Iterator[FakeTensorMode]:
    """A fake-CUDA world to enter, whose device constants do not outlive the test."""
    monkeypatch.setattr(sargeo.infer, "autocast", _autocast)
    caches = (colour.on_device, postprocess._mean_lab, postprocess._factors)
    for cache in caches:
        cache.cache_clear()
    yield FakeTensorMode(allow_non_fake_inputs=True)
    for cache in caches:
        cache.cache_clear()


def _adjusted(chroma: float) -> AdjustedGenerator:
    return AdjustedGenerator(Generator(width=8), OutputAdjust((0.3, 0.35, 0.3), 0.5, chroma, True))


MODELS = {
    "shipped": lambda: load_checkpoint(default_checkpoint_path()).generator,
    "paper width, tile norm": lambda: Generator(width=64, input_norm="tile"),
    "adjusted, chroma kept": lambda: _adjusted(0.8),
}


CASES = [*((model, "db", amp, False) for model in MODELS for amp in (None, torch.bfloat16)),
         *(("shipped", scale, torch.bfloat16, True) for scale in ("linear", "amplitude", "uint8"))]


@pytest.mark.parametrize(("model", "scale", "amp", "aoi"), CASES)
def test_strips_after_the_first_bring_nothing_from_the_host(fake_cuda, model, scale, amp, aoi):
    runner = TileRunner(MODELS[model]().eval(), torch.device("cpu"), amp, TILE)
    cols = [0, 192, 384, 576, 768]
    width = cols[-1] + TILE
    # one tile skipped, two with nodata to fill, two whole: batches of three tiles, the second
    # spanning both strips
    flags = [(True, False), (True, True), (False, False), (True, True), (True, False)]
    traffic = HostToDevice()
    with fake_cuda:
        runner.model.to(CUDA)  # parameters become fake CUDA tensors
        runner.device = CUDA
        stage = ModelStage(runner, 3, InputSpec(1, scale, SarScaling(), None), cols, width, OVERLAP)
        arrays = [torch.rand(TILE, width).to(CUDA), torch.ones(TILE, width, dtype=torch.bool).to(CUDA)]
        if aoi:
            arrays.append(torch.ones(TILE, width, dtype=torch.bool).to(CUDA))

        def strips() -> Iterator[tuple[Strip, int]]:
            yield Strip(0, arrays, flags), 192  # its first batch may move constants to the GPU, once
            traffic.copies.clear()
            yield Strip(192, arrays, flags), 192

        with traffic:
            finished = list(stage.run(strips()))
    assert [row for row, _ in finished] == [0, 192]
    rows = finished[1][1]
    assert (rows.shape, rows.dtype, rows.device) == ((4, 192, width), torch.uint8, CUDA)
    assert stage.tiles_run == 8
    assert not traffic.copies, "host-to-device copies in the model stage:\n" + "\n".join(traffic.copies)


def test_the_recorder_sees_a_copy_from_the_host(fake_cuda):
    """The check above can fail: a per-call copy of a host constant is caught."""
    traffic = HostToDevice()
    with fake_cuda:
        x = torch.rand(2, 3).to(CUDA)
        with traffic, torch.inference_mode():
            _ = x * torch.tensor([1.0, 2.0, 3.0]).to(CUDA)
    assert len(traffic.copies) == 1 and traffic.copies[0].startswith("aten.to")
