"""Many scenes in one run: one model load, one output folder, failures reported per scene.

Archives are colorized scene after scene with the checkpoint loaded once. A scene that
fails (unreadable file, no valid pixel, ...) is recorded and the run goes on. Under
torchrun every process takes its own share of the list, ``scenes[rank::world]``, so the
processes exchange nothing about the work and the outputs are those of a single-process run.
They only meet twice (`join_ranks`, `leave_ranks`): so that none writes while another still
checks for existing outputs, and so that none exits before all are done, since torchrun stops
every process as soon as one exits with an error. Everything that would make the whole run
fail (name clashes, existing outputs, a bad device or creation option, a bad checkpoint) is
checked before the first scene starts.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist

from sargeo.aoi import read_vector
from sargeo.checkpoint import Checkpoint
from sargeo.destination import cog_options, is_local, output_profile
from sargeo.device import resolve_device
from sargeo.messages import first_line
from sargeo.options import ColorizeResult
from sargeo.progress import Progress
from sargeo.scene import ColorizeOptions, SceneJob, begin_colorize, check_options, load_model, tile_runner

#: What `colorize` raises for bad input or environment; anything else is a bug and stops the run.
SCENE_ERRORS = (ValueError, OSError)
#: A DST with one of these suffixes is a file name, never an output folder.
FILE_SUFFIXES = (".tif", ".tiff")
#: How long torchrun processes wait for each other: one that finished its share waits for the
#: slowest, which may have hours of scenes left.
RANK_WAIT = timedelta(days=7)
#: How long an interrupted run waits for the scene being finished to stop (a COG copy cannot be cut short).
CANCEL_WAIT_S = 10.0


@dataclass(frozen=True)
class SceneOutcome:
    """What happened to one scene: `error` is the first line of its message (one line per scene in
    reports), `tiles` counts the tiles run through the model."""

    src: str
    dst: Path
    error: str | None = None
    seconds: float = 0.0
    tiles: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None


def read_list(path: str | Path) -> list[str]:
    """Scene paths from a list file: one per line, blank lines and lines starting with # skipped.

    Relative paths are taken from the current folder, as the shell would for SRC arguments.
    """
    lines = (line.strip() for line in Path(path).read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def output_path(src: str, out_dir: Path) -> Path:
    """OUT_DIR/<src stem>.tif; a URL's query string (signed links) is not part of the name."""
    return out_dir / f"{Path(src.split('?', 1)[0]).stem}.tif"


def torchrun_env() -> tuple[int, int, int]:
    """(RANK, WORLD_SIZE, LOCAL_RANK) as torchrun sets them; (0, 1, 0) in a plain run."""
    env = os.environ
    return int(env.get("RANK", "0")), int(env.get("WORLD_SIZE", "1")), int(env.get("LOCAL_RANK", "0"))


def rank_device(device: str, local_rank: int) -> str:
    """Each torchrun process on its own GPU: cuda:LOCAL_RANK for 'auto' or 'cuda' when CUDA is
    present; any other choice (cpu, an explicit cuda:N) is the user's.

    That GPU also becomes the current one, so that no process opens a CUDA context on GPU 0.
    """
    if device not in ("auto", "cuda") or not torch.cuda.is_available():
        return device
    if local_rank < torch.cuda.device_count():  # else resolve_device reports too few GPUs
        torch.cuda.set_device(local_rank)
    return f"cuda:{local_rank}"


def join_ranks() -> None:
    """Meet every other torchrun process (gloo: works whatever device the scenes run on)."""
    dist.init_process_group("gloo", timeout=RANK_WAIT)
    dist.barrier()


def leave_ranks() -> None:
    """Wait until every torchrun process has finished its share, then leave the group."""
    dist.barrier()
    dist.destroy_process_group()


def plan_outputs(sources: Sequence[str], out_dir: Path, overwrite: bool, rank: int = 0,
                 world: int = 1) -> list[Path]:
    """The output of every scene, refusing up front what would fail or clobber later.

    Clashes are checked over all scenes (every process sees the same list); existing outputs
    only over this process's share, since other processes may already be writing theirs.
    """
    if not sources:
        raise ValueError("no scenes to colorize")
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir} is a file; several scenes need an output folder")
    outputs = [output_path(src, out_dir) for src in sources]
    seen: dict[str, str] = {}
    for src, dst in zip(sources, outputs, strict=True):
        key = dst.name.casefold()  # case-insensitive file systems (macOS, Windows) clash too
        if key in seen:
            raise ValueError(f"{seen[key]} and {src} would both be written to {dst}: rename one or "
                             "colorize them into different folders")
        seen[key] = src
    mine = list(zip(sources, outputs, strict=True))[rank::world]
    for src, dst in mine:
        if is_local(src) and Path(src).resolve() == dst.resolve():
            raise ValueError(f"{src} would be replaced by its own output: choose another output folder")
    existing = [dst for _, dst in mine if dst.exists()]
    if existing and not overwrite:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise ValueError(f"{existing[0]} already exists{more} (use --overwrite to replace)")
    return outputs


