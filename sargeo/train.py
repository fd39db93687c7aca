"""Training loop of the paper's cGAN: one CPU, one GPU, or many through torchrun (DDP).

Everything a run produces lands in one folder: config, scene split, step and
epoch CSV logs, loss curve and sample grids, and checkpoints (last, best, every
N epochs). ``last.pt`` also holds optimizers, epoch and every process's RNG state so
that ``--resume`` continues exactly where a run stopped, on the run's own scene split.
"""

from __future__ import annotations

import csv
import json
import math
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from sargeo import losses
from sargeo.checkpoint import Checkpoint, CheckpointError, load_checkpoint, read_payload, save_checkpoint
from sargeo.config import FINETUNE, INHERITED, TrainConfig
from sargeo.data import PairDataset, Split, discover_pairs, load_pair, split_by_scene
from sargeo.data.stats import mean_colour
from sargeo.device import autocast, autocast_dtype, resolve_device
from sargeo.metrics import psnr, ssim
from sargeo.model import Discriminator, Generator, colorize_patch, init_weights
from sargeo.postprocess import OutputAdjust
from sargeo.report import FIGURES_MISSING, figures_available, loss_curve_figure, sample_grid_figure
from sargeo.scaling import SarScaling, unit_to_image

STEP_FIELDS = ("epoch", "step", "g_total", "g_adv", "g_l1", "g_grad", "d_loss")
EPOCH_FIELDS = ("epoch", "g_total", "g_adv", "g_l1", "g_grad", "d_loss", "val_psnr", "val_ssim", "seconds")
#: Validation pairs drawn in each epoch's sample grid.
SAMPLE_GRID = 4
#: Files that mark a folder as holding a run, which a new run must not overwrite.
RUN_FILES = ("last.pt", "best.pt", "config.json", "log_epochs.csv", "split.json")
#: Options that decide the scene split or the training data, by their command-line names;
#: a resumed run keeps the values it was started with.
SPLIT_OPTIONS = {"terrains": "--terrain", "max_per_terrain": "--max-per-terrain",
                 "val_fraction": "--val-fraction", "test_fraction": "--test-fraction", "seed": "--seed"}
#: Fields that only a run's last.pt holds, all needed to continue it.
TRAINING_STATE = ("discriminator", "optimizer_g", "optimizer_d", "epoch", "best", "rng", "config", "split")


@dataclass
class Context:
    """Where this process sits in a (possibly distributed) run."""

    device: torch.device
    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def _setup_distributed(device_name: str) -> Context:
    """Join the torchrun process group when WORLD_SIZE > 1 (nccl on GPU, gloo on CPU)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return Context(resolve_device(device_name))
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_name)
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Context(device, rank, world)


def _average_buffers(module: torch.nn.Module, world: int) -> None:
    """Average BatchNorm running statistics over ranks; DDP keeps only weights in step."""
    for buf in module.buffers():
        if buf.is_floating_point():
            dist.all_reduce(buf)
            buf.div_(world)


def _rng_state() -> dict[str, Any]:
    """This process's random streams as tensors and plain values (checkpoints load weights_only)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {"python": random.getstate(),
             "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(gauss)),
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _gather_rng_states(ctx: Context) -> list[dict[str, Any]]:
    """Every process's RNG state, by rank, so that on resume each one gets its own streams back."""
    if ctx.world == 1:
        return [_rng_state()]
    states: list[Any] = [None] * ctx.world
    dist.all_gather_object(states, _rng_state())
    return states


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _rank_seed(seed: int, rank: int, epoch: int = 0) -> int:
    """A distinct, reproducible seed per process (and per restart epoch) derived from the run's seed.

    Ranks that shared one seed would draw the same flips, SAR jitter and dropout masks on
    their different patches, so the data-parallel batch would be less random than a big one.
    """
    return int(np.random.SeedSequence([seed % 2**64, rank, epoch]).generate_state(1)[0])


