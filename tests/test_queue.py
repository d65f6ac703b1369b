"""The relabel queue (core/labels/queue.py): disputed first, the model term, relabeled last, no FERPlus data."""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from core.data.classes import FER2013_CLASSES
from core.data.dataset import FerDataset, build_fer2013_dataset
from core.labels.queue import QUEUE_COLUMNS, QUEUE_EXPLANATION, disputed_queue, reasons

# the small_csvs fixture: row 0 FER2013 angry vs FERPlus neutral (60% agreement), row 1 all votes "not a face",
# every other row 80% agreement with FER2013


@pytest.fixture
def dataset(small_csvs) -> FerDataset:
    fer_path, plus_path, _ = small_csvs
    return build_fer2013_dataset(fer_path, plus_path)


def confident(dataset: FerDataset, overrides: dict[int, str], confidence: float = 0.95) -> np.ndarray:
    """Model probabilities that agree with FER2013 everywhere except `overrides` (row -> predicted class)."""
    n, k = len(dataset), len(FER2013_CLASSES)
    probabilities = np.full((n, k), (1 - confidence) / (k - 1))
    predicted = [FER2013_CLASSES.index(overrides.get(row, label)) for row, label in enumerate(dataset.meta["label"])]
    probabilities[np.arange(n), predicted] = confidence
    return probabilities


def test_disagreeing_and_low_agreement_images_come_first(dataset):
    queue = disputed_queue(dataset)
    assert list(queue.columns) == list(QUEUE_COLUMNS) and len(queue) == len(dataset)
    assert queue["row"].tolist()[:3] == [0, 1, 2]  # 1 + 0.4, then 1.0 (all "not a face"), then the 0.2 ties
    assert queue["score"].tolist()[:3] == pytest.approx([1.4, 1.0, 0.2])
    assert queue["score"].is_monotonic_decreasing and queue["row"].iloc[2:].is_monotonic_increasing
    assert queue["reasons"][0] == "FER2013 says angry, FERPlus says neutral; FERPlus agreement 60%"
    assert queue["reasons"][1] == "FERPlus agreement 100%; 100% of FERPlus votes say not a face"


def test_a_confidently_contradicting_model_moves_an_image_up(dataset):
    probabilities = confident(dataset, {5: "happy"})  # FER2013 says surprise
    queue = disputed_queue(dataset, model_probabilities=probabilities, model_classes=list(FER2013_CLASSES))
    assert queue["row"].tolist()[:3] == [0, 5, 1]
    top = queue.iloc[1]
    assert top["model_label"] == "happy" and top["model_confidence"] == pytest.approx(0.95)
    assert top["score"] == pytest.approx(0.2 + 0.95)
    assert top["reasons"].endswith("model says happy (95%)")
    assert (queue.loc[queue["row"] != 5, "model_term"] == 0).all()  # agreeing with the label adds nothing


def test_model_compares_with_the_current_label_not_the_original(dataset):
    probabilities = confident(dataset, {5: "happy"})
    queue = disputed_queue(dataset, {"fer0000005": "happy"}, probabilities, FER2013_CLASSES)
    assert queue.set_index("row").loc[5, "model_term"] == 0


def test_relabeled_images_go_last_or_leave(dataset):
    done = {"fer0000000": "neutral", "fer0000001": "not_a_face"}
    queue = disputed_queue(dataset, done)
    assert queue["row"].tolist()[-2:] == [0, 1] and queue["relabeled"].tolist()[-2:] == [True, True]
    assert not queue["relabeled"].iloc[:-2].any()
    last = queue.set_index("row").loc[0]
    assert last["label"] == "neutral" and last["original"] == "angry"
    assert last["reasons"].startswith("relabeled as neutral; FER2013 says angry")
    remaining = disputed_queue(dataset, done, include_done=False)
    assert len(remaining) == len(dataset) - 2 and not {0, 1} & set(remaining["row"])


def test_without_ferplus_only_the_model_counts(small_csvs):
    fer_path, _, _ = small_csvs
    dataset = build_fer2013_dataset(fer_path)
    plain = disputed_queue(dataset)
    assert (plain["score"] == 0).all() and plain["row"].tolist() == list(range(len(dataset)))
    assert (plain["reasons"] == "no sign of a wrong label").all() and (plain["ferplus"] == "").all()
    queue = disputed_queue(dataset, model_probabilities=confident(dataset, {7: "sad"}, 0.9),
                           model_classes=FER2013_CLASSES)
    assert queue["row"][0] == 7 and queue["score"][0] == pytest.approx(0.9)
    assert queue["reasons"][0] == "model says sad (90%)"


def test_reasons_of_one_row_match_the_column(dataset):
    queue = disputed_queue(dataset, {"fer0000003": "contempt"}, confident(dataset, {4: "fear"}), FER2013_CLASSES)
    for position in range(len(queue)):
        assert reasons(queue.iloc[position]) == queue["reasons"][position]
    assert "score" in QUEUE_EXPLANATION and "relabeled" in QUEUE_EXPLANATION


def test_model_arguments_are_checked(dataset):
    with pytest.raises(ValueError, match="model_classes"):
        disputed_queue(dataset, model_probabilities=np.ones((len(dataset), 7)) / 7)
    with pytest.raises(ValueError, match="shape"):
        disputed_queue(dataset, model_probabilities=np.ones((3, 7)) / 7, model_classes=FER2013_CLASSES)
    with pytest.raises(ValueError, match="unknown class"):
        disputed_queue(dataset, model_probabilities=np.ones((len(dataset), 2)) / 2, model_classes=["happy", "meh"])


def test_full_size_queue_is_fast(dataset):
    n = 35_887
    meta = pd.concat([dataset.meta] * (n // len(dataset) + 1), ignore_index=True).iloc[:n]
    meta["image_id"] = [f"fer{i:07d}" for i in range(n)]
    big = FerDataset(np.broadcast_to(dataset.images[:1], (n, 48, 48)), meta)
    probabilities = np.random.default_rng(0).dirichlet(np.ones(7), size=n)
    done = {f"fer{i:07d}": "happy" for i in range(0, n, 50)}
    timings = []
    for _ in range(2):
        start = time.perf_counter()
        queue = disputed_queue(big, done, probabilities, FER2013_CLASSES)
        timings.append(time.perf_counter() - start)
    assert len(queue) == n and queue["relabeled"].iloc[-len(done):].all()
    assert min(timings) < 1.0, f"queue of {n} rows took {min(timings):.2f} s"
