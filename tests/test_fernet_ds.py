"""FERNet-DS (core/models/fernet_ds.py): registered, the right shapes, far fewer parameters than FERNet, trainable."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from core.models.registry import create_model, list_models, parameter_count


def test_registered_with_logits_per_class_at_any_input_size():
    assert "fernet_ds" in list_models()
    model = create_model("fernet_ds", num_classes=7).eval()
    for size in (48, 64):
        assert model(torch.zeros(2, 1, size, size)).shape == (2, 7)


def test_far_smaller_than_fernet_and_width_scales_it():
    small = parameter_count("fernet_ds", num_classes=7)
    assert small < parameter_count("fernet", num_classes=7) / 4
    assert parameter_count("fernet_ds", num_classes=7, width=0.5) < small


def test_a_few_steps_fit_a_tiny_batch():
    torch.manual_seed(0)
    model = create_model("fernet_ds", num_classes=3, dropout=0.0)
    x, y = torch.randn(8, 1, 48, 48), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for _ in range(15):
        loss = F.cross_entropy(model(x), y)
        first = first if first is not None else loss.item()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < first / 2
