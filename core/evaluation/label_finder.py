"""Scoring a label-error finder against FERPlus: FER2013 is the one data set where ten votes per image say which
of its labels are wrong, so a ranking of suspect FER2013 labels can be checked.

An image counts as truly mislabelled when its FERPlus majority (Microsoft's rule) is an emotion other than its
FER2013 label; images whose votes reach no majority (or whose winner is unknown / not a face) count as correct,
which makes every precision here a lower bound.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.data.dataset import FerDataset

KS = (500, 1000, 2000)


def ferplus_disagrees(dataset: FerDataset) -> np.ndarray:
    """Per row: the FERPlus majority is an emotion and differs from the FER2013 label."""
    if not dataset.has_ferplus:
        raise ValueError("scoring label issues needs FERPlus votes: import fer2013new.csv with --ferplus")
    return dataset.meta["disagree"].to_numpy(dtype=bool)


def self_confidence_ranking(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Rows ordered by the probability of their given label, lowest first (ties by row)."""
    confidence = probs[np.arange(len(labels)), labels]
    return np.lexsort((np.arange(len(labels)), confidence))


def precision_at(ranked_rows: np.ndarray, truth: np.ndarray, k: int) -> float:
    return float(truth[ranked_rows[:k]].mean()) if k else float("nan")


def precision_table(dataset: FerDataset, issues: pd.DataFrame, baseline_probs: np.ndarray | None,
                    labels: np.ndarray) -> pd.DataFrame:
    """Precision against FERPlus at each k and for the whole flagged set: base rate, the in-sample baseline
    (the shipped model's confidence in the given label) and the out-of-fold confident-learning ranking, also
    counted among the images FERPlus gives a majority only (the k best-ranked of those)."""
    truth = ferplus_disagrees(dataset)
    has_majority = dataset.meta["ferplus"].to_numpy() != ""
    oof_ranking = issues["row"].to_numpy()  # stored worst first
    flagged = int(issues["is_issue"].sum())
    rows = []
    for k in (*KS, flagged):
        whole_set = k == flagged  # the flagged set itself, not the k lowest scores
        ranked = issues.loc[issues["is_issue"], "row"].to_numpy() if whole_set else oof_ranking
        row = {"k": f"flagged ({flagged:,})" if whole_set else f"{k:,}", "base rate": float(truth.mean()),
               "base rate among images with a majority": float(truth[has_majority].mean()),
               "out-of-fold (cleanlab)": precision_at(ranked, truth, k),
               "out-of-fold, among images with a majority": precision_at(ranked[has_majority[ranked]], truth, k)}
        if baseline_probs is not None:
            row["in-sample baseline"] = precision_at(self_confidence_ranking(baseline_probs, labels), truth, k)
        rows.append(row)
    return pd.DataFrame(rows).set_index("k")


def precision_markdown(table: pd.DataFrame) -> str:
    """The precision table as a Markdown table, percentages to one decimal."""
    lines = ["| k | " + " | ".join(table.columns) + " |", "| --- |" + " --- |" * len(table.columns)]
    lines += [f"| {k} | " + " | ".join(f"{v:.1%}" for v in row) + " |" for k, row in table.iterrows()]
    return "\n".join(lines)
