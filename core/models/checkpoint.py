"""Checkpoints that describe themselves: weights plus everything needed to use them, in plain types.

They load with `torch.load(weights_only=True)` (no pickled code runs) and are written atomically.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from core.checkpoint_format import FORMAT
from core.data.preprocessing import Preprocessing
from core.ensemble_format import ENSEMBLE_MODEL, check_members, is_ensemble_file, read_ensemble
from core.models.ensemble import EnsembleModel
from core.models.registry import create_model


def save_checkpoint(
    path: str | Path,
    model: nn.Module,
    *,
    config: dict[str, Any],
    classes: list[str],
    preprocessing: Preprocessing,
    metrics: dict[str, Any],
    epoch: int,
    training_state: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint via a temporary file and a rename, so a crash never leaves half a file."""
    path = Path(path)
    payload = {
        "format": FORMAT,
        "model": config["model"],
        # a local pretrained-weights path is not needed (the state_dict holds them) and may not exist elsewhere
        "model_options": {k: v for k, v in config.get("model_options", {}).items() if k != "weights"},
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "classes": list(classes),
        "in_chans": 1,
        "preprocessing": preprocessing.to_dict(),
        # the same facts under the keys checkpoints had before `preprocessing`, so older code still reads them
        "input_size": preprocessing.input_size,
        "normalization": {"mean": preprocessing.mean, "std": preprocessing.std},
        "tta": preprocessing.tta,
        "label_source": config["label_source"],
        "config": config,
        "metrics": metrics,
        "epoch": int(epoch),
    }
    if training_state is not None:
        payload["training_state"] = training_state  # optimizer, scheduler: only what resume needs
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    torch.save(payload, temporary)
    os.replace(temporary, path)
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint safely (weights_only) and check it is one of ours; `payload["preprocessing"]` is always
    there (`Preprocessing.from_dict` reads it). An ensemble file (core.ensemble_format) loads as a payload too."""
    path = Path(path)
    if is_ensemble_file(path):
        return load_ensemble(path, map_location)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, EOFError ... for bad files
        raise ValueError(f"{path} is not a loadable checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not a FER Studio checkpoint (no '{FORMAT}' format tag)")
    # checkpoints from before the spec (the shipped ones) get it derived from their input_size/normalization/tta
    payload["preprocessing"] = Preprocessing.from_payload(payload).to_dict()
    return payload


def load_ensemble(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """An ensemble file as a checkpoint payload: the first member's classes, labels and config, input as the
    members take it, no TTA and temperature 1 of its own (each member applies its own), the members' payloads."""
    spec = read_ensemble(path)
    members = [load_checkpoint(member, map_location) for member in spec["members"]]
    check_members(path, members, spec["members"])
    first = Preprocessing.from_payload(members[0])
    preprocessing = Preprocessing(input_size=first.input_size, mean=first.mean, std=first.std)
    return {
        "format": FORMAT,
        "model": ENSEMBLE_MODEL,
        "model_options": {},
        "classes": list(members[0]["classes"]),
        "in_chans": 1,
        "preprocessing": preprocessing.to_dict(),
        "input_size": preprocessing.input_size,
        "normalization": {"mean": preprocessing.mean, "std": preprocessing.std},
        "tta": "none",
        "label_source": members[0]["label_source"],
        "config": members[0]["config"],
        "metrics": spec["metrics"],
        "epoch": 0,
        "members": members,
        "member_files": [str(m) for m in spec["members"]],
        "weights": spec["weights"],
    }


def model_from_checkpoint(payload: dict[str, Any]) -> nn.Module:
    """Rebuild the model a checkpoint describes, weights loaded, in eval mode (an ensemble: `EnsembleModel`)."""
    if payload["model"] == ENSEMBLE_MODEL:
        members = [model_from_checkpoint(member) for member in payload["members"]]
        specs = [Preprocessing.from_payload(member) for member in payload["members"]]
        return EnsembleModel(members, specs, payload["weights"], Preprocessing.from_payload(payload)).eval()
    model = create_model(
        payload["model"], num_classes=len(payload["classes"]), in_chans=payload["in_chans"], **payload["model_options"]
    )
    broken = next(
        (
            name
            for name, tensor in payload["state_dict"].items()
            if tensor.is_floating_point() and not torch.isfinite(tensor).all()
        ),
        None,
    )
    if broken is not None:  # a diverged run's weights would predict "happy (nan%)" for every face
        raise ValueError(
            f"the checkpoint's weights are not finite ({broken} holds NaN or inf): it comes from a "
            "training run that diverged"
        )
    model.load_state_dict(payload["state_dict"])
    return model.eval()
