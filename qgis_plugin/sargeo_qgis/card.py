"""The model card's summary for the algorithm's help, read from `sargeo info` without holding up QGIS.

Standard library only. `sargeo info` loads PyTorch (seconds), so it runs once per executable in a
background thread and the help waits for it at most WAIT_S, showing its static text otherwise.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from .runner import NO_WINDOW, child_env

WAIT_S = 3.0  # the longest the help (drawn in QGIS's GUI thread) waits for the card
LIMIT_S = 120.0  # a hung `sargeo info` is killed after this

_cards: dict[str, Future] = {}
_lock = threading.Lock()


def fetch(exe: str) -> Future:
    """Start `exe info` unless it already ran or runs: every later call shares that one result."""
    with _lock:
        if exe not in _cards:
            _cards[exe] = Future()
            threading.Thread(target=_read_card, args=(exe, _cards[exe]), daemon=True).start()
        return _cards[exe]


def summary(exe: str, wait: float = WAIT_S) -> str | None:
    """The card's summary as HTML; None while `sargeo info` is still running after `wait` s, or failed."""
    try:
        return fetch(exe).result(timeout=wait)
    except FutureTimeout:
        return None


def _read_card(exe: str, future: Future) -> None:
    """Always settles the future, so a failure costs the help its card, never WAIT_S on every opening."""
    text = None
    try:
        proc = subprocess.run([exe, "info"], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              encoding="utf-8", errors="replace", env=child_env(os.environ), timeout=LIMIT_S,
                              creationflags=NO_WINDOW)
        if proc.returncode == 0:
            text = card_html(proc.stdout) or None
    except (OSError, subprocess.SubprocessError):
        pass  # the help keeps its static text
    finally:
        future.set_result(text)


def card_html(card: str) -> str:
    """Title, summary and verdicts of the Markdown card: the paragraphs before the first section, and in
    each section the paragraph right after its first table (e.g. whether the model beats the flat mean
    colour on scenes it never saw)."""
    parts: list[str] = []
    in_section = table_seen = after_table = False
    for block in (b.strip() for b in re.split(r"\n\s*\n", card)):
        if block.startswith("# "):
            parts.append(f"<h3>{_inline(block[2:].splitlines()[0])}</h3>")
        elif block.startswith("## "):
            in_section, table_seen, after_table = True, False, False
        elif block.startswith("|"):
            after_table, table_seen = not table_seen, True
        elif block:
            if not in_section or after_table:
                parts.append(f"<p>{_inline(block)}</p>")
            after_table = False
    return "\n".join(parts)


def _inline(text: str) -> str:
    """Markdown bold and code spans to HTML, everything else escaped."""
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(text, quote=False))
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
