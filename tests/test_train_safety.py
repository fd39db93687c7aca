"""Checkpoints cannot run code, a run folder is never overwritten, and held-out scenes stay held out."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from conftest import TRAIN_ARGS as TRAIN
from synthetic import write_scene, write_tiny_pairs

from sargeo.checkpoint import (
    ARCHITECTURE,
    FORMAT,
    Checkpoint,
    CheckpointError,
    load_checkpoint,
    read_payload,
    save_checkpoint,
)
from sargeo.cli.main import cli
from sargeo.data import Split, discover_pairs, split_by_scene
from sargeo.model import Generator, init_weights
from sargeo.scaling import SarScaling
from sargeo.train import TrainConfig, train

SCENE = "ROIs1868_summer_{}"


class _RunsCode:
    """Unpickling this calls Path.touch(marker): it stands for any code a crafted file could run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return Path.touch, (self.marker,)


def _code_running_checkpoint(path: Path, marker: Path) -> Path:
    """A file that looks like a sargeo checkpoint and creates ``marker`` when fully unpickled."""
    torch.save({"format": FORMAT, "format_version": 1, "architecture": ARCHITECTURE, "width": 4,
                "scaling": SarScaling().to_dict(), "generator": Generator(4).state_dict(),
                "config": {"hook": _RunsCode(marker)}}, path)
    return path


def _one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


def test_checkpoint_that_would_run_code_is_refused_unexecuted(tmp_path):
    bait = _code_running_checkpoint(tmp_path / "bait.pt", tmp_path / "bait_ran")
    torch.load(bait, weights_only=False)  # how checkpoints used to be read
    assert (tmp_path / "bait_ran").exists()  # so the crafted file really runs code
    path = _code_running_checkpoint(tmp_path / "evil.pt", tmp_path / "ran")
    with pytest.raises(CheckpointError, match="not a readable checkpoint .it holds Python objects that "
                                              "sargeo does not load"):
        load_checkpoint(path)
    assert not (tmp_path / "ran").exists()


@pytest.mark.parametrize("command", ["info", "colorize"])
def test_cli_refuses_code_running_checkpoint_in_one_line(tmp_path, command):
    evil = _code_running_checkpoint(tmp_path / "evil.pt", tmp_path / "ran")
    if command == "info":
        args = ["info", "-c", str(evil)]
    else:
        scene = write_scene(tmp_path / "in.tif", width=300, height=280)
        args = ["colorize", str(scene), str(tmp_path / "out.tif"), "-c", str(evil), "--device", "cpu"]
    line = _one_error_line(CliRunner().invoke(cli, args))
    assert "holds Python objects that sargeo does not load" in line
    assert not (tmp_path / "ran").exists()
    assert not (tmp_path / "out.tif").exists()


def test_cli_names_a_missing_checkpoint_field(tmp_path):
    gen = Generator(4)
    save_checkpoint(Checkpoint(generator=gen), tmp_path / "m.pt")
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    del payload["scaling"]
    torch.save(payload, tmp_path / "m.pt")
    line = _one_error_line(CliRunner().invoke(cli, ["info", "-c", str(tmp_path / "m.pt")]))
    assert "no 'scaling' field" in line


def _snapshot(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in ("last.pt", "split.json", "log_epochs.csv")}


def test_train_refuses_an_out_folder_that_holds_a_run(run, tiny_pairs):
    before = _snapshot(run)
    line = _one_error_line(CliRunner().invoke(cli, [*TRAIN, "--data", str(tiny_pairs), "--out", str(run)]))
    assert "already holds a training run" in line and "--resume" in line and "new --out" in line
    assert _snapshot(run) == before


