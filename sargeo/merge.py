"""The tile and blend stages of the scene engine, as torch operations on the model's device.

A strip (one tile row of the scene) arrives once as a tensor; tiles are cut from it,
their invalid pixels filled, and the model's outputs are weighted into a rolling
accumulator one tile high. Only the finished rows leave the device, already as
uint8 RGB + alpha: on a GPU that is a quarter of the bytes of float RGB, and the
per-pixel arithmetic never touches the CPU. They leave in the write stage, so the
model stage never waits for the GPU to finish. The same code runs on the CPU.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from sargeo.tiling import weight_window


def cut_tiles(unit: torch.Tensor, valid: torch.Tensor, cols: Sequence[int], tile: int,
              partial: Sequence[bool]) -> torch.Tensor:
    """(N, 1, tile, tile) model inputs from a strip (tile, W) at the given columns.

    Invalid pixels of the tiles marked `partial` (told by the caller, from the host copy of the
    mask, so that a GPU is never asked) get the tile's median valid value (the lower middle value
    for an even count), so nodata borders do not bleed into the colours.
    """
    tiles = [unit[:, c:c + tile] for c in cols]
    fill = [i for i, p in enumerate(partial) if p]
    if fill:  # no index tensors: building one on a GPU makes the host wait for it
        ok = torch.stack([valid[:, cols[i]:cols[i] + tile] for i in fill])
        part = torch.stack([tiles[i] for i in fill])
        median = torch.where(ok, part, torch.nan).flatten(1).nanmedian(dim=1).values.view(-1, 1, 1)
        for i, filled in zip(fill, torch.where(ok, part, median), strict=True):
            tiles[i] = filled
    return torch.stack(tiles)[:, None]


class StripMerger:
    """Rolling weighted sum of overlapping tile outputs, one tile row high, on one device.

    Each output pixel is sum(w * tile) / sum(w) over the tiles covering it, with the
    strictly positive window of sargeo.tiling; rows leave once no later tile can reach them.
    """

    def __init__(self, width: int, tile: int, overlap: int, device: torch.device) -> None:
        self.tile, self.device = tile, device
        self.window = torch.from_numpy(weight_window(tile, overlap)).to(device)
        self.acc = torch.zeros(3, tile, width, device=device)
        self.wsum = torch.zeros(tile, width, device=device)

    def add(self, outputs: torch.Tensor, cols: Sequence[int]) -> None:
        """Weight (N, 3, tile, tile) model outputs in at their columns (ascending).

        Tiles that do not overlap and are equally spaced go in as one strided view of the
        accumulator: a few operations per batch instead of two per tile, which is what a GPU's
        launch overhead asks for (a regular lattice with overlap <= tile / 2 is two runs).
        """
        outputs, t = outputs.float(), self.tile
        window = self.window[:, None, :]  # (row, tile, col), broadcast over the run's tiles
        for run, step in _runs(cols, t):
            part = outputs[run]
            n, c0 = len(part), cols[run.start]
            acc = self.acc.as_strided((3, t, n, t), (*self.acc.stride()[:2], step, 1), c0)
            acc.addcmul_(part.permute(1, 2, 0, 3), window)
            self.wsum.as_strided((t, n, t), (self.wsum.stride(0), step, 1), c0).add_(window)

    def finish(self, rows: int, valid: torch.Tensor, width: int) -> torch.Tensor:
        """The first `rows` rows as uint8 RGB + alpha (4, rows, width), still on the device, then
        drop them (the result is a new tensor: later strips do not change it).

        (acc / w + 1) * 127.5 is computed as acc * s + o with per-pixel s = 127.5 / w and o = 127.5
        (both 0 outside `valid`, so those pixels come out 0): two passes over the three colour
        planes instead of six.
        """
        w, ok = self.wsum[:rows, :width], valid[:rows, :width]
        scale = torch.where(ok & (w > 0), 127.5 / w, 0.0)
        rgb = self.acc[:, :rows, :width] * scale
        rgb.add_(ok * 127.5).round_().clamp_(0, 255)
        out = torch.empty((4, rows, width), dtype=torch.uint8, device=rgb.device)
        out[:3] = rgb
        out[3] = ok * 255
        self._shift(rows)
        return out

    def _shift(self, rows: int) -> None:
        keep = self.tile - rows
        for a in (self.acc, self.wsum):
            a[..., :keep, :] = a[..., rows:, :].clone()
            a[..., keep:, :] = 0.0


def _runs(cols: Sequence[int], tile: int) -> list[tuple[slice, int]]:
    """The ascending `cols` as runs of tiles that do not overlap and are equally spaced, both in
    the scene and in `cols` (so a run is a slice, never an index tensor, which a GPU would make
    the host wait for), each with its spacing in pixels: tiles go to the first layer whose last
    tile they clear, and each layer is cut where a spacing changes."""
    layers: list[list[int]] = []
    for i, c in enumerate(cols):
        layer = next((lay for lay in layers if cols[lay[-1]] + tile <= c), None)
        if layer is None:
            layers.append([i])
        else:
            layer.append(i)
    runs: list[tuple[slice, int]] = []
    for layer in layers:
        run = [layer[0]]
        for i in layer[1:]:
            if len(run) > 1 and (i - run[-1], cols[i] - cols[run[-1]]) != (run[1] - run[0],
                                                                          cols[run[1]] - cols[run[0]]):
                runs.append(_as_slice(run, cols, tile))
                run = []
            run.append(i)
        runs.append(_as_slice(run, cols, tile))
    return runs


def _as_slice(run: list[int], cols: Sequence[int], tile: int) -> tuple[slice, int]:
    if len(run) == 1:
        return slice(run[0], run[0] + 1), tile
    return slice(run[0], run[-1] + 1, run[1] - run[0]), cols[run[1]] - cols[run[0]]
