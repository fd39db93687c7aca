"""The `sargeo` executable. Kept free of heavy imports so that Ctrl-C at any point,
even while PyTorch is still loading, ends in one line instead of a traceback."""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from sargeo.cli.errors import signals_interrupt

        with signals_interrupt():
            from sargeo.cli.main import cli
    except KeyboardInterrupt as exc:
        from sargeo.cli.errors import exit_interrupted

        exit_interrupted(exc)
    try:
        cli()
    finally:
        from sargeo.cli.imports import freeze_before_exit

        freeze_before_exit()


if __name__ == "__main__":
    sys.exit(main())
