"""Multi-annotator consensus with cleanlab's CROWDLAB: FERPlus's ten votes per image and the studio's annotators
are annotators of one matrix; with the out-of-fold probabilities they give a consensus label and its quality per
image, and a quality score per annotator.

FERPlus publishes vote counts, not who cast them, so its votes fill ten anonymous slots (`ferplus_1` ..
`ferplus_10`); only the studio's annotators are people whose quality means something.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.data.classes import FERPLUS_CLASSES
from core.data.dataset import VOTE_COLUMNS, FerDataset

FERPLUS_SLOTS = 10
CONSENSUS_COLUMNS = ("row", "image_id", "consensus", "consensus_quality", "annotations", "agreement")


def vote_slots(dataset: FerDataset, classes: list[str]) -> pd.DataFrame:
    """(N, 10) class indices of each image's FERPlus votes in `classes` (NaN: no vote, or a vote for a class
    outside them such as unknown or not-a-face)."""
    slots = np.full((len(dataset), FERPLUS_SLOTS), np.nan)
    if dataset.has_ferplus:
        counts = dataset.meta[list(VOTE_COLUMNS[: len(FERPLUS_CLASSES)])].to_numpy(dtype=int)
        for column, name in enumerate(FERPLUS_CLASSES):
            if name not in classes:
                continue
            filled = np.isfinite(slots).sum(axis=1)
            for row in np.flatnonzero(counts[:, column]):
                start = filled[row]
                slots[row, start : start + counts[row, column]] = classes.index(name)
    return pd.DataFrame(slots, columns=[f"ferplus_{i + 1}" for i in range(FERPLUS_SLOTS)])


def annotator_matrix(dataset: FerDataset, relabels: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    """FERPlus slots plus one column per studio annotator (their latest label per image; NaN where none)."""
    matrix = vote_slots(dataset, classes)
    rows = pd.Series(np.arange(len(dataset)), index=dataset.meta["image_id"].to_numpy())
    lookup = {name: i for i, name in enumerate(classes)}
    for annotator, labels in relabels.groupby("annotator"):
        column = np.full(len(dataset), np.nan)
        known = labels[labels["image_id"].isin(rows.index) & labels["label"].isin(lookup)]
        column[rows[known["image_id"]].to_numpy()] = known["label"].map(lookup).to_numpy()
        matrix[f"annotator:{annotator}"] = column
    return matrix


def consensus(
    dataset: FerDataset, relabels: pd.DataFrame, probs: np.ndarray, classes: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per image (those with at least one annotation): the consensus label and its quality; per annotator:
    CROWDLAB's quality and agreement with the consensus."""
    from cleanlab.multiannotator import get_label_quality_multiannotator

    matrix = annotator_matrix(dataset, relabels, classes)
    annotated = np.flatnonzero(matrix.notna().any(axis=1).to_numpy())
    used = matrix.iloc[annotated]
    used = used.loc[:, used.notna().any(axis=0)]  # every annotator must label something
    result = get_label_quality_multiannotator(used.reset_index(drop=True), probs[annotated], verbose=False)
    quality = result["label_quality"]
    images = pd.DataFrame(
        {
            "row": annotated,
            "image_id": dataset.meta["image_id"].to_numpy()[annotated],
            "consensus": np.asarray(classes, dtype=object)[quality["consensus_label"].to_numpy(dtype=int)],
            "consensus_quality": quality["consensus_quality_score"].to_numpy(),
            "annotations": quality["num_annotations"].to_numpy(),
            "agreement": quality["annotator_agreement"].to_numpy(),
        }
    )
    annotators = result["annotator_stats"].rename_axis("annotator").reset_index()
    return images, annotators


def with_consensus(dataset: FerDataset, images: pd.DataFrame) -> FerDataset:
    """A copy with a `consensus` column (the label source of that name): the consensus label for Training images;
    PublicTest and PrivateTest keep their original labels, as the protocol scores those."""
    column = dataset.meta["label"].to_numpy(dtype=object).copy()
    training = dataset.meta["split"].to_numpy()[images["row"].to_numpy()] == "Training"
    column[images["row"].to_numpy()[training]] = images["consensus"].to_numpy(dtype=object)[training]
    return FerDataset(dataset.images, dataset.meta.assign(consensus=column), dict(dataset.info))
