"""The QGIS plugin inside real, headless QGIS, driving the real `sargeo` CLI of this venv.

QGIS has its own Python (/usr/bin/python3, numpy 1.x), so each scenario of qgis_scenarios.py runs there in
a subprocess; this module only prepares inputs and checks exit codes.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from rasterio.transform import from_origin

from sargeo.checkpoint import Checkpoint, save_checkpoint
from sargeo.cli.qgis_plugin_cmd import qgis_plugin_group
from sargeo.model import Generator

QGIS_PYTHON = "/usr/bin/python3"
QGIS_PROCESS = "/usr/bin/qgis_process.bin"  # the `qgis_process` wrapper script is broken on Debian 12
SCENARIOS = Path(__file__).with_name("qgis_scenarios.py")
SARGEO = Path(sys.executable).parent / "sargeo"


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """A 300 x 200 dB scene in EPSG:32631 with 10 m pixels, and a tiny untrained checkpoint."""
    work = tmp_path_factory.mktemp("qgis")
    db = np.random.default_rng(0).normal(-12, 4, (200, 300)).astype("float32")
    profile = dict(driver="GTiff", width=300, height=200, count=1, dtype="float32", crs="EPSG:32631",
                   transform=from_origin(500000, 5000000, 10, 10))
    with rasterio.open(work / "scene.tif", "w", **profile) as ds:
        ds.write(db, 1)
    save_checkpoint(Checkpoint(generator=Generator(width=4)), work / "tiny.pt")
    return work


@pytest.fixture(scope="module")
def qgis_env(tmp_path_factory) -> dict[str, str]:
    """Headless QGIS with throwaway settings, and the PYTHONPATH QGIS gives its children (numpy 1.x)."""
    base = tmp_path_factory.mktemp("qgis_home")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME")}
    env.update(QT_QPA_PLATFORM="offscreen", QGIS_CUSTOM_CONFIG_PATH=str(base / "config"),
               PYTHONPATH="/usr/lib/python3/dist-packages", PYTHONFAULTHANDLER="1",
               SARGEO_EXECUTABLE=str(SARGEO))
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR"):
        (base / var).mkdir(mode=0o700)
        env[var] = str(base / var)
    probe = subprocess.run([QGIS_PYTHON, "-c", "import qgis.core"], env=env, capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"{QGIS_PYTHON} cannot import qgis.core (needs apt-get install qgis python3-qgis)")
    return env


@pytest.fixture(scope="module")
def installed_env(qgis_env, tmp_path_factory) -> dict[str, str]:
    """A profile with the plugin put there by `sargeo qgis-plugin install`, for qgis_process."""
    config = tmp_path_factory.mktemp("installed")
    result = CliRunner().invoke(qgis_plugin_group, ["install", "--profiles-dir", str(config / "profiles")])
    assert result.exit_code == 0, result.output
    return {**qgis_env, "QGIS_CUSTOM_CONFIG_PATH": str(config)}


def qgis_process(env: dict[str, str], *parameters: str) -> tuple[dict, list[str]]:
    """`qgis_process run sargeo:colorize` with KEY=VALUE parameters: its JSON report and the sargeo argv."""
    proc = subprocess.run([QGIS_PROCESS, "--json", "run", "sargeo:colorize", "--", *parameters], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    report = json.loads(proc.stdout)
    prefix = shlex.join([env["SARGEO_EXECUTABLE"], "colorize"])
    command = next(line for line in report["log"]["info"] if line.startswith(prefix))
    return report, shlex.split(command)


def write(path: Path, bands: np.ndarray, descriptions: tuple[str, ...] | None = None) -> Path:
    """float32 bands on the `work` scene's grid, with no nodata value, like a SNAP or GEE export."""
    profile = dict(driver="GTiff", width=bands.shape[2], height=bands.shape[1], count=len(bands),
                   dtype="float32", crs="EPSG:32631", transform=from_origin(500000, 5000000, 10, 10))
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(bands.astype("float32"))
        for i, text in enumerate(descriptions or (), start=1):
            ds.set_band_description(i, text)
    return path


