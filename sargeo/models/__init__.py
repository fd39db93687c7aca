"""The default model shipped inside the package, found without any download."""

from __future__ import annotations

from pathlib import Path

DEFAULT_MODEL = Path(__file__).with_name("default.pt")
MODEL_CARD = Path(__file__).with_name("MODEL_CARD.md")


def default_checkpoint_path() -> Path:
    """Path of the shipped checkpoint; a clear error if this install lacks it."""
    if not DEFAULT_MODEL.is_file():
        raise FileNotFoundError(
            f"no default model in this installation ({DEFAULT_MODEL}); pass --checkpoint PATH"
        )
    return DEFAULT_MODEL
