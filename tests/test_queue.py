"""The relabel queue (core/labels/queue.py): disputed first, the model term, relabeled last, no FERPlus data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data.classes import ALL_CLASSES, FER2013_CLASSES
from core.data.dataset import FerDataset, build_fer2013_dataset
from core.labels.queue import QUEUE_COLUMNS, QUEUE_EXPLANATION, disputed_queue, queue_explanation, reasons, vote_counts

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
    queue = disputed_queue(
        dataset, model_probabilities=confident(dataset, {7: "sad"}, 0.9), model_classes=FER2013_CLASSES
    )
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


def test_a_full_size_queue_puts_the_relabeled_images_last(dataset):
    """The queue at the full import's size (its speed is bench/bench_studio.py's business, not a test's)."""
    n = 35_887
    meta = pd.concat([dataset.meta] * (n // len(dataset) + 1), ignore_index=True).iloc[:n]
    meta["image_id"] = [f"fer{i:07d}" for i in range(n)]
    big = FerDataset(np.broadcast_to(dataset.images[:1], (n, 48, 48)), meta)
    probabilities = np.random.default_rng(0).dirichlet(np.ones(7), size=n)
    done = {f"fer{i:07d}": "happy" for i in range(0, n, 50)}
    queue = disputed_queue(big, done, probabilities, FER2013_CLASSES)
    assert len(queue) == n and queue["relabeled"].iloc[-len(done) :].all()
    assert set(queue["image_id"].iloc[-len(done) :]) == set(done)


def issues_table(dataset: FerDataset, quality: dict[int, float], flagged: tuple[int, ...] = ()) -> pd.DataFrame:
    """A `load_issues`-shaped table: quality 0.9 everywhere except `quality` (row -> quality)."""
    n = len(dataset)
    return pd.DataFrame(
        {
            "row": np.arange(n),
            "image_id": dataset.meta["image_id"],
            "split": dataset.meta["split"],
            "label": dataset.meta["label"],
            "suggested": dataset.meta["label"],
            "quality": [quality.get(r, 0.9) for r in range(n)],
            "is_issue": [r in flagged for r in range(n)],
        }
    )


def test_disputed_only_and_the_split_filter(dataset):
    queue = disputed_queue(dataset, disputed_only=True)
    assert queue["row"].tolist() == [0, 1] and queue["disputed"].all()  # the rest have 80% agreement
    public = disputed_queue(dataset, splits=["PublicTest"])
    assert set(public["split"]) == {"PublicTest"} and len(public) == 7
    flagged = issues_table(dataset, {}, flagged=(15,))  # a PrivateTest row flagged by confident learning
    assert disputed_queue(dataset, issues=flagged, disputed_only=True)["row"].tolist() == [0, 1, 15]
    assert (
        15
        not in disputed_queue(dataset, issues=flagged, disputed_only=True, splits=["Training", "PublicTest"])[
            "row"
        ].tolist()
    )


def test_label_quality_combines_with_the_votes(dataset):
    queue = disputed_queue(dataset, issues=issues_table(dataset, {9: 0.0}))
    assert queue["row"].tolist()[:3] == [0, 9, 1]  # 1.4 + 0.1, then 0.2 + 1.0, then 1.0 + 0.1
    assert queue.set_index("row").loc[9, "score"] == pytest.approx(0.2 + 1.0)
    assert "label quality 0%" in queue.set_index("row").loc[9, "reasons"]


def test_without_votes_quality_alone_orders(small_csvs):
    dataset = build_fer2013_dataset(small_csvs[0])
    queue = disputed_queue(
        dataset, issues=issues_table(dataset, {4: 0.1, 12: 0.3}, flagged=(4, 12)), disputed_only=True
    )
    assert queue["row"].tolist() == [4, 12]
    assert len(disputed_queue(dataset, disputed_only=True)) == len(dataset)  # no sign known: every image


def test_votes_use_the_key_names_in_key_order(dataset):
    votes = vote_counts(dataset, 0)
    assert list(votes) == [*ALL_CLASSES, "unknown", "not a face"]
    assert votes["neutral"] == 6 and votes["angry"] == 4 and sum(votes.values()) == 10


def test_the_explanation_names_the_signs_in_use():
    assert "FERPlus" in queue_explanation(True, True) and "quality" in queue_explanation(True, True)
    assert "FERPlus" not in queue_explanation(False, True) and "quality" in queue_explanation(False, True)
    assert "every image" in queue_explanation(False, False)
