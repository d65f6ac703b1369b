"""Filters over a data set's metadata (and, when given, a model's predictions), for the Browse page.

They are vectorised over the metadata table, so filtering all 35,887 images is quick.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.data.dataset import FerDataset


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
    issues_only: bool = False  # only labels the label-issue finder flags
    max_quality: float = 1.0  # label quality (core/labels/issues.py; low = likely wrong) at most this
    duplicates_only: bool = False  # only images with a near copy (core/audit)
    conflicting_copies_only: bool = False  # only images whose copies carry another label
    problems: tuple[str, ...] = ()  # only images with one of these image problems (core/audit/problems.py)
    rows: tuple[int, ...] = ()  # only these rows (a selection on the map)


def filter_rows(
    dataset: FerDataset,
    spec: ImageFilter,
    probabilities: np.ndarray | None = None,
    classes: list[str] | None = None,
    quality: LabelQuality | None = None,
    audit: AuditFlags | None = None,
) -> np.ndarray:
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
    if quality is not None:
        if spec.max_quality < 1.0:  # a real threshold: unscored rows (NaN) do not pass it
            keep &= ~np.isnan(quality.score) & (quality.score <= spec.max_quality)
        if spec.issues_only:
            keep &= quality.flagged
    if audit is not None:
        if spec.duplicates_only:
            keep &= audit.group >= 0
        if spec.conflicting_copies_only:
            keep &= audit.conflicting_copy
        if spec.problems:
            keep &= np.isin(audit.problem_table, spec.problems).any(axis=1)
    if spec.rows:
        chosen = np.zeros(len(meta), dtype=bool)
        chosen[[r for r in spec.rows if 0 <= r < len(meta)]] = True
        keep &= chosen
    return np.flatnonzero(keep)


@dataclass
class AuditFlags:
    """Per data-set row, from the data audit (core/audit): its near-duplicate group (-1: none), whether its copies
    carry conflicting labels, and its image problems (one column per problem: the name where it applies, else "")."""

    group: np.ndarray
    conflicting_copy: np.ndarray
    problem_table: np.ndarray

    def problems(self, row: int) -> list[str]:
        return [name for name in self.problem_table[row] if name]


@dataclass
class LabelQuality:
    """Per data-set row: the label-issue finder's quality score (NaN: not scored), flag and suggested label."""

    score: np.ndarray
    flagged: np.ndarray
    suggested: np.ndarray

    @classmethod
    def from_table(cls, table: pd.DataFrame | None, n_images: int) -> LabelQuality:
        """Per-row arrays from a `core.labels.issues` table (rows it does not score: NaN, unflagged, "")."""
        score = np.full(n_images, np.nan, dtype=np.float32)
        flagged = np.zeros(n_images, dtype=bool)
        suggested = np.full(n_images, "", dtype=object)
        if table is not None and len(table):
            rows = table["row"].to_numpy(dtype=np.int64)
            score[rows], flagged[rows], suggested[rows] = table["quality"], table["is_issue"], table["suggested"]
        return cls(score, flagged, suggested)


def worst_labels_first(rows: np.ndarray, quality: LabelQuality) -> np.ndarray:
    """`rows` ordered by label quality, lowest first; unscored rows last, in data-set order."""
    score = np.nan_to_num(quality.score[rows], nan=np.inf)
    return rows[np.lexsort((rows, score))]


def page(rows: np.ndarray, number: int, size: int = 48) -> np.ndarray:
    """The rows of 1-based page `number` (clamped to the pages that exist)."""
    pages = max(1, -(-len(rows) // size))
    number = min(max(1, number), pages)
    return rows[(number - 1) * size : number * size]
