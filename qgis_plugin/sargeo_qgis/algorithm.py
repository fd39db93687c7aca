"""`sargeo:colorize`: Processing front end for `sargeo colorize`, run as a separate process."""

from __future__ import annotations

import shlex
import tempfile
from dataclasses import replace
from pathlib import Path

from processing.core.ProcessingConfig import ProcessingConfig
from qgis.core import (
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingParameterBand,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
)

from . import card
from .command import DEVICES, SCALES, ColorizeOptions, colorize_command, creation_options, db_range
from .executable import SETTING, ExecutableNotFound, find_executable
from .layers import export_aoi, export_raster, raster_file
from .runner import CliFailed, run_cli

HELP = f"""<p>Colorizes a Sentinel-1 SAR band (dB, linear power, amplitude or 8-bit) into an optical-looking
RGB + alpha GeoTIFF on the same pixel grid, with the sargeo GAN.</p>
<p>The model runs in the <b>sargeo</b> command-line tool, in its own Python environment, so PyTorch is
never loaded into QGIS. Install it with <code>pip install sargeo</code> into a separate virtual
environment and run <code>sargeo qgis-plugin install</code> from it, or point the Processing setting
<code>{SETTING}</code> (Settings &gt; Options &gt; Processing &gt; Providers &gt; sargeo) or the environment
variable <code>{SETTING}</code> to its executable.</p>
<p>Every parameter is an option of <code>sargeo colorize</code>, named below in parentheses as its
messages name it; a parameter left empty leaves the choice to the command, as on the command line. The
log shows the command that ran.</p>
<p><b>SAR band</b> (--band): not set picks the band described VV, else band 1. <b>Input values</b>
(--scale): auto detects them; db: sigma0 in dB; linear: sigma0 in linear power (e.g. SNAP's
Sigma0_VV); amplitude: GRD amplitude DN; uint8: 8-bit on the SEN1-2 scale. <b>Input nodata</b>
(--nodata): overrides the file's nodata value, e.g. 0 for SNAP exports; NaN is always nodata.
<b>Model checkpoint</b> (--checkpoint): a .pt file from <code>sargeo train</code>; empty uses the model
shipped with sargeo. <b>Device</b> (--device): auto picks CUDA, then MPS, then CPU; the log says which
ran. <b>Area of interest</b> (--aoi): only pixels inside its polygons are colorized. <b>Build
overviews</b> (--overviews): faster display when zoomed out. <b>Cloud-Optimized GeoTIFF</b> (--cog): for
web maps and object storage. <b>Write only the area of interest's bounding box</b> (--crop, needs an area of
interest).</p>
<p>Advanced: <b>dB range</b> (--db-range, both or neither): the dB window mapped to the model's input
(empty: the checkpoint's, e.g. -25 to 0). <b>Resample to 10 m</b> (--resample): warps the input to the
model's pixel size on the fly. <b>Tile overlap</b> (--overlap): pixels shared by neighbouring 256 px
tiles, blended to hide seams. <b>Batch size</b> (--batch-size): tiles per step (empty: automatic); any
size gives the same output. <b>Creation options</b> (--co): GeoTIFF creation options as KEY=VALUE
separated by spaces, e.g. <code>COMPRESS=ZSTD PREDICTOR=2</code>.</p>
<p>Layers that are not plain files (e.g. /vsimem/, subdatasets) are first exported to a temporary
GeoTIFF; web layers (WMS/XYZ) are refused.</p>"""
CARD_HINT = ("\n<p>The full model card (training data, scores per held-out scene): <code>sargeo info</code>, "
             "or <code>sargeo info -c CHECKPOINT</code> for another model.</p>")


def _executable() -> str:
    return find_executable(ProcessingConfig.getSetting(SETTING))


def prefetch_card() -> None:
    """Start `sargeo info` in the background, so the help has the card by the time a dialog opens."""
    try:
        card.fetch(_executable())
    except ExecutableNotFound:
        pass  # the help says how to install sargeo


