"""Calibration: ECE, temperature fitting, logit adjustment."""

from __future__ import annotations

import numpy as np

from core.evaluation.calibration import (
    expected_calibration_error,
    fit_temperature,
    logit_adjustment,
    plot_reliability,
    postprocess,
    reliability,
)


def overconfident(n: int = 4000, classes: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities from logits sharpened x3 relative to the ones the labels were drawn from."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.5, (n, classes))
    true = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    labels = np.array([rng.choice(classes, p=p) for p in true])
    return postprocess(true, temperature=1 / 3), labels


def test_temperature_recovers_the_sharpening_and_lowers_ece():
    probs, labels = overconfident()
    temperature = fit_temperature(probs, labels)
    assert 2.5 < temperature < 3.5
    assert expected_calibration_error(postprocess(probs, temperature), labels) < 0.5 * expected_calibration_error(
        probs, labels
    )


def test_postprocess_keeps_rows_normalised_and_the_argmax_without_bias():
    probs, _ = overconfident(200)
    calibrated = postprocess(probs, 2.0)
    assert np.allclose(calibrated.sum(1), 1) and (calibrated.argmax(1) == probs.argmax(1)).all()
    assert np.allclose(postprocess(probs, 1.0), probs, atol=1e-6)


def test_ece_is_zero_when_confidence_matches_accuracy_and_bins_count_everything():
    probs = np.tile([0.75, 0.25], (8, 1))
    labels = np.array([0, 0, 0, 1] * 2)  # 75 % right at 75 % confidence
    assert expected_calibration_error(probs, labels) == 0.0
    assert reliability(probs, labels)["count"].sum() == 8


def test_logit_adjustment_lifts_rare_classes():
    bias = logit_adjustment(np.array([900, 100]), tau=1.0)
    adjusted = postprocess(np.array([[0.6, 0.4]]), bias=bias)
    assert bias[1] > bias[0] and adjusted[0].argmax() == 1


def test_reliability_diagram_is_written(tmp_path):
    probs, labels = overconfident(500)
    path = plot_reliability(
        reliability(probs, labels), reliability(postprocess(probs, 3.0), labels), tmp_path / "r.png"
    )
    assert path.stat().st_size > 1000