def _refuse_existing_run(out: Path) -> None:
    """A new run must not overwrite another run's checkpoints or append to its logs."""
    found = [name for name in RUN_FILES if (out / name).exists()]
    if found:
        raise ValueError(f"{out} already holds a training run ({', '.join(found)}): continue it with "
                         f"--resume {out}, or choose a new --out folder")


def _check_training_state(path: Path, payload: dict[str, Any]) -> None:
    """Fail by name before any work when a checkpoint cannot continue a run."""
    if "optimizer_g" not in payload:
        raise CheckpointError(f"{path} has no training state (use the run's last.pt)")
    missing = [name for name in TRAINING_STATE if payload.get(name) is None]
    if missing:
        raise CheckpointError(f"{path} lacks training state: {', '.join(missing)}")
    rng = payload["rng"]
    if not (isinstance(rng, list) and rng and all(
            isinstance(r, dict) and {"python", "numpy", "torch"} <= r.keys() for r in rng)):
        raise CheckpointError(f"{path} has a malformed 'rng' field (expected one RNG state per process)")


def _as_list(value: Any) -> Any:
    """Terrains may come as tuple or list; compare them as lists."""
    return list(value) if isinstance(value, (tuple, list)) else value


def _resume_split(cfg: TrainConfig, path: Path, payload: dict[str, Any]) -> Split:
    """The run's recorded split; refuse options that would change it, its data or its width.

    Rebuilding the split from changed options (or changed data) would move scenes between
    parts mid-run, and test scenes could end up trained on.
    """
    stored, split = payload["config"], Split.from_dict(payload["split"])
    changed = []
    if stored.get("data") is None or Path(cfg.data).resolve() != Path(stored["data"]).resolve():
        changed.append("--data")
    changed += [flag for name, flag in SPLIT_OPTIONS.items()
                if _as_list(getattr(cfg, name)) != _as_list(stored.get(name))]
    if (cfg.split_file and cfg.split_file != stored.get("split_file")
            and Split.load(cfg.split_file).with_seen(split.seen) != split):
        changed.append("--split")
    if cfg.width != payload["width"]:
        changed.append("--width")
    if cfg.input_norm != payload.get("input_norm", "none"):  # the weights were trained on that input
        changed.append("--input-norm")
    if changed:
        raise ValueError(f"cannot change {', '.join(changed)} when resuming {path}: a run keeps its data, "
                         "scene split and model (start a new run in a new --out folder instead)")
    return split


