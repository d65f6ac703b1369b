"""Finding wrong labels by confident learning: out-of-fold probabilities, scored by cleanlab.

Given every image's probability vector from a model that never saw it (the K-fold cross-validation of
`core.jobs.label_issues`, or the shipped ones: `core.labels.shipped_oof`), cleanlab turns those and the given labels
into an issue flag (`find_label_issues`, pruning by the estimated noise rates) and a suggested label (the most
probable class), and ranks the labels by a quality score (cleanlab's normalized margin: the probability of the given
label minus the largest other one, mapped to [0, 1]; of cleanlab's scores it ranked FERPlus-contradicted labels
best).

Where a reference model exists for the data set (for the full FER2013, the shipped `fer2013_fernet`), the quality
ranks by a blend of the out-of-fold probabilities and that model's (`REFERENCE_WEIGHT`): the fold models are
small and the reference model strong. Flags and suggestions stay out-of-fold only, as cleanlab's noise-rate
estimate needs out-of-sample probabilities and the reference model has seen the Training labels.

Results live under `<data>/label_issues/<fingerprint>/` (a fingerprint of the data set's faces and labels):
issues.parquet here, and the job's record of its fold runs.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.dataset import LABEL_COLUMNS, FerDataset
from core.files import write_atomically
from core.paths import data_dir

ISSUES_FILE = "issues.parquet"
QUALITY_METHOD = "normalized_margin"  # against FERPlus: 81 % precision at k = 1,000, self_confidence 72 %
# the reference model's share of the ranking blend: chosen on the even rows of the full FER2013 against FERPlus
# (grid 0 to 0.5 by 0.05; 0.1 to 0.4 all within a point), 86.2 % precision at k = 500 on the odd rows held out
REFERENCE_WEIGHT = 0.15
ISSUE_COLUMNS = ("row", "image_id", "split", "label", "suggested", "quality", "is_issue")


_FINGERPRINTS: dict[tuple, tuple[FerDataset, str]] = {}  # the last few; holding the data set keeps its id unique


def fingerprint(dataset: FerDataset, label_source: str = "fer2013") -> str:
    """12 hex digits naming this data set's faces and labels: results of another data set never apply.

    Hashing 83 MB takes a fraction of a second, and the studio asks on every rerun, so recent answers are kept."""
    key = (id(dataset), id(dataset.images), id(dataset.meta), label_source)
    if key not in _FINGERPRINTS:
        digest = hashlib.sha1(np.ascontiguousarray(dataset.images).tobytes())
        digest.update("\n".join(dataset.meta[label_column_name(label_source)].astype(str)).encode())
        while len(_FINGERPRINTS) >= 4:
            _FINGERPRINTS.pop(next(iter(_FINGERPRINTS)))
        _FINGERPRINTS[key] = (dataset, digest.hexdigest()[:12])
    return _FINGERPRINTS[key][1]


def label_column_name(label_source: str) -> str:
    return LABEL_COLUMNS[label_source]


def results_dir(dataset: FerDataset, label_source: str = "fer2013") -> Path:
    return data_dir() / "label_issues" / fingerprint(dataset, label_source)


def given_labels(dataset: FerDataset, label_source: str, classes: list[str]) -> np.ndarray:
    """Class indices of the given labels (-1 where an image has none in `classes`)."""
    return dataset.class_indices(label_source, tuple(classes))


def score_issues(
    dataset: FerDataset,
    probs: np.ndarray,
    classes: list[str],
    label_source: str = "fer2013",
    reference: np.ndarray | None = None,
) -> pd.DataFrame:
    """One row per labelled image: quality (low = suspect; ranked on the blend with `reference` when given), the
    issue flag and the suggested label (both from the out-of-fold `probs` alone); sorted worst first."""
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    labels = given_labels(dataset, label_source, classes)
    rows = np.flatnonzero(labels >= 0)
    ranked = probs if reference is None else (1 - REFERENCE_WEIGHT) * probs + REFERENCE_WEIGHT * reference
    quality = get_label_quality_scores(labels[rows], ranked[rows], method=QUALITY_METHOD)
    # n_jobs=1: cleanlab's default forks a multiprocessing pool, which deadlocks in a process that already runs
    # threads (a training worker resuming on cleaned labels hung here); one process takes about a second anyway
    flagged = find_label_issues(labels[rows], probs[rows], filter_by="prune_by_noise_rate", n_jobs=1)
    meta = dataset.meta.iloc[rows]
    table = pd.DataFrame(
        {
            "row": rows,
            "image_id": meta["image_id"].to_numpy(),
            "split": meta["split"].to_numpy(),
            "label": np.asarray(classes, dtype=object)[labels[rows]],
            "suggested": np.asarray(classes, dtype=object)[probs[rows].argmax(axis=1)],
            "quality": quality.astype(np.float32),
            "is_issue": flagged,
        }
    )
    return table.sort_values(["quality", "row"], kind="stable").reset_index(drop=True)


def cleaned_dataset(
    dataset: FerDataset, table: pd.DataFrame, mode: str = "drop", label_source: str = "fer2013"
) -> FerDataset:
    """A copy with a `cleaned` column: the given labels, with the Training images `table` (`score_issues`) flags
    dropped ("") or given the suggested label; PublicTest and PrivateTest keep their original labels, as the
    protocol scores those."""
    flagged = table[table["is_issue"] & (table["split"] == "Training")]
    cleaned = dataset.meta[label_column_name(label_source)].to_numpy(dtype=object).copy()
    cleaned[flagged["row"].to_numpy()] = "" if mode == "drop" else flagged["suggested"].to_numpy(dtype=object)
    return FerDataset(dataset.images, dataset.meta.assign(cleaned=cleaned), {**dataset.info, "cleaning": mode})


def save_issues(dataset: FerDataset, table: pd.DataFrame, label_source: str = "fer2013") -> Path:
    path = results_dir(dataset, label_source) / ISSUES_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda handle: table.to_parquet(handle, index=False), binary=True)
    return path
