"""Turn library exceptions and signals into rio-style one-line messages.

Exit codes: 2 for bad input or environment, 1 for the unexpected (a bug), and
128 + the signal number when a run is interrupted (130 Ctrl-C, 143 SIGTERM,
129 SIGHUP). SIGTERM and SIGHUP end a run like Ctrl-C, so temporary files are
removed on the way out.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import click

from sargeo.messages import first_line


class SargeoError(click.ClickException):
    """A user-facing failure: one line on stderr, exit code 2."""

    exit_code = 2


class Interrupted(KeyboardInterrupt):
    """A termination signal turned into an exception, so cleanup code runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


#: Bad input or environment (CheckpointError and rasterio's I/O errors are among these).
EXPECTED = (ValueError, OSError)
#: Signals that end a run cleanly besides SIGINT (which Python already raises as KeyboardInterrupt).
HANDLED_SIGNALS = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s)


def _raise_interrupted(signum: int, _frame: object) -> None:
    raise Interrupted(signum)


@contextmanager
def signals_interrupt() -> Iterator[None]:
    """While inside, SIGTERM and SIGHUP raise Interrupted (only the main thread can set handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.signal(s, _raise_interrupted) for s in HANDLED_SIGNALS}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def exit_interrupted(exc: BaseException) -> NoReturn:
    """One line and exit 128 + signal number, at once.

    Cleanup already ran while the interrupt unwound the stack (temporary files are gone);
    skipping interpreter shutdown matters when the interrupt landed inside an import, where a
    half-imported PyTorch could otherwise end the process by the signal instead (exit -2).
    """
    signum = getattr(exc, "signum", signal.SIGINT)
    name = "" if signum == signal.SIGINT else f" ({signal.Signals(signum).name})"
    click.echo(f"Error: interrupted{name}", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(128 + signum)


def friendly_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command, reporting failures and signals without a traceback (SARGEO_DEBUG=1 for one)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with signals_interrupt(), warnings.catch_warnings():
                # rasterio warns (in two lines, even with --quiet) about files without georeferencing;
                # sargeo says so itself where it matters (colorize), in one line
                warnings.filterwarnings("ignore", message="Dataset has no geotransform")
                return func(*args, **kwargs)
        except click.ClickException:
            raise
        except KeyboardInterrupt as exc:
            exit_interrupted(exc)
        except EXPECTED as exc:
            if os.environ.get("SARGEO_DEBUG"):
                raise
            raise SargeoError(first_line(exc)) from None
        except Exception as exc:  # a bug: still one line, with a way to see more
            if os.environ.get("SARGEO_DEBUG"):
                raise
            click.echo(f"Error: unexpected {type(exc).__name__}: {first_line(exc)} "
                       "(set SARGEO_DEBUG=1 for a traceback)", err=True)
            sys.exit(1)

    return wrapper
