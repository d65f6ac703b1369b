"""Looking through a data set: filters over its metadata and model predictions, cached per checkpoint.

Filters are vectorised over the metadata table, so a page over all 35,887 images is quick to compute.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.data.dataset import FerDataset
from core.paths import data_dir


@dataclass
class ImageFilter:
    """What the Browse page can filter on; None / empty means no restriction."""

    splits: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()  # the data set's own (FER2013) label
    ferplus: tuple[str, ...] = ()  # FERPlus majority; "" selects images without one
    disagree_only: bool = False
    agreement: tuple[float, float] = (0.0, 1.0)
    min_not_face_votes: int = 0
    predicted: tuple[str, ...] = ()
    confidence: tuple[float, float] = (0.0, 1.0)


def filter_rows(dataset: FerDataset, spec: ImageFilter, probabilities: np.ndarray | None = None,
                classes: list[str] | None = None) -> np.ndarray:
    """Positions of the images that pass every filter, in data-set order."""
    meta = dataset.meta
    keep = np.ones(len(meta), dtype=bool)
    for column, wanted in (("split", spec.splits), ("label", spec.labels)):
        if wanted:
            keep &= meta[column].isin(wanted).to_numpy()
    if dataset.has_ferplus:
        if spec.ferplus:
            keep &= meta["ferplus"].isin(spec.ferplus).to_numpy()
        if spec.disagree_only:
            keep &= meta["disagree"].to_numpy()
        agreement = meta["agreement"].to_numpy()
        keep &= (agreement >= spec.agreement[0]) & (agreement <= spec.agreement[1])
        keep &= meta["votes_NF"].to_numpy() >= spec.min_not_face_votes
    if probabilities is not None and classes is not None:
        top = probabilities.argmax(axis=1)
        confidence = probabilities.max(axis=1)
        if spec.predicted:
            keep &= np.isin(np.asarray(classes)[top], spec.predicted)
        keep &= (confidence >= spec.confidence[0]) & (confidence <= spec.confidence[1])
    return np.flatnonzero(keep)


def page(rows: np.ndarray, number: int, size: int = 48) -> np.ndarray:
    """The rows of 1-based page `number` (clamped to the pages that exist)."""
    pages = max(1, -(-len(rows) // size))
    number = min(max(1, number), pages)
    return rows[(number - 1) * size:number * size]


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
    cache.parent.mkdir(parents=True, exist_ok=True)
    temporary = cache.with_suffix(".tmp.npy")
    np.save(temporary, probabilities)
    temporary.replace(cache)
    return probabilities
