"""`sargeo colorize SRC... DST` (sargeo.batch): many scenes into a folder with one model load,
outputs byte for byte those of single-file runs, failures per scene, and torchrun processes
sharing the list without doing any scene twice."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from synthetic import write_scene

import sargeo.batch
import sargeo.infer
import sargeo.scene
from sargeo.checkpoint import load_checkpoint
from sargeo.cli.main import cli
from sargeo.fused import inference_net
from sargeo.infer import TileRunner
from sargeo.options import ColorizeOptions
from sargeo.scene import SceneJob

NAMES = ("a", "b", "c")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _listing(folder: Path) -> list[str]:
    """Every entry, hidden temporary files included."""
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture(scope="module")
def scenes(tmp_path_factory, tiny_checkpoint) -> tuple[Path, dict[str, str]]:
    """A folder with a.tif, b.tif, c.tif and the sha256 of each one's single-file output."""
    d = tmp_path_factory.mktemp("scenes")
    single = tmp_path_factory.mktemp("single")
    for i, name in enumerate(NAMES):
        src = write_scene(d / f"{name}.tif", width=300, height=260, seed=i)
        result = CliRunner().invoke(cli, ["colorize", str(src), str(single / src.name), "-c",
                                          str(tiny_checkpoint), "--device", "cpu", "-q"])
        assert result.exit_code == 0, result.output
    return d, {f"{n}.tif": _sha(single / f"{n}.tif") for n in NAMES}


def _many(ckpt: Path, *args: str | Path) -> list[str]:
    return ["colorize", *map(str, args), "-c", str(ckpt), "--device", "cpu"]


def test_outputs_are_those_of_single_runs_and_the_model_loads_once(tmp_path, tiny_checkpoint, scenes,
                                                                   monkeypatch):
    """One load, one inference copy of the model and one batch-size measurement (on a GPU it
    waits for all queued work) for all the scenes."""
    d, expected = scenes
    loads, copies, measures = [], [], []
    monkeypatch.setattr(sargeo.scene, "load_checkpoint",
                        lambda path: loads.append(path) or load_checkpoint(path))
    monkeypatch.setattr(sargeo.infer, "inference_net", lambda net: copies.append(net) or inference_net(net))
    measure = TileRunner._measure_batch
    monkeypatch.setattr(TileRunner, "_measure_batch", lambda self: measures.append(self) or measure(self))
    out = tmp_path / "new" / "out"
    result = CliRunner().invoke(cli, _many(tiny_checkpoint, *(d / f"{n}.tif" for n in NAMES), out,
                                           "--progress", "json"))
    assert result.exit_code == 0, result.output
    assert loads == [str(tiny_checkpoint)] and len(copies) == 1 and len(measures) == 1
    assert {name: _sha(out / name) for name in _listing(out)} == expected
    events = [json.loads(line) for line in result.stdout.splitlines()]
    done = [Path(e["scene"]).name for e in events if e["event"] == "done"]
    assert done == list(expected) and all("scene" in e for e in events[:-1])
    assert events[-1] == {"event": "summary", "scenes": 3, "colorized": [str(d / n) for n in expected],
                          "failed": [], "rank": 0, "world": 1}
    assert "colorized 3 of 3 scenes; 0 failed" in result.stderr


