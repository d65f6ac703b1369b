"""Warm start: a new run begins from a trained checkpoint's weights instead of random ones (`--init-from`).

The checkpoint must be the same architecture (model and options) with the same input spec. The classifier head is
matched by class name, so a FER2013 model fine-tuned on FERPlus keeps what it learnt for the seven shared classes;
a class the checkpoint never saw (contempt) keeps its fresh initialisation. Every other tensor must fit exactly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from core.data.preprocessing import Preprocessing
from core.models.checkpoint import load_checkpoint


def _architecture(model: str, options: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return model, {key: value for key, value in options.items() if key != "weights"}


def check_compatible(
    payload: dict[str, Any], model: str, model_options: dict[str, Any], preprocessing: Preprocessing, path: str | Path
) -> None:
    """ValueError naming what differs between the checkpoint and the run (architecture or input spec)."""
    theirs = _architecture(payload["model"], payload.get("model_options") or {})
    mine = _architecture(model, model_options)
    if theirs != mine:
        raise ValueError(
            f"--init-from {path} is {theirs[0]} {theirs[1]}; this run builds {mine[0]} {mine[1]}: "
            "a warm start needs the same model and model options"
        )
    spec = Preprocessing.from_dict(payload["preprocessing"])
    if (spec.input_size, spec.mean, spec.std) != (preprocessing.input_size, preprocessing.mean, preprocessing.std):
        raise ValueError(
            f"--init-from {path} takes {spec.input_size}px faces normalised by ({spec.mean}, "
            f"{spec.std}); this run feeds {preprocessing.input_size}px normalised by "
            f"({preprocessing.mean}, {preprocessing.std}): they must be the same"
        )


def remap_head(
    source: torch.Tensor, target: torch.Tensor, source_classes: list[str], target_classes: list[str]
) -> tuple[torch.Tensor, list[str]]:
    """`target` with the rows of the classes both sets share copied from `source`; the shared class names."""
    merged = target.clone()
    shared = [name for name in target_classes if name in source_classes]
    for name in shared:
        merged[target_classes.index(name)] = source[source_classes.index(name)]
    return merged, shared


def warm_start(
    model: nn.Module,
    path: str | Path,
    model_name: str,
    model_options: dict[str, Any],
    classes: list[str],
    preprocessing: Preprocessing,
) -> dict[str, Any]:
    """Load `path`'s weights into `model` (in place); returns what the card records about the start."""
    payload = load_checkpoint(path)
    check_compatible(payload, model_name, model_options, preprocessing, path)
    source_classes = list(payload["classes"])
    own = model.state_dict()
    loaded, remapped, shared = {}, [], list(classes)
    for key, value in payload["state_dict"].items():
        if key not in own:
            raise ValueError(f"--init-from {path} has a tensor {key!r} that this model does not")
        is_head = (
            source_classes != list(classes)
            and value.ndim >= 1
            and value.shape[0] == len(source_classes)
            and own[key].shape[0] == len(classes)
            and value.shape[1:] == own[key].shape[1:]
        )
        if is_head:
            loaded[key], shared = remap_head(value, own[key], source_classes, list(classes))
            remapped.append(key)
        elif value.shape == own[key].shape:
            loaded[key] = value
        else:
            raise ValueError(
                f"--init-from {path}: {key} is {tuple(value.shape)}, this model's is {tuple(own[key].shape)}"
            )
    missing = sorted(set(own) - set(loaded))
    if missing:
        raise ValueError(f"--init-from {path} lacks {', '.join(missing[:3])}: not the same architecture")
    model.load_state_dict(loaded)
    return {
        "init_from": str(path),
        "source_classes": source_classes,
        "head_remapped": bool(remapped),
        "shared_classes": shared,
        "new_classes": [name for name in classes if name not in source_classes],
    }
