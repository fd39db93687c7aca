"""Hand the CLI files it can open: the input raster as a GeoTIFF path, the AOI as EPSG:4326 GeoJSON."""

from __future__ import annotations

import os
from pathlib import Path

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProviderRegistry,
    QgsRasterDataProvider,
    QgsRasterFileWriter,
    QgsRasterLayer,
    QgsRasterPipe,
)


def raster_file(layer: QgsRasterLayer) -> str | None:
    """The layer's file if the CLI (another process) can read it as is: a plain file opened by GDAL."""
    if layer.providerType() != "gdal":
        return None
    parts = QgsProviderRegistry.instance().decodeUri("gdal", layer.source())
    path = parts.get("path") or ""
    if parts.get("layerName") or not os.path.isfile(path):  # subdatasets, /vsimem/, URLs
        return None
    return path


def export_raster(layer: QgsRasterLayer, path: Path, context: QgsProcessingContext,
                  feedback: QgsProcessingFeedback) -> str:
    """Write the layer's raw bands on its native grid; web layers have no such grid and are refused."""
    provider = layer.dataProvider()
    if not provider.capabilities() & QgsRasterDataProvider.Size or provider.xSize() <= 0:
        raise QgsProcessingException(
            f"Layer '{layer.name()}' is not a file and has no fixed pixel grid (e.g. WMS/XYZ); "
            "save it as a GeoTIFF first (Export > Save As...) and colorize that file.")
    feedback.pushInfo(f"Layer '{layer.name()}' is not a plain file; exporting it to {path}")
    pipe = QgsRasterPipe()
    if not pipe.set(provider.clone()):
        raise QgsProcessingException(f"Cannot read layer '{layer.name()}' for export.")
    writer = QgsRasterFileWriter(str(path))
    writer.setOutputFormat("GTiff")
    error = writer.writeRaster(pipe, provider.xSize(), provider.ySize(), provider.extent(), provider.crs(),
                               context.transformContext())
    if error != QgsRasterFileWriter.NoError:
        raise QgsProcessingException(f"Exporting layer '{layer.name()}' to GeoTIFF failed (error {error}).")
    return str(path)


def export_aoi(value: object, path: Path, context: QgsProcessingContext,
               feedback: QgsProcessingFeedback) -> str:
    """Reproject whatever Processing accepts as a feature source (layer, file, selection) to GeoJSON."""
    import processing  # deferred: only needed with an AOI

    result = processing.run(
        "native:reprojectlayer",
        {"INPUT": value, "TARGET_CRS": QgsCoordinateReferenceSystem("EPSG:4326"), "OUTPUT": str(path)},
        context=context, feedback=feedback, is_child_algorithm=True)
    return result["OUTPUT"]
