"""Prediction from a checkpoint alone: find faces, crop them as in training, classify them in one batch.

`Predictor.load(path)` takes a `.pt` checkpoint (torch) or a `.onnx` export (onnxruntime); class names, input
size and normalisation come from the file. No face is an empty result with a message, never an exception.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from core.inference.faces import crop_face, get_detector
from core.data.images import as_pil, to_face_array, to_gray, to_rgb, too_small

SMALL_IMAGE = 128  # an image this small with no face found is taken to be a face crop already


@dataclass
class FacePrediction:
    """One face: where it is (None when the whole image was classified), and what it shows."""

    box: tuple[float, float, float, float] | None
    score: float | None
    probabilities: dict[str, float]
    label: str
    confidence: float


@dataclass
class PredictionResult:
    faces: list[FacePrediction] = field(default_factory=list)
    message: str = ""


class TorchBackend:
    def __init__(self, payload: dict[str, Any], device: str):
        import torch

        from core.models.checkpoint import model_from_checkpoint
        from core.training.loop import resolve_device

        self.torch, self.device = torch, resolve_device(device)
        self.model = model_from_checkpoint(payload).to(self.device)

    def logits(self, batch: np.ndarray) -> np.ndarray:
        with self.torch.inference_mode():
            return self.model(self.torch.from_numpy(batch).to(self.device)).float().cpu().numpy()


class OnnxBackend:
    def __init__(self, path: Path):
        import onnxruntime

        self.session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def logits(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {"input": batch})[0]


class Predictor:
    """Classifies the faces in any image with one trained model."""

    def __init__(self, backend, meta: dict[str, Any], device: str = "cpu", tta: bool = False,
                 detect_side: int = 640):
        self.backend, self.meta, self.device, self.tta = backend, meta, device, tta
        self.detect_side = detect_side  # frames are shrunk to this before detection: the main speed lever
        self.classes: list[str] = list(meta["classes"])
        self.input_size = int(meta["input_size"])

    @classmethod
    def load(cls, path: str | Path, device: str = "auto", tta: bool | None = None) -> Predictor:
        """From a `.pt` checkpoint or an `.onnx` export; `tta=None` follows what the checkpoint records."""
        path = Path(path)
        if path.suffix == ".onnx":
            from core.export.onnx import read_metadata

            meta = read_metadata(path)
            backend = OnnxBackend(path)
            device = "cpu"
        else:
            from core.models.checkpoint import load_checkpoint

            meta = load_checkpoint(path)
            backend = TorchBackend(meta, device)
            device = str(backend.device)
        flip = meta.get("tta", "none") != "none" if tta is None else tta
        return cls(backend, {k: meta[k] for k in ("classes", "input_size", "normalization", "model")}, device, flip)

    def classify_crops(self, crops: np.ndarray) -> np.ndarray:
        """Probabilities (N, C) for gray uint8 crops (N, S, S), normalised as in training, in one batch."""
        norm = self.meta["normalization"]
        batch = ((crops.astype(np.float32) / 255.0 - norm["mean"]) / norm["std"])[:, None]
        logits = self.backend.logits(np.ascontiguousarray(batch))
        if self.tta:  # average with the mirrored faces
            logits = np.stack([logits, self.backend.logits(np.ascontiguousarray(batch[..., ::-1]))])
            return softmax(logits).mean(axis=0)
        return softmax(logits)

    def predict(self, image: Image.Image | np.ndarray, whole: bool | None = None) -> PredictionResult:
        """Every face in `image`. `whole=True` classifies the whole image as one face; None decides: small
        images in which no face is found are classified whole (e.g. a 48x48 FER2013 face). An image too small
        to hold a face gives an empty result that says so; the message also says when only the first frame of
        an animated image (opened by `open_image`) was used."""
        pil = as_pil(image)
        result = self.predict_faces(pil, whole)
        frames = pil.info.get("frames", 1)
        if frames > 1:
            result.message += f" (animated image: the first of its {frames} frames)"
        return result

    def predict_faces(self, pil: Image.Image, whole: bool | None) -> PredictionResult:
        """`predict` for a PIL image, without the note on animated images."""
        problem = too_small(pil.size)
        if problem:
            return PredictionResult([], problem)
        if whole:
            return self.result([None], [None], to_face_array(pil, self.input_size)[None], "whole image classified")
        device = self.device if self.device.startswith("cuda") else "cpu"
        faces = get_detector(device, max_side=self.detect_side).detect(to_rgb(pil))
        if whole is None and is_face_crop(pil.size, faces):
            return self.result([None], [None], to_face_array(pil, self.input_size)[None],
                               "a small image that is a face crop: classified whole")
        if not faces:
            return PredictionResult([], "no face found in the image")
        gray = to_gray(pil)
        crops = np.stack([crop_face(gray, f.box, self.input_size) for f in faces])
        return self.result([f.box for f in faces], [f.score for f in faces], crops,
                           f"{len(faces)} face{'s' if len(faces) > 1 else ''} found")

    def result(self, boxes, scores, crops: np.ndarray, message: str) -> PredictionResult:
        probabilities = self.classify_crops(crops)
        faces = [FacePrediction(box, score, {c: float(p) for c, p in zip(self.classes, row)},
                                self.classes[int(row.argmax())], float(row.max()))
                 for box, score, row in zip(boxes, scores, probabilities)]
        return PredictionResult(faces, message)


def summary(result: PredictionResult) -> str:
    """The message in bold plus one Markdown line per face, in the order the faces are listed."""
    lines = [f"**{result.message}**"] if result.message else []
    lines += [f"- face {i}: **{face.label}** {face.confidence:.0%}" for i, face in enumerate(result.faces, 1)]
    return "\n".join(lines)


def is_face_crop(size: tuple[int, int], faces: list) -> bool:
    """A small image with no face found, or one face filling most of it, is already a face crop (FER2013-like);
    cutting a margin around that face would only add padding."""
    if max(size) > SMALL_IMAGE:
        return False
    if not faces:
        return True
    x0, y0, x1, y1 = faces[0].box
    return len(faces) == 1 and (x1 - x0) * (y1 - y0) >= 0.4 * size[0] * size[1]


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)
