"""Failure injection in every stage of the scene engine: each run ends within seconds with one
clear error, leaves no file behind, and never touches an existing destination."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from synthetic import write_scene

import sargeo.scene as scene
import sargeo.sink as sink
import sargeo.source as source
from sargeo.checkpoint import Checkpoint, load_checkpoint
from sargeo.progress import Progress

SARGEO = [sys.executable, "-m", "sargeo.cli"]
DEADLINE_S = 60


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tall_scene(tmp_path: Path) -> Path:
    """Taller than the queues between the stages (the writer hang needed > 4 tile rows)."""
    rng = np.random.default_rng(0)
    return write_scene(tmp_path / "in.tif", width=300, height=1500, values=rng.normal(-12, 3, (1500, 300)))


def _run_with_deadline(fn) -> BaseException | None:
    """Run fn in a thread; fail the test if it has not returned within DEADLINE_S (a hang)."""
    box: list[BaseException | None] = [None]

    def target() -> None:
        try:
            fn()
        except BaseException as exc:  # returned to the test
            box[0] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(DEADLINE_S)
    assert not t.is_alive(), "colorize hung"
    return box[0]


def _existing_output(tmp_path: Path) -> tuple[Path, str]:
    dst = tmp_path / "out.tif"
    dst.write_bytes(b"an earlier, valid result")
    return dst, _digest(dst)


def _left_over(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in tmp_path.iterdir() if p.name not in ("in.tif", "out.tif"))


@pytest.mark.parametrize("readers", [1, 3])
def test_reader_failure_stops_the_run(tmp_path, tiny_checkpoint, monkeypatch, readers):
    monkeypatch.setattr(scene, "reader_count", lambda _device: readers)
    src = _tall_scene(tmp_path)
    dst, before = _existing_output(tmp_path)
    calls = []
    real = source.read_strip

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("injected read failure")
        return real(*args, **kwargs)

    monkeypatch.setattr(source, "read_strip", failing)
    err = _run_with_deadline(lambda: scene.colorize(src, dst, tiny_checkpoint, device="cpu", overwrite=True))
    assert isinstance(err, OSError) and "injected read failure" in str(err)
    assert _digest(dst) == before and _left_over(tmp_path) == []


@pytest.mark.parametrize("after_blocks", [0, 1])
def test_writer_failure_stops_the_run_instead_of_hanging(tmp_path, tiny_checkpoint, monkeypatch,
                                                         after_blocks):
    src = _tall_scene(tmp_path)
    dst, before = _existing_output(tmp_path)
    def failing(out, block, next_rows, messages):
        if after_blocks:
            next_rows()
        raise OSError("injected write failure")

    monkeypatch.setattr(sink, "write_blocks", failing)
    err = _run_with_deadline(lambda: scene.colorize(src, dst, tiny_checkpoint, device="cpu", overwrite=True,
                                                    batch_size=1))
    assert isinstance(err, OSError) and "injected write failure" in str(err)
    assert _digest(dst) == before and _left_over(tmp_path) == []


def test_model_failure_stops_the_run(tmp_path, tiny_checkpoint):
    src = _tall_scene(tmp_path)
    dst, before = _existing_output(tmp_path)
    ckpt = load_checkpoint(tiny_checkpoint)
    calls = []

    class Failing(torch.nn.Module):
        width = ckpt.generator.width

        def forward(self, x):
            calls.append(1)
            if len(calls) == 4:
                raise RuntimeError("injected model failure")
            return ckpt.generator(x)

    failing = Checkpoint(generator=Failing(), scaling=ckpt.scaling)
    err = _run_with_deadline(lambda: scene.colorize(src, dst, failing, device="cpu", overwrite=True,
                                                    batch_size=1))
    assert isinstance(err, RuntimeError) and "injected model failure" in str(err)
    assert _digest(dst) == before and _left_over(tmp_path) == []


def test_output_that_appears_during_the_run_is_not_replaced(tmp_path, tiny_checkpoint):
    """Two runs to the same new file: the one that finishes second must not clobber the first."""
    src = write_scene(tmp_path / "in.tif", width=300, height=300)
    dst = tmp_path / "out.tif"

    class OtherRunFinishes(Progress):
        def advance(self, n: int) -> None:
            super().advance(n)
            if not dst.exists():
                dst.write_bytes(b"the other run's result")

    err = _run_with_deadline(lambda: scene.colorize(src, dst, tiny_checkpoint, device="cpu",
                                                    progress=OtherRunFinishes()))
    assert isinstance(err, ValueError) and "appeared" in str(err)
    assert dst.read_bytes() == b"the other run's result" and _left_over(tmp_path) == []


def _cli(*args: str, preexec=None, timeout: float = DEADLINE_S) -> subprocess.CompletedProcess:
    return subprocess.run([*SARGEO, *args], capture_output=True, text=True, timeout=timeout,
                          preexec_fn=preexec)


def _limit_file_size() -> None:
    """Like a full disk: writes past 200 kB fail with EFBIG instead of killing the process."""
    import resource

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs POSIX file size limits")
def test_full_disk_is_an_error_and_keeps_the_existing_output(tmp_path, tiny_checkpoint):
    rng = np.random.default_rng(1)
    src = write_scene(tmp_path / "in.tif", width=900, height=900, values=rng.normal(-12, 4, (900, 900)))
    dst, before = _existing_output(tmp_path)
    res = _cli("colorize", str(src), str(dst), "-c", str(tiny_checkpoint), "--overwrite", "--device", "cpu",
               "--progress", "none", preexec=_limit_file_size)
    assert res.returncode == 2, res.stderr
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: ") and str(dst) in last and "Traceback" not in res.stderr
    assert _digest(dst) == before and _left_over(tmp_path) == []


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc")
def test_unwritable_destination_fails_fast_in_one_line(tmp_path, tiny_checkpoint):
    src = _tall_scene(tmp_path)
    res = _cli("colorize", str(src), "/proc/sargeo_out.tif", "-c", str(tiny_checkpoint), "--device", "cpu",
               "--progress", "none")
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "/proc/sargeo_out.tif" in lines[0]


def test_unreadable_part_of_the_input_names_file_and_cause(tmp_path, tiny_checkpoint):
    """A file cut short: rasterio says only 'Read failed. See previous exception'."""
    src = tmp_path / "in.tif"
    rng = np.random.default_rng(2)
    write_scene(src, width=300, height=900, values=rng.normal(-12, 3, (900, 300)), border=0)
    data = src.read_bytes()
    src.write_bytes(data[: len(data) // 2])
    err = _run_with_deadline(lambda: scene.colorize(src, tmp_path / "out.tif", tiny_checkpoint, device="cpu"))
    assert isinstance(err, OSError), err
    assert str(src) in str(err) and "See previous exception" not in str(err)
    assert _left_over(tmp_path) == []


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)])
def test_signals_mid_run_clean_up_with_the_conventional_exit_code(tmp_path, tiny_checkpoint, sig, code):
    # ~1.2 s of tiles on the project's 2-core CPU after the first progress line: the signal
    # must still find it running on a machine several times faster
    src = write_scene(tmp_path / "in.tif", width=1200, height=4000, values=np.full((4000, 1200), -10.0))
    args = ["colorize", str(src), str(tmp_path / "out.tif"), "-c", str(tiny_checkpoint), "--device", "cpu",
            "--batch-size", "1", "--progress", "json"]
    proc = subprocess.Popen([*SARGEO, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if '"progress"' in line:
            break
    time.sleep(0.1)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=DEADLINE_S)
    assert proc.returncode == code, err
    assert err.strip().splitlines()[-1].startswith("Error: interrupted")
    assert "Traceback" not in err
    assert _left_over(tmp_path) == []


def test_ctrl_c_while_starting_up_is_one_line(tmp_path):
    """SIGINT while PyTorch is still being imported: no traceback, exit 130."""
    for delay in (0.2, 0.5, 1.0):
        proc = subprocess.Popen([*SARGEO, "info"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=DEADLINE_S)
        if proc.returncode == 0:  # finished before the signal arrived
            continue
        assert proc.returncode == 130, err
        assert err.strip().splitlines() == ["Error: interrupted"], err


def test_environment_is_left_as_found(tmp_path, tiny_checkpoint):
    """Signal handlers installed for a run are restored afterwards (library use in long-lived apps)."""
    from click.testing import CliRunner

    from sargeo.cli.main import cli

    before = signal.getsignal(signal.SIGTERM)
    src = write_scene(tmp_path / "in.tif", width=100, height=100)
    result = CliRunner().invoke(cli, ["colorize", str(src), str(tmp_path / "out.tif"), "-c",
                                      str(tiny_checkpoint), "-q"])
    assert result.exit_code == 0, result.output
    assert signal.getsignal(signal.SIGTERM) is before
    assert os.path.isfile(tmp_path / "out.tif")
