"""Make the plugin package importable as `sargeo_qgis` for the tests of its standard-library parts."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "qgis_plugin"))
