"""Widget values kept in the page URL (`st.query_params`), so a reload or a shared link restores them, and carried
across page changes (Streamlit's page links drop the query).

A widget's key names its URL parameter (less a page prefix: `browse_splits` is `?splits=...`); values are JSON, so
lists, ranges, numbers and switches read back as they were. Values a widget cannot take (a stale or hand-edited
link: a fraction for a page number, a range with a word in it, a number off the slider) are dropped rather than
raised. `carry_over` and `remember` keep each page's query in the session, and the studio-wide choices (model,
annotator) on every page.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import streamlit as st

STUDIO_WIDE = ("model", "annotator")  # choices every page shares; the rest belongs to the page that set it
KEPT = "url_state_kept"  # session state: page -> {parameter: text}, "*" for the studio-wide ones


def url_name(key: str) -> str:
    return key.split("_", 1)[1] if "_" in key else key


def number_like(value: Any, default: Any) -> bool:
    """Whether `value` is a finite number a widget of `default`'s type takes (an int widget takes no 2.5)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return False
    return isinstance(value, int) or not isinstance(default, int)


def within(value: Any, bounds: tuple | None) -> bool:
    return bounds is None or bounds[0] <= value <= bounds[1]


def decoded(text: str, default: Any, options: Sequence | None = None, bounds: tuple | None = None) -> Any:
    """The URL's value for a widget whose default is `default` (choices `options`, numbers in `bounds`), or None
    when unusable."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if isinstance(default, (list, tuple)):
        if not isinstance(value, list):
            return None
        if options is not None:  # a multiselect: keep the choices that still exist (hashable ones only)
            value = [v for v in value if isinstance(v, (str, int, float)) and v in options]
            return tuple(value) if isinstance(default, tuple) else value
        # a range: as many numbers as the default, in order, inside the bounds
        if len(value) != len(default) or not all(
            number_like(v, d) and within(v, bounds) for v, d in zip(value, default)
        ):
            return None
        if any(a > b for a, b in zip(value, value[1:])):
            return None
        return tuple(value) if isinstance(default, tuple) else value
    if isinstance(default, bool):
        return value if isinstance(value, bool) else None
    if isinstance(default, (int, float)):
        return value if number_like(value, default) and within(value, bounds) else None
    if isinstance(default, str) and not isinstance(value, str):
        return None
    try:
        return value if options is None or value in options else None
    except TypeError:  # an unhashable value against a set of options
        return None


def restore(
    key: str, default: Any, options: Sequence | None = None, bounds: tuple | None = None, clamp: bool = False
) -> None:
    """Before the widget `key` is drawn: seed its state from the URL, else `default`. A number outside `bounds` is
    dropped, or moved inside them with `clamp` (a page number past the last page means the last page).

    The widget is then drawn without a value of its own (Streamlit warns when a widget has both)."""
    if key in st.session_state:
        return
    text = st.query_params.get(url_name(key))
    value = None if text is None else decoded(text, default, options, None if clamp else bounds)
    if value is not None and clamp and bounds is not None:
        value = min(max(value, bounds[0]), bounds[1])
    st.session_state[key] = default if value is None else value


def keep(defaults: dict[str, Any]) -> None:
    """After the widgets: each widget's value into the URL, or out of it while it is the default (short links)."""
    for key, default in defaults.items():
        value = st.session_state.get(key, default)
        same = list(value) == list(default) if isinstance(default, (list, tuple)) else value == default
        name = url_name(key)
        if same:
            if name in st.query_params:
                del st.query_params[name]
        else:
            text = json.dumps(list(value) if isinstance(value, tuple) else value)
            if st.query_params.get(name) != text:
                st.query_params[name] = text


def carry_over(page: str) -> None:
    """Before `page` runs: the URL regains the studio-wide choices and what this page's URL held when the session
    last left it. A parameter the URL already has wins (a shared link, a reload)."""
    kept = st.session_state.get(KEPT, {})
    for name, text in {**kept.get(page, {}), **kept.get("*", {})}.items():
        if name not in st.query_params:
            st.query_params[name] = text


def remember(page: str) -> None:
    """After `page` ran: keep its URL query in the session for `carry_over`."""
    kept = st.session_state.setdefault(KEPT, {})
    query = st.query_params.to_dict()
    kept["*"] = {name: text for name, text in query.items() if name in STUDIO_WIDE}
    kept[page] = {name: text for name, text in query.items() if name not in STUDIO_WIDE}
