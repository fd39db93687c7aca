"""Train / val / test split by scene.

Neighbouring SEN1-2 patches of one scene overlap by half, so a patch-level split would leak
test pixels into training. Whole scenes go to one part only.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sargeo.data.pairs import Pair

PARTS = ("train", "val", "test")


@dataclass(frozen=True)
class Split:
    """Scene ids per part; recorded in checkpoints so evaluation uses the same test scenes."""

    train: tuple[str, ...]
    val: tuple[str, ...]
    test: tuple[str, ...]
    seed: int

    def __post_init__(self) -> None:
        shared = (set(self.train) & set(self.val)) | (set(self.train) & set(self.test)) \
            | (set(self.val) & set(self.test))
        if shared:
            raise ValueError(f"scenes in more than one part of the split: {sorted(shared)}")

    def scenes(self, name: str) -> tuple[str, ...]:
        """The scene ids of part ``name``."""
        if name not in PARTS:
            raise ValueError(f"unknown split part {name!r}, expected one of {PARTS}")
        return getattr(self, name)

    def part(self, pairs: Iterable[Pair], name: str) -> list[Pair]:
        """The pairs whose scene belongs to part ``name``, in their given order."""
        scenes = set(self.scenes(name))
        return [p for p in pairs if p.scene in scenes]

    def to_dict(self) -> dict:
        return {"train": list(self.train), "val": list(self.val), "test": list(self.test),
                "seed": self.seed}

    @classmethod
    def from_dict(cls, d: dict) -> Split:
        return cls(tuple(d["train"]), tuple(d["val"]), tuple(d["test"]), int(d["seed"]))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Split:
        return cls.from_dict(json.loads(Path(path).read_text()))


def split_by_scene(
    pairs: Sequence[Pair],
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 0,
) -> Split:
    """Seeded scene split; val and test get at least one scene and roughly their share of pairs.

    Scenes are shuffled, the first three seed test, val and train, and each further scene
    goes to whichever of test / val it brings closer to its target pair count, else to train.
    """
    if val_fraction < 0 or test_fraction < 0 or val_fraction + test_fraction >= 1:
        raise ValueError(f"need val_fraction, test_fraction >= 0 with a sum below 1, "
                         f"got {val_fraction} and {test_fraction}")
    counts = Counter(p.scene for p in pairs)
    if len(counts) < 3:
        raise ValueError(f"a scene split needs at least 3 scenes (train, val and test get whole "
                         f"scenes), found {len(counts)}: {sorted(counts)}")
    scenes = sorted(counts)
    random.Random(seed).shuffle(scenes)
    total = sum(counts.values())
    target = {"test": test_fraction * total, "val": val_fraction * total}
    parts: dict[str, list[str]] = {"test": [scenes[0]], "val": [scenes[1]], "train": [scenes[2]]}
    filled = {"test": counts[scenes[0]], "val": counts[scenes[1]]}
    for scene in scenes[3:]:
        n = counts[scene]
        name = next((k for k in ("test", "val")
                     if abs(filled[k] + n - target[k]) < abs(filled[k] - target[k])), "train")
        parts[name].append(scene)
        if name != "train":
            filled[name] += n
    return Split(tuple(sorted(parts["train"])), tuple(sorted(parts["val"])),
                 tuple(sorted(parts["test"])), seed)
