"""Scenarios for the QGIS plugin, run by QGIS's own Python: `python3 qgis_scenarios.py NAME WORKDIR`.

The pytest side (test_qgis_plugin.py, in the sargeo venv) prepares WORKDIR with `scene.tif` and
`tiny.pt`, and sets SARGEO_EXECUTABLE. Each scenario asserts and exits non-zero with a message on failure.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from osgeo import gdal
from qgis.core import (
    QgsApplication,
    QgsFeature,
    QgsGeometry,
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsRasterLayer,
    QgsRectangle,
    QgsVectorLayer,
)

PLUGIN_PARENT = Path(__file__).resolve().parents[2] / "qgis_plugin"
# name: (type, default, optional, advanced); unset optional values leave the choice to the CLI
EXPECTED_PARAMETERS = {
    "INPUT": ("raster", None, False, False),
    "BAND": ("band", None, True, False),
    "SCALE": ("enum", "auto", False, False),
    "NODATA": ("number", None, True, False),
    "CHECKPOINT": ("file", None, True, False),
    "DEVICE": ("enum", 0, False, False),
    "AOI": ("source", None, True, False),
    "CROP": ("boolean", False, False, False),
    "OVERVIEWS": ("boolean", False, False, False),
    "COG": ("boolean", False, False, False),
    "DB_MIN": ("number", None, True, True),
    "DB_MAX": ("number", None, True, True),
    "RESAMPLE": ("boolean", False, False, True),
    "OVERLAP": ("number", None, True, True),
    "BATCH_SIZE": ("number", None, True, True),
    "CREATION_OPTIONS": ("string", None, True, True),
    "OUTPUT": ("rasterDestination", None, False, False),
}


class Recorder(QgsProcessingFeedback):
    """Keeps what the algorithm reported; optionally cancels at the first progress step."""

    def __init__(self, cancel_on_progress: bool = False) -> None:
        super().__init__()
        self.log: list[str] = []
        self.progress: list[float] = []
        self.canceled_at: float | None = None
        self.cancel_on_progress = cancel_on_progress
        self.progressChanged.connect(self._on_progress)

    def _on_progress(self, value: float) -> None:
        self.progress.append(value)
        if self.cancel_on_progress and self.canceled_at is None:
            self.canceled_at = time.monotonic()
            self.cancel()

    def pushInfo(self, info: str) -> None:
        self.log.append(info)

    def pushWarning(self, warning: str) -> None:
        self.log.append("WARNING " + warning)

    def pushCommandInfo(self, info: str) -> None:
        self.log.append("COMMAND " + info)

    def pushConsoleInfo(self, info: str) -> None:
        self.log.append(info)


def check(condition: bool, message: str) -> None:
    if not condition:
        sys.exit(f"FAILED: {message}")


def run(parameters: dict, feedback: QgsProcessingFeedback) -> dict:
    import processing

    return processing.run("sargeo:colorize", parameters, feedback=feedback)


def same_grid(out: Path, ref: QgsRasterLayer) -> None:
    layer = QgsRasterLayer(str(out), "out", "gdal")
    check(layer.isValid(), f"{out} is not a raster QGIS can open")
    check(layer.crs().authid() == ref.crs().authid(), f"CRS {layer.crs().authid()} != {ref.crs().authid()}")
    check(layer.extent() == ref.extent(),
          f"extent {layer.extent().toString()} != {ref.extent().toString()}")
    check(layer.bandCount() >= 3, f"{layer.bandCount()} bands, expected RGB")


def registered(work: Path) -> None:
    """Provider, algorithm and parameters as documented; a missing executable says how to install."""
    from processing.core.ProcessingConfig import ProcessingConfig

    registry = QgsApplication.processingRegistry()
    check(registry.providerById("sargeo") is not None, "provider 'sargeo' not registered")
    alg = registry.algorithmById("sargeo:colorize")
    check(alg is not None, "algorithm sargeo:colorize not registered")
    check(alg.displayName() == "Colorize SAR scene", alg.displayName())
    found = {p.name(): (p.type(), p.defaultValue(), bool(p.flags() & p.FlagOptional),
                        bool(p.flags() & p.FlagAdvanced)) for p in alg.parameterDefinitions()}
    check(list(found) == list(EXPECTED_PARAMETERS), f"parameters {list(found)}")
    for name, expected in EXPECTED_PARAMETERS.items():
        check(found[name] == expected, f"{name}: {found[name]} != {expected}")
    scale, device = alg.parameterDefinition("SCALE"), alg.parameterDefinition("DEVICE")
    check(scale.options() == ["auto", "db", "linear", "amplitude", "uint8"] and scale.usesStaticStrings(),
          "SCALE is not the CLI's --scale choices by name")
    check(device.options() == ["auto", "cpu", "cuda", "mps"], "device options")
    help_card(alg)
    os.environ["SARGEO_EXECUTABLE"] = str(work / "no-such-sargeo")
    missing_executable(work, "environment variable SARGEO_EXECUTABLE")
    ProcessingConfig.setSettingValue("SARGEO_EXECUTABLE", str(work / "scene.tif"))  # exists, not a program
    try:
        missing_executable(work, "Processing setting SARGEO_EXECUTABLE")
    finally:  # the setting persists in the profile the other scenarios share
        ProcessingConfig.setSettingValue("SARGEO_EXECUTABLE", "")


def help_card(alg: QgsProcessingAlgorithm) -> None:
    """The help never waits long for `sargeo info`, and shows the shipped model's card once it answered."""
    from sargeo_qgis import card

    check(os.environ["SARGEO_EXECUTABLE"] in card._cards, "initGui did not start `sargeo info`")
    start = time.monotonic()
    text = alg.shortHelpString()
    check(time.monotonic() - start < card.WAIT_S + 1, f"help took {time.monotonic() - start:.1f} s")
    check("pip install sargeo" in text and "sargeo info" in text, "help does not say how to install")
    card.summary(os.environ["SARGEO_EXECUTABLE"], wait=120)  # that same `sargeo info` run, finished
    text = alg.shortHelpString()
    check("<h3>sargeo default model</h3>" in text and "On scenes it never saw, the model" in text,
          f"no model card in the help:\n{text}")


