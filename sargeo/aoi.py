"""Area of interest: a vector file turned into a pixel-space mask of the input raster.

The geometry is brought into the raster's pixel grid once (through the affine
transform, or through the ground control points of a raw GRD), so masking a
strip is a cheap rasterisation with an offset.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import rasterio
import shapely
from rasterio.crs import CRS
from rasterio.errors import CRSError
from rasterio.features import rasterize
from rasterio.transform import Affine, GCPTransformer
from rasterio.warp import transform_geom
from rasterio.windows import Window
from shapely.errors import ShapelyError
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union
from shapely.validation import make_valid

GEOJSON_CRS = CRS.from_epsg(4326)


def read_vector(path: str | Path) -> tuple[BaseGeometry, CRS]:
    """Union of all geometries in a GeoJSON file (or any file fiona/pyogrio can read) and its CRS."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"AOI file not found: {path}")
    if path.suffix.lower() in (".geojson", ".json"):
        try:
            doc = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ValueError(f"AOI file {path} is not valid GeoJSON") from None
        if not isinstance(doc, dict):
            raise ValueError(f"AOI file {path} is not a GeoJSON object (a FeatureCollection, Feature "
                             "or geometry)")
        return _union(_geojson_geometries(doc), path), _geojson_crs(doc, path)
    try:
        import fiona  # optional: the core stack reads GeoJSON only
    except ImportError:
        raise ValueError(f"cannot read {path.suffix} AOI files without fiona; use GeoJSON") from None
    with fiona.open(path) as src:
        return _union([f["geometry"] for f in src if f["geometry"]], path), CRS.from_user_input(src.crs)


def _geojson_geometries(doc: dict) -> list:
    kind = doc.get("type")
    if kind == "FeatureCollection":
        features = doc.get("features")
        return [f.get("geometry") for f in features if isinstance(f, dict) and f.get("geometry")] \
            if isinstance(features, list) else []
    if kind == "Feature":
        return [doc["geometry"]] if doc.get("geometry") else []
    return [doc]


def _geojson_crs(doc: dict, path: Path) -> CRS:
    """RFC 7946 GeoJSON is WGS84 (also when "crs" is null); older files may name another CRS."""
    crs = doc.get("crs")
    props = crs.get("properties") if isinstance(crs, dict) else None
    name = props.get("name") if isinstance(props, dict) else None
    if not name:
        return GEOJSON_CRS
    try:
        return CRS.from_user_input(name)
    except CRSError:
        raise ValueError(f"AOI file {path} names an unknown CRS {name!r}") from None


def _union(geoms: list[dict], path: Path) -> BaseGeometry:
    try:
        shapes = [shape(g) for g in geoms]
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ValueError(f"AOI file {path} holds an invalid geometry") from None
    polygons = [s for s in shapes if s.geom_type in ("Polygon", "MultiPolygon")]
    if not polygons:
        raise ValueError(f"AOI file {path} holds no polygon")
    try:
        return unary_union([p if p.is_valid else make_valid(p) for p in polygons])
    except ShapelyError as exc:
        raise ValueError(f"AOI file {path} holds an invalid polygon ({exc})") from None


def to_pixels(geom: BaseGeometry, crs: CRS, ds: rasterio.DatasetReader) -> BaseGeometry:
    """Geometry in the raster's (col, row) pixel space, via its transform or its GCPs."""
    gcps, gcp_crs = ds.gcps
    if ds.crs is not None and not ds.transform.is_identity:
        local = shape(transform_geom(crs, ds.crs, mapping(geom)))
        inverse = ~ds.transform
        return shapely.transform(local, lambda xy: np.column_stack(inverse @ (xy[:, 0], xy[:, 1])))
    if gcps and gcp_crs is not None:
        local = shape(transform_geom(crs, gcp_crs, mapping(geom)))
        with GCPTransformer(gcps) as tr:
            def to_colrow(xy: np.ndarray) -> np.ndarray:
                rows, cols = tr.rowcol(xy[:, 0], xy[:, 1], op=lambda v: v)
                return np.column_stack([cols, rows]).astype(float)
            return shapely.transform(local, to_colrow)
    raise ValueError("--aoi needs a georeferenced input (CRS and transform, or GCPs)")


def strip_mask(pixel_geom: BaseGeometry, row: int, height: int, width: int, col: int = 0) -> np.ndarray:
    """Boolean mask of rows [row, row + height) and columns [col, col + width): True inside the AOI."""
    return rasterize([pixel_geom], out_shape=(height, width), transform=Affine.translation(col, row),
                     fill=0, default_value=1, dtype="uint8").astype(bool)


def pixel_window(pixel_geom: BaseGeometry, width: int, height: int) -> Window:
    """The AOI's bounding box rounded outward to whole pixels and clipped to a width x height raster
    (as rasterio.features.geometry_window, which needs an affine transform: this also serves GCPs)."""
    left, top, right, bottom = pixel_geom.bounds
    col0, row0 = max(0, math.floor(left)), max(0, math.floor(top))
    col1, row1 = min(width, math.ceil(right)), min(height, math.ceil(bottom))
    return Window(col0, row0, max(0, col1 - col0), max(0, row1 - row0))
