"""Filters and pagination over a data set (core/data/filters.py)."""

from __future__ import annotations

import numpy as np

from core.data.filters import ImageFilter, filter_rows, page
from core.data.store import load_sample


def test_filters_combine():
    sample = load_sample()
    rows = filter_rows(sample, ImageFilter(splits=("PublicTest",), labels=("sad",)))
    assert len(rows) > 0 and set(sample.meta.loc[rows, "split"]) == {"PublicTest"}
    assert set(sample.meta.loc[rows, "label"]) == {"sad"}
    disagree = filter_rows(sample, ImageFilter(disagree_only=True, agreement=(0.0, 0.6)))
    assert sample.meta.loc[disagree, "disagree"].all() and (sample.meta.loc[disagree, "agreement"] <= 0.6).all()
    no_majority = filter_rows(sample, ImageFilter(ferplus=("",)))
    assert (sample.meta.loc[no_majority, "ferplus"] == "").all()
    faces = filter_rows(sample, ImageFilter(min_not_face_votes=5))
    assert (sample.meta.loc[faces, "votes_NF"] >= 5).all()


def test_prediction_filters():
    sample = load_sample()
    probabilities = np.zeros((len(sample), 2), dtype=np.float32)
    probabilities[:, 0], probabilities[::2, 0] = 0.3, 0.9
    probabilities[:, 1] = 1 - probabilities[:, 0]
    rows = filter_rows(sample, ImageFilter(predicted=("a",), confidence=(0.8, 1.0)), probabilities, ["a", "b"])
    assert list(rows) == list(range(0, len(sample), 2))


def test_page_clamps():
    rows = np.arange(100)
    assert list(page(rows, 1)) == list(range(48)) and list(page(rows, 3)) == [96, 97, 98, 99]
    assert list(page(rows, 99)) == [96, 97, 98, 99] and len(page(np.arange(0), 1)) == 0


def test_label_quality_filters_and_orders_worst_first():
    from core.data.filters import LabelQuality, worst_labels_first

    sample = load_sample()
    n = len(sample)
    score = np.linspace(1.0, 0.0, n).astype(np.float32)
    score[:5] = np.nan  # not scored
    quality = LabelQuality(score, flagged=np.arange(n) % 10 == 0, suggested=np.full(n, "happy", dtype=object))
    everything = filter_rows(sample, ImageFilter(), quality=quality)
    assert len(everything) == n  # no threshold: unscored rows stay
    low = filter_rows(sample, ImageFilter(max_quality=0.2), quality=quality)
    assert len(low) and (score[low] <= 0.2).all()
    flagged = filter_rows(sample, ImageFilter(issues_only=True), quality=quality)
    assert set(flagged) == set(np.flatnonzero(np.arange(n) % 10 == 0))
    ordered = worst_labels_first(everything, quality)
    assert ordered[0] == n - 1 and set(ordered[-5:]) == set(range(5))  # lowest quality first, unscored last


def test_label_quality_from_an_issue_table_leaves_unscored_rows_empty():
    import pandas as pd

    from core.data.filters import LabelQuality

    table = pd.DataFrame(
        {"row": [3, 1], "quality": [0.1, 0.9], "is_issue": [True, False], "suggested": ["sad", "happy"]}
    )
    quality = LabelQuality.from_table(table, 5)
    assert np.isnan(quality.score[[0, 2, 4]]).all() and np.allclose(quality.score[[1, 3]], [0.9, 0.1])
    assert quality.flagged.tolist() == [False, False, False, True, False]
    assert quality.suggested.tolist() == ["", "happy", "", "sad", ""]
    assert np.isnan(LabelQuality.from_table(None, 2).score).all()
