"""Tiny generated inputs for tests: SEN1-2 style pairs and georeferenced SAR scenes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_tiny_pairs(root: Path, scenes: int = 4, patches: int = 3, size: int = 64, seed: int = 0) -> Path:
    """Plain s1/ + s2/ folders of SEN1-2 named PNGs whose colour is a function of the SAR."""
    rng = np.random.default_rng(seed)
    (root / "s1").mkdir(parents=True)
    (root / "s2").mkdir()
    for scene in range(scenes):
        for p in range(patches):
            sar = (rng.random((size, size)) * 80 + 60 + 30 * scene).astype(np.uint8)
            sar[: size // 2] //= 2
            rgb = np.stack([sar, 255 - sar, sar // 2], axis=-1).astype(np.uint8)
            name = f"ROIs1868_summer_s{{}}_{scene + 1}_p{p}.png"
            Image.fromarray(sar, "L").save(root / "s1" / name.format(1))
            Image.fromarray(rgb, "RGB").save(root / "s2" / name.format(2))
    return root


def write_scene(path: Path, width: int = 600, height: int = 500, crs: str | None = "EPSG:32631",
                dtype: str = "float32", nodata: float | None = -9999.0, count: int = 1,
                descriptions: tuple[str, ...] | None = None, gcps: bool = False, seed: int = 0,
                border: int = 40, values: np.ndarray | None = None) -> Path:
    """A georeferenced dB scene with a nodata border on the left and a NaN hole (floats)."""
    import rasterio
    from rasterio.control import GroundControlPoint
    from rasterio.transform import from_origin

    rng = np.random.default_rng(seed)
    if values is None:
        yy, xx = np.mgrid[0:height, 0:width]
        values = -12 + 6 * np.sin(xx / 37.0) * np.cos(yy / 53.0) + rng.normal(0, 1.5, (height, width))
    data = np.repeat(values[None].astype(np.float64), count, axis=0)
    if dtype == "uint16":
        data = np.clip(10 ** ((data + 53) / 20), 1, 65535)
    if border:
        data[:, :, :border] = nodata if nodata is not None else 0
    if np.dtype(dtype).kind == "f" and min(width, height) > 60:
        data[:, 30:45, 50:70] = np.nan
    profile = dict(driver="GTiff", width=width, height=height, count=count, dtype=dtype, nodata=nodata)
    if gcps:
        pts = [GroundControlPoint(row, col, 3.0 + col * 1e-4, 45.0 - row * 1e-4)
               for row in (0, height) for col in (0, width)]
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(data.astype(dtype))
            dst.gcps = (pts, "EPSG:4326")
        return path
    if crs is not None:
        res = 1e-4 if crs == "EPSG:4326" else 10.0
        origin = (3.0, 45.0) if crs == "EPSG:4326" else (500000.0, 5000000.0)
        profile.update(crs=crs, transform=from_origin(*origin, res, res))
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data.astype(dtype))
        if descriptions:
            for i, d in enumerate(descriptions, 1):
                dst.set_band_description(i, d)
    return path


def write_raster(path: Path, data: np.ndarray, crs: str | None = None, res: float | None = None,
                 nodata: float | None = None, descriptions: tuple[str | None, ...] | None = None,
                 gcps: bool = False, mask: np.ndarray | None = None) -> Path:
    """Write (bands, rows, cols) `data` as a GeoTIFF of its dtype, exactly as given.

    crs: georeferenced with a north-up transform (res: 10 m, or 1e-4 degrees for EPSG:4326);
    gcps: four corner GCPs in EPSG:4326 and no CRS; mask: an internal per-dataset mask band.
    """
    import warnings

    import rasterio
    from rasterio.control import GroundControlPoint
    from rasterio.errors import NotGeoreferencedWarning
    from rasterio.transform import from_origin

    count, height, width = data.shape
    profile = dict(driver="GTiff", width=width, height=height, count=count, dtype=data.dtype.name,
                   nodata=nodata)
    if crs is not None:
        geographic = crs == "EPSG:4326"
        res = res or (1e-4 if geographic else 10.0)
        origin = (3.0, 45.0) if geographic else (500000.0, 5000000.0)
        profile.update(crs=crs, transform=from_origin(*origin, res, res))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(data)
            if gcps:
                dst.gcps = ([GroundControlPoint(row, col, 3.0 + col * 1e-4, 45.0 - row * 1e-4)
                             for row in (0, height) for col in (0, width)], "EPSG:4326")
            for i, d in enumerate(descriptions or (), 1):
                if d:
                    dst.set_band_description(i, d)
            if mask is not None:
                dst.write_mask(np.where(mask, 255, 0).astype(np.uint8))
    return path


def write_georef(path: Path, data: np.ndarray, crs: str, transform=None, gcps=None,
                 nodata: float | None = None, tags: dict[str, str] | None = None) -> Path:
    """Write (bands, rows, cols) `data` with an explicit transform, or with GCPs (in `crs`) and no CRS."""
    import warnings

    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    count, height, width = data.shape
    profile = dict(driver="GTiff", width=width, height=height, count=count, dtype=data.dtype.name,
                   nodata=nodata)
    if gcps is None:
        profile.update(crs=crs, transform=transform)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(data)
            if gcps is not None:
                dst.gcps = (gcps, crs)
            if tags:
                dst.update_tags(**tags)
    return path


def write_fake_safe(folder: Path, bands: dict[str, np.ndarray], scl: np.ndarray, origin: tuple[float, float],
                    epsg: int = 32631, offset: int = -1000) -> Path:
    """A minimal Sentinel-2 L2A SAFE_COMPACT product that GDAL's SENTINEL2 driver opens.

    bands: 10 m uint16 DN for "B02", "B03", "B04", "B08"; scl: the 20 m scene classification;
    offset: the BOA_ADD_OFFSET the metadata declares for every band (baseline 04.00+: -1000).
    """
    import rasterio
    from rasterio.transform import from_origin

    root = folder / "S2B_MSIL2A_20230823T095559_N0509_R122_T31TCJ_20230823T124759.SAFE"
    granule = "L2A_T31TCJ_A033753_20230823T095553"
    files = {f"GRANULE/{granule}/IMG_DATA/R10m/T31TCJ_20230823T095559_{b}_10m": (bands[b], 10)
             for b in ("B02", "B03", "B04", "B08")}
    files[f"GRANULE/{granule}/IMG_DATA/R20m/T31TCJ_20230823T095559_SCL_20m"] = (scl, 20)
    height, width = bands["B02"].shape
    listing = "".join(f"<IMAGE_FILE>{f}</IMAGE_FILE>" for f in files)
    offsets = "".join(f'<BOA_ADD_OFFSET band_id="{i}">{offset}</BOA_ADD_OFFSET>' for i in range(13))
    (root / "GRANULE" / granule).mkdir(parents=True)
    (root / "MTD_MSIL2A.xml").write_text(f"""<?xml version="1.0" encoding="UTF-8"?>