def _truncated(d: Path) -> Path:
    full = write_scene(d / "full.tif", width=300, height=260).read_bytes()
    (d / "bad.tif").write_bytes(full[: len(full) * 6 // 10])
    return d / "bad.tif"


def _no_valid_pixel(d: Path) -> Path:
    """Fails after the whole scene went through the engine, i.e. with a temporary file written."""
    return write_scene(d / "bad.tif", width=300, height=260, values=np.full((260, 300), -9999.0))


@pytest.mark.parametrize(("make_bad", "json_progress"), [(_truncated, True), (_no_valid_pixel, False)],
                         ids=["truncated_json", "no_valid_pixel_bars"])
def test_a_bad_scene_is_reported_and_the_others_are_written(tmp_path, tiny_checkpoint, scenes, make_bad,
                                                            json_progress):
    d, expected = scenes
    bad = make_bad(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, _many(tiny_checkpoint, d / "a.tif", bad, d / "c.tif", out,
                                           *(["-q", "--progress", "json"] if json_progress else [])))
    assert result.exit_code == 2, result.output
    assert _listing(out) == ["a.tif", "c.tif"]
    assert _sha(out / "a.tif") == expected["a.tif"] and _sha(out / "c.tif") == expected["c.tif"]
    lines = result.stderr.split("\n")  # not splitlines: a bar's \r must not split a line
    errors = [line for line in lines if "Error:" in line]
    assert len(errors) == 1 and errors[0].startswith(f"Error: {bad}: "), errors
    assert lines[-2:] == ["colorized 2 of 3 scenes; 1 failed", ""]
    if json_progress:
        summary = json.loads(result.stdout.splitlines()[-1])
        assert [f["scene"] for f in summary["failed"]] == [str(bad)] and summary["failed"][0]["error"]
    else:
        assert [line for line in lines if line.startswith("scene ")] == [
            f"scene 1/3: {d / 'a.tif'}", f"scene 2/3: {bad}", f"scene 3/3: {d / 'c.tif'}"]


def test_list_file_with_comments_and_blank_lines(tmp_path, tiny_checkpoint, scenes, monkeypatch):
    d, expected = scenes
    (tmp_path / "scenes.txt").write_text("# archive of June\n\n  a.tif  \n# c.tif is cloudy\nb.tif\n")
    monkeypatch.chdir(d)  # relative entries are taken from the current folder
    result = CliRunner().invoke(cli, _many(tiny_checkpoint, "--list", tmp_path / "scenes.txt",
                                           tmp_path / "out", "-q"))
    assert result.exit_code == 0, result.output
    assert {n: _sha(tmp_path / "out" / n) for n in _listing(tmp_path / "out")} == {
        n: expected[n] for n in ("a.tif", "b.tif")}


def _clash(d: Path, src: Path, out: Path) -> list[str | Path]:
    (d / "other").mkdir()
    write_scene(d / "other" / "A.tiff", width=50, height=50)
    return [src / "a.tif", src / "b.tif", d / "other" / "A.tiff", out]


def _existing_output(d: Path, src: Path, out: Path) -> list[str | Path]:
    out.mkdir()
    (out / "b.tif").write_bytes(b"keep")
    return [src / "a.tif", src / "b.tif", out]


def _output_folder_is_a_file(d: Path, src: Path, out: Path) -> list[str | Path]:
    out.write_bytes(b"keep")
    return [src / "a.tif", src / "b.tif", out]


def _output_is_its_input(d: Path, src: Path, out: Path) -> list[str | Path]:
    return [src / "a.tif", src / "b.tif", src, "--overwrite"]


@pytest.mark.parametrize(("make", "message"), [
    (_clash, "would both be written to"),
    (_existing_output, "b.tif already exists"),
    (_output_folder_is_a_file, "is a file"),
    (_output_is_its_input, "replaced by its own output"),
    (lambda d, src, out: [src / "a.tif", src / "b.tif", d / "x.tif"], "drop the extra arguments"),
    (lambda d, src, out: ["--list", (d / "l.txt").write_text("# none\n") and d / "l.txt", out], "no scenes"),
    (lambda d, src, out: [src / "a.tif", src / "b.tif", out, "--db-range", "0", "-5"], "MIN < MAX"),
])
def test_refused_up_front_in_one_line(tmp_path, tiny_checkpoint, scenes, make, message):
    d, _ = scenes
    args = make(tmp_path, d, tmp_path / "out")
    before = {p: p.stat().st_mtime_ns for p in [*tmp_path.rglob("*"), *d.rglob("*")]}
    result = CliRunner().invoke(cli, _many(tiny_checkpoint, *args))
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], lines
    assert {p: p.stat().st_mtime_ns for p in [*tmp_path.rglob("*"), *d.rglob("*")]} == before


def _torchrun(ckpt: Path, srcs: list[Path], out: Path) -> tuple[subprocess.CompletedProcess, list[dict]]:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "sargeo.cli", *_many(ckpt, *srcs, out, "--progress", "json")]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    return res, [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]


def test_torchrun_processes_share_the_scenes(tmp_path, tiny_checkpoint, scenes):
    """Rank 0 takes a.tif and c.tif, rank 1 b.tif; each scene is done once, as a single run does it."""
    d, expected = scenes
    srcs = [d / f"{n}.tif" for n in NAMES]
    res, events = _torchrun(tiny_checkpoint, srcs, tmp_path / "out")
    assert res.returncode == 0, res.stderr
    done = [Path(e["scene"]).name for e in events if e["event"] == "done"]
    assert sorted(done) == list(expected)
    summaries = sorted((e["rank"], e["world"], e["colorized"]) for e in events if e["event"] == "summary")
    assert summaries == [(0, 2, [str(srcs[0]), str(srcs[2])]), (1, 2, [str(srcs[1])])]
    assert {n: _sha(tmp_path / "out" / n) for n in _listing(tmp_path / "out")} == expected
    assert "[rank 0/2] colorized 2 of 2 scenes; 0 failed" in res.stderr
    assert "[rank 1/2] colorized 1 of 1 scenes; 0 failed" in res.stderr


