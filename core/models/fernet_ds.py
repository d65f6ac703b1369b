"""FERNet-DS: FERNet's four stages with depthwise-separable convolutions, for live use on CPUs without int8 units.

The same layout as FERNet (48 -> 24 -> 12 -> 6 -> 3, global average pooling), so it distils from FERNet or an
ensemble of them with `--teacher`; each 3x3 conv after the first is a depthwise 3x3 and a pointwise 1x1
(MobileNet's factorisation): several times fewer multiply-adds than FERNet at the same width.
"""

from __future__ import annotations

import torch
from torch import nn

from core.models.blocks import conv_bn_relu
from core.models.fernet import BASE_CHANNELS, scale_channels
from core.models.registry import register_model


def separable(in_chans: int, out_chans: int) -> nn.Sequential:
    """Depthwise 3x3, BN, ReLU, then pointwise 1x1, BN, ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_chans, in_chans, kernel_size=3, padding=1, groups=in_chans, bias=False),
        nn.BatchNorm2d(in_chans),
        nn.ReLU(inplace=True),
        nn.Conv2d(in_chans, out_chans, kernel_size=1, bias=False),
        nn.BatchNorm2d(out_chans),
        nn.ReLU(inplace=True),
    )


class FERNetDS(nn.Module):
    """A full 3x3 stem, then per stage two separable convs and a 2x2 max-pool; pooling, dropout, linear."""

    def __init__(self, num_classes: int, in_chans: int = 1, width: float = 1.0, dropout: float = 0.3):
        super().__init__()
        if width <= 0:
            raise ValueError(f"width must be positive, got {width}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        channels = [scale_channels(c, width) for c in BASE_CHANNELS]
        layers: list[nn.Module] = [conv_bn_relu(in_chans, channels[0])]  # a depthwise conv on one channel is wasted
        previous = channels[0]
        for out_chans in channels:
            layers += [separable(previous, out_chans), separable(out_chans, out_chans), nn.MaxPool2d(2)]
            previous = out_chans
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(channels[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.pool(self.features(x)).flatten(1)))


@register_model(
    "fernet_ds",
    input_size=48,
    source="FER Studio",
    description="FERNet with depthwise-separable convs (~0.14M params at width 1.0), for live CPU use",
)
def build_fernet_ds(num_classes: int, in_chans: int, *, width: float = 1.0, dropout: float = 0.3) -> nn.Module:
    """FERNet-DS; ``width`` scales every stage's channels."""
    return FERNetDS(num_classes, in_chans, width=width, dropout=dropout)
