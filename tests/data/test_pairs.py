from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from sargeo.data import Pair, discover_pairs

RGB = np.zeros((8, 8, 3), np.uint8)


def _kaggle(fake, root: Path, terrain: str, scene: int, patches: range) -> None:
    for p in patches:
        fake.png_pair(root / "v_2" / terrain / "s1" / f"ROIs1970_fall_s1_{scene}_p{p}.png",
                      root / "v_2" / terrain / "s2" / f"ROIs1970_fall_s2_{scene}_p{p}.png", seed=p)


def test_kaggle_layout_takes_terrain_from_folder(fake, tmp_path):
    _kaggle(fake, tmp_path, "urban", 8, range(1, 3))
    _kaggle(fake, tmp_path, "agri", 26, range(5, 6))
    found = discover_pairs(tmp_path)
    assert [(p.name, p.scene, p.terrain, p.fmt) for p in found.pairs] == [
        ("ROIs1970_fall_26_p5", "ROIs1970_fall_26", "agri", "png"),
        ("ROIs1970_fall_8_p1", "ROIs1970_fall_8", "urban", "png"),
        ("ROIs1970_fall_8_p2", "ROIs1970_fall_8", "urban", "png"),
    ]
    pair = found.pairs[1]
    assert pair.sar.parent.name == "s1" and pair.optical.name == "ROIs1970_fall_s2_8_p1.png"
    assert found.skipped == ()


def test_original_sen12_layout_pairs_scene_folders(fake, tmp_path):
    season = tmp_path / "ROIs1868_summer"
    for p in (1, 2):
        fake.png_pair(season / "s1_59" / f"ROIs1868_summer_s1_59_p{p}.png",
                      season / "s2_59" / f"ROIs1868_summer_s2_59_p{p}.png")
    # a partner name in another scene's folder is not a partner
    lone_s1 = season / "s1_59" / "ROIs1868_summer_s1_59_p3.png"
    misplaced = season / "s2_60" / "ROIs1868_summer_s2_59_p3.png"
    fake.png_pair(lone_s1, misplaced)
    found = discover_pairs(tmp_path)
    assert [p.name for p in found.pairs] == ["ROIs1868_summer_59_p1", "ROIs1868_summer_59_p2"]
    assert all(p.optical.parent.name == "s2_59" and p.terrain == "unknown" for p in found.pairs)
    assert sorted(line.split(": ")[0] for line in found.skipped) == sorted(
        [str(lone_s1), str(misplaced)])


def test_plain_folders_report_unpaired_files(fake, tmp_path):
    fake.png_pair(tmp_path / "s1" / "ROIs1158_spring_s1_90_p33.png",
                  tmp_path / "s2" / "ROIs1158_spring_s2_90_p33.png")
    # partners exist, but in the wrong folder: unpaired/s1 pairs only with unpaired/s2
    lone_s1 = tmp_path / "unpaired" / "s1" / "ROIs1158_spring_s1_90_p34.png"
    lone_s2 = tmp_path / "unpaired" / "s2" / "ROIs1158_spring_s2_90_p33.png"
    fake.png_pair(lone_s1, lone_s2)
    found = discover_pairs(tmp_path)
    assert [p.name for p in found.pairs] == ["ROIs1158_spring_90_p33"]
    assert found.pairs[0].sar == tmp_path / "s1" / "ROIs1158_spring_s1_90_p33.png"
    assert sorted(found.skipped) == sorted([
        f"{lone_s1}: unpaired S1, no S2 partner found",
        f"{lone_s2}: unpaired S2, no S1 partner found",
    ])


def test_sen12ms_official_names_pair_across_season_folders(fake, tmp_path):
    s1 = fake.s1_tif(tmp_path / "ROIs1970_fall_s1" / "s1_139" / "ROIs1970_fall_s1_139_p839.tif")
    s2 = fake.s2_tif(tmp_path / "ROIs1970_fall_s2" / "s2_139" / "ROIs1970_fall_s2_139_p839.tif")
    # SEN12MS-CR cloudy inputs are not targets and are not pairs either
    fake.s2_tif(tmp_path / "ROIs1970_fall_s2_cloudy" / "s2_cloudy_139"
                / "ROIs1970_fall_s2_cloudy_139_p839.tif")
    found = discover_pairs(tmp_path)
    assert found.pairs == (Pair(s1, s2, "ROIs1970_fall_139", "unknown", "sen12ms"),)
    assert found.pairs[0].name == "ROIs1970_fall_139_p839"
    assert found.skipped == ()


