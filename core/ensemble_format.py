"""The ensemble file: a small JSON that lists member checkpoints (paths relative to itself) and the averaging rule.

    {"format": "fer-studio-ensemble/1", "members": ["fer2013_fernet.pt", "fer2013_fernet_tiny.pt"],
     "weights": [1.0, 1.0], "rule": "mean-probability", "metrics": {...}}

The ensemble's probabilities are the weighted mean of its members' probabilities, each member with its own
test-time augmentation, temperature and logit bias. Read here without torch (the catalog lists ensembles for the
onnxruntime-only apps too); `core.models.checkpoint.load_checkpoint` turns the file into a payload and
`model_from_checkpoint` into one model, so every caller takes an ensemble as it takes a checkpoint.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ENSEMBLE_FORMAT = "fer-studio-ensemble/1"
ENSEMBLE_SUFFIX = ".ensemble.json"
ENSEMBLE_MODEL = "ensemble"  # the payload's "model" for an ensemble
RULES = ("mean-probability",)


def is_ensemble_file(path: str | Path) -> bool:
    return str(path).lower().endswith(ENSEMBLE_SUFFIX)


def is_model_file(path: str | Path) -> bool:
    """A file the predictor can load: a .pt checkpoint, an .onnx export or an ensemble file."""
    return Path(path).suffix.lower() in (".pt", ".onnx") or is_ensemble_file(path)


def ensemble_stem(path: str | Path) -> str:
    name = Path(path).name
    return name[: -len(ENSEMBLE_SUFFIX)] if is_ensemble_file(name) else Path(path).stem


def read_ensemble(path: str | Path) -> dict[str, Any]:
    """The file's members (absolute paths), weights, rule and metrics; ValueError naming the first problem."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no ensemble file at {path}")
    try:
        spec = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not an ensemble file ({exc})") from None
    if not isinstance(spec, dict) or spec.get("format") != ENSEMBLE_FORMAT:
        raise ValueError(f"{path} is not a FER Studio ensemble (no '{ENSEMBLE_FORMAT}' format tag)")
    members = spec.get("members")
    if not isinstance(members, list) or len(members) < 2 or not all(isinstance(m, str) for m in members):
        raise ValueError(f"{path}: 'members' must list at least two checkpoint files")
    weights = spec.get("weights") or [1.0] * len(members)
    if len(weights) != len(members) or not all(isinstance(w, (int, float)) and w > 0 for w in weights):
        raise ValueError(f"{path}: 'weights' must be {len(members)} positive numbers, got {weights}")
    if spec.get("rule", RULES[0]) not in RULES:
        raise ValueError(f"{path}: rule must be one of {', '.join(RULES)}, got {spec.get('rule')!r}")
    files = [(path.parent / member).resolve() for member in members]
    for member, file in zip(members, files):
        if file.suffix.lower() != ".pt":
            raise ValueError(f"{path}: member {member} is not a .pt checkpoint")
        if not file.is_file():
            raise FileNotFoundError(f"{path}: member {member} not found at {file}")
    return {
        "members": files,
        "weights": [float(w) for w in weights],
        "rule": spec.get("rule", RULES[0]),
        "metrics": spec.get("metrics") or {},
    }


def check_members(path: str | Path, metas: Sequence[dict[str, Any]], names: Sequence[str | Path]) -> None:
    """Members must share classes (in order) and input size; ValueError in one line otherwise."""
    first = metas[0]
    for meta, name in zip(metas[1:], names[1:]):
        if list(meta["classes"]) != list(first["classes"]):
            raise ValueError(
                f"{path}: member {Path(name).name} has classes {', '.join(meta['classes'])}, the first "
                f"has {', '.join(first['classes'])}"
            )
        if meta.get("input_size") != first.get("input_size"):
            raise ValueError(
                f"{path}: member {Path(name).name} takes {meta.get('input_size')} px input, the first "
                f"{first.get('input_size')} px"
            )


def write_ensemble(
    path: str | Path,
    members: Sequence[str | Path],
    weights: Sequence[float] | None = None,
    metrics: dict[str, Any] | None = None,
) -> Path:
    """Write an ensemble file listing `members` relative to it (so the folder can move as a whole)."""
    import os

    path = Path(path)
    if not is_ensemble_file(path):
        raise ValueError(f"{path}: an ensemble file's name ends in {ENSEMBLE_SUFFIX}")
    relative = [os.path.relpath(Path(m).resolve(), path.parent.resolve()) for m in members]
    spec = {
        "format": ENSEMBLE_FORMAT,
        "members": relative,
        "weights": [float(w) for w in weights or [1.0] * len(members)],
        "rule": RULES[0],
        "metrics": metrics or {},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(spec, indent=2) + "\n")
    read_ensemble(path)  # the file written is one that loads
    return path


def peek_ensemble(path: str | Path, peek) -> dict[str, Any]:
    """An ensemble's metadata (classes, model, metrics, input_size) from its members' `peek`, without torch."""
    spec = read_ensemble(path)
    metas = [peek(member) for member in spec["members"]]
    check_members(path, metas, spec["members"])
    return {
        "format": metas[0]["format"],
        "model": ENSEMBLE_MODEL,
        "classes": list(metas[0]["classes"]),
        "metrics": spec["metrics"],
        "input_size": metas[0].get("input_size"),
        "members": [str(m) for m in spec["members"]],
    }
