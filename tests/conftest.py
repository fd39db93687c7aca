"""Shared fixtures: tiny generated data, a tiny model, and the optional real data in ../shared."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from synthetic import write_tiny_pairs

#: Real SEN1-2 / Sentinel data for the tests that need it: $SARGEO_SHARED_DATA, else ../shared/data
SHARED = Path(os.environ.get("SARGEO_SHARED_DATA",
                            Path(__file__).resolve().parents[1].parent / "shared" / "data"))


@pytest.fixture
def tiny_pairs(tmp_path: Path) -> Path:
    return write_tiny_pairs(tmp_path / "pairs")


#: A one-epoch CPU run of a width-4 model on the tiny pairs.
TRAIN_ARGS = ["train", "--width", "4", "--epochs", "1", "--batch-size", "2", "--device", "cpu", "--quiet",
              "--val-fraction", "0.25", "--test-fraction", "0.25"]


@pytest.fixture
def run(tiny_pairs: Path, tmp_path: Path) -> Path:
    """A finished `sargeo train` run folder on the tiny pairs."""
    from click.testing import CliRunner

    from sargeo.cli.main import cli

    out = tmp_path / "run"
    result = CliRunner().invoke(cli, [*TRAIN_ARGS, "--data", str(tiny_pairs), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


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
