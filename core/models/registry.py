"""The one model registry: register a builder by name, then create, list and describe models.

Modelled on torchvision's ``register_model``/``get_model`` and timm's ``create_model``.
Every registered model takes ``(N, in_chans, input_size, input_size)`` images and returns
logits of shape ``(N, num_classes)``; the loss and the predictor apply the softmax.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from core.errors import OptionError

__all__ = [
    "ModelSpec",
    "register_model",
    "create_model",
    "check_input_side",
    "list_models",
    "model_spec",
    "parameter_count",
]

Builder = Callable[..., nn.Module]


@dataclass(frozen=True)
class ModelSpec:
    """What the registry knows about one model: how to build it and what it expects."""

    name: str
    builder: Builder
    input_size: int = 48
    description: str = ""
    source: str = ""

    def options(self) -> dict[str, Any]:
        """Return the builder's keyword options and their defaults."""
        params = inspect.signature(self.builder).parameters.values()
        return {p.name: p.default for p in params if p.kind is p.KEYWORD_ONLY}


_REGISTRY: dict[str, ModelSpec] = {}


def register_model(
    name: str, *, input_size: int = 48, description: str = "", source: str = ""
) -> Callable[[Builder], Builder]:
    """Return a decorator that registers ``builder(num_classes, in_chans, *, **options)``."""
    if input_size < 1:
        raise ValueError(f"input_size for {name!r} must be positive, got {input_size}")

    def decorate(builder: Builder) -> Builder:
        previous = _REGISTRY.get(name)
        # A reloaded module registers the same function again; only a clash is an error.
        if previous is not None and _qualified(previous.builder) != _qualified(builder):
            raise ValueError(f"model name {name!r} is already registered by {_qualified(previous.builder)}")
        summary = description or _first_doc_line(builder)
        _REGISTRY[name] = ModelSpec(name, builder, input_size, summary, source)
        return builder

    return decorate


def create_model(name: str, *, num_classes: int, in_chans: int = 1, **options: Any) -> nn.Module:
    """Build the model registered as ``name``; it returns logits of shape (N, num_classes)."""
    spec = model_spec(name)
    _check_positive_int("num_classes", num_classes)
    _check_positive_int("in_chans", in_chans)
    _check_option_names(spec, options)
    _check_option_values(spec, options)
    try:
        return spec.builder(num_classes, in_chans, **options)
    except OptionError:
        raise
    except ValueError as exc:  # a builder refusing an option's value (width, dropout ...)
        raise OptionError(f"model {name!r}: {exc}") from None


def check_input_side(model: nn.Module, name: str, side: int, in_chans: int = 1) -> None:
    """OptionError when `model` cannot take `side` x `side` inputs (too small for its pooling, or a head built for
    one size): found by one forward pass on zeros, before a run starts rather than at its first step."""
    import torch

    training = model.training
    model.eval()  # batch norm cannot take a batch of one in training mode
    try:
        with torch.no_grad():
            model(torch.zeros(1, in_chans, side, side))
    except RuntimeError as exc:
        problem = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise OptionError(
            f"model {name!r} cannot take {side}x{side} inputs ({problem}); its own size is "
            f"{model_spec(name).input_size}"
        ) from None
    finally:
        model.train(training)


def list_models() -> list[str]:
    """Return every registered model name, sorted."""
    return sorted(_REGISTRY)


def model_spec(name: str) -> ModelSpec:
    """Return the spec of a registered model; an unknown name raises ValueError listing all names."""
    try:
        return _REGISTRY[name]
    except KeyError:
        valid = ", ".join(sorted(_REGISTRY))
        raise ValueError(f"unknown model {name!r}; valid names: {valid}") from None


def parameter_count(name: str, *, num_classes: int, in_chans: int = 1, **options: Any) -> int:
    """Return how many parameters ``create_model`` gives with these arguments."""
    if options:
        return _count(create_model(name, num_classes=num_classes, in_chans=in_chans, **options))
    return _cached_parameter_count(name, num_classes, in_chans)


@functools.cache
def _cached_parameter_count(name: str, num_classes: int, in_chans: int) -> int:
    # Pages and CLI ask repeatedly; building the 23M-parameter nets each time is slow.
    return _count(create_model(name, num_classes=num_classes, in_chans=in_chans))


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _check_option_names(spec: ModelSpec, options: dict[str, Any]) -> None:
    params = inspect.signature(spec.builder).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return
    allowed = sorted(spec.options())
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise OptionError(
            f"model {spec.name!r} got unknown option(s) {', '.join(unknown)}; "
            f"valid options: {', '.join(allowed) or 'none'}"
        )


def _check_option_values(spec: ModelSpec, options: dict[str, Any]) -> None:
    """Each option of the kind its default is: a switch stays a bool, a number a finite number (model options are
    typed as KEY=VALUE text, where `width=nan` or `dropout=yes` would otherwise reach the builder)."""
    defaults = spec.options()
    for name, value in options.items():
        default = defaults.get(name)
        if isinstance(default, bool) and not isinstance(value, bool):
            raise OptionError(f"model option {name} of {spec.name!r} must be true or false, got {value!r}")
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise OptionError(f"model option {name} of {spec.name!r} must be a finite number, got {value!r}")


def _check_positive_int(label: str, value: Any) -> None:
    # bool is an int subclass, and True classes is always a caller bug.
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{label} must be a positive integer, got {value!r}")


def _qualified(fn: Callable[..., Any]) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


def _first_doc_line(fn: Callable[..., Any]) -> str:
    doc = inspect.getdoc(fn) or ""
    return doc.splitlines()[0] if doc else ""
