"""Find the `sargeo` executable; sargeo itself is never imported into QGIS's Python."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

SETTING = "SARGEO_EXECUTABLE"  # name of both the Processing setting and the environment variable
RECORDED = Path(__file__).with_name("sargeo_executable.txt")  # written by `sargeo qgis-plugin install`

INSTALL_HINT = (
    "The sargeo command-line tool was not found. Install it into its own Python environment "
    "(not QGIS's): `python3 -m venv ~/sargeo-venv && ~/sargeo-venv/bin/pip install sargeo`, then either "
    "run `~/sargeo-venv/bin/sargeo qgis-plugin install`, or set Settings > Options > Processing > "
    f"Providers > sargeo > {SETTING}, or the environment variable {SETTING}, to the full path of that "
    "sargeo executable (on Windows: ...\\Scripts\\sargeo.exe).")


class ExecutableNotFound(Exception):
    """Carries a message that tells the user how to fix the lookup."""


def find_executable(setting_value: str | None) -> str:
    """Processing setting, then $SARGEO_EXECUTABLE, then the recorded install path, then PATH.

    A path the user set explicitly must work: silently falling back to another sargeo would hide the typo.
    """
    for source, value in ((f"the Processing setting {SETTING}", setting_value),
                          (f"the environment variable {SETTING}", os.environ.get(SETTING))):
        if value and value.strip():
            found = shutil.which(value.strip())
            if found is None:
                raise ExecutableNotFound(f"{source} is {value!r}, which is not an executable file. "
                                         + INSTALL_HINT)
            return found
    recorded = RECORDED.read_text(encoding="utf-8").strip() if RECORDED.is_file() else ""
    found = (shutil.which(recorded) if recorded else None) or shutil.which("sargeo")
    if found is None:
        raise ExecutableNotFound(INSTALL_HINT)
    return found
