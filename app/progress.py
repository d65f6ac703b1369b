"""Long work in `core` reports through a `ProgressCallback`; this one draws it as a Streamlit progress bar."""

from __future__ import annotations

from collections.abc import Iterable

import streamlit as st


def streamlit_progress(text: str):
    """A core `ProgressCallback` that drives an st.progress bar."""
    bar = st.progress(0.0, text=text)

    def track(items: Iterable, total: int, description: str):
        for i, item in enumerate(items):
            if i % max(1, total // 100) == 0:
                bar.progress(min(i / max(total, 1), 1.0), text=f"{text}: {description} {i:,}/{total:,}")
            yield item
        bar.progress(1.0, text=f"{text}: done")

    return track