class ColorizeAlgorithm(QgsProcessingAlgorithm):
    INPUT, BAND, SCALE, NODATA, CHECKPOINT, DEVICE, AOI, CROP, OVERVIEWS, COG = (
        "INPUT", "BAND", "SCALE", "NODATA", "CHECKPOINT", "DEVICE", "AOI", "CROP", "OVERVIEWS", "COG")
    DB_MIN, DB_MAX, RESAMPLE, OVERLAP, BATCH_SIZE, CREATION_OPTIONS, OUTPUT = (
        "DB_MIN", "DB_MAX", "RESAMPLE", "OVERLAP", "BATCH_SIZE", "CREATION_OPTIONS", "OUTPUT")

    def name(self) -> str:
        return "colorize"

    def displayName(self) -> str:
        return "Colorize SAR scene"

    def shortHelpString(self) -> str:
        """The static text plus the shipped model's card summary, if `sargeo info` answers in time."""
        try:
            summary = card.summary(_executable())
        except ExecutableNotFound:
            summary = None
        return HELP + ("\n" + summary if summary else "") + CARD_HINT

    def createInstance(self) -> ColorizeAlgorithm:
        return ColorizeAlgorithm()

    def initAlgorithm(self, config: dict | None = None) -> None:
        number = QgsProcessingParameterNumber
        main = [
            QgsProcessingParameterRasterLayer(self.INPUT, "SAR raster"),
            QgsProcessingParameterBand(self.BAND, "SAR band (not set: the one described VV, else band 1)",
                                       None, self.INPUT, optional=True),
            QgsProcessingParameterEnum(self.SCALE, "Input values", SCALES, defaultValue="auto",
                                       usesStaticStrings=True),
            number(self.NODATA, "Input nodata value (not set: the file's)", number.Double, None, True),
            QgsProcessingParameterFile(
                self.CHECKPOINT, "Model checkpoint (empty: the model shipped with sargeo)", optional=True,
                fileFilter="PyTorch checkpoint (*.pt *.pth);;All files (*.*)"),
            QgsProcessingParameterEnum(self.DEVICE, "Device", DEVICES, defaultValue=0),
            QgsProcessingParameterFeatureSource(self.AOI, "Area of interest",
                                                [QgsProcessing.TypeVectorPolygon], optional=True),
            QgsProcessingParameterBoolean(self.CROP, "Write only the area of interest's bounding box", False),
            QgsProcessingParameterBoolean(self.OVERVIEWS, "Build overviews", False),
            QgsProcessingParameterBoolean(self.COG, "Cloud-Optimized GeoTIFF", False)]
        advanced = [
            number(self.DB_MIN, "dB range minimum (empty: the checkpoint's)", number.Double, None, True),
            number(self.DB_MAX, "dB range maximum (empty: the checkpoint's)", number.Double, None, True),
            QgsProcessingParameterBoolean(self.RESAMPLE, "Resample to 10 m pixels", False),
            number(self.OVERLAP, "Tile overlap (pixels; empty: 64)", number.Integer, None, True, 0, 255),
            number(self.BATCH_SIZE, "Batch size (tiles; empty: automatic)", number.Integer, None, True, 1),
            QgsProcessingParameterString(self.CREATION_OPTIONS, "GeoTIFF creation options (KEY=VALUE ...)",
                                         optional=True)]
        for param in advanced:
            param.setFlags(param.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        output = QgsProcessingParameterRasterDestination(self.OUTPUT, "Colorized RGB")
        for param in (*main, *advanced, output):
            self.addParameter(param)

    def checkParameterValues(self, parameters: dict, context: QgsProcessingContext) -> tuple[bool, str]:
        """Malformed values stop here, before any export, with a message that names the parameter."""
        ok, message = super().checkParameterValues(parameters, context)
        if ok:
            try:
                self._options(parameters, context)
            except ValueError as exc:
                return False, str(exc)
        return ok, message

    def processAlgorithm(self, parameters: dict, context: QgsProcessingContext,
                         feedback: QgsProcessingFeedback) -> dict:
        try:
            exe = _executable()
            options = self._options(parameters, context)
        except (ExecutableNotFound, ValueError) as exc:
            raise QgsProcessingException(str(exc)) from exc
        layer = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        if layer is None:
            raise QgsProcessingException(self.invalidRasterError(parameters, self.INPUT))
        dst = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        with tempfile.TemporaryDirectory(prefix="sargeo_qgis_") as tmp:
            src = raster_file(layer) or export_raster(layer, Path(tmp) / "input.tif", context, feedback)
            if self.parameterAsSource(parameters, self.AOI, context) is not None:
                options = replace(options, aoi=export_aoi(parameters[self.AOI], Path(tmp) / "aoi.geojson",
                                                          context, feedback))
            if feedback.isCanceled():
                return {}
            command = colorize_command(exe, src, dst, options)
            feedback.pushCommandInfo(shlex.join(command))
            try:
                done = run_cli(command, Path(dst), feedback)
            except CliFailed as exc:
                raise QgsProcessingException(str(exc)) from exc
        return {} if done is None else {self.OUTPUT: dst}

    def _options(self, parameters: dict, context: QgsProcessingContext) -> ColorizeOptions:
        """The CLI options the parameters ask for (all but the AOI, which needs exporting first)."""
        return ColorizeOptions(
            checkpoint=self.parameterAsFile(parameters, self.CHECKPOINT, context) or None,
            band=self.parameterAsInt(parameters, self.BAND, context) or None,  # 0: not set (bands start at 1)
            scale=self.parameterAsEnumString(parameters, self.SCALE, context),
            db_range=db_range(self._number(parameters, self.DB_MIN, context),
                              self._number(parameters, self.DB_MAX, context)),
            nodata=self._number(parameters, self.NODATA, context),
            overlap=self._integer(parameters, self.OVERLAP, context),
            batch_size=self._integer(parameters, self.BATCH_SIZE, context),
            device=DEVICES[self.parameterAsEnum(parameters, self.DEVICE, context)],
            resample=self.parameterAsBoolean(parameters, self.RESAMPLE, context),
            overviews=self.parameterAsBoolean(parameters, self.OVERVIEWS, context),
            cog=self.parameterAsBoolean(parameters, self.COG, context),
            crop=self.parameterAsBoolean(parameters, self.CROP, context),
            creation_options=creation_options(
                self.parameterAsString(parameters, self.CREATION_OPTIONS, context)))

    def _number(self, parameters: dict, name: str, context: QgsProcessingContext) -> float | None:
        """None when unset, where parameterAsDouble would say 0: a real choice for --nodata."""
        value = parameters.get(name)
        return None if value is None or value == "" else self.parameterAsDouble(parameters, name, context)

    def _integer(self, parameters: dict, name: str, context: QgsProcessingContext) -> int | None:
        number = self._number(parameters, name, context)
        return None if number is None else int(number)
