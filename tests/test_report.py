"""Report writers: CSV/JSON round trips, summary statistics against numpy, figure files."""

import csv
import json
import math

import numpy as np
import pytest
from PIL import Image

from sargeo import report

METHODS, TERRAINS = ("pix2pix", "mean colour"), ("urban", "forest")


@pytest.fixture
def rows():
    rng = np.random.default_rng(0)
    out = []
    for method in METHODS:
        for i in range(7):
            out.append(
                {
                    "method": method,
                    "image": f"img_{i}.png",
                    "scene": f"ROI_{i % 3}",
                    "terrain": TERRAINS[i % 2],
                    "psnr": float(rng.normal(20, 2)),
                    "ssim": float(rng.random()),
                    "lpips": float(rng.random()),
                }
            )
    return out


def read_png(path):
    with Image.open(path) as img:
        assert img.format == "PNG"
        return np.asarray(img.convert("RGB"))


def test_csv_round_trip(rows, tmp_path):
    rows[0] = {k: v for k, v in rows[0].items() if k != "lpips"}  # a row without LPIPS
    path = tmp_path / "rows.csv"
    report.write_rows_csv(rows, path)
    with open(path, newline="") as f:
        back = list(csv.DictReader(f))
    assert list(back[0]) == ["method", "image", "scene", "terrain", "psnr", "ssim", "lpips"]
    assert back[0]["lpips"] == ""
    for row, got in zip(rows, back, strict=True):
        for key, value in row.items():
            assert (float(got[key]) if isinstance(value, float) else got[key]) == value


def test_summarize_matches_numpy(rows):
    summary = report.summarize(rows)
    assert list(summary) == list(METHODS)
    for method in METHODS:
        for metric in ("psnr", "ssim", "lpips"):
            values = [r[metric] for r in rows if r["method"] == method]
            stats = summary[method]["overall"][metric]
            assert stats["mean"] == pytest.approx(np.mean(values))
            assert stats["std"] == pytest.approx(np.std(values))
            assert stats["n"] == len(values)
            for terrain in TERRAINS:
                sub = [r[metric] for r in rows if r["method"] == method and r["terrain"] == terrain]
                stats = summary[method]["by_terrain"][terrain][metric]
                assert stats["mean"] == pytest.approx(np.mean(sub))
                assert stats["std"] == pytest.approx(np.std(sub))
                assert stats["n"] == len(sub)


def test_summarize_skips_nan_and_missing_values(rows):
    for r in rows:
        if r["method"] == "mean colour":
            del r["lpips"]
    rows[0]["psnr"] = math.nan
    summary = report.summarize(rows)
    assert "lpips" not in summary["mean colour"]["overall"]
    psnr = [r["psnr"] for r in rows[1:] if r["method"] == "pix2pix"]
    assert summary["pix2pix"]["overall"]["psnr"]["n"] == len(psnr)
    assert summary["pix2pix"]["overall"]["psnr"]["mean"] == pytest.approx(np.mean(psnr))


def test_summary_json_is_strict_and_round_trips(rows, tmp_path):
    rows[0]["psnr"] = math.inf  # identical images
    summary = report.summarize(rows)
    path = tmp_path / "summary.json"
    report.write_summary_json(summary, path)

    def refuse(name):
        raise AssertionError(f"non-standard JSON constant {name}")

    back = json.loads(path.read_text(), parse_constant=refuse)
    assert back["pix2pix"]["overall"]["psnr"]["mean"] is None
    assert back["mean colour"]["overall"] == summary["mean colour"]["overall"]


def test_format_table_lists_methods_metrics_and_terrains(rows):
    table = report.format_table(report.summarize(rows))
    lines = table.splitlines()
    for method in METHODS:
        assert sum(line.startswith(method) for line in lines) == 1 + len(TERRAINS)
    assert "PSNR (dB) ↑" in table and "SSIM ↑" in table and "LPIPS ↓" in table
    for terrain in TERRAINS:
        assert f"terrain: {terrain}" in table
    mean = np.mean([r["psnr"] for r in rows if r["method"] == "pix2pix"])
    assert f"{mean:.3f} ± " in table


def test_format_table_subset_of_metrics(rows):
    table = report.format_table(report.summarize(rows), metrics=["ssim"])
    assert "SSIM" in table and "PSNR" not in table and "LPIPS" not in table


def test_comparison_figure_png_shape_and_content(tmp_path):
    columns = ["SAR", "optical", "model A", "mean colour"]
    samples = [
        {
            "title": f"scene {i}",
            "images": {
                "SAR": np.full((16, 16), 0.5),
                "optical": np.broadcast_to([1.0, 0.0, 0.0], (16, 16, 3)),
                "model A": np.broadcast_to([0.0, 0.0, 1.0], (16, 16, 3)),
            },
        }
        for i in range(3)
    ]
    path = tmp_path / "fig2.png"
    report.comparison_figure(samples, path, columns)
    px = read_png(path)
    assert px.shape[1] / px.shape[0] == pytest.approx(len(columns) / len(samples))
    red = np.all(px == [255, 0, 0], axis=-1).sum()
    blue = np.all(px == [0, 0, 255], axis=-1).sum()
    assert red > 0.02 * px.shape[0] * px.shape[1]
    assert red == pytest.approx(blue, rel=0.1)


def test_sample_grid_figure_png_shape(tmp_path):
    rng = np.random.default_rng(0)
    n = 4
    path = tmp_path / "epoch_001.png"
    report.sample_grid_figure(
        rng.random((n, 16, 16)), rng.random((n, 16, 16, 3)), rng.random((n, 16, 16, 3)), path
    )
    px = read_png(path)
    assert px.shape[1] / px.shape[0] == pytest.approx(3 / n)


def test_sample_grid_figure_rejects_mismatched_counts(tmp_path):
    with pytest.raises(ValueError):
        report.sample_grid_figure(
            np.zeros((2, 8, 8)), np.zeros((3, 8, 8, 3)), np.zeros((2, 8, 8, 3)), tmp_path / "x.png"
        )


def test_loss_curve_figure_with_missing_and_nan_validation(tmp_path):
    epochs = [
        {
            "epoch": e,
            "g_total": 5.0 / e,
            "g_adv": 1.0,
            "g_l1": 2.0 / e,
            "g_grad": 0.5,
            "d_loss": 0.7,
            "val_psnr": 15.0 + e if e % 2 else math.nan,
        }
        for e in range(1, 11)
    ]
    for e in epochs[:5]:
        e["val_ssim"] = 0.3 + 0.01 * e["epoch"]
    path = tmp_path / "losses.png"
    report.loss_curve_figure(epochs, path)
    px = read_png(path)
    assert px.shape[1] > px.shape[0]
    assert len(np.unique(px.reshape(-1, 3), axis=0)) > 10  # something was drawn
