"""The one preprocessing + test-time augmentation (TTA) spec a model is trained, evaluated and served with.

Modelled on torchvision's `Weights.transforms()` and timm's pretrained cfg: a frozen `Preprocessing` that
checkpoints and ONNX metadata carry (`to_dict` / `from_dict`; `from_payload` also reads the older files that only
had `input_size`, `normalization` and `tta` keys). What it means, in order:

    uint8 gray faces (N, H, W) -> float32 / 255 -> resized to input_size x input_size with `resize_filter`
    -> (x - mean) / std -> (N, 1, S, S) -> one model call per TTA view -> softmax, averaged over the views

`to_model_input` (numpy: the predictor, onnxruntime, Browse) and `to_model_input_torch` (training and evaluation)
are the two implementations; TTA views are geometry defined once (`tta_views`) and cut by `view_numpy` /
`view_torch`. The module never imports torch at import time, so the onnxruntime path stays torch-free.

"bilinear" is PIL's triangle filter: antialiased when shrinking, plain bilinear with half-pixel centres when
enlarging; torch's `interpolate(mode="bilinear", antialias=True)` computes the same, and web/app.js copies PIL.
Here in the spec, mean and std are on the [0, 1] scale.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

if TYPE_CHECKING:
    import torch

TTA_MODES = ("none", "flip", "tencrop")
RESIZE_FILTERS = ("bilinear",)  # the one filter web/app.js reimplements; others would break the page's parity
TEN_CROP_FRACTION = 11 / 12  # each of the five crops keeps 11/12 of the side (44 of 48 pixels)


class View(NamedTuple):
    """One TTA view of a square input: the square (top, left, side) cut out, resized back, maybe mirrored."""

    top: int
    left: int
    side: int
    flip: bool


@dataclass(frozen=True)
class Preprocessing:
    """How uint8 faces become model input, and which TTA views are averaged (see the module docstring)."""

    input_size: int = 48
    resize_filter: str = "bilinear"
    mean: float = 0.5
    std: float = 0.5
    tta: str = "none"
    temperature: float = 1.0  # calibration: probabilities = softmax(log(mean over views) / T), fitted on PublicTest
    # post-hoc logit adjustment (Menon et al. 2021), one entry per class, tuned on PublicTest; () = none.
    # probabilities = softmax((log(mean over views) + logit_bias) / T)
    logit_bias: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        problems = [
            (self.input_size >= 1, f"input_size must be positive, got {self.input_size}"),
            (
                self.resize_filter in RESIZE_FILTERS,
                f"resize_filter must be one of {', '.join(RESIZE_FILTERS)}, got {self.resize_filter!r}",
            ),
            (self.std > 0, f"std must be positive, got {self.std}"),
            (self.tta in TTA_MODES, f"tta must be one of {', '.join(TTA_MODES)}, got {self.tta!r}"),
            (self.temperature > 0, f"temperature must be positive, got {self.temperature}"),
            (all(np.isfinite(b) for b in self.logit_bias), f"logit_bias must be finite, got {self.logit_bias}"),
        ]
        for ok, problem in problems:
            if not ok:
                raise ValueError(problem)

    def to_dict(self) -> dict[str, Any]:
        """Plain types; no `logit_bias` key when there is none, so unadjusted files stay readable by older code."""
        data = asdict(self)
        data["logit_bias"] = list(self.logit_bias)
        if not self.logit_bias:
            del data["logit_bias"]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Preprocessing:
        """The spec `to_dict` wrote; keys it does not know are an error (a newer file), missing ones default."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown preprocessing keys: {', '.join(sorted(unknown))}")
        types = {
            "input_size": int,
            "resize_filter": str,
            "mean": float,
            "std": float,
            "tta": str,
            "temperature": float,
            "logit_bias": lambda values: tuple(float(v) for v in values or ()),
        }
        return cls(**{k: types[k](v) for k, v in data.items()})

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Preprocessing:
        """The spec in a checkpoint payload or ONNX metadata; older ones without it kept the same facts in
        `input_size`, `normalization` and `tta` (and always resized bilinearly)."""
        if "preprocessing" in payload:
            return cls.from_dict(payload["preprocessing"])
        norm = payload.get("normalization", {})
        return cls(
            input_size=int(payload["input_size"]),
            mean=float(norm.get("mean", cls.mean)),
            std=float(norm.get("std", cls.std)),
            tta=payload.get("tta") or "none",
        )

    def with_tta(self, tta: str | None) -> Preprocessing:
        """This spec with another TTA mode; None keeps the recorded one."""
        return self if tta is None or tta == self.tta else replace(self, tta=tta)

    def views(self) -> tuple[View, ...]:
        return tta_views(self.input_size, self.tta)


