"""Architectures reported by the reference projects, rebuilt from their published layer sizes.

Module and attribute names follow the reference projects' printed model trees so that state_dicts
trained with the reference projects' code load here unchanged.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from core.models.registry import register_model

REFERENCE_000 = "reference 000 Emotion_Classification"
REFERENCE_001 = "reference 001 Facial-Emotion-Recognition-PyTorch-ONNX"
REFERENCE_004 = "reference 004 facial-expression-recognition"


# --- emotion_cnn (reference 000, after the Deep Face expression model) ----------------------------


def _emotion_features(in_chans: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_chans, 64, kernel_size=5),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=5, stride=2),  # 44 -> 20
        nn.Conv2d(64, 64, kernel_size=3),
        nn.ReLU(inplace=True),
        nn.Conv2d(64, 64, kernel_size=3),
        nn.ReLU(inplace=True),
        nn.AvgPool2d(kernel_size=3, stride=2),  # 16 -> 7
        nn.Conv2d(64, 128, kernel_size=3),
        nn.ReLU(inplace=True),
        nn.Conv2d(128, 128, kernel_size=3),
        nn.ReLU(inplace=True),
        nn.AvgPool2d(kernel_size=3, stride=2),  # 3 -> 1
    )


@register_model(
    "emotion_cnn",
    input_size=48,
    description="Deep-Face-style CNN: 5 convs, 3 dense layers, ~1.48M params",
    source=REFERENCE_000,
)
def build_emotion_cnn(num_classes: int, in_chans: int, *, dropout: float = 0.2) -> nn.Module:
    """Deep-Face-style expression CNN from reference 000 (48x48 input only)."""
    # The reference's table gives no dropout rate; 0.2 is the Deep Face value.
    # The reference ends in Softmax; it is left out because every registry model returns logits.
    return nn.Sequential(
        OrderedDict(
            features=_emotion_features(in_chans),
            classifier=nn.Sequential(
                nn.Flatten(),
                nn.Linear(128, 1024),
                nn.ReLU(inplace=True),
                nn.Dropout(dropout),
                nn.Linear(1024, 1024),
                nn.ReLU(inplace=True),
                nn.Dropout(dropout),
                nn.Linear(1024, num_classes),
            ),
        )
    )


# --- face_emotion_cnn (reference 001 baseline) ------------------------------------------------------

_FACE_CHANNELS = (8, 16, 32, 64, 128, 256, 256)
_FACE_DROPOUT_CONVS = frozenset({2, 4, 6, 7})
_FACE_STRIDE1_POOLS = 4  # conv1..conv4 pool with stride 1 and so barely shrink the map


class FaceEmotionCNN(nn.Module):
    """Seven valid 3x3 convs with BatchNorm and three dense layers, ending in log-softmax."""

    def __init__(self, num_classes: int = 7, in_chans: int = 1, dropout: float = 0.3):
        super().__init__()
        widths = (in_chans, *_FACE_CHANNELS)
        for index in range(1, len(_FACE_CHANNELS) + 1):
            setattr(self, f"cnn{index}", nn.Conv2d(widths[index - 1], widths[index], kernel_size=3))
        for index, width in enumerate(_FACE_CHANNELS, start=1):
            setattr(self, f"cnn{index}_bn", nn.BatchNorm2d(width))
        self.fc1 = nn.Linear(256 * 2 * 2, 512)
        self.fc2 = nn.Linear(512, 256)
        self.fc3 = nn.Linear(256, num_classes)
        self.relu = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2, 1)
        self.pool2 = nn.MaxPool2d(2, 2)
        self.dropout = nn.Dropout(dropout)
        # Log-probabilities are valid logits (softmax of them gives the same probabilities),
        # and keeping the layer keeps outputs identical to the reference's.
        self.log_softmax = nn.LogSoftmax(dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for index in range(1, len(_FACE_CHANNELS) + 1):
            x = getattr(self, f"cnn{index}")(x)
            if index in _FACE_DROPOUT_CONVS:
                x = self.dropout(x)
            x = getattr(self, f"cnn{index}_bn")(x)
            pool = self.pool1 if index <= _FACE_STRIDE1_POOLS else self.pool2
            x = self.relu(pool(x))
        x = torch.flatten(x, 1)
        x = self.relu(self.dropout(self.fc1(x)))
        x = self.relu(self.dropout(self.fc2(x)))
        return self.log_softmax(self.fc3(x))


@register_model(
    "face_emotion_cnn",
    input_size=48,
    description="Reference 001 baseline: 7 valid 3x3 convs with BatchNorm, 3 dense layers",
    source=REFERENCE_001,
)
def build_face_emotion_cnn(num_classes: int, in_chans: int, *, dropout: float = 0.3) -> nn.Module:
    """Reference 001's baseline CNN (48x48 input only); outputs log-softmax scores."""
    return FaceEmotionCNN(num_classes, in_chans, dropout)


