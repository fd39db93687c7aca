"""QGIS plugin entry point; QGIS calls classFactory when it loads the plugin."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qgis.gui import QgisInterface

    from .plugin import SargeoPlugin


def classFactory(iface: QgisInterface | None) -> SargeoPlugin:
    """Imports lazily so that the package's standard-library modules load without QGIS (tests, tools)."""
    from .plugin import SargeoPlugin

    return SargeoPlugin(iface)
