"""A training recipe and run settings, as plain values.

Kept apart from the training loop so that the command line (which shows these defaults in
its help), model cards and cross-validation reports can use them without loading PyTorch.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


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
    #: "tile": standardise each SAR patch inside the generator, so colour cannot follow the
    #: scene's absolute backscatter level (see sargeo.model.Generator)
    input_norm: str = "none"
    #: "rgb" (paper) or "lab": the L1 term on CIELAB instead of RGB
    loss_space: str = "rgb"
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
    #: start from this checkpoint's generator (fine-tuning); "default" = the shipped model
    init: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


#: Fine-tuning defaults, used with --init unless given: a tenth of the learning rates, fewer epochs.
FINETUNE = {"epochs": 20, "lr_g": 2e-5, "lr_d": 1e-6}
#: What a fine-tuned model keeps from its starting checkpoint (its architecture and its recipe's
#: losses and regularisation), unless given.
INHERITED = ("width", "input_norm", "lambda_l1", "lambda_grad", "lambda_adv", "dropout", "augment",
             "sar_jitter_db", "loss_space", "batch_size")
