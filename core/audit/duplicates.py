"""Duplicate groups: images joined by pairs (equal pixels, close perceptual hashes, similar features) into groups,
and per group its splits, its labels and whether they conflict.

Groups are the connected components of the pair graph (scipy's union-find-like `connected_components`), so a
chain of near copies is one group. A group's id is its position in the order of its smallest row; -1 marks an
image with no copy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from core.data.dataset import FerDataset

Pairs = tuple[np.ndarray, np.ndarray]
NO_GROUP = -1


def group_ids(n: int, pairs: Sequence[Pairs]) -> np.ndarray:
    """Per row, the id of its group of two or more (numbered by smallest row), or NO_GROUP."""
    first = np.concatenate([np.asarray(a, dtype=np.int64) for a, _ in pairs] or [np.zeros(0, np.int64)])
    second = np.concatenate([np.asarray(b, dtype=np.int64) for _, b in pairs] or [np.zeros(0, np.int64)])
    graph = coo_matrix((np.ones(len(first), dtype=np.int8), (first, second)), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    sizes = np.bincount(component, minlength=1)
    grouped = sizes[component] > 1
    ids = np.full(n, NO_GROUP, dtype=np.int64)
    # components in the order of their first row: renumber them 0, 1, ... as they first appear
    _, first_seen = np.unique(component[grouped], return_index=True)
    order = np.argsort(first_seen)
    renumber = np.empty(len(order), dtype=np.int64)
    renumber[order] = np.arange(len(order))
    ids[grouped] = renumber[np.unique(component[grouped], return_inverse=True)[1]]
    return ids


def exact_pairs(digests: np.ndarray) -> Pairs:
    """Each image with equal pixels paired with the first image that has them."""
    _, first_rows, inverse = np.unique(np.asarray(digests).astype(str), return_index=True, return_inverse=True)
    copies = np.flatnonzero(first_rows[inverse] != np.arange(len(inverse)))
    return first_rows[inverse[copies]], copies


def group_table(dataset: FerDataset, ids: np.ndarray) -> pd.DataFrame:
    """One row per group: size, rows, splits, FER2013 labels, FERPlus majorities, and whether they conflict
    (two different labels among the group's images; an image without a FERPlus majority does not count)."""
    meta = dataset.meta
    grouped = np.flatnonzero(ids != NO_GROUP)
    frame = pd.DataFrame(
        {
            "group": ids[grouped],
            "row": grouped,
            "split": meta["split"].to_numpy()[grouped],
            "label": meta["label"].astype(str).to_numpy()[grouped],
            "ferplus": (
                meta["ferplus"].astype(str).to_numpy()[grouped]
                if dataset.has_ferplus
                else np.full(len(grouped), "", dtype=object)
            ),
        }
    )
    if frame.empty:
        return pd.DataFrame(
            columns=[
                "group",
                "size",
                "rows",
                "splits",
                "labels",
                "ferplus",
                "label_conflict",
                "ferplus_conflict",
                "conflict",
            ]
        )
    by_group = frame.groupby("group", sort=True)
    table = pd.DataFrame(
        {
            "size": by_group.size(),
            "rows": by_group["row"].agg(lambda rows: [int(r) for r in rows]),
            "splits": by_group["split"].agg(lambda values: ",".join(sorted(set(values)))),
            "labels": by_group["label"].agg(lambda values: ",".join(sorted(set(values) - {""}))),
            "ferplus": by_group["ferplus"].agg(lambda values: ",".join(sorted(set(values) - {""}))),
        }
    ).reset_index()
    table["label_conflict"] = table["labels"].str.contains(",", regex=False)
    table["ferplus_conflict"] = table["ferplus"].str.contains(",", regex=False)
    table["conflict"] = table["label_conflict"] | table["ferplus_conflict"]
    return table


def group_members(ids: np.ndarray, group: int) -> np.ndarray:
    """The rows of one group."""
    return np.flatnonzero(ids == group)
