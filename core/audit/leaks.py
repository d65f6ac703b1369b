"""Leaks between splits: test images (PublicTest, PrivateTest) with a copy, exact or near, in Training.

A test image leaks when its duplicate group holds a Training image; scoring a model on the test images that do
not leak tells how much of its accuracy could come from having seen those faces while training.
"""

from __future__ import annotations

import numpy as np

from core.audit.duplicates import NO_GROUP

TRAINING, TEST_SPLITS = "Training", ("PublicTest", "PrivateTest")


def leaked_rows(splits: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Per row: True for a test image whose group (`ids`) holds a Training image."""
    splits, ids = np.asarray(splits).astype(str), np.asarray(ids)
    training_groups = np.unique(ids[(splits == TRAINING) & (ids != NO_GROUP)])
    return np.isin(splits, TEST_SPLITS) & (ids != NO_GROUP) & np.isin(ids, training_groups)


def leak_counts(splits: np.ndarray, leaked: np.ndarray) -> dict[str, int]:
    """Leaked images per test split."""
    splits = np.asarray(splits).astype(str)
    return {split: int((leaked & (splits == split)).sum()) for split in TEST_SPLITS}
