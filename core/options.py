"""Options declared once as dataclass fields: the help text, choices and bounds that CLI flags and forms are built
from (`option`), and the checks every such dataclass runs (`check_bounds`)."""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from dataclasses import MISSING, field
from typing import Any

from core.errors import OptionError


def option(default: Any = MISSING, doc: str = "", *, factory: Any = MISSING, **meta: Any) -> Any:
    """A field with what the CLI flag and the Train form are built from.

    `meta` keys: choices, min, max (inclusive, also checked by check_bounds), flag (flag names when not --name),
    off (for a nested options field: the value its --no-NAME flag starts from), form=False (no form widget),
    label (the form's plain words), advanced=False (in the Train page's short form, not under "Advanced"),
    applies_when ({other field: values} where the option has an effect: the form hides it elsewhere).
    """
    return field(default=default, default_factory=factory, metadata={"help": doc, **meta})


def field_default(f: dataclasses.Field) -> Any:
    return f.default_factory() if f.default_factory is not MISSING else f.default


def option_fields(cls: type) -> list[tuple[dataclasses.Field, Any]]:
    """Each field of `cls` with its annotation resolved, `| None` dropped (`int | None` is an int option)."""
    hints = typing.get_type_hints(cls)
    plain = [
        next(a for a in typing.get_args(h) if a is not type(None)) if isinstance(h, types.UnionType) else h
        for h in hints.values()
    ]
    return list(zip(dataclasses.fields(cls), plain))


def parse_option(text: str) -> tuple[str, Any]:
    """`key=value` with the value read as JSON when it parses (numbers, true/false), else as text."""
    key, _, value = text.partition("=")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def check_bounds(options: Any, prefix: str = "") -> None:
    """Raise OptionError for the first field of the wrong type, not finite, or outside its metadata's choices or
    [min, max]. NaN compares false with everything, so finiteness is checked before the bounds."""
    for f, hint in option_fields(type(options)):
        value, meta = getattr(options, f.name), f.metadata
        if "choices" in meta and value not in meta["choices"]:
            raise OptionError(f"{prefix}{f.name} must be one of {', '.join(meta['choices'])}, got {value!r}")
        if value is None or hint not in (int, float):
            continue
        if isinstance(value, bool) or not isinstance(value, int if hint is int else (int, float)):
            raise OptionError(
                f"{prefix}{f.name} must be {'a whole number' if hint is int else 'a number'}, got {value!r}"
            )
        if not math.isfinite(value):
            raise OptionError(f"{prefix}{f.name} must be a finite number ({meta['help']}), got {value}")
        low, high = meta.get("min"), meta.get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = (
                f"in [{low}, {high}]"
                if low is not None and high is not None
                else (f">= {low}" if low is not None else f"<= {high}")
            )
            raise OptionError(f"{prefix}{f.name} must be {bounds} ({meta['help']}), got {value}")