def _append_csv(path: Path, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    new = not path.exists()
    with path.open("a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        if new:
            writer.writeheader()
        writer.writerows(rows)


def _read_csv(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with path.open(newline="") as fh:
        return [{k: float(v) if v not in ("", None) else math.nan for k, v in row.items()}
                for row in csv.DictReader(fh)]


def _truncate_logs(out: Path, epochs_done: int) -> None:
    """On resume, drop log rows of epochs that were not checkpointed (a crash mid-epoch)."""
    for name in ("log_steps.csv", "log_epochs.csv"):
        path = out / name
        if not path.exists():
            continue
        with path.open(newline="") as fh:
            reader = csv.DictReader(fh)
            columns, rows = reader.fieldnames or [], [r for r in reader if int(r["epoch"]) <= epochs_done]
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)


def validate(gen: torch.nn.Module, pairs: list, device: torch.device,
             keep: int = 0) -> tuple[dict[str, float], list[tuple[np.ndarray, ...]]]:
    """Mean PSNR / SSIM of the generator on held-out pairs (eval mode), plus the first `keep`
    (SAR, generated, optical) images in [0, 1] for the epoch's sample grid."""
    if not pairs:
        return {"val_psnr": math.nan, "val_ssim": math.nan}, []
    gen.eval()
    scores, kept = [], []
    for i, pair in enumerate(pairs):
        sar, rgb = load_pair(pair)
        pred, target = colorize_patch(gen, sar, device), unit_to_image(rgb)
        scores.append((psnr(pred, target), ssim(pred, target)))
        if i < keep:
            kept.append((unit_to_image(sar), pred, target))
    gen.train()
    arr = np.asarray(scores, dtype=float)
    arr[~np.isfinite(arr)] = np.nan
    return {"val_psnr": float(np.nanmean(arr[:, 0])), "val_ssim": float(np.nanmean(arr[:, 1]))}, kept


def load_init(init: str | Path) -> Checkpoint:
    """The checkpoint to fine-tune from; "default" is the model shipped with sargeo."""
    from sargeo.models import default_checkpoint_path

    ckpt = load_checkpoint(default_checkpoint_path() if str(init) == "default" else init)
    if ckpt.scaling != SarScaling():
        raise ValueError(f"{init} expects SAR in [{ckpt.scaling.db_min:g}, {ckpt.scaling.db_max:g}] dB; "
                         "training data is read on the SEN1-2 scale [-25, 0] dB, so it cannot be fine-tuned")
    return ckpt


def learnt_by(init: Checkpoint | None, log: Callable[[str], None]) -> tuple[str, ...]:
    """The scenes `init` learnt from, which a model fine-tuned from it must not be validated or
    tested on (none without a start); a warning when it records no split."""
    if init is None:
        return ()
    if init.learnt is None:
        log("Warning: the --init checkpoint records no scene split, so whether it learnt from the "
            "validation or test scenes cannot be checked")
    return init.learnt or ()


def finetune_options(init: Checkpoint) -> dict[str, Any]:
    """Defaults for fine-tuning `init`: its architecture and recipe, then FINETUNE."""
    inherited = {k: init.config[k] for k in INHERITED if k in init.config}
    return {**inherited, "width": init.width, "input_norm": init.input_norm, **FINETUNE}


def start_from(gen: Generator, init: Checkpoint) -> None:
    """Copy the starting weights, refusing a generator of another shape."""
    if (init.width, init.input_norm) != (gen.width, gen.input_norm):
        raise ValueError(f"--init holds a width-{init.width} model (input norm {init.input_norm}); this "
                         f"run asks for width {gen.width} (input norm {gen.input_norm})")
    gen.load_state_dict(init.plain_generator.state_dict())


def init_adjust(start: OutputAdjust | None, mean_rgb: Sequence[float] | None) -> OutputAdjust | None:
    """A fine-tuned model keeps its start's water guard, without the start's shrink factors
    (those were chosen for the start's data; `sargeo crossval` chooses them for yours)."""
    if start is None or not start.water_guard or mean_rgb is None:
        return None
    return OutputAdjust(tuple(float(v) for v in mean_rgb), 1.0, 1.0, True)


def build_models(cfg: TrainConfig) -> tuple[Generator, Discriminator]:
    """Generator and discriminator of a recipe, with the paper's N(0, 0.02) initialisation."""
    gen = Generator(cfg.width, dropout=cfg.dropout, input_norm=cfg.input_norm)
    disc = Discriminator(cfg.width)
    init_weights(gen)
    init_weights(disc)
    return gen, disc


def build_optimizers(cfg: TrainConfig, gen: torch.nn.Module,
                     disc: torch.nn.Module) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
    betas = (cfg.beta1, cfg.beta2)
    return (torch.optim.Adam(gen.parameters(), lr=cfg.lr_g, betas=betas),
            torch.optim.Adam(disc.parameters(), lr=cfg.lr_d, betas=betas))


def gan_step(gen: torch.nn.Module, disc: torch.nn.Module, opt_g: torch.optim.Optimizer,
             opt_d: torch.optim.Optimizer, sar: torch.Tensor, real: torch.Tensor, cfg: TrainConfig,
             autocast: Callable[[], Any]) -> tuple[float, dict[str, float]]:
    """One optimisation step: the discriminator first (unless lambda_adv is 0), then the generator.

    Returns the discriminator loss and the generator's loss terms.
    """
    with autocast():
        fake = gen(sar)
    d_loss = torch.zeros(())
    if cfg.lambda_adv:
        with autocast():
            d_loss = losses.discriminator_loss(disc(sar, real), disc(sar, fake.detach()))
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
    with autocast():
        logits = disc(sar, fake) if cfg.lambda_adv else None
        g = losses.generator_loss(logits, fake, real, cfg.lambda_l1, cfg.lambda_grad, cfg.lambda_adv,
                                  space=cfg.loss_space)
    opt_g.zero_grad(set_to_none=True)
    g["total"].backward()
    opt_g.step()
    return d_loss.item(), {k: v.item() for k, v in g.items()}


class _Run:
    """State of one training run; methods are the stages of an epoch."""

    def __init__(self, cfg: TrainConfig, ctx: Context, log: Callable[[str], None],
                 split: Split | None = None, init: Checkpoint | None = None) -> None:
        """``split``: a resumed run's recorded split, used instead of making one (its weights come
        from the run, so ``cfg.init`` is not read again); ``init``: ``cfg.init`` already loaded."""
        self.cfg, self.ctx, self.log = cfg, ctx, log
        self.out = Path(cfg.out)
        _seed_everything(cfg.seed)
        found = discover_pairs(cfg.data, cfg.terrains, cfg.max_per_terrain, cfg.seed)
        if found.skipped:
            log(f"{len(found.skipped)} file(s) skipped (unpaired or unreadable), e.g. {found.skipped[0]}; "
                f"all listed in {self.out / 'skipped.txt'}")
            if ctx.main:
                self.out.mkdir(parents=True, exist_ok=True)
                (self.out / "skipped.txt").write_text("\n".join(found.skipped) + "\n")
        if not found.pairs:
            raise ValueError(f"no SAR/optical pairs found under {cfg.data}")
        self.init = None
        if split is None:
            self.init = init or (load_init(cfg.init) if cfg.init else None)
            seen = learnt_by(self.init, log)
            split = (Split.load(cfg.split_file).with_seen(seen) if cfg.split_file
                     else split_by_scene(found.pairs, cfg.val_fraction, cfg.test_fraction, cfg.seed, seen))
        self.split = split
        self.train_pairs = self.split.part(found.pairs, "train")
        self.val_pairs = self.split.part(found.pairs, "val")
        if len(self.train_pairs) < 2:
            raise ValueError("need at least 2 training pairs (BatchNorm needs batches of 2 or more)")
        log(f"{len(self.train_pairs)} training pairs from {len(self.split.train)} scenes, "
            f"{len(self.val_pairs)} validation pairs from {len(self.split.val)} scenes, "
            f"device {ctx.device}, {ctx.world} process(es)")

        self.gen, self.disc = build_models(cfg)
        #: the starting checkpoint's output adjustment; a resumed run reads it from its own file
        self.start_adjust = self.init.adjust if self.init is not None else None
        if self.init is not None:
            start_from(self.gen, self.init)
            log(f"fine-tuning from {cfg.init} (lr_g {cfg.lr_g:g}, lr_d {cfg.lr_d:g}, {cfg.epochs} epochs)")
        # Weights start equal on every rank; from here on each rank has its own streams, which
        # the DataLoader's worker seeds are drawn from as well.
        _seed_everything(_rank_seed(cfg.seed, ctx.rank))
        self.gen.to(ctx.device)
        self.disc.to(ctx.device)
        self.opt_g, self.opt_d = build_optimizers(cfg, self.gen, self.disc)
        self.epoch, self.best = 0, -math.inf
        self.amp = autocast_dtype(ctx.device) if cfg.amp else None
        self.train_mean_rgb: list[float] | None = None

        if ctx.world > 1:
            ids = [ctx.device.index] if ctx.device.type == "cuda" else None
            self.g_model = DistributedDataParallel(self.gen, device_ids=ids)
            self.d_model = DistributedDataParallel(self.disc, device_ids=ids)
        else:
            self.g_model, self.d_model = self.gen, self.disc

        dataset = PairDataset(self.train_pairs, augment=cfg.augment, sar_jitter_db=cfg.sar_jitter_db)
        drop_last = len(dataset) > cfg.batch_size * ctx.world
        self.sampler = DistributedSampler(dataset, ctx.world, ctx.rank, shuffle=True, seed=cfg.seed,
                                          drop_last=drop_last)
        self.loader = DataLoader(dataset, batch_size=cfg.batch_size, sampler=self.sampler,
                                 drop_last=drop_last, num_workers=cfg.workers,
                                 pin_memory=ctx.device.type == "cuda")

    def resume(self, path: Path, payload: dict[str, Any]) -> None:
        """Load weights, optimizers and this rank's RNG state from a checked last.pt payload."""
        self.gen.load_state_dict(payload["generator"])
        self.disc.load_state_dict(payload["discriminator"])
        self.opt_g.load_state_dict(payload["optimizer_g"])
        self.opt_d.load_state_dict(payload["optimizer_d"])
        self.epoch, self.best = int(payload["epoch"]), float(payload["best"])
        self.train_mean_rgb = payload["config"].get("train_mean_rgb")
        adjust = payload.get("output_adjust")
        self.start_adjust = OutputAdjust.from_dict(adjust) if adjust is not None else None
        states = payload["rng"]
        if len(states) == self.ctx.world:
            _set_rng_state(states[self.ctx.rank])
        else:
            self.log(f"Warning: {path} was saved by {len(states)} process(es), this run has "
                     f"{self.ctx.world}: random streams are reseeded, so it will not continue bit for bit")
            _seed_everything(_rank_seed(self.cfg.seed, self.ctx.rank, self.epoch))
        if self.ctx.main:
            _truncate_logs(self.out, self.epoch)
        self.log(f"resumed from {path} after epoch {self.epoch}")

    def _checkpoint(self, metrics: dict[str, float], rng: list[dict[str, Any]] | None = None) -> Checkpoint:
        """With ``rng`` (every rank's RNG state), also the training state that --resume needs."""
        config = {**asdict(self.cfg), "train_mean_rgb": self.train_mean_rgb}
        extra: dict[str, Any] = {"epoch": self.epoch, "best": self.best}
        if rng is not None:
            extra.update(discriminator=self.disc.state_dict(), optimizer_g=self.opt_g.state_dict(),
                         optimizer_d=self.opt_d.state_dict(), rng=rng)
        return Checkpoint(generator=self.gen, scaling=SarScaling(), config=config,
                          adjust=init_adjust(self.start_adjust, self.train_mean_rgb),
                          split=self.split.to_dict(), metrics={"epoch": self.epoch, **metrics}, extra=extra)

    def _autocast(self) -> torch.autocast:
        return autocast(self.ctx.device, self.amp)

    def train_epoch(self, progress: bool) -> dict[str, float]:
        cfg, dev = self.cfg, self.ctx.device
        self.sampler.set_epoch(self.epoch)
        self.gen.train()
        self.disc.train()
        sums: dict[str, float] = {}
        step_rows = []
        bar = tqdm(self.loader, desc=f"epoch {self.epoch + 1}/{cfg.epochs}", disable=not progress,
                   leave=False, dynamic_ncols=True)
        for step, (sar, real) in enumerate(bar):
            sar, real = sar.to(dev, non_blocking=True), real.to(dev, non_blocking=True)
            d_loss, g = gan_step(self.g_model, self.d_model, self.opt_g, self.opt_d, sar, real, cfg,
                                 self._autocast)
            row = {"epoch": self.epoch + 1, "step": step, "d_loss": d_loss,
                   **{f"g_{k}": v for k, v in g.items()}}
            step_rows.append(row)
            for k in STEP_FIELDS[2:]:
                sums[k] = sums.get(k, 0.0) + row[k]
            bar.set_postfix(G=f"{row['g_total']:.2f}", L1=f"{row['g_l1']:.3f}", D=f"{row['d_loss']:.3f}")
        if self.ctx.main:
            _append_csv(self.out / "log_steps.csv", STEP_FIELDS, step_rows)
        return {k: v / max(len(step_rows), 1) for k, v in sums.items()}

    def end_epoch(self, means: dict[str, float], seconds: float,
                  rng: list[dict[str, Any]]) -> dict[str, float]:
        """Validate, log, draw and checkpoint (rank 0 only); ``rng``: every rank's RNG state."""
        self.epoch += 1
        metrics, samples = validate(self.gen, self.val_pairs, self.ctx.device, keep=SAMPLE_GRID)
        row = {"epoch": self.epoch, **means, **metrics, "seconds": round(seconds, 2)}
        _append_csv(self.out / "log_epochs.csv", EPOCH_FIELDS, [row])
        loss_curve_figure(_read_csv(self.out / "log_epochs.csv"), self.out / "loss_curve.png")
        if samples:
            grid = self.out / "samples" / f"epoch_{self.epoch:03d}.png"
            grid.parent.mkdir(parents=True, exist_ok=True)
            sample_grid_figure(*(np.stack(images) for images in zip(*samples, strict=True)), grid,
                               titles=[p.name for p in self.val_pairs[:SAMPLE_GRID]])
        score = metrics[f"val_{self.cfg.best_metric}"]
        # the first epochs predict a near-constant colour, which PSNR/SSIM favour on small data
        eligible = self.epoch >= self.cfg.best_from_epoch
        improved = eligible and not math.isnan(score) and score > self.best
        if improved:
            self.best = score
        save_checkpoint(self._checkpoint(metrics, rng), self.out / "last.pt")
        if improved or (eligible and math.isnan(score)):
            save_checkpoint(self._checkpoint(metrics), self.out / "best.pt")
        if self.cfg.save_every and self.epoch % self.cfg.save_every == 0:
            path = self.out / f"epoch_{self.epoch:03d}.pt"
            save_checkpoint(self._checkpoint(metrics), path)
        return row


def train(cfg: TrainConfig, resume: str | Path | None = None, progress: bool = True,
          log: Callable[[str], None] = print,
          init: Checkpoint | None = None) -> tuple[Generator, Discriminator]:
    """Run (or continue) training; returns this process's generator and discriminator. ``init``:
    the checkpoint ``cfg.init`` names, when the caller has loaded it already.

    The checks come before joining the process group, so every rank fails alike and no
    rank is left waiting for the others.
    """
    out = Path(cfg.out)
    resumed: tuple[Path, dict[str, Any]] | None = None
    split = None
    if resume:
        resumed = Path(resume), read_payload(resume)
        _check_training_state(*resumed)
        split = _resume_split(cfg, *resumed)
    else:
        _refuse_existing_run(out)
    ctx = _setup_distributed(cfg.device)
    log = log if ctx.main else (lambda _msg: None)
    if not figures_available():
        log(f"Note: {FIGURES_MISSING}")
    if ctx.main:
        out.mkdir(parents=True, exist_ok=True)
    run = _Run(cfg, ctx, log, split, init)
    if resumed is not None:
        run.resume(*resumed)
    if run.train_mean_rgb is None:
        run.train_mean_rgb = mean_colour(run.train_pairs, cfg.seed)
    if ctx.main:
        (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2))
        run.split.save(out / "split.json")
    while run.epoch < cfg.epochs:
        t0 = time.perf_counter()
        means = run.train_epoch(progress and ctx.main)
        if ctx.world > 1:
            _average_buffers(run.gen, ctx.world)
            _average_buffers(run.disc, ctx.world)
        rng = _gather_rng_states(ctx)
        if ctx.main:
            row = run.end_epoch(means, time.perf_counter() - t0, rng)
            log(f"epoch {row['epoch']}/{cfg.epochs}: G {row['g_total']:.3f} (L1 {row['g_l1']:.4f}, "
                f"grad {row['g_grad']:.4f}, adv {row['g_adv']:.3f}) D {row['d_loss']:.3f} "
                f"val PSNR {row['val_psnr']:.2f} SSIM {row['val_ssim']:.3f} [{row['seconds']:.0f}s]")
        else:
            run.epoch += 1
        if ctx.world > 1:
            dist.barrier()
    if ctx.world > 1:
        dist.destroy_process_group()
    return run.gen, run.disc
