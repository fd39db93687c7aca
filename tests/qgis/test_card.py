"""The model card summary of the algorithm's help (standard library only), from stand-in `sargeo`
executables; no QGIS needed."""

from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path

from sargeo_qgis import card

CARD = """\
# sargeo default model

The model `sargeo colorize` uses when no --checkpoint is given: a <compact> U-Net.

## Architecture

- unet-pix2pix-8down: width 16

## Cross-validation (5 folds by scene, 13 scenes)

Each scene scored by a model trained without it.

| method | PSNR (dB) |
| --- | --- |
| model | 14.47 |

**On scenes it never saw, the model does not clearly beat the flat mean colour** (PSNR 14.47 vs 14.38 dB).

Per held-out scene:

| scene | model |
| --- | --- |
| a | 1 |

Calm water in a (33% of pixels).

## Limitations

Trained on 161 pairs.
"""


def fake_sargeo(tmp_path: Path, body: str) -> str:
    exe = tmp_path / "sargeo"
    exe.write_text(f"#!{sys.executable}\nimport sys, time\nassert sys.argv[1:] == ['info']\n"
                   + textwrap.dedent(body))
    exe.chmod(0o755)
    return str(exe)


def test_title_summary_and_verdict_only(tmp_path):
    exe = fake_sargeo(tmp_path, f"print({CARD!r}, end='')")
    assert card.summary(exe, wait=30) == (
        "<h3>sargeo default model</h3>\n"
        "<p>The model <code>sargeo colorize</code> uses when no --checkpoint is given: a &lt;compact&gt; "
        "U-Net.</p>\n"
        "<p><b>On scenes it never saw, the model does not clearly beat the flat mean colour</b> "
        "(PSNR 14.47 vs 14.38 dB).</p>")


def test_a_slow_sargeo_does_not_hold_up_the_help_and_runs_once(tmp_path):
    runs = tmp_path / "runs"
    exe = fake_sargeo(tmp_path, f"""
        open({str(runs)!r}, "a").write("run\\n")
        time.sleep(1.5)
        print("# slow model")
    """)
    start = time.monotonic()
    assert card.summary(exe, wait=0.1) is None
    assert time.monotonic() - start < 1
    assert card.summary(exe, wait=30) == "<h3>slow model</h3>"  # the same run, finished meanwhile
    assert card.summary(exe, wait=0) == "<h3>slow model</h3>"
    assert runs.read_text() == "run\n"


def test_a_failing_or_missing_sargeo_leaves_the_static_help(tmp_path):
    failing = fake_sargeo(tmp_path, "sys.exit('Error: not a sargeo checkpoint')")
    assert card.summary(failing, wait=30) is None
    start = time.monotonic()
    assert card.summary(failing) is None  # settled: no new wait
    assert time.monotonic() - start < 0.1
    assert card.summary(str(tmp_path / "missing"), wait=30) is None
