"""`python -m sargeo.cli` runs the CLI (used by torchrun, the QGIS plugin and tests)."""

from .entry import main

main()
