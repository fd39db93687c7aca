"""Run `sargeo colorize --progress json` as a child process and relay it to a Processing feedback.

Standard library only: this module must not pull numpy, torch or rasterio into QGIS's Python.
"""

from __future__ import annotations

import glob
import json
import os
import queue
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Protocol

# QGIS's own Python setup would break the child's interpreter (QGIS PR #67319), and QGIS's GDAL/PROJ data
# (or, on macOS, its library path) would override the ones bundled with rasterio's wheels.
DROPPED_ENV = ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONUSERBASE", "PYTHONEXECUTABLE",
               "GDAL_DATA", "GDAL_DRIVER_PATH", "PROJ_LIB", "PROJ_DATA", "DYLD_LIBRARY_PATH")
POLL_S = 0.1  # how often cancel is checked while the child is silent
GRACE_S = 3.0  # SIGTERM lets the CLI delete its temp file; SIGKILL after this
NO_WINDOW = getattr(subprocess, "CREATE_NO_WINDOW", 0)  # Windows only: no console flashing up over QGIS


class Feedback(Protocol):
    """The part of QgsProcessingFeedback used here."""

    def isCanceled(self) -> bool: ...
    def setProgress(self, progress: float) -> None: ...
    def pushInfo(self, info: str) -> None: ...
    def pushWarning(self, warning: str) -> None: ...
    def pushConsoleInfo(self, info: str) -> None: ...


class CliFailed(Exception):
    """The CLI exited non-zero; the message is its one-line `Error:` text."""


def child_env(environ: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in environ.items() if k not in DROPPED_ENV}
    env.update(PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8")  # progress lines arrive as printed
    return env


class Leftovers:
    """What a killed child may leave: its hidden `.<name>.*.tmp` file and a freshly written output."""

    def __init__(self, dst: Path) -> None:
        self.dst = dst
        self.pattern = str(dst.parent / (glob.escape(f".{dst.name}.") + "*.tmp"))
        self.before = set(glob.glob(self.pattern))
        self.stamp = _stamp(dst)

    def remove(self, output: bool) -> None:
        """Only files this run created or changed, so a neighbouring run's temp file survives."""
        for path in set(glob.glob(self.pattern)) - self.before:
            Path(path).unlink(missing_ok=True)
        if output and _stamp(self.dst) != self.stamp:
            self.dst.unlink(missing_ok=True)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def _pump(stream: IO[str], name: str, lines: queue.Queue) -> None:
    with stream:
        for line in stream:
            lines.put((name, line.rstrip("\r\n")))
    lines.put((name, None))


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(GRACE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class _Relay:
    """Turns the child's lines into feedback calls and remembers what the caller needs."""

    def __init__(self, feedback: Feedback) -> None:
        self.feedback = feedback
        self.error: str | None = None
        self.last_stderr = ""
        self.done: dict | None = None

    def stdout(self, line: str) -> None:
        try:
            event = json.loads(line)
        except ValueError:
            event = None
        if not isinstance(event, dict):
            self.feedback.pushConsoleInfo(line)
        elif event.get("event") == "start":
            self.feedback.pushInfo(f"Colorizing {event.get('width')} x {event.get('height')} pixels "
                                   f"in {event.get('tiles')} tiles on {event.get('device')}")
        elif event.get("event") == "progress":
            self.feedback.setProgress(100.0 * float(event.get("fraction") or 0.0))
        elif event.get("event") == "done":
            self.done = event
            self.feedback.setProgress(100.0)
            seconds = float(event.get("seconds") or 0)
            self.feedback.pushInfo(f"Done in {seconds:.1f} s on {event.get('device')}")

    def stderr(self, line: str) -> None:
        if not line.strip():
            return
        self.last_stderr = line
        if line.startswith("Error: "):
            self.error = line[len("Error: "):]
        elif line.startswith("Warning: "):
            self.feedback.pushWarning(line[len("Warning: "):])
        else:
            self.feedback.pushInfo(line)


def run_cli(command: Sequence[str], dst: Path, feedback: Feedback) -> dict | None:
    """Run to completion and return the `done` event, or None if the user canceled.

    A reader thread per pipe keeps this loop free to notice a cancel within POLL_S even while the child
    is silent; on cancel the child is stopped and whatever it left behind is removed.
    """
    leftovers = Leftovers(dst)
    try:
        proc = subprocess.Popen(
            list(command), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=child_env(os.environ), text=True, encoding="utf-8", errors="replace", creationflags=NO_WINDOW)
    except OSError as exc:
        raise CliFailed(f"could not start {command[0]}: {exc}") from exc
    lines: queue.Queue = queue.Queue()
    for stream, name in ((proc.stdout, "stdout"), (proc.stderr, "stderr")):
        threading.Thread(target=_pump, args=(stream, name, lines), daemon=True).start()
    relay, open_streams = _Relay(feedback), 2
    try:
        while open_streams:
            if feedback.isCanceled():
                _stop(proc)
                leftovers.remove(output=True)
                return None
            try:
                name, line = lines.get(timeout=POLL_S)
            except queue.Empty:
                continue
            if line is None:
                open_streams -= 1
            else:
                getattr(relay, name)(line)
        code = proc.wait()
    finally:
        if proc.poll() is None:
            _stop(proc)
    if code != 0:
        leftovers.remove(output=False)
        raise CliFailed(relay.error or f"sargeo exited with code {code}: {relay.last_stderr or 'no message'}")
    return relay.done or {"output": str(dst)}
