"""Re-detection: FER2013 faces put back into photo-sized scenes, found, cropped and classified by the prediction
pipeline, against the same faces classified directly at 48x48.

The direct figure is the classifier alone; the gap to it is what detection and cropping cost on faces that are
larger, tilted and somewhere in a bigger picture, as in real photos. Each face is upscaled (bicubic) to a random
side, rotated by a random angle, and pasted at a random place into a 640x480 scene of blurred noise; the scene is
searched with the predictor's own detector, the detection on the pasted face is cropped both with and without
eye alignment (`core.inference.align`), and both crops are classified without TTA. A face not found counts as
wrong in both. One source for the test (tests/test_align.py) and the bench (bench/bench_alignment.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from core.inference.faces import Face
from core.inference.predictor import Predictor

SCENE_SIZE = (640, 480)  # a webcam frame, the predictor's default detection size
FACE_SIDES = (96, 200)  # pasted face side in pixels: from about twice MTCNN's 40-pixel minimum to a close-up
MAX_ANGLE = 20.0  # degrees either way: a tilted head, more than FER2013's own faces show


@dataclass
class Scene:
    """One face pasted into a scene: the RGB image, where the face's centre is, its side and rotation."""

    image: Image.Image
    centre: tuple[float, float]
    side: int
    angle: float  # degrees counter-clockwise on screen (PIL's `rotate`)


@dataclass
class RedetectionResult:
    """Accuracies (fractions) on n faces: classified directly at 48x48, and through the pipeline with box crops
    and with eye-aligned crops (faces not found count as wrong); `detected` is the share of faces the detector
    found, and `direct_found` the direct accuracy on those faces alone (what the crops are to be compared with,
    once detection is set aside)."""

    n: int
    direct: float
    box: float
    aligned: float
    detected: float
    direct_found: float


def background(rng: np.random.Generator, size: tuple[int, int] = SCENE_SIZE) -> Image.Image:
    """A gray texture: noise blurred into blobs of random brightness and contrast, plus fine grain, so the
    detector searches something other than a flat field (flat fields give it nothing to reject)."""
    width, height = size
    coarse = rng.uniform(0, 255, (max(1, height // 24), max(1, width // 24))).astype(np.uint8)
    blobs = Image.fromarray(coarse).resize(size, Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(6))
    mean, contrast = rng.uniform(60, 200), rng.uniform(0.3, 0.8)
    texture = mean + (np.asarray(blobs, dtype=np.float32) - 128) * contrast + rng.normal(0, 6, (height, width))
    return Image.fromarray(np.clip(texture, 0, 255).astype(np.uint8))


def make_scene(
    face: np.ndarray,
    rng: np.random.Generator,
    size: tuple[int, int] = SCENE_SIZE,
    sides: tuple[int, int] = FACE_SIDES,
    max_angle: float = MAX_ANGLE,
    angle: float | None = None,
) -> Scene:
    """`face` (48x48 uint8) upscaled to a random side in `sides`, rotated by `angle` (None: random in
    +-max_angle), pasted whole at a random position into a background of `size`."""
    side = int(rng.integers(sides[0], sides[1] + 1))
    angle = float(rng.uniform(-max_angle, max_angle)) if angle is None else angle
    big = Image.fromarray(np.asarray(face, dtype=np.uint8)).resize((side, side), Image.Resampling.BICUBIC)
    # the rotated square's corners show the scene, not black: the mask rotates with the face
    rotated = big.rotate(angle, Image.Resampling.BICUBIC, expand=True)
    mask = Image.new("L", big.size, 255).rotate(angle, Image.Resampling.BICUBIC, expand=True)
    scene = background(rng, size)
    left = int(rng.integers(0, size[0] - rotated.width + 1))
    top = int(rng.integers(0, size[1] - rotated.height + 1))
    scene.paste(rotated, (left, top), mask)
    return Scene(scene.convert("RGB"), (left + rotated.width / 2, top + rotated.height / 2), side, angle)


def found_face(faces: Sequence[Face | None], scene: Scene) -> Face | None:
    """The most confident detection centred on the pasted face (within a quarter of its side), or None: a box
    elsewhere in the noise is a false alarm, not the face."""
    for face in faces:  # the detector lists them most confident first
        if face is not None:
            x0, y0, x1, y1 = face.box
            if np.hypot((x0 + x1) / 2 - scene.centre[0], (y0 + y1) / 2 - scene.centre[1]) <= scene.side / 4:
                return face
    return None


def redetection(
    predictor: Predictor, faces: np.ndarray, labels: Sequence[str], seed: int = 0, size: tuple[int, int] = SCENE_SIZE
) -> RedetectionResult:
    """Score `predictor` on `faces` (N, 48, 48) with class-name `labels`: directly, and re-detected in one
    scene each (seeded), cropped without and with eye alignment. No TTA anywhere."""
    rng = np.random.default_rng(seed)
    truth = np.array([predictor.classes.index(label) for label in labels])
    direct = predictor.classify_crops(np.asarray(faces, dtype=np.uint8), tta="none").argmax(1) == truth
    found, crops = [], {False: [], True: []}
    for face in faces:
        scene = make_scene(face, rng, size)
        detected = found_face(predictor.find_faces(scene.image, whole=False)[0], scene)
        found.append(detected is not None)
        for align in crops:
            if detected is not None:
                crops[align].append(predictor.crops(scene.image, [detected], align=align)[0])
    found = np.array(found, dtype=bool)
    correct = {}
    for align, batch in crops.items():
        hits = np.zeros(len(faces), dtype=bool)
        if batch:
            hits[found] = predictor.classify_crops(np.stack(batch), tta="none").argmax(1) == truth[found]
        correct[align] = hits
    return RedetectionResult(
        len(faces),
        float(direct.mean()),
        float(correct[False].mean()),
        float(correct[True].mean()),
        float(found.mean()),
        float(direct[found].mean()) if found.any() else float("nan"),
    )
