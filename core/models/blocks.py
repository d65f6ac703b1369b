"""Building blocks the architectures share."""

from __future__ import annotations

from torch import nn


def conv_bn_relu(in_chans: int, out_chans: int) -> nn.Sequential:
    """Return a 3x3 same-padding conv, BatchNorm and ReLU."""
    # BatchNorm's shift makes a conv bias redundant.
    return nn.Sequential(
        nn.Conv2d(in_chans, out_chans, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(out_chans),
        nn.ReLU(inplace=True),
    )
