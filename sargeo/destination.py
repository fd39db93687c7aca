"""Where a colorized scene goes: checks before the run, a hidden temporary file during
it, and a verified, atomic publish at the end.

GDAL reports some write failures (a full disk among them) only as log messages, so
a file is trusted only after it has been reopened and read back whole. Publishing
never replaces a file that appeared while the run was going on unless the user
asked for --overwrite.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.shutil
from affine import Affine
from rasterio._err import CPLE_BaseError
from rasterio.errors import RasterioError
from rasterio.io import MemoryFile
from rasterio.windows import Window

from sargeo.messages import first_line

#: Rows written at once: a multiple of the output block size, so each block is written whole.
BLOCK = 512
DEFAULT_CREATION = {"TILED": "YES", "BLOCKXSIZE": str(BLOCK), "BLOCKYSIZE": str(BLOCK),
                    "COMPRESS": "DEFLATE", "PREDICTOR": "2", "BIGTIFF": "IF_SAFER",
                    "PHOTOMETRIC": "RGB", "ALPHA": "YES",
                    # one band per block: GDAL need not interleave the rows (half its serial work
                    # on a write), the constant alpha band compresses to nothing, files are ~12 %
                    # smaller and compress ~1.5x faster than pixel-interleaved ones
                    "INTERLEAVE": "BAND",
                    # DEFLATE on every core: one thread compressing is the engine's limit on a GPU
                    "NUM_THREADS": "ALL_CPUS"}
#: Cloud-Optimized GeoTIFF defaults: as the GTiff ones (the COG driver tiles 512 x 512 and keeps
#: the alpha band itself), with overviews averaged like --overviews.
COG_DEFAULT = {"COMPRESS": "DEFLATE", "PREDICTOR": "YES", "BIGTIFF": "IF_SAFER", "NUM_THREADS": "ALL_CPUS",
               "OVERVIEW_RESAMPLING": "AVERAGE"}
#: DEFLATE level when the user sets none. Compression is the GPU engine's limit: on an H200 with
#: 16 cores the engine ran 1,627 tiles/s at level 4 and 2,143 at level 1 (width 16, 12,288 px).
#: On colorized scenes (one core, band-interleaved, PREDICTOR=2) level 1 compresses 1.75-1.95x
#: faster than level 4 for files 9-12 % larger (level 6, GDAL's default: 3-3.5x slower than
#: level 4, files 6 % smaller). `--co ZLEVEL=6` trades the speed back for size.
DEFLATE_LEVEL = "1"
#: Smallest and largest COG block size accepted (GDAL wants >= 128; a block is held whole in memory).
COG_BLOCKS = (128, 4096)
#: What GDAL raises: rasterio wraps most errors, not those of rasterio.shutil.copy.
GDAL_ERRORS = (RasterioError, CPLE_BaseError)
#: Longest temporary-file name we build from the destination's name (most file systems allow 255).
_MAX_NAME = 255


def is_on(value: object) -> bool:
    """A GDAL boolean creation option's value (YES/TRUE/ON/1) read as GDAL does."""
    return str(value).upper() in ("YES", "TRUE", "ON", "1")


def is_local(src: str) -> bool:
    return not (src.startswith("/vsi") or "://" in src)


def check_destination(src: str, dst: Path, overwrite: bool) -> None:
    """Refuse destinations that cannot or must not be written, before any work is done."""
    if is_local(src) and Path(src).resolve() == dst.resolve():
        raise ValueError("output must differ from the input")
    if dst.is_dir():
        raise ValueError(f"{dst} is a directory")
    if dst.exists() and not overwrite:
        raise ValueError(f"{dst} already exists (use --overwrite to replace it)")
    if not dst.parent.is_dir():
        raise ValueError(f"output folder does not exist: {dst.parent}")
    if not os.access(dst.parent, os.W_OK):
        raise ValueError(f"output folder is not writable: {dst.parent}")
    if len(os.fsencode(dst.name)) > _MAX_NAME:
        raise ValueError(f"output file name is too long ({len(os.fsencode(dst.name))} bytes, at most "
                         f"{_MAX_NAME})")


def temp_path(dst: Path) -> Path:
    """A hidden, unique name beside `dst` (same file system, so the final rename is atomic)."""
    tag = uuid.uuid4().hex[:8]
    name = f".{dst.name}.{tag}.tmp"
    return dst.parent / (name if len(os.fsencode(name)) <= _MAX_NAME else f".sargeo-{tag}.tmp")


