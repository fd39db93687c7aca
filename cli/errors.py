"""Turn library exceptions into rio-style one-line messages with exit code 2."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import click

from sargeo.checkpoint import CheckpointError


class SargeoError(click.ClickException):
    """A user-facing failure: one line on stderr, exit code 2."""

    exit_code = 2


EXPECTED = (ValueError, CheckpointError, FileNotFoundError, PermissionError, OSError)


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def friendly_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command, reporting expected failures and Ctrl-C without a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except click.ClickException:
            raise
        except KeyboardInterrupt:
            click.echo("Error: interrupted", err=True)
            sys.exit(130)
        except EXPECTED as exc:
            raise SargeoError(one_line(exc)) from None

    return wrapper
