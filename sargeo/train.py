"""Training loop of the paper's cGAN: one CPU, one GPU, or many through torchrun (DDP).

Everything a run produces lands in one folder: config, scene split, step and
epoch CSV logs, loss curve and sample grids, and checkpoints (last, best, every
N epochs). ``last.pt`` also holds optimizers, epoch and RNG state so that
``--resume`` continues exactly where a run stopped.
"""

from __future__ import annotations

import csv
import json
import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from sargeo import losses
from sargeo.checkpoint import Checkpoint, CheckpointError, read_payload, save_checkpoint
from sargeo.data import PairDataset, Split, discover_pairs, load_pair, split_by_scene
from sargeo.device import autocast_dtype, resolve_device
from sargeo.metrics import psnr, ssim
from sargeo.model import Discriminator, Generator, colorize_patch, init_weights
from sargeo.report import loss_curve_figure, sample_grid_figure
from sargeo.scaling import SarScaling, unit_to_image

STEP_FIELDS = ("epoch", "step", "g_total", "g_adv", "g_l1", "g_grad", "d_loss")
EPOCH_FIELDS = ("epoch", "g_total", "g_adv", "g_l1", "g_grad", "d_loss", "val_psnr", "val_ssim", "seconds")
#: At most this many training pairs are read to estimate the mean optical colour.
MEAN_COLOUR_SAMPLE = 500
#: Validation pairs drawn in each epoch's sample grid.
SAMPLE_GRID = 4


@dataclass
class TrainConfig:
    """Every knob of a run; paper defaults. Saved as config.json and inside checkpoints."""

    data: str
    out: str
    width: int = 64
    epochs: int = 100
    batch_size: int = 16
    lr_g: float = 2e-4
    lr_d: float = 1e-5
    beta1: float = 0.5
    beta2: float = 0.999
    lambda_l1: float = 100.0
    lambda_grad: float = 100.0
    lambda_adv: float = 1.0
    dropout: float = 0.0
    augment: bool = False
    sar_jitter_db: float = 0.0
    terrains: list[str] | None = None
    max_per_terrain: int | None = None
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    split_file: str | None = None
    seed: int = 0
    save_every: int = 0
    best_metric: str = "psnr"
    best_from_epoch: int = 1
    device: str = "auto"
    amp: bool = True
    workers: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


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
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


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


def mean_colour(pairs: list, seed: int) -> list[float]:
    """Mean optical RGB in [0, 1] over (a sample of) the training pairs: the trivial baseline's colour."""
    rng = random.Random(seed)
    sample = pairs if len(pairs) <= MEAN_COLOUR_SAMPLE else rng.sample(pairs, MEAN_COLOUR_SAMPLE)
    total = np.zeros(3)
    for pair in sample:
        total += (load_pair(pair)[1].mean(axis=(1, 2)) + 1.0) / 2.0
    return (total / len(sample)).tolist()


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


