"""Looking through a data set (core/inference/dataset_predictions.py): filters, pagination, the prediction cache."""
from __future__ import annotations

import numpy as np

from core.inference.dataset_predictions import (ImageFilter, dataset_probabilities, filter_rows, page,
                                                predictions_cache_path)
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


def test_probabilities_are_cached(tmp_path, monkeypatch, tiny_checkpoint):
    monkeypatch.setenv("FER_DATA_DIR", str(tmp_path / "data"))
    sample = load_sample()
    first = dataset_probabilities(sample, tiny_checkpoint)
    assert first.shape == (len(sample), 7) and np.allclose(first.sum(axis=1), 1, atol=1e-5)
    cache = predictions_cache_path(sample, tiny_checkpoint)
    assert list((tmp_path / "data" / "predictions").glob("*.npy")) == [cache]
    np.testing.assert_array_equal(np.load(cache), first)
    marked = np.roll(first, 1, axis=1)  # a different array in the cache file, and no model to compute one
    np.save(cache, marked)

    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded although its predictions are cached")

    monkeypatch.setattr("core.inference.predictor.Predictor.load", no_model)
    np.testing.assert_array_equal(dataset_probabilities(sample, tiny_checkpoint), marked)