def test_torchrun_rank_with_a_failure_does_not_stop_the_others(tmp_path, tiny_checkpoint, scenes):
    """Rank 1's only scene fails at once, rank 0 has a big one: torchrun stops every process as soon
    as one exits with an error, so rank 1 must wait for rank 0 before exiting 2."""
    d, expected = scenes
    big = write_scene(tmp_path / "big.tif", width=1500, height=1200)
    srcs = [big, (tmp_path / "bad.tif").write_text("not a raster\n") and tmp_path / "bad.tif", d / "c.tif"]
    res, events = _torchrun(tiny_checkpoint, srcs, tmp_path / "out")
    assert res.returncode != 0
    assert _listing(tmp_path / "out") == ["big.tif", "c.tif"]
    assert _sha(tmp_path / "out" / "c.tif") == expected["c.tif"]
    assert "[rank 0/2] colorized 2 of 2 scenes; 0 failed" in res.stderr, res.stderr
    assert "[rank 1/2] colorized 0 of 1 scenes; 1 failed" in res.stderr
    errors = [line for line in res.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and errors[0].startswith(f"Error: {srcs[1]}: cannot open"), errors
    summary = next(e for e in events if e["event"] == "summary" and e["rank"] == 1)
    assert [f["scene"] for f in summary["failed"]] == [str(srcs[1])]


def _three(d: Path) -> list[Path]:
    return [d / f"{n}.tif" for n in NAMES]


def test_next_scene_runs_while_the_last_file_is_being_finished(tmp_path, tiny_checkpoint, scenes,
                                                               monkeypatch):
    """Scene a's file is completed (verified, published) only after scene b has started: the
    model does not wait for the disk between scenes. Outputs stay those of single runs."""
    d, expected = scenes
    started: dict[str, threading.Event] = {n: threading.Event() for n in NAMES}
    seen_while_finishing = []
    real_begin, real_finish = sargeo.batch.begin_colorize, SceneJob.finish

    def begin(src, *args, **kwargs):
        started[Path(src).stem].set()
        return real_begin(src, *args, **kwargs)

    def finish(job):
        later = NAMES[NAMES.index(Path(job.src).stem) + 1:]
        if later:  # wait (bounded) for the next scene to start; a sequential engine never lets it
            seen_while_finishing.append(started[later[0]].wait(20))
        return real_finish(job)

    monkeypatch.setattr(sargeo.batch, "begin_colorize", begin)
    monkeypatch.setattr(SceneJob, "finish", finish)
    outcomes = sargeo.batch.colorize_many(_three(d), tmp_path / "out", tiny_checkpoint,
                                          ColorizeOptions(device="cpu"))
    assert seen_while_finishing == [True, True]
    assert [o.ok for o in outcomes] == [True] * 3 and [o.src for o in outcomes] == list(map(str, _three(d)))
    assert {name: _sha(tmp_path / "out" / name) for name in _listing(tmp_path / "out")} == expected


def test_a_file_failing_while_the_next_scene_runs_is_reported_in_order(tmp_path, tiny_checkpoint, scenes,
                                                                      monkeypatch):
    d, expected = scenes
    real_verify = sargeo.scene.verify_output

    def verify(path, dst, *args, **kwargs):
        if dst.name == "a.tif":
            raise OSError(f"could not write {dst} completely (simulated); is the disk full?")
        return real_verify(path, dst, *args, **kwargs)

    monkeypatch.setattr(sargeo.scene, "verify_output", verify)
    heard = []
    outcomes = sargeo.batch.colorize_many(_three(d), tmp_path, tiny_checkpoint, ColorizeOptions(device="cpu"),
                                          on_outcome=heard.append)
    assert heard == outcomes and [Path(o.src).name for o in outcomes] == ["a.tif", "b.tif", "c.tif"]
    assert [o.ok for o in outcomes] == [False, True, True] and "simulated" in outcomes[0].error
    assert _listing(tmp_path) == ["b.tif", "c.tif"]  # no temporary file of a.tif left
    assert all(_sha(tmp_path / n) == expected[n] for n in ("b.tif", "c.tif"))


def test_interrupt_during_the_next_scene_leaves_no_file_of_the_last(tmp_path, tiny_checkpoint, scenes,
                                                                    monkeypatch):
    """Ctrl-C while scene b runs and scene a's file is being finished: a is not published half
    checked, and no temporary file of either stays."""
    d, _ = scenes
    real_begin, real_finish = sargeo.batch.begin_colorize, SceneJob.finish
    interrupted = threading.Event()

    def begin(src, *args, **kwargs):
        if Path(src).stem == "b":
            interrupted.set()
            raise KeyboardInterrupt
        return real_begin(src, *args, **kwargs)

    def finish(job):
        interrupted.wait(20)  # a is still being finished when the interrupt comes
        return real_finish(job)

    monkeypatch.setattr(sargeo.batch, "begin_colorize", begin)
    monkeypatch.setattr(SceneJob, "finish", finish)
    with pytest.raises(KeyboardInterrupt):
        sargeo.batch.colorize_many(_three(d), tmp_path, tiny_checkpoint, ColorizeOptions(device="cpu"))
    assert _listing(tmp_path) == []
