"""Evaluating a checkpoint on the FER2013 splits: metric reports, the reference-style table, confusion matrices."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.data.dataset import FerDataset
from core.data.loading import load_training_dataset
from core.data.preprocessing import Preprocessing, calibrated
from core.device import resolve_device
from core.evaluation.calibration import calibration_summary, fit_temperature
from core.evaluation.metrics import classification_report
from core.export.onnx import read_metadata
from core.files import write_atomically
from core.models.checkpoint import load_checkpoint, model_from_checkpoint
from core.models.probabilities import predict_probabilities
from core.training.config import TrainConfig
from core.training.tensors import prepare_splits


def evaluate_checkpoint(
    path: str | Path,
    splits: list[str],
    *,
    tta: str | None = None,
    dataset: FerDataset | None = None,
    device: str = "auto",
    labels: str | None = None,
) -> dict[str, Any]:
    """Reports per split for a checkpoint, on the labels and classes it was trained with, or on another label
    source of the same images (`labels`, e.g. "ferplus": a FER2013 model scored on the FERPlus majority; images
    whose label there is outside the model's classes are left out).

    `tta=None` uses the test-time augmentation the checkpoint records (its default); "none" switches it off.
    """
    payload, model, tensors = load_for_evaluation(path, dataset, device, labels)
    preprocessing = Preprocessing.from_payload(payload).with_tta(tta)
    reports = {}
    for split in splits:
        if split in tensors:
            reports[split] = split_report(model, tensors[split], preprocessing, payload["classes"])
    return {
        "checkpoint": str(path),
        "model": payload["model"],
        "label_source": labels or payload["label_source"],
        "trained_on": payload["label_source"],
        "classes": payload["classes"],
        "tta": preprocessing.tta,
        "temperature": preprocessing.temperature,
        "reports": reports,
    }


def load_for_evaluation(
    path: str | Path, dataset: FerDataset | None, device: str, labels: str | None = None
) -> tuple[dict[str, Any], torch.nn.Module, dict]:
    """The checkpoint's payload, its model on the device, and the splits of its data with its labels and classes.

    An ONNX export (fp32 or int8) is scored through onnxruntime on the CPU, on the imported data set (or `dataset`),
    with the classes, label source and preprocessing its metadata records.
    """
    if Path(path).suffix.lower() == ".onnx":
        payload, model = onnx_for_evaluation(path)
        config, target = TrainConfig(classes=",".join(payload["classes"]), label_source=payload["label_source"]), "cpu"
    else:
        payload = load_checkpoint(path)
        config, target = TrainConfig.from_dict(payload["config"]), resolve_device(device)
        model = model_from_checkpoint(payload).to(target)
    if labels:
        config = dataclasses.replace(config, label_source=labels)
    data = dataset if dataset is not None else load_training_dataset(config.data_path)
    return payload, model, prepare_splits(data, config, target, check_classes=not labels)


class OnnxLogits(torch.nn.Module):
    """An onnxruntime session behind the torch call the evaluation loop makes: tensors in, logits out."""

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        from core.export.onnx import open_session

        self.session = open_session(path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.session.run(None, {"input": x.float().contiguous().numpy()})[0])


def onnx_for_evaluation(path: str | Path) -> tuple[dict[str, Any], OnnxLogits]:
    return read_metadata(path), OnnxLogits(path)


def split_probabilities(model, split, preprocessing: Preprocessing) -> np.ndarray:
    """Probabilities before calibration (temperature 1, no logit bias) with the spec's TTA."""
    with torch.inference_mode():
        raw = dataclasses.replace(preprocessing, temperature=1.0, logit_bias=())
        return predict_probabilities(model, split.images, raw).cpu().numpy()


def split_report(model, split, preprocessing: Preprocessing, classes: list[str]) -> dict[str, Any]:
    """The classification report of one split, plus its calibration before and after the spec's temperature."""
    probs = split_probabilities(model, split, preprocessing)
    final = calibrated(probs, preprocessing)
    labels = split.targets.cpu().numpy()
    report = classification_report(labels, final.argmax(axis=1), classes)
    report["calibration"] = calibration_summary(probs, final, labels)
    return report


def calibrate_checkpoint(path: str | Path, dataset: FerDataset | None = None, device: str = "auto") -> float:
    """Fit temperature scaling on PublicTest (never PrivateTest), store it in the checkpoint's spec; return T."""
    if Path(path).suffix.lower() == ".onnx":
        raise ValueError(
            f"{path}: calibrate the .pt checkpoint, then export it again (the export copies its temperature)"
        )
    payload, model, tensors = load_for_evaluation(path, dataset, device)
    if "PublicTest" not in tensors:
        raise ValueError(f"{path}: its data has no PublicTest images to fit the temperature on")
    preprocessing = Preprocessing.from_payload(payload)
    probs = split_probabilities(model, tensors["PublicTest"], preprocessing)
    temperature = fit_temperature(
        probs, tensors["PublicTest"].targets.cpu().numpy(), preprocessing.logit_bias or None
    )  # a logit adjustment stays in place
    payload["preprocessing"] = dataclasses.replace(preprocessing, temperature=temperature).to_dict()
    write_atomically(path, lambda handle: torch.save(payload, handle), binary=True)
    return temperature