def tta_views(size: int, tta: str) -> tuple[View, ...]:
    """The views each TTA mode averages: the input; + its mirror (flip); + four corner crops and the centre crop,
    each also mirrored (tencrop: twelve views)."""
    whole = (View(0, 0, size, False), View(0, 0, size, True))
    if tta == "none":
        return whole[:1]
    if tta == "flip":
        return whole
    crop = max(1, round(size * TEN_CROP_FRACTION))
    edge = size - crop
    corners = ((0, 0), (0, edge), (edge, 0), (edge, edge), (edge // 2, edge // 2))
    return whole + tuple(View(top, left, crop, flip) for top, left in corners for flip in (False, True))


def bilinear_weights(in_size: int, out_size: int) -> np.ndarray:
    """(out_size, in_size) row weights of PIL's bilinear resize (precompute_coeffs: a triangle filter widened by
    the scale when shrinking, renormalised at the edges), in float32."""
    scale = in_size / out_size
    support = max(scale, 1.0)
    centres = (np.arange(out_size) + 0.5) * scale
    weights = np.clip(1.0 - np.abs(np.arange(in_size)[None] + 0.5 - centres[:, None]) / support, 0.0, None)
    return (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)


def resize_numpy(x: np.ndarray, size: int) -> np.ndarray:
    """Float images (..., H, W) resized to (..., size, size) as `bilinear_weights` says: rows, then columns."""
    height, width = x.shape[-2:]
    if (height, width) == (size, size):
        return x
    return bilinear_weights(height, size) @ x @ bilinear_weights(width, size).T


def to_model_input(faces: np.ndarray, spec: Preprocessing) -> np.ndarray:
    """uint8 gray faces (N, H, W) -> float32 model input (N, 1, S, S), for onnxruntime or a torch backend."""
    x = resize_numpy(np.asarray(faces).astype(np.float32) / 255.0, spec.input_size)
    return np.ascontiguousarray(((x - spec.mean) / spec.std)[:, None], dtype=np.float32)


def view_numpy(x: np.ndarray, view: View) -> np.ndarray:
    """One TTA view of model input (N, C, S, S)."""
    size = x.shape[-1]
    cut = resize_numpy(x[..., view.top : view.top + view.side, view.left : view.left + view.side], size)
    return np.ascontiguousarray(cut[..., ::-1] if view.flip else cut)


def resize_torch(x: torch.Tensor, size: int) -> torch.Tensor:
    """Float images (N, C, H, W) resized to size x size with the same filter as `resize_numpy`."""
    import torch.nn.functional as F

    if tuple(x.shape[-2:]) == (size, size):
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)


def to_model_input_torch(
    batch: torch.Tensor, spec: Preprocessing, augment: Callable[[torch.Tensor], torch.Tensor] | None = None
) -> torch.Tensor:
    """uint8 faces (N, 1, H, W) -> float model input (N, 1, S, S); `augment` runs on [0, 1] images before the
    normalisation, as training wants."""
    x = resize_torch(batch.float().div_(255.0), spec.input_size)
    if augment is not None:
        x = augment(x)
    return (x - spec.mean) / spec.std


def view_torch(x: torch.Tensor, view: View) -> torch.Tensor:
    """One TTA view of model input (N, C, S, S), as `view_numpy` cuts it."""
    cut = resize_torch(x[..., view.top : view.top + view.side, view.left : view.left + view.side], x.shape[-1])
    return cut.flip(-1) if view.flip else cut


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def tta_probabilities(logits: Callable[[np.ndarray], np.ndarray], x: np.ndarray, spec: Preprocessing) -> np.ndarray:
    """Class probabilities (N, C) for model input `x`: one `logits` call per TTA view, softmax, averaged, then
    the spec's temperature."""
    return calibrated(np.mean([softmax(logits(view_numpy(x, view))) for view in spec.views()], axis=0), spec)


def calibrated(probs: np.ndarray, spec: Preprocessing) -> np.ndarray:
    """Logit adjustment and temperature scaling of (TTA-averaged) probabilities: softmax((log p + bias) / T);
    T = 1 and no bias leave them as they are."""
    if spec.temperature == 1.0 and not spec.logit_bias:
        return probs
    logits = np.log(np.clip(probs, 1e-12, 1.0))
    if spec.logit_bias:
        if len(spec.logit_bias) != probs.shape[-1]:
            raise ValueError(f"logit_bias has {len(spec.logit_bias)} entries for {probs.shape[-1]} classes")
        logits = logits + np.asarray(spec.logit_bias, dtype=logits.dtype)
    return softmax(logits / spec.temperature)
