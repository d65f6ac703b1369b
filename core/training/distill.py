"""Knowledge distillation: a trained checkpoint (the teacher) supervises a smaller model with its probabilities.

Hinton et al.'s loss: (1 - weight) x the usual cross-entropy + weight x T^2 x KL(teacher || student), both
softened by the temperature T (the T^2 keeps the soft term's gradients on the scale of the hard one). The teacher
sees exactly the augmented batch the student sees, so its targets match what the student is shown.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from core.data.preprocessing import Preprocessing
from core.models.checkpoint import load_checkpoint, model_from_checkpoint


def load_teacher(path: str | Path, classes: list[str], preprocessing: Preprocessing,
                 device: torch.device) -> nn.Module:
    """The teacher of a distillation run, frozen in eval mode; ValueError when its classes or input differ."""
    payload = load_checkpoint(path)
    if list(payload["classes"]) != list(classes):
        raise ValueError(f"teacher {path} predicts {', '.join(payload['classes'])}; this run trains "
                         f"{', '.join(classes)}: a teacher must have the same classes in the same order")
    spec = Preprocessing.from_dict(payload["preprocessing"])
    mine = (preprocessing.input_size, preprocessing.mean, preprocessing.std)
    if (spec.input_size, spec.mean, spec.std) != mine:
        raise ValueError(f"teacher {path} takes {spec.input_size}px faces normalised by ({spec.mean}, {spec.std}); "
                         f"this run feeds {mine[0]}px normalised by ({mine[1]}, {mine[2]}): they must be the same")
    teacher = model_from_checkpoint(payload).to(device).eval()
    for parameter in teacher.parameters():
        parameter.requires_grad_(False)
    return teacher.to(memory_format=torch.channels_last)


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                      temperature: float) -> torch.Tensor:
    """T^2 x KL(softmax(teacher / T) || softmax(student / T)), averaged over the batch."""
    student = F.log_softmax(student_logits.float() / temperature, dim=1)
    teacher = F.log_softmax(teacher_logits.float() / temperature, dim=1)
    return F.kl_div(student, teacher, log_target=True, reduction="batchmean") * temperature ** 2