class _Route(logging.Handler):
    """Hands each GDAL message to the gdal_messages block of the thread that caused it.

    A scene's reader and writer, and the next scene's, run at once: a warning about one file
    must not fail another. Messages from threads with no block of their own (GDAL's compression
    workers) go to every open block, as they could concern any of them.
    """

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.blocks: dict[int, list[list[str]]] = {}  # thread id -> its open blocks, innermost last
        self.guard = threading.Lock()  # not `lock`: logging.Handler holds that one around emit

    def emit(self, record: logging.LogRecord) -> None:
        with self.guard:
            own = self.blocks.get(record.thread)
            targets = [own[-1]] if own else [blocks[-1] for blocks in self.blocks.values()]
        for messages in targets:
            messages.append(record.getMessage())


_ROUTE = _Route()


@contextmanager
def gdal_messages() -> Iterator[list[str]]:
    """Collect the GDAL warnings and errors (rasterio logs them) of this thread instead of printing them."""
    logger, messages, me = logging.getLogger("rasterio._env"), [], threading.get_ident()
    with _ROUTE.guard:
        if not _ROUTE.blocks:
            logger.addHandler(_ROUTE)
            logger.propagate = False
        _ROUTE.blocks.setdefault(me, []).append(messages)
    try:
        yield messages
    finally:
        with _ROUTE.guard:
            _ROUTE.blocks[me].pop()
            if not _ROUTE.blocks[me]:
                del _ROUTE.blocks[me]
            if not _ROUTE.blocks:
                logger.removeHandler(_ROUTE)
                logger.propagate = True


def output_profile(width: int, height: int, creation_options: dict[str, str],
                   georef: dict[str, Any]) -> dict[str, Any]:
    """GeoTIFF profile for an RGB + alpha uint8 output, with the creation options checked by GDAL."""
    creation = _with_level({**DEFAULT_CREATION, **{k.upper(): str(v) for k, v in creation_options.items()}},
                           "ZLEVEL")
    profile: dict[str, Any] = {"driver": "GTiff", "width": width, "height": height, "count": 4,
                               "dtype": "uint8", **creation}
    tiled = is_on(creation["TILED"])
    for key in ("BLOCKXSIZE", "BLOCKYSIZE") if tiled else ():
        if not creation[key].isdigit() or int(creation[key]) < 16 or int(creation[key]) % 16:
            raise ValueError(f"creation option {key}={creation[key]} rejected: GeoTIFF blocks are a "
                             "positive multiple of 16 pixels")
    _probe(profile, creation_options)
    return {**profile, **georef}


def _with_level(options: dict[str, str], key: str) -> dict[str, str]:
    """Our DEFLATE level under `key` (ZLEVEL for GTiff, LEVEL for COG) when the output is DEFLATE
    and the user chose no level; another codec keeps its own default level."""
    if options.get("COMPRESS", "").upper() == "DEFLATE" and key not in options:
        return {**options, key: DEFLATE_LEVEL}
    return options


def cog_options(creation_options: dict[str, str]) -> dict[str, str]:
    """Options for GDAL's COG driver, checked by GDAL on a small copy.

    The COG driver only copies a finished raster (it cannot be written strip by strip), so the
    scene is first written with output_profile's defaults and then copied with these.
    """
    given = {k.upper(): str(v) for k, v in creation_options.items()}
    options = _with_level({**COG_DEFAULT, **given}, "LEVEL")
    size = options.get("BLOCKSIZE", str(BLOCK))
    if not size.isdigit() or int(size) % 16 or not COG_BLOCKS[0] <= int(size) <= COG_BLOCKS[1]:
        # GDAL aborts the process on some (0, non-numbers) and runs out of memory on large ones
        raise ValueError(f"creation option BLOCKSIZE={size} rejected: COG blocks are a multiple of 16 "
                         f"pixels from {COG_BLOCKS[0]} to {COG_BLOCKS[1]}")
    profile = output_profile(64, 64, {}, {})
    _probe(profile, creation_options, options)
    return options


def write_cog(tmp: Path, cog: Path, dst: Path, options: dict[str, str]) -> None:
    """Copy the finished GeoTIFF `tmp` to a Cloud-Optimized GeoTIFF `cog` (overviews included)."""
    try:
        with gdal_messages() as messages:
            rasterio.shutil.copy(tmp, cog, driver="COG", **options)
    except GDAL_ERRORS as exc:
        raise OSError(f"cannot write {dst} as a COG: {root_cause(exc)}") from None
    if messages:
        raise OSError(f"cannot write {dst} as a COG: {_gdal_line(messages[0])}")


