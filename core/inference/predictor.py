"""Prediction from a checkpoint alone: find faces, crop them as in training, classify them in one batch.

`Predictor.load(path)` takes a `.pt` checkpoint (torch) or a `.onnx` export (onnxruntime); class names and the
preprocessing spec (input size, normalisation, TTA) come from the file. `predict` reads as its stages:
image -> RGB -> faces -> crops -> model input -> probabilities. No face is an empty result with a message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from core.data.images import as_rgb, too_small
from core.data.preprocessing import Preprocessing, to_model_input, tta_probabilities
from core.device import resolve_device
from core.export.onnx import session_metadata
from core.inference.faces import Face, face_crops, get_detector

SMALL_IMAGE = 128  # an image this small with no face found is taken to be a face crop already
# Detected faces are cropped eye-aligned (core.inference.align) unless a predictor says otherwise. Measured by
# bench/bench_alignment.py (600 PrivateTest faces re-detected in 640x480 scenes, int8 model, no TTA): on the
# faces found, aligned crops 69.2% against 69.4% for the same faces at 48x48, box crops 62.5%.
ALIGN = True


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
    """The faces in reading order (see `reading_order`), what was found, and the TTA mode that was applied."""

    faces: list[FacePrediction] = field(default_factory=list)
    message: str = ""
    tta: str = ""


class TorchBackend:
    def __init__(self, payload: dict[str, Any], device: str):
        import torch  # lazy, as the model code below: an ONNX export is served without torch

        from core.models.checkpoint import model_from_checkpoint

        self.torch, self.device = torch, resolve_device(device)
        self.model = model_from_checkpoint(payload).to(self.device)

    def logits(self, batch: np.ndarray) -> np.ndarray:
        with self.torch.inference_mode():
            return self.model(self.torch.from_numpy(batch).to(self.device)).float().cpu().numpy()


class OnnxBackend:
    def __init__(self, path: Path):
        from core.export.onnx import open_session

        self.session = open_session(path)

    def logits(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {"input": batch})[0]


class Predictor:
    """Classifies the faces in any image with one trained model, preprocessed as its spec says (read-only)."""

    def __init__(
        self,
        backend,
        meta: dict[str, Any],
        preprocessing: Preprocessing,
        device: str = "cpu",
        detect_side: int = 640,
        detector: str = "torch",
        align: bool = ALIGN,
    ):
        self.backend, self.meta, self.preprocessing, self.device = backend, meta, preprocessing, device
        self.detect_side = detect_side  # frames are shrunk to this before detection: the main speed lever
        self.detector = detector  # "torch" (facenet-pytorch's MTCNN) or "onnx" (the same networks, no torch)
        self.align = align  # detected faces cropped eye-aligned (True) or as a square around the box (False)
        self.classes: list[str] = list(meta["classes"])

    @property
    def input_size(self) -> int:
        return self.preprocessing.input_size

    @classmethod
    def load(
        cls, path: str | Path, device: str = "auto", detector: str | None = None, align: bool = ALIGN
    ) -> Predictor:
        """From a `.pt` checkpoint or an `.onnx` export, with the preprocessing and TTA the file records.

        `detector` is "torch" or "onnx"; None picks the one that matches the classifier, so an ONNX export is
        served end to end without importing torch. `align`: crop detected faces eye-aligned (see `crops`)."""
        path = Path(path)
        detector = detector or ("onnx" if path.suffix == ".onnx" else "torch")
        if path.suffix == ".onnx":
            backend, device = OnnxBackend(path), "cpu"
            meta = session_metadata(backend.session, path)  # one session: the file is parsed once
        else:
            from core.models.checkpoint import load_checkpoint  # lazy: torch, for .pt files only

            meta = load_checkpoint(path)
            backend = TorchBackend(meta, device)
            device = str(backend.device)
        return cls(
            backend,
            {k: meta[k] for k in ("classes", "model")},
            Preprocessing.from_payload(meta),
            device,
            detector=detector,
            align=align,
        )

    def predict(
        self, image: Image.Image | np.ndarray, whole: bool | None = None, tta: str | None = None
    ) -> PredictionResult:
        """Every face in `image`: image -> RGB -> faces -> crops -> model input -> probabilities.

        `whole=True` classifies the whole image as one face; None decides: small images in which no face is found
        are classified whole (e.g. a 48x48 FER2013 face). `tta` is "none", "flip" or "tencrop"; None is what the
        checkpoint records. Faces come in reading order, so "face 2" is the same face in every front end. An
        image too small to hold a face gives an empty result that says so; the message
        also says when only the first frame of an animated image (opened by `open_image`) was used."""
        rgb = as_rgb(image)
        faces, message = self.find_faces(rgb, whole)
        message += frames_note(rgb)
        spec = self.preprocessing.with_tta(tta)
        if not faces:
            return PredictionResult([], message, spec.tta)
        probabilities = self.classify_crops(self.crops(rgb, faces), spec.tta)
        return PredictionResult(reading_order(face_predictions(faces, probabilities, self.classes)), message, spec.tta)

    def find_faces(self, rgb: Image.Image, whole: bool | None) -> tuple[list[Face | None], str]:
        """The faces to classify (None: the whole image is one) and the message that says what was found."""
        problem = too_small(rgb.size)
        if problem:
            return [], problem
        if whole:
            return [None], "whole image classified"
        device = self.device if self.device.startswith("cuda") else "cpu"
        faces = get_detector(device, max_side=self.detect_side, backend=self.detector).detect(rgb)
        if whole is None and is_face_crop(rgb.size, faces):
            return [None], "a small image that is a face crop: classified whole"
        if not faces:
            return [], "no face found in the image"
        return list(faces), f"{len(faces)} face{'s' if len(faces) > 1 else ''} found"

    def crops(self, rgb: Image.Image, faces: list[Face | None], align: bool | None = None) -> np.ndarray:
        """The gray uint8 crops (N, S, S) the model sees: detected faces eye-aligned when `align` (None: the
        predictor's setting) and the face has landmarks, else a square around the box; None is the whole image,
        resized as it is (a face crop already: aligning it would reframe what the model was trained on)."""
        return face_crops(rgb, faces, self.input_size, self.align if align is None else align)

    def classify_crops(self, crops: np.ndarray, tta: str | None = None) -> np.ndarray:
        """Probabilities (N, C) for gray uint8 crops (N, H, W) in one batch per TTA view (`tta=None`: the
        checkpoint's); crops of another size are resized as in training."""
        spec = self.preprocessing.with_tta(tta)
        probabilities = tta_probabilities(self.backend.logits, to_model_input(crops, spec), spec)
        if not np.isfinite(probabilities).all():  # never "happy (nan%)": a diverged model is an error
            raise ValueError(
                f"the model {self.meta.get('model')} gives probabilities that are not numbers (NaN or "
                "inf): its weights are broken, e.g. from a training run that diverged"
            )
        return probabilities


def face_predictions(faces: list[Face | None], probabilities: np.ndarray, classes: list[str]) -> list[FacePrediction]:
    """One FacePrediction per face (box and score None for the whole image) from its row of probabilities."""
    return [
        FacePrediction(
            face and face.box,
            face and face.score,
            {c: float(p) for c, p in zip(classes, row)},
            classes[int(row.argmax())],
            float(row.max()),
        )
        for face, row in zip(faces, probabilities)
    ]


def reading_order(faces: list[FacePrediction]) -> list[FacePrediction]:
    """Faces as people read a photo: rows top to bottom, left to right within a row (the detector lists them by
    confidence, which means nothing to a reader). A face joins the row above when its centre is less than half a
    face height below that row's first face, so a slightly tilted group photo stays one row."""
    if len(faces) < 2 or any(f.box is None for f in faces):
        return list(faces)
    rows: list[list[FacePrediction]] = []
    for face in sorted(faces, key=lambda f: (f.box[1] + f.box[3]) / 2):
        centre, height = (face.box[1] + face.box[3]) / 2, face.box[3] - face.box[1]
        if rows and centre - (rows[-1][0].box[1] + rows[-1][0].box[3]) / 2 < height / 2:
            rows[-1].append(face)
        else:
            rows.append([face])
    return [face for row in rows for face in sorted(row, key=lambda f: f.box[0] + f.box[2])]


def frames_note(image: Image.Image) -> str:
    """What a message adds when only the first frame of an animated image was classified."""
    frames = image.info.get("frames", 1)
    return f" (animated image: the first of its {frames} frames)" if frames > 1 else ""


def summary(result: PredictionResult) -> str:
    """The message in bold (and the TTA applied) plus one Markdown line per face, in the order they are listed."""
    tta = f" · test-time augmentation: {result.tta}" if result.tta and result.faces else ""
    lines = [f"**{result.message}**{tta}"] if result.message else []
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
