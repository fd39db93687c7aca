"""The model stage of the scene engine: strips in, their finished rows out, on the model's device.

Scale, tile, model and blend run here as torch operations (sargeo.merge, sargeo.infer), so a
GPU is handed whole strips and hands back uint8 rows. Batches of tiles span strips: a strip as
wide as a 12,288 px scene holds 64 tiles, so one batch of 256 runs four strips at once and the
model is launched a quarter as often, and a CPU never runs a short batch at a strip's end.
Nothing in this stage waits for a GPU: no host copies, no values read back, no index tensors
built on the host (each would make the host wait for all queued GPU work);
tests/test_model_stage.py holds it to that.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import torch

from sargeo.infer import TileRunner
from sargeo.merge import StripMerger, cut_tiles
from sargeo.sar_input import InputSpec
from sargeo.source import Strip


@dataclass
class _Queued:
    """A strip on the device whose rows are not finished: its tiles still to run, and model
    outputs not yet blended in (its strip is not the merger's yet)."""

    row: int
    done: int
    unit: torch.Tensor
    valid: torch.Tensor
    inside: torch.Tensor
    todo: list[tuple[int, bool]]
    outputs: list[tuple[torch.Tensor, Sequence[int]]] = field(default_factory=list)


class ModelStage:
    """Strips of one scene (each the tile columns `cols`, relative to a strip `width` wide) through
    the model in batches of `batch` tiles, blended into a rolling accumulator one tile high."""

    def __init__(self, runner: TileRunner, batch: int, spec: InputSpec, cols: Sequence[int], width: int,
                 overlap: int, advance: Callable[[int], None] = lambda _n: None) -> None:
        self.runner, self.batch, self.spec, self.cols = runner, batch, spec, list(cols)
        self.width, self.advance, self.tile = width, advance, runner.tile
        self.merger = StripMerger(max(width, self.tile), self.tile, overlap, runner.device)
        self.tiles_run = 0

    def run(self, strips: Iterable[tuple[Strip, int]]) -> Iterator[tuple[int, torch.Tensor]]:
        """For each (strip, done) in scene order, in that order: the strip's first scene row and
        its first `done` rows (those no later strip reaches) as uint8 RGB + alpha
        (4, done, width), still on the device. Tiles that reach no output pixel are skipped."""
        queued: deque[_Queued] = deque()
        for strip, done in strips:
            queued.append(self._queue(strip, done))
            while _waiting(queued) >= self.batch:
                self._run_batch(queued)
                yield from self._finish(queued)
            yield from self._finish(queued)  # a strip with no tile to run
        while _waiting(queued):
            self._run_batch(queued)
            yield from self._finish(queued)

    def _queue(self, strip: Strip, done: int) -> _Queued:
        values, valid, *inside = strip.on(self.runner.device)
        unit = torch.where(valid, self.spec.to_unit(values), 0.0)
        todo = [(c, partial) for c, (has_data, partial) in zip(self.cols, strip.flags, strict=True)
                if has_data]
        self.advance(len(self.cols) - len(todo))
        return _Queued(strip.row, done, unit, valid, inside[0] if inside else valid, todo)

    def _run_batch(self, queued: deque[_Queued]) -> None:
        """Run the next `batch` waiting tiles (fewer at the scene's end), taken in scene order."""
        parts, owners, n = [], [], 0
        for item in queued:
            take = item.todo[:self.batch - n]
            if not take:
                continue
            del item.todo[:len(take)]
            cols, partial = zip(*take, strict=True)
            parts.append(cut_tiles(item.unit, item.valid, cols, self.tile, partial))
            owners.append((item, cols))
            n += len(take)
            if n == self.batch:
                break
        outputs, start = self.runner(parts[0] if len(parts) == 1 else torch.cat(parts)), 0
        for item, cols in owners:
            item.outputs.append((outputs[start:start + len(cols)], cols))
            start += len(cols)
        self.tiles_run += n
        self.advance(n)

    def _finish(self, queued: deque[_Queued]) -> Iterator[tuple[int, torch.Tensor]]:
        """Blend what has run of the strips in order and finish each whose tiles have all run."""
        while queued:
            head = queued[0]
            for outputs, cols in head.outputs:
                self.merger.add(outputs, cols)
            head.outputs.clear()
            if head.todo:
                return
            queued.popleft()
            yield head.row, self.merger.finish(head.done, head.inside, self.width)


def _waiting(queued: deque[_Queued]) -> int:
    """Tiles of the queued strips not yet run."""
    return sum(len(item.todo) for item in queued)
