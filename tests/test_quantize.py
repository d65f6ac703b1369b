"""int8 static quantization of an exported classifier (core/export/quantize.py) and evaluating .onnx files."""

from __future__ import annotations

import numpy as np
import pytest

from core.data.store import load_sample
from core.evaluation.evaluate import calibrate_checkpoint, evaluate_checkpoint
from core.export.onnx import export_onnx, read_metadata
from core.export.quantize import agreement, calibration_faces, quantize_checkpoint, quantize_classifier


def training_count(dataset) -> int:
    return int((dataset.meta["split"] == "Training").sum())


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


def test_quantize_checkpoint_exports_quantizes_and_compares_without_printing(tiny_checkpoint, tmp_path, capsys):
    sample = load_sample()
    faces = np.asarray(sample.images)[:40]
    made = quantize_checkpoint(tiny_checkpoint, tmp_path / "out" / "int8.onnx", sample, faces)
    assert made.path == tmp_path / "out" / "int8.onnx" and made.path.is_file()
    assert list(tmp_path.iterdir()) == [tmp_path / "out"]  # the fp32 export went to a scratch folder
    assert made.calibration_faces == training_count(sample)
    fp32 = export_onnx(tiny_checkpoint, tmp_path / "fp32.onnx")
    assert made.agreement == agreement(fp32, made.path, faces)
    assert capsys.readouterr().out == ""


def test_export_onnx_int8_command_writes_the_file_and_reports_the_agreement(tiny_checkpoint, tmp_path, capsys):
    from core.cli.main import main

    sample = load_sample()
    training = training_count(sample)
    out = tmp_path / "model_int8.onnx"
    assert main(["export-onnx", "--checkpoint", str(tiny_checkpoint), "--out", str(out), "--int8"]) == 0
    printed = capsys.readouterr().out
    assert read_metadata(out)["quantization"]["calibration"] == f"{training} Training faces"
    assert f"wrote {out} (" in printed and f"int8, calibrated on {training} Training faces" in printed
    fp32 = export_onnx(tiny_checkpoint, tmp_path / "fp32.onnx")
    same = agreement(fp32, out, np.asarray(sample.images))
    assert f"top class as fp32 on {same:.1%} of {len(sample)} sample faces" in printed


def test_ship_int8_writes_the_int8_file_and_its_card_beside_the_checkpoint(tiny_checkpoint, tmp_path, capsys):
    import shutil

    from core.evaluation.model_card import ship_int8

    checkpoint = tmp_path / "demo.pt"
    shutil.copyfile(tiny_checkpoint, checkpoint)
    sample = load_sample()
    target = ship_int8(checkpoint, dataset=sample)
    assert target == tmp_path / "demo_int8.onnx" and target.is_file()
    assert capsys.readouterr().out == ""  # core reports through its return value and the card, never prints
    card = (tmp_path / "demo_int8.md").read_text()
    training = training_count(sample)
    assert read_metadata(target)["quantization"]["calibration"] == f"{training} Training faces"
    assert f"MinMax ranges taken on {training:,} Training faces" in card
    tests = np.asarray(sample.images)[sample.meta["split"].to_numpy() != "Training"]
    same = agreement(export_onnx(checkpoint, tmp_path / "fp32.onnx"), target, tests)
    assert f"top class equal to fp32's on {same:.2%} of the PublicTest + PrivateTest faces" in card
    row = next(line for line in card.splitlines() if line.startswith("| PrivateTest |"))
    int8_plain = evaluate_checkpoint(target, ["PrivateTest"], tta="none", dataset=sample)["reports"]["PrivateTest"]
    assert row.split("|")[3].strip() == f"{int8_plain['accuracy']:.2%}"  # columns: fp32, int8 without TTA, ...
