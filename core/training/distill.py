"""Knowledge distillation: a trained checkpoint (the teacher) supervises a smaller model with its probabilities.

Hinton et al.'s loss: (1 - weight) x the usual cross-entropy + weight x T^2 x KL(teacher || student), both
softened by the temperature T (the T^2 keeps the soft term's gradients on the scale of the hard one). The teacher
sees exactly the augmented batch the student sees, so its targets match what the student is shown. With a teacher,
a run's logged training loss is this blend, not the cross-entropy alone. last.pt records the teacher file's sha1,
so a run never resumes with a different teacher.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from core.data.preprocessing import Preprocessing
from core.models.checkpoint import load_checkpoint, model_from_checkpoint
from core.training.config import TrainConfig

FOLD_KEYS = ("folds", "fold", "seed")  # what decides a cross-validation run's held-out rows (folds.fold_of_rows)


def load_teacher(
    path: str | Path,
    classes: list[str],
    preprocessing: Preprocessing,
    device: torch.device,
    folds: dict[str, int] | None = None,
) -> nn.Module:
    """The teacher of a distillation run, frozen in eval mode; ValueError when its classes or input differ, or,
    for a cross-validation fold (`folds`: the run's FOLD_KEYS), when it was not trained without that same fold."""
    payload = load_checkpoint(path)
    taught = {key: (payload.get("config") or {}).get(key) for key in FOLD_KEYS}
    if folds and taught != folds:
        raise ValueError(
            f"teacher {path} was trained with {taught}; a cross-validation fold {folds} needs a "
            "teacher that never saw the held-out fold (the same folds, fold and seed), or its "
            "out-of-fold probabilities are not out of fold"
        )
    if list(payload["classes"]) != list(classes):
        raise ValueError(
            f"teacher {path} predicts {', '.join(payload['classes'])}; this run trains "
            f"{', '.join(classes)}: a teacher must have the same classes in the same order"
        )
    spec = Preprocessing.from_dict(payload["preprocessing"])
    mine = (preprocessing.input_size, preprocessing.resize_filter, preprocessing.mean, preprocessing.std)
    if (spec.input_size, spec.resize_filter, spec.mean, spec.std) != mine:
        raise ValueError(
            f"teacher {path} takes {spec.input_size}px faces ({spec.resize_filter}) normalised by "
            f"({spec.mean}, {spec.std}); this run feeds {mine[0]}px ({mine[1]}) normalised by "
            f"({mine[2]}, {mine[3]}): they must be the same"
        )
    teacher = model_from_checkpoint(payload).to(device).eval()
    for parameter in teacher.parameters():
        parameter.requires_grad_(False)
    return teacher.to(memory_format=torch.channels_last)


def run_teacher(
    config: TrainConfig, classes: list[str], preprocessing: Preprocessing, device: torch.device
) -> nn.Module | None:
    """The teacher a run's config asks for (None without one, or with a distillation weight of 0)."""
    if not config.teacher or config.distill_weight <= 0:
        return None
    folds = {key: getattr(config, key) for key in FOLD_KEYS} if config.folds else None
    with torch.random.fork_rng(devices=[]):  # building it draws random weights: the student's seed stays as without
        return load_teacher(config.teacher, classes, preprocessing, device, folds)


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """T^2 x KL(softmax(teacher / T) || softmax(student / T)), averaged over the batch."""
    student = F.log_softmax(student_logits.float() / temperature, dim=1)
    teacher = F.log_softmax(teacher_logits.float() / temperature, dim=1)
    return F.kl_div(student, teacher, log_target=True, reduction="batchmean") * temperature**2


def teacher_digest(path: str | Path) -> str:
    """sha1 of the teacher's file: last.pt records it, so a resumed run distils from the same teacher."""
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_same_teacher(recorded: str | None, current: str | None, run: Path) -> None:
    """ValueError when the teacher file a run started with (`recorded` sha1) is not the one it has now."""
    if recorded != current:
        raise ValueError(
            f"cannot resume {run}: its teacher checkpoint changed since the run started "
            f"(sha1 {recorded} then, {current} now); start a new run instead"
        )
