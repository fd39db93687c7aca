"""Start-up cost: the command line, and `rio` (which loads sargeo's plugin on every call), must not
import PyTorch or matplotlib; `sargeo.tiling` must stay free of torch and rasterio."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "sample_s1_vv_db.tif"
PROBE = ("import atexit, sys\n"
         "atexit.register(lambda: print('LOADED', *sorted(m for m in ('torch', 'matplotlib', 'rasterio',\n"
         "                                                             'scipy') if m in sys.modules),\n"
         "                              file=sys.stderr))\n")


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


def test_a_model_card_does_not_load_scipy():
    """`sargeo info` shows scores; computing them needs scipy (via scikit-image, 0.7 s), showing them not."""
    assert "scipy" not in _loaded(SARGEO.format(args=["info"]))


def test_tiling_needs_neither_torch_nor_rasterio():
    assert not _loaded("import sargeo.tiling") & {"torch", "rasterio"}


@pytest.mark.parametrize("module", ["sargeo.evaluate", "sargeo.modelcard", "sargeo.scene", "sargeo.batch"])
def test_evaluation_cards_and_inference_do_not_import_training(module):
    code = f"import {module}, sys\nprint('TRAIN', 'sargeo.train' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.stdout.strip() == "TRAIN False", res.stdout + res.stderr


GC_PROBE = ("import atexit, gc, sys\n"
            "atexit.register(lambda: print('GC', gc.get_stats()[2]['collections'], gc.get_freeze_count(),\n"
            "                              gc.isenabled(), file=sys.stderr))\n")


def _gc_after(code: str) -> tuple[int, int, bool]:
    """(full collections, frozen objects, collector on) when the process exits."""
    res = subprocess.run([sys.executable, "-c", GC_PROBE + code], capture_output=True, text=True, timeout=300)
    line = [x for x in res.stderr.splitlines() if x.startswith("GC")][-1]
    full, frozen, enabled = line.split()[1:]
    return int(full), int(frozen), enabled == "True"


def test_pytorchs_objects_are_loaded_without_full_collections_and_frozen(tmp_path):
    """Importing PyTorch makes ~190,000 objects that live till the end; collecting them while
    they are made, and again at exit, frees nothing (sargeo.cli.imports). A colorize run makes
    no full collection over them, leaves them frozen, and the collector on."""
    args = ["colorize", str(SAMPLE), str(tmp_path / "out.tif"), "-q"]
    full, frozen, enabled = _gc_after(SARGEO.format(args=args))
    assert (tmp_path / "out.tif").exists()
    plain_full, _, _ = _gc_after("import torch, rasterio")
    assert plain_full >= 2  # what a plain import costs (checks the probe)
    assert full == 0 and frozen > 100_000 and enabled


def test_every_command_freezes_what_it_made_before_exit():
    """The collection at exit is spared for any command, here one that loads a checkpoint."""
    _, frozen, _ = _gc_after(SARGEO.format(args=["info"]))
    assert frozen > 100_000


def test_heavy_imports_change_nothing_once_pytorch_is_loaded():
    """In a process that already has PyTorch (a test, a second command) the collector is left
    alone: nothing is frozen that might still become garbage."""
    import gc

    import torch  # noqa: F401

    from sargeo.cli.imports import heavy_imports

    before = gc.get_freeze_count()
    with heavy_imports():
        assert gc.isenabled()
    assert gc.get_freeze_count() == before and gc.isenabled()