<n1:Level-2A_User_Product xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-2A.xsd">
<n1:General_Info><Product_Info>
<PRODUCT_START_TIME>2023-08-23T09:55:59.024Z</PRODUCT_START_TIME><PRODUCT_URI>{root.name}</PRODUCT_URI>
<PROCESSING_LEVEL>Level-2A</PROCESSING_LEVEL><PRODUCT_TYPE>S2MSI2A</PRODUCT_TYPE>
<PROCESSING_BASELINE>05.09</PROCESSING_BASELINE>
<Query_Options completeSingleTile="true"><PRODUCT_FORMAT>SAFE_COMPACT</PRODUCT_FORMAT></Query_Options>
<Product_Organisation><Granule_List>
<Granule granuleIdentifier="S2B_OPER_MSI_L2A_TL_2BPS_20230823T124759_A033753_T31TCJ_N05.09"
 imageFormat="JPEG2000">{listing}</Granule></Granule_List></Product_Organisation>
</Product_Info><Product_Image_Characteristics>
<Special_Values><SPECIAL_VALUE_TEXT>NODATA</SPECIAL_VALUE_TEXT><SPECIAL_VALUE_INDEX>0</SPECIAL_VALUE_INDEX>
</Special_Values><BOA_ADD_OFFSET_VALUES_LIST>{offsets}</BOA_ADD_OFFSET_VALUES_LIST>
</Product_Image_Characteristics></n1:General_Info></n1:Level-2A_User_Product>
""")
    sizes = "".join(f'<Size resolution="{r}"><NROWS>{height * 10 // r}</NROWS>'
                    f'<NCOLS>{width * 10 // r}</NCOLS></Size>' for r in (10, 20, 60))
    places = "".join(f'<Geoposition resolution="{r}"><ULX>{origin[0]}</ULX><ULY>{origin[1]}</ULY>'
                     f'<XDIM>{r}</XDIM><YDIM>-{r}</YDIM></Geoposition>' for r in (10, 20, 60))
    (root / "GRANULE" / granule / "MTD_TL.xml").write_text(f"""<?xml version="1.0" encoding="UTF-8"?>
<n1:Level-2A_Tile_ID xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/S2_PDI_Level-2A_Tile_Metadata.xsd">
<n1:Geometric_Info><Tile_Geocoding><HORIZONTAL_CS_CODE>EPSG:{epsg}</HORIZONTAL_CS_CODE>{sizes}{places}
</Tile_Geocoding></n1:Geometric_Info></n1:Level-2A_Tile_ID>
""")
    for name, (data, res) in files.items():
        path = root / f"{name}.jp2"
        path.parent.mkdir(parents=True, exist_ok=True)
        with rasterio.open(path, "w", driver="JP2OpenJPEG", width=data.shape[1], height=data.shape[0],
                           count=1, dtype=data.dtype.name, crs=f"EPSG:{epsg}",
                           transform=from_origin(*origin, res, res), QUALITY=100, REVERSIBLE="YES") as dst:
            dst.write(data, 1)
    return root
