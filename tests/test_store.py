"""The data-set store: atomic imports, fast loads, the shipped sample."""

from __future__ import annotations

import numpy as np
import pytest

from core.data.dataset import build_fer2013_dataset
from core.data.fer2013 import SPLITS
from core.data.store import current_dataset_dir, load_dataset, load_sample, make_sample, save_dataset


def test_save_then_load_round_trips(small_csvs, tmp_path):
    fer_path, plus_path, faces = small_csvs
    dataset = build_fer2013_dataset(fer_path, plus_path)
    save_dataset(dataset, tmp_path / "data")
    loaded = load_dataset(tmp_path / "data", fallback_to_sample=False)
    np.testing.assert_array_equal(loaded.images, faces)
    assert loaded.meta.equals(dataset.meta)
    assert loaded.info["n_images"] == 21 and not loaded.is_sample


def test_new_import_replaces_old_and_cleans_up(small_csvs, tmp_path):
    fer_path, plus_path, _ = small_csvs
    root = tmp_path / "data"
    first = save_dataset(build_fer2013_dataset(fer_path), root)
    second = save_dataset(build_fer2013_dataset(fer_path, plus_path), root)
    assert current_dataset_dir(root) == second and not first.exists()
    assert load_dataset(root).has_ferplus


def test_failed_write_leaves_previous_data_set(small_csvs, tmp_path, monkeypatch):
    fer_path, plus_path, _ = small_csvs
    root = tmp_path / "data"
    save_dataset(build_fer2013_dataset(fer_path, plus_path), root)
    broken = build_fer2013_dataset(fer_path)

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("core.data.store.os.rename", fail)
    with pytest.raises(OSError):
        save_dataset(broken, root)
    assert load_dataset(root).has_ferplus  # the previous import is intact and current
    assert [p.name for p in (root / "datasets").iterdir()] == [current_dataset_dir(root).name]


def test_without_import_the_sample_is_used(tmp_path):
    dataset = load_dataset(tmp_path / "nothing")
    assert dataset.is_sample and dataset.has_ferplus
    with pytest.raises(FileNotFoundError, match="import-data"):
        load_dataset(tmp_path / "nothing", fallback_to_sample=False)


def test_shipped_sample_covers_every_class_in_every_split():
    sample = load_sample()
    assert 200 <= len(sample) <= 1000 and sample.images.shape[1:] == (48, 48)
    fer = sample.class_counts("fer2013")
    plus = sample.class_counts("ferplus")
    assert list(fer.index) == list(SPLITS) and fer.shape[1] == 7 and (fer.to_numpy() > 0).all()
    assert plus.shape[1] == 8 and (plus.to_numpy() > 0).all()


def test_make_sample_is_stratified(small_csvs):
    fer_path, plus_path, _ = small_csvs
    sample = make_sample(build_fer2013_dataset(fer_path, plus_path), per_class=1)
    assert set(sample.meta["split"]) == set(SPLITS)
    assert sample.info["is_sample"] and sample.info["n_images"] == len(sample)
