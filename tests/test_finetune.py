"""Fine-tuning: `train --init` and `crossval --init` start from a checkpoint and report the gain."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from sargeo.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from sargeo.cli.main import cli
from sargeo.data import Split
from sargeo.model import Generator, init_weights
from sargeo.postprocess import OutputAdjust
from sargeo.train import FINETUNE


@pytest.fixture
def guarded_start(tiny_checkpoint, tmp_path):
    """The tiny model with a shrink and the water guard, like the shipped one."""
    ckpt = load_checkpoint(tiny_checkpoint)
    ckpt = Checkpoint(generator=ckpt.generator, config={"lambda_adv": 0.0, "dropout": 0.5},
                      adjust=OutputAdjust((0.3, 0.4, 0.3), 0.25, 0.0, True))
    path = tmp_path / "start.pt"
    save_checkpoint(ckpt, path)
    return path


def _distance(a: dict, b: dict) -> float:
    return sum((a[k].float() - b[k].float()).abs().sum().item() for k in a if a[k].is_floating_point())


def test_train_init_starts_from_the_checkpoint_with_finetuning_defaults(guarded_start, tiny_pairs, tmp_path):
    out = tmp_path / "run"
    args = ["train", "--data", str(tiny_pairs), "--out", str(out), "--init", str(guarded_start),
            "--epochs", "1", "--device", "cpu", "--batch-size", "2", "--val-fraction", "0.25",
            "--test-fraction", "0.25", "-q"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    tuned = load_checkpoint(out / "last.pt")
    start = load_checkpoint(guarded_start)
    assert tuned.width == 4  # the start's architecture, not the paper's width 64
    assert tuned.config["lr_g"] == FINETUNE["lr_g"] and tuned.config["lr_d"] == FINETUNE["lr_d"]
    assert tuned.config["lambda_adv"] == 0.0 and tuned.config["dropout"] == 0.5  # the start's recipe
    moved = _distance(tuned.plain_generator.state_dict(), start.plain_generator.state_dict())
    torch.manual_seed(5)
    fresh = Generator(width=4)
    init_weights(fresh)
    assert 0 < moved < 0.1 * _distance(fresh.state_dict(), start.plain_generator.state_dict())
    assert tuned.adjust is not None and tuned.adjust.water_guard  # the guard stays ...
    assert (tuned.adjust.lightness, tuned.adjust.chroma) == (1.0, 1.0)  # ... the start's shrink does not

    guarded_start.unlink()  # a resumed run continues from its own file, not the start
    result = CliRunner().invoke(cli, ["train", "--resume", str(out), "--epochs", "2", "-q"])
    assert result.exit_code == 0, result.output
    resumed = load_checkpoint(out / "last.pt")
    assert resumed.metrics["epoch"] == 2 and resumed.adjust == tuned.adjust


def test_init_of_another_width_is_refused_in_one_line(tiny_checkpoint, tiny_pairs, tmp_path):
    args = ["train", "--data", str(tiny_pairs), "--out", str(tmp_path / "r"), "--init", str(tiny_checkpoint),
            "--width", "8", "--device", "cpu", "-q"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "Error: --init holds a width-4 model (input norm none); this run asks for width 8 (input norm none)"]


def test_help_shows_the_finetuning_defaults():
    result = CliRunner().invoke(cli, ["train", "--help"])
    assert "--epochs 20 --lr-g 2e-5 --lr-d 1e-6" in " ".join(result.output.split())


def test_crossval_init_scores_the_starting_model_and_the_gain(guarded_start, tiny_pairs, tmp_path):
    out = tmp_path / "cv"
    args = ["crossval", "--data", str(tiny_pairs), "--out", str(out), "--folds", "2", "--init",
            str(guarded_start), "--epochs", "1", "--device", "cpu", "--workers", "1", "-q"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "| starting model |" in result.output
    assert "Fine-tuning gain (model, adjusted minus the starting model" in result.output
    assert "the starting model against it" in result.output


def test_real_pairs_from_sargeo_pairs_fine_tune_the_default_model(shared_data, tmp_path):
    """The region workflow on real GeoTIFFs: `sargeo pairs` per S1/S2 pair, then `train --init default`."""
    src = shared_data / "s1s2_tif_pairs" / "sen12ms_cr"
    pairs = tmp_path / "pairs"
    names = ("ROIs1158_spring_101_30", "ROIs1158_spring_101_31", "ROIs1158_spring_101_32",
             "ROIs1970_fall_139_p839")
    for n, name in enumerate(names):
        args = ["pairs", str(src / "s1" / f"{name}.tif"), str(src / "s2_cloudfree" / f"{name}.tif"),
                str(pairs), "--scene", str(n), "-q"]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
    out = tmp_path / "run"
    args = ["train", "--data", str(pairs), "--out", str(out), "--init", "default", "--epochs", "1",
            "--batch-size", "2", "--val-fraction", "0.2", "--test-fraction", "0.2", "--device", "cpu", "-q"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    from sargeo.models import default_checkpoint_path

    tuned, start = load_checkpoint(out / "last.pt"), load_checkpoint(default_checkpoint_path())
    assert tuned.width == start.width and tuned.input_norm == start.input_norm
    assert tuned.config["init"] == "default" and tuned.config["epochs"] == 1
    assert 0 < _distance(tuned.plain_generator.state_dict(), start.plain_generator.state_dict())


def test_crossval_init_names_the_scenes_the_start_learnt_from(tiny_checkpoint, tiny_pairs, tmp_path):
    ckpt = load_checkpoint(tiny_checkpoint)
    learnt = ["ROIs1868_summer_2", "ROIs9999_winter_7"]  # the second is not in the data
    ckpt.split = Split((learnt[0],), (learnt[1],), ("ROIs9999_winter_8",), 0).to_dict()
    save_checkpoint(ckpt, tmp_path / "start.pt")
    out = tmp_path / "cv"
    args = ["crossval", "--data", str(tiny_pairs), "--out", str(out), "--folds", "2", "--init",
            str(tmp_path / "start.pt"), "--epochs", "1", "--device", "cpu", "--workers", "1", "--save-final",
            str(tmp_path / "final.pt")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert ("Warning: the --init checkpoint learnt from 1 of these scenes (ROIs1868_summer_2): their scores, "
            "and the starting model's, are not held-out scores") in result.output
    assert json.loads((out / "summary.json").read_text())["init_learnt"] == ["ROIs1868_summer_2"]
    summary = (out / "summary.md").read_text()
    assert "Not held out for the starting model: it learnt from 1 of these scenes" in summary
    assert set(load_checkpoint(tmp_path / "final.pt").learnt) >= set(learnt)  # carried on for evaluate
