"""A model's predictions over a data set, cached on disk (core/inference/dataset_predictions.py)."""

from __future__ import annotations

import numpy as np

from core.data.store import load_sample
from core.inference.dataset_predictions import dataset_probabilities, predictions_cache_path


def test_probabilities_are_cached(tmp_path, monkeypatch, tiny_checkpoint):
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


def test_the_same_checkpoint_elsewhere_finds_the_cache_and_another_one_does_not(tmp_path, tiny_checkpoint):
    import shutil

    sample = load_sample()
    copy = tmp_path / "another_checkout" / "best.pt"
    copy.parent.mkdir()
    shutil.copyfile(tiny_checkpoint, copy)  # a fresh clone: same bytes, another path and time
    assert predictions_cache_path(sample, copy) == predictions_cache_path(sample, tiny_checkpoint)
    copy.write_bytes(copy.read_bytes() + b"\0")
    assert predictions_cache_path(sample, copy) != predictions_cache_path(sample, tiny_checkpoint)