def missing_executable(work: Path, source: str) -> None:
    try:
        run({"INPUT": str(work / "scene.tif"), "OUTPUT": str(work / "never.tif")}, Recorder())
    except QgsProcessingException as exc:
        message = str(exc)
        check(source in message and "pip install sargeo" in message, message)
    else:
        check(False, f"a wrong {source} did not raise")


def colorize(work: Path) -> None:
    """A real run: GeoTIFF on the input's grid, progress to 100, the device named in the log."""
    out = work / "out" / "colorized.tif"
    out.parent.mkdir()
    feedback = Recorder()
    result = run({"INPUT": str(work / "scene.tif"), "CHECKPOINT": str(work / "tiny.pt"), "DEVICE": 1,
                  "OUTPUT": str(out)}, feedback)
    log = "\n".join(feedback.log)
    check(result.get("OUTPUT") == str(out), f"result {result}\n{log}")
    check([p.name for p in out.parent.iterdir()] == ["colorized.tif"], f"files: {list(out.parent.iterdir())}")
    same_grid(out, QgsRasterLayer(str(work / "scene.tif"), "in", "gdal"))  # may add a .aux.xml
    check(max(feedback.progress, default=0) == 100, f"progress {feedback.progress}")
    check("on cpu" in log, f"device not reported:\n{log}")


def cancel(work: Path) -> None:
    """Cancel at the first progress step: the child stops promptly and leaves nothing behind."""
    big = work / "big.tif"
    x0, dx, _, y0, _, dy = gdal.Open(str(work / "scene.tif")).GetGeoTransform()
    gdal.Translate(str(big), str(work / "scene.tif"), width=3000, height=3000,  # same pixel size, 256 tiles
                   outputBounds=[x0, y0, x0 + 3000 * dx, y0 + 3000 * dy])
    out = work / "cancel" / "colorized.tif"
    out.parent.mkdir()
    feedback = Recorder(cancel_on_progress=True)
    run({"INPUT": str(big), "CHECKPOINT": str(work / "tiny.pt"), "DEVICE": 1, "BATCH_SIZE": 1,
         "OUTPUT": str(out)}, feedback)
    stopped = time.monotonic()
    check(feedback.canceled_at is not None, "no progress reported before the end")
    check(stopped - feedback.canceled_at < 5, f"took {stopped - feedback.canceled_at:.1f} s to stop")
    check(list(out.parent.iterdir()) == [], f"left behind: {list(out.parent.iterdir())}")
    children = [p for p in Path("/proc").glob("[0-9]*/cmdline")
                if str(out).encode() in _read(p)]
    check(not children, f"child still running: {children}")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:  # the process ended while we looked
        return b""


