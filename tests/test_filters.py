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
