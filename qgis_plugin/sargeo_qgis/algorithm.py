"""`sargeo:colorize`: Processing front end for `sargeo colorize`, run as a separate process."""

from __future__ import annotations

import shlex
import tempfile
from pathlib import Path

from processing.core.ProcessingConfig import ProcessingConfig
from qgis.core import (
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingParameterBand,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from .executable import SETTING, ExecutableNotFound, find_executable
from .layers import export_aoi, export_raster, raster_file
from .runner import CliFailed, run_cli

DEVICES = ["auto", "cpu", "cuda", "mps"]

HELP = f"""<p>Colorizes a Sentinel-1 SAR band (dB, linear power, amplitude or 8-bit) into an optical-looking
RGB + alpha GeoTIFF on the same pixel grid, with the sargeo GAN.</p>
<p>The model runs in the <b>sargeo</b> command-line tool, in its own Python environment, so PyTorch is
never loaded into QGIS. Install it with <code>pip install sargeo</code> into a separate virtual
environment and run <code>sargeo qgis-plugin install</code> from it, or point the Processing setting
<code>{SETTING}</code> (Settings &gt; Options &gt; Processing &gt; Providers &gt; sargeo) or the environment
variable <code>{SETTING}</code> to its executable.</p>
<p><b>Band</b>: the SAR band to colorize (e.g. VV). <b>Model checkpoint</b>: a .pt file from
<code>sargeo train</code>; empty uses the model shipped with sargeo. <b>Overlap</b>: pixels shared by
neighbouring 256 px tiles, blended to hide seams (empty: the CLI's default). <b>Batch size</b>: tiles per
step; lower it if the GPU runs out of memory. <b>Device</b>: auto picks CUDA, then MPS, then CPU; the log
says which ran. <b>Area of interest</b>: only pixels inside its polygons are colorized.</p>
<p>Layers that are not plain files (e.g. /vsimem/, subdatasets) are first exported to a temporary
GeoTIFF; web layers (WMS/XYZ) are refused.</p>"""


class ColorizeAlgorithm(QgsProcessingAlgorithm):
    INPUT, BAND, CHECKPOINT, OVERLAP, BATCH_SIZE, DEVICE, AOI, OUTPUT = (
        "INPUT", "BAND", "CHECKPOINT", "OVERLAP", "BATCH_SIZE", "DEVICE", "AOI", "OUTPUT")

    def name(self) -> str:
        return "colorize"

    def displayName(self) -> str:
        return "Colorize SAR scene"

    def shortHelpString(self) -> str:
        return HELP

    def createInstance(self) -> ColorizeAlgorithm:
        return ColorizeAlgorithm()

    def initAlgorithm(self, config: dict | None = None) -> None:
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, "SAR raster"))
        # optional only so that 3.22 accepts a missing BAND (it ignores the default otherwise); unset means 1
        self.addParameter(QgsProcessingParameterBand(self.BAND, "SAR band", 1, self.INPUT, optional=True))
        self.addParameter(QgsProcessingParameterFile(
            self.CHECKPOINT, "Model checkpoint (empty: the model shipped with sargeo)", optional=True,
            fileFilter="PyTorch checkpoint (*.pt *.pth);;All files (*.*)"))
        overlap = QgsProcessingParameterNumber(self.OVERLAP, "Tile overlap (pixels)",
                                               QgsProcessingParameterNumber.Integer, None, True, 0, 255)
        batch = QgsProcessingParameterNumber(self.BATCH_SIZE, "Batch size (tiles)",
                                             QgsProcessingParameterNumber.Integer, 8, False, 1)
        for param in (overlap, batch):
            param.setFlags(param.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
            self.addParameter(param)
        self.addParameter(QgsProcessingParameterEnum(self.DEVICE, "Device", DEVICES, defaultValue=0))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.AOI, "Area of interest", [QgsProcessing.TypeVectorPolygon], optional=True))
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, "Colorized RGB"))

    def processAlgorithm(self, parameters: dict, context: QgsProcessingContext,
                         feedback: QgsProcessingFeedback) -> dict:
        try:
            exe = find_executable(ProcessingConfig.getSetting(SETTING))
        except ExecutableNotFound as exc:
            raise QgsProcessingException(str(exc)) from exc
        layer = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        if layer is None:
            raise QgsProcessingException(self.invalidRasterError(parameters, self.INPUT))
        dst = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        with tempfile.TemporaryDirectory(prefix="sargeo_qgis_") as tmp:
            src = raster_file(layer) or export_raster(layer, Path(tmp) / "input.tif", context, feedback)
            command = [exe, "colorize", src, dst, *self._options(parameters, context), "--overwrite",
                       "--progress", "json"]
            if self.parameterAsSource(parameters, self.AOI, context) is not None:
                command += ["--aoi", export_aoi(parameters[self.AOI], Path(tmp) / "aoi.geojson", context,
                                                feedback)]
            if feedback.isCanceled():
                return {}
            feedback.pushCommandInfo(shlex.join(command))
            try:
                done = run_cli(command, Path(dst), feedback)
            except CliFailed as exc:
                raise QgsProcessingException(str(exc)) from exc
        return {} if done is None else {self.OUTPUT: dst}

    def _options(self, parameters: dict, context: QgsProcessingContext) -> list[str]:
        options = ["--band", str(self.parameterAsInt(parameters, self.BAND, context)),
                   "--batch-size", str(self.parameterAsInt(parameters, self.BATCH_SIZE, context)),
                   "--device", DEVICES[self.parameterAsEnum(parameters, self.DEVICE, context)]]
        checkpoint = self.parameterAsFile(parameters, self.CHECKPOINT, context)
        if checkpoint:
            options += ["--checkpoint", checkpoint]
        if parameters.get(self.OVERLAP) not in (None, ""):
            options += ["--overlap", str(self.parameterAsInt(parameters, self.OVERLAP, context))]
        return options
