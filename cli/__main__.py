"""`python -m sargeo.cli` runs the CLI (used by torchrun and by tests)."""

from .main import cli

cli()
