"""A 2-D map of every face: UMAP of a model's penultimate features, cached per (checkpoint, data set).

The features are reduced to PCA_DIMENSIONS first (a fraction of UMAP's neighbour search time, the same map to
the eye), then laid out by umap-learn with a fixed seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.audit.embeddings import dataset_features, features_cache_path
from core.data.dataset import FerDataset
from core.files import write_atomically
from core.progress import ProgressCallback, no_progress

PCA_DIMENSIONS = 32
NEIGHBOURS, MIN_DISTANCE, SEED = 15, 0.1, 0


def map_cache_path(dataset: FerDataset, checkpoint: Path) -> Path:
    features = features_cache_path(dataset, checkpoint)
    return features.parent.parent / "map" / features.name


def load_cached_map(dataset: FerDataset, checkpoint: Path) -> np.ndarray | None:
    """The cached 2-D coordinates (N, 2), or None when the map was never computed."""
    cache = map_cache_path(dataset, checkpoint)
    return np.load(cache) if cache.is_file() else None


def layout(features: np.ndarray) -> np.ndarray:
    """2-D UMAP coordinates (N, 2) float32 of features (N, D)."""
    from sklearn.decomposition import PCA
    from umap import UMAP

    features = np.asarray(features, dtype=np.float32)
    if len(features) < 4:
        raise ValueError(f"a map needs at least 4 images, got {len(features)}")
    dimensions = min(PCA_DIMENSIONS, features.shape[1], len(features))
    reduced = PCA(n_components=dimensions, random_state=SEED).fit_transform(features)
    umap = UMAP(
        n_neighbors=min(NEIGHBOURS, len(features) - 1),
        min_dist=MIN_DISTANCE,
        random_state=SEED,
        init="spectral" if len(features) > 2 * NEIGHBOURS else "random",
    )
    return umap.fit_transform(reduced).astype(np.float32)


def compute_map(dataset: FerDataset, checkpoint: Path, track: ProgressCallback = no_progress) -> np.ndarray | None:
    """Features (cached), then the layout, cached; None when `track` stopped the features early."""
    features = dataset_features(dataset, checkpoint, track)
    if len(features) != len(dataset):
        return None
    coordinates = layout(features)
    write_atomically(map_cache_path(dataset, checkpoint), lambda handle: np.save(handle, coordinates), binary=True)
    return coordinates
