"""Whether a 70 % means 70 %: expected calibration error, reliability diagrams, and the post-processing that
checkpoints carry (temperature scaling and a per-class logit bias), fitted on PublicTest, never on PrivateTest.

Post-processing acts on the log of the (TTA-averaged) probabilities: `softmax((log p + bias) / T)`. With no TTA
that is exactly temperature scaling of the logits plus logit adjustment; it is numpy-only so the torch-free
prediction path applies the same function.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

BINS = 15


def postprocess(probs: np.ndarray, temperature: float = 1.0, bias: Sequence[float] | None = None) -> np.ndarray:
    """Calibrated probabilities (rows sum to 1)."""
    logits = np.log(np.clip(probs, 1e-12, 1.0))
    if bias is not None:
        logits = logits + np.asarray(bias, dtype=logits.dtype)
    logits = logits / temperature
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def reliability(probs: np.ndarray, labels: np.ndarray, bins: int = BINS) -> dict[str, np.ndarray]:
    """Per confidence bin: mean confidence, accuracy and image count (equal-width bins over [0, 1])."""
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    count = np.bincount(which, minlength=bins)
    mean_conf = np.bincount(which, confidence, minlength=bins) / np.maximum(count, 1)
    accuracy = np.bincount(which, correct.astype(float), minlength=bins) / np.maximum(count, 1)
    return {"confidence": mean_conf, "accuracy": accuracy, "count": count}


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = BINS) -> float:
    """ECE: the count-weighted gap between confidence and accuracy over the bins."""
    table = reliability(probs, labels, bins)
    return float((table["count"] * np.abs(table["confidence"] - table["accuracy"])).sum() / max(len(labels), 1))


def negative_log_likelihood(probs: np.ndarray, labels: np.ndarray) -> float:
    return float(-np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-12, 1.0)).mean())


def fit_temperature(probs: np.ndarray, labels: np.ndarray, bias: Sequence[float] | None = None) -> float:
    """The temperature minimising the NLL of `labels` (golden-section search over log T in [1/8, 8])."""

    def loss(log_t: float) -> float:
        return negative_log_likelihood(postprocess(probs, float(np.exp(log_t)), bias), labels)

    low, high, ratio = np.log(0.125), np.log(8.0), (np.sqrt(5) - 1) / 2
    for _ in range(60):
        a, b = high - ratio * (high - low), low + ratio * (high - low)
        low, high = (low, b) if loss(a) < loss(b) else (a, high)
    return float(np.exp((low + high) / 2))


def logit_adjustment(class_counts: np.ndarray, tau: float) -> np.ndarray:
    """Menon et al.'s post-hoc logit adjustment: subtract tau * log(prior), which lifts rare classes."""
    prior = np.maximum(class_counts, 1) / np.maximum(class_counts, 1).sum()
    return -tau * np.log(prior)


def calibration_summary(before: np.ndarray, after: np.ndarray, labels: np.ndarray) -> dict:
    """ECE and NLL of one split's probabilities before and after calibration, and the calibrated reliability bins
    (plain lists, for report.json)."""
    table = reliability(after, labels)
    return {
        "ece": expected_calibration_error(after, labels),
        "ece_before": expected_calibration_error(before, labels),
        "nll": negative_log_likelihood(after, labels),
        "nll_before": negative_log_likelihood(before, labels),
        "reliability": {key: value.tolist() for key, value in table.items()},
        "reliability_before": {key: value.tolist() for key, value in reliability(before, labels).items()},
    }


def plot_reliability(before: dict, after: dict | None, path: str | Path, title: str = "") -> Path:
    """A reliability diagram: accuracy per confidence bin against the diagonal, before and after calibration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(4.2, 4.2), dpi=110)
    axis.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1, label="perfectly calibrated")
    for table, name, colour in ((before, "before", "#d62728"), (after, "after temperature", "#1f77b4")):
        if table is None:
            continue
        count, confidence, accuracy = (np.asarray(table[key]) for key in ("count", "confidence", "accuracy"))
        axis.plot(confidence[count > 0], accuracy[count > 0], marker="o", color=colour, label=name)
    axis.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence", ylabel="accuracy", title=title)
    axis.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return Path(path)
