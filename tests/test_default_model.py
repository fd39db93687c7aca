"""The model shipped inside the package: loads without a download, has a card, colorizes the sample."""

from __future__ import annotations

import json

import numpy as np
import rasterio
from click.testing import CliRunner

from sargeo.checkpoint import load_checkpoint
from sargeo.cli.main import cli
from sargeo.models import DEFAULT_MODEL, MODEL_CARD, default_checkpoint_path
from sargeo.scene import colorize

SAMPLE = DEFAULT_MODEL.parents[2] / "sample_data" / "sample_s1_vv_db.tif"


def test_default_model_ships_small_and_self_describing():
    assert default_checkpoint_path() == DEFAULT_MODEL
    assert DEFAULT_MODEL.stat().st_size < 30 * 2**20
    ckpt = load_checkpoint(DEFAULT_MODEL)
    assert ckpt.scaling.db_min == -25 and ckpt.scaling.db_max == 0
    cv = ckpt.metrics["crossval"]
    assert cv["folds"] >= 5 and set(cv["summary"]) == {"model", "model, adjusted", "mean colour", "grey SAR"}
    scenes = set(cv["per_scene"]["mean colour"])
    assert len(scenes) >= 11 and scenes == set(ckpt.split["train"])  # every scene scored while held out
    assert ckpt.adjust is not None and ckpt.adjust.water_guard


def test_info_prints_the_card_that_ships_beside_the_weights():
    result = CliRunner().invoke(cli, ["info"])
    assert result.exit_code == 0
    assert result.output == MODEL_CARD.read_text()
    assert "CC-BY 4.0" in result.output and "mean colour" in result.output
    assert "On scenes it never saw, the model" in result.output  # the verdict of the cross-validation


def test_colorize_without_checkpoint_uses_the_default_model(tmp_path):
    """A corner of the shipped sample scene, restricted with an AOI to keep the test quick."""
    with rasterio.open(SAMPLE) as ds:
        b = ds.bounds
        corner = [[b.right - 3000, b.top - 2500], [b.right, b.top - 2500], [b.right, b.top],
                  [b.right - 3000, b.top], [b.right - 3000, b.top - 2500]]
        crs = ds.crs.to_string()
    aoi = tmp_path / "corner.geojson"
    aoi.write_text(json.dumps({"type": "Polygon", "coordinates": [corner],
                               "crs": {"type": "name", "properties": {"name": crs}}}))
    result = colorize(SAMPLE, tmp_path / "out.tif", aoi=aoi, device="cpu")
    assert result.tiles_run < result.tiles
    with rasterio.open(tmp_path / "out.tif") as out:
        rgb, alpha = out.read((1, 2, 3)), out.read(4)
    inside = alpha == 255
    assert 0.015 < inside.mean() < 0.04  # the 300 x 250 px corner of 2000 x 1600
    assert rgb[:, inside].std(axis=1).min() > 2  # real structure, not a constant colour
    assert np.ptp(rgb[:, inside].mean(axis=1)) < 120  # plausible, not saturated single hue
