"""Import the heavy libraries a command needs (PyTorch, rasterio) without the garbage
collector walking their objects again and again.

Importing PyTorch leaves about 190,000 objects that live as long as the process; while they
are created, CPython runs full collections over all of them (three, about 170 ms of a 1.5 s
import on 2 cores), and at exit it collects them once more before tearing down (0.3-0.6 s).
None of that frees anything. Frozen after the import, they are skipped by every later
collection, the one at exit included.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def heavy_imports() -> Iterator[None]:
    """No collection while inside; everything that exists on leaving is frozen (kept out of
    later collections), and the collector is left as it was. Nothing happens once PyTorch is
    loaded (a second command in one process, a test): there is nothing left to gain."""
    if "torch" in sys.modules:
        yield
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def freeze_before_exit() -> None:
    """The process ends next: spare it the collection at exit of objects that stay till the end."""
    gc.freeze()