def bad_input(work: Path) -> None:
    """A request the CLI refuses surfaces as QgsProcessingException with the CLI's one-line message;
    malformed parameter text is refused before anything runs."""
    out = work / "bad" / "colorized.tif"
    out.parent.mkdir()
    refused = [({"BAND": 7}, "band 7"),
               ({"CREATION_OPTIONS": "COMPRESS ZSTD"}, "'COMPRESS', 'ZSTD' are not KEY=VALUE"),
               ({"DB_MIN": -20}, "dB range: set both the minimum and the maximum")]
    for parameters, expected in refused:
        feedback = Recorder()
        try:
            run({"INPUT": str(work / "scene.tif"), "CHECKPOINT": str(work / "tiny.pt"), "OUTPUT": str(out),
                 **parameters}, feedback)
        except QgsProcessingException as exc:
            message = str(exc)
            check(expected in message and "Error:" not in message, f"message: {message!r}")
        else:
            check(False, f"{parameters} did not fail")
        if "BAND" not in parameters:
            check(not any(line.startswith("COMMAND ") for line in feedback.log), f"{parameters} ran the CLI")
    check(list(out.parent.iterdir()) == [], "a failed run left files")


def not_a_file(work: Path) -> None:
    """A /vsimem/ layer is exported to a temporary GeoTIFF; a memory-layer AOI goes as EPSG:4326 GeoJSON."""
    gdal.Translate("/vsimem/scene.tif", str(work / "scene.tif"))
    layer = QgsRasterLayer("/vsimem/scene.tif", "in memory", "gdal")
    check(layer.isValid(), "cannot open /vsimem/scene.tif")
    extent = layer.extent()
    left = QgsRectangle(extent.xMinimum(), extent.yMinimum(), extent.center().x(), extent.yMaximum())
    aoi = QgsVectorLayer("Polygon?crs=EPSG:32631", "aoi", "memory")
    feature = QgsFeature()
    feature.setGeometry(QgsGeometry.fromRect(left))
    aoi.dataProvider().addFeature(feature)
    out = work / "exported" / "colorized.tif"
    out.parent.mkdir()
    feedback = Recorder()
    run({"INPUT": layer, "AOI": aoi, "CHECKPOINT": str(work / "tiny.pt"), "DEVICE": 1, "OUTPUT": str(out)},
        feedback)
    log = "\n".join(feedback.log)
    command = next((line for line in feedback.log if line.startswith("COMMAND ")), "")
    check("/vsimem/" not in command and "input.tif" in command and "--aoi" in command, log)
    same_grid(out, layer)
    dataset = gdal.Open(str(out))  # a band dies with its dataset: keep both referenced
    alpha = dataset.GetRasterBand(4).ReadAsArray()
    width = alpha.shape[1]
    check(alpha[:, : width // 2 - 2].min() > 0, "pixels inside the AOI are transparent")
    check(alpha[:, width // 2 + 2:].max() == 0, "pixels outside the AOI were colorized")


def main() -> None:
    name, work = sys.argv[1], Path(sys.argv[2])
    app = QgsApplication([], False)
    app.initQgis()
    sys.path[:0] = [str(Path(app.pkgDataPath()) / "python" / "plugins"), str(PLUGIN_PARENT)]
    from processing.core.Processing import Processing

    Processing.initialize()
    import sargeo_qgis

    plugin = sargeo_qgis.classFactory(None)  # kept referenced: the registry does not own Python providers
    if name == "registered":
        plugin.initGui()  # as the desktop does: also starts `sargeo info` for the help
    else:
        plugin.initProcessing()
    globals()[name](work)
    plugin.unload()
    app.exitQgis()
    print(f"{name}: ok")


if __name__ == "__main__":
    main()
