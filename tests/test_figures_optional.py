"""Figures are optional: without matplotlib every command still works and says so once."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import requires

NO_MATPLOTLIB = "import sys\nsys.modules['matplotlib'] = None  # as if not installed\n"


def test_matplotlib_is_an_extra_not_a_requirement():
    needs = [r for r in requires("sargeo") or [] if r.lower().startswith("matplotlib")]
    assert needs and all("extra ==" in r for r in needs)


def test_crossval_without_matplotlib_writes_its_tables_and_no_figures(tiny_pairs, tmp_path):
    out = tmp_path / "cv"
    args = ["crossval", "--data", str(tiny_pairs), "--out", str(out), "--folds", "2", "--width", "4",
            "--epochs", "1", "--batch-size", "2", "--device", "cpu", "--workers", "1", "--progress", "none"]
    code = NO_MATPLOTLIB + f"from sargeo.cli.entry import main\nsys.argv = ['sargeo', *{args!r}]\nmain()\n"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stderr.count("matplotlib is not installed") == 1
    assert (out / "summary.md").is_file() and not (out / "crossval.png").exists()
