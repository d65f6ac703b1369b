"""Browse's bulk label: a box under each face picks it, "select all" picks the page, and one label goes to every
picked face at once (one event per image, one batch in the store, undone as one step)."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from app.text import escape_markdown
from core.data.classes import ALL_CLASSES, NOT_A_FACE_TEXT
from core.data.dataset import FerDataset
from core.labels.relabels import NOT_A_FACE, RelabelStore
from core.labels.session import shown

SELECTED = "browse_selected"  # session state: the data-set rows picked, kept across pages and filters
MESSAGE = "browse_bulk_message"


def selected() -> set[int]:
    return st.session_state.setdefault(SELECTED, set())


def box_key(row: int) -> str:
    return f"browse_pick_{row}"


def toggle(row: int) -> None:
    chosen = selected()
    chosen.add(row) if st.session_state[box_key(row)] else chosen.discard(row)


def set_page(page_rows: Sequence[int], picked: bool) -> None:
    """Select all on the page, or clear every pick; the page's boxes follow (only drawn boxes have a state)."""
    chosen = selected()
    for row in map(int, page_rows):
        st.session_state[box_key(row)] = picked
        chosen.add(row) if picked else chosen.discard(row)
    if not picked:
        chosen.clear()


def pick_box(cell, row: int) -> None:
    """The box under one face, seeded from the picks (a box on another page has no state of its own)."""
    if box_key(row) not in st.session_state:
        st.session_state[box_key(row)] = row in selected()
    cell.checkbox("pick", key=box_key(row), on_change=toggle, args=(row,))


def apply(
    dataset: FerDataset, store: RelabelStore, label: str, who: str, relabels: dict[str, str], page_rows: Sequence[int]
) -> None:
    """The bulk button's on_click: one batch in the store, then the picks clear."""
    rows = sorted(selected())
    ids = [str(dataset.meta["image_id"].iat[row]) for row in rows]
    old = {i: relabels.get(i) or dataset.meta["label"].iat[row] or None for i, row in zip(ids, rows)}
    store.relabel_many(ids, label, who, old_labels=old)
    set_page(page_rows, False)
    st.session_state[MESSAGE] = f"Labelled {len(ids):,} faces as {shown(label)} (one step: Undo takes it back)."


def undo(store: RelabelStore, who: str) -> None:
    event = store.undo(who)
    st.session_state[MESSAGE] = (
        "Nothing to undo." if event is None else f"Undid {event['count']:,} label(s) → {shown(event['new_label'])}."
    )


def bulk_bar(
    dataset: FerDataset, store: RelabelStore, page_rows: Sequence[int], who: str, relabels: dict[str, str]
) -> None:
    """Select all / clear, the label and the button that gives it to every picked face, and Undo."""
    chosen = selected()
    bar = st.container(horizontal=True, vertical_alignment="bottom", key="browse_bulk")
    bar.button("Select all on this page", key="browse_select_page", on_click=set_page, args=(page_rows, True))
    bar.button(
        "Clear selection", key="browse_select_none", on_click=set_page, args=(page_rows, False), disabled=not chosen
    )
    label = bar.selectbox(
        "Label for the selected faces",
        [*ALL_CLASSES, NOT_A_FACE],
        key="browse_bulk_label",
        format_func=lambda c: NOT_A_FACE_TEXT if c == NOT_A_FACE else c,
    )
    bar.button(
        f"Label {len(chosen):,} selected",
        key="browse_bulk_apply",
        type="primary",
        disabled=not chosen or not who,
        on_click=apply,
        args=(dataset, store, label, who, relabels, page_rows),
    )
    bar.button(
        "Undo",
        key="browse_bulk_undo",
        disabled=not who,
        on_click=undo,
        args=(store, who),
        help="Takes back your latest label: a whole bulk label at once",
    )
    if not who:
        st.caption("Type your name as **Annotator** in the sidebar to label the selected faces.")
    elif st.session_state.get(MESSAGE):
        st.caption(escape_markdown(st.session_state[MESSAGE]))
