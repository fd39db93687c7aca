"""Self-describing checkpoints: weights plus everything needed to run them.

A checkpoint records architecture and width, the SAR input scaling, training
config, data split, metrics and the sargeo version, so inference never has to
guess how a model was trained.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from sargeo import __version__
from sargeo.model import Generator
from sargeo.scaling import SarScaling

FORMAT = "sargeo-checkpoint"
FORMAT_VERSION = 1
ARCHITECTURE = "unet-pix2pix-8down"


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used (missing, corrupt or of another kind)."""


@dataclass
class Checkpoint:
    """A generator and its metadata; ``extra`` holds optional training state."""

    generator: Generator
    scaling: SarScaling = field(default_factory=SarScaling)
    config: dict[str, Any] = field(default_factory=dict)
    split: dict[str, Any] | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    version: str = __version__

    @property
    def width(self) -> int:
        return self.generator.width


def save_checkpoint(ckpt: Checkpoint, path: str | Path, half: bool = False) -> None:
    """Write atomically (temp file + rename) so a crash never leaves a broken checkpoint."""
    path = Path(path)
    state = {k: (v.half() if half and v.is_floating_point() else v)
             for k, v in ckpt.generator.state_dict().items()}
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "architecture": ARCHITECTURE,
        "width": ckpt.width,
        "scaling": ckpt.scaling.to_dict(),
        "config": ckpt.config,
        "split": ckpt.split,
        "metrics": ckpt.metrics,
        "version": ckpt.version,
        "generator": state,
        **ckpt.extra,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a checkpoint is an ordinary file
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_payload(path: str | Path) -> dict[str, Any]:
    """Load and validate the raw checkpoint dictionary."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # torch raises many kinds for a damaged file
        raise CheckpointError(f"{path} is not a readable checkpoint ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a sargeo checkpoint")
    if payload.get("architecture") != ARCHITECTURE:
        raise CheckpointError(
            f"{path} holds architecture {payload.get('architecture')!r}, expected {ARCHITECTURE!r}"
        )
    if payload.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{path} needs a newer sargeo (format {payload['format_version']})")
    return payload


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Build the generator from a checkpoint file, in float32 and eval mode."""
    payload = read_payload(path)
    gen = Generator(width=int(payload["width"]))
    try:
        gen.load_state_dict({k: v.float() if v.is_floating_point() else v
                             for k, v in payload["generator"].items()})
    except (RuntimeError, KeyError, AttributeError) as exc:
        raise CheckpointError(f"{path}: weights do not fit the recorded architecture: {exc}") from None
    gen.eval()
    known = {"format", "format_version", "architecture", "width", "scaling", "config", "split",
             "metrics", "version", "generator"}
    return Checkpoint(
        generator=gen,
        scaling=SarScaling.from_dict(payload["scaling"]),
        config=payload.get("config", {}),
        split=payload.get("split"),
        metrics=payload.get("metrics", {}),
        extra={k: v for k, v in payload.items() if k not in known},
        version=payload.get("version", "?"),
    )
