"""Scene engine: stream a SAR raster of any size through the generator into an RGB GeoTIFF.

The scene is processed one row of tiles at a time, in stages: read (sargeo.source, reader
threads) -> scale, tile, model, blend (sargeo.model_stage, this thread, on the
model's device) -> write (sargeo.sink, a writer thread, the rows no later tile can touch).
This module owns the threads and queues (sargeo.pipeline makes them fail together) and the
API. Memory is bounded by the scene width, not its size. Output goes to a hidden temporary
file beside the destination and is renamed only when complete, so a failure or Ctrl-C never
leaves a partial file. A Cloud-Optimized GeoTIFF, which GDAL can only copy from a finished
raster, is copied from that file into a second hidden one, which is the one renamed.
"""

from __future__ import annotations

import functools
import math
import os
import queue
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import rasterio
import torch
from rasterio.control import GroundControlPoint
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from rasterio.windows import Window
from shapely.geometry import box

from sargeo.aoi import pixel_window, read_vector, to_pixels
from sargeo.checkpoint import Checkpoint, load_checkpoint
from sargeo.destination import (
    check_destination,
    cog_options,
    gdal_messages,
    is_local,
    is_on,
    output_profile,
    publish,
    root_cause,
    temp_path,
    verify_output,
    write_cog,
)
from sargeo.device import autocast_dtype, resolve_device
from sargeo.infer import TileRunner
from sargeo.model_stage import ModelStage
from sargeo.models import default_checkpoint_path
from sargeo.options import TILE, ColorizeOptions, ColorizeResult
from sargeo.pipeline import Pipeline, Stopped
from sargeo.progress import Progress
from sargeo.sar_input import InputSpec, resolve_input, shift_gcps
from sargeo.scaling import SarScaling
from sargeo.sink import write_rows
from sargeo.source import Strip, Uploader, open_source, read_strips
from sargeo.tiling import tile_starts

# Each strip is read and written once, so a big GDAL block cache only grows memory with the
# scene (GDAL's default is 5% of RAM); users can still set their own GDAL_CACHEMAX.
os.environ.setdefault("GDAL_CACHEMAX", "256")
#: Most reader threads a scene gets (on a GPU).
MAX_READERS = 4


