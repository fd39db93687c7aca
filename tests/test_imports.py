"""Start-up cost: the command line, and `rio` (which loads sargeo's plugin on every call), must not
import PyTorch or matplotlib; `sargeo.tiling` must stay free of torch and rasterio."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "sample_s1_vv_db.tif"
PROBE = ("import atexit, sys\n"
         "atexit.register(lambda: print('LOADED', *sorted(m for m in ('torch', 'matplotlib', 'rasterio') "
         "if m in sys.modules), file=sys.stderr))\n")


def _loaded(code: str) -> set[str]:
    res = subprocess.run([sys.executable, "-c", PROBE + code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    line = [x for x in res.stderr.splitlines() if x.startswith("LOADED")][-1]
    return set(line.split()[1:])


SARGEO = ("from sargeo.cli.entry import main\nsys.argv = ['sargeo', *{args!r}]\n"
          "try:\n    main()\nexcept SystemExit:\n    pass\n")


@pytest.mark.parametrize("args", [["--help"], ["colorize", "--help"], ["train", "--help"],
                                  ["qgis-plugin", "install", "--help"], ["pairs", "--help"]])
def test_sargeo_help_loads_neither_torch_nor_matplotlib(args):
    assert not _loaded(SARGEO.format(args=args)) & {"torch", "matplotlib"}


def test_the_rio_plugin_module_is_light():
    assert not _loaded("import sargeo.cli.colorize") & {"torch", "matplotlib"}


@pytest.mark.parametrize("args", [["--help"], ["info", str(SAMPLE)], ["colorize", "--help"]])
def test_rio_commands_do_not_load_torch(args):
    """rasterio's own `rio insp` imports matplotlib whenever it is installed (here, for the figure tests);
    sargeo does not require it (tests/test_figures_optional.py), so only torch is ours to avoid."""
    code = (f"from rasterio.rio.main import main_group\ntry:\n    main_group({args!r})\n"
            "except SystemExit:\n    pass\n")
    assert "torch" not in _loaded(code)


def test_tiling_needs_neither_torch_nor_rasterio():
    assert not _loaded("import sargeo.tiling") & {"torch", "rasterio"}


@pytest.mark.parametrize("module", ["sargeo.evaluate", "sargeo.modelcard", "sargeo.scene", "sargeo.batch"])
def test_evaluation_cards_and_inference_do_not_import_training(module):
    code = f"import {module}, sys\nprint('TRAIN', 'sargeo.train' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.stdout.strip() == "TRAIN False", res.stdout + res.stderr
