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


def precision_table(
    dataset: FerDataset,
    issues: pd.DataFrame,
    baseline_probs: np.ndarray | None,
    labels: np.ndarray,
    oof_only: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Precision against FERPlus at each k and for the whole flagged set: base rate, the in-sample baseline
    (the shipped model's confidence in the given label), the stored ranking `issues` (out-of-fold, blended with a
    reference model when `oof_only`, the same scored on the out-of-fold probabilities alone, is given), and that
    ranking among the images FERPlus gives a majority only (the k best-ranked of those)."""
    truth = ferplus_disagrees(dataset)
    has_majority = dataset.meta["ferplus"].to_numpy() != ""
    name = "out-of-fold (cleanlab)" if oof_only is None else "out-of-fold + shipped model (cleanlab)"
    flagged_rows = issues.loc[issues["is_issue"], "row"].to_numpy()
    baseline = None if baseline_probs is None else self_confidence_ranking(baseline_probs, labels)
    rows = []
    for k in (*KS, len(flagged_rows)):
        whole_set = k == len(flagged_rows)  # the flagged set itself, not the k lowest scores

        def ranked(table: pd.DataFrame) -> np.ndarray:
            return flagged_rows if whole_set else table["row"].to_numpy()  # stored worst first

        row = {
            "k": f"flagged ({k:,})" if whole_set else f"{k:,}",
            "base rate": float(truth.mean()),
            "base rate among images with a majority": float(truth[has_majority].mean()),
        }
        if baseline is not None:
            row["in-sample baseline"] = precision_at(baseline, truth, k)
        if oof_only is not None:
            row["out-of-fold only (cleanlab)"] = precision_at(ranked(oof_only), truth, k)
        row[name] = precision_at(ranked(issues), truth, k)
        row[f"{name}, among images with a majority"] = precision_at(
            ranked(issues)[has_majority[ranked(issues)]], truth, k
        )
        rows.append(row)
    return pd.DataFrame(rows).set_index("k")


def precision_markdown(table: pd.DataFrame) -> str:
    """The precision table as a Markdown table, percentages to one decimal."""
    lines = ["| k | " + " | ".join(table.columns) + " |", "| --- |" + " --- |" * len(table.columns)]
    lines += [f"| {k} | " + " | ".join(f"{v:.1%}" for v in row) + " |" for k, row in table.iterrows()]
    return "\n".join(lines)
