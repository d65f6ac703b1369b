"""Widget values kept in the page URL (`st.query_params`), so a reload or a shared link restores them.

A widget's key names its URL parameter (less a page prefix: `browse_splits` is `?splits=...`); values are JSON, so
lists, ranges, numbers and switches read back as they were. Values a widget cannot take (a stale or hand-edited
link) are dropped rather than raised.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import streamlit as st


def url_name(key: str) -> str:
    return key.split("_", 1)[1] if "_" in key else key


def decoded(text: str, default: Any, options: Sequence | None) -> Any:
    """The URL's value for a widget whose default is `default` (and choices `options`), or None when unusable."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(default, (list, tuple)):
        if not isinstance(value, list) or (options is None and len(value) != len(default)):
            return None
        value = [v for v in value if options is None or v in options]
        return tuple(value) if isinstance(default, tuple) else value
    if isinstance(default, bool):
        return value if isinstance(value, bool) else None
    if isinstance(default, (int, float)):
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    return value if options is None or value in options else None


def restore(key: str, default: Any, options: Sequence | None = None, bounds: tuple | None = None) -> None:
    """Before the widget `key` is drawn: seed its state from the URL (within `bounds`, if given), else `default`.

    The widget is then drawn without a value of its own (Streamlit warns when a widget has both)."""
    if key in st.session_state:
        return
    text = st.query_params.get(url_name(key))
    value = None if text is None else decoded(text, default, options)
    if value is not None and bounds is not None:
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
