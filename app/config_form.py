"""Streamlit widgets generated from a config dataclass's fields, so the Train form never re-types an option.

Each widget's key is `train_<field>` (`train_augment.flip` inside a nested options field): tests and pages find
widgets by it. Lists and dicts are typed as text ("100 120", "width=0.5") and read back by `config_from_form`,
which the page calls inside its error handling, so a typo is a message, not a crash.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Sequence
from typing import Any

import streamlit as st

from core.options import field_default, option_fields, parse_option


def shown_fields(cls: type, skip: Sequence[str] = ()) -> list[tuple[dataclasses.Field, Any]]:
    """The fields that get a widget: all but `skip` and those whose metadata says form=False."""
    return [(f, hint) for f, hint in option_fields(cls) if f.name not in skip and f.metadata.get("form", True)]


def applies(f: dataclasses.Field, known: dict[str, Any], defaults: Any) -> bool:
    """Whether the option has an effect given the values chosen so far (`applies_when` in its metadata); a field
    it depends on that has no widget counts with its default."""
    return all(
        (known[name] if name in known else getattr(defaults, name)) in values
        for name, values in f.metadata.get("applies_when", {}).items()
    )


def config_widgets(
    defaults: Any,
    skip: Sequence[str] = (),
    choices: dict[str, list] | None = None,
    prefix: str = "train_",
    columns: int = 3,
    advanced: bool | None = None,
    known: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One widget per field of `defaults`' dataclass, laid out in columns; the raw values by field name.

    `advanced` True or False draws only the fields whose metadata says so (fields are advanced unless marked
    advanced=False); a field whose `applies_when` does not hold, given `known` and the values drawn before it, gets
    no widget (and so keeps its default)."""
    cells, values, nested, known = st.columns(columns), {}, [], dict(known or {})
    for f, hint in shown_fields(type(defaults), skip):
        if advanced is not None and f.metadata.get("advanced", True) != advanced:
            continue
        if not applies(f, {**known, **values}, defaults):
            continue
        if dataclasses.is_dataclass(hint):
            nested.append(f)  # nested options get their own captioned block below
            continue
        cell = cells[len(values) % columns]
        values[f.name] = widget(cell, f, hint, getattr(defaults, f.name), prefix + f.name, (choices or {}).get(f.name))
    for f in nested:
        st.caption(f.metadata.get("label") or f.name.capitalize())
        values[f.name] = config_widgets(getattr(defaults, f.name), prefix=f"{prefix}{f.name}.", columns=columns + 2)
    return values


def widget(cell: Any, f: dataclasses.Field, hint: Any, value: Any, key: str, choices: list | None) -> Any:
    """The widget for one field: selectbox for choices, checkbox for bools, number_input, else text."""
    meta = f.metadata
    label = meta.get("label") or f.name.replace("_", " ").capitalize()
    options = list(choices or meta.get("choices") or [])
    if options:
        return cell.selectbox(
            label, options, index=options.index(value) if value in options else 0, key=key, help=meta.get("help")
        )
    if hint is bool:
        return cell.checkbox(label, value, key=key, help=meta.get("help"))
    if hint in (int, float):
        return cell.number_input(
            label,
            min_value=cast(hint, meta.get("min")),
            max_value=cast(hint, meta.get("max")),
            value=cast(hint, value),
            key=key,
            help=meta.get("help"),
            **({"step": step(value), "format": "%g"} if hint is float else {}),
        )
    return cell.text_input(label, as_text(value), key=key, help=meta.get("help"))


def cast(hint: type, number: Any) -> Any:
    """Streamlit wants value, min and max of one numeric type (a float field's `min=0` must be 0.0)."""
    return None if number is None else hint(number)


def step(value: float) -> float:
    """A tenth of the value's order of magnitude: 0.05 steps by 0.001, 5e-4 by 1e-5 (0.01 for 0)."""
    return 10.0 ** (math.floor(math.log10(abs(value))) - 1) if value else 0.01


def as_text(value: Any) -> str:
    if isinstance(value, dict):
        return " ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        return " ".join(map(str, value))
    return "" if value is None else str(value)


def config_from_form(cls: type, values: dict[str, Any]) -> Any:
    """`cls` from config_widgets' values, reading typed lists and KEY=VALUE text; ValueError on bad input."""
    fields = {f.name: (f, hint) for f, hint in option_fields(cls)}
    parsed = {}
    for name, value in values.items():
        f, hint = fields[name]
        if dataclasses.is_dataclass(hint):
            parsed[name] = config_from_form(hint, value)
        elif typing.get_origin(hint) is list:
            parsed[name] = [typing.get_args(hint)[0](item) for item in value.replace(",", " ").split()]
        elif typing.get_origin(hint) is dict:
            parsed[name] = dict(parse_option(item) for item in value.split())
        elif hint is str and isinstance(value, str):
            parsed[name] = value.strip() or field_default(f)  # a cleared text box means the default (None: unset)
        else:
            parsed[name] = value
    return cls(**parsed)
