"""Balanced softmax (`train --loss balanced-softmax`): the Training prior's log added to the logits in the loss."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from core.data.store import load_sample
from core.training.config import TrainConfig
from core.training.loop import batch_loss, fit
from core.training.tensors import SplitTensors, log_prior


def test_log_prior_is_the_label_distribution_hard_or_soft():
    hard = SplitTensors(torch.zeros(4, 1, 2, 2), torch.tensor([0, 0, 0, 1]))
    assert torch.allclose(log_prior(hard, 3).exp()[:2], torch.tensor([0.75, 0.25]), atol=1e-3)
    soft = SplitTensors(torch.zeros(2, 1, 2, 2), torch.tensor([0, 1]), torch.tensor([[0.5, 0.5], [0.0, 1.0]]))
    assert torch.allclose(log_prior(soft, 2).exp(), torch.tensor([0.25, 0.75]), atol=1e-3)


def test_the_offset_enters_the_loss_only():
    split = SplitTensors(torch.zeros(3, 1, 2, 2), torch.tensor([0, 1, 1]))
    logits, offset = torch.randn(3, 2), torch.tensor([math.log(0.9), math.log(0.1)])
    config = TrainConfig(label_smoothing=0.0)
    got = batch_loss(logits, split, torch.arange(3), config, None, logit_offset=offset)
    assert torch.isclose(got, F.cross_entropy(logits + offset, split.targets))


def train_linear(offset: torch.Tensor | None, x: torch.Tensor, split: SplitTensors) -> torch.nn.Linear:
    torch.manual_seed(0)
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    config = TrainConfig(label_smoothing=0.0)
    for _ in range(300):
        loss = batch_loss(model(x), split, torch.arange(len(x)), config, None, logit_offset=offset)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model


def test_balanced_softmax_lifts_the_rare_class_recall():
    generator = torch.Generator().manual_seed(0)
    labels = (torch.rand(2000, generator=generator) < 0.1).long()  # class 1 is rare
    x = torch.randn(2000, 2, generator=generator) + labels[:, None] * 1.5
    split = SplitTensors(torch.zeros(2000, 1, 1, 1), labels)
    rare = labels == 1
    recall = {
        name: (train_linear(offset, x, split)(x).argmax(1)[rare] == 1).float().mean().item()
        for name, offset in (("plain", None), ("balanced", log_prior(split, 2)))
    }
    assert recall["balanced"] > recall["plain"] + 0.2


def test_a_run_with_balanced_softmax_trains_and_records_it(tmp_path):
    config = TrainConfig(
        model="fernet",
        model_options={"width": 0.25},
        epochs=1,
        max_steps_per_epoch=2,
        batch_size=16,
        device="cpu",
        loss="balanced-softmax",
    )
    records = list(fit(config, tmp_path, dataset=load_sample()))
    assert records[-1]["train_loss"] > 0 and TrainConfig.load(tmp_path / "config.json").loss == "balanced-softmax"
