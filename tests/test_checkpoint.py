"""Checkpoints carry what is needed to run them and fail clearly when unusable."""

import pytest
import torch

from sargeo.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from sargeo.model import Generator, init_weights
from sargeo.scaling import SarScaling


@pytest.fixture
def ckpt():
    torch.manual_seed(1)
    g = Generator(width=4)
    init_weights(g)
    return Checkpoint(generator=g, scaling=SarScaling(-30.0, 5.0), config={"epochs": 3},
                      split={"train": ["a"], "val": ["b"], "test": ["c"], "seed": 0},
                      metrics={"val_psnr": 12.5})


def test_round_trip_keeps_weights_and_metadata(tmp_path, ckpt):
    path = tmp_path / "m.pt"
    save_checkpoint(ckpt, path)
    back = load_checkpoint(path)
    assert back.width == 4 and back.scaling == SarScaling(-30.0, 5.0)
    assert back.config == {"epochs": 3} and back.split["test"] == ["c"]
    assert back.metrics == {"val_psnr": 12.5}
    assert not back.generator.training
    x = torch.randn(1, 1, 256, 256)
    ckpt.generator.eval()
    with torch.no_grad():
        torch.testing.assert_close(back.generator(x), ckpt.generator(x))


def test_half_precision_storage_loads_as_float32(tmp_path, ckpt):
    path = tmp_path / "m.pt"
    save_checkpoint(ckpt, path, half=True)
    back = load_checkpoint(path)
    assert all(p.dtype == torch.float32 for p in back.generator.parameters())


def test_corrupt_file_gives_clear_error(tmp_path, ckpt):
    path = tmp_path / "m.pt"
    save_checkpoint(ckpt, path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(path)


def test_missing_file_and_foreign_pickle_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nope.pt")
    torch.save({"state_dict": {}}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a sargeo checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_other_architecture_is_refused(tmp_path, ckpt):
    path = tmp_path / "m.pt"
    save_checkpoint(ckpt, path)
    payload = torch.load(path, weights_only=False)
    payload["architecture"] = "resnet-9blocks"
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="resnet-9blocks"):
        load_checkpoint(path)


def test_weights_of_another_width_are_refused(tmp_path, ckpt):
    path = tmp_path / "m.pt"
    save_checkpoint(ckpt, path)
    payload = torch.load(path, weights_only=False)
    payload["width"] = 8
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="do not fit"):
        load_checkpoint(path)


@pytest.mark.parametrize(("edit", "named"), [
    (lambda p: p.pop("scaling"), "no 'scaling' field"),
    (lambda p: p.pop("width"), "no 'width' field"),
    (lambda p: p.pop("generator"), "no 'generator' field"),
    (lambda p: p.update(width="4"), "malformed 'width' field"),
    (lambda p: p.update(scaling={"kind": "db_linear", "db_min": -25.0}), "malformed 'scaling' field"),
    (lambda p: p.update(generator=[1, 2]), "malformed 'generator' field"),
    (lambda p: p.update(split={"train": ["a"], "val": ["b"]}), "malformed 'split' field"),
    (lambda p: p.update(config="epochs=3"), "malformed 'config' field"),
])
def test_missing_or_malformed_fields_are_named(tmp_path, ckpt, edit, named):
    path = tmp_path / "m.pt"
    save_checkpoint(ckpt, path)
    payload = torch.load(path, weights_only=True)
    edit(payload)
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match=named):
        load_checkpoint(path)

