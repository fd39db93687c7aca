"""The plugin object: only registers the Processing provider (no toolbar, no dialogs of its own)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qgis.core import QgsApplication

from .algorithm import prefetch_card
from .provider import SargeoProvider

if TYPE_CHECKING:
    from qgis.gui import QgisInterface


class SargeoPlugin:
    """qgis_process calls initProcessing only; the desktop calls initGui, which does the same."""

    def __init__(self, iface: QgisInterface | None) -> None:
        self.iface = iface
        self.provider: SargeoProvider | None = None

    def initProcessing(self) -> None:
        if self.provider is None:
            self.provider = SargeoProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self) -> None:
        """Only the desktop shows help, so only it pays for `sargeo info` (in the background)."""
        self.initProcessing()
        prefetch_card()

    def unload(self) -> None:
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
