"""The torch-free prediction path: MTCNN in numpy + onnxruntime against facenet-pytorch's, and `predict` run
with torch, torchvision and facenet_pytorch made unimportable."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.data.images import open_image
from core.data.store import load_sample
from core.inference.faces import FaceDetector
from core.inference.onnx_detector import area_resize, cumulative, nms
from core.paths import CHECKPOINTS_DIR, REPO_ROOT, shared_data_dir

PHOTOS = shared_data_dir() / "photos"
BLOCKED = ("torch", "torchvision", "facenet_pytorch")


def test_area_resize_is_torchs_area_interpolation():
    import torch

    images = np.random.default_rng(0).uniform(0, 255, (1, 3, 37, 53)).astype(np.float32)
    for size in ((24, 24), (12, 40), (37, 53), (5, 7)):
        expected = torch.nn.functional.interpolate(torch.from_numpy(images), size=size, mode="area").numpy()
        assert np.abs(area_resize(images, *size) - expected).max() < 1e-3


def test_the_pyramids_shared_row_sums_give_the_same_levels():
    images = np.random.default_rng(1).uniform(0, 255, (1, 3, 480, 640)).astype(np.float32)
    row_sums = cumulative(images, 2)
    for size in ((341, 454), (100, 133), (13, 17)):
        assert np.array_equal(area_resize(images, *size, row_sums), area_resize(images, *size))


def test_nms_keeps_the_best_of_overlapping_boxes():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], dtype=np.float32)
    scores = np.array([0.8, 0.9, 0.7], dtype=np.float32)
    assert nms(boxes, scores, 0.5).tolist() == [1, 2]
    assert nms(boxes, scores, 0.7, mode="min").tolist() == [1, 2]
    assert nms(boxes[:0], scores[:0], 0.5).tolist() == []


def synthetic_image() -> Image.Image:
    """Noise with two FER2013 sample faces pasted in at different sizes: no photo needed."""
    canvas = Image.fromarray(np.random.default_rng(1).integers(0, 256, (230, 310, 3), dtype=np.uint8))
    faces = load_sample().images
    for index, side, at in ((3, 110, (20, 40)), (8, 80, (190, 90))):
        canvas.paste(Image.fromarray(np.asarray(faces[index])).convert("RGB").resize((side, side)), at)
    return canvas


def detection_images() -> list[Image.Image]:
    photos = sorted(PHOTOS.glob("*.jp*g")) if PHOTOS.is_dir() else []
    return [synthetic_image()] + [open_image(p).convert("RGB") for p in photos]


@pytest.mark.slow
def test_onnx_detector_finds_what_facenet_pytorch_finds():
    torch_detector, onnx_detector = FaceDetector(backend="torch"), FaceDetector(backend="onnx")
    found, worst = 0, 0.0
    for image in detection_images():
        expected, got = torch_detector.detect(image), onnx_detector.detect(image)
        assert len(got) == len(expected)
        for a, b in zip(expected, got):
            worst = max(
                worst, np.abs(np.subtract(a.box, b.box)).max(), np.abs(np.subtract(a.landmarks, b.landmarks)).max()
            )
            assert b.score == pytest.approx(a.score, abs=1e-4)
        found += len(got)
    # the photos hold 8 faces; without them only the synthetic image is compared
    print(f"{found} faces, max |box or landmark difference| {worst:.2e} px")
    assert found >= (8 if PHOTOS.is_dir() else 1) and worst < 1.0  # measured: 1.2e-4 px


def block_torch(folder: Path) -> dict[str, str]:
    """An environment in which importing torch, torchvision or facenet_pytorch raises ImportError."""
    for name in BLOCKED:
        (folder / name).mkdir(parents=True)
        (folder / name / "__init__.py").write_text(f"raise ImportError('{name} is blocked by the test')\n")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), str(REPO_ROOT)])}


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_predict_with_an_onnx_classifier_never_imports_torch(tmp_path):
    from core.cli.main import main
    from core.export.onnx import export_onnx

    if not (PHOTOS / "test.jpg").is_file():
        pytest.skip(f"no photos in {PHOTOS}")
    checkpoint = CHECKPOINTS_DIR / "fer2013_fernet.pt"
    model = export_onnx(checkpoint, tmp_path / "model.onnx")
    (tmp_path / "in").mkdir()
    shutil.copy(PHOTOS / "test.jpg", tmp_path / "in")
    env = block_torch(tmp_path / "shim")
    probe = subprocess.run([sys.executable, "-c", "import torch"], env=env, capture_output=True, cwd=REPO_ROOT)
    assert probe.returncode != 0  # the shim works, so an import of torch on the path below would fail it
    command = [
        sys.executable,
        "-m",
        "core",
        "predict",
        "--checkpoint",
        str(model),
        "--path",
        str(tmp_path / "in"),
        "--out",
        str(tmp_path / "onnx.csv"),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=REPO_ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (
        main(
            [
                "predict",
                "--checkpoint",
                str(checkpoint),
                "--path",
                str(tmp_path / "in"),
                "--out",
                str(tmp_path / "torch.csv"),
            ]
        )
        == 0
    )
    onnx_rows, torch_rows = read_rows(tmp_path / "onnx.csv"), read_rows(tmp_path / "torch.csv")
    assert len(onnx_rows) == len(torch_rows) == 6
    for a, b in zip(torch_rows, onnx_rows):
        assert a["label"] == b["label"]
        numbers = [k for k in a if k.startswith(("p_", "x", "y"))]
        assert max(abs(float(a[k]) - float(b[k])) for k in numbers) <= 2e-3