# --- vggnet (reference 004) ---------------------------------------------------------------------


def _vgg_block(in_chans: int, out_chans: int, num_convs: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for _ in range(num_convs):
        layers += [nn.Conv2d(in_chans, out_chans, kernel_size=3, padding=1), nn.ReLU()]
        in_chans = out_chans
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


@register_model(
    "vggnet",
    input_size=48,
    description="Reference 004 VGG: 3 blocks (32, 64, 128x2 channels), 2 x 1024 dense layers",
    source=REFERENCE_004,
)
def build_vggnet(num_classes: int, in_chans: int, *, dropout: float = 0.5) -> nn.Module:
    """Reference 004's small VGG (48x48 input only: the first dense layer sees 128x6x6)."""
    # Flatten sits at fc.0 where the reference had its Reshape, so fc.1/fc.4/fc.7 keys line up.
    head = nn.Sequential(
        nn.Flatten(),
        nn.Linear(128 * 6 * 6, 1024),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(1024, 1024),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(1024, num_classes),
    )
    return nn.Sequential(
        OrderedDict(
            vgg_block_1=_vgg_block(in_chans, 32, 1),
            vgg_block_2=_vgg_block(32, 64, 1),
            vgg_block_3=_vgg_block(64, 128, 2),
            fc=head,
        )
    )


# --- resnet (reference 004, ResNet-18 layout in the d2l style) ---------------------------------------


class Residual(nn.Module):
    """Two 3x3 conv-BN layers plus a shortcut; a 1x1 conv shortcut when the shape changes."""

    def __init__(self, in_chans: int, out_chans: int, stride: int = 1, use_1x1: bool = False):
        super().__init__()
        self.conv1 = nn.Conv2d(in_chans, out_chans, kernel_size=3, stride=stride, padding=1)
        self.conv2 = nn.Conv2d(out_chans, out_chans, kernel_size=3, padding=1)
        self.conv3 = nn.Conv2d(in_chans, out_chans, kernel_size=1, stride=stride) if use_1x1 else None
        self.bn1 = nn.BatchNorm2d(out_chans)
        self.bn2 = nn.BatchNorm2d(out_chans)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        if self.conv3 is not None:
            x = self.conv3(x)
        return torch.relu(y + x)


def _resnet_stage(in_chans: int, out_chans: int, first_stage: bool) -> nn.Sequential:
    # The first stage follows a max-pool, so it keeps resolution and width.
    if first_stage:
        return nn.Sequential(Residual(in_chans, out_chans), Residual(out_chans, out_chans))
    return nn.Sequential(Residual(in_chans, out_chans, stride=2, use_1x1=True), Residual(out_chans, out_chans))


@register_model(
    "resnet",
    input_size=48,
    description="Reference 004 ResNet-18 layout (4 stages of 2 residual blocks, 64-512 channels)",
    source=REFERENCE_004,
)
def build_resnet(num_classes: int, in_chans: int) -> nn.Module:
    """Reference 004's d2l-style ResNet-18; global pooling lets it take any input size."""
    stem = [
        ("0", nn.Conv2d(in_chans, 64, kernel_size=7, stride=2, padding=3)),
        ("1", nn.BatchNorm2d(64)),
        ("2", nn.ReLU()),
        ("3", nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),
    ]
    stages = [
        ("resnet_block1", _resnet_stage(64, 64, first_stage=True)),
        ("resnet_block2", _resnet_stage(64, 128, first_stage=False)),
        ("resnet_block3", _resnet_stage(128, 256, first_stage=False)),
        ("resnet_block4", _resnet_stage(256, 512, first_stage=False)),
    ]
    head = [
        ("global_avg_pool", nn.AdaptiveAvgPool2d(1)),
        ("fc", nn.Sequential(nn.Flatten(), nn.Linear(512, num_classes))),
    ]
    return nn.Sequential(OrderedDict(stem + stages + head))
