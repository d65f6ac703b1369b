"""FERNet: FER Studio's own compact CNN, tuned for accuracy per CPU-second on 48x48 gray faces.

Four VGG-style stages (two conv3x3-BN-ReLU, then a 2x2 max-pool) halve the map
48 -> 24 -> 12 -> 6 -> 3; global average pooling then makes the net independent of the
input size (anything from 16x16 up). About 1.2M parameters at ``width=1.0``.
"""

from __future__ import annotations

import torch
from torch import nn

from core.models.blocks import conv_bn_relu
from core.models.registry import register_model

BASE_CHANNELS = (32, 64, 128, 256)


def scale_channels(channels: int, width: float) -> int:
    """Return ``channels * width`` rounded to a multiple of 8 (at least 8)."""
    # Multiples of 8 keep oneDNN/cuDNN kernels on their fast vectorised paths.
    return max(8, int(round(channels * width / 8)) * 8)


def _stage(in_chans: int, out_chans: int) -> nn.Sequential:
    return nn.Sequential(
        conv_bn_relu(in_chans, out_chans),
        conv_bn_relu(out_chans, out_chans),
        nn.MaxPool2d(2),
    )


MAX_WIDTH = 8.0  # 64 times the parameters of width 1 (about 77 M); wider only exhausts memory


class FERNet(nn.Module):
    """Compact VGG-style classifier: 4 conv stages, global average pooling, dropout, linear."""

    def __init__(self, num_classes: int, in_chans: int = 1, width: float = 1.0, dropout: float = 0.3):
        super().__init__()
        if not 0 < width <= MAX_WIDTH:
            raise ValueError(f"width must be in (0, {MAX_WIDTH:g}], got {width}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        channels = [scale_channels(c, width) for c in BASE_CHANNELS]
        stages = []
        for out_chans in channels:
            stages.append(_stage(in_chans, out_chans))
            in_chans = out_chans
        self.features = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(channels[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.features(x)).flatten(1)
        return self.classifier(self.dropout(x))


@register_model(
    "fernet",
    input_size=48,
    description="FER Studio's compact VGG-style CNN (4 stages, ~1.2M params at width 1.0)",
    source="FER Studio",
)
def build_fernet(num_classes: int, in_chans: int, *, width: float = 1.0, dropout: float = 0.3) -> nn.Module:
    """FER Studio's own compact CNN; ``width`` scales every stage's channels."""
    return FERNet(num_classes, in_chans, width=width, dropout=dropout)
