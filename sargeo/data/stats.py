"""Statistics of a set of pairs that several stages need (training, evaluation, model cards)."""

from __future__ import annotations

import random
from collections.abc import Iterable

import numpy as np

from sargeo.data.dataset import load_pair

#: At most this many training pairs are read to estimate the mean optical colour.
MEAN_COLOUR_SAMPLE = 500


def mean_of_images(images: Iterable[np.ndarray]) -> np.ndarray:
    """Mean colour in [0, 1] of (3, H, W) images in [-1, 1], each image weighing the same."""
    total, n = np.zeros(3), 0
    for rgb in images:
        total += (rgb.mean(axis=(1, 2)) + 1.0) / 2.0
        n += 1
    return total / max(n, 1)


def mean_colour(pairs: list, seed: int) -> list[float]:
    """Mean optical RGB in [0, 1] over (a sample of) the training pairs: the trivial baseline's colour."""
    rng = random.Random(seed)
    sample = pairs if len(pairs) <= MEAN_COLOUR_SAMPLE else rng.sample(pairs, MEAN_COLOUR_SAMPLE)
    return mean_of_images(load_pair(pair)[1] for pair in sample).tolist()
