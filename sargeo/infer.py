"""The model stage of the scene engine: batches of tiles through the generator, safely.

Any batch size works at any model width: batches are split so that no single
tensor passes the 2**31-element limit of some CUDA kernels (bilinear upsampling of
a paper-width model at batch 256 does), and a CUDA out-of-memory error halves the
chunk and tries again instead of ending the run. Chunking does not change the result
beyond float rounding: in eval mode every tile goes through the network on its own.
"""

from __future__ import annotations

import torch

from sargeo.device import autocast
from sargeo.fused import inference_net

#: Largest number of elements one activation tensor may hold in the kernels we call.
MAX_ELEMENTS = 2**31 - 1
#: Share of free GPU memory the automatic batch size may plan to use.
GPU_MEMORY_SHARE = 0.5
AUTO_BATCH_CPU = 8
AUTO_BATCH_MAX = 256


class TileRunner:
    """Run (N, 1, T, T) tiles through an eval-mode generator on one device."""

    def __init__(self, model: torch.nn.Module, device: torch.device, amp: torch.dtype | None,
                 tile: int) -> None:
        # channels-last runs the convolutions 1.5-1.8x faster on CPU (oneDNN) and suits tensor cores
        self.model = inference_net(model.eval()).to(device).to(memory_format=torch.channels_last)
        self.device, self.amp, self.tile = device, amp, tile
        # the widest activation is the head's upsampling: 2 * width channels at full tile size
        width = max(1, getattr(model, "width", 0) or 64)
        self.chunk = max(1, MAX_ELEMENTS // (2 * width * tile * tile))
        self._auto_batch: int | None = None

    @torch.inference_mode()
    def __call__(self, tiles: torch.Tensor) -> torch.Tensor:
        """Model outputs (N, 3, T, T) in float32 on the device."""
        outs, start = [], 0
        while start < len(tiles):
            part = tiles[start:start + self.chunk]
            try:
                outs.append(self._forward(part))
            except torch.OutOfMemoryError:
                if self.chunk == 1:
                    raise
                self.chunk = max(1, len(part) // 2)
                torch.cuda.empty_cache()
                continue
            start += len(part)
        return outs[0] if len(outs) == 1 else torch.cat(outs)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=torch.channels_last)
        with autocast(self.device, self.amp):
            return self.model(x).float()

    def auto_batch(self) -> int:
        """Tiles per batch: 8 on a CPU; on a GPU as many as half its free memory holds (measured
        on one tile, the first time: the measurement waits for all queued GPU work), at most
        AUTO_BATCH_MAX."""
        if self._auto_batch is None:
            self._auto_batch = self._measure_batch()
        return self._auto_batch

    def _measure_batch(self) -> int:
        if self.device.type != "cuda":
            return AUTO_BATCH_CPU
        torch.cuda.synchronize(self.device)
        torch.cuda.reset_peak_memory_stats(self.device)
        before = torch.cuda.memory_allocated(self.device)
        self(torch.zeros(2, 1, self.tile, self.tile, device=self.device))
        per_tile = max(1, (torch.cuda.max_memory_allocated(self.device) - before) // 2)
        free, _total = torch.cuda.mem_get_info(self.device)
        return int(max(AUTO_BATCH_CPU, min(AUTO_BATCH_MAX, GPU_MEMORY_SHARE * free // per_tile)))