def _probe(profile: dict[str, Any], given: dict[str, str], cog: dict[str, str] | None = None) -> None:
    """Create a small in-memory file with the same options (and copy it to a COG with `cog`):
    GDAL only warns about bad ones."""
    shown = " ".join(f"{k}={v}" for k, v in given.items()) or "the defaults"
    # georeferenced, so rasterio has nothing to warn about (its warning filters are process-wide)
    small = {**profile, "width": min(profile["width"], 64), "height": min(profile["height"], 64),
             "transform": Affine(1, 0, 0, 0, -1, 64)}
    bands = 4
    try:
        with gdal_messages() as messages, MemoryFile() as mem:
            with mem.open(**small) as probe:
                probe.write(np.zeros((4, probe.height, probe.width), np.uint8))
            if cog is not None:
                with MemoryFile() as out:
                    rasterio.shutil.copy(mem.name, out.name, driver="COG", **cog)
                    with out.open() as copy:
                        bands = copy.count
    except (*GDAL_ERRORS, ValueError, TypeError) as exc:  # GDAL's first complaint is the cause
        reason = _gdal_line(messages[0]) if messages else root_cause(exc)
        raise ValueError(f"creation options {shown} rejected: {reason}") from None
    if messages:
        raise ValueError(f"creation options {shown} rejected: {_gdal_line(messages[0])}")
    if bands != 4:  # JPEG turns the alpha band into a mask
        raise ValueError(f"creation options {shown} rejected: they give {bands} bands, not RGB + alpha")


def root_cause(exc: BaseException) -> str:
    """The innermost message of an exception chain: rasterio's own often says only 'Read failed'."""
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__
    return _gdal_line(exc)


def _gdal_line(exc: BaseException | str) -> str:
    """First line of a GDAL message, without rasterio's error-class prefix and file name."""
    return re.sub(r"^[\w.-]+\.(?:tif|tmp): ", "", re.sub(r"^CPLE_\w+ in ", "", first_line(exc)))


def verify_output(path: Path, dst: Path, width: int, height: int, sparse: bool = False) -> None:
    """Reopen the finished file and check that every block was written inside it, and decode the
    last row of blocks: a full disk shows up here, not earlier (GDAL only logs failed writes).

    Reading the file back whole would be as sure but costs a third of the run on a GPU.
    ``sparse``: the file was made with SPARSE_OK, so empty blocks may be left out.
    """
    try:
        with gdal_messages() as messages, rasterio.open(path) as ds:
            if (ds.width, ds.height, ds.count) != (width, height, 4):
                raise ValueError(f"{ds.width} x {ds.height} x {ds.count} instead of {width} x {height} x 4")
            _check_blocks(ds, path.stat().st_size, sparse)
            bh = ds.block_shapes[0][0]
            ds.read(window=Window(0, (height - 1) // bh * bh, width, height - (height - 1) // bh * bh))
            for factor in ds.overviews(1):
                ds.read(1, out_shape=(max(1, height // factor), max(1, width // factor)))
        if messages:
            raise ValueError(_gdal_line(messages[0]))
    except (RasterioError, ValueError) as exc:
        raise OSError(f"could not write {dst} completely ({root_cause(exc)}); is the disk full?") from None


def _check_blocks(ds: rasterio.io.DatasetReader, file_size: int, sparse: bool) -> None:
    """Every block of every band has data, and lies inside the file (TIFF offsets and byte counts)."""
    bh, bw = ds.block_shapes[0]
    bands = (1,) if ds.interleaving and ds.interleaving.name == "pixel" else range(1, ds.count + 1)
    for band in bands:
        for y in range(-(-ds.height // bh)):
            for x in range(-(-ds.width // bw)):
                offset = ds.get_tag_item(f"BLOCK_OFFSET_{x}_{y}", "TIFF", bidx=band)
                size = ds.get_tag_item(f"BLOCK_SIZE_{x}_{y}", "TIFF", bidx=band)
                if sparse and offset in (None, "0") and size in (None, "0"):
                    continue
                if not offset or not size or int(offset) + int(size) > file_size:
                    raise ValueError(f"block {x},{y} of band {band} is missing or cut short")


def publish(tmp: Path, dst: Path, overwrite: bool) -> None:
    """Move the verified temporary file onto `dst`: flushed to disk, atomic, and without
    overwriting a file that appeared meanwhile (e.g. a second run) unless `overwrite`."""
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    if overwrite:
        os.replace(tmp, dst)
    else:
        try:
            os.link(tmp, dst)  # fails if dst exists, unlike rename
        except FileExistsError:
            raise ValueError(f"{dst} appeared while this run was going on; not replacing it "
                             "(use --overwrite to replace it)") from None
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                raise
            if dst.exists():  # no hard links here: best-effort check, then rename
                raise ValueError(f"{dst} appeared while this run was going on; not replacing it") from None
            os.replace(tmp, dst)
        tmp.unlink(missing_ok=True)
    try:
        fd = os.open(dst.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
