"""`sargeo train` / `sargeo evaluate` from the command line, including their error messages."""

from __future__ import annotations

import csv
import json

from click.testing import CliRunner

from sargeo.cli.main import cli


def test_train_then_evaluate_reports_model_and_baselines(run, tiny_pairs, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty_hub"))
    ev = tmp_path / "eval"
    result = CliRunner().invoke(cli, ["evaluate", "--data", str(tiny_pairs), "-c", f"gan={run / 'best.pt'}",
                                      "--out", str(ev), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "LPIPS unavailable" in result.output
    summary = json.loads((ev / "summary.json").read_text())
    assert set(summary) == {"gan", "mean colour", "grey SAR"}
    assert "lpips" not in summary["gan"]["overall"]
    with (ev / "per_image.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    test_scenes = set(json.loads((run / "split.json").read_text())["test"])
    assert rows and {r["scene"] for r in rows} <= test_scenes
    assert (ev / "comparison.png").stat().st_size > 0
    assert "mean colour" in (ev / "summary.txt").read_text()


def test_evaluate_without_figure(run, tiny_pairs, tmp_path):
    ev = tmp_path / "eval"
    result = CliRunner().invoke(cli, ["evaluate", "--data", str(tiny_pairs), "-c", str(run / "best.pt"),
                                      "--out", str(ev), "--no-lpips", "--figure-samples", "0", "-q"])
    assert result.exit_code == 0, result.output
    assert (ev / "summary.json").is_file() and not (ev / "comparison.png").exists()


def test_resume_extends_a_run_from_its_folder(run):
    result = CliRunner().invoke(cli, ["train", "--resume", str(run), "--epochs", "2", "--quiet"])
    assert result.exit_code == 0, result.output
    assert (run / "log_epochs.csv").read_text().count("\n") == 3  # header + 2 epochs


def test_train_without_data_is_a_usage_error():
    result = CliRunner().invoke(cli, ["train", "--out", "x"])
    assert result.exit_code == 2
    assert "missing --data" in result.output


def test_train_on_folder_without_pairs_fails_in_one_line(tmp_path):
    result = CliRunner().invoke(cli, ["train", "--data", str(tmp_path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [f"Error: no SAR/optical pairs found under {tmp_path}"]


def test_evaluate_refuses_corrupt_checkpoint_in_one_line(tiny_pairs, tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    result = CliRunner().invoke(cli, ["evaluate", "--data", str(tiny_pairs), "-c", str(bad),
                                      "--out", str(tmp_path / "ev")])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert "not a readable checkpoint" in result.output
    assert not (tmp_path / "ev").exists()
