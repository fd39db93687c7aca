"""The model stage of the scene engine: one strip in, its finished rows out, on the model's device.

Scale, tile, model and blend run here as torch operations (sargeo.merge, sargeo.infer), so a
GPU is handed whole strips and hands back uint8 rows. Nothing in this stage waits for a GPU:
no host copies, no values read back, no index tensors built on the host (each would make the
host wait for all queued GPU work); tests/test_model_stage.py holds it to that.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from sargeo.infer import TileRunner
from sargeo.merge import StripMerger, cut_tiles
from sargeo.sar_input import InputSpec
from sargeo.source import Strip


class ModelStage:
    """Strips of one scene (each the tile columns `cols`, relative to a strip `width` wide) through
    the model, blended into a rolling accumulator one tile high."""

    def __init__(self, runner: TileRunner, batch: int, spec: InputSpec, cols: Sequence[int], width: int,
                 overlap: int, advance: Callable[[int], None] = lambda _n: None) -> None:
        self.runner, self.batch, self.spec, self.cols = runner, batch, spec, list(cols)
        self.width, self.advance, self.tile = width, advance, runner.tile
        self.merger = StripMerger(max(width, self.tile), self.tile, overlap, runner.device)
        self.tiles_run = 0

    def __call__(self, strip: Strip, done: int) -> torch.Tensor:
        """The strip's first `done` rows (those no later strip reaches) as uint8 RGB + alpha
        (4, done, width), still on the device; tiles that reach no output pixel are skipped."""
        values, valid, *inside = strip.on(self.runner.device)
        unit = torch.where(valid, self.spec.to_unit(values), 0.0)
        todo = [(c, partial) for c, (has_data, partial) in zip(self.cols, strip.flags, strict=True)
                if has_data]
        self.advance(len(self.cols) - len(todo))
        for b in range(0, len(todo), self.batch):
            cols, partial = zip(*todo[b:b + self.batch], strict=True)
            self.merger.add(self.runner(cut_tiles(unit, valid, cols, self.tile, partial)), cols)
            self.tiles_run += len(cols)
            self.advance(len(cols))
        return self.merger.finish(done, inside[0] if inside else valid, self.width)
