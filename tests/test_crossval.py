"""Scene-wise cross-validation: folds by scene, honest baselines and adjustment, report and CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from sargeo.checkpoint import load_checkpoint
from sargeo.cli.main import cli
from sargeo.crossval import (
    ADJUSTED,
    GREY_SAR,
    MEAN_COLOUR,
    MODEL,
    Sample,
    _choose_adjust,
    _Scorer,
    assign_folds,
    cross_validate,
    load_samples,
)
from sargeo.train import TrainConfig


def _samples(sizes: dict[str, int], size: int = 32, seed: int = 0) -> list[Sample]:
    rng = np.random.default_rng(seed)
    return [Sample(f"{scene}_p{i}", scene, rng.uniform(-1, 1, (size, size)).astype(np.float32),
                   rng.uniform(-1, 1, (3, size, size)).astype(np.float32))
            for scene, n in sizes.items() for i in range(n)]


def test_folds_hold_whole_scenes_and_balance_pairs():
    sizes = {"a": 9, "b": 5, "c": 4, "d": 4, "e": 3, "f": 2, "g": 1, "h": 1}
    fold_of = assign_folds(_samples(sizes, 4), folds=3, seed=1)
    assert set(fold_of) == set(sizes) and set(fold_of.values()) == {0, 1, 2}
    load = [sum(n for sc, n in sizes.items() if fold_of[sc] == k) for k in range(3)]
    assert sum(load) == 29 and max(load) - min(load) <= 1  # 10 / 10 / 9 is reachable
    assert assign_folds(_samples(sizes, 4), folds=3, seed=1) == fold_of


def test_more_folds_than_scenes_is_refused():
    with pytest.raises(ValueError, match="need at least 5 scenes"):
        assign_folds(_samples({"a": 3, "b": 3}), folds=5)


def test_adjustment_for_a_fold_is_chosen_on_the_other_folds_only():
    """Fold 0's model is pure noise, fold 1's is perfect: each fold must get the factors that
    suit the OTHER fold, which a selection peeking at its own targets would not give."""
    samples = _samples({"a": 2, "b": 2, "c": 2, "d": 2}, size=48)
    fold = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    targets = np.stack([np.clip(np.rint((s.rgb.transpose(1, 2, 0) + 1) * 127.5), 0, 255) for s in samples])
    targets = targets.astype(np.uint8)
    rng = np.random.default_rng(3)
    pred = targets.copy()
    pred[:4] = rng.integers(0, 256, pred[:4].shape, dtype=np.uint8)
    means = {0: (0.5, 0.5, 0.5), 1: (0.5, 0.5, 0.5)}
    scorer = _Scorer(1)
    _, chosen, _ = _choose_adjust(samples, fold, pred, targets, means, False, scorer)
    assert (chosen[0].lightness, chosen[0].chroma) == (1.0, 1.0)  # chosen on fold 1: keep the model
    assert chosen[1].lightness < 1.0  # chosen on fold 0: shrink the noise


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from synthetic import write_tiny_pairs

    data = write_tiny_pairs(tmp_path_factory.mktemp("cv") / "pairs", scenes=5, patches=2)
    samples = load_samples(data, log=lambda _m: None)
    cfg = TrainConfig(data=str(data), out="", width=4, epochs=2, batch_size=2, device="cpu", lambda_adv=1.0)
    torch.manual_seed(0)
    return samples, cross_validate(samples, cfg, folds=2, device="cpu", eval_epochs=(1,), log=lambda _m: None)


def test_every_pair_is_scored_once_per_method_while_held_out(report):
    samples, rep = report
    rows = rep["rows"]
    assert {r["method"] for r in rows} == {MODEL, ADJUSTED, MEAN_COLOUR, GREY_SAR}
    for method in (MODEL, MEAN_COLOUR, GREY_SAR):
        assert sorted(r["image"] for r in rows if r["method"] == method) == sorted(s.name for s in samples)
    assert all(r["fold"] == rep["fold_of"][r["scene"]] for r in rows)
    assert set(rep["by_epoch"]) == {1, 2}


def test_mean_colour_baseline_comes_from_the_training_folds_only(report):
    samples, rep = report
    preds = rep["predictions"][MEAN_COLOUR]
    for s, p in zip(rep["samples"], preds, strict=True):
        train = [t for t in samples if rep["fold_of"][t.scene] != rep["fold_of"][s.scene]]
        expected = np.mean([(t.rgb.mean(axis=(1, 2)) + 1) / 2 for t in train], axis=0)
        np.testing.assert_allclose(p.reshape(-1, 3).mean(0), np.rint(expected * 255), atol=0.51)
        own = np.mean([(t.rgb.mean(axis=(1, 2)) + 1) / 2 for t in samples if t not in train], axis=0)
        assert np.abs(p[0, 0] - np.rint(own * 255)).max() > 2  # the held-out scenes' own colour differs


def test_summary_counts_scene_wins_against_the_mean_colour(report):
    _, rep = report
    per_scene, summary = rep["per_scene"], rep["summary"]
    for method in (MODEL, GREY_SAR):
        base = per_scene[MEAN_COLOUR]
        wins = sum(per_scene[method][sc]["psnr"] > base[sc]["psnr"] for sc in per_scene[method])
        assert summary[method]["wins_vs_mean_colour"]["psnr"] == wins
        assert summary[method]["psnr"]["n"] == 5
        scene_means = [v["psnr"] for v in per_scene[method].values()]
        assert summary[method]["psnr"]["mean"] == pytest.approx(np.mean(scene_means))


def test_cli_writes_tables_figures_and_a_final_model(tmp_path, tiny_pairs):
    out, final = tmp_path / "cv", tmp_path / "final.pt"
    args = ["crossval", "--data", str(tiny_pairs), "--out", str(out), "--folds", "2", "--width", "4",
            "--epochs", "1", "--batch-size", "2", "--device", "cpu", "--workers", "1", "--water-guard",
            "--save-final", str(final), "-q"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    for name in ("per_image.csv", "per_scene.csv", "summary.json", "summary.md", "crossval.png",
                 "comparison.png"):
        assert (out / name).stat().st_size > 0, name
    assert "| mean colour |" in result.output and "| grey SAR |" in result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["adjust"]["water_guard"] is True
    ckpt = load_checkpoint(final)
    assert ckpt.adjust is not None and ckpt.adjust.water_guard
    assert ckpt.metrics["crossval"]["summary"][MEAN_COLOUR]["psnr"]["n"] == 4
    assert sorted(ckpt.split["train"]) == sorted(summary["fold_of"])


def test_cli_refuses_too_many_folds_in_one_line(tmp_path, tiny_pairs):
    result = CliRunner().invoke(cli, ["crossval", "--data", str(tiny_pairs), "--out", str(tmp_path / "cv"),
                                      "--folds", "9", "--device", "cpu", "-q"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == ["Error: 9 folds need at least 9 scenes, the data has 4"]
