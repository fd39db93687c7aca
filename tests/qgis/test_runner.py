"""The plugin's process runner (standard library only) against small stand-in children; no QGIS needed."""

from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path

import pytest
from sargeo_qgis import runner


class Feedback:
    def __init__(self, cancel_after: float | None = None) -> None:
        self.cancel_at = None if cancel_after is None else time.monotonic() + cancel_after
        self.progress: list[float] = []
        self.info: list[str] = []
        self.warnings: list[str] = []

    def isCanceled(self) -> bool:
        return self.cancel_at is not None and time.monotonic() >= self.cancel_at

    def setProgress(self, progress: float) -> None:
        self.progress.append(progress)

    def pushInfo(self, info: str) -> None:
        self.info.append(info)

    def pushWarning(self, warning: str) -> None:
        self.warnings.append(warning)

    pushConsoleInfo = pushInfo


def child(tmp_path: Path, body: str) -> list[str]:
    script = tmp_path / "child.py"
    script.write_text("import json, os, signal, sys, time\n" + textwrap.dedent(body))
    return [sys.executable, str(script)]


def test_progress_warnings_and_a_clean_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/usr/share/qgis/python")
    monkeypatch.setenv("PYTHONHOME", "/usr")
    command = child(tmp_path, """
        print(json.dumps({"event": "start", "device": "cpu", "tiles": 2, "width": 3, "height": 4}))
        print("Warning: pixel size is odd", file=sys.stderr)
        print("PYTHONPATH=%s PYTHONHOME=%s" % (os.environ.get("PYTHONPATH"), os.environ.get("PYTHONHOME")),
              file=sys.stderr)
        print(json.dumps({"event": "progress", "fraction": 0.5}))
        print(json.dumps({"event": "done", "output": "x.tif", "seconds": 1.25, "device": "cpu"}))
    """)
    feedback = Feedback()
    assert runner.run_cli(command, tmp_path / "out.tif", feedback)["output"] == "x.tif"
    assert feedback.progress == [50.0, 100.0]
    assert feedback.warnings == ["pixel size is odd"]
    assert "PYTHONPATH=None PYTHONHOME=None" in feedback.info
    assert "Colorizing 3 x 4 pixels in 2 tiles on cpu" in feedback.info
    assert "Done in 1.2 s on cpu" in feedback.info


def test_cancel_kills_a_silent_child_that_ignores_sigterm_and_removes_its_leftovers(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "GRACE_S", 0.5)
    dst = tmp_path / "out.tif"
    other_run = tmp_path / ".out.tif.other.tmp"
    other_run.touch()
    command = child(tmp_path, f"""
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        open({str(tmp_path / '.out.tif.1234abcd.tmp')!r}, "w").close()
        open({str(dst)!r}, "w").close()
        time.sleep(60)
    """)
    start = time.monotonic()
    assert runner.run_cli(command, dst, Feedback(cancel_after=1.0)) is None
    assert time.monotonic() - start < 3
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.tif.other.tmp", "child.py"]


def test_failure_carries_the_one_line_message(tmp_path):
    command = child(tmp_path, """
        print("loading model", file=sys.stderr)
        print("Error: band 7 out of range: the input has 1 band(s)", file=sys.stderr)
        sys.exit(2)
    """)
    with pytest.raises(runner.CliFailed, match=r"^band 7 out of range: the input has 1 band\(s\)$"):
        runner.run_cli(command, tmp_path / "out.tif", Feedback())


def test_a_missing_program_is_a_failure_not_a_crash(tmp_path):
    with pytest.raises(runner.CliFailed, match="could not start"):
        runner.run_cli([str(tmp_path / "nope")], tmp_path / "out.tif", Feedback())