def test_train_into_an_existing_empty_folder(tiny_pairs, tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    result = CliRunner().invoke(cli, [*TRAIN, "--data", str(tiny_pairs), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "last.pt").is_file()


@pytest.mark.parametrize(("option", "value"), [
    ("--data", "OTHER_DATA"), ("--terrain", "urban"), ("--max-per-terrain", "2"),
    ("--val-fraction", "0.3"), ("--test-fraction", "0.3"), ("--seed", "7"), ("--split", "OTHER_SPLIT"),
    ("--width", "8"), ("--input-norm", "tile"),
])
def test_resume_refuses_options_that_change_data_split_or_width(run, tmp_path, option, value):
    if value == "OTHER_DATA":
        value = str(write_tiny_pairs(tmp_path / "other", seed=1))
    elif value == "OTHER_SPLIT":
        split = Split.load(run / "split.json")
        value = str(tmp_path / "other_split.json")
        Split(split.val, split.train, split.test, split.seed).save(value)
    before = _snapshot(run)
    result = CliRunner().invoke(cli, ["train", "--resume", str(run), "--epochs", "2", option, value, "-q"])
    line = _one_error_line(result)
    assert f"cannot change {option} when resuming" in line
    assert _snapshot(run) == before


def test_resume_accepts_unchanged_split_options_and_other_overrides(run, tiny_pairs, monkeypatch):
    split = (run / "split.json").read_text()
    monkeypatch.chdir(tiny_pairs.parent)  # the same data under another spelling of its path
    result = CliRunner().invoke(cli, ["train", "--resume", str(run), "--data", f"./{tiny_pairs.name}",
                                      "--seed", "0", "--val-fraction", "0.25", "--width", "4",
                                      "--epochs", "2", "--lr-g", "1e-4", "-q"])
    assert result.exit_code == 0, result.output
    assert (run / "split.json").read_text() == split
    assert json.loads((run / "config.json").read_text())["lr_g"] == 1e-4


def test_library_resume_keeps_the_recorded_split_when_the_data_grows(tiny_pairs, tmp_path):
    """New scenes in the data folder must not reshuffle the split (test scenes would move into train)."""
    out = tmp_path / "run"
    cfg = TrainConfig(data=str(tiny_pairs), out=str(out), width=4, epochs=1, batch_size=2, device="cpu",
                      seed=3, val_fraction=0.25, test_fraction=0.25)
    train(cfg, progress=False, log=lambda m: None)
    recorded = Split.load(out / "split.json")
    more = write_tiny_pairs(tmp_path / "more", scenes=8)
    for sub in ("s1", "s2"):
        for file in (more / sub).iterdir():
            if not (tiny_pairs / sub / file.name).exists():
                shutil.copy(file, tiny_pairs / sub / file.name)
    rebuilt = split_by_scene(discover_pairs(tiny_pairs).pairs, 0.25, 0.25, 3)
    assert set(recorded.test) & set(rebuilt.train)  # a fresh split would train on a test scene

    cfg.epochs = 2
    train(cfg, resume=out / "last.pt", progress=False, log=lambda m: None)
    assert Split.load(out / "split.json") == recorded
    assert read_payload(out / "last.pt")["split"] == recorded.to_dict()


def _checkpoint(path: Path, split: dict | None) -> str:
    torch.manual_seed(0)
    gen = Generator(4)
    init_weights(gen)
    save_checkpoint(Checkpoint(generator=gen.eval(), split=split), path)
    return str(path)


def _split(train: list[int], val: list[int], test: list[int]) -> dict:
    return Split(*(tuple(SCENE.format(i) for i in part) for part in (train, val, test)), seed=0).to_dict()


@pytest.fixture
def checkpoints(tmp_path):
    """'a' holds scene 4 out for testing; 'b' trained on it; 'c' records no split."""
    return {"a": _checkpoint(tmp_path / "a.pt", _split([1, 2], [3], [4])),
            "b": _checkpoint(tmp_path / "b.pt", _split([4, 2], [1], [3])),
            "c": _checkpoint(tmp_path / "c.pt", None)}


def _evaluate(tiny_pairs: Path, out: Path, checkpoints: dict[str, str], *extra: str):
    args = ["evaluate", "--data", str(tiny_pairs), "--out", str(out), "--no-lpips", "--figure-samples", "0",
            "--device", "cpu", *extra]
    for name, path in checkpoints.items():
        args += ["-c", f"{name}={path}"]
    return CliRunner().invoke(cli, args)


def test_evaluate_refuses_a_checkpoint_trained_on_the_test_scenes(tiny_pairs, tmp_path, checkpoints):
    out = tmp_path / "eval"
    line = _one_error_line(_evaluate(tiny_pairs, out, {k: checkpoints[k] for k in "ab"}))
    assert "b saw 1 of the 1 test scenes of the split of a in training" in line
    assert not out.exists()


def test_evaluate_with_explicit_split_warns_once_per_unchecked_checkpoint(tiny_pairs, tmp_path, checkpoints):
    split = tmp_path / "split.json"
    Split.from_dict(_split([1, 2], [3], [4])).save(split)
    result = _evaluate(tiny_pairs, tmp_path / "eval", checkpoints, "--split", str(split))
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("Warning: ")]
    assert len(warnings) == 2, result.output
    assert warnings[0].startswith(f"Warning: b saw 1 of the 1 test scenes of {split} in training")
    assert warnings[1].startswith("Warning: c records no scene split")
    assert set(json.loads((tmp_path / "eval" / "summary.json").read_text())) >= {"a", "b", "c"}


def _scenes(*ids: int) -> tuple[str, ...]:
    return tuple(SCENE.format(i) for i in ids)


def test_fine_tuning_keeps_the_starting_checkpoints_scenes_out_of_val_and_test(tiny_pairs, tmp_path):
    """`train --init`: the scenes the start learnt from (its train and val) are trained on, never
    validated or tested on, and the tuned checkpoint carries them for evaluate's leak check."""
    start = _checkpoint(tmp_path / "start.pt", _split([1], [2], [3, 4]))
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, [*TRAIN, "--data", str(tiny_pairs), "--out", str(out), "--init", start])
    assert result.exit_code == 0, result.output
    split = Split.load(out / "split.json")
    assert split.train == _scenes(1, 2) and split.seen == _scenes(1, 2)
    assert {*split.val, *split.test} == set(_scenes(3, 4))
    assert set(load_checkpoint(out / "last.pt").learnt) == {*_scenes(1, 2), *split.val}

    leaky = tmp_path / "leaky.json"
    Split(_scenes(3), _scenes(1), _scenes(4), 0).save(leaky)
    result = CliRunner().invoke(cli, [*TRAIN, "--data", str(tiny_pairs), "--out", str(tmp_path / "r2"),
                                      "--init", start, "--split", str(leaky)])
    line = _one_error_line(result)
    assert f"the starting checkpoint learnt from 1 of the split's val/test scenes ({SCENE.format(1)})" in line


def test_evaluate_sees_the_scenes_a_fine_tuned_checkpoint_started_from(tiny_pairs, tmp_path):
    learnt_by_start = Split(_scenes(2), _scenes(3), _scenes(4), 0, seen=_scenes(1)).to_dict()
    tuned = _checkpoint(tmp_path / "tuned.pt", learnt_by_start)
    split = tmp_path / "split.json"
    Split(_scenes(2), _scenes(3), _scenes(1), 0).save(split)
    result = _evaluate(tiny_pairs, tmp_path / "eval", {"tuned": tuned}, "--split", str(split))
    assert result.exit_code == 0, result.output
    assert f"Warning: tuned saw 1 of the 1 test scenes of {split} in training" in result.output
