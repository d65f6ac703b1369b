"""Post-hoc logit adjustment for rare classes (core/evaluation/logit_adjust.py) and its path through the spec."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from core.cli.main import main
from core.data.preprocessing import Preprocessing, calibrated
from core.data.store import load_sample
from core.evaluation.calibration import postprocess
from core.evaluation.evaluate import evaluate_checkpoint
from core.evaluation.logit_adjust import (
    ADJUSTMENT_HEADING,
    adjust_checkpoint,
    adjustment_section,
    per_class_recall,
    tune_tau,
)
from core.evaluation.model_card import CALIBRATION_HEADING, with_section
from core.inference.predictor import Predictor
from core.models.checkpoint import load_checkpoint


def skewed_problem(seed: int = 0):
    """A model biased towards the common class 0: rare class 1's true scores are too low by log(9)."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(2, 2000, p=[0.9, 0.1])
    logits = rng.normal(size=(2000, 2)) + 1.5 * np.eye(2)[labels] + np.array([np.log(9), 0.0])
    return postprocess(np.exp(logits) / np.exp(logits).sum(1, keepdims=True)), labels


def test_tau_lifts_rare_recall_within_the_accuracy_budget():
    probs, labels = skewed_problem()
    tau, table = tune_tau(probs, labels, np.array([900, 100]), max_accuracy_drop=0.02)
    plain = table[0]
    chosen = next(row for row in table if row["tau"] == tau)
    assert tau > 0 and chosen["macro_recall"] > plain["macro_recall"]
    assert chosen["accuracy"] >= plain["accuracy"] - 0.02
    # with no accuracy to give, a tau that costs accuracy is refused
    strict, table = tune_tau(probs, labels, np.array([900, 100]), max_accuracy_drop=0.0)
    assert next(row for row in table if row["tau"] == strict)["accuracy"] >= plain["accuracy"]


def test_per_class_recall_counts_hits_per_true_class():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    assert per_class_recall(probs, np.array([0, 1, 1, 0]), 2).tolist() == [0.5, 0.5]


def test_the_spec_carries_the_bias_and_old_readers_see_no_new_key():
    spec = Preprocessing(logit_bias=(0.5, -0.5), temperature=2.0)
    assert Preprocessing.from_dict(spec.to_dict()) == spec
    assert "logit_bias" not in Preprocessing().to_dict()
    probs = np.array([[0.7, 0.3]])
    np.testing.assert_allclose(calibrated(probs, spec), postprocess(probs, 2.0, [0.5, -0.5]), rtol=1e-6)
    with pytest.raises(ValueError, match="3 classes"):
        calibrated(np.array([[0.2, 0.3, 0.5]]), spec)
    with pytest.raises(ValueError, match="finite"):
        Preprocessing(logit_bias=(float("nan"),))


def test_adjust_stores_the_bias_that_evaluate_and_the_predictor_apply(tiny_checkpoint, tmp_path):
    checkpoint = tmp_path / "model.pt"
    shutil.copyfile(tiny_checkpoint, checkpoint)
    sample = load_sample()
    result = adjust_checkpoint(checkpoint, dataset=sample, max_accuracy_drop=1.0)  # any tau allowed
    spec = Preprocessing.from_payload(load_checkpoint(checkpoint))
    assert result["tau"] > 0 and len(spec.logit_bias) == 7 and spec.temperature == result["temperature"]
    assert np.argmax(spec.logit_bias) == np.argmin(result["prior"])  # the rarest class is lifted most
    report = evaluate_checkpoint(checkpoint, ["PublicTest"], dataset=sample)
    assert report["reports"]["PublicTest"]["accuracy"] == pytest.approx(
        result["splits"]["PublicTest"]["after"]["accuracy"]
    )
    faces = np.asarray(sample.images[:8])
    raw = Predictor.load(tiny_checkpoint).classify_crops(faces)
    np.testing.assert_allclose(
        Predictor.load(checkpoint).classify_crops(faces),
        postprocess(raw, spec.temperature, spec.logit_bias),
        rtol=1e-4,
        atol=1e-6,
    )
    section = adjustment_section(result)
    assert section.startswith(ADJUSTMENT_HEADING) and "macro recall" in section and "disgust" in section


def test_the_section_goes_before_calibration_and_is_replaced_in_place():
    card = f"# m\n\n## Metrics\n\nx\n\n{CALIBRATION_HEADING}\n\nT\n"
    once = with_section(card, "## Rare", "## Rare\n\nfirst\n")
    assert once.index("## Rare") < once.index(CALIBRATION_HEADING)
    twice = with_section(once, "## Rare", "## Rare\n\nsecond\n")
    assert "first" not in twice and twice.count("## Rare") == 1 and CALIBRATION_HEADING in twice


def test_adjust_command_refuses_an_onnx_file(tmp_path, capsys):
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(b"")
    assert main(["adjust", "--checkpoint", str(onnx)]) == 1
    assert "export it again" in capsys.readouterr().err
