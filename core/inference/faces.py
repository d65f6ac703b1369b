"""Face detection behind one small interface: facenet-pytorch's MTCNN (weights ship in its wheel), run by torch
or, exported to ONNX, by onnxruntime.

We cut our own crops from MTCNN's boxes and landmarks (gray, at the model's size): by default eye-aligned
(`core.inference.align`: eyes level, scaled by their distance, framed like FER2013's faces), or a square around
the box with a margin; normalised exactly as in training.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from PIL import Image

from core.data.images import MIN_SIDE, cut_padded, to_face_array, to_gray
from core.inference.align import align_face
from core.inference.onnx_detector import FACTOR, THRESHOLDS, MtcnnOnnx  # numpy only: onnxruntime loads in MtcnnOnnx


@dataclass
class Face:
    """One detected face: box (x0, y0, x1, y1) in image pixels, the detector's confidence, and its five
    landmarks (eyes, nose, mouth corners) as (x, y) pairs when the detector gives them."""

    box: tuple[float, float, float, float]
    score: float
    landmarks: tuple[tuple[float, float], ...] | None = None


DETECTORS = ("torch", "onnx")  # facenet-pytorch's MTCNN, or the same networks through onnxruntime (no torch)
SCORE_THRESHOLD = 0.9  # a face is kept when ONet scores it this high (MTCNN's own cut, ONet's 0.7, lets more through)


class FaceDetector:
    """MTCNN created once; frames larger than `max_side` are shrunk before detection (the main speed lever).

    `backend="torch"` runs facenet-pytorch's MTCNN; "onnx" runs its exported networks with numpy and onnxruntime
    (core/inference/onnx_detector.py), so a prediction through an ONNX classifier never imports torch."""

    def __init__(
        self,
        device: str = "cpu",
        min_face_size: int = 40,
        max_side: int = 640,
        threshold: float = SCORE_THRESHOLD,
        backend: str = "torch",
        thresholds: tuple[float, float, float] = THRESHOLDS,
        factor: float = FACTOR,
    ):
        if backend not in DETECTORS:
            raise ValueError(f"detector must be one of {', '.join(DETECTORS)}, got {backend!r}")
        self.backend, self.mtcnn = backend, None
        if backend == "onnx":
            self.onnx = MtcnnOnnx(min_face_size=min_face_size, thresholds=thresholds, factor=factor)
        else:
            from facenet_pytorch import MTCNN

            self.mtcnn = MTCNN(
                keep_all=True,
                device=device,
                min_face_size=min_face_size,
                post_process=False,
                thresholds=list(thresholds),
                factor=factor,
            )
        self.max_side = max_side
        self.min_face_size = min_face_size
        self.threshold = threshold

    def detect(self, rgb: Image.Image) -> list[Face]:
        """Faces in an RGB image, most confident first."""
        scale = min(1.0, self.max_side / max(rgb.size))
        # max(1, ...): a long thin strip would otherwise shrink to zero pixels across, which Pillow refuses
        small = (
            rgb
            if scale == 1.0
            else rgb.resize(
                (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale))), Image.Resampling.BILINEAR
            )
        )
        # MTCNN's image pyramid starts at scale MIN_SIDE / min_face_size: a smaller side leaves it no level at all
        # (torch.cat of an empty list), and no face of the minimum size can fit anyway
        if min(small.size) < max(MIN_SIDE, self.min_face_size):
            return []
        boxes, landmarks = self.raw_detect(small)
        faces = [
            Face(
                tuple(float(v) / scale for v in box[:4]),
                float(box[4]),
                tuple((float(x) / scale, float(y) / scale) for x, y in points),
            )
            for box, points in zip(boxes, landmarks)
            if box[4] >= self.threshold
        ]
        return sorted(faces, key=lambda f: -f.score)

    def raw_detect(self, small: Image.Image) -> tuple[np.ndarray, np.ndarray]:
        """Boxes (n, 5: x0, y0, x1, y1, score) and landmarks (n, 5, 2) at the detection size."""
        if self.mtcnn is None:
            return self.onnx.detect(np.asarray(small, dtype=np.uint8))
        boxes, scores, points = self.mtcnn.detect(small, landmarks=True)
        if boxes is None:
            return np.zeros((0, 5)), np.zeros((0, 5, 2))
        return np.concatenate([boxes, np.asarray(scores, dtype=np.float64)[:, None]], axis=1), points


@functools.lru_cache(maxsize=4)
def get_detector(
    device: str = "cpu", min_face_size: int = 40, max_side: int = 640, backend: str = "torch"
) -> FaceDetector:
    """One detector per settings for the whole process (building MTCNN costs ~0.1 s and memory)."""
    return FaceDetector(device, min_face_size, max_side, backend=backend)


def square_box(box: tuple[float, float, float, float], margin: float) -> tuple[int, int, int, int]:
    """The square around `box`, grown by `margin` of its side, centred on it (may extend past the image)."""
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0) * (1.0 + margin)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    left, top = round(cx - side / 2), round(cy - side / 2)
    return left, top, left + round(side), top + round(side)


def crop_face(gray: Image.Image, box: tuple[float, float, float, float], size: int, margin: float = 0.2) -> np.ndarray:
    """A square gray crop around a face, edge-padded where it leaves the image, resized to size x size."""
    crop = cut_padded(np.asarray(gray), *square_box(box, margin))
    return np.asarray(Image.fromarray(crop).resize((size, size), Image.Resampling.BILINEAR), dtype=np.uint8)


def face_crop(gray: Image.Image, face: Face | None, size: int, align: bool = False) -> np.ndarray:
    """The gray uint8 crop (size, size) of one face: eye-aligned (`core.inference.align`) when `align` and the
    face has landmarks, else the box crop; None is the whole image (a face crop already, framed as it is)."""
    if face is None:
        return to_face_array(gray, size)
    if align and face.landmarks:
        return align_face(gray, face.landmarks, face.box, size)
    return crop_face(gray, face.box, size)


def face_crops(rgb: Image.Image, faces: list[Face | None], size: int, align: bool = False) -> np.ndarray:
    """The gray uint8 crops (N, size, size) the model classifies, one per face (see `face_crop`)."""
    gray = to_gray(rgb)
    return np.stack([face_crop(gray, face, size, align) for face in faces])
