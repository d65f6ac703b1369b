"""Evaluating a checkpoint, and calibrating it (core/evaluation/evaluate.py)."""

from __future__ import annotations

import shutil

import numpy as np

from core.data.preprocessing import Preprocessing
from core.data.store import load_sample
from core.evaluation.evaluate import calibrate_checkpoint, evaluate_checkpoint
from core.inference.predictor import Predictor
from core.models.checkpoint import load_checkpoint


def test_reports_carry_calibration_and_match_the_accuracy(tiny_checkpoint):
    report = evaluate_checkpoint(tiny_checkpoint, ["PublicTest"], dataset=load_sample())
    public = report["reports"]["PublicTest"]
    calibration = public["calibration"]
    assert report["temperature"] == 1.0 and calibration["ece"] == calibration["ece_before"]
    assert sum(calibration["reliability"]["count"]) == public["n"]
    assert 0 <= calibration["ece"] <= 1


def test_calibration_is_fitted_on_public_test_stored_and_applied_by_the_predictor(tiny_checkpoint, tmp_path):
    checkpoint = tmp_path / "model.pt"
    shutil.copyfile(tiny_checkpoint, checkpoint)
    sample = load_sample()
    temperature = calibrate_checkpoint(checkpoint, dataset=sample)
    assert Preprocessing.from_payload(load_checkpoint(checkpoint)).temperature == temperature != 1.0
    report = evaluate_checkpoint(checkpoint, ["PublicTest", "PrivateTest"], dataset=sample)
    public = report["reports"]["PublicTest"]["calibration"]
    assert public["nll"] <= public["nll_before"] + 1e-9  # T minimises PublicTest NLL; T = 1 was a candidate
    faces = np.asarray(sample.images[:8])
    before, after = Predictor.load(tiny_checkpoint), Predictor.load(checkpoint)
    raw, calibrated = before.classify_crops(faces), after.classify_crops(faces)
    expected = np.exp(np.log(raw) / temperature)
    np.testing.assert_allclose(calibrated, expected / expected.sum(1, keepdims=True), rtol=1e-4, atol=1e-6)
    assert (calibrated.argmax(1) == raw.argmax(1)).all()


def test_another_label_source_scores_the_same_images_on_those_labels(tiny_checkpoint):
    sample = load_sample()
    own = evaluate_checkpoint(tiny_checkpoint, ["PublicTest"], dataset=sample)
    other = evaluate_checkpoint(tiny_checkpoint, ["PublicTest"], dataset=sample, labels="ferplus")
    assert other["label_source"] == "ferplus" and other["trained_on"] == own["label_source"] == "fer2013"
    public = sample.meta.loc[sample.meta["split"] == "PublicTest", "ferplus"]
    in_classes = public[public.isin(own["classes"])]  # no majority, contempt, unknown: left out
    assert other["reports"]["PublicTest"]["n"] == len(in_classes) < own["reports"]["PublicTest"]["n"]
    truth_counts = np.asarray(other["reports"]["PublicTest"]["confusion"]).sum(axis=1)  # rows: true labels
    assert truth_counts.tolist() == [int((in_classes == c).sum()) for c in own["classes"]]


def test_other_labels_may_leave_one_of_the_models_classes_empty():
    from core.paths import CHECKPOINTS_DIR

    # contempt has no image under FER2013's labels: training would refuse that class set, scoring must not
    report = evaluate_checkpoint(
        CHECKPOINTS_DIR / "ferplus_fernet.pt", ["PublicTest"], dataset=load_sample(), labels="fer2013", device="cpu"
    )
    public = report["reports"]["PublicTest"]
    truth_counts = np.asarray(public["confusion"]).sum(axis=1)
    assert "contempt" in report["classes"] and truth_counts[report["classes"].index("contempt")] == 0
    assert public["n"] == truth_counts.sum() > 0
