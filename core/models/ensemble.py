"""An ensemble of trained models as one torch module: the weighted mean of the members' probabilities.

Each member sees the input as it was trained to (its own normalisation), averaged over its own test-time
augmentation views, then calibrated with its own temperature and logit bias. The module returns the log of the
mean probability, so anything that takes logits (evaluate, the predictor, distillation as a teacher) gets exactly
the ensemble's probabilities back from a softmax.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from core.data.preprocessing import Preprocessing, view_torch


class EnsembleModel(nn.Module):
    def __init__(
        self,
        members: Sequence[nn.Module],
        specs: Sequence[Preprocessing],
        weights: Sequence[float],
        input_spec: Preprocessing,
    ) -> None:
        super().__init__()
        if not len(members) == len(specs) == len(weights):
            raise ValueError("an ensemble needs one spec and one weight per member")
        self.members = nn.ModuleList(members)
        self.specs = list(specs)
        self.register_buffer("weights", torch.tensor(weights, dtype=torch.float32) / float(sum(weights)))
        self.input_spec = input_spec

    def member_probabilities(self, member: nn.Module, spec: Preprocessing, x: torch.Tensor) -> torch.Tensor:
        if (spec.mean, spec.std) != (self.input_spec.mean, self.input_spec.std):  # back to [0, 1], then its scale
            x = (x * self.input_spec.std + self.input_spec.mean - spec.mean) / spec.std
        probs = torch.stack([F.softmax(member(view_torch(x, view)).float(), dim=1) for view in spec.views()]).mean(0)
        if spec.temperature != 1.0 or spec.logit_bias:
            bias = torch.tensor(spec.logit_bias or [0.0] * probs.shape[1], device=probs.device)
            probs = F.softmax((probs.clamp_min(1e-12).log() + bias) / spec.temperature, dim=1)
        return probs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = sum(
            weight * self.member_probabilities(member, spec, x)
            for member, spec, weight in zip(self.members, self.specs, self.weights)
        )
        return mean.clamp_min(1e-12).log()
