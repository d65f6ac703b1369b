"""Browse's face dialog: one face large with its FERPlus votes and the model's probabilities, previous / next through
the filtered faces, and the Relabel keys (1-8 a class, n not a face, b back, s skip) that label it and move on.

The dialog is a fragment: its buttons rerun only it, and the face on show is a position kept in the session state.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st

from app.charts import probabilities_chart, votes_chart
from app.text import escape_markdown
from core.data.classes import ALL_CLASSES, NOT_A_FACE_TEXT
from core.data.dataset import FerDataset
from core.labels.relabels import NOT_A_FACE, RelabelStore
from core.labels.session import shown

FACE = "browse_face"  # session state: the position, in the filtered rows, of the face on show
MESSAGE = "browse_face_message"
KEYS = [(name, name, str(i)) for i, name in enumerate(ALL_CLASSES, 1)] + [(NOT_A_FACE, NOT_A_FACE_TEXT, "n")]


def move(delta: int, count: int) -> None:
    st.session_state[FACE] = min(max(st.session_state[FACE] + delta, 0), count - 1)
    st.session_state[MESSAGE] = ""


def label_face(store: RelabelStore, image_id: str, label: str, who: str, old: str | None, count: int) -> None:
    """A key's on_click: one event in the store under the annotator, then the next face."""
    store.relabel(image_id, label, who, old_label=old or None)
    move(1, count)
    st.session_state[MESSAGE] = f"{image_id} → {shown(label)} · U on Relabel undoes it"


def current_label(store: RelabelStore, image_id: str) -> str | None:
    """The image's label in the store (its latest label event not undone), or None."""
    events = store.history(image_id=image_id)
    live = events[(events["kind"] == "label") & ~events["undone"]]
    return None if live.empty else str(live["new_label"].iloc[0])


def open_face(rows: np.ndarray, position: int, *args) -> None:
    """The "open" button: show the face at `position` of `rows` in the dialog."""
    st.session_state[FACE], st.session_state[MESSAGE] = position, ""
    face_dialog(rows, *args)


@st.dialog("Image", width="large")
def face_dialog(
    rows: np.ndarray, dataset: FerDataset, caption: Callable[[int], str], model, has_model: bool, who: str
) -> None:
    """One face of `rows` large (the one at the session's position), with its charts, moves and label keys."""
    count = len(rows)
    position = min(st.session_state.get(FACE, 0), count - 1)
    row = int(rows[position])
    record, store = dataset.meta.iloc[row], RelabelStore()
    image_id = str(record["image_id"])
    now = current_label(store, image_id)
    st.markdown(
        f"**#{row}** · {escape_markdown(image_id)} · {record['split']} · face {position + 1:,} of {count:,}"
        + (f" · labelled **{escape_markdown(shown(now))}**" if now else "")
    )
    face, votes, chart = st.columns([1, 2, 2])
    face.image(np.asarray(dataset.images[row]), width=200, caption=caption(row))
    if dataset.has_ferplus:
        votes.plotly_chart(votes_chart(dataset, row, height=300), width="stretch")
    if model is not None:
        values = dict(zip(model[1], model[0][row].tolist()))
        chart.plotly_chart(
            probabilities_chart(values, f"Model: {max(values, key=values.get)}", height=300), width="stretch"
        )
    elif has_model:
        chart.caption("The model's chart shows here once its predictions are computed (the switch above the filters).")
    moves = st.container(horizontal=True)
    moves.button(
        "previous", key="browse_face_back", shortcut="b", on_click=move, args=(-1, count), disabled=position == 0
    )
    moves.button(
        "next", key="browse_face_skip", shortcut="s", on_click=move, args=(1, count), disabled=position == count - 1
    )
    if not who:
        st.info("Type your name as **Annotator** in the sidebar to label from here (keys 1-8 and n).")
        return
    old = now or record["label"]
    keys = st.container(horizontal=True)
    for label, text, shortcut in KEYS:
        keys.button(
            text,
            key=f"browse_face_{label}",
            shortcut=shortcut,
            on_click=label_face,
            args=(store, image_id, label, who, old, count),
            type="primary" if label == old else "secondary",
        )
    st.caption(
        escape_markdown(
            st.session_state.get(MESSAGE) or f"Recording as {who}: a key labels this face and shows the next one"
        )
    )
