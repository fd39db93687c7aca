"""Small things a user notices: defaults in help, quiet means quiet, no repeated output."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner
from conftest import TRAIN_ARGS
from synthetic import write_scene

from sargeo.cli.main import cli


def test_train_help_shows_the_defaults():
    out = " ".join(CliRunner().invoke(cli, ["train", "--help"]).output.split())
    expected = (("--width", "64"), ("--epochs", "100"), ("--lr-g", "0.0002"), ("--lambda-adv", "1.0"))
    for option, default in expected:
        assert f"{option} " in out and f"[default: ({default})" in out.split(f"{option} ", 1)[1][:400], option


def test_train_progress_none_and_unpaired_files_in_one_line(tiny_pairs, tmp_path):
    for i in range(5):
        (tiny_pairs / "s1" / f"ROIs1868_summer_s1_9_p{i}.png").write_bytes(b"")  # no s2 partner
    out = tmp_path / "run"
    args = [a for a in TRAIN_ARGS if a != "--quiet"]
    result = CliRunner().invoke(cli, [*args, "--data", str(tiny_pairs), "--out", str(out),
                                      "--progress", "none"])
    assert result.exit_code == 0, result.output
    skipped = [line for line in result.output.splitlines() if "skipped" in line]
    assert len(skipped) == 1 and skipped[0].startswith("5 file(s) skipped")
    assert len((out / "skipped.txt").read_text().splitlines()) == 5


def test_evaluate_prints_its_table_once_without_terrains(run, tiny_pairs, tmp_path):
    result = CliRunner().invoke(cli, ["evaluate", "--data", str(tiny_pairs), "-c", str(run / "best.pt"),
                                      "--out", str(tmp_path / "ev"), "--no-lpips", "--figure-samples", "0"])
    assert result.exit_code == 0, result.output
    assert "terrain: unknown" not in result.output and result.output.count("mean colour") == 1


def test_quiet_colorize_of_an_ungeoreferenced_file_prints_nothing(tmp_path, tiny_checkpoint):
    src = write_scene(tmp_path / "plain.tif", width=120, height=100, crs=None)
    args = ["colorize", str(src), str(tmp_path / "o.tif"), "-c", str(tiny_checkpoint), "-q"]
    res = subprocess.run([sys.executable, "-m", "sargeo.cli", *args, "--device", "cpu"], capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0 and res.stderr == "", res.stderr
