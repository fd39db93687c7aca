"""`sargeo colorize` on bad and odd inputs: one line on stderr, the right exit code, nothing left behind.

Each bad case builds its inputs in a fresh folder and names the exit code and a word its one-line
message must hold. Whatever the failure, the folder must look exactly as before the run: no DST,
no hidden temporary file, the input and any earlier DST byte for byte as they were. Runs use
`--progress none` so that only messages reach stderr.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from synthetic import write_scene

from sargeo.cli.main import cli

SARGEO = [sys.executable, "-m", "sargeo.cli"]
DST = "out.tif"
CKPT = "<checkpoint>"  # replaced by the tiny test checkpoint


def _scene(d: Path, name: str = "in.tif", **kw) -> Path:
    return write_scene(d / name, **{"width": 100, "height": 100, **kw})


def _std(d: Path, *opts: str, src: Path | str | None = None, dst: Path | str | None = None,
         ckpt: Path | str = CKPT) -> list[str]:
    """colorize SRC DST -c CKPT --progress none [--device cpu] OPTS; SRC defaults to a fresh scene."""
    if src is None:
        src = _scene(d)
    device = [] if "--device" in opts else ["--device", "cpu"]
    return ["colorize", str(src), str(dst or d / DST), "-c", str(ckpt), "--progress", "none", *device, *opts]


def _aoi(d: Path, doc: object, name: str = "area.geojson") -> Path:
    path = d / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def _polygon(lon0: float, lat0: float, lon1: float, lat1: float) -> dict:
    ring = [[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]
    return {"type": "Polygon", "coordinates": [ring]}


def _text(d: Path, name: str, content: str) -> Path:
    (d / name).write_text(content)
    return d / name


def _truncated(d: Path) -> Path:
    full = _scene(d, "full.tif").read_bytes()
    (d / "full.tif").unlink()
    (d / "cut.tif").write_bytes(full[: len(full) * 6 // 10])
    return d / "cut.tif"


def _complex(d: Path) -> Path:
    data = (np.random.default_rng(0).normal(0, 300, (1, 80, 90))
            + 1j * np.random.default_rng(1).normal(0, 300, (1, 80, 90)))
    path = d / "slc.tif"
    with rasterio.open(path, "w", driver="GTiff", width=90, height=80, count=1, dtype="complex_int16",
                       crs="EPSG:32631", transform=rasterio.transform.from_origin(5e5, 5e6, 10, 10)) as ds:
        ds.write(data.astype("complex64"))
    return path


def _torch_file(d: Path, name: str, payload: object) -> Path:
    import torch

    torch.save(payload, d / name)
    return d / name


def _half_of(path: Path, d: Path, name: str) -> Path:
    data = path.read_bytes()
    (d / name).write_bytes(data[: len(data) // 2])
    return d / name


def _unwritable(d: Path) -> Path:
    (d / "locked").mkdir()
    (d / "locked").chmod(0o555)
    return d / "locked" / DST


def _tall(d: Path) -> Path:
    """Taller than five tile rows: enough strips to fill every queue if the writer dies early."""
    return _scene(d, width=300, height=1500)


@dataclass(frozen=True)
class Case:
    id: str
    args: Callable[[Path], list[str]]  # builds the inputs in the folder; argv after `sargeo`
    keyword: str  # must appear (case-sensitive) in the one-line message, folder paths aside
    codes: tuple[int, ...] = (2,)
    dst: str = DST  # relative to the case folder, or absolute
    prior: bool = False  # a valid DST exists before the run
    own_process: bool = False  # run as a real process with a timeout (could hang)


def _prior(*opts: str, **kw) -> Callable[[Path], list[str]]:
    """A failing run given --overwrite over an earlier valid result, which must survive it."""
    return lambda d: _std(d, *opts, "--overwrite", **kw)


def _aoi_case(doc: object, **scene) -> Callable[[Path], list[str]]:
    return lambda d: _std(d, "--aoi", str(_aoi(d, doc)), src=_scene(d, **scene))


NAN = np.full((100, 100), np.nan)
OTHER_ARCH = {"format": "sargeo-checkpoint", "format_version": 1, "architecture": "resnet-9", "width": 4}
LONG_NAME = "x" * 256 + ".tif"  # over the 255 bytes most file systems allow
FAR = _polygon(100.0, -40.0, 100.1, -39.9)  # Indian Ocean; the scenes lie in France

BAD: list[Case] = [
    # the input
    Case("missing_input", lambda d: _std(d, src=d / "missing.tif"), "not found"),
    Case("text_file_input", lambda d: _std(d, src=_text(d, "notes.txt", "hello\n")), "cannot open"),
    Case("empty_file_input", lambda d: _std(d, src=_text(d, "empty.tif", "")), "cannot open"),
    Case("truncated_geotiff", lambda d: _std(d, "--overwrite", src=_truncated(d)), "read", prior=True),
    Case("directory_input", lambda d: (d / "scene.tif").mkdir() or _std(d, src=d / "scene.tif"),
         "cannot open"),
    Case("vector_file_input", lambda d: _std(d, src=_aoi(d, {"type": "Feature", "properties": {},
                                                              "geometry": _polygon(3, 44, 4, 45)})),
         "cannot open"),
    Case("complex_input", lambda d: _std(d, src=_complex(d)), "complex"),
    Case("all_nan_input", lambda d: _std(d, "--overwrite", src=_scene(d, values=NAN, border=0)), "valid",
         prior=True),
    Case("all_nodata_input", lambda d: _std(d, src=_scene(d, values=np.full((100, 100), -9999.0))), "valid"),
    Case("nodata_equals_every_pixel",
         lambda d: _std(d, "--nodata", "-10", src=_scene(d, values=np.full((100, 100), -10.0), border=0,
                                                          nodata=None)), "valid"),
    # the destination
    Case("input_is_output", lambda d: _std(d, src=_scene(d), dst=d / "in.tif"), "differ", dst="in.tif"),
    Case("output_exists_without_overwrite", lambda d: _std(d), "already exists", prior=True),
    Case("output_is_a_directory", lambda d: (d / DST).mkdir() or _std(d), "directory"),
    Case("output_folder_missing", lambda d: _std(d, dst=d / "nowhere" / DST), "does not exist",
         dst=f"nowhere/{DST}"),
    Case("output_name_too_long", lambda d: _std(d, dst=d / LONG_NAME), "too long", dst=LONG_NAME),
    Case("output_under_proc", lambda d: _std(d, src=_tall(d), dst="/proc/sargeo_out.tif"), "/proc",
         codes=(1, 2), dst="/proc/sargeo_out.tif", own_process=True),
    # bands and values
    Case("band_0", lambda d: _std(d, "--band", "0"), "band 0"),
    Case("band_5_of_1", _prior("--band", "5"), "band 5", prior=True),
    Case("band_name_unknown", lambda d: _std(d, "--band", "HH"), "HH"),
    Case("band_negative", lambda d: _std(d, "--band", "-1"), "-1"),
    Case("scale_bogus", lambda d: _std(d, "--scale", "bogus"), "--scale"),
    Case("nodata_not_a_number", lambda d: _std(d, "--nodata", "abc"), "--nodata"),
    Case("nodata_infinite", lambda d: _std(d, "--nodata", "inf"), "--nodata"),
    Case("db_range_reversed", lambda d: _std(d, "--db-range", "0", "-25"), "db-range"),
    Case("db_range_empty", lambda d: _std(d, "--db-range", "5", "5"), "db-range"),
    Case("db_range_nan", _prior("--db-range", "nan", "0"), "db-range", prior=True),
    Case("db_range_minus_inf", lambda d: _std(d, "--db-range", "-inf", "0"), "db-range"),
    Case("db_range_inf", lambda d: _std(d, "--db-range", "0", "inf"), "db-range"),
    Case("db_range_one_value", lambda d: _std(d, "--db-range", "0"), "db-range"),
    # tiling
    Case("overlap_256", lambda d: _std(d, "--overlap", "256"), "overlap"),
    Case("overlap_negative", lambda d: _std(d, "--overlap", "-1"), "overlap"),
    Case("overlap_not_an_integer", lambda d: _std(d, "--overlap", "abc"), "overlap"),
    Case("batch_size_0", lambda d: _std(d, "--batch-size", "0"), "batch"),
    # creation options
    Case("co_without_equals", lambda d: _std(d, "--co", "NOEQUALS"), "KEY=VALUE"),
    Case("co_empty_key", lambda d: _std(d, "--co", "=5"), "KEY=VALUE"),
    Case("co_compress_bogus", _prior("--co", "COMPRESS=BOGUS"), "COMPRESS", prior=True),
    Case("co_blockxsize_7", lambda d: _std(d, "--co", "BLOCKXSIZE=7"), "BLOCKXSIZE"),
    Case("co_blockxsize_100", _prior("--co", "BLOCKXSIZE=100"), "BLOCKXSIZE", prior=True),
    Case("co_predictor_9", lambda d: _std(d, "--co", "PREDICTOR=9"), "PREDICTOR"),
    Case("co_blockysize_0", lambda d: _std(d, "--co", "TILED=YES", "--co", "BLOCKYSIZE=0"), "BLOCKYSIZE"),
    # command line
    Case("unknown_option", lambda d: _std(d, "--frobnicate"), "--frobnicate"),
    Case("missing_dst", lambda d: ["colorize", str(_scene(d)), "-c", CKPT], "DST"),
    Case("extra_argument", lambda d: [*_std(d), "more.tif"], "extra argument"),
    Case("progress_bogus", lambda d: _std(d, "--progress", "fancy"), "--progress"),
    Case("device_cuda_7", lambda d: _std(d, "--device", "cuda:7"), "cuda:7"),
    Case("device_tpu", lambda d: _std(d, "--device", "tpu"), "tpu"),
    # area of interest
    Case("aoi_missing", lambda d: _std(d, "--aoi", str(d / "nothing.geojson")), "does not exist"),
    Case("aoi_not_json", _aoi_case("this is { not json"), "GeoJSON"),
    Case("aoi_top_level_list", _aoi_case([_polygon(3, 44, 4, 45)]), "GeoJSON"),
    Case("aoi_point_only", _aoi_case({"type": "Point", "coordinates": [3.0, 45.0]}), "polygon"),
    Case("aoi_empty_collection", _aoi_case({"type": "FeatureCollection", "features": []}), "polygon"),
    Case("aoi_bad_coordinates", _aoi_case({"type": "Polygon", "coordinates": "x"}), "geometry"),
    Case("aoi_unknown_crs", _aoi_case({**_polygon(3, 44, 4, 45),
                                       "crs": {"type": "name", "properties": {"name": "EPSG:999999"}}}),
         "CRS"),
    Case("aoi_far_away", lambda d: _std(d, "--overwrite", "--aoi", str(_aoi(d, FAR))), "does not overlap",
         prior=True),
    Case("aoi_without_georeferencing", _aoi_case(_polygon(3, 44, 4, 45), crs=None), "georeferenced"),
    Case("resample_geographic_crs", lambda d: _std(d, "--resample", src=_scene(d, crs="EPSG:4326")),
         "--resample"),
    # the model
    Case("checkpoint_text_file", _prior(ckpt="<text>"), "checkpoint", prior=True),
    Case("checkpoint_missing", lambda d: _std(d, ckpt=d / "nothing.pt"), "does not exist"),
    Case("checkpoint_directory", lambda d: (d / "weights").mkdir() or _std(d, ckpt=d / "weights"),
         "directory"),
    Case("checkpoint_other_torch_file",
         lambda d: _std(d, ckpt=_torch_file(d, "other.pt", {"state_dict": {}})), "not a sargeo checkpoint"),
    Case("checkpoint_other_architecture", lambda d: _std(d, ckpt=_torch_file(d, "resnet.pt", OTHER_ARCH)),
         "architecture"),
    Case("checkpoint_truncated", lambda d: _std(d, ckpt="<half>"), "checkpoint"),
    Case("output_folder_not_writable", lambda d: _std(d, dst=_unwritable(d)), "not writable",
         dst=f"locked/{DST}"),
]
AS_ROOT = pytest.mark.skipif(os.geteuid() == 0, reason="running as root: permissions do not stop writes")
PARAMS = [pytest.param(c, id=c.id, marks=[AS_ROOT] if c.id == "output_folder_not_writable" else [])
          for c in BAD]


def _snapshot(root: Path) -> dict[str, str]:
    """Every file and folder under root: sha256 for files, 'dir' for folders."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        out[rel] = "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def prior_output(tmp_path_factory, tiny_checkpoint) -> bytes:
    """The bytes of a valid earlier result, to put where a failing run must not touch it."""
    from sargeo.scene import colorize

    d = tmp_path_factory.mktemp("prior")
    colorize(_scene(d, width=60, height=50), d / "prior.tif", tiny_checkpoint, device="cpu")
    return (d / "prior.tif").read_bytes()


