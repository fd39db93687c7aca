"""`sargeo colorize` from the shell: JSON progress, one-line errors, exit codes, SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from synthetic import write_scene

from sargeo.cli.main import cli

SARGEO = [sys.executable, "-m", "sargeo.cli"]


def _args(src, dst, ckpt, *extra: str) -> list[str]:
    return ["colorize", str(src), str(dst), "-c", str(ckpt), *extra]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*SARGEO, *args], capture_output=True, text=True, timeout=300)


def test_json_progress_on_stdout(tmp_path, tiny_checkpoint):
    src = write_scene(tmp_path / "in.tif", width=400, height=300)
    res = _run(*_args(src, tmp_path / "out.tif", tiny_checkpoint, "--device", "cpu", "--progress", "json"))
    assert res.returncode == 0, res.stderr
    events = [json.loads(line) for line in res.stdout.splitlines()]
    assert [e["event"] for e in events][0] == "start" and events[-1]["event"] == "done"
    assert max(e.get("fraction", 0) for e in events) == 1.0
    assert (tmp_path / "out.tif").is_file()


@pytest.mark.parametrize(("make", "message"), [
    (lambda d: d / "missing.tif", "input not found"),
    (lambda d: (d / "notes.txt").write_text("hello") and d / "notes.txt", "cannot open"),
])
def test_bad_inputs_give_one_line_and_exit_2(tmp_path, tiny_checkpoint, make, message):
    src = make(tmp_path)
    result = CliRunner().invoke(cli, _args(src, tmp_path / "o.tif", tiny_checkpoint))
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:") and message in lines[0]
    assert not (tmp_path / "o.tif").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--co", "NOEQUALS"], "KEY=VALUE"),
    (["--overlap", "300"], "overlap"),
    (["--band", "HH"], "no band named"),
    (["--db-range", "0", "-25"], "MIN < MAX"),
    (["--device", "cuda:7"], "cuda"),
])
def test_bad_options_exit_2(tmp_path, tiny_checkpoint, args, message):
    src = write_scene(tmp_path / "in.tif", width=100, height=100)
    result = CliRunner().invoke(cli, _args(src, tmp_path / "o.tif", tiny_checkpoint, *args))
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "o.tif").exists()


def test_existing_output_is_refused_without_overwrite(tmp_path, tiny_checkpoint):
    src = write_scene(tmp_path / "in.tif", width=100, height=100)
    (tmp_path / "o.tif").write_bytes(b"keep")
    result = CliRunner().invoke(cli, _args(src, tmp_path / "o.tif", tiny_checkpoint))
    assert result.exit_code == 2 and "--overwrite" in result.output
    assert (tmp_path / "o.tif").read_bytes() == b"keep"


def test_creation_options_and_overviews_reach_the_file(tmp_path, tiny_checkpoint):
    src = write_scene(tmp_path / "in.tif", width=600, height=540)
    result = CliRunner().invoke(cli, _args(src, tmp_path / "o.tif", tiny_checkpoint, "--co", "compress=lzw",
                                            "--overviews", "--quiet", "--device", "cpu"))
    assert result.exit_code == 0, result.output
    with rasterio.open(tmp_path / "o.tif") as ds:
        assert ds.compression.name == "lzw"
        assert ds.overviews(1) == [2]


def test_overviews_on_a_scene_too_small_for_them(tmp_path, tiny_checkpoint):
    src = write_scene(tmp_path / "in.tif", width=300, height=200)
    result = CliRunner().invoke(cli, _args(src, tmp_path / "o.tif", tiny_checkpoint, "--overviews", "-q"))
    assert result.exit_code == 0, result.output
    with rasterio.open(tmp_path / "o.tif") as ds:
        assert ds.overviews(1) == []


def test_sigterm_leaves_no_output(tmp_path, tiny_checkpoint):
    yy = np.zeros((1500, 2000))
    src = write_scene(tmp_path / "big.tif", width=2000, height=1500, values=yy - 10)
    proc = subprocess.Popen([*SARGEO, *_args(src, tmp_path / "o.tif", tiny_checkpoint, "--device", "cpu",
                                                   "--batch-size", "1", "--progress", "json")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if json.loads(line)["event"] == "progress":
            break
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "interrupted" in err
    assert sorted(p.name for p in Path(tmp_path).iterdir()) == ["big.tif"]


def test_available_as_rio_colorize(tmp_path, tiny_checkpoint):
    src = write_scene(tmp_path / "in.tif", width=120, height=100)
    rio = Path(sys.executable).with_name("rio")
    res = subprocess.run([str(rio), *_args(src, tmp_path / "o.tif", tiny_checkpoint, "--quiet")],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    with rasterio.open(tmp_path / "o.tif") as ds:
        assert ds.count == 4


def test_unexpected_failure_is_one_line_with_exit_1(tmp_path, tiny_checkpoint, monkeypatch):
    import sargeo.scene as engine

    def boom(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(engine, "colorize", boom)
    src = write_scene(tmp_path / "in.tif", width=100, height=100)
    result = CliRunner().invoke(cli, _args(src, tmp_path / "o.tif", tiny_checkpoint))
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: unexpected RuntimeError: boom (set SARGEO_DEBUG=1 for a traceback)"]
