"""Evaluation metrics (confusion matrix, per-class and averaged precision/recall/F1) with numpy only.

The numbers follow scikit-learn's ``classification_report`` with ``zero_division=0`` (a class never predicted has
precision 0, a class never present has recall 0), without making scikit-learn a dependency. Reports are plain
JSON-able dicts so a run can save them next to its checkpoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

SPLIT_COLUMNS = {"Training": "Training Set", "PublicTest": "Public Test Set", "PrivateTest": "Private Test Set"}
REFERENCE_TABLE_ROWS = (
    ("Accuracy Score", "accuracy", None),
    ("F1 (wgt avg)", "weighted", "f1"),
    ("Precision (wgt avg)", "weighted", "precision"),
    ("Recall (wgt avg)", "weighted", "recall"),
)


def as_labels(values: np.ndarray | Sequence[int], num_classes: int, what: str) -> np.ndarray:
    """Return class indices as a 1-D int64 array; refuse fractions and labels outside [0, num_classes)."""
    array = np.asarray(values).reshape(-1)
    if array.size and not np.array_equal(array, np.round(array)):
        raise ValueError(f"{what} must be whole class indices")
    labels = array.astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"{what} has labels outside 0..{num_classes - 1}")
    return labels


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """(C, C) int64 counts; rows are the true class, columns the predicted class."""
    true = as_labels(y_true, num_classes, "y_true")
    pred = as_labels(y_pred, num_classes, "y_pred")
    if true.shape != pred.shape:
        raise ValueError(f"y_true has {true.size} labels but y_pred has {pred.size}")
    counts = np.bincount(true * num_classes + pred, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes).astype(np.int64)


def safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Elementwise division that gives 0.0 where the denominator is 0, without a RuntimeWarning."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    return np.divide(
        numerator, denominator, out=np.zeros(np.broadcast(numerator, denominator).shape), where=denominator != 0
    )


def per_class_scores(confusion: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and support of every class, from a confusion matrix."""
    hits = np.diag(confusion)
    predicted, support = confusion.sum(axis=0), confusion.sum(axis=1)
    precision, recall = safe_divide(hits, predicted), safe_divide(hits, support)
    # 2TP / (2TP + FP + FN) equals the harmonic mean where it exists and is 0 where sklearn gives 0.
    f1 = safe_divide(2 * hits, predicted + support)
    return {"precision": precision, "recall": recall, "f1": f1, "support": support}


def classification_report(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str]) -> dict:
    """Accuracy, per-class, macro and support-weighted precision/recall/F1, and the confusion matrix."""
    classes = [str(name) for name in classes]
    confusion = confusion_matrix(y_true, y_pred, len(classes))
    scores = per_class_scores(confusion)
    support = scores["support"]
    total = int(support.sum())
    weights = safe_divide(support, total)
    names = ("precision", "recall", "f1")
    return {
        "accuracy": float(safe_divide(np.trace(confusion), total)),
        "n": total,
        "per_class": {
            name: {**{key: float(scores[key][i]) for key in names}, "support": int(support[i])}
            for i, name in enumerate(classes)
        },
        # Every listed class counts in the macro mean, even one absent from this split (as sklearn with labels=).
        "macro": {key: float(scores[key].mean()) if classes else 0.0 for key in names},
        "weighted": {key: float((scores[key] * weights).sum()) for key in names},
        "confusion": confusion.tolist(),
        "classes": classes,
    }


def reference_table(reports: dict[str, dict]) -> str:
    """Markdown table of accuracy and weighted F1/precision/recall per split, laid out like reference 001's README."""
    unknown = sorted(set(reports) - set(SPLIT_COLUMNS))
    if unknown:
        raise ValueError(f"unknown split(s) {unknown}; expected some of {list(SPLIT_COLUMNS)}")
    splits = [split for split in SPLIT_COLUMNS if split in reports]
    lines = ["|  | " + " | ".join(SPLIT_COLUMNS[split] for split in splits) + " |", "| --- |" + " --- |" * len(splits)]
    for label, section, key in REFERENCE_TABLE_ROWS:
        values = [reports[split][section] if key is None else reports[split][section][key] for split in splits]
        lines.append(f"| {label} | " + " | ".join(f"{value:.4f}" for value in values) + " |")
    return "\n".join(lines) + "\n"


def plot_confusion(confusion: np.ndarray | list, classes: Sequence[str], path: str | Path, title: str = "") -> Path:
    """Save a confusion-matrix PNG: colours by row share, each cell labelled with its count and row percent."""
    # The object API with an Agg canvas never touches pyplot's global figure list or a display, so it is safe
    # in Streamlit threads and on headless servers, and the figure is freed once it goes out of scope.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    counts = np.asarray(confusion, dtype=np.int64)
    if counts.shape != (len(classes), len(classes)):
        raise ValueError(f"confusion matrix is {counts.shape} but there are {len(classes)} classes")
    shares = safe_divide(counts, counts.sum(axis=1, keepdims=True))
    side = 1.5 + 0.9 * len(classes)
    figure = Figure(figsize=(side + 1.2, side), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    image = axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=axes, label="share of the true class")
    for (row, col), count in np.ndenumerate(counts):
        colour = "white" if shares[row, col] > 0.5 else "black"  # keep the text readable on dark cells
        axes.text(col, row, f"{count}\n{shares[row, col]:.0%}", ha="center", va="center", color=colour, fontsize=8)
    axes.set_xticks(range(len(classes)), list(classes), rotation=45, ha="right")
    axes.set_yticks(range(len(classes)), list(classes))
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    if title:
        axes.set_title(title)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=100)
    return path
