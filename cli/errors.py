"""Turn library exceptions into rio-style one-line messages: exit 2 for bad input, 1 for the unexpected."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any

import click


class SargeoError(click.ClickException):
    """A user-facing failure: one line on stderr, exit code 2."""

    exit_code = 2


#: Bad input or environment (CheckpointError and rasterio's I/O errors are among these).
EXPECTED = (ValueError, OSError)


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def friendly_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command, reporting failures and Ctrl-C without a traceback (set SARGEO_DEBUG=1 for one)."""

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
            if os.environ.get("SARGEO_DEBUG"):
                raise
            raise SargeoError(one_line(exc)) from None
        except Exception as exc:  # a bug: still one line, with a way to see more
            if os.environ.get("SARGEO_DEBUG"):
                raise
            click.echo(f"Error: unexpected {type(exc).__name__}: {one_line(exc)} "
                       "(set SARGEO_DEBUG=1 for a traceback)", err=True)
            sys.exit(1)

    return wrapper