def test_sen12ms_cr_same_name_variant_prefers_cloudfree(fake, tmp_path):
    s1 = fake.s1_tif(tmp_path / "s1" / "ROIs1158_spring_101_30.tif")
    free = fake.s2_tif(tmp_path / "s2_cloudFree" / "ROIs1158_spring_101_30.tif")
    other = fake.s2_tif(tmp_path / "s2" / "ROIs1158_spring_101_30.tif")
    fake.s2_tif(tmp_path / "s2_cloudy" / "ROIs1158_spring_101_30.tif")
    s1b = fake.s1_tif(tmp_path / "s1" / "ROIs1970_fall_139_p839.tif")
    s2b = fake.s2_tif(tmp_path / "s2" / "ROIs1970_fall_139_p839.tif")
    found = discover_pairs(tmp_path)
    assert found.pairs == (
        Pair(s1, free, "ROIs1158_spring_101", "unknown", "sen12ms"),
        Pair(s1b, s2b, "ROIs1970_fall_139", "unknown", "sen12ms"),
    )
    assert [p.name for p in found.pairs] == ["ROIs1158_spring_101_p30", "ROIs1970_fall_139_p839"]
    assert found.skipped == (f"{other}: duplicate of {free}",)


def test_bigearthnet_pairs_follow_metadata(fake, tmp_path):
    s1, s2 = fake.ben_pair(tmp_path, "S1A_IW_GRDH_1SDV_20170617T064724_29UPU_36_85",
                           "S2A_MSIL2A_20170617T113321_36_85")
    # decoy S2 folder with the S1 patch's row/col: only the metadata decides
    _, decoy = fake.ben_pair(tmp_path / "other", "S1B_X_29UPU_1_1", "S2A_MSIL2A_20170617T113321_1_1")
    (tmp_path / "other" / "S1" / "S1B_X_29UPU_1_1" / "S1B_X_29UPU_1_1_labels_metadata.json") \
        .write_text('{"corresponding_s2_patch": "S2A_MISSING_9_9"}')
    found = discover_pairs(tmp_path)
    assert found.pairs == (
        Pair(s1, s2, "S1A_IW_GRDH_1SDV_20170617T064724_29UPU", "unknown", "bigearthnet"),)
    assert found.pairs[0].name == "S1A_IW_GRDH_1SDV_20170617T064724_29UPU_36_85"
    assert any("S2A_MISSING_9_9 not found" in line for line in found.skipped)
    assert f"{decoy}: unpaired S2, no S1 patch names it" in found.skipped


def test_terrain_from_pairs_csv_in_parent(fake, tmp_path):
    data = tmp_path / "pairs_root"
    names = {"p1": "urban (scene-inferred)", "p2": "", "p3": "agri"}
    for p in names:
        fake.png_pair(data / "s1" / f"ROIs1970_fall_s1_2_{p}.png",
                      data / "s2" / f"ROIs1970_fall_s2_2_{p}.png")
    rows = "".join(f"pairs_root/s1/ROIs1970_fall_s1_2_{p}.png,{t}\n" for p, t in names.items())
    (tmp_path / "pairs.csv").write_text("s1,terrain\n" + rows)
    found = discover_pairs(data)
    assert {p.name: p.terrain for p in found.pairs} == {
        "ROIs1970_fall_2_p1": "urban", "ROIs1970_fall_2_p2": "unknown", "ROIs1970_fall_2_p3": "agri"}
    assert [p.name for p in discover_pairs(data, terrains=["urban", "agri"]).pairs] == [
        "ROIs1970_fall_2_p1", "ROIs1970_fall_2_p3"]


def test_cap_per_terrain_is_seeded(fake, tmp_path):
    _kaggle(fake, tmp_path, "agri", 26, range(12))
    _kaggle(fake, tmp_path, "urban", 8, range(8))
    _kaggle(fake, tmp_path, "grassland", 9, range(3))
    picks = [discover_pairs(tmp_path, max_per_terrain=5, seed=s).pairs for s in range(4)]
    assert all(Counter(p.terrain for p in ps) == {"agri": 5, "urban": 5, "grassland": 3}
               for ps in picks)
    assert discover_pairs(tmp_path, max_per_terrain=5, seed=0).pairs == picks[0]
    assert len({ps for ps in picks}) > 1
    # the cap of one terrain does not depend on which other terrains are kept
    only_urban = discover_pairs(tmp_path, terrains=["urban"], max_per_terrain=5, seed=0).pairs
    assert only_urban == tuple(p for p in picks[0] if p.terrain == "urban")
    with pytest.raises(ValueError, match="max_per_terrain"):
        discover_pairs(tmp_path, max_per_terrain=0)


