"""A model's penultimate features for every image (what its classifier sees), cached per (checkpoint, data set),
and the pairs of images whose features are nearly parallel (cosine similarity).

The features are the input of the model's last linear layer, caught with a forward hook, so any registered
architecture gives them; no test-time augmentation, the checkpoint's own resize and normalisation. Cosine pairs
come from float32 matrix products of L2-normalised features, one block of rows against the rows after it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from core.data.dataset import FerDataset
from core.files import write_atomically
from core.inference.dataset_predictions import checkpoint_digest
from core.paths import data_dir
from core.progress import ProgressCallback, no_progress

FEATURES_VERSION = 1
CHUNK = 512  # faces per forward pass and progress step
BLOCK = 2048  # rows per block of the similarity products (BLOCK x N float32: 290 MB at most on the full set)


def features_cache_path(dataset: FerDataset, checkpoint: Path) -> Path:
    """One file per (checkpoint bytes, data set) pair, like the predictions cache."""
    key = f"{checkpoint_digest(Path(checkpoint))}:{dataset.info.get('created')}:{len(dataset)}:f{FEATURES_VERSION}"
    return data_dir() / "audit" / "features" / f"{hashlib.sha1(key.encode()).hexdigest()[:16]}.npy"


def load_cached_features(dataset: FerDataset, checkpoint: Path) -> np.ndarray | None:
    cache = features_cache_path(dataset, checkpoint)
    return np.load(cache) if cache.is_file() else None


def compute_features(images: np.ndarray, checkpoint: Path, track: ProgressCallback = no_progress) -> np.ndarray:
    """Penultimate features (N, D) float32 of uint8 faces (N, H, W); fewer rows when `track` stops early."""
    import torch

    from core.data.preprocessing import Preprocessing, to_model_input
    from core.models.checkpoint import load_checkpoint, model_from_checkpoint

    payload = load_checkpoint(checkpoint)
    spec = Preprocessing.from_payload(payload)
    model = model_from_checkpoint(payload).eval()
    linears = [module for module in model.modules() if isinstance(module, torch.nn.Linear)]
    if not linears:
        raise ValueError(f"{checkpoint}: the model has no linear layer whose input would be its features")
    caught: list[torch.Tensor] = []
    hook = linears[-1].register_forward_pre_hook(lambda _module, inputs: caught.append(inputs[0].flatten(1)))
    starts = range(0, len(images), CHUNK)
    parts = []
    try:
        with torch.inference_mode():
            for start in track(starts, len(starts), "features"):
                model(torch.from_numpy(to_model_input(np.asarray(images[start : start + CHUNK]), spec)))
                parts.append(caught.pop().float().numpy())
    finally:
        hook.remove()
    return np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, 0), np.float32)


def save_features(dataset: FerDataset, checkpoint: Path, features: np.ndarray) -> Path:
    if len(features) != len(dataset):
        raise ValueError(f"{len(features)} rows of features for {len(dataset)} images")
    cache = features_cache_path(dataset, checkpoint)
    return write_atomically(cache, lambda handle: np.save(handle, features), binary=True)


def dataset_features(dataset: FerDataset, checkpoint: Path, track: ProgressCallback = no_progress) -> np.ndarray:
    """The cached features, computed (and cached) in this process when they are not there yet."""
    cached = load_cached_features(dataset, checkpoint)
    if cached is not None:
        return cached
    features = compute_features(dataset.images, checkpoint, track)
    save_features(dataset, checkpoint, features)
    return features


def cosine_pairs(
    features: np.ndarray, threshold: float, track: ProgressCallback = no_progress, block: int = BLOCK
) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of rows (i < j) whose features have cosine similarity >= `threshold`."""
    if not -1.0 <= threshold <= 1.0:
        raise ValueError(f"the cosine threshold must be in -1..1, got {threshold}")
    unit = np.asarray(features, dtype=np.float32)
    unit = unit / np.maximum(np.linalg.norm(unit, axis=1, keepdims=True), 1e-12)
    firsts, seconds = [], []
    starts = range(0, len(unit), block)
    for start in track(starts, len(starts), "similar features"):
        similarity = unit[start : start + block] @ unit[start:].T
        i, j = np.nonzero(np.triu(similarity >= threshold, k=1))
        firsts.append(i + start)
        seconds.append(j + start)
    if not firsts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(firsts).astype(np.int64), np.concatenate(seconds).astype(np.int64)
