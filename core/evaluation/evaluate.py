"""Evaluating a checkpoint on the FER2013 splits: metric reports, the reference-style table, confusion matrices."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from core.data.preprocessing import Preprocessing
from core.models.checkpoint import load_checkpoint, model_from_checkpoint
from core.training.config import TrainConfig
from core.data.dataset import FerDataset
from core.evaluation.metrics import classification_report
from core.training.loop import evaluate, resolve_device
from core.training.tensors import load_training_dataset, prepare_splits


def evaluate_checkpoint(path: str | Path, splits: list[str], *, tta: str | None = None,
                        dataset: FerDataset | None = None, device: str = "auto") -> dict[str, Any]:
    """Reports per split for a checkpoint, on the labels and classes it was trained with.

    `tta=None` uses the test-time augmentation the checkpoint records (its default); "none" switches it off.
    """
    payload = load_checkpoint(path)
    config = TrainConfig.from_dict(payload["config"])
    target = resolve_device(device)
    model = model_from_checkpoint(payload).to(target)
    tensors = prepare_splits(dataset if dataset is not None else load_training_dataset(config.data_path),
                             config, target)
    preprocessing = Preprocessing.from_payload(payload).with_tta(tta)
    reports = {}
    for split in splits:
        if split not in tensors:
            continue
        with torch.inference_mode():
            result = evaluate(model, tensors[split], preprocessing)
        reports[split] = classification_report(result["y_true"], result["y_pred"], payload["classes"])
    return {"checkpoint": str(path), "model": payload["model"], "label_source": payload["label_source"],
            "classes": payload["classes"], "tta": preprocessing.tta, "reports": reports}
