"""The read and write stages of the scene engine on their own, with plain arrays."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from rasterio.transform import from_origin
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.utils._python_dispatch import TorchDispatchMode

from sargeo.sar_input import InputSpec
from sargeo.scaling import SarScaling
from sargeo.sink import _copy, write_blocks
from sargeo.source import Uploader, read_strips

TILE = 8


def test_strips_are_cut_padded_and_flag_each_tile_column(tmp_path):
    """A 12 x 20 scene, nodata in columns 0-5 and one hole; tiles of 8 at columns 0, 6, 12 of
    the span [2, 20)."""
    values = np.arange(12 * 20, dtype=np.float32).reshape(12, 20) / 240 * -20
    values[:, :6] = -9999
    values[9, 15] = -9999
    path = tmp_path / "s.tif"
    with rasterio.open(path, "w", driver="GTiff", width=20, height=12, count=1, dtype="float32", nodata=-9999,
                       crs="EPSG:32631", transform=from_origin(0, 120, 10, 10)) as dst:
        dst.write(values[None])
    spec = InputSpec(1, "db", SarScaling(), -9999.0)
    with rasterio.open(path) as ds:
        strips = list(read_strips(ds, str(path), spec, [0, 6], TILE, (2, 20), [0, 6, 10]))
    assert [s.row for s in strips] == [0, 6]
    top, bottom = strips
    v, valid = (a.numpy() for a in top.arrays)
    assert v.shape == valid.shape == (TILE, 18)
    np.testing.assert_array_equal(v, values[:8, 2:])
    # column 0 spans scene columns 2-9: partly valid; 6 (8-15) and 10 (12-19) fully valid above row 8
    assert top.flags == [(True, True), (True, False), (True, False)]
    v, valid = (a.numpy() for a in bottom.arrays)
    np.testing.assert_array_equal(v[:6], values[6:, 2:])  # 6 scene rows, then reflected up to the tile
    np.testing.assert_array_equal(v[6:], values[11:9:-1, 2:])
    assert bottom.flags == [(True, True), (True, True), (True, True)]  # the hole at (9, 15) is in both
    assert not valid[3, 13] and valid[3, 12]


def test_nodata_only_tile_columns_are_flagged_to_skip(tmp_path):
    values = np.full((8, 16), -9999, np.float32)
    values[:, 12:] = -10
    path = tmp_path / "s.tif"
    with rasterio.open(path, "w", driver="GTiff", width=16, height=8, count=1, dtype="float32",
                       nodata=-9999) as dst:
        dst.write(values[None])
    with rasterio.open(path) as ds:
        (strip,) = read_strips(ds, str(path), InputSpec(1, "db", SarScaling(), -9999.0), [0], TILE, (0, 16),
                               [0, 8])
    assert strip.flags == [(False, True), (True, True)]


class _Recorder:
    width, count = 5, 4

    def __init__(self) -> None:
        self.windows: list[tuple[int, int]] = []
        self.rows: list[np.ndarray] = []

    def write(self, data: np.ndarray, window) -> None:
        self.windows.append((window.row_off, window.height))
        self.rows.append(data.copy())  # as GDAL does: the caller reuses its buffer


@pytest.mark.parametrize("strip_rows", [[6, 6, 6, 6, 3], [16, 1], [4, 4, 4, 4], [1] * 9])
def test_rows_are_written_in_whole_blocks_in_order(strip_rows):
    rng = np.random.default_rng(0)
    strips = [rng.integers(0, 255, (4, n, 5), dtype=np.uint8) for n in strip_rows]
    queue = [*strips, None]
    out = _Recorder()
    write_blocks(out, 4, lambda: queue.pop(0), [])
    total = sum(strip_rows)
    starts = [s for s, _ in out.windows]
    assert starts == sorted(starts) and all(h % 4 == 0 for _, h in out.windows[:-1])
    assert sum(h for _, h in out.windows) == total
    np.testing.assert_array_equal(np.concatenate(out.rows, axis=1), np.concatenate(strips, axis=1))


def test_writing_stops_at_the_first_gdal_message():
    queue = [np.zeros((4, 8, 5), np.uint8), np.zeros((4, 8, 5), np.uint8), None]
    messages: list[str] = []
    out = _Recorder()

    def next_rows():
        messages.append("TIFFWriteEncodedTile: disk full")  # GDAL complains during the first write
        return queue.pop(0)

    write_blocks(out, 4, next_rows, messages)
    assert len(out.windows) == 1 and len(queue) == 2


def _threads_started_by(work: Callable[[Callable[[], None]], None]) -> int:
    """OS threads that `work`, run in a fresh thread as a stage runs, has added by the time it
    calls back (a thread pool started by work lives until its thread ends)."""
    counts: list[int] = []

    def count() -> None:
        counts.append(len(os.listdir("/proc/self/task")))

    def stage() -> None:
        count()
        work(count)

    thread = threading.Thread(target=stage)
    thread.start()
    thread.join()
    return counts[-1] - counts[0]


@pytest.fixture
def two_torch_threads():
    """torch with a pool of two threads, as on the smallest CPU the engine runs on."""
    if not Path("/proc/self/task").is_dir():
        pytest.skip("needs Linux's /proc to count threads")
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_host_rows_are_written_without_starting_a_torch_thread_pool(two_torch_threads):
    """A second OpenMP team beside the model's makes libgomp put the model's threads to sleep
    between ops (on 2 cores the engine ran 10 % slower); rows large enough for torch to copy in
    parallel, as torch tensors and as numpy arrays."""
    rows = torch.arange(4 * 64 * 512, dtype=torch.int32).to(torch.uint8).reshape(4, 64, 512)

    def write(done: Callable[[], None]) -> None:
        queue = [rows, rows[:, 8:40].numpy(), None]
        out = _Recorder()
        out.width = 512

        def next_rows():
            if len(queue) == 1:
                done()
            return queue.pop(0)

        write_blocks(out, 48, next_rows, [])
        assert sum(h for _, h in out.windows) == 96

    assert torch.get_num_threads() == 2
    assert _threads_started_by(write) <= 0  # threads of earlier tests may end meanwhile


def test_strips_are_read_without_starting_a_torch_thread_pool(two_torch_threads, tmp_path):
    path = tmp_path / "s.tif"
    with rasterio.open(path, "w", driver="GTiff", width=600, height=300, count=1, dtype="float32",
                       nodata=-9999) as dst:
        dst.write(np.full((1, 300, 600), -12, np.float32))
    spec = InputSpec(1, "db", SarScaling(), -9999.0)

    def read(done: Callable[[], None]) -> None:
        upload = Uploader(torch.device("cpu"))
        with rasterio.open(path) as ds:
            strips = read_strips(ds, str(path), spec, [0, 192], 256, (0, 600), [0, 192, 344])
            strips = [upload(s) for s in strips]
        assert [s.arrays[0].shape for s in strips] == [(256, 600)] * 2
        done()

    assert _threads_started_by(read) <= 0


class _Copies(TorchDispatchMode):
    """Records each copy_ as (destination device, destination contiguous, source device)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, bool, str]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is torch.ops.aten.copy_.default:
            self.seen.append((args[0].device.type, args[0].is_contiguous(), args[1].device.type))
        return func(*args, **(kwargs or {}))


def test_rows_on_a_gpu_are_copied_straight_into_the_block_buffer():
    """A copy from a GPU into a strided host slice is staged by torch in pageable memory and
    copied again on the host (with its thread pool); band by band, each destination is
    contiguous. Checked on fake CUDA tensors, no GPU needed."""
    copies = _Copies()
    with FakeTensorMode(allow_non_fake_inputs=True):
        buffer = torch.empty(4, 16, 40, dtype=torch.uint8)
        rows = torch.empty(4, 10, 50, dtype=torch.uint8, device="cuda")[:, 2:8, 5:45]  # a cropped strip
        with copies:
            _copy(buffer[:, 3:9], rows)
    assert copies.seen == [("cpu", True, "cuda")] * 4
