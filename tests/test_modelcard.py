"""The model card is rendered from checkpoint metadata, and its training command reproduces the config."""

import shlex
from dataclasses import asdict

import torch
from click.testing import CliRunner

from sargeo.checkpoint import Checkpoint, save_checkpoint
from sargeo.cli.main import cli
from sargeo.cli.train import train_cmd
from sargeo.model import Generator
from sargeo.modelcard import render_card, training_command
from sargeo.postprocess import OutputAdjust
from sargeo.train import TrainConfig


def test_training_command_parses_back_to_the_same_config(tmp_path):
    (tmp_path / "s.json").write_text("{}")
    cfg = TrainConfig(data=str(tmp_path), out="o", width=16, epochs=7, augment=True, lambda_adv=0.0,
                      lambda_grad=0.0, terrains=["urban", "agri"], split_file=str(tmp_path / "s.json"),
                      amp=False, dropout=0.5)
    argv = shlex.split(training_command(asdict(cfg)))[2:]
    ctx = train_cmd.make_context("train", argv)
    given = {k: v for k, v in ctx.params.items() if v is not None and k not in ("resume", "quiet")}
    given["terrains"] = list(given["terrains"])
    rebuilt = TrainConfig.from_dict({**asdict(TrainConfig(data="", out="")), **given})
    assert rebuilt == cfg


def test_card_shows_size_scaling_split_and_scores(tmp_path):
    torch.manual_seed(0)
    card_info = {"summary": "A test model.", "data": "SEN1-2 (CC-BY 4.0)", "test_pairs": 3,
                 "test": {"model": {"psnr": 14.2, "ssim": 0.3, "ciede2000": 10.0, "sam": 5.0},
                          "mean colour": {"psnr": 12.0, "ssim": 0.2, "ciede2000": 12.0, "sam": 6.0}},
                 "limitations": "Trained on little data."}
    config = asdict(TrainConfig(data="d", out="o", width=4))
    ckpt = Checkpoint(generator=Generator(width=4), config=config, extra={"card": card_info},
                      split={"train": ["a"], "val": ["b"], "test": ["c"], "seed": 0})
    text = render_card(ckpt, "t")
    assert "width 4" in text and "0.21 M parameters" in text and "[-25, 0]" in text
    assert "- test: c" in text and "| model | 14.200 | 0.300 | 10.000 | 5.000 | n/a |" in text
    assert "CC-BY 4.0" in text and "Trained on little data." in text
    assert "beats the constant mean-colour baseline in PSNR and SSIM" in text
    card_info["test"]["model"]["ssim"] = 0.1
    assert "does not beat the constant mean-colour baseline in SSIM" in render_card(ckpt, "t")
    path = tmp_path / "m.pt"
    save_checkpoint(ckpt, path)
    result = CliRunner().invoke(cli, ["info", "-c", str(path)])
    assert result.exit_code == 0 and "| mean colour | 12.000" in result.output


def test_card_names_input_normalisation_and_output_adjustment_only_when_present():
    plain = render_card(Checkpoint(generator=Generator(width=4)))
    assert "input normalisation" not in plain and "output adjustment" not in plain
    adjust = OutputAdjust(mean_rgb=(0.2, 0.4, 0.6), lightness=0.8, chroma=0.55, water_guard=True)
    text = render_card(Checkpoint(generator=Generator(width=4, input_norm="tile"), adjust=adjust))
    assert "0.21 M parameters" in text  # the wrapper adds no weights
    lines = text.splitlines()
    assert sum("input normalisation: each tile's SAR is standardised" in line for line in lines) == 1
    [line] = [line for line in lines if line.startswith("- output adjustment")]
    assert "lightness x0.80" in line and "chroma x0.55" in line and "RGB 51, 102, 153" in line
    assert "water guard on" in line
    no_guard = render_card(Checkpoint(generator=Generator(width=4),
                                      adjust=OutputAdjust(mean_rgb=(0.2, 0.4, 0.6))))
    assert "- output adjustment: lightness x1.00" in no_guard and "water guard" not in no_guard


def test_crossval_command_in_the_card_parses_back_to_the_same_recipe(tmp_path):
    from sargeo.cli.crossval import crossval_cmd

    cfg = TrainConfig(data=str(tmp_path), out="o", width=16, epochs=80, batch_size=8, lambda_adv=0.0,
                      dropout=0.5, augment=True, sar_jitter_db=6.0, input_norm="tile", loss_space="lab")
    cv = {"folds": 5, "adjust": {"water_guard": True}}
    argv = shlex.split(training_command(asdict(cfg), cv))
    assert argv[:2] == ["sargeo", "crossval"]
    ctx = crossval_cmd.make_context("crossval", argv[2:])
    assert ctx.params["folds"] == 5 and ctx.params["water_guard"] and ctx.params["save_final"] is not None
    skip = ("data", "out", "workers")  # run settings of this machine, not the recipe
    recipe = {k: v for k, v in ctx.params.items()
              if v is not None and k in TrainConfig.__dataclass_fields__ and k not in skip}
    rebuilt = TrainConfig.from_dict({**asdict(TrainConfig(data=str(tmp_path), out="o")), **recipe})
    assert rebuilt == cfg