def _check_shared_options(options: ColorizeOptions, ckpt: Checkpoint) -> torch.device:
    """Options that would fail every scene alike fail the run once instead; returns the device
    they name."""
    check_options(options, ckpt)
    device = resolve_device(options.device)
    if options.cog:
        cog_options(options.creation_options)
    else:
        output_profile(64, 64, options.creation_options, {})
    if options.aoi is not None:
        read_vector(options.aoi)
    return device


def colorize_many(
    sources: Sequence[str],
    out_dir: str | Path,
    checkpoint: str | Path | Checkpoint | None = None,
    options: ColorizeOptions | None = None,
    rank: int = 0,
    world: int = 1,
    log: Callable[[str], None] = lambda _msg: None,
    progress_factory: Callable[[str], Progress] = lambda _src: Progress(),
    on_outcome: Callable[[SceneOutcome], None] = lambda _outcome: None,
    ready: Callable[[], None] = lambda: None,
) -> list[SceneOutcome]:
    """Colorize this process's share of `sources` into OUT_DIR/<stem>.tif.

    Scenes go through the model one after another; each scene's file is completed (last rows,
    COG copy, verification) while the next one is read and run. Raises ValueError (OSError) before
    any scene when the run as a whole cannot succeed; after that a failing scene only yields a
    failed SceneOutcome. `on_outcome` hears of each scene in list order, as soon as its file is
    done and the next scene's tiles are, so failures show early on long runs; `log` gets a
    counter line per scene and colorize's warnings. `ready` runs once everything is checked and
    the model loaded, just before the first scene (torchrun: `join_ranks`).
    """
    options = options or ColorizeOptions()
    out_dir = Path(out_dir)
    sources = [str(s) for s in sources]
    outputs = plan_outputs(sources, out_dir, options.overwrite, rank, world)
    checkpoint = load_model(checkpoint)
    runner = tile_runner(checkpoint, _check_shared_options(options, checkpoint), options.amp)
    out_dir.mkdir(parents=True, exist_ok=True)
    ready()

    share = list(zip(sources, outputs, strict=True))[rank::world]
    outcomes: list[SceneOutcome] = []
    finishing: _Finishing | None = None  # the previous scene, its file being completed meanwhile
    try:
        for i, (src, dst) in enumerate(share, 1):
            log(f"scene {i}/{len(share)}: {src}")
            t0, job, failed = time.perf_counter(), None, None
            try:
                job = begin_colorize(src, dst, checkpoint, options, progress_factory(src), log, runner)
            except SCENE_ERRORS as exc:
                failed = SceneOutcome(src, dst, first_line(exc), time.perf_counter() - t0)
            if finishing is not None:  # outcomes in list order
                outcomes.append(finishing.outcome())
                on_outcome(outcomes[-1])
                finishing = None
            if job is not None:
                finishing = _Finishing(job, t0)
            else:
                outcomes.append(failed)
                on_outcome(failed)
        if finishing is not None:
            outcomes.append(finishing.outcome())
            on_outcome(outcomes[-1])
            finishing = None
    finally:
        if finishing is not None:  # interrupted, or a bug: nothing half-written may stay
            finishing.cancel()
    return outcomes


class _Finishing:
    """A scene's file being completed in a thread (last rows, COG copy, verification, publishing)
    while the next scene goes through the model: the GPU does not wait for the disk."""

    def __init__(self, job: SceneJob, t0: float) -> None:
        self.job, self.t0 = job, t0
        self.result: ColorizeResult | None = None
        self.error: BaseException | None = None
        self.seconds = 0.0
        self.thread = threading.Thread(target=self._run, name="sargeo-finish", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.result = self.job.finish()
        except BaseException as exc:  # handed over in outcome()
            self.error = exc
        self.seconds = time.perf_counter() - self.t0

    def outcome(self) -> SceneOutcome:
        while self.thread.is_alive():  # short joins: Ctrl-C is still heard meanwhile
            self.thread.join(0.1)
        job = self.job
        if isinstance(self.error, SCENE_ERRORS):
            return SceneOutcome(job.src, job.dst, first_line(self.error), self.seconds)
        if self.error is not None:
            raise self.error
        return SceneOutcome(job.src, job.dst, seconds=self.seconds, tiles=self.result.tiles_run)

    def cancel(self) -> None:
        """Stop it and remove its temporary files; the file is not published."""
        self.job.abandon()
        self.thread.join(CANCEL_WAIT_S)
