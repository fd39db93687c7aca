"""Find SAR/optical pairs on disk, whatever layout the download came in.

Recognised: SEN1-2 PNGs (Kaggle ``v_2/<terrain>/s1``, original ``ROIs*/s1_<n>``, plain
``s1/`` + ``s2/``), SEN12MS / SEN12MS-CR GeoTIFFs (official ``_s1_`` names, or same-name files
in ``s1/`` + ``s2_cloudfree/``) and BigEarthNet-MM patch folders. Files are paired when their
paths agree once every ``s1`` / ``s2`` token is blanked out, so a partner is only ever taken
from the matching folder, never from an unrelated copy elsewhere under the root.
"""

from __future__ import annotations

import csv
import json
import os
import random
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

UNKNOWN = "unknown"
#: Folder names of the Kaggle "Segregated by Terrain" re-upload (``v_2/<terrain>/s1``).
KAGGLE_TERRAINS = frozenset({"agri", "barrenland", "grassland", "urban"})

_SEN_NAME = re.compile(r"^(ROIs\d+_[a-z]+)_(?:s[12](?:_cloud[a-z]+)?_)?(\d+)_p?(\d+)$", re.I)
_ROLE = re.compile(r"(?<![a-z0-9])s([12])(_cloudfree|_cloudy)?(?![a-z0-9])", re.I)
_FORMATS = {".png": "png", ".tif": "sen12ms", ".tiff": "sen12ms"}
_BEN_PATCH = re.compile(r"^(.+)_\d+_\d+$")
_UNREADABLE = (OSError, SyntaxError, ValueError)  # rasterio's errors are caught where raised


@dataclass(frozen=True)
class Pair:
    """One co-registered SAR / optical sample and where it came from."""

    sar: Path
    optical: Path
    scene: str
    terrain: str
    fmt: str

    @property
    def name(self) -> str:
        """Unique id: scene plus patch number (BigEarthNet: the S1 patch folder name)."""
        if self.fmt == "bigearthnet":
            return self.sar.name
        m = _SEN_NAME.match(self.sar.stem)
        return f"{self.scene}_p{m.group(3)}" if m else self.sar.stem


@dataclass(frozen=True)
class Discovery:
    """Pairs found plus one line per file that was left out, so nothing vanishes silently."""

    pairs: tuple[Pair, ...]
    skipped: tuple[str, ...]


def bigearthnet_band(folder: Path, band: str) -> Path:
    """BigEarthNet stores one GeoTIFF per band, named after the patch folder."""
    return folder / f"{folder.name}_{band}.tif"


