"""The plugin's parameters-to-argv mapping (standard library only) against the real `sargeo colorize`
option parser; no QGIS needed."""

from __future__ import annotations

import pytest
from sargeo_qgis.command import ColorizeOptions, colorize_command, creation_options, db_range

from sargeo.cli.colorize import colorize_cmd

# `sargeo colorize` options the algorithm has no parameter for, and why
NOT_PARAMETERS = {
    "--list": "one scene per run; QGIS's batch mode (or a model) runs many",
    "--quiet": "the plugin reads --progress json and relays the log lines",
    "--help": "not an option of a run",
}


def every_option(tmp_path) -> ColorizeOptions:
    for name in ("model.pt", "aoi.geojson"):
        (tmp_path / name).touch()  # the CLI's parser checks that they exist
    return ColorizeOptions(
        checkpoint=str(tmp_path / "model.pt"), band=2, scale="linear", db_range=(-22.5, -1.0), nodata=0.0,
        aoi=str(tmp_path / "aoi.geojson"), overlap=32, batch_size=4, device="cpu", resample=True,
        overviews=True, cog=True, crop=True, creation_options=("COMPRESS=ZSTD", "predictor=2"))


def parse(argv: list[str]) -> dict:
    """What the CLI makes of the argv, without running it."""
    assert argv[1] == "colorize"
    return colorize_cmd.make_context("colorize", argv[2:]).params


def test_unset_parameters_pass_nothing_so_the_cli_chooses():
    argv = colorize_command("/venv/bin/sargeo", "in.tif", "out.tif", ColorizeOptions())
    assert argv == ["/venv/bin/sargeo", "colorize", "--overwrite", "--progress", "json", "--", "in.tif",
                    "out.tif"]
    params = parse(argv)
    assert (params["band"], params["scale"], params["db_range"], params["nodata"], params["batch_size"],
            params["device"]) == (None, "auto", None, None, None, None)


def test_every_parameter_reaches_the_cli_as_meant(tmp_path):
    options = every_option(tmp_path)
    params = parse(colorize_command("sargeo", "-odd name.tif", str(tmp_path / "out.tif"), options))
    assert params == {
        "src": ("-odd name.tif",), "dst": tmp_path / "out.tif", "list_file": None,
        "checkpoint": options.checkpoint, "band": 2, "scale": "linear", "db_range": (-22.5, -1.0),
        "nodata": 0.0, "aoi": options.aoi, "overlap": 32, "batch_size": 4, "device": "cpu",
        "resample": True, "overviews": True, "cog": True, "crop": True,
        "creation_options": {"COMPRESS": "ZSTD", "PREDICTOR": "2"},
        "overwrite": True, "progress": "json", "quiet": False}


def test_every_cli_option_has_a_parameter(tmp_path):
    """Fails when `sargeo colorize` gains an option: expose it in the plugin (or say here why not)."""
    cli = {opt for param in colorize_cmd.get_params(colorize_cmd.make_context("colorize", ["x"]))
           for opt in param.opts if opt.startswith("--")}
    argv = colorize_command("sargeo", "in.tif", "out.tif", every_option(tmp_path))
    passed = {item for item in argv if item.startswith("--") and item != "--"}
    missing = cli - set(NOT_PARAMETERS) - passed
    assert not missing, (f"`sargeo colorize` options with no QGIS parameter: {sorted(missing)}; add them to "
                         "qgis_plugin/sargeo_qgis (command.py and algorithm.py) or to NOT_PARAMETERS here")
    assert passed <= cli, f"the plugin passes options the CLI lacks: {sorted(passed - cli)}"


def test_numbers_round_trip_exactly():
    argv = colorize_command("sargeo", "in.tif", "out.tif", ColorizeOptions(nodata=123456789.0))
    assert parse(argv)["nodata"] == 123456789.0


def test_creation_options_split_on_spaces_or_bars():
    assert creation_options(" COMPRESS=ZSTD  ZSTD_LEVEL=9|TILED=YES\n") == (
        "COMPRESS=ZSTD", "ZSTD_LEVEL=9", "TILED=YES")
    assert creation_options("") == ()


@pytest.mark.parametrize("text, named", [("COMPRESS", "'COMPRESS' is"),
                                         ("COMPRESS = ZSTD", "'COMPRESS', '=', 'ZSTD' are"),
                                         ("=ZSTD", "'=ZSTD' is")])
def test_malformed_creation_options_are_named(text, named):
    with pytest.raises(ValueError, match=f"^Creation options: {named} not KEY=VALUE.*COMPRESS=ZSTD"):
        creation_options(text)


def test_db_range_needs_both_ends_or_none():
    assert db_range(None, None) is None
    assert db_range(-25.0, 0.0) == (-25.0, 0.0)
    with pytest.raises(ValueError, match="both the minimum and the maximum"):
        db_range(-25.0, None)
