"""A model's predictions over a whole data set, computed once per (checkpoint, data set) and cached on disk."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from core.data.dataset import FerDataset
from core.files import write_atomically
from core.paths import data_dir

PREDICTIONS_VERSION = 2  # 2: the checkpoint's TTA and the spec's resize filter (1 had no TTA, PIL's default filter)


def predictions_cache_path(dataset: FerDataset, checkpoint: Path) -> Path:
    """One cache file per (checkpoint file, data set) pair, invalidated when either (or how we predict) changes."""
    stat = Path(checkpoint).stat()
    key = (f"{Path(checkpoint).resolve()}:{stat.st_size}:{stat.st_mtime_ns}:{dataset.info.get('created')}:"
           f"{len(dataset)}:v{PREDICTIONS_VERSION}")
    return data_dir() / "predictions" / f"{hashlib.sha1(key.encode()).hexdigest()[:16]}.npy"


def dataset_probabilities(dataset: FerDataset, checkpoint: Path, batch_size: int = 512) -> np.ndarray:
    """The model's class probabilities for every image (N, C), preprocessed and with the TTA the checkpoint records
    (as `evaluate` scores it), computed once and cached on disk."""
    from core.inference.predictor import Predictor

    cache = predictions_cache_path(dataset, checkpoint)
    if cache.is_file():
        return np.load(cache)
    predictor = Predictor.load(checkpoint)
    images = np.asarray(dataset.images)  # 48x48: classify_crops resizes them to the model's size as training does
    probabilities = np.concatenate([predictor.classify_crops(images[i:i + batch_size])
                                    for i in range(0, len(images), batch_size)]).astype(np.float32)
    write_atomically(cache, lambda handle: np.save(handle, probabilities), binary=True)
    return probabilities
