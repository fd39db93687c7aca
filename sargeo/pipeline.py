"""Threads joined by bounded queues that fail together.

The scene engine runs a reader, the model and a writer at once. If any of them
fails, every other one must stop waiting at once and the first error must reach
the caller; a queue that one side has abandoned must never block the other side
forever. All waits here are short polls on a shared stop flag.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

POLL_S = 0.05


class Stopped(Exception):
    """Raised in a stage when another stage failed (or the run was cancelled)."""


class Pipeline:
    """Shared stop flag and first error of a group of stages."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def fail(self, exc: BaseException) -> None:
        """Record the first failure and tell every stage to stop."""
        with self._lock:
            if self.error is None and not isinstance(exc, Stopped):
                self.error = exc
        self.stop.set()

    def spawn(self, work: Callable[[], None], name: str) -> threading.Thread:
        """Run `work` in a daemon thread whose failure stops the whole pipeline."""

        def run() -> None:
            try:
                work()
            except BaseException as exc:  # handed to the caller through self.error
                self.fail(exc)

        thread = threading.Thread(target=run, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()
        return thread

    def put(self, q: queue.Queue, item: Any) -> None:
        while True:
            if self.stop.is_set():
                raise Stopped
            try:
                q.put(item, timeout=POLL_S)
                return
            except queue.Full:
                continue

    def get(self, q: queue.Queue) -> Any:
        while True:
            try:
                return q.get(timeout=POLL_S)
            except queue.Empty:
                if self.stop.is_set():
                    raise Stopped from None

    def join(self, timeout: float = 10.0) -> None:
        for thread in self._threads:
            thread.join(timeout)

    def raise_error(self) -> None:
        """Re-raise the first recorded failure, if any."""
        if self.error is not None:
            raise self.error
