"""The preprocessing + TTA spec: round trips (checkpoint, ONNX), torch and numpy agreeing, training evaluation and
the Predictor seeing the same views, and the shipped checkpoints giving the numbers they gave before the spec."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest
import torch

from core.data.preprocessing import (
    TTA_MODES,
    Preprocessing,
    calibrated,
    to_model_input,
    to_model_input_torch,
    view_numpy,
    view_torch,
)
from core.data.store import load_sample
from core.inference.predictor import Predictor
from core.models.checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
from core.models.probabilities import predict_probabilities
from core.models.registry import create_model
from core.paths import REPO_ROOT

SHIPPED = {name: REPO_ROOT / "checkpoints" / f"{name}.pt" for name in ("fer2013_fernet", "ferplus_fernet")}
# Probabilities the shipped checkpoints gave for sample faces 0-7 before the spec existed (Predictor.classify_crops
# with tta off and on: flip), written by the old code
REFERENCE = REPO_ROOT / "tests" / "shipped_probabilities.npz"


def tiny_checkpoint(path, preprocessing: Preprocessing):
    model = create_model("fernet", num_classes=7, width=0.25)
    config = {"model": "fernet", "model_options": {"width": 0.25}, "label_source": "fer2013"}
    return save_checkpoint(
        path, model, config=config, classes=list("abcdefg"), preprocessing=preprocessing, metrics={}, epoch=1
    )


def faces(n: int = 8) -> np.ndarray:
    return np.array(load_sample().images[:n])  # a writable copy: torch.from_numpy warns on read-only arrays


def test_the_spec_round_trips_and_refuses_nonsense():
    spec = Preprocessing(input_size=64, mean=0.4, std=0.3, tta="tencrop")
    assert Preprocessing.from_dict(spec.to_dict()) == spec
    with pytest.raises(ValueError, match="tta must be one of none, flip, tencrop"):
        Preprocessing(tta="rotate")
    with pytest.raises(ValueError, match="resize_filter"):
        Preprocessing(resize_filter="nearest")
    with pytest.raises(ValueError, match="unknown preprocessing keys: crop"):
        Preprocessing.from_dict({"crop": 0.9})
    with pytest.raises(AttributeError):
        spec.tta = "flip"  # frozen: nobody changes a shared predictor's TTA under another caller


@pytest.mark.parametrize("name", list(SHIPPED))
def test_old_checkpoints_get_their_spec_from_their_old_keys(name):
    payload = load_checkpoint(SHIPPED[name])
    legacy = {key: value for key, value in payload.items() if key != "preprocessing"}  # as saved before the spec
    assert Preprocessing.from_payload(legacy) == Preprocessing(48, "bilinear", 0.5, 0.5, "flip")
    spec = Predictor.load(SHIPPED[name], device="cpu").preprocessing
    assert dataclasses.replace(spec, temperature=1.0) == Preprocessing(48, "bilinear", 0.5, 0.5, "flip")


def test_the_spec_round_trips_through_checkpoint_and_onnx(tmp_path):
    from core.export.onnx import check_parity, export_onnx, read_metadata

    spec = Preprocessing(input_size=40, mean=0.45, std=0.25, tta="tencrop")
    path = tiny_checkpoint(tmp_path / "tiny.pt", spec)
    assert Preprocessing.from_payload(load_checkpoint(path)) == spec
    onnx_path = export_onnx(path, tmp_path / "tiny.onnx")
    assert Preprocessing.from_payload(read_metadata(onnx_path)) == spec
    assert Predictor.load(onnx_path).preprocessing == spec
    assert check_parity(path, onnx_path) < 1e-4


@pytest.mark.parametrize("source, size", [(48, 48), (48, 160), (60, 48), (37, 48)])
def test_torch_and_numpy_make_the_same_model_input(source, size):
    spec = Preprocessing(input_size=size, mean=0.5, std=0.5)
    images = np.random.default_rng(size).integers(0, 256, (4, source, source), dtype=np.uint8)
    expected = to_model_input_torch(torch.from_numpy(images).unsqueeze(1), spec).numpy()
    got = to_model_input(images, spec)
    assert got.shape == expected.shape == (4, 1, size, size) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize("tta", TTA_MODES)
def test_tta_views_are_the_same_in_torch_and_numpy(tta):
    spec = Preprocessing(tta=tta)
    x = to_model_input(faces(4), spec)
    views = spec.views()
    assert len(views) == {"none": 1, "flip": 2, "tencrop": 12}[tta]
    for view in views:
        np.testing.assert_allclose(view_numpy(x, view), view_torch(torch.from_numpy(x), view).numpy(), atol=1e-5)


@pytest.mark.parametrize("tta", TTA_MODES)
def test_training_evaluation_and_the_predictor_agree(tta):
    payload = load_checkpoint(SHIPPED["fer2013_fernet"])
    spec = Preprocessing.from_payload(payload).with_tta(tta)
    training = predict_probabilities(model_from_checkpoint(payload), torch.from_numpy(faces()).unsqueeze(1), spec)
    predictor = Predictor.load(SHIPPED["fer2013_fernet"], device="cpu")
    np.testing.assert_allclose(predictor.classify_crops(faces(), tta=tta), training.numpy(), atol=1e-5)


@pytest.mark.parametrize("name", list(SHIPPED))
def test_shipped_checkpoints_give_the_numbers_they_gave_before(name):
    reference = np.load(REFERENCE)  # made before calibration: the shipped temperature is applied on top
    predictor = Predictor.load(SHIPPED[name], device="cpu")
    spec = predictor.preprocessing
    np.testing.assert_allclose(
        predictor.classify_crops(faces(), tta="none"), calibrated(reference[f"{name}/none"], spec), rtol=1e-5, atol=1e-7
    )
    np.testing.assert_allclose(
        predictor.classify_crops(faces()), calibrated(reference[f"{name}/flip"], spec), rtol=1e-5, atol=1e-7
    )  # recorded: flip


def test_the_onnx_path_does_not_import_torch(tmp_path):
    from core.export.onnx import export_onnx

    onnx_path = export_onnx(tiny_checkpoint(tmp_path / "tiny.pt", Preprocessing(tta="tencrop")), tmp_path / "t.onnx")
    code = (
        "import sys, numpy as np\nfrom core.inference.predictor import Predictor\n"
        f"p = Predictor.load({str(onnx_path)!r})\n"
        "assert p.classify_crops(np.zeros((2, 60, 60), np.uint8)).shape == (2, 7)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