def discover_pairs(
    root: str | Path,
    terrains: Sequence[str] | None = None,
    max_per_terrain: int | None = None,
    seed: int = 0,
) -> Discovery:
    """Walk ``root`` for pairs; ``max_per_terrain`` keeps a seeded random subset per terrain.

    Only pairs that pass the terrain filter and cap are opened, so capping a large download
    stays quick; an unreadable pair is replaced by another readable one of its terrain.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"data folder not found: {root}")
    if max_per_terrain is not None and max_per_terrain < 1:
        raise ValueError(f"max_per_terrain must be at least 1, got {max_per_terrain}")
    files, ben_dirs = _walk(root)
    found, skipped = _pair_sen(files, root)
    ben, ben_skipped = _pair_bigearthnet(ben_dirs)
    found += ben
    skipped += ben_skipped
    pairs, dup_skipped = _unique(_make_pairs(found, root))
    skipped += dup_skipped
    if terrains is not None:
        wanted = set(terrains)
        pairs = [p for p in pairs if p.terrain in wanted]
    kept, bad = _select(pairs, max_per_terrain, seed)
    return Discovery(tuple(sorted(kept, key=lambda p: p.name)), tuple(skipped + bad))


def _walk(root: Path) -> tuple[list[Path], list[Path]]:
    """Image files, plus BigEarthNet patch folders (not descended into), in sorted order."""
    files: list[Path] = []
    ben_dirs: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        here = Path(dirpath)
        if here != root and f"{here.name}_labels_metadata.json" in filenames:
            ben_dirs.append(here)
            dirnames.clear()
            continue
        files += [here / f for f in sorted(filenames) if Path(f).suffix.lower() in _FORMATS]
    return files, ben_dirs


def _role(rel: Path) -> str | None:
    """'s1', 's2' or 'cloudy' from the nearest s1/s2 token: file name first, then folders."""
    for part in (rel.stem, *reversed(rel.parent.parts)):
        m = _ROLE.search(part)
        if m:
            return "cloudy" if (m.group(2) or "").lower() == "_cloudy" else f"s{m.group(1)}"
    return None


def _pair_key(rel: Path, m: re.Match) -> tuple:
    """What an S1 file and its S2 partner share: folders with s1/s2 blanked, ids, format."""
    folders = tuple(_ROLE.sub("s?", p.lower()) for p in rel.parent.parts)
    return folders, *m.groups(), _FORMATS[rel.suffix.lower()]


def _pair_sen(files: Iterable[Path], root: Path) -> tuple[list[tuple[Path, Path, str]], list[str]]:
    """Pair SEN1-2 PNGs and SEN12MS GeoTIFFs; return (s1, s2, fmt) triples and skip lines."""
    groups: dict[tuple, dict[str, list[Path]]] = defaultdict(lambda: defaultdict(list))
    skipped: list[str] = []
    for path in files:
        rel = path.relative_to(root)
        m = _SEN_NAME.match(rel.stem)
        role = _role(rel) if m else None
        if m is None:
            skipped.append(f"{path}: not a SEN1-2 / SEN12MS file name")
        elif role is None:
            skipped.append(f"{path}: no s1/s2 in its name or folders, cannot tell SAR from optical")
        elif role != "cloudy":
            groups[_pair_key(rel, m)][role].append(path)
    found: list[tuple[Path, Path, str]] = []
    for key in sorted(groups):
        s1s = groups[key]["s1"]
        s2s = sorted(groups[key]["s2"], key=lambda p: ("cloudfree" not in str(p).lower(), p))
        if s1s and s2s:
            found.append((s1s[0], s2s[0], key[-1]))
            skipped += [f"{p}: duplicate of {s1s[0]}" for p in s1s[1:]]
            skipped += [f"{p}: duplicate of {s2s[0]}" for p in s2s[1:]]
        else:
            skipped += [f"{p}: unpaired S1, no S2 partner found" for p in s1s]
            skipped += [f"{p}: unpaired S2, no S1 partner found" for p in s2s]
    return found, skipped


def _pair_bigearthnet(dirs: Sequence[Path]) -> tuple[list[tuple[Path, Path, str]], list[str]]:
    """Pair S1 patch folders with the S2 folder their metadata names."""
    s2_by_name: dict[str, Path] = {}
    skipped: list[str] = []
    for d in (d for d in dirs if d.name.upper().startswith("S2")):
        if d.name in s2_by_name:
            skipped.append(f"{d}: duplicate of {s2_by_name[d.name]}")
        else:
            s2_by_name[d.name] = d
    found: list[tuple[Path, Path, str]] = []
    used: set[str] = set()
    for d in (d for d in dirs if d.name.upper().startswith("S1")):
        meta = d / f"{d.name}_labels_metadata.json"
        try:
            target = json.loads(meta.read_text())["corresponding_s2_patch"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            skipped.append(f"{d}: cannot read corresponding_s2_patch from {meta.name} ({e!r})")
            continue
        if target in s2_by_name and target not in used:
            found.append((d, s2_by_name[target], "bigearthnet"))
            used.add(target)
        else:
            skipped.append(f"{d}: unpaired S1, S2 patch {target} not found")
    skipped += [f"{d}: unpaired S2, no S1 patch names it"
                for name, d in s2_by_name.items() if name not in used]
    return found, skipped


def _make_pairs(found: Iterable[tuple[Path, Path, str]], root: Path) -> list[Pair]:
    """Attach scene ids and terrains to the raw (s1, s2, fmt) triples."""
    csv_terrains = _csv_terrains(root)
    return [Pair(s1, s2, _scene(s1, fmt), _terrain(s1, csv_terrains), fmt)
            for s1, s2, fmt in found]


def _scene(s1: Path, fmt: str) -> str:
    """Scene id that groups overlapping patches: ROI + season + scene, or S1 tile/date."""
    if fmt == "bigearthnet":
        m = _BEN_PATCH.match(s1.name)
        return m.group(1) if m else s1.name
    roi_season, scene, _ = _SEN_NAME.match(s1.stem).groups()
    return f"{roi_season}_{scene}"


def _terrain(s1: Path, csv_terrains: dict[Path, str]) -> str:
    """Kaggle terrain folder first, then the pairs.csv entry, else 'unknown'."""
    if s1.parent.parent.name in KAGGLE_TERRAINS:
        return s1.parent.parent.name
    return csv_terrains.get(s1.resolve(), UNKNOWN)


def _csv_terrains(root: Path) -> dict[Path, str]:
    """Terrain per resolved S1 path from the first pairs.csv in root or its parent."""
    for folder in (root, root.parent):
        path = folder / "pairs.csv"
        if not path.is_file():
            continue
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
        if rows and {"s1", "terrain"} <= rows[0].keys():
            return {(folder / r["s1"]).resolve(): _clean_terrain(r["terrain"]) for r in rows}
    return {}


def _clean_terrain(value: str | None) -> str:
    """Strip the '(scene-inferred)' note; blank means unknown."""
    value = (value or "").strip().removesuffix("(scene-inferred)").strip()
    return value or UNKNOWN


def _unique(pairs: list[Pair]) -> tuple[list[Pair], list[str]]:
    """Keep one pair per name (first by path), so copies of a dataset do not count twice."""
    kept: dict[str, Pair] = {}
    skipped: list[str] = []
    for pair in sorted(pairs, key=lambda p: str(p.sar)):
        if pair.name in kept:
            skipped.append(f"{pair.sar}: duplicate of {kept[pair.name].sar} ({pair.name})")
        else:
            kept[pair.name] = pair
    return list(kept.values()), skipped


def _select(pairs: list[Pair], cap: int | None, seed: int) -> tuple[list[Pair], list[str]]:
    """Readable pairs; with a cap, a seeded random subset per terrain."""
    by_terrain: dict[str, list[Pair]] = defaultdict(list)
    for pair in sorted(pairs, key=lambda p: p.name):
        by_terrain[pair.terrain].append(pair)
    kept: list[Pair] = []
    skipped: list[str] = []
    for terrain in sorted(by_terrain):
        group = by_terrain[terrain]
        if cap is not None:
            # a fresh generator per terrain keeps its sample unchanged when others are filtered out
            group = random.Random(seed).sample(group, len(group))
        chosen = 0
        for pair in group:
            if cap is not None and chosen == cap:
                break
            problem = _problem(pair)
            if problem:
                skipped.append(problem)
            else:
                kept.append(pair)
                chosen += 1
    return kept, skipped


def _problem(pair: Pair) -> str | None:
    """Why the pair's files cannot be read, or None when they open."""
    if pair.fmt == "png":
        checks = [(pair.sar, _check_png), (pair.optical, _check_png)]
    elif pair.fmt == "sen12ms":
        checks = [(pair.sar, _check_tif(1)), (pair.optical, _check_tif(4))]
    else:
        checks = [(bigearthnet_band(pair.sar, "VV"), _check_tif(1))]
        checks += [(bigearthnet_band(pair.optical, b), _check_tif(1))
                   for b in ("B04", "B03", "B02")]
    for path, check in checks:
        try:
            check(path)
        except _UNREADABLE as e:
            return f"{path}: unreadable, pair {pair.name} dropped ({e})"
    return None


def _check_png(path: Path) -> None:
    """Read all chunks and CRCs without decoding, which catches truncated files cheaply."""
    with Image.open(path) as im:
        im.verify()


def _check_tif(min_bands: int) -> Callable[[Path], None]:
    """Header check: the GeoTIFF opens and has the bands we will read."""
    def check(path: Path) -> None:
        import rasterio  # only GeoTIFF pairs need it
        from rasterio.errors import RasterioError

        try:
            with rasterio.open(path) as ds:
                count = ds.count
        except RasterioError as exc:
            raise ValueError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
        if count < min_bands:
            raise ValueError(f"{count} band(s), need at least {min_bands}")
    return check
