"""The data set every page and the trainer use: 48x48 uint8 faces plus one metadata table, whatever the source.

Metadata columns: `image_id`, `split` (Training / PublicTest / PrivateTest), `label` (the source's own label:
FER2013's emotion, or the folder's class; "" when none), and with FERPlus votes: one `votes_<column>` per
FERPlus column, `ferplus` (Microsoft's majority, "" when dropped), `agreement` and `disagree`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.data.classes import FER2013_CLASSES, FERPLUS_CLASSES, FERPLUS_VOTE_COLUMNS
from core.data.fer2013 import SPLITS, read_fer2013
from core.data.ferplus import agreement, check_aligned, majority_labels, read_ferplus, vote_distribution
from core.progress import ProgressCallback, no_progress

VOTE_COLUMNS: tuple[str, ...] = tuple(f"votes_{c}" for c in FERPLUS_VOTE_COLUMNS)
# label source -> metadata column; `relabeled` is filled from the label store with `with_relabels`, `cleaned` from
# the label-issue finder (core/labels/issues.py)
LABEL_COLUMNS = {
    "fer2013": "label",
    "ferplus": "ferplus",
    "relabeled": "relabeled",
    "cleaned": "cleaned",
    "consensus": "consensus",
}


@dataclass
class FerDataset:
    """Faces and their metadata, row-aligned."""

    images: np.ndarray  # (N, 48, 48) uint8
    meta: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.meta)

    @property
    def has_ferplus(self) -> bool:
        return "ferplus" in self.meta.columns

    @property
    def is_sample(self) -> bool:
        return bool(self.info.get("is_sample", False))

    def split_index(self, split: str) -> np.ndarray:
        """Row positions of one split."""
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
        return np.flatnonzero(self.meta["split"].to_numpy() == split)

    def class_indices(self, source: str, classes: tuple[str, ...]) -> np.ndarray:
        """Class indices into `classes` for every row, -1 where the row has no label in that class set."""
        column = label_column(source, self)
        lookup = {name: i for i, name in enumerate(classes)}
        return np.array([lookup.get(name, -1) for name in self.meta[column]], dtype=np.int64)

    def soft_labels(self, classes: tuple[str, ...]) -> np.ndarray:
        """FERPlus vote shares restricted to `classes` and renormalised; rows without such votes are all 0."""
        if not self.has_ferplus:
            raise ValueError("this data set has no FERPlus votes; import fer2013new.csv with --ferplus")
        votes = self.meta[list(VOTE_COLUMNS)].to_numpy()
        shares = vote_distribution(votes)
        picked = shares[:, [FERPLUS_CLASSES.index(c) for c in classes]]
        total = picked.sum(axis=1, keepdims=True)
        return np.divide(picked, total, out=np.zeros_like(picked), where=total > 0)

    def class_counts(self, source: str = "fer2013") -> pd.DataFrame:
        """A split x class table of image counts for one label source (unlabelled rows left out)."""
        column = label_column(source, self)
        labelled = self.meta[self.meta[column] != ""]
        table = pd.crosstab(labelled["split"], labelled[column])
        order = [c for c in (*FER2013_CLASSES, "contempt") if c in table.columns]
        return table.reindex(index=[s for s in SPLITS if s in table.index], columns=order, fill_value=0)

    def count_table(self) -> pd.DataFrame:
        """Long-format counts (split, class, images, labels) for FER2013 labels and, if present, FERPlus."""
        sources = {"original labels": "fer2013"} | ({"FERPlus majority": "ferplus"} if self.has_ferplus else {})
        frames = [
            self.class_counts(source)
            .reset_index()
            .melt(id_vars="split", var_name="class", value_name="images")
            .assign(labels=title)
            for title, source in sources.items()
        ]
        return pd.concat(frames, ignore_index=True)

    def subset(self, rows: np.ndarray) -> FerDataset:
        """A new data set holding only `rows` (positions), in that order."""
        rows = np.asarray(rows)
        return FerDataset(
            np.ascontiguousarray(self.images[rows]), self.meta.iloc[rows].reset_index(drop=True), dict(self.info)
        )


def label_column(source: str, dataset: FerDataset) -> str:
    """The metadata column behind a label source, checking the data set has it."""
    if source not in LABEL_COLUMNS:
        raise ValueError(f"unknown label source {source!r}; expected one of {', '.join(LABEL_COLUMNS)}")
    if source == "ferplus" and not dataset.has_ferplus:
        raise ValueError("this data set has no FERPlus votes; import fer2013new.csv with --ferplus")
    if LABEL_COLUMNS[source] not in dataset.meta.columns:  # relabeled, cleaned, consensus: derived by core.jobs
        raise ValueError(
            f"this data set carries no {source} labels: add them first (core.jobs.label_sources.with_label_source)"
        )
    return LABEL_COLUMNS[source]


def with_relabels(dataset: FerDataset, relabels: dict[str, str]) -> FerDataset:
    """A copy whose `relabeled` column is the original label overridden by `relabels` (image_id -> class, or ""
    for images taken out, e.g. not a face)."""
    relabeled = [
        relabels.get(image_id, label) for image_id, label in zip(dataset.meta["image_id"], dataset.meta["label"])
    ]
    return FerDataset(dataset.images, dataset.meta.assign(relabeled=relabeled), dict(dataset.info))


def ferplus_columns(votes: np.ndarray, original: pd.Series) -> dict[str, Any]:
    """The metadata columns derived from FERPlus votes, given the source's own labels."""
    winners = majority_labels(votes)
    majority = np.array([FERPLUS_CLASSES[i] if i >= 0 else "" for i in winners], dtype=object)
    columns: dict[str, Any] = {name: votes[:, i] for i, name in enumerate(VOTE_COLUMNS)}
    columns["ferplus"] = majority
    columns["agreement"] = agreement(votes)
    columns["disagree"] = (majority != "") & (original.to_numpy() != "") & (majority != original.to_numpy())
    return columns


def build_fer2013_dataset(
    fer2013_path: str | Path, ferplus_path: str | Path | None = None, track: ProgressCallback = no_progress
) -> FerDataset:
    """Read fer2013.csv and, optionally, fer2013new.csv joined on row order."""
    fer = read_fer2013(fer2013_path, track=track)
    n = len(fer.emotions)
    meta = pd.DataFrame(
        {
            "image_id": [f"fer{i:07d}" for i in range(n)],  # FERPlus's naming, derived from the row
            "split": fer.usage,
            "label": np.array(FER2013_CLASSES, dtype=object)[fer.emotions],
        }
    )
    info = {"source": "fer2013", "fer2013_path": str(fer2013_path)}
    if ferplus_path is not None:
        plus = read_ferplus(ferplus_path)
        check_aligned(plus, fer.usage, str(fer2013_path))
        meta = meta.assign(**ferplus_columns(plus.votes, meta["label"]))
        info["ferplus_path"] = str(ferplus_path)
    return FerDataset(fer.images, meta, info)
