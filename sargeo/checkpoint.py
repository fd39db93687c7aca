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
from sargeo.model import INPUT_NORMS, Generator
from sargeo.postprocess import AdjustedGenerator, OutputAdjust
from sargeo.scaling import SarScaling

FORMAT = "sargeo-checkpoint"
#: Newest format this sargeo reads. Files are written as format 1 unless they use a newer
#: feature (input normalisation, output adjustment), so older sargeo versions refuse exactly
#: the checkpoints they would run wrongly.
FORMAT_VERSION = 2
ARCHITECTURE = "unet-pix2pix-8down"


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used (missing, corrupt or of another kind)."""


@dataclass
class Checkpoint:
    """A generator and its metadata; ``extra`` holds optional training state.

    Everything in it must be tensors or plain Python values: files are read back with
    ``weights_only=True``, which refuses any other object. With an ``adjust``, ``generator``
    is (or is wrapped into) an AdjustedGenerator, so running it gives what the file would give.
    """

    generator: Generator | AdjustedGenerator
    scaling: SarScaling = field(default_factory=SarScaling)
    config: dict[str, Any] = field(default_factory=dict)
    split: dict[str, Any] | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    version: str = __version__
    adjust: OutputAdjust | None = None

    def __post_init__(self) -> None:
        if isinstance(self.generator, AdjustedGenerator):
            if self.adjust is not None and self.adjust != self.generator.adjust:
                raise ValueError("adjust differs from the adjustment of the AdjustedGenerator given")
            self.adjust = self.generator.adjust
        elif self.adjust is not None:
            self.generator = AdjustedGenerator(self.generator, self.adjust, self.scaling)

    @property
    def width(self) -> int:
        return self.generator.width

    @property
    def input_norm(self) -> str:
        """The generator's own setting, so the file can never disagree with the model."""
        return self.generator.input_norm

    @property
    def plain_generator(self) -> Generator:
        """The U-Net without output adjustment (whose weights the file stores)."""
        gen = self.generator
        return gen.generator if isinstance(gen, AdjustedGenerator) else gen

    @property
    def learnt(self) -> tuple[str, ...] | None:
        """Scenes this model learnt from (trained or selected on, its starting checkpoint's included);
        None when it records no split."""
        return None if self.split is None else tuple(sorted(Split.from_dict(self.split).before("test")))


def save_checkpoint(ckpt: Checkpoint, path: str | Path, half: bool = False) -> None:
    """Write atomically (temp file + rename) so a crash never leaves a broken checkpoint."""
    path = Path(path)
    state = {k: (v.half() if half and v.is_floating_point() else v)
             for k, v in ckpt.plain_generator.state_dict().items()}
    features: dict[str, Any] = {}
    if ckpt.input_norm != "none":
        features["input_norm"] = ckpt.input_norm
    if ckpt.adjust is not None:
        features["output_adjust"] = ckpt.adjust.to_dict()
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION if features else 1,
        "architecture": ARCHITECTURE,
        "width": ckpt.width,
        "scaling": ckpt.scaling.to_dict(),
        "config": ckpt.config,
        "split": ckpt.split,
        "metrics": ckpt.metrics,
        "version": ckpt.version,
        "generator": state,
        **features,
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
    norm = payload.get("input_norm", "none")
    if not isinstance(norm, str) or norm not in INPUT_NORMS:
        return f"malformed 'input_norm' field {norm!r} (expected one of {', '.join(INPUT_NORMS)})"
    try:
        if "output_adjust" in payload:
            OutputAdjust.from_dict(payload["output_adjust"])
    except _MALFORMED as exc:
        return f"malformed 'output_adjust' field ({type(exc).__name__}: {exc})"
    return None


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Build the generator from a checkpoint file, in float32 and eval mode.

    A recorded output adjustment makes ``generator`` an AdjustedGenerator, so every user of the
    checkpoint (scene engine, evaluation) applies it without knowing about it.
    """
    payload = read_payload(path)
    # built without memory and its weights then assigned: initialising them only to overwrite
    # them took 320 ms at the paper's width (25 ms at width 16)
    with torch.device("meta"):
        gen = Generator(width=int(payload["width"]), input_norm=payload.get("input_norm", "none"))
    try:
        gen.load_state_dict({k: v.float() if v.is_floating_point() else v
                             for k, v in payload["generator"].items()}, assign=True)
    except (RuntimeError, KeyError, AttributeError) as exc:
        raise CheckpointError(f"{path}: weights do not fit the recorded architecture: {exc}") from None
    gen.eval()
    known = {"format", "format_version", "architecture", "width", "scaling", "config", "split",
             "metrics", "version", "generator", "input_norm", "output_adjust"}
    adjust = payload.get("output_adjust")
    return Checkpoint(
        generator=gen,
        scaling=SarScaling.from_dict(payload["scaling"]),
        config=payload.get("config", {}),
        split=payload.get("split"),
        metrics=payload.get("metrics", {}),
        extra={k: v for k, v in payload.items() if k not in known},
        version=payload.get("version", "?"),
        adjust=OutputAdjust.from_dict(adjust) if adjust is not None else None,
    )
