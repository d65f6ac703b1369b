"""The Relabel page's queue: the images of a data set, the ones most worth a second look first.

The score adds up independent signs of a wrong label, each between 0 and 1: FER2013 and the FERPlus majority
disagree; the FERPlus annotators split their votes; FERPlus annotators voted "not a face"; confident learning gave
the label a low quality (`core.labels.issues`); a model confidently predicts another class than the current label;
the data audit (`core.audit`) found a copy of the image with another label, or a problem with the image itself.
`disputed_only` keeps the images with a clear sign (the page's queue), `splits` some splits only. Everything is
computed on whole columns, so the full data set
(35,887 images) is ranked in a fraction of a second.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import pandas as pd

from core.data.classes import ALL_CLASSES, canonical_class, vote_column_name
from core.data.dataset import VOTE_COLUMNS, FerDataset
from core.data.filters import AuditFlags, LabelQuality

QUEUE_EXPLANATION = (
    "Images are ordered by a dispute score: +1 when the FER2013 label and the FERPlus majority disagree, plus the "
    "share of FERPlus votes against the most voted answer, plus the share of 'not a face' votes, plus (1 - label "
    "quality) where confident learning scored the labels, plus the model's confidence when it predicts another "
    "class than the current label. Images already relabeled come last."
)
QUEUE_COLUMNS = (
    "image_id",
    "row",
    "split",
    "label",
    "original",
    "relabeled",
    "ferplus",
    "agreement",
    "disagree",
    "nf_share",
    "quality",
    "is_issue",
    "model_label",
    "model_confidence",
    "model_term",
    "score",
    "disputed",
    "copy_conflict",
    "image_problems",
    "reasons",
)
DISPUTED_AGREEMENT = 0.5  # a FERPlus majority with less than half of the votes is a dispute
DISPUTED_NOT_A_FACE = 0.5  # as is half of the votes or more saying "not a face"
BENCHMARK_SPLIT = "PrivateTest"  # the final benchmark: the Relabel page leaves it out unless asked
BENCHMARK_REASON = (
    "PrivateTest is left out by default: it is the benchmark every model is finally scored on, "
    "so relabeling it changes the benchmark."
)


def queue_explanation(has_votes: bool, has_quality: bool, has_model: bool = False) -> str:
    """One sentence on how the queue is ordered, naming only the signs this queue has."""
    signs = (
        ["FERPlus vote disputes (FER2013 vs the FERPlus majority, split votes, 'not a face' votes)"]
        if has_votes
        else []
    )
    signs += ["low label quality from confident learning (1 - quality)"] if has_quality else []
    signs += ["the model confidently predicting another class"] if has_model else []
    if not signs:
        return (
            "No sign of a wrong label is known for this data set (no FERPlus votes, no label quality): "
            "every image is in the queue, in data set order."
        )
    return "Disputed images only, the most doubtful first, by the sum of " + ", ".join(signs) + "."


def disputed_queue(
    dataset: FerDataset,
    current_labels: dict[str, str] | None = None,
    model_probabilities: np.ndarray | None = None,
    model_classes: Sequence[str] | None = None,
    *,
    include_done: bool = True,
    issues: pd.DataFrame | None = None,
    splits: Collection[str] | None = None,
    disputed_only: bool = False,
    audit: AuditFlags | None = None,
) -> pd.DataFrame:
    """All images, most disputed first, already relabeled ones last (or left out with `include_done=False`).

    `label` is the current label (the relabel where there is one, else the source's), `original` the source's.
    `model_probabilities` is (N, len(model_classes)), row-aligned with the data set. `issues` is the table of
    `core.labels.issues.load_issues` (row, quality, is_issue, ...): its (1 - quality) adds to the score, so with
    FERPlus votes both count and without votes quality alone orders the queue. `splits` keeps only those splits;
    `disputed_only` keeps only images with a clear sign of a wrong label (the `disputed` column). `audit` (the data
    audit's flags) adds 1 for a copy with another label and 1 for an image problem, and both count as clear signs.
    """
    queue = base_frame(dataset, current_labels)
    queue = queue.assign(
        **ferplus_terms(dataset),
        **quality_terms(len(queue), issues),
        **model_terms(queue["label"].to_numpy(), model_probabilities, model_classes),
        **audit_terms(len(queue), audit),
    )
    queue["score"] = (
        queue["disagree"].astype(float)
        + (1.0 - queue["agreement"]).fillna(0.0)
        + queue["nf_share"].fillna(0.0)
        + (1.0 - queue["quality"]).fillna(0.0)
        + queue["model_term"]
        + queue["copy_conflict"].astype(float)
        + (queue["image_problems"] != "").astype(float)
    )
    queue["disputed"] = disputed(
        queue, dataset.has_ferplus or issues is not None or model_probabilities is not None or audit is not None
    )
    keep = np.ones(len(queue), dtype=bool) if include_done else ~queue["relabeled"].to_numpy()
    if splits is not None:
        keep &= queue["split"].isin(list(splits)).to_numpy()
    if disputed_only:
        keep &= queue["disputed"].to_numpy()
    queue = queue[keep]
    order = np.lexsort((queue["row"].to_numpy(), -queue["score"].to_numpy(), queue["relabeled"].to_numpy()))
    queue = queue.iloc[order].reset_index(drop=True)
    queue["reasons"] = explain(queue)
    return queue[list(QUEUE_COLUMNS)]


def base_frame(dataset: FerDataset, current_labels: dict[str, str] | None) -> pd.DataFrame:
    """One row per image: id, row, split, current and original label, whether it has a relabel."""
    meta = dataset.meta
    original = meta["label"].astype(object).to_numpy()
    relabels = meta["image_id"].map(current_labels) if current_labels else pd.Series(np.nan, index=meta.index)
    relabeled = relabels.notna().to_numpy()
    label = np.where(relabeled, relabels.to_numpy(dtype=object), original)
    return pd.DataFrame(
        {
            "image_id": meta["image_id"].to_numpy(),
            "row": np.arange(len(meta)),
            "split": meta["split"].to_numpy(),
            "label": label,
            "original": original,
            "relabeled": relabeled,
        }
    )


def disputed(queue: pd.DataFrame, has_signs: bool) -> np.ndarray:
    """Which images show a clear sign of a wrong label: FER2013 and FERPlus disagree, the FERPlus majority is
    weak, many votes say "not a face", confident learning flags the label, or the model contradicts it. With no
    sign known at all every image counts, so the queue is never empty for want of signs."""
    if not has_signs:
        return np.ones(len(queue), dtype=bool)
    return (
        queue["disagree"].to_numpy(dtype=bool)
        | (queue["agreement"].fillna(1.0).to_numpy() < DISPUTED_AGREEMENT)
        | (queue["nf_share"].fillna(0.0).to_numpy() >= DISPUTED_NOT_A_FACE)
        | queue["is_issue"].to_numpy(dtype=bool)
        | (queue["model_term"].to_numpy() > 0)
        | queue["copy_conflict"].to_numpy(dtype=bool)
        | (queue["image_problems"].to_numpy() != "")
    )


def audit_terms(n: int, audit: AuditFlags | None) -> dict[str, np.ndarray]:
    """Whether each image has a copy with another label, and its image problems ("dark, low information")."""
    if audit is None:
        return {"copy_conflict": np.zeros(n, dtype=bool), "image_problems": np.full(n, "", dtype=object)}
    if len(audit.group) != n:
        raise ValueError(f"the audit covers {len(audit.group)} images, the data set {n}: run the audit again")
    problems = np.array([", ".join(name for name in row if name) for row in audit.problem_table], dtype=object)
    return {"copy_conflict": audit.conflicting_copy.astype(bool), "image_problems": problems}


def quality_terms(n: int, issues: pd.DataFrame | None) -> dict[str, np.ndarray]:
    """Label quality (NaN where not scored) and the issue flag per image, from a `load_issues` table."""
    quality = LabelQuality.from_table(issues, n)
    return {"quality": quality.score.astype(np.float64), "is_issue": quality.flagged}


def vote_counts(dataset: FerDataset, row: int) -> dict[str, int]:
    """One image's FERPlus votes named and ordered as the Relabel keys (angry, disgust, ... contempt), then
    "unknown" and "not a face"; empty without votes."""
    if not dataset.has_ferplus:
        return {}
    # column by column: a whole-row .iloc builds a mixed-type Series (~30 ms on the full import, per key press)
    named = {vote_name(column): int(dataset.meta[column].iat[row]) for column in VOTE_COLUMNS}
    return {name: named[name] for name in (*ALL_CLASSES, "unknown", "not a face")}


def vote_name(column: str) -> str:
    """A FERPlus vote column ("votes_happiness") as the class name the keys use ("happy")."""
    return vote_column_name(column.removeprefix("votes_"))


def ferplus_terms(dataset: FerDataset) -> dict[str, np.ndarray]:
    """The FERPlus columns of the queue; without votes, empty majority and NaN shares (which score 0)."""
    n = len(dataset)
    if not dataset.has_ferplus:
        return {
            "ferplus": np.full(n, "", dtype=object),
            "agreement": np.full(n, np.nan),
            "disagree": np.zeros(n, dtype=bool),
            "nf_share": np.full(n, np.nan),
        }
    meta = dataset.meta
    majority = meta["ferplus"].astype(object).to_numpy()
    disagree = meta["disagree"].to_numpy(dtype=bool)  # computed once, at import (data/dataset.py)
    votes = meta[list(VOTE_COLUMNS)].to_numpy(dtype=np.float64)
    total = votes.sum(axis=1)
    nf_share = np.divide(votes[:, VOTE_COLUMNS.index("votes_NF")], total, out=np.zeros(n), where=total > 0)
    return {
        "ferplus": majority,
        "agreement": meta["agreement"].to_numpy(dtype=np.float64),
        "disagree": disagree,
        "nf_share": nf_share,
    }


def model_terms(
    label: np.ndarray, probabilities: np.ndarray | None, classes: Sequence[str] | None
) -> dict[str, np.ndarray]:
    """The model's top class and confidence per image, and its score term: that confidence when the top class
    is not the current label (images without a label have nothing to contradict)."""
    n = len(label)
    if probabilities is None:
        return {
            "model_label": np.full(n, "", dtype=object),
            "model_confidence": np.full(n, np.nan),
            "model_term": np.zeros(n),
        }
    if classes is None:
        raise ValueError("model_probabilities needs model_classes: the class name of each column")
    probabilities = np.asarray(probabilities, dtype=np.float64)
    names = np.array([canonical_class(c) for c in classes], dtype=object)
    if probabilities.shape != (n, len(names)):
        raise ValueError(
            f"model_probabilities has shape {probabilities.shape}; expected ({n}, {len(names)}): "
            "one row per image, one column per model class"
        )
    top = probabilities.argmax(axis=1)
    confidence = probabilities[np.arange(n), top]
    predicted = names[top]
    contradicts = (predicted != label) & (label != "")
    return {
        "model_label": predicted,
        "model_confidence": confidence,
        "model_term": np.where(contradicts, confidence, 0.0),
    }


def percent(shares: pd.Series) -> np.ndarray:
    """Shares in 0..1 as "40%" strings (NaN as 0%)."""
    whole = np.rint(np.nan_to_num(np.asarray(shares, dtype=np.float64)) * 100).astype(np.int64)
    return whole.astype(str).astype(object) + "%"


def explain(queue: pd.DataFrame) -> np.ndarray:
    """Short reasons, one per queue row ("FER2013 says sad, FERPlus says neutral; FERPlus agreement 40%; ..."),
    built column-wise so explaining the whole queue costs no more than a few vector operations."""
    text = {
        c: queue[c].astype(object).fillna("").to_numpy()
        for c in ("label", "original", "ferplus", "model_label", "image_problems")
    }
    flag = {c: queue[c].astype(bool).to_numpy() for c in ("relabeled", "disagree")}
    agreement = pd.to_numeric(queue["agreement"], errors="coerce")
    nf_share = pd.to_numeric(queue["nf_share"], errors="coerce").fillna(0.0).to_numpy()
    model_term = pd.to_numeric(queue["model_term"], errors="coerce").fillna(0.0).to_numpy()
    quality = pd.to_numeric(queue["quality"], errors="coerce")
    parts = [
        np.where(flag["relabeled"], "relabeled as " + text["label"], ""),
        np.where(flag["disagree"], "FER2013 says " + text["original"] + ", FERPlus says " + text["ferplus"], ""),
        np.where(agreement.notna().to_numpy(), "FERPlus agreement " + percent(agreement), ""),
        np.where(nf_share > 0, percent(nf_share) + " of FERPlus votes say not a face", ""),
        np.where(quality.notna().to_numpy(), "label quality " + percent(quality), ""),
        np.where(
            model_term > 0, "model says " + text["model_label"] + " (" + percent(queue["model_confidence"]) + ")", ""
        ),
        np.where(queue["copy_conflict"].astype(bool).to_numpy(), "a copy of this image has another label", ""),
        np.where(text["image_problems"] != "", "image problem: " + text["image_problems"], ""),
    ]
    joined = np.full(len(queue), "", dtype=object)
    for part in parts:
        part = part.astype(object)
        joined = joined + np.where((joined != "") & (part != ""), "; ", "") + part
    return np.where(joined != "", joined, "no sign of a wrong label")


def reasons(row: pd.Series) -> str:
    """The reasons text of one queue row (the same text as the queue's `reasons` column)."""
    return str(explain(row.to_frame().T.reset_index(drop=True))[0])
