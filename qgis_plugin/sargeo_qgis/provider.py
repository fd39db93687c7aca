"""Processing provider `sargeo`, with the executable path as a Processing setting."""

from __future__ import annotations

from processing.core.ProcessingConfig import ProcessingConfig, Setting
from qgis.core import QgsProcessingProvider

from .algorithm import ColorizeAlgorithm
from .executable import SETTING


class SargeoProvider(QgsProcessingProvider):
    def id(self) -> str:
        return "sargeo"

    def name(self) -> str:
        return "sargeo"

    def longName(self) -> str:
        return "sargeo SAR colorization"

    def load(self) -> bool:
        ProcessingConfig.settingIcons[self.name()] = self.icon()
        ProcessingConfig.addSetting(Setting(
            self.name(), SETTING, "sargeo executable (empty: $SARGEO_EXECUTABLE, the installed path, PATH)",
            "", valuetype=Setting.FILE))
        ProcessingConfig.readSettings()
        self.refreshAlgorithms()
        return True

    def unload(self) -> None:
        ProcessingConfig.removeSetting(SETTING)

    def loadAlgorithms(self) -> None:
        self.addAlgorithm(ColorizeAlgorithm())

    def supportedOutputRasterLayerExtensions(self) -> list[str]:
        """The CLI writes GeoTIFF only, so QGIS must not offer other formats."""
        return ["tif"]
