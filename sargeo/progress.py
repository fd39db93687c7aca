"""Progress reporting for long scene jobs: a bar for people, JSON lines for programs.

The JSON form is the contract with machine readers such as the QGIS plugin:
one object per line on stdout, events "start", "progress" and "done".
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import IO, Any

from tqdm import tqdm


class Progress:
    """Silent reporter; subclasses show progress. Counts tiles, including skipped ones."""

    def __init__(self) -> None:
        self.total, self.done, self.t0, self.device = 0, 0, time.perf_counter(), ""

    def start(self, total: int, device: str, **info: Any) -> None:
        self.total, self.device, self.t0 = total, device, time.perf_counter()

    def advance(self, n: int) -> None:
        self.done += n

    def tiles_done(self) -> None:
        """Called once the last tile went through the model (the file is still being finished)."""

    def finish(self, **info: Any) -> None:
        """Called once after the output is in place."""

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.t0


class BarProgress(Progress):
    """tqdm bar on stderr."""

    def start(self, total: int, device: str, **info: Any) -> None:
        super().start(total, device)
        self.bar = tqdm(total=total, unit="tile", desc=f"colorize [{device}]", file=sys.stderr,
                        dynamic_ncols=True)

    def advance(self, n: int) -> None:
        super().advance(n)
        self.bar.update(n)

    def tiles_done(self) -> None:
        # closed here, so the next scene's bar (started while this file is finished) gets its own line
        self.bar.close()

    def finish(self, **info: Any) -> None:
        self.bar.close()


class JsonProgress(Progress):
    """One JSON object per line, at most every `interval` seconds, plus start and done."""

    def __init__(self, stream: IO[str] | None = None, interval: float = 0.2) -> None:
        super().__init__()
        self.stream, self.interval, self.last = stream or sys.stdout, interval, 0.0

    #: one line at a time: a scene's "done" comes from the thread that finishes its file while the
    #: next scene reports progress
    _lock = threading.Lock()

    def _emit(self, event: str, **fields: Any) -> None:
        line = json.dumps({"event": event, **fields}) + "\n"
        with self._lock:
            self.stream.write(line)
            self.stream.flush()

    def start(self, total: int, device: str, **info: Any) -> None:
        super().start(total, device)
        self._emit("start", device=device, tiles=total, **info)

    def advance(self, n: int) -> None:
        super().advance(n)
        now = time.perf_counter()
        if now - self.last >= self.interval or self.done >= self.total:
            self.last = now
            fraction = self.done / self.total if self.total else 1.0
            eta = self.elapsed * (1 - fraction) / fraction if fraction > 0 else None
            self._emit("progress", fraction=round(fraction, 4), tiles_done=self.done, tiles=self.total,
                       elapsed_s=round(self.elapsed, 2), eta_s=None if eta is None else round(eta, 2),
                       device=self.device)

    def finish(self, **info: Any) -> None:
        self._emit("done", seconds=round(self.elapsed, 2), device=self.device, **info)


def make_progress(kind: str) -> Progress:
    """'bar', 'json' or 'none'."""
    return {"bar": BarProgress, "json": JsonProgress, "none": Progress}[kind]()
