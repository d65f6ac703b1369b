"""Class probabilities of a torch model over uint8 faces, with the preprocessing's TTA views and temperature: what
evaluation, the held-out folds and the data set predictions all compute, one definition."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from core.data.preprocessing import Preprocessing, to_model_input_torch, view_torch


@torch.no_grad()
def predict_probabilities(
    model: nn.Module, images: torch.Tensor, preprocessing: Preprocessing, batch_size: int = 256
) -> torch.Tensor:
    """Class probabilities for uint8 faces (N, 1, H, W), averaged over the spec's TTA views (as the Predictor)."""
    model.eval()
    out = []
    for start in range(0, len(images), batch_size):
        x = to_model_input_torch(images[start : start + batch_size], preprocessing)
        views = [view_torch(x, view) for view in preprocessing.views()]
        probs = torch.stack([F.softmax(model(v).float(), dim=1) for v in views]).mean(0)
        if preprocessing.temperature != 1.0 or preprocessing.logit_bias:  # as preprocessing.calibrated does
            bias = torch.tensor(preprocessing.logit_bias or [0.0] * probs.shape[1], device=probs.device)
            probs = F.softmax((probs.clamp_min(1e-12).log() + bias) / preprocessing.temperature, dim=1)
        out.append(probs)
    return torch.cat(out)
