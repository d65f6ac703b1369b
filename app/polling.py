"""Watching background work from a page: redraw while it runs, rerun the page once when that changes.

A fragment that reruns on a timer costs a script run per tick, so a page polls only while something runs: the
fragment is built polling or idle, and when `active()` no longer says what it was built for (the work ended, or
was started from the view itself) the whole page reruns once and builds it anew. An idle page does no work.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st


def poll_while(active: Callable[[], bool], view: Callable[..., None], every: float, *args: Any) -> None:
    """Draw `view(*args)` in a fragment that redraws every `every` seconds while `active()` holds."""
    polling = active()

    def refresh(*args: Any) -> None:
        if active() != polling:
            st.rerun()  # the whole page once more: it builds the fragment polling, or idle
        view(*args)

    # a container of its own: Streamlit tells fragments apart by function and container, and every call here has
    # the same function
    with st.container():
        st.fragment(refresh, run_every=every if polling else None)(*args)
