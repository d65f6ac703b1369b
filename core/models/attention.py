"""Attention CNN: a compact conv net whose stages end in CBAM attention blocks.

Reference 001 names an "attention model" but publishes no layers, so this is FER Studio's
design after CBAM (Woo et al., 2018): channel attention, then spatial attention, which
lets the net emphasise the feature maps and face regions that carry the expression.
"""

from __future__ import annotations

import torch
from torch import nn

from core.models.blocks import conv_bn_relu
from core.models.registry import register_model

STAGE_CHANNELS = (32, 64, 128, 256)


class ChannelAttention(nn.Module):
    """Reweight channels from average- and max-pooled descriptors through a shared MLP."""

    def __init__(self, channels: int, reduction: int = 8):
        super().__init__()
        hidden = max(1, channels // reduction)
        # 1x1 convs act as the shared MLP without flattening the (N, C, 1, 1) descriptors.
        self.mlp = nn.Sequential(
            nn.Conv2d(channels, hidden, kernel_size=1, bias=False),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, kernel_size=1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        avg = self.mlp(torch.mean(x, dim=(2, 3), keepdim=True))
        peak = self.mlp(torch.amax(x, dim=(2, 3), keepdim=True))
        return x * torch.sigmoid(avg + peak)


class SpatialAttention(nn.Module):
    """Reweight positions from channel-wise average and max maps through one conv."""

    def __init__(self, kernel_size: int = 7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        maps = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.conv(maps))


class CBAM(nn.Module):
    """Convolutional Block Attention Module: channel attention followed by spatial attention."""

    def __init__(self, channels: int, reduction: int = 8, kernel_size: int = 7):
        super().__init__()
        self.channel = ChannelAttention(channels, reduction)
        self.spatial = SpatialAttention(kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.spatial(self.channel(x))


def _attention_stage(in_chans: int, out_chans: int, reduction: int) -> nn.Sequential:
    return nn.Sequential(
        conv_bn_relu(in_chans, out_chans),
        conv_bn_relu(out_chans, out_chans),
        CBAM(out_chans, reduction),
        nn.MaxPool2d(2),
    )


class AttentionCNN(nn.Module):
    """Four conv stages with CBAM (48 -> 24 -> 12 -> 6 -> 3), global average pool, linear head."""

    def __init__(self, num_classes: int, in_chans: int = 1, dropout: float = 0.3, reduction: int = 8):
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if reduction < 1:
            raise ValueError(f"reduction must be a positive integer, got {reduction}")
        stages = []
        for out_chans in STAGE_CHANNELS:
            stages.append(_attention_stage(in_chans, out_chans, reduction))
            in_chans = out_chans
        self.features = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(STAGE_CHANNELS[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.features(x)).flatten(1)
        return self.classifier(self.dropout(x))


@register_model(
    "attention_cnn",
    input_size=48,
    description="Compact CNN with CBAM channel+spatial attention after each of 4 stages",
    source="reference 001 Facial-Emotion-Recognition-PyTorch-ONNX (named only; layers are FER Studio's)",
)
def build_attention_cnn(num_classes: int, in_chans: int, *, dropout: float = 0.3, reduction: int = 8) -> nn.Module:
    """Attention CNN: 4 conv stages each ending in a CBAM block, then pooled linear head."""
    if isinstance(reduction, bool) or not isinstance(reduction, int) or reduction < 1:
        raise ValueError(f"reduction must be a whole number >= 1, got {reduction!r}")
    return AttentionCNN(num_classes, in_chans, dropout=dropout, reduction=reduction)
