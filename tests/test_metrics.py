"""Metrics: confusion matrix, classification report (checked by hand), the seed table and the confusion plot."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from core.evaluation.metrics import classification_report, confusion_matrix, plot_confusion, reference_table

CLASSES = ["happy", "sad", "neutral"]
# supports 3, 2, 5; confusion rows [2 1 0] [0 1 1] [1 1 3]; predicted counts 3, 3, 4
Y_TRUE = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 2])
Y_PRED = np.array([0, 1, 0, 1, 2, 2, 2, 0, 2, 1])


def test_confusion_matrix_rows_true_columns_predicted():
    matrix = confusion_matrix(Y_TRUE, Y_PRED, 3)
    assert matrix.dtype == np.int64
    assert matrix.tolist() == [[2, 1, 0], [0, 1, 1], [1, 1, 3]]
    assert confusion_matrix([], [], 2).tolist() == [[0, 0], [0, 0]]


@pytest.mark.parametrize(
    "y_true,y_pred,message",
    [([0, 3], [0, 1], "outside"), ([0, -1], [0, 1], "outside"), ([0, 1], [0], "labels but"), ([0.5], [0], "whole")],
)
def test_confusion_matrix_refuses_bad_labels(y_true, y_pred, message):
    with pytest.raises(ValueError, match=message):
        confusion_matrix(np.array(y_true), np.array(y_pred), 3)


def test_report_matches_hand_computation():
    report = classification_report(Y_TRUE, Y_PRED, CLASSES)
    assert report["accuracy"] == pytest.approx(0.6) and report["n"] == 10
    expected = {"happy": (2 / 3, 2 / 3, 2 / 3, 3), "sad": (1 / 3, 1 / 2, 0.4, 2), "neutral": (3 / 4, 3 / 5, 2 / 3, 5)}
    for name, (precision, recall, f1, support) in expected.items():
        scores = report["per_class"][name]
        assert scores["precision"] == pytest.approx(precision) and scores["recall"] == pytest.approx(recall)
        assert scores["f1"] == pytest.approx(f1) and scores["support"] == support
    assert report["macro"] == pytest.approx(
        {"precision": 1.75 / 3, "recall": (2 / 3 + 1 / 2 + 3 / 5) / 3, "f1": (2 / 3 + 0.4 + 2 / 3) / 3}
    )
    assert report["weighted"] == pytest.approx(
        {"precision": (2 + 2 / 3 + 3.75) / 10, "recall": 0.6, "f1": (2 + 0.8 + 10 / 3) / 10}
    )
    assert report["confusion"] == [[2, 1, 0], [0, 1, 1], [1, 1, 3]] and report["classes"] == CLASSES
    assert json.loads(json.dumps(report)) == report  # plain JSON types only


def test_class_never_predicted_or_absent_scores_zero_without_warnings():
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        report = classification_report([0, 0, 1, 1], [0, 0, 0, 0], ["a", "b", "c"])
        empty = classification_report([], [], ["a", "b"])
    assert report["per_class"]["b"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2}
    assert report["per_class"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert report["per_class"]["a"]["precision"] == pytest.approx(0.5)
    assert report["macro"]["precision"] == pytest.approx(0.5 / 3)  # absent classes still count, as in sklearn
    assert empty["accuracy"] == 0.0 and empty["n"] == 0 and empty["weighted"]["f1"] == 0.0


def reference_scores(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> list[tuple[float, float, float]]:
    """Per-class precision, recall and F1 by counting, the textbook way, as an independent check."""
    rows = []
    for c in range(num_classes):
        tp = sum(t == c and p == c for t, p in zip(y_true, y_pred))
        fp = sum(t != c and p == c for t, p in zip(y_true, y_pred))
        fn = sum(t == c and p != c for t, p in zip(y_true, y_pred))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        rows.append((precision, recall, 2 * precision * recall / (precision + recall) if tp else 0.0))
    return rows


def test_report_matches_reference_on_random_labels():
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 5, 300), rng.integers(0, 4, 300)  # class 4 is never predicted
    report = classification_report(y_true, y_pred, list("abcde"))
    for name, expected in zip("abcde", reference_scores(y_true, y_pred, 5)):
        scores = report["per_class"][name]
        assert (scores["precision"], scores["recall"], scores["f1"]) == pytest.approx(expected)
    assert report["accuracy"] == pytest.approx(float(np.mean(y_true == y_pred)))


def test_seed_table_rows_and_present_splits_only():
    report = classification_report(Y_TRUE, Y_PRED, CLASSES)
    table = reference_table({"PrivateTest": report, "Training": report})
    lines = table.strip().splitlines()
    assert lines[0] == "|  | Training Set | Private Test Set |"
    assert [line.split("|")[1].strip() for line in lines[2:]] == [
        "Accuracy Score",
        "F1 (wgt avg)",
        "Precision (wgt avg)",
        "Recall (wgt avg)",
    ]
    assert lines[2] == "| Accuracy Score | 0.6000 | 0.6000 |"
    assert lines[4] == "| Precision (wgt avg) | 0.6417 | 0.6417 |"
    full = reference_table({"Training": report, "PublicTest": report, "PrivateTest": report})
    assert full.splitlines()[0] == "|  | Training Set | Public Test Set | Private Test Set |"
    with pytest.raises(ValueError, match="unknown split"):
        reference_table({"Validation": report})


def test_plot_confusion_writes_png(tmp_path):
    path = plot_confusion([[2, 1, 0], [0, 1, 1], [0, 0, 0]], CLASSES, tmp_path / "plots" / "cm.png", title="test")
    data = path.read_bytes()
    assert path.parent == tmp_path / "plots" and data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
    with pytest.raises(ValueError, match="classes"):
        plot_confusion(np.zeros((2, 2)), CLASSES, tmp_path / "bad.png")
