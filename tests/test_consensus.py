"""Multi-annotator consensus (core/labels/consensus.py): FERPlus vote slots plus studio annotators."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.data.classes import resolve_classes
from core.data.store import load_sample
from core.labels.consensus import annotator_matrix, consensus, vote_slots, with_consensus

CLASSES = list(resolve_classes("fer7"))


def test_vote_slots_hold_each_vote_once_and_drop_classes_outside_the_set():
    sample = load_sample()
    slots = vote_slots(sample, CLASSES)
    counts = (
        sample.meta[[f"votes_{c}" for c in ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear")]]
        .to_numpy()
        .sum(axis=1)
    )
    assert (slots.notna().sum(axis=1).to_numpy() == np.minimum(counts, 10)).all()
    happy = slots.eq(CLASSES.index("happy")).sum(axis=1).to_numpy()
    assert (happy == sample.meta["votes_happiness"].to_numpy()).all()


def test_a_careful_annotator_scores_above_a_careless_one_and_consensus_follows_the_votes():
    sample = load_sample()
    rng = np.random.default_rng(0)
    majority = sample.meta["ferplus"].to_numpy()
    rows = np.flatnonzero(np.isin(majority, CLASSES))[:150]
    careful = pd.DataFrame(
        {"image_id": sample.meta["image_id"].to_numpy()[rows], "annotator": "careful", "label": majority[rows]}
    )
    careless = careful.assign(annotator="careless", label=rng.choice(CLASSES, len(rows)))
    relabels = pd.concat([careful, careless])
    assert "annotator:careful" in annotator_matrix(sample, relabels, CLASSES).columns
    probs = np.full((len(sample), len(CLASSES)), 1 / len(CLASSES))
    images, annotators = consensus(sample, relabels, probs, CLASSES)
    quality = annotators.set_index("annotator")["annotator_quality"]
    assert quality["annotator:careful"] > quality["annotator:careless"]
    agree = images.set_index("row").loc[rows, "consensus"].to_numpy() == majority[rows]
    assert agree.mean() > 0.9
    trained = with_consensus(sample, images)
    tests = sample.meta["split"] != "Training"
    assert (trained.meta.loc[tests, "consensus"] == sample.meta.loc[tests, "label"]).all()