class _Run:
    """State of one training run; methods are the stages of an epoch."""

    def __init__(self, cfg: TrainConfig, ctx: Context, log: Callable[[str], None]) -> None:
        self.cfg, self.ctx, self.log = cfg, ctx, log
        self.out = Path(cfg.out)
        _seed_everything(cfg.seed)
        found = discover_pairs(cfg.data, cfg.terrains, cfg.max_per_terrain, cfg.seed)
        for line in found.skipped:
            log(f"skipped: {line}")
        if not found.pairs:
            raise ValueError(f"no SAR/optical pairs found under {cfg.data}")
        self.split = (Split.load(cfg.split_file) if cfg.split_file
                      else split_by_scene(found.pairs, cfg.val_fraction, cfg.test_fraction, cfg.seed))
        self.train_pairs = self.split.part(found.pairs, "train")
        self.val_pairs = self.split.part(found.pairs, "val")
        if len(self.train_pairs) < 2:
            raise ValueError("need at least 2 training pairs (BatchNorm needs batches of 2 or more)")
        log(f"{len(self.train_pairs)} training pairs from {len(self.split.train)} scenes, "
            f"{len(self.val_pairs)} validation pairs from {len(self.split.val)} scenes, "
            f"device {ctx.device}, {ctx.world} process(es)")

        self.gen, self.disc = Generator(cfg.width, dropout=cfg.dropout), Discriminator(cfg.width)
        init_weights(self.gen)
        init_weights(self.disc)
        self.gen.to(ctx.device)
        self.disc.to(ctx.device)
        betas = (cfg.beta1, cfg.beta2)
        self.opt_g = torch.optim.Adam(self.gen.parameters(), lr=cfg.lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(self.disc.parameters(), lr=cfg.lr_d, betas=betas)
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

    def resume(self, path: Path) -> None:
        payload = read_payload(path)
        if "optimizer_g" not in payload:
            raise CheckpointError(f"{path} has no training state (use the run's last.pt)")
        if int(payload["width"]) != self.cfg.width:
            raise CheckpointError(f"{path} has width {payload['width']}, this run {self.cfg.width}")
        self.gen.load_state_dict(payload["generator"])
        self.disc.load_state_dict(payload["discriminator"])
        self.opt_g.load_state_dict(payload["optimizer_g"])
        self.opt_d.load_state_dict(payload["optimizer_d"])
        self.epoch, self.best = int(payload["epoch"]), float(payload["best"])
        self.train_mean_rgb = payload["config"].get("train_mean_rgb")
        _set_rng_state(payload["rng"])
        if self.ctx.main:
            _truncate_logs(self.out, self.epoch)
        self.log(f"resumed from {path} after epoch {self.epoch}")

    def _checkpoint(self, metrics: dict[str, float], with_state: bool) -> Checkpoint:
        config = {**asdict(self.cfg), "train_mean_rgb": self.train_mean_rgb}
        extra: dict[str, Any] = {"epoch": self.epoch, "best": self.best}
        if with_state:
            extra.update(discriminator=self.disc.state_dict(), optimizer_g=self.opt_g.state_dict(),
                         optimizer_d=self.opt_d.state_dict(), rng=_rng_state())
        return Checkpoint(generator=self.gen, scaling=SarScaling(), config=config,
                          split=self.split.to_dict(), metrics={"epoch": self.epoch, **metrics}, extra=extra)

    def _autocast(self) -> torch.autocast:
        dev = self.ctx.device
        return torch.autocast(dev.type, dtype=self.amp or torch.float32, enabled=self.amp is not None)

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
            with self._autocast():
                fake = self.g_model(sar)
            d_loss = torch.zeros(())
            if cfg.lambda_adv:
                with self._autocast():
                    d_loss = losses.discriminator_loss(self.d_model(sar, real),
                                                       self.d_model(sar, fake.detach()))
                self.opt_d.zero_grad(set_to_none=True)
                d_loss.backward()
                self.opt_d.step()
            with self._autocast():
                logits = self.d_model(sar, fake) if cfg.lambda_adv else None
                g = losses.generator_loss(logits, fake, real, cfg.lambda_l1, cfg.lambda_grad, cfg.lambda_adv)
            self.opt_g.zero_grad(set_to_none=True)
            g["total"].backward()
            self.opt_g.step()
            row = {"epoch": self.epoch + 1, "step": step, "d_loss": d_loss.item(),
                   **{f"g_{k}": v.item() for k, v in g.items()}}
            step_rows.append(row)
            for k in STEP_FIELDS[2:]:
                sums[k] = sums.get(k, 0.0) + row[k]
            bar.set_postfix(G=f"{row['g_total']:.2f}", L1=f"{row['g_l1']:.3f}", D=f"{row['d_loss']:.3f}")
        if self.ctx.main:
            _append_csv(self.out / "log_steps.csv", STEP_FIELDS, step_rows)
        return {k: v / max(len(step_rows), 1) for k, v in sums.items()}

    def end_epoch(self, means: dict[str, float], seconds: float) -> dict[str, float]:
        """Validate, log, draw and checkpoint (rank 0 only)."""
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
        save_checkpoint(self._checkpoint(metrics, with_state=True), self.out / "last.pt")
        if improved or (eligible and math.isnan(score)):
            save_checkpoint(self._checkpoint(metrics, with_state=False), self.out / "best.pt")
        if self.cfg.save_every and self.epoch % self.cfg.save_every == 0:
            path = self.out / f"epoch_{self.epoch:03d}.pt"
            save_checkpoint(self._checkpoint(metrics, with_state=False), path)
        return row


def train(cfg: TrainConfig, resume: str | Path | None = None, progress: bool = True,
          log: Callable[[str], None] = print) -> tuple[Generator, Discriminator]:
    """Run (or continue) training; returns this process's generator and discriminator."""
    ctx = _setup_distributed(cfg.device)
    log = log if ctx.main else (lambda _msg: None)
    out = Path(cfg.out)
    if ctx.main:
        out.mkdir(parents=True, exist_ok=True)
    run = _Run(cfg, ctx, log)
    if resume:
        run.resume(Path(resume))
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
        if ctx.main:
            row = run.end_epoch(means, time.perf_counter() - t0)
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
