"""Cross-validation folds: which rows a run with `config.folds = K, fold = k` holds out (all splits, seeded)."""

from __future__ import annotations

import numpy as np

from core.data.dataset import FerDataset
from core.training.config import TrainConfig


def fold_of_rows(n: int, folds: int, seed: int) -> np.ndarray:
    """The cross-validation fold (0 .. folds-1) of each of `n` rows: a seeded shuffle dealt round-robin."""
    fold = np.empty(n, dtype=np.int64)
    fold[np.random.default_rng(seed).permutation(n)] = np.arange(n) % folds
    return fold


def heldout_rows(dataset: FerDataset, config: TrainConfig) -> np.ndarray:
    """The rows (all splits) a cross-validation run holds out and predicts: fold `config.fold`."""
    return np.flatnonzero(fold_of_rows(len(dataset), config.folds, config.seed) == config.fold)