def test_readme_snap_example_linear_sigma0_with_nodata_0(installed_env, work, tmp_path):
    """`sargeo colorize S1A_Sigma0_VV.tif out.tif --scale linear --nodata 0` as SCALE=linear NODATA=0:
    the 0 border (not marked as nodata in the file) comes out transparent, the scene opaque."""
    rows, cols = np.mgrid[0:200, 0:300]
    valid = (cols > 20 + rows // 4) & (rows < 180)  # a slanted swath edge and a bottom border
    sigma0 = 10 ** (np.random.default_rng(1).normal(-12, 4, (200, 300)) / 10)
    src = write(tmp_path / "S1A_Sigma0_VV.tif", np.where(valid, sigma0, 0)[None])
    out = tmp_path / "out.tif"
    report, argv = qgis_process(installed_env, f"INPUT={src}", "SCALE=linear", "NODATA=0",
                                f"CHECKPOINT={work / 'tiny.pt'}", f"OUTPUT={out}")
    assert report["results"]["OUTPUT"] == str(out)
    assert argv[argv.index("--scale") + 1] == "linear" and float(argv[argv.index("--nodata") + 1]) == 0
    with rasterio.open(out) as dst:
        alpha = dst.read(4)
    assert np.array_equal(alpha == 255, valid) and np.array_equal(alpha == 0, ~valid)


def test_a_vh_vv_file_gets_vv_by_default_like_the_cli(installed_env, work, tmp_path):
    """No BAND: no --band, so the CLI picks the band described VV (band 2), as `sargeo colorize` does."""
    rng = np.random.default_rng(2)
    vh, vv = rng.normal(-19, 4, (200, 300)), rng.normal(-12, 4, (200, 300))
    src = write(tmp_path / "vh_vv.tif", np.stack([vh, vv]), ("VH", "VV"))
    out, reference = tmp_path / "qgis.tif", tmp_path / "cli.tif"
    _, argv = qgis_process(installed_env, f"INPUT={src}", f"CHECKPOINT={work / 'tiny.pt'}", f"OUTPUT={out}")
    assert "--band" not in argv
    cli = subprocess.run([str(SARGEO), "colorize", str(src), str(reference), "-c", str(work / "tiny.pt"),
                          "--quiet"], capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0, cli.stderr
    with rasterio.open(out) as got, rasterio.open(reference) as want:
        assert (got.crs, got.transform, got.count) == (want.crs, want.transform, 4)
        assert np.array_equal(got.read(), want.read())


def run_scenario(name: str, work: Path, env: dict[str, str]) -> None:
    proc = subprocess.run([QGIS_PYTHON, "-u", str(SCENARIOS), name, str(work)], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout}\n{proc.stderr}"


@pytest.mark.parametrize("scenario", ["registered", "colorize", "cancel", "bad_input", "not_a_file"])
def test_scenario(scenario, qgis_env, work):
    run_scenario(scenario, work, qgis_env)


def test_qgis_process_with_the_plugin_installed_like_a_user(qgis_env, work, tmp_path):
    """`sargeo qgis-plugin install` into a profile, then qgis_process finds it and the recorded sargeo."""
    config = tmp_path / "config"
    result = CliRunner().invoke(qgis_plugin_group, ["install", "--profiles-dir", str(config / "profiles")])
    assert result.exit_code == 0, result.output
    env = {**qgis_env, "QGIS_CUSTOM_CONFIG_PATH": str(config), "PATH": "/usr/bin:/bin"}
    del env["SARGEO_EXECUTABLE"]  # found through the path `install` recorded
    out = tmp_path / "out.tif"
    proc = subprocess.run([QGIS_PROCESS, "--json", "run", "sargeo:colorize", "--",
                           f"INPUT={work / 'scene.tif'}", f"CHECKPOINT={work / 'tiny.pt'}", f"OUTPUT={out}"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    report = json.loads(proc.stdout)
    assert report["results"]["OUTPUT"] == str(out)
    with rasterio.open(out) as dst, rasterio.open(work / "scene.tif") as src:
        assert (dst.crs, dst.bounds, dst.count) == (src.crs, src.bounds, 4)
