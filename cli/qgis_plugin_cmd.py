"""`sargeo qgis-plugin`: put the QGIS plugin where QGIS finds it, wired to this sargeo executable."""

from __future__ import annotations

import os
import shutil
import sys
import zipfile
from pathlib import Path

import click

from .errors import SargeoError, friendly_errors

PLUGIN = "sargeo_qgis"
PLUGIN_DIR = Path(__file__).resolve().parents[1] / "qgis_plugin" / PLUGIN
RECORDED = "sargeo_executable.txt"  # read by qgis_plugin/sargeo_qgis/executable.py
SKIPPED = ("__pycache__", "*.pyc", RECORDED)


def default_profiles_dir() -> Path:
    """Where QGIS 3 keeps user profiles (QStandardPaths::AppDataLocation + /QGIS/QGIS3/profiles)."""
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "QGIS" / "QGIS3" / "profiles"


def running_executable() -> str | None:
    """This environment's `sargeo`, so QGIS finds it although the venv is not on QGIS's PATH."""
    beside_python = shutil.which("sargeo", path=str(Path(sys.executable).parent))
    if beside_python:
        return str(Path(beside_python).resolve())
    argv0 = Path(sys.argv[0])
    found = shutil.which(str(argv0)) if argv0.name.startswith("sargeo") else None
    return str(Path(found).resolve()) if found else None


def plugin_source() -> Path:
    if not (PLUGIN_DIR / "metadata.txt").is_file():
        raise SargeoError(f"the QGIS plugin files are missing from this installation: {PLUGIN_DIR}")
    return PLUGIN_DIR


def enable_plugin(ini: Path) -> None:
    """Set `[PythonPlugins] sargeo_qgis=true` by editing lines, so QGIS's other settings stay untouched."""
    lines = ini.read_text(encoding="utf-8").splitlines() if ini.is_file() else []
    entry = f"{PLUGIN}=true"
    if "[PythonPlugins]" in lines:
        start = lines.index("[PythonPlugins]") + 1
        end = next((i for i in range(start, len(lines)) if lines[i].startswith("[")), len(lines))
        kept = [line for line in lines[start:end] if line.split("=", 1)[0].strip() != PLUGIN]
        lines[start:end] = [entry, *kept]
    else:
        lines += ([""] if lines else []) + ["[PythonPlugins]", entry]
    ini.parent.mkdir(parents=True, exist_ok=True)
    ini.write_text("\n".join(lines) + "\n", encoding="utf-8")


def build_zip(out: Path) -> Path:
    """A ZIP for QGIS's "Install from ZIP": one top-level `sargeo_qgis/` folder."""
    source = plugin_source()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(source.rglob("*")):
            rel = path.relative_to(source)
            if path.is_file() and not any(rel.match(p) or p in rel.parts for p in SKIPPED):
                zf.write(path, Path(PLUGIN) / rel)
    return out


qgis_plugin_group = click.Group("qgis-plugin", help="Install the QGIS Processing plugin (sargeo:colorize).")


@qgis_plugin_group.command("install")
@click.option("--profile", default="default", show_default=True, help="QGIS user profile.")
@click.option("--profiles-dir", type=click.Path(file_okay=False, path_type=Path),
              help="QGIS profiles folder (default: the user's, e.g. ~/.local/share/QGIS/QGIS3/profiles).")
@friendly_errors
def install_cmd(profile: str, profiles_dir: Path | None) -> None:
    """Copy the plugin into a QGIS profile, enable it, and record this sargeo executable for it."""
    profile_dir = (profiles_dir or default_profiles_dir()) / profile
    dest = profile_dir / "python" / "plugins" / PLUGIN
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(plugin_source(), dest, ignore=shutil.ignore_patterns(*SKIPPED))
    exe = running_executable()
    if exe:
        (dest / RECORDED).write_text(exe + "\n", encoding="utf-8")
    else:
        click.echo("Warning: could not locate this sargeo executable; QGIS will look for "
                   "$SARGEO_EXECUTABLE or `sargeo` on its PATH", err=True)
    enable_plugin(profile_dir / "QGIS" / "QGIS3.ini")
    click.echo(f"Installed the QGIS plugin in {dest} (using {exe or 'sargeo from PATH'}).")
    click.echo("Restart QGIS; the algorithm is Processing Toolbox > sargeo > Colorize SAR scene.")


@qgis_plugin_group.command("zip")
@click.argument("out", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@friendly_errors
def zip_cmd(out: Path) -> None:
    """Write the plugin as a ZIP for QGIS's Plugins > Manage and Install Plugins > Install from ZIP."""
    click.echo(f"Wrote {build_zip(out)}")
