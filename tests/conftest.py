"""Shared fixtures: tiny generated data, a tiny model, and the optional real data in ../shared."""

from __future__ import annotations

from pathlib import Path

import pytest
from synthetic import write_tiny_pairs

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def tiny_pairs(tmp_path: Path) -> Path:
    return write_tiny_pairs(tmp_path / "pairs")


@pytest.fixture
def shared_data() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"real data not present at {SHARED}")
    return SHARED


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A width-4 generator with non-trivial BatchNorm statistics, saved as a sargeo checkpoint."""
    import torch

    from sargeo.checkpoint import Checkpoint, save_checkpoint
    from sargeo.model import Generator, init_weights

    torch.manual_seed(0)
    gen = Generator(width=4)
    init_weights(gen)
    gen.train()
    with torch.no_grad():
        for _ in range(3):
            gen(torch.rand(4, 1, 256, 256) * 2 - 1)
    path = tmp_path_factory.mktemp("model") / "tiny.pt"
    save_checkpoint(Checkpoint(generator=gen.eval()), path)
    return path
