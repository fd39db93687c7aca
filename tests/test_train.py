"""End-to-end training on tiny generated pairs: outputs, exact resume, DDP on two CPU processes."""

from __future__ import annotations

import csv
import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from sargeo.checkpoint import load_checkpoint, read_payload
from sargeo.data import Split
from sargeo.train import TrainConfig, train


def _cfg(data: Path, out: Path, **kw) -> TrainConfig:
    base = dict(data=str(data), out=str(out), width=4, epochs=2, batch_size=2, device="cpu", seed=3,
                val_fraction=0.25, test_fraction=0.25)
    return TrainConfig(**{**base, **kw})


def test_training_writes_logs_figures_and_checkpoints(tiny_pairs, tmp_path):
    out = tmp_path / "run"
    train(_cfg(tiny_pairs, out, save_every=1), progress=False, log=lambda m: None)
    for name in ("config.json", "split.json", "log_steps.csv", "log_epochs.csv", "loss_curve.png",
                 "samples/epoch_001.png", "samples/epoch_002.png", "last.pt", "best.pt",
                 "epoch_001.pt", "epoch_002.pt"):
        assert (out / name).is_file(), name
    with (out / "log_epochs.csv").open() as fh:
        epochs = list(csv.DictReader(fh))
    assert [int(r["epoch"]) for r in epochs] == [1, 2]
    assert all(float(r["val_psnr"]) > 0 for r in epochs)
    with (out / "log_steps.csv").open() as fh:
        steps = list(csv.DictReader(fh))
    split = Split.load(out / "split.json")
    assert len(steps) == 2 * (len(split.train) * 3 // 2)
    ckpt = load_checkpoint(out / "best.pt")
    assert ckpt.width == 4 and ckpt.split == split.to_dict()
    assert len(ckpt.config["train_mean_rgb"]) == 3
    assert "val_psnr" in ckpt.metrics


def test_plain_unet_mode_leaves_the_discriminator_untouched(tiny_pairs, tmp_path):
    out = tmp_path / "run"
    torch.manual_seed(0)
    train(_cfg(tiny_pairs, out, epochs=1, lambda_adv=0), progress=False, log=lambda m: None)
    payload = read_payload(out / "last.pt")
    assert payload["optimizer_d"]["state"] == {}
    with (out / "log_steps.csv").open() as fh:
        assert all(float(r["g_adv"]) == 0 and float(r["d_loss"]) == 0 for r in csv.DictReader(fh))


def test_best_checkpoint_respects_best_from_epoch(tiny_pairs, tmp_path):
    out = tmp_path / "run"
    train(_cfg(tiny_pairs, out, epochs=2, best_from_epoch=3), progress=False, log=lambda m: None)
    assert not (out / "best.pt").exists()
    train(_cfg(tiny_pairs, out, epochs=3, best_from_epoch=3), resume=out / "last.pt", progress=False,
          log=lambda m: None)
    assert read_payload(out / "best.pt")["metrics"]["epoch"] == 3


def test_resume_continues_exactly(tiny_pairs, tmp_path):
    straight = tmp_path / "straight"
    train(_cfg(tiny_pairs, straight, augment=True), progress=False, log=lambda m: None)
    split = tmp_path / "split_run"
    train(_cfg(tiny_pairs, split, epochs=1, augment=True), progress=False, log=lambda m: None)
    train(_cfg(tiny_pairs, split, augment=True), resume=split / "last.pt", progress=False, log=lambda m: None)
    a, b = read_payload(straight / "last.pt"), read_payload(split / "last.pt")
    assert a["epoch"] == b["epoch"] == 2
    for key in a["generator"]:
        torch.testing.assert_close(a["generator"][key], b["generator"][key], atol=0, rtol=0)
    for key in a["discriminator"]:
        torch.testing.assert_close(a["discriminator"][key], b["discriminator"][key], atol=0, rtol=0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, data: str, out: str, dump: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      LOCAL_RANK=str(rank), WORLD_SIZE=str(world))
    torch.set_num_threads(1)
    gen, _ = train(_cfg(Path(data), Path(out), epochs=1), progress=False, log=lambda m: None)
    torch.save(gen.state_dict(), Path(dump) / f"rank{rank}.pt")  # the test, not the library, writes this


@pytest.mark.slow
def test_two_cpu_processes_with_gloo_end_with_identical_weights(tiny_pairs, tmp_path):
    out, dump = tmp_path / "run", tmp_path / "dump"
    dump.mkdir()
    mp.spawn(_ddp_worker, args=(2, _free_port(), str(tiny_pairs), str(out), str(dump)), nprocs=2)
    r0, r1 = torch.load(dump / "rank0.pt"), torch.load(dump / "rank1.pt")
    for key in r0:
        torch.testing.assert_close(r0[key], r1[key], atol=0, rtol=0)
    saved = load_checkpoint(out / "last.pt").generator.state_dict()
    for key in r0:
        torch.testing.assert_close(saved[key], r0[key], atol=0, rtol=0)
    assert (out / "log_epochs.csv").read_text().count("\n") == 2  # header + one epoch, rank 0 only
