"""Transfer-learning models: ImageNet EfficientNet-B0 and the VGGFace2 Inception-ResNet-v1.

Both are built without weights; pretrained weights come only from a LOCAL state_dict file
given as the ``weights`` option. Nothing here ever downloads.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from facenet_pytorch import InceptionResnetV1
from torch import nn
from torchvision.models import efficientnet_b0

from core.models.registry import register_model

REFERENCE_001 = "reference 001 Facial-Emotion-Recognition-PyTorch-ONNX"
REFERENCE_003 = "reference 003 Facial-Expression-Recognition-Image-Classification"


def adapt_first_conv(conv: nn.Conv2d, in_chans: int) -> nn.Conv2d:
    """Return a copy of an RGB input conv that takes ``in_chans`` channels.

    A gray image fed to an RGB net is the same picture in all three channels, so summing
    the RGB kernels keeps the pretrained response (timm's ``adapt_input_conv`` idea).
    For more than three channels the RGB kernels are tiled and rescaled to keep the
    activation scale.
    """
    if conv.in_channels == in_chans:
        return conv
    if conv.groups != 1 or conv.in_channels != 3:
        raise ValueError(f"can only adapt a plain 3-channel conv, got {conv}")
    weight = conv.weight.detach()
    if in_chans == 1:
        new_weight = weight.sum(dim=1, keepdim=True)
    else:
        repeats = math.ceil(in_chans / 3)
        new_weight = weight.repeat(1, repeats, 1, 1)[:, :in_chans] * (3 / in_chans)
    new_conv = nn.Conv2d(
        in_chans,
        conv.out_channels,
        conv.kernel_size,
        stride=conv.stride,
        padding=conv.padding,
        dilation=conv.dilation,
        bias=conv.bias is not None,
        padding_mode=conv.padding_mode,
    )
    with torch.no_grad():
        new_conv.weight.copy_(new_weight)
        if conv.bias is not None:
            new_conv.bias.copy_(conv.bias)
    return new_conv


def load_local_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a state_dict from a local file; a missing file raises FileNotFoundError."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise FileNotFoundError(
            f"weights file not found: {file}. FER Studio never downloads weights; "
            "put the state_dict file on this machine and pass its path."
        )
    state = torch.load(file, weights_only=True, map_location="cpu")
    if not isinstance(state, dict):
        raise ValueError(f"{file} does not hold a state_dict (got {type(state).__name__})")
    return state


def prepare_backbone(
    model: nn.Module, first_conv: str, in_chans: int, weights: str | Path | None, head_prefix: str
) -> None:
    """Load local backbone weights (if any) and make the ``first_conv`` module take ``in_chans``.

    The file may hold RGB weights (as published) or weights already saved with ``in_chans``
    input channels; the head (``head_prefix``) is always left freshly initialised.
    """
    state = _read_backbone_state(weights, head_prefix) if weights is not None else {}
    saved_chans = state[f"{first_conv}.weight"].shape[1] if f"{first_conv}.weight" in state else 3
    # RGB weights must be loaded before adapting; in_chans weights only fit after it.
    if saved_chans == 3:
        _load_strict_except_head(model, state, head_prefix)
    _replace_first_conv(model, first_conv, in_chans)
    if saved_chans != 3:
        _load_strict_except_head(model, state, head_prefix)


def _read_backbone_state(path: str | Path, head_prefix: str) -> dict[str, torch.Tensor]:
    return {k: v for k, v in load_local_state_dict(path).items() if not k.startswith(head_prefix)}


def _replace_first_conv(model: nn.Module, first_conv: str, in_chans: int) -> None:
    owner_name, _, attr = first_conv.rpartition(".")
    owner = model.get_submodule(owner_name)
    setattr(owner, attr, adapt_first_conv(getattr(owner, attr), in_chans))


def _load_strict_except_head(model: nn.Module, state: dict[str, torch.Tensor], head_prefix: str) -> None:
    if not state:
        return
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith(head_prefix)]
    if missing or unexpected:
        raise ValueError(
            f"weights file does not match this backbone: missing keys {missing[:5]}, unexpected keys {unexpected[:5]}"
        )


def freeze_all_but(model: nn.Module, head_prefix: str) -> None:
    """Stop gradients for every parameter outside the head."""
    # BatchNorm running stats still move in train mode; the trainer decides whether to eval() them.
    for name, param in model.named_parameters():
        param.requires_grad = name.startswith(head_prefix)


@register_model(
    "efficientnet_b0",
    input_size=160,
    description="EfficientNet-B0 with a 1280-512-classes head; optional local ImageNet weights",
    source=REFERENCE_003,
)
def build_efficientnet_b0(
    num_classes: int,
    in_chans: int,
    *,
    weights: str | Path | None = None,
    freeze_backbone: bool = False,
    max_pooling: bool = False,
) -> nn.Module:
    """torchvision EfficientNet-B0 with reference 003's two-layer head (logits, no softmax)."""
    model = efficientnet_b0(weights=None)
    prepare_backbone(model, "features.0.0", in_chans, weights, "classifier.")
    if max_pooling:
        # The attribute keeps its torchvision name so checkpoints stay interchangeable.
        model.avgpool = nn.AdaptiveMaxPool2d(1)
    model.classifier = nn.Sequential(
        nn.Linear(1280, 512),
        nn.ReLU(inplace=True),
        nn.Linear(512, num_classes),
    )
    if freeze_backbone:
        freeze_all_but(model, "classifier.")
    return model


@register_model(
    "inception_resnet_v1",
    input_size=160,
    description="FaceNet Inception-ResNet-v1 with a new logits layer; optional local VGGFace2 weights",
    source=REFERENCE_001,
)
def build_inception_resnet_v1(
    num_classes: int,
    in_chans: int,
    *,
    weights: str | Path | None = None,
    freeze_backbone: bool = False,
) -> nn.Module:
    """facenet-pytorch InceptionResnetV1 whose ``logits`` layer is the new expression head."""
    model = InceptionResnetV1(pretrained=None, classify=True, num_classes=num_classes)
    prepare_backbone(model, "conv2d_1a.conv", in_chans, weights, "logits.")
    if freeze_backbone:
        freeze_all_but(model, "logits.")
    return model
