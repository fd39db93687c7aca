"""Finding, splitting and loading SAR / optical pairs."""

from sargeo.data.dataset import PairDataset, load_pair
from sargeo.data.pairs import Discovery, Pair, discover_pairs
from sargeo.data.split import Split, split_by_scene

__all__ = [
    "Discovery",
    "Pair",
    "PairDataset",
    "Split",
    "discover_pairs",
    "load_pair",
    "split_by_scene",
]