def reader_count(device: torch.device) -> int:
    """Reader threads for a scene: one keeps up with a CPU's model many times over; a GPU's
    needs several (measured on an H200: one reader, 1,950 tiles/s; the model 12,000), and GDAL
    reads and numpy's checks release the GIL, so they run in parallel."""
    return 1 if device.type == "cpu" else max(1, min(MAX_READERS, (os.cpu_count() or 1) // 4))


def _georeferencing(ds: rasterio.io.DatasetReaderBase, window: Window) -> dict[str, Any]:
    """CRS and transform of the output, which covers `window` of the input."""
    if ds.crs is not None and not ds.transform.is_identity:
        return {"crs": ds.crs, "transform": ds.window_transform(window)}
    return {}


def _window_gcps(gcps: tuple[list[GroundControlPoint], Any], window: Window) -> tuple[list, Any]:
    """The input's GCPs on the pixel grid of `window` (a cropped output starts at its corner)."""
    points, crs = gcps
    return shift_gcps(points, window.row_off, window.col_off), crs


def _overview_factors(width: int, height: int) -> list[int]:
    factors, f = [], 2
    while min(width, height) / f >= TILE:
        factors.append(f)
        f *= 2
    return factors


def load_model(checkpoint: str | Path | Checkpoint | None) -> Checkpoint:
    """The checkpoint given, loaded if it is a path; the shipped model for None."""
    if isinstance(checkpoint, Checkpoint):
        return checkpoint
    return load_checkpoint(checkpoint if checkpoint is not None else default_checkpoint_path())


def tile_runner(ckpt: Checkpoint, device: torch.device, amp: bool) -> TileRunner:
    """The checkpoint's generator made ready for inference on `device` (in bf16/fp16 where `amp`
    and the device has it). Scenes of one run share it (sargeo.batch): on a GPU its weights go up
    and its batch size is measured once."""
    return TileRunner(ckpt.generator, device, autocast_dtype(device) if amp else None, TILE)


def check_options(options: ColorizeOptions, ckpt: Checkpoint) -> SarScaling:
    """Refuse options no scene could run with; returns the dB window in force (--db-range or the
    checkpoint's)."""
    window_db = SarScaling(*options.db_range) if options.db_range else ckpt.scaling
    if options.batch_size is not None and options.batch_size < 1:
        raise ValueError("batch size must be at least 1")
    if not 0 <= options.overlap < TILE:
        raise ValueError(f"overlap must be between 0 and {TILE - 1} pixels")
    if not (math.isfinite(window_db.db_min) and math.isfinite(window_db.db_max)):
        raise ValueError(f"--db-range needs finite values, got {window_db.db_min:g} {window_db.db_max:g}")
    if window_db.db_max <= window_db.db_min:
        raise ValueError("--db-range needs MIN < MAX")
    if options.nodata is not None and math.isinf(options.nodata):
        raise ValueError("--nodata must be a finite number or nan")
    if options.crop and options.aoi is None:
        raise ValueError("--crop needs --aoi")
    return window_db


def colorize(
    src: str | Path,
    dst: str | Path,
    checkpoint: str | Path | Checkpoint | None = None,
    options: ColorizeOptions | None = None,
    progress: Progress | None = None,
    log: Callable[[str], None] = lambda _msg: None,
    **kwargs: Any,
) -> ColorizeResult:
    """Colorize the SAR raster `src` into an RGB + alpha GeoTIFF `dst` on the input's pixel grid
    (with `crop`, on the AOI's bounding window of it).

    Options come as a ColorizeOptions or as keyword arguments of the same names. Bad input
    raises ValueError (OSError for files that cannot be read or written); `dst` appears only
    complete and verified, and an existing `dst` is replaced only with `overwrite`.
    """
    return begin_colorize(src, dst, checkpoint, options or ColorizeOptions(**kwargs), progress, log).finish()


def begin_colorize(
    src: str | Path,
    dst: str | Path,
    checkpoint: str | Path | Checkpoint | None = None,
    options: ColorizeOptions | None = None,
    progress: Progress | None = None,
    log: Callable[[str], None] = lambda _msg: None,
    runner: TileRunner | None = None,
) -> SceneJob:
    """Run every tile of `src` through the model; returns while the last rows may still be being
    written. `SceneJob.finish` completes the file, so the caller can start the next scene first
    (sargeo.batch does, passing the `tile_runner` of the checkpoint that all its scenes share).
    Raises as `colorize` does, having removed whatever it wrote.
    """
    options = options or ColorizeOptions()
    src, dst = str(src), Path(dst)
    if is_local(src) and not Path(src).exists():
        raise FileNotFoundError(f"input not found: {src}")
    check_destination(src, dst, options.overwrite)
    ckpt = load_model(checkpoint)
    window_db = check_options(options, ckpt)
    device = runner.device if runner is not None else resolve_device(options.device)

    with open_source(src, options.resample) as ds:
        spec, notes = resolve_input(ds, options.band, options.scale, window_db, options.nodata)
        if ds.crs is None and not ds.gcps[0]:
            notes.append("input has no CRS or GCPs: the output is written without georeferencing")
        aoi, window = None, Window(0, 0, ds.width, ds.height)
        if options.aoi is not None:
            geom, crs = read_vector(options.aoi)
            aoi = to_pixels(geom, crs, ds)
            overlaps = not aoi.is_empty and aoi.intersects(box(0, 0, ds.width, ds.height))
            if overlaps and options.crop:
                window = pixel_window(aoi, ds.width, ds.height)
            if not overlaps or not (window.width and window.height):  # an empty window: it only touches
                raise ValueError("the AOI does not overlap the input")
        # with --cog the engine writes a plain GeoTIFF that the COG driver then copies
        profile = output_profile(window.width, window.height, {} if options.cog else options.creation_options,
                                 _georeferencing(ds, window))
        cog = cog_options(options.creation_options) if options.cog else None
        gcps, scene_shape = _window_gcps(ds.gcps, window), (ds.height, ds.width)
    for note in notes:
        log(f"Warning: {note}")

    job = SceneJob(src, dst, options, cog, tuple(notes), progress or Progress(), aoi is not None)
    try:
        job.runner = _SceneRunner(src, job.tmp, dst, options, spec, ckpt, device, aoi, profile, gcps,
                                  window, scene_shape, job.progress, runner)
        job.runner.run_tiles()
    except BaseException:
        job.abandon()
        raise
    return job


class SceneJob:
    """A scene whose tiles have all been through the model; `finish` completes its file."""

    runner: _SceneRunner

    def __init__(self, src: str, dst: Path, options: ColorizeOptions, cog: dict[str, str] | None,
                 notes: tuple[str, ...], progress: Progress, has_aoi: bool) -> None:
        self.src, self.dst, self.options, self.cog, self.notes = src, dst, options, cog, notes
        self.progress, self.has_aoi = progress, has_aoi
        self.tmp = temp_path(dst)
        self.final = self.tmp if cog is None else temp_path(dst)
        self.abandoned = False

    def finish(self) -> ColorizeResult:
        """Wait for the writer, then copy to a COG or add overviews, verify and publish."""
        runner, options = self.runner, self.options
        width, height = runner.width, runner.height
        try:
            tiles_run = runner.wait()
            if tiles_run == 0:
                raise ValueError(f"no valid pixels in band {runner.spec.band} of {self.src}"
                                 f"{' inside the AOI' if self.has_aoi else ''}: nothing to colorize "
                                 "(check --nodata and --band)")
            if self.cog is not None:
                write_cog(self.tmp, self.final, self.dst, self.cog)
                self.tmp.unlink()  # the disk need not hold both until the end
            elif options.overviews and _overview_factors(width, height):
                _build_overviews(self.tmp, self.dst, _overview_factors(width, height))
            sparse = is_on((self.cog or runner.profile).get("SPARSE_OK", ""))
            verify_output(self.final, self.dst, width, height, sparse)
            if self.abandoned:  # cancelled from another thread meanwhile
                raise Stopped
            publish(self.final, self.dst, options.overwrite)
        finally:
            self.abandon()
        self.progress.finish(output=str(self.dst))
        return ColorizeResult(self.dst, str(runner.device), width, height, runner.total, tiles_run,
                              self.notes)

    def abandon(self) -> None:
        """Stop the scene's threads and remove its temporary files (nothing if already published)."""
        self.abandoned = True
        runner = getattr(self, "runner", None)
        if runner is not None:
            runner.close()
        self.tmp.unlink(missing_ok=True)
        self.final.unlink(missing_ok=True)


def _build_overviews(tmp: Path, dst: Path, factors: list[int]) -> None:
    try:
        with gdal_messages() as messages, rasterio.open(tmp, "r+") as out:
            out.build_overviews(factors, Resampling.average)
            out.update_tags(ns="rio_overview", resampling="average")
    except RasterioError as exc:
        raise OSError(f"cannot write overviews of {dst}: {root_cause(exc)}") from None
    if messages:
        raise OSError(f"cannot write overviews of {dst}: {messages[0]}")


class _SceneRunner:
    """One pass over the scene: reader threads -> scale, tile, model, blend (this thread) -> writer thread.

    The readers only read (GDAL releases the GIL); scaling, tiling, nodata fill, blending and
    the uint8 conversion run as torch operations on the model's device (sargeo.model_stage), so a GPU
    is fed whole strips and hands back finished rows. Any stage failing stops the others at
    once (sargeo.pipeline); the first error is raised.

    The output covers `window` of the scene. Tiles keep their places on the whole scene's
    lattice, so a window gets the very pixels of a whole-scene run: only the tiles that reach
    into it are run, on strips cut to their columns. With an AOI the model still sees the input
    around it (tiles reaching the AOI are whole, as in a whole-scene run); only the output is
    masked, and tiles that reach no valid pixel inside it are skipped.
    """

    def __init__(self, src: str, tmp: Path, dst: Path, options: ColorizeOptions, spec: InputSpec,
                 ckpt: Checkpoint, device: torch.device, aoi, profile: dict, gcps: tuple, window: Window,
                 scene_shape: tuple[int, int], progress: Progress | None, runner: TileRunner | None) -> None:
        self.src, self.tmp, self.dst, self.options, self.spec = src, tmp, dst, options, spec
        self.ckpt, self.device, self.aoi, self.profile, self.gcps = ckpt, device, aoi, profile, gcps
        self.runner = runner
        self.progress = progress or Progress()
        self.width, self.height = profile["width"], profile["height"]
        self.top, self.left = window.row_off, window.col_off
        self.scene_height, scene_width = scene_shape
        self.rows = [r for r in tile_starts(self.scene_height, TILE, options.overlap)
                     if r < self.top + self.height and r + TILE > self.top]
        cols = [c for c in tile_starts(scene_width, TILE, options.overlap)
                if c < self.left + self.width and c + TILE > self.left]
        # strips span scene columns [x0, x1): those of the tiles; tile columns are relative to x0
        self.x0, self.x1 = cols[0], min(scene_width, cols[-1] + TILE)
        self.cols = [c - self.x0 for c in cols]
        self.total = len(self.rows) * len(self.cols)
        self.pipe = Pipeline()
        # reader k reads strips k, k + n, ... into queue k
        self.strips: list[queue.Queue] = [queue.Queue(maxsize=2) for _ in range(reader_count(device))]
        self.finished: queue.Queue = queue.Queue(maxsize=4)

    def _read(self, k: int) -> None:
        # GDAL's warnings about the input (odd TIFF tags and the like) are not the output's
        # failures: collected here, they cannot reach the writer's check
        upload = Uploader(self.device)
        with gdal_messages(), open_source(self.src, self.options.resample) as ds:
            for strip in read_strips(ds, self.src, self.spec, self.rows[k::len(self.strips)], TILE,
                                     (self.x0, self.x1), self.cols, self.aoi):
                if self.pipe.stop.is_set():
                    return
                self.pipe.put(self.strips[k], upload(strip))

    def _write(self) -> None:
        # rows leave a GPU in this thread (sargeo.sink), which waits for the model while the
        # model stage runs on
        write_rows(self.tmp, self.dst, self.profile, self.gcps, lambda: self.pipe.get(self.finished))

    def run_tiles(self) -> None:
        """Start the reader and writer and run every strip through the model; the writer may
        still be writing when this returns (`wait` waits for it)."""
        self.progress.start(self.total, str(self.device), width=self.width, height=self.height)
        for k in range(len(self.strips)):
            self.pipe.spawn(functools.partial(self._read, k), f"sargeo-reader-{k}")
        self.writer = self.pipe.spawn(self._write, "sargeo-writer")
        try:
            # built while the readers read the first strips (the fused copy: 16-130 ms on a CPU)
            runner = self.runner or tile_runner(self.ckpt, self.device, self.options.amp)
            self.tiles_run = self._loop(runner, self.options.batch_size or runner.auto_batch())
            self.pipe.put(self.finished, None)
        except Stopped:
            self.close()
            self.pipe.raise_error()
            raise RuntimeError("the scene pipeline stopped without reporting why") from None
        except BaseException as exc:
            self.pipe.fail(exc)
            self.close()
            raise
        finally:  # a bar ends on its own line, so what is printed next (an error) starts a new one
            self.progress.tiles_done()

    def wait(self) -> int:
        """Wait until the writer has written the last row; returns how many tiles went through the model."""
        try:
            while self.writer.is_alive() and not self.pipe.stop.is_set():
                self.writer.join(0.05)
        except BaseException as exc:
            self.pipe.fail(exc)
            raise
        finally:
            self.close()
        self.pipe.raise_error()
        return self.tiles_run

    def close(self) -> None:
        """Stop every stage and wait for them (their files are closed when this returns)."""
        self.pipe.stop.set()
        self.pipe.join()

    def _loop(self, runner: TileRunner, batch: int) -> int:
        stage = ModelStage(runner, batch, self.spec, self.cols, self.x1 - self.x0,
                           self.options.overlap, self.progress.advance)
        left, bottom = self.left - self.x0, self.top + self.height
        for row, rows in stage.run(self._strips()):
            first, last = max(self.top, row), min(bottom, row + rows.shape[1])  # the rows inside the window
            if first < last:
                self.pipe.put(self.finished, rows[:, first - row:last - row, left:left + self.width])
        return stage.tiles_run

    def _strips(self) -> Iterator[tuple[Strip, int]]:
        """The readers' strips in scene order, each with how many of its rows no later strip reaches."""
        for i, row in enumerate(self.rows):
            strip = self.pipe.get(self.strips[i % len(self.strips)])
            assert strip.row == row
            end = self.rows[i + 1] if i + 1 < len(self.rows) else min(self.scene_height, row + TILE)
            yield strip, end - row
