"""`sargeo qgis-plugin install|zip` and the plugin's executable lookup; no QGIS needed."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from sargeo_qgis import executable

from sargeo.cli.qgis_plugin_cmd import default_profiles_dir, qgis_plugin_group

SARGEO = Path(sys.executable).parent / "sargeo"


def test_install_copies_enables_and_records_this_sargeo(tmp_path):
    ini = tmp_path / "default" / "QGIS" / "QGIS3.ini"
    ini.parent.mkdir(parents=True)
    ini.write_text("[PythonPlugins]\nsargeo_qgis=false\nprocessing=true\n\n[qgis]\nshowTips=false\n")
    for _ in range(2):  # reinstalling replaces the previous copy
        result = CliRunner().invoke(qgis_plugin_group, ["install", "--profiles-dir", str(tmp_path)])
        assert result.exit_code == 0, result.output
    plugin = tmp_path / "default" / "python" / "plugins" / "sargeo_qgis"
    assert (plugin / "metadata.txt").is_file() and not (plugin / "__pycache__").exists()
    assert (plugin / "sargeo_executable.txt").read_text().strip() == str(SARGEO.resolve())
    assert ini.read_text() == ("[PythonPlugins]\nsargeo_qgis=true\nprocessing=true\n\n"
                               "[qgis]\nshowTips=false\n")


def test_install_into_a_new_profile(tmp_path):
    result = CliRunner().invoke(qgis_plugin_group, ["install", "--profiles-dir", str(tmp_path),
                                                    "--profile", "work"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "work" / "QGIS" / "QGIS3.ini").read_text() == "[PythonPlugins]\nsargeo_qgis=true\n"


def test_zip_has_one_plugin_folder_and_no_machine_specific_files(tmp_path):
    out = tmp_path / "sargeo_qgis.zip"
    result = CliRunner().invoke(qgis_plugin_group, ["zip", str(out)])
    assert result.exit_code == 0, result.output
    names = zipfile.ZipFile(out).namelist()
    assert {"sargeo_qgis/metadata.txt", "sargeo_qgis/__init__.py"} <= set(names)
    assert all(n.startswith("sargeo_qgis/") and "__pycache__" not in n for n in names)
    assert "sargeo_qgis/sargeo_executable.txt" not in names


@pytest.mark.skipif(sys.platform != "linux", reason="Linux profile location")
def test_default_profiles_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_profiles_dir() == tmp_path / "QGIS" / "QGIS3" / "profiles"


def test_lookup_order_setting_env_recorded_path(monkeypatch, tmp_path):
    tools = {}
    for name in ("setting", "env", "recorded", "onpath"):
        tools[name] = tmp_path / name / "sargeo"
        tools[name].parent.mkdir()
        tools[name].write_text("#!/bin/sh\n")
        tools[name].chmod(0o755)
    recorded = tmp_path / "sargeo_executable.txt"
    monkeypatch.setattr(executable, "RECORDED", recorded)
    monkeypatch.setenv("PATH", str(tools["onpath"].parent))
    monkeypatch.delenv("SARGEO_EXECUTABLE", raising=False)
    assert executable.find_executable("") == str(tools["onpath"])
    recorded.write_text(f"{tools['recorded']}\n")
    assert executable.find_executable(None) == str(tools["recorded"])
    monkeypatch.setenv("SARGEO_EXECUTABLE", str(tools["env"]))
    assert executable.find_executable(None) == str(tools["env"])
    assert executable.find_executable(str(tools["setting"])) == str(tools["setting"])


def test_a_wrong_explicit_path_says_how_to_fix_it(monkeypatch, tmp_path):
    monkeypatch.setenv("SARGEO_EXECUTABLE", str(tmp_path / "missing"))
    with pytest.raises(executable.ExecutableNotFound) as err:
        executable.find_executable(None)
    assert "environment variable SARGEO_EXECUTABLE" in str(err.value)
    assert "pip install sargeo" in str(err.value)
