"""Image problems found from pixel statistics and FERPlus votes: blank or uniform, very dark, very bright, low
information, not a face.

Statistics per image: mean and standard deviation of the gray levels and the entropy (bits) of their histogram,
all vectorised over the data set. "Not a face" is FERPlus's answer where the image has votes (half or more of them
say not a face); an image without votes gets no not-a-face verdict from the votes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.data.dataset import FerDataset
from core.progress import ProgressCallback, no_progress

PROBLEMS = ("uniform", "dark", "bright", "low_information", "not_a_face")
PROBLEM_NAMES = tuple(name.replace("_", " ") for name in PROBLEMS)  # as the studio shows them
UNIFORM_STD = 4.0  # gray levels: below this the image is one flat tone
DARK_MEAN, BRIGHT_MEAN = 20.0, 235.0
LOW_ENTROPY_BITS = 4.0  # a face photo uses far more of the 256 gray levels
NOT_A_FACE_SHARE = 0.5
BATCH = 1024


def image_statistics(images: np.ndarray, track: ProgressCallback = no_progress) -> pd.DataFrame:
    """Mean, standard deviation and histogram entropy (bits) of every uint8 image (N, H, W)."""
    starts = range(0, len(images), BATCH)
    means, stds, entropies = [], [], []
    for start in track(starts, len(starts), "image statistics"):
        batch = np.asarray(images[start : start + BATCH]).reshape(min(BATCH, len(images) - start), -1)
        pixels = batch.astype(np.float32)
        means.append(pixels.mean(axis=1))
        stds.append(pixels.std(axis=1))
        offsets = (np.arange(len(batch), dtype=np.int64) * 256)[:, None]
        histogram = np.bincount((batch + offsets).ravel(), minlength=len(batch) * 256).reshape(len(batch), 256)
        share = histogram / batch.shape[1]
        entropies.append(-(share * np.log2(np.where(share > 0, share, 1.0))).sum(axis=1))
    empty = np.zeros(0, np.float32)
    return pd.DataFrame(
        {
            "mean": np.concatenate(means or [empty]),
            "std": np.concatenate(stds or [empty]),
            "entropy": np.concatenate(entropies or [empty]).astype(np.float32),
        }
    )


def not_a_face_votes(dataset: FerDataset) -> tuple[np.ndarray, np.ndarray]:
    """Per image: whether FERPlus votes say not a face (half or more), and whether it has votes at all."""
    n = len(dataset)
    if not dataset.has_ferplus:
        return np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    votes = dataset.meta[[c for c in dataset.meta.columns if c.startswith("votes_")]].to_numpy(dtype=np.float64)
    total = votes.sum(axis=1)
    nf = dataset.meta["votes_NF"].to_numpy(dtype=np.float64)
    return (total > 0) & (nf >= NOT_A_FACE_SHARE * np.maximum(total, 1)), total > 0


def find_problems(dataset: FerDataset, statistics: pd.DataFrame) -> pd.DataFrame:
    """One boolean column per problem (PROBLEMS), one row per image."""
    mean, std, entropy = (statistics[c].to_numpy() for c in ("mean", "std", "entropy"))
    not_a_face, _ = not_a_face_votes(dataset)
    return pd.DataFrame(
        {
            "uniform": std < UNIFORM_STD,
            "dark": mean < DARK_MEAN,
            "bright": mean > BRIGHT_MEAN,
            "low_information": entropy < LOW_ENTROPY_BITS,
            "not_a_face": not_a_face,
        }
    )


def problem_counts(problems: pd.DataFrame) -> dict[str, int]:
    """Images per problem, and images with any."""
    counts = {name: int(problems[name].sum()) for name in PROBLEMS}
    counts["any"] = int(problems[list(PROBLEMS)].any(axis=1).sum())
    return counts


def pixel_problems(problems: pd.DataFrame) -> np.ndarray:
    """Images flagged from their pixels alone (every problem but the votes' not-a-face)."""
    return problems[[p for p in PROBLEMS if p != "not_a_face"]].any(axis=1).to_numpy()


def precision_recall(flagged: np.ndarray, truth: np.ndarray) -> dict[str, float | int]:
    """Precision and recall of `flagged` against `truth` (both boolean per image)."""
    hits = int((flagged & truth).sum())
    return {
        "flagged": int(flagged.sum()),
        "true": int(truth.sum()),
        "hits": hits,
        "precision": hits / max(int(flagged.sum()), 1),
        "recall": hits / max(int(truth.sum()), 1),
    }
