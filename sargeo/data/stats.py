"""Statistics of a set of pairs that several stages need (training, evaluation, model cards)."""

from __future__ import annotations

import random

import numpy as np

from sargeo.data.dataset import load_pair

#: At most this many training pairs are read to estimate the mean optical colour.
MEAN_COLOUR_SAMPLE = 500


def mean_colour(pairs: list, seed: int) -> list[float]:
    """Mean optical RGB in [0, 1] over (a sample of) the training pairs: the trivial baseline's colour."""
    rng = random.Random(seed)
    sample = pairs if len(pairs) <= MEAN_COLOUR_SAMPLE else rng.sample(pairs, MEAN_COLOUR_SAMPLE)
    total = np.zeros(3)
    for pair in sample:
        total += (load_pair(pair)[1].mean(axis=(1, 2)) + 1.0) / 2.0
    return (total / len(sample)).tolist()
