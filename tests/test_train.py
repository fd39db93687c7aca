"""End-to-end training on tiny generated pairs: outputs, exact resume, DDP on two CPU processes."""

from __future__ import annotations

import csv
import os
import random
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

import sargeo.data.dataset as dataset_module
from sargeo.checkpoint import load_checkpoint, read_payload
from sargeo.data import Split
from sargeo.train import TrainConfig, _rng_state, _seed_everything, _set_rng_state, train


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


def test_rng_state_survives_a_weights_only_checkpoint(tmp_path):
    """numpy's state is an array, which weights_only loading refuses: it is stored as a tensor."""
    _seed_everything(5)
    np.random.normal()  # leaves a cached Gaussian in numpy's state
    torch.save(_rng_state(), tmp_path / "rng.pt")
    expected = (random.random(), np.random.random(), np.random.normal(), torch.rand(3))
    _seed_everything(6)
    _set_rng_state(torch.load(tmp_path / "rng.pt", weights_only=True))
    again = (random.random(), np.random.random(), np.random.normal(), torch.rand(3))
    assert again[:3] == expected[:3]
    torch.testing.assert_close(again[3], expected[3], atol=0, rtol=0)


def test_resume_with_another_process_count_reseeds_with_a_warning(tiny_pairs, tmp_path):
    out = tmp_path / "run"
    train(_cfg(tiny_pairs, out, epochs=1), progress=False, log=lambda m: None)
    payload = torch.load(out / "last.pt", weights_only=True)
    payload["rng"] = payload["rng"] * 2  # as if two processes had saved it
    torch.save(payload, out / "last.pt")
    lines: list[str] = []
    train(_cfg(tiny_pairs, out), resume=out / "last.pt", progress=False, log=lines.append)
    assert any(line.startswith("Warning: ") and "2 process(es), this run has 1" in line for line in lines)
    resumed = read_payload(out / "last.pt")
    assert resumed["epoch"] == 2 and len(resumed["rng"]) == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _record_augmentations() -> list[list[float]]:
    """Make each sample's flip/rotation visible: the same draws, applied to a 2x2 probe."""
    draws: list[list[float]] = []
    augment = dataset_module._augment

    def recording(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        state = torch.get_rng_state()
        probe = torch.arange(4.0).reshape(1, 2, 2)
        draws.append(augment(probe, probe)[0].flatten().tolist())
        torch.set_rng_state(state)
        return augment(x, y)

    dataset_module._augment = recording
    return draws


def _ddp_worker(rank: int, world: int, port: int, data: str, out: str, dump: str, options: dict,
                resume: str | None) -> None:
    """One torchrun-like process; writes its weights and drawn augmentations, or its error."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      LOCAL_RANK=str(rank), WORLD_SIZE=str(world))
    torch.set_num_threads(1)
    draws = _record_augmentations()
    try:
        gen, _ = train(_cfg(Path(data), Path(out), **options), resume=resume, progress=False,
                       log=lambda m: None)
    except ValueError as exc:
        (Path(dump) / f"rank{rank}.err").write_text(str(exc))
        return
    # the test, not the library, writes this
    torch.save({"weights": gen.state_dict(), "draws": draws}, Path(dump) / f"rank{rank}.pt")


def _spawn(data: Path, out: Path, dump: Path, options: dict, resume: Path | None = None) -> list[dict]:
    """Train with two CPU processes (gloo); what each rank wrote, by rank."""
    dump.mkdir()
    mp.spawn(_ddp_worker, args=(2, _free_port(), str(data), str(out), str(dump), options,
                                str(resume) if resume else None), nprocs=2)
    return [torch.load(dump / f"rank{rank}.pt") for rank in range(2) if (dump / f"rank{rank}.pt").exists()]


def _assert_same_weights(a: dict, b: dict) -> None:
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=0, rtol=0)


@pytest.mark.slow
def test_two_cpu_processes_with_gloo_end_with_identical_weights(tiny_pairs, tmp_path):
    out = tmp_path / "run"
    r0, r1 = (r["weights"] for r in _spawn(tiny_pairs, out, tmp_path / "dump", {"epochs": 1}))
    _assert_same_weights(r0, r1)
    _assert_same_weights(load_checkpoint(out / "last.pt").generator.state_dict(), r0)
    assert (out / "log_epochs.csv").read_text().count("\n") == 2  # header + one epoch, rank 0 only


@pytest.mark.slow
def test_ranks_draw_their_own_randomness_and_each_resumes_its_own(tiny_pairs, tmp_path):
    options = {"epochs": 2, "augment": True, "sar_jitter_db": 2.0, "dropout": 0.5}
    straight = _spawn(tiny_pairs, tmp_path / "straight", tmp_path / "dump_straight", options)
    assert straight[0]["draws"] != straight[1]["draws"]  # each rank flips and turns its own way
    _assert_same_weights(straight[0]["weights"], straight[1]["weights"])  # yet they train one model
    rng = read_payload(tmp_path / "straight" / "last.pt")["rng"]
    assert len(rng) == 2 and not torch.equal(rng[0]["torch"], rng[1]["torch"])

    first = _spawn(tiny_pairs, tmp_path / "run", tmp_path / "dump_first", {**options, "epochs": 1})
    resumed = _spawn(tiny_pairs, tmp_path / "run", tmp_path / "dump_resumed", options,
                     resume=tmp_path / "run" / "last.pt")
    for rank in range(2):
        done = len(first[rank]["draws"])
        assert resumed[rank]["draws"] == straight[rank]["draws"][done:]  # its own stream, continued
        _assert_same_weights(resumed[rank]["weights"], straight[rank]["weights"])


@pytest.mark.slow
def test_every_rank_refuses_a_folder_that_holds_a_run(tiny_pairs, tmp_path):
    out, dump = tmp_path / "run", tmp_path / "dump"
    out.mkdir()
    (out / "config.json").write_text("{}")
    _spawn(tiny_pairs, out, dump, {"epochs": 1})
    for rank in range(2):
        assert "already holds a training run" in (dump / f"rank{rank}.err").read_text()
    assert (out / "config.json").read_text() == "{}"
