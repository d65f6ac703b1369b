"""int8 static quantization of an exported classifier (core/export/quantize.py) and evaluating .onnx files."""
from __future__ import annotations

import numpy as np
import pytest

from core.data.store import load_sample
from core.evaluation.evaluate import calibrate_checkpoint, evaluate_checkpoint
from core.export.onnx import export_onnx, read_metadata
from core.export.quantize import agreement, calibration_faces, quantize_classifier


@pytest.fixture(scope="module")
def exports(tiny_checkpoint, tmp_path_factory):
    folder = tmp_path_factory.mktemp("quantize")
    fp32 = export_onnx(tiny_checkpoint, folder / "fp32.onnx")
    int8 = quantize_classifier(fp32, folder / "int8.onnx", calibration_faces(load_sample(), count=64))
    return fp32, int8


def test_calibration_faces_come_from_training_only():
    sample = load_sample()
    faces = calibration_faces(sample, count=10_000)
    training = np.asarray(sample.images)[sample.meta["split"].to_numpy() == "Training"]
    assert len(faces) == len(training)  # capped at what exists, every one a Training face
    assert {face.tobytes() for face in faces} <= {face.tobytes() for face in training}


def test_int8_file_keeps_the_metadata_and_says_how_it_was_made(exports):
    fp32, int8 = exports
    before, after = read_metadata(fp32), read_metadata(int8)
    assert after["classes"] == before["classes"] and after["preprocessing"] == before["preprocessing"]
    assert after["quantization"]["calibration"] == "64 Training faces"
    assert int8.stat().st_size < fp32.stat().st_size / 2  # int8 weights


def test_int8_model_mostly_agrees_with_fp32(exports):
    fp32, int8 = exports
    assert agreement(fp32, int8, np.asarray(load_sample().images)) >= 0.8


def test_evaluate_scores_onnx_files_like_the_checkpoint(tiny_checkpoint, exports):
    sample = load_sample()
    torch_report = evaluate_checkpoint(tiny_checkpoint, ["PublicTest"], dataset=sample)["reports"]["PublicTest"]
    onnx_result = evaluate_checkpoint(exports[0], ["PublicTest"], dataset=sample)
    onnx_report = onnx_result["reports"]["PublicTest"]
    assert onnx_result["classes"] == read_metadata(exports[0])["classes"]
    assert onnx_report["n"] == torch_report["n"]
    assert onnx_report["accuracy"] == pytest.approx(torch_report["accuracy"], abs=1 / torch_report["n"])


def test_calibrating_an_onnx_file_is_refused_with_the_way_out(exports):
    with pytest.raises(ValueError, match="calibrate the .pt checkpoint"):
        calibrate_checkpoint(exports[0], dataset=load_sample())