def _resolve(argv: list[str], d: Path, ckpt: Path) -> list[str]:
    """Put the checkpoint in place: the test model, a text file or the first half of the model."""
    specials = {CKPT: lambda: str(ckpt), "<text>": lambda: str(_text(d, "model.pt", "not a model\n")),
                "<half>": lambda: str(_half_of(ckpt, d, "cut.pt"))}
    return [specials[a]() if a in specials else a for a in argv]


def _invoke(case: Case, argv: list[str]) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `sargeo ARGV`."""
    if case.own_process:
        try:
            res = subprocess.run([*SARGEO, *argv], capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"sargeo {' '.join(argv)} still running after 60 s (hangs)")
        return res.returncode, res.stdout, res.stderr
    result = CliRunner().invoke(cli, argv)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return result.exit_code, result.stdout, f"{result.stderr}<uncaught {result.exception!r}>"
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("case", PARAMS)
def test_bad_input_gives_one_line_and_leaves_nothing(tmp_path_factory, tiny_checkpoint, prior_output, case):
    d = tmp_path_factory.mktemp("run")
    argv = _resolve(case.args(d), d, tiny_checkpoint)
    dst = Path(case.dst) if Path(case.dst).is_absolute() else d / case.dst
    if case.prior:
        dst.write_bytes(prior_output)
    existed = os.path.exists(dst)  # False, not OSError, for a name that is too long
    before, model = _snapshot(d), _sha(tiny_checkpoint)

    code, stdout, stderr = _invoke(case, argv)

    shown = f"exit {code}, stdout {stdout!r}, stderr {stderr!r}"
    assert code in case.codes, shown
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), f"not one 'Error: ' line: {shown}"
    assert stdout == "", shown
    assert case.keyword in lines[0].replace(str(d), "<dir>"), f"{case.keyword!r} missing: {shown}"
    if case.prior:
        assert dst.read_bytes() == prior_output, "the earlier result was changed"
    elif not existed:
        assert not os.path.exists(dst), f"{dst} was created: {shown}"
    if dst.parent.is_dir():
        leftovers = list(dst.parent.glob(f".{dst.name[:200]}*.tmp")) + list(dst.parent.glob(".sargeo-*.tmp"))
        assert not leftovers, f"temporary files left: {leftovers}"
    after = _snapshot(d)
    assert after == before, (f"the folder changed: new {sorted(set(after) - set(before))}, gone "
                             f"{sorted(set(before) - set(after))}, changed "
                             f"{sorted(k for k in set(after) & set(before) if after[k] != before[k])}")
    assert _sha(tiny_checkpoint) == model


def test_the_table_is_large_and_its_ids_unique():
    assert len(BAD) >= 45 and len({c.id for c in BAD}) == len(BAD)


# --- odd but valid: exit 0 and a good output --------------------------------------------------------


def _left_half_aoi(d: Path, src: Path, crs_member: bool) -> Path:
    from rasterio.warp import transform_geom
    from shapely.geometry import box, mapping

    with rasterio.open(src) as ds:
        b = ds.bounds
        half = box(b.left - 50, b.bottom - 50, (b.left + b.right) / 2, b.top + 50)
        geom = transform_geom(ds.crs, "EPSG:4326", mapping(half))
    doc: dict = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
                                                            "geometry": geom}]}
    if crs_member:
        doc["crs"] = None
    return _aoi(d, doc)


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.read()


def _odd_aoi_crs_null(d: Path, run) -> None:
    src = _scene(d, width=200, height=150, border=0, nodata=None)
    out = run(src, "--aoi", str(_left_half_aoi(d, src, crs_member=True)))
    alpha, valid = _read(out)[3], np.isfinite(_read(src)[0])
    np.testing.assert_array_equal(alpha[:, :95] == 255, valid[:, :95])
    assert (alpha[:, 105:] == 0).all() and valid[:, 105:].all()


def _odd_scale_linear_on_db(d: Path, run) -> None:
    run(_scene(d), "--scale", "linear", expect_warning="scale")


def _odd_one_pixel(d: Path, run) -> None:
    out = run(_scene(d, width=1, height=1, border=0, nodata=None))
    assert _read(out)[3].tolist() == [[255]]


def _odd_vv_band_by_default(d: Path, run) -> None:
    values = np.random.default_rng(3).uniform(-22, -3, (120, 110))
    src = _scene(d, width=110, height=120, count=3, descriptions=("VH", "VV", "HH"), values=values, border=0)
    with rasterio.open(src, "r+") as ds:
        ds.write((ds.read(1) - 8).astype("float32"), 1)
        ds.write((ds.read(3) + 3).astype("float32"), 3)
    default = run(src)
    vv, first = run(src, "--band", "VV", dst="vv.tif"), run(src, "--band", "1", dst="b1.tif")
    np.testing.assert_array_equal(_read(default), _read(vv))
    assert not np.array_equal(_read(default)[:3], _read(first)[:3])


def _odd_nodata_nan(d: Path, run) -> None:
    out = run(_scene(d), "--nodata", "nan")
    assert (_read(out)[3, 30:45, 50:70] == 0).all()  # write_scene's NaN hole


def _odd_unicode_and_spaces(d: Path, run) -> None:
    run(_scene(d, name="scène du 1er mai.tif"), dst="sortie finale ö.tif")


def _odd_name_of_250_characters(d: Path, run) -> None:
    run(_scene(d), dst="y" * 246 + ".tif")  # a legal name, although a temporary name beside it is not


def _odd_aoi_on_gcp_input(d: Path, run) -> None:
    src = _scene(d, width=200, height=120, dtype="uint16", nodata=None, gcps=True, border=0)
    aoi = _aoi(d, _polygon(2.99, 44.9, 3.0 + 100e-4, 45.1))  # GCP longitude = 3 + col * 1e-4
    alpha = _read(run(src, "--aoi", str(aoi), expect_warning="amplitude"))[3]
    assert (alpha[:, :95] == 255).all() and (alpha[:, 105:] == 0).all()


ODD = [_odd_aoi_crs_null, _odd_scale_linear_on_db, _odd_one_pixel, _odd_vv_band_by_default, _odd_nodata_nan,
       _odd_unicode_and_spaces, _odd_name_of_250_characters, _odd_aoi_on_gcp_input]


@pytest.mark.parametrize("check", ODD, ids=[f.__name__.removeprefix("_odd_") for f in ODD])
def test_odd_but_valid_inputs_succeed(tmp_path_factory, tiny_checkpoint, check):
    d = tmp_path_factory.mktemp("odd")

    def run(src: Path, *opts: str, dst: str = DST, expect_warning: str | None = None) -> Path:
        before = _sha(src)
        argv = ["colorize", str(src), str(d / dst), "-c", str(tiny_checkpoint), "--progress", "none",
                "--device", "cpu", *opts]
        result = CliRunner().invoke(cli, argv)
        assert result.exit_code == 0, (result.exit_code, result.output, result.exception)
        assert not [p for p in d.glob(".*.tmp")], "temporary file left behind"
        assert _sha(src) == before, "the input was modified"
        with rasterio.open(src) as a, rasterio.open(d / dst) as b:
            assert (b.count, b.dtypes[0], b.shape) == (4, "uint8", a.shape)
        if expect_warning is not None:
            assert any(line.startswith("Warning") and expect_warning in line.lower()
                       for line in result.stderr.splitlines()), result.stderr
        return d / dst

    check(d, run)