def test_unreadable_files_are_skipped_with_message(fake, tmp_path):
    fake.png_pair(tmp_path / "s1" / "ROIs1970_fall_s1_2_p1.png",
                  tmp_path / "s2" / "ROIs1970_fall_s2_2_p1.png")
    garbage = tmp_path / "s1" / "ROIs1970_fall_s1_2_p2.png"
    garbage.write_bytes(b"not a png at all" * 8)
    fake.png(tmp_path / "s2" / "ROIs1970_fall_s2_2_p2.png", RGB)
    fake.png_pair(tmp_path / "s1" / "ROIs1970_fall_s1_2_p3.png",
                  tmp_path / "s2" / "ROIs1970_fall_s2_2_p3.png", size=64)
    truncated = tmp_path / "s2" / "ROIs1970_fall_s2_2_p3.png"
    truncated.write_bytes(truncated.read_bytes()[:-200])
    bad_tif = tmp_path / "tif" / "s1" / "ROIs1158_spring_101_30.tif"
    bad_tif.parent.mkdir(parents=True)
    bad_tif.write_bytes(b"II*\x00garbage")
    fake.s2_tif(tmp_path / "tif" / "s2" / "ROIs1158_spring_101_30.tif")
    found = discover_pairs(tmp_path)
    assert [p.name for p in found.pairs] == ["ROIs1970_fall_2_p1"]
    assert len(found.skipped) == 3
    for path in (garbage, truncated, bad_tif):
        assert any(line.startswith(f"{path}: unreadable") for line in found.skipped), path


def test_cap_replaces_unreadable_pairs(fake, tmp_path):
    _kaggle(fake, tmp_path, "agri", 26, range(6))
    (tmp_path / "v_2" / "agri" / "s1" / "ROIs1970_fall_s1_26_p0.png").write_bytes(b"junk")
    found = discover_pairs(tmp_path, max_per_terrain=5)
    assert len(found.pairs) == 5 and "ROIs1970_fall_26_p0" not in {p.name for p in found.pairs}


def test_copies_count_once_and_odd_names_are_reported(fake, tmp_path):
    _kaggle(fake, tmp_path / "a", "urban", 8, range(1, 2))
    _kaggle(fake, tmp_path / "b", "urban", 8, range(1, 2))
    odd = fake.png(tmp_path / "s1" / "holiday.png", RGB)
    found = discover_pairs(tmp_path)
    assert [p.sar.parts[len(tmp_path.parts)] for p in found.pairs] == ["a"]
    assert found.skipped == (
        f"{odd}: not a SEN1-2 / SEN12MS file name",
        f"{tmp_path / 'b/v_2/urban/s1/ROIs1970_fall_s1_8_p1.png'}: duplicate of "
        f"{tmp_path / 'a/v_2/urban/s1/ROIs1970_fall_s1_8_p1.png'} (ROIs1970_fall_8_p1)",
    )


def test_missing_root_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        discover_pairs(tmp_path / "nope")


def test_real_sen12_pairs(shared_data):
    found = discover_pairs(shared_data / "sen12_pairs")
    assert len(found.pairs) == 154
    assert len({p.scene for p in found.pairs}) == 9
    assert len({p.name for p in found.pairs}) == 154
    unpaired = sorted((shared_data / "sen12_pairs" / "unpaired").rglob("*.png"))
    assert len(unpaired) == 38
    assert sorted(line.split(": ")[0] for line in found.skipped) == [str(p) for p in unpaired]
    assert all("unpaired" not in str(p.sar) + str(p.optical) for p in found.pairs)
    terrains = Counter(p.terrain for p in found.pairs)
    assert terrains["unknown"] == 57 and set(terrains) == {
        "unknown", "agri", "barrenland", "grassland", "urban"}
    assert found == discover_pairs(shared_data / "sen12_pairs")


def test_real_tif_pairs(shared_data):
    found = discover_pairs(shared_data / "s1s2_tif_pairs")
    assert Counter(p.fmt for p in found.pairs) == {"sen12ms": 4, "bigearthnet": 3}
    assert found.skipped == ()
    assert {p.scene for p in found.pairs} == {
        "ROIs1158_spring_101", "ROIs1970_fall_139",
        "S1A_IW_GRDH_1SDV_20170617T064724_29UPU", "S1A_IW_GRDH_1SDV_20171221T064238_29SND"}
    ben = {p.sar.name: p.optical.name for p in found.pairs if p.fmt == "bigearthnet"}
    assert ben["S1A_IW_GRDH_1SDV_20170617T064724_29UPU_4_55"] == "S2A_MSIL2A_20170617T113321_4_55"
