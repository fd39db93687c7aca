"""Self-describing checkpoints: weights plus everything needed to run them.

A checkpoint records architecture and width, the SAR input scaling, training
config, data split, metrics and the sargeo version, so inference never has to
guess how a model was trained. Files are read with ``torch.load(weights_only=True)``:
only tensors and plain Python values, so opening a checkpoint can never run code.
"""

from __future__ import annotations

import os
import pickle
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from sargeo import __version__
from sargeo.data.split import Split
from sargeo.model import Generator
from sargeo.scaling import SarScaling

FORMAT = "sargeo-checkpoint"
FORMAT_VERSION = 1
ARCHITECTURE = "unet-pix2pix-8down"


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used (missing, corrupt or of another kind)."""


@dataclass
class Checkpoint:
    """A generator and its metadata; ``extra`` holds optional training state.

    Everything in it must be tensors or plain Python values: files are read back with
    ``weights_only=True``, which refuses any other object.
    """

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
    """Load and validate the raw checkpoint dictionary (tensors and plain values only)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # torch names the refused class ("Unsupported global: GLOBAL module.name ...")
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
        if found is None:
            raise CheckpointError(f"{path} is not a readable checkpoint (UnpicklingError)") from None
        raise CheckpointError(
            f"{path} is not a readable checkpoint (it holds Python objects that sargeo does not load, "
            f"such as {found.group(1)}: only tensors and plain values are read, so that opening a "
            "checkpoint can never run code)"
        ) from None
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
    problem = _field_problem(payload)
    if problem:
        raise CheckpointError(f"{path} is not a usable sargeo checkpoint: {problem}")
    return payload


#: What parsing a wrongly shaped dict or value raises.
_MALFORMED = (ValueError, TypeError, KeyError, AttributeError)


def _field_problem(payload: dict[str, Any]) -> str | None:
    """What is missing or malformed, so a hand-edited or truncated payload fails by name, not KeyError."""
    missing = [name for name in ("width", "generator", "scaling") if name not in payload]
    if missing:
        return f"no {', '.join(repr(m) for m in missing)} field"
    width = payload["width"]
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        return f"malformed 'width' field {width!r} (expected a positive integer)"
    weights = payload["generator"]
    if not isinstance(weights, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in weights.items()):
        return "malformed 'generator' field (expected a dict of tensors)"
    for name in ("config", "metrics"):
        if not isinstance(payload.get(name, {}), dict):
            return f"malformed {name!r} field (expected a dict)"
    try:
        SarScaling.from_dict(payload["scaling"])
    except _MALFORMED as exc:
        return f"malformed 'scaling' field ({type(exc).__name__}: {exc})"
    try:
        if payload.get("split") is not None:
            Split.from_dict(payload["split"])
    except _MALFORMED as exc:
        return f"malformed 'split' field ({type(exc).__name__}: {exc})"
    return None


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
