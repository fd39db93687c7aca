from __future__ import annotations

from pathlib import Path

import pytest

from sargeo.data import Pair, Split, discover_pairs, split_by_scene


def _pairs(sizes: dict[str, int]) -> list[Pair]:
    """Fake pairs: sizes[scene] patches per scene (files need not exist to split)."""
    return [Pair(Path(f"s1/{scene}_p{i}.png"), Path(f"s2/{scene}_p{i}.png"), scene, "agri", "png")
            for scene, n in sizes.items() for i in range(n)]


def _scenes_in(split: Split) -> list[str]:
    return [*split.train, *split.val, *split.test]


def test_scenes_never_cross_parts_and_all_parts_get_one():
    pairs = _pairs({f"ROIs1970_fall_{i}": 3 + i for i in range(10)})
    for seed in range(20):
        split = split_by_scene(pairs, seed=seed)
        scenes = _scenes_in(split)
        assert len(scenes) == len(set(scenes)) == 10
        assert split.train and split.val and split.test
        parts = [split.part(pairs, name) for name in ("train", "val", "test")]
        assert sum(len(p) for p in parts) == len(pairs)
        assert not ({p.scene for p in parts[0]} & {p.scene for p in parts[2]})


def test_split_is_deterministic_per_seed():
    pairs = _pairs({f"ROIs1970_fall_{i}": 5 for i in range(12)})
    assert split_by_scene(pairs, seed=3) == split_by_scene(list(reversed(pairs)), seed=3)
    assert len({split_by_scene(pairs, seed=s) for s in range(5)}) > 1


def test_fractions_are_met_by_pair_count():
    pairs = _pairs({f"ROIs1970_fall_{i}": 10 for i in range(40)})
    split = split_by_scene(pairs, val_fraction=0.2, test_fraction=0.1, seed=0)
    assert (len(split.train), len(split.val), len(split.test)) == (28, 8, 4)


def test_one_big_scene_does_not_starve_test():
    pairs = _pairs({"big": 100, "a": 1, "b": 1, **{f"s{i}": 10 for i in range(8)}})
    for seed in range(10):
        split = split_by_scene(pairs, seed=seed)
        assert len(split.part(pairs, "test")) >= 10


def test_too_few_scenes_or_bad_fractions_raise():
    with pytest.raises(ValueError, match="at least 3 scenes"):
        split_by_scene(_pairs({"a": 50, "b": 50}))
    with pytest.raises(ValueError, match="fraction"):
        split_by_scene(_pairs({"a": 1, "b": 1, "c": 1}), val_fraction=0.5, test_fraction=0.5)


def test_round_trip_through_dict_and_json(tmp_path):
    split = split_by_scene(_pairs({f"ROIs1158_spring_{i}": 2 for i in range(6)}), seed=7)
    assert Split.from_dict(split.to_dict()) == split
    split.save(tmp_path / "split.json")
    loaded = Split.load(tmp_path / "split.json")
    assert loaded == split and loaded.seed == 7 and isinstance(loaded.test, tuple)


def test_part_selects_by_scene_and_rejects_unknown_names():
    pairs = _pairs({"a": 2, "b": 1, "c": 1, "unused": 4})
    split = Split(train=("a",), val=("b",), test=("c",), seed=0)
    assert [p.name for p in split.part(pairs, "train")] == ["a_p0", "a_p1"]
    assert [p.scene for p in split.part(pairs, "test")] == ["c"]
    with pytest.raises(ValueError, match="unknown split part"):
        split.part(pairs, "holdout")
    with pytest.raises(ValueError, match="more than one part"):
        Split(train=("a", "b"), val=("b",), test=("c",), seed=0)


def test_real_data_split(shared_data, tmp_path):
    pairs = discover_pairs(shared_data / "sen12_pairs").pairs
    split = split_by_scene(pairs, seed=0)
    scenes = _scenes_in(split)
    assert len(scenes) == len(set(scenes)) == 9
    assert len(split.part(pairs, "test")) >= 10 and len(split.part(pairs, "val")) >= 10
    split.save(tmp_path / "split.json")
    assert Split.load(tmp_path / "split.json") == split == split_by_scene(pairs, seed=0)


def test_scenes_the_starting_checkpoint_learnt_go_to_train_and_are_recorded():
    pairs = _pairs({f"ROIs1970_fall_{i}": 4 for i in range(8)})
    learnt = {"ROIs1970_fall_1", "ROIs1970_fall_5", "ROIs0000_elsewhere_9"}  # the last is not in the data
    for seed in range(10):
        split = split_by_scene(pairs, seed=seed, seen=learnt)
        assert {"ROIs1970_fall_1", "ROIs1970_fall_5"} <= set(split.train)
        assert not learnt & (set(split.val) | set(split.test)) and split.val and split.test
        assert set(split.seen) == learnt and split.before("val") >= learnt
        assert Split.from_dict(split.to_dict()) == split
    # without a start, splits stay what they were (recorded runs resume and reproduce)
    assert split_by_scene(pairs, seed=4, seen=()) == split_by_scene(pairs, seed=4)
    assert "seen" not in split_by_scene(pairs, seed=4).to_dict()


def test_a_split_cannot_validate_or_test_on_scenes_the_start_learnt():
    with pytest.raises(ValueError, match=r"learnt from 1 of the split's val/test scenes \(c\)"):
        Split(("a",), ("b",), ("c",), 0).with_seen(["c", "x"])
    with pytest.raises(ValueError, match="val and test cannot get an unseen scene each"):
        split_by_scene(_pairs({"a": 2, "b": 2, "c": 2}), seen=["a", "b"])
    split = Split(("a",), ("b",), ("c",), 0, ("x",))
    assert split.before("train") == {"x"} and split.before("val") == {"a", "x"}
    assert split.before("test") == {"a", "b", "x"}
