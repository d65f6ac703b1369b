"""Eye-aligned crops: the geometry on synthetic eyes, real tilted faces (from the shipped sample's PrivateTest)
re-detected and levelled, the predictor's option, and the re-detection measurement run end to end."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, ImageDraw

from core.data.store import load_sample
from core.evaluation.redetection import found_face, make_scene, redetection
from core.inference.align import EYE_CENTRE, EYE_DISTANCE, align_face, alignment_affine, eye_angle
from core.inference.catalog import LIVE_MODEL
from core.inference.faces import Face, crop_face, face_crop, get_detector
from core.inference.predictor import ALIGN, Predictor
from core.paths import CHECKPOINTS_DIR, REPO_ROOT

INT8 = CHECKPOINTS_DIR / f"{LIVE_MODEL}.onnx"
TILT = 15.0  # degrees: the rotated faces of the pixel-error test


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    if not INT8.is_file():
        pytest.skip(f"{INT8} not found")
    return Predictor.load(INT8, detector="onnx")


@pytest.fixture(scope="module")
def private_faces() -> tuple[np.ndarray, list[str]]:
    sample = load_sample()
    rows = np.flatnonzero(sample.meta["split"].to_numpy() == "PrivateTest")
    return np.asarray(sample.images[rows]), sample.meta["label"].to_numpy()[rows].tolist()


def eyes(tilt_degrees: float, centre=(150.0, 120.0), distance: float = 60.0) -> tuple[tuple[float, float], ...]:
    """Five landmarks whose eyes are `distance` apart around `centre`, the eye line tilted clockwise on screen."""
    t = np.radians(tilt_degrees)
    dx, dy = distance / 2 * np.cos(t), distance / 2 * np.sin(t)
    left, right = (centre[0] - dx, centre[1] - dy), (centre[0] + dx, centre[1] + dy)
    return (left, right, centre, centre, centre)


def box_around(points, distance: float = 60.0) -> tuple[float, float, float, float]:
    side = distance / 0.355  # the median eye distance / box side of the measurement in core/inference/align.py
    cx, cy = points[2]
    return cx - side / 2, cy - side / 3, cx + side / 2, cy + 2 * side / 3


@pytest.mark.parametrize("tilt", [-25.0, 0.0, 10.0, 40.0])
def test_the_affine_puts_the_eyes_level_where_fer2013_has_them(tilt):
    landmarks = eyes(tilt)
    a, b, c, d, e, f = alignment_affine(landmarks, box_around(landmarks), out=48)
    v = EYE_CENTRE[1] * 48
    for u, (x, y) in zip((EYE_CENTRE[0] - EYE_DISTANCE / 2, EYE_CENTRE[0] + EYE_DISTANCE / 2), landmarks[:2]):
        assert (a * u * 48 + b * v + c, d * u * 48 + e * v + f) == pytest.approx((x, y), abs=1e-6)


def test_two_painted_eyes_come_out_level_in_the_crop():
    landmarks = eyes(-25.0)
    image = Image.new("L", (320, 240), 0)
    for x, y in landmarks[:2]:
        ImageDraw.Draw(image).ellipse((x - 4, y - 4, x + 4, y + 4), fill=255)
    crop = align_face(image, landmarks, box_around(landmarks), 48).astype(float)
    ys, xs = np.indices(crop.shape) + 0.5  # pixel centres, the affine's coordinates
    for side, eye_x in ((xs < 24, EYE_CENTRE[0] - EYE_DISTANCE / 2), (xs >= 24, EYE_CENTRE[0] + EYE_DISTANCE / 2)):
        weights = crop * side
        centroid = ((xs * weights).sum() / weights.sum(), (ys * weights).sum() / weights.sum())
        assert centroid == pytest.approx((eye_x * 48, EYE_CENTRE[1] * 48), abs=0.5)


def test_a_face_without_landmarks_or_a_whole_image_is_cropped_as_before():
    gray = Image.fromarray(np.random.default_rng(0).integers(0, 256, (120, 160), dtype=np.uint8))
    box = (30.0, 20.0, 90.0, 100.0)
    assert np.array_equal(face_crop(gray, Face(box, 0.99, None), 48, align=True), crop_face(gray, box, 48))
    assert np.array_equal(face_crop(gray, None, 48, align=True), face_crop(gray, None, 48, align=False))


def test_tilted_faces_are_levelled_and_closer_to_the_original_than_box_crops(predictor, private_faces):
    rng = np.random.default_rng(0)
    errors, angles = {False: [], True: []}, []
    for face in private_faces[0][:10]:
        scene = make_scene(face, rng, size=(320, 320), sides=(160, 160), angle=TILT)
        found = found_face(predictor.find_faces(scene.image, whole=False)[0], scene)
        if found is None:
            continue
        for align in errors:
            crop = predictor.crops(scene.image, [found], align=align)[0]
            errors[align].append(np.abs(crop.astype(float) - face).mean())
        angles.append(releveled_angle(predictor.crops(scene.image, [found], align=True)[0]))
    assert len(errors[True]) >= 5, "the detector should find most of these faces"
    assert np.mean(errors[True]) < np.mean(errors[False])
    assert sum(a < b for a, b in zip(errors[True], errors[False])) > len(errors[True]) / 2
    measured = [abs(a) for a in angles if a is not None]
    assert len(measured) >= 3 and np.median(measured) < 5.0  # the scene tilted them by 15 degrees


def releveled_angle(crop: np.ndarray) -> float | None:
    """The eye-line angle MTCNN finds on the crop upscaled 4x in a gray canvas (None: no face found)."""
    canvas = Image.new("L", (288, 288), 128)
    canvas.paste(Image.fromarray(crop).resize((192, 192), Image.Resampling.BICUBIC), (48, 48))
    faces = get_detector(max_side=640, backend="onnx").detect(canvas.convert("RGB"))
    return eye_angle(faces[0].landmarks) if faces else None


def test_the_redetection_measurement_runs_end_to_end(predictor, private_faces):
    faces, labels = private_faces[0][:3], private_faces[1][:3]
    result = redetection(predictor, faces, labels, seed=0)
    direct = predictor.classify_crops(faces, tta="none").argmax(1)
    assert result.n == 3 and result.direct == np.mean(direct == [predictor.classes.index(x) for x in labels])
    assert all(0.0 <= v <= 1.0 for v in (result.box, result.aligned, result.detected))
    assert max(result.box, result.aligned) <= result.detected  # a face not found is never right


def test_scenes_are_seeded_and_hold_the_whole_face():
    face = np.asarray(load_sample().images[0])
    first, again = (make_scene(face, np.random.default_rng(3)) for _ in range(2))
    assert np.array_equal(np.asarray(first.image), np.asarray(again.image)) and first.image.size == (640, 480)
    assert 96 <= first.side <= 200 and -20 <= first.angle <= 20
    far = Face((0.0, 0.0, 10.0, 10.0), 0.99)
    assert found_face([far], first) is None


def test_alignment_is_the_default_for_detected_faces(predictor):
    assert ALIGN is True and predictor.align is True
    assert Predictor.load(INT8, align=False).align is False


@pytest.mark.slow
def test_the_alignment_and_the_scenes_import_no_torch():
    code = (
        "import sys; import core.inference.align, core.evaluation.redetection; "
        "assert not [m for m in sys.modules if m.split('.')[0] in ('torch', 'facenet_pytorch')]"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True, timeout=60)
