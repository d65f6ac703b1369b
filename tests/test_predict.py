"""Prediction: faces, crops, every image mode, the Predictor (torch and ONNX), and the predict command."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core.cli.main import main
from core.data.store import load_sample
from core.export.onnx import check_parity, export_onnx, read_metadata
from core.inference.draw import annotate
from core.inference.faces import crop_face, square_box
from core.inference.predictor import Predictor
from core.paths import shared_data_dir


@pytest.fixture(scope="module")
def photos():
    folder = shared_data_dir() / "photos"
    if not (folder / "test.jpg").is_file():
        pytest.skip(f"real photos not found in {folder}")
    return folder


def test_square_box_and_edge_crops():
    assert square_box((10, 20, 30, 60), margin=0.0) == (0, 20, 40, 60)
    gray = Image.fromarray(np.arange(100 * 100, dtype=np.uint32).reshape(100, 100).astype(np.uint8))
    crop = crop_face(gray, (-20, -20, 30, 30), size=48)  # half outside the image: padded, not an error
    assert crop.shape == (48, 48) and crop.dtype == np.uint8


def test_a_face_crop_is_classified_whole(tiny_checkpoint):
    predictor = Predictor.load(tiny_checkpoint)
    face = np.asarray(load_sample().images[0])
    result = predictor.predict(face)
    assert len(result.faces) == 1 and result.faces[0].box is None and "face crop" in result.message
    probabilities = result.faces[0].probabilities
    assert list(probabilities) == predictor.classes and sum(probabilities.values()) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P", "CMYK", "I;16", "LA", "1"])
def test_every_image_mode_is_accepted(tiny_checkpoint, mode):
    base = Image.fromarray(np.asarray(load_sample().images[3]))
    image = base.convert(mode) if mode != "I;16" else Image.fromarray(np.asarray(base).astype(np.uint16) * 257)
    result = Predictor.load(tiny_checkpoint).predict(image)
    assert len(result.faces) == 1


@pytest.mark.parametrize(
    "array",
    [np.zeros((48, 48, 3), np.uint8), np.ones((48, 48, 4), np.uint16) * 30000, np.full((48, 48), 0.5, np.float32)],
)
def test_numpy_arrays_are_accepted(tiny_checkpoint, array):
    assert len(Predictor.load(tiny_checkpoint).predict(array).faces) == 1


def test_no_face_is_an_empty_result_with_a_message(tiny_checkpoint):
    result = Predictor.load(tiny_checkpoint).predict(Image.new("RGB", (640, 480), (128, 128, 128)))
    assert result.faces == [] and "no face" in result.message


def test_many_faces_go_through_the_model_in_one_batch(tiny_checkpoint, photos):
    predictor = Predictor.load(tiny_checkpoint)
    calls = []
    original = predictor.backend.logits
    predictor.backend.logits = lambda batch: calls.append(len(batch)) or original(batch)
    result = predictor.predict(Image.open(photos / "test.jpg"))
    assert len(result.faces) == 6 and calls == [6]
    calls.clear()
    predictor.predict(Image.open(photos / "test.jpg"), tta="flip")
    assert calls == [6, 6]  # the faces and their mirror images
    calls.clear()
    predictor.predict(Image.open(photos / "test.jpg"), tta="tencrop")
    assert calls == [6] * 12  # + five crops of each face, and their mirror images


def test_onnx_export_matches_torch(tiny_checkpoint, photos, tmp_path):
    path = export_onnx(tiny_checkpoint, tmp_path / "model.onnx")
    assert read_metadata(path)["classes"] == Predictor.load(tiny_checkpoint).classes
    assert check_parity(tiny_checkpoint, path) < 1e-4
    image = Image.open(photos / "test.jpg")
    torch_faces = Predictor.load(tiny_checkpoint).predict(image).faces
    onnx_faces = Predictor.load(path).predict(image).faces
    assert len(torch_faces) == len(onnx_faces) == 6
    for a, b in zip(torch_faces, onnx_faces):
        assert max(abs(a.probabilities[c] - b.probabilities[c]) for c in a.probabilities) < 1e-4


def test_annotate_keeps_the_size(tiny_checkpoint, photos):
    image = Image.open(photos / "test.jpg")
    drawn = annotate(image, Predictor.load(tiny_checkpoint).predict(image))
    assert drawn.size == image.size and drawn.mode == "RGB" and drawn.tobytes() != image.convert("RGB").tobytes()


def test_predict_command_image_folder_and_video(tiny_checkpoint, photos, tmp_path, capsys):
    import cv2

    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("test.jpg", "happy.jpeg"):
        (folder / name).write_bytes((photos / name).read_bytes())
    (folder / "broken.png").write_bytes(b"not an image")
    assert main(["predict", "--path", str(folder / "test.jpg"), "--checkpoint", str(tiny_checkpoint)]) == 0
    assert "face 6:" in capsys.readouterr().out and (folder / "test_pred.png").is_file()
    assert (
        main(["predict", "--path", str(folder), "--checkpoint", str(tiny_checkpoint), "--out", str(tmp_path / "p.csv")])
        == 0
    )
    text = (tmp_path / "p.csv").read_text()
    assert "broken.png" in text and "not an image (or an unsupported format)" in text and text.count("happy.jpeg") == 1
    frame = np.asarray(Image.open(photos / "happy.jpeg").convert("RGB").resize((320, 240)))[:, :, ::-1]
    writer = cv2.VideoWriter(str(tmp_path / "clip.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10, (320, 240))
    for _ in range(4):
        writer.write(np.ascontiguousarray(frame))
    writer.release()
    assert main(["predict", "--path", str(tmp_path / "clip.mp4"), "--checkpoint", str(tiny_checkpoint)]) == 0
    assert (tmp_path / "clip_pred.csv").read_text().count("\n") == 5
    assert cv2.VideoCapture(str(tmp_path / "clip_pred.mp4")).read()[0]


def cli_probabilities(out: str) -> list[dict[str, float]]:
    """Each face's probabilities from `python -m core predict`'s lines ("  face 1: happy (87.0%)  happy 0.870 ...")."""
    faces = []
    for line in out.splitlines():
        if line.startswith("  face "):
            words = line.split(")", 1)[1].split()
            faces.append({c: float(p) for c, p in zip(words[::2], words[1::2])})
    return faces


@pytest.mark.slow
def test_the_same_photo_gives_the_same_numbers_in_the_studio_the_gradio_app_and_the_cli(photos, tmp_path, capsys):
    """The shipped checkpoint records flip TTA; every front end applies it unless told otherwise, says so, and
    lists the faces in the same (reading) order with the same probabilities."""
    import json

    from streamlit.testing.v1 import AppTest

    from app.gradio.app import predict_upload
    from core.data.images import open_image
    from core.paths import REPO_ROOT

    checkpoint, photo = REPO_ROOT / "checkpoints" / "fer2013_fernet.pt", photos / "test.jpg"
    expected = Predictor.load(checkpoint).predict(open_image(photo))
    assert expected.tta == "flip" and len(expected.faces) == 6
    numbers = [list(face.probabilities.values()) for face in expected.faces]

    out_png = tmp_path / "annotated.png"
    assert main(["predict", "--path", str(photo), "--checkpoint", str(checkpoint), "--out", str(out_png)]) == 0
    out = capsys.readouterr().out
    assert "6 faces found (test-time augmentation: flip)" in out
    cli = cli_probabilities(out)
    assert len(cli) == 6 and all(set(printed) == set(face.probabilities) for printed, face in zip(cli, expected.faces))
    printed = [[face[c] for c in expected.faces[0].probabilities] for face in cli]  # the CLI ranks them; put back
    assert np.abs(np.array(printed) - numbers).max() <= 5e-4  # printed to 3 places

    _, figure, text = predict_upload(
        {"path": str(photo)}, str(checkpoint), "model", allowed=frozenset({str(checkpoint)})
    )
    assert "test-time augmentation: flip" in text
    assert [list(bar.y) for bar in figure.data] == numbers
    studio = AppTest.from_file(str(REPO_ROOT / "app" / "main.py"), default_timeout=180)
    studio.query_params["model"] = str(checkpoint)
    studio.run()
    studio.switch_page(str(REPO_ROOT / "pages" / "predict.py")).run()
    studio.file_uploader(key="predict_upload").set_value((photo.name, photo.read_bytes(), "image/jpeg")).run()
    assert not studio.exception, [e.value for e in studio.exception]
    [message] = [m.value for m in studio.markdown if m.value.startswith("**")]
    assert "test-time augmentation: flip" in message
    [chart] = studio.get("plotly_chart")
    assert [bar["y"] for bar in json.loads(chart.proto.spec)["data"]] == numbers
