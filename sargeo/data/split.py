"""Train / val / test split by scene.

Neighbouring SEN1-2 patches of one scene overlap by half, so a patch-level split would leak
test pixels into training. Whole scenes go to one part only. A model fine-tuned from another
has also learnt from the scenes that one was trained and selected on: the split records them
as ``seen`` and keeps them out of val and test, so leak checks see them too.
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
    """Scene ids per part; recorded in checkpoints so evaluation uses the same test scenes.

    ``seen``: scenes the model's starting checkpoint learnt from (trained or selected on).
    """

    train: tuple[str, ...]
    val: tuple[str, ...]
    test: tuple[str, ...]
    seed: int
    seen: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        shared = (set(self.train) & set(self.val)) | (set(self.train) & set(self.test)) \
            | (set(self.val) & set(self.test))
        if shared:
            raise ValueError(f"scenes in more than one part of the split: {sorted(shared)}")
        leaked = set(self.seen) & (set(self.val) | set(self.test))
        if leaked:
            raise ValueError(f"the starting checkpoint learnt from {len(leaked)} of the split's val/test "
                             f"scenes ({listed(leaked)}): put them in the training part")

    def before(self, name: str) -> set[str]:
        """Scenes a model of this split has learnt from before being scored on part ``name``:
        train and seen, and val (used to select the model) for test."""
        self.scenes(name)  # a known part
        return set(self.seen).union(*(self.scenes(p) for p in PARTS[:PARTS.index(name)]))

    def with_seen(self, seen: Iterable[str]) -> Split:
        """This split for a model that starts from a checkpoint which learnt from ``seen``."""
        return Split(self.train, self.val, self.test, self.seed, tuple(sorted(set(self.seen) | set(seen))))

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
        d = {"train": list(self.train), "val": list(self.val), "test": list(self.test), "seed": self.seed}
        return {**d, "seen": list(self.seen)} if self.seen else d

    @classmethod
    def from_dict(cls, d: dict) -> Split:
        return cls(tuple(d["train"]), tuple(d["val"]), tuple(d["test"]), int(d["seed"]),
                   tuple(d.get("seen", ())))

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
    seen: Iterable[str] = (),
) -> Split:
    """Seeded scene split; val and test get at least one scene and roughly their share of pairs.

    Scenes are shuffled, the first three seed test, val and train, and each further scene
    goes to whichever of test / val it brings closer to its target pair count, else to train.
    Scenes in ``seen`` (learnt by the starting checkpoint) go to train; they are recorded.
    """
    if val_fraction < 0 or test_fraction < 0 or val_fraction + test_fraction >= 1:
        raise ValueError(f"need val_fraction, test_fraction >= 0 with a sum below 1, "
                         f"got {val_fraction} and {test_fraction}")
    seen = tuple(sorted(set(seen)))
    counts = Counter(p.scene for p in pairs)
    if len(counts) < 3:
        raise ValueError(f"a scene split needs at least 3 scenes (train, val and test get whole "
                         f"scenes), found {len(counts)}: {sorted(counts)}")
    known = sorted(set(counts) & set(seen))
    scenes = sorted(set(counts) - set(seen))
    if len(scenes) < 2:
        raise ValueError(f"the starting checkpoint learnt from {len(known)} of the {len(counts)} scenes, so "
                         "val and test cannot get an unseen scene each: add scenes it has not seen")
    random.Random(seed).shuffle(scenes)
    total = sum(counts.values())
    target = {"test": test_fraction * total, "val": val_fraction * total}
    parts: dict[str, list[str]] = {"test": [scenes[0]], "val": [scenes[1]], "train": known or scenes[2:3]}
    filled = {"test": counts[scenes[0]], "val": counts[scenes[1]]}
    for scene in scenes[2:] if known else scenes[3:]:
        n = counts[scene]
        name = next((k for k in ("test", "val")
                     if abs(filled[k] + n - target[k]) < abs(filled[k] - target[k])), "train")
        parts[name].append(scene)
        if name != "train":
            filled[name] += n
    return Split(tuple(sorted(parts["train"])), tuple(sorted(parts["val"])),
                 tuple(sorted(parts["test"])), seed, seen)


def listed(scenes: Iterable[str], n: int = 3) -> str:
    """Up to n scene names for a message, then how many more."""
    names = sorted(scenes)
    return ", ".join(names[:n]) + (f" and {len(names) - n} more" if len(names) > n else "")
