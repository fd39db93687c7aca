"""The engine's model and blend stages: batches split without changing results, OOM retried,
device-side tiling and blending that reproduce the input under an identity model, batches that
span strips."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sargeo.checkpoint import load_checkpoint
from sargeo.infer import AUTO_BATCH_CPU, TileRunner
from sargeo.merge import StripMerger, cut_tiles
from sargeo.model_stage import ModelStage
from sargeo.sar_input import InputSpec
from sargeo.scaling import SarScaling
from sargeo.source import Strip
from sargeo.tiling import tile_starts, weight_window

TILE = 256


@pytest.fixture(scope="module")
def runner(tiny_checkpoint):
    return TileRunner(load_checkpoint(tiny_checkpoint).generator, torch.device("cpu"), None, TILE)


def test_splitting_a_batch_does_not_change_the_result(runner):
    x = torch.rand(5, 1, TILE, TILE) * 2 - 1
    whole = runner(x)
    runner.chunk = 2
    # CPU kernels may round differently per batch size: far below one 8-bit step (1/127.5)
    np.testing.assert_allclose(runner(x).numpy(), whole.numpy(), atol=1e-5)


def test_out_of_memory_halves_the_chunk_and_goes_on(runner, monkeypatch):
    x = torch.rand(6, 1, TILE, TILE) * 2 - 1
    runner.chunk = 6
    expected = runner(x)
    real, seen = TileRunner._forward, []

    def tight_memory(self, part):
        seen.append(len(part))
        if len(part) > 2:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real(self, part)

    monkeypatch.setattr(TileRunner, "_forward", tight_memory)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    np.testing.assert_allclose(runner(x).numpy(), expected.numpy(), atol=1e-5)
    assert seen[:3] == [6, 3, 1] or seen[:2] == [6, 3]
    assert runner.chunk <= 2


def test_chunk_keeps_wide_models_under_the_kernel_element_limit():
    from sargeo.model import Generator

    runner = TileRunner(Generator(width=64), torch.device("cpu"), None, TILE)
    assert runner.chunk * 2 * 64 * TILE * TILE < 2**31  # bilinear upsampling of batch 256 at width 64 is not
    assert runner.auto_batch() == AUTO_BATCH_CPU


def test_cut_tiles_fills_invalid_pixels_with_the_tile_median():
    unit = torch.linspace(-1, 1, TILE * 300).reshape(TILE, 300)
    valid = torch.ones(TILE, 300, dtype=torch.bool)
    valid[:, :20] = False
    tiles = cut_tiles(unit.clone(), valid, [0, 44], TILE, [True, False])
    first = tiles[0, 0]
    median = unit[:, 20:TILE].flatten().sort().values[(TILE * (TILE - 20) - 1) // 2]
    assert torch.all(first[:, :20] == median) and torch.equal(first[:, 20:], unit[:, 20:TILE])
    assert torch.equal(tiles[1, 0], unit[:, 44:300])  # fully valid: untouched


def test_merger_reproduces_the_input_under_an_identity_model():
    """Every overlapping tile predicts the same value at each pixel, so blending must give it back."""
    rng = np.random.default_rng(0)
    height, width, overlap = 700, 600, 64
    image = torch.from_numpy(rng.uniform(-1, 1, (height, width)).astype(np.float32))
    merger = StripMerger(width, TILE, overlap, torch.device("cpu"))
    rows, cols = tile_starts(height, TILE, overlap), tile_starts(width, TILE, overlap)
    got = []
    for i, row in enumerate(rows):
        strip = image[row:row + TILE]
        tiles = torch.stack([strip[:, c:c + TILE] for c in cols])[:, None].repeat(1, 3, 1, 1)
        merger.add(tiles, cols)
        done = (rows[i + 1] if i + 1 < len(rows) else height) - row
        got.append(merger.finish(done, torch.ones(TILE, width, dtype=torch.bool), width).numpy())
    out = np.concatenate(got, axis=1)
    expected = np.clip(np.rint((image.numpy() + 1) * 127.5), 0, 255)
    assert out.shape == (4, height, width)
    assert np.abs(out[0].astype(int) - expected).max() <= 1 and (out[3] == 255).all()


@pytest.mark.parametrize("overlap", [0, 64, 128, 200, 255])
def test_merger_sums_any_columns_in_any_batches_like_one_tile_at_a_time(overlap):
    """Runs of strided tiles must add exactly what tile-by-tile addition adds, with gaps (skipped
    tiles), the snapped last tile and overlaps past half a tile."""
    rng = np.random.default_rng(overlap)
    width = 1500
    cols = [c for c in tile_starts(width, TILE, overlap) if rng.random() < 0.7] or [0]
    outputs = torch.from_numpy(rng.uniform(-1, 1, (len(cols), 3, TILE, TILE)).astype(np.float32))
    merger = StripMerger(width, TILE, overlap, torch.device("cpu"))
    start = 0
    while start < len(cols):
        n = int(rng.integers(1, 9))
        merger.add(outputs[start:start + n], cols[start:start + n])
        start += n
    window = weight_window(TILE, overlap).astype(np.float64)
    acc, wsum = np.zeros((3, TILE, width)), np.zeros((TILE, width))
    for out, c in zip(outputs.numpy(), cols, strict=True):
        acc[:, :, c:c + TILE] += out * window
        wsum[:, c:c + TILE] += window
    np.testing.assert_allclose(merger.acc.numpy(), acc, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(merger.wsum.numpy(), wsum, rtol=1e-5, atol=1e-5)


class _PointwiseRunner:
    """A stand-in for TileRunner that records its batch sizes; its outputs depend on each pixel
    alone, so any batching must give the very same rows."""

    tile, device = TILE, torch.device("cpu")

    def __init__(self) -> None:
        self.batches: list[int] = []

    def __call__(self, tiles: torch.Tensor) -> torch.Tensor:
        self.batches.append(len(tiles))
        return torch.cat([tiles, -tiles, tiles * tiles], dim=1)


def test_batches_span_strips_and_leave_the_rows_unchanged():
    rng = np.random.default_rng(1)
    width, overlap = 1000, 64
    cols = tile_starts(width, TILE, overlap)  # 5 tile columns
    rows = tile_starts(900, TILE, overlap)  # 5 strips
    spec = InputSpec(1, "db", SarScaling(), None)
    strips = []
    for i, row in enumerate(rows):
        values = torch.from_numpy(rng.uniform(-25, 0, (TILE, width)).astype(np.float32))
        valid = torch.ones(TILE, width, dtype=torch.bool)
        flags = [(not (i == 2 and c == cols[1]), False) for c in cols]  # one tile reaches no output
        strips.append((Strip(row, [values, valid], flags), (rows[i + 1] if i + 1 < len(rows) else 900) - row))
    finished = {}
    for batch in (1, 4, 32):
        model = _PointwiseRunner()
        stage = ModelStage(model, batch, spec, cols, width, overlap)
        finished[batch] = list(stage.run(iter(strips)))
        assert [row for row, _ in finished[batch]] == rows
        assert stage.tiles_run == sum(model.batches) == 24
        assert model.batches == [batch] * (24 // batch) + ([24 % batch] if 24 % batch else [])
    for (row, a), (_, b), (_, c) in zip(*finished.values(), strict=True):
        assert torch.equal(a, b) and torch.equal(a, c), f"rows of the strip at {row} depend on the batch"
