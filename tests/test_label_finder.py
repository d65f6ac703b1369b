"""Scoring a label-error ranking against the FERPlus majority (core/evaluation/label_finder.py)."""

from __future__ import annotations

import numpy as np
import pytest

from core.data.classes import resolve_classes
from core.evaluation.label_finder import KS, precision_at, precision_table, self_confidence_ranking
from core.labels import issues


@pytest.fixture(scope="module")
def sample():
    from core.data.store import load_sample

    small = load_sample()
    return small.subset(np.tile(np.arange(len(small)), 5))  # more images than the largest k


def test_precision_at_counts_the_true_errors_among_the_first_k():
    truth = np.array([True, False, True, True])
    assert precision_at(np.array([0, 2, 1, 3]), truth, 2) == 1.0
    assert precision_at(np.array([1, 0, 2, 3]), truth, 2) == 0.5


def test_self_confidence_ranks_the_least_confident_given_label_first():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    assert self_confidence_ranking(probs, np.array([0, 0, 0])).tolist() == [1, 2, 0]


def test_an_oracle_ranking_scores_full_precision_and_the_columns_follow_the_rankings(sample):
    classes = list(resolve_classes("fer7"))
    labels = issues.given_labels(sample, "fer2013", classes)
    truth = sample.meta["disagree"].to_numpy(dtype=bool)
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(7), len(sample)).astype(np.float32)
    oracle = issues.score_issues(sample, probs, classes)
    oracle = oracle.iloc[np.argsort(~truth[oracle["row"].to_numpy()], kind="stable")]  # true errors first
    random_order = issues.score_issues(sample, probs, classes)
    table = precision_table(sample, oracle, probs, labels, oof_only=random_order)
    n_errors = int(truth.sum())
    blend = "out-of-fold + shipped model (cleanlab)"
    assert [table[blend].iloc[i] for i in range(3)] == pytest.approx([min(1.0, n_errors / k) for k in KS])
    assert table["base rate"].iloc[0] == pytest.approx(truth.mean())
    assert table["out-of-fold only (cleanlab)"].iloc[0] < table[blend].iloc[0]
    assert table.index[-1] == f"flagged ({int(oracle['is_issue'].sum()):,})"
    plain = precision_table(sample, oracle, None, labels)
    assert list(plain.columns) == [
        "base rate",
        "base rate among images with a majority",
        "out-of-fold (cleanlab)",
        "out-of-fold (cleanlab), among images with a majority",
    ]
