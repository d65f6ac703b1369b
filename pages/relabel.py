"""Relabel page: the disputed images, most doubtful first; one key per class, plus not-a-face, skip, back, undo.

Every change is an event in the SQLite label store; the current label is derived from the events. A key press
reruns only the labelling fragment, which reads everything it draws from memory or caches (no model runs here).
"""

import html

import streamlit as st

from app.audit_state import current_audit_flags
from app.charts import bars_html, face_html
from app.predictions import predictions_panel
from app.state import annotator, current_dataset, current_issues, current_model_path, current_model_probabilities
from app.text import escape_markdown
from core.data.classes import ALL_CLASSES
from core.data.fer2013 import SPLITS
from core.errors import DataError
from core.jobs.label_issues import load_consensus
from core.labels.annotators import annotator_summary
from core.labels.exports import export_label_zip
from core.labels.queue import BENCHMARK_REASON, BENCHMARK_SPLIT, disputed_queue, queue_explanation, vote_counts
from core.labels.relabels import NOT_A_FACE, RelabelStore
from core.labels.session import RelabelSession
from core.paths import contained_path, data_dir

st.title("Relabel")
dataset, store, who = current_dataset(), RelabelStore(), annotator()
if not who:
    st.warning("Type your name as **Annotator** in the sidebar first: every change is recorded under it.")
    st.stop()
issues, model = current_issues(), current_model_probabilities()
splits = st.sidebar.multiselect(
    "Splits to relabel", SPLITS, [s for s in SPLITS if s != BENCHMARK_SPLIT], key="relabel_splits"
)
st.sidebar.caption(BENCHMARK_REASON)
use_model = model is not None and st.toggle("Let the model's disagreement raise images in the queue")
key = (
    str(dataset.info.get("created")),
    who,
    tuple(splits),
    use_model,
    issues is not None,
    current_audit_flags() is not None,
)
if st.session_state.get("relabel_key") != key:
    queue = disputed_queue(
        dataset,
        store.current_labels(),
        *(model if use_model else (None, None)),
        include_done=False,
        issues=issues,
        splits=splits,
        disputed_only=True,
        audit=current_audit_flags(),
    )
    st.session_state.relabel_session, st.session_state.relabel_key = RelabelSession(queue, store, who), key
session: RelabelSession = st.session_state.relabel_session
st.caption(f"Recording as **{escape_markdown(who)}**")
st.caption(queue_explanation(dataset.has_ferplus, issues is not None, use_model))


def model_panel(row: int) -> str | None:
    """The model's bars for one image from the cached probabilities, or None when they are not cached."""
    if model is None:
        return None
    probabilities, classes = model
    values = dict(zip(classes, probabilities[row].tolist()))
    top = max(values, key=values.get)
    return bars_html({c: values[c] for c in ALL_CLASSES if c in values}, f"Model: {top}", lambda p: f"{p:.0%}")


def item_lines(item) -> str:
    """The current label, the FERPlus majority and why the image is queued, as HTML under the face."""
    lines = (
        f"<b>Current label:</b> {html.escape(item['label'] or '—')}<br>"
        f"<b>FERPlus majority:</b> {html.escape(item['ferplus'] or '—')}"
    )
    return (
        f'<div style="margin-top:8px;line-height:1.5">{lines}</div>'
        f'<div style="font-size:12px;opacity:.7">{html.escape(item["reasons"])}</div>'
    )


@st.fragment
def labelling() -> None:
    """The image on show, its panels and keys; a key press reruns only this."""
    item = session.item
    st.progress(
        min(len(session.done) / max(len(session.queue), 1), 1.0),
        text=f"{session.left:,} disputed images left in the queue · {len(session.done):,} labelled in "
        f"this session · {escape_markdown(session.message) or 'the keys are shown on the buttons'}",
    )
    if item is None:
        st.success("You reached the end of the queue.")
        st.button("back", key="relabel_back", shortcut="b", on_click=session.back)
        return
    # the face with its lines is one HTML block and the two charts another, so each arrives and draws whole (the
    # key press's 0.3 s was the garbage collector, app/gc_pauses.py, not the number of elements)
    face, keys, charts = st.columns([1.1, 1.5, 1.6])
    face.html(
        face_html(
            dataset.images[item["row"]],
            item["image_id"],
            f"{item['image_id']} ({item['split']}) · {session.position + 1:,} of {len(session.queue):,}",
        )
        + item_lines(item)
    )
    pairs = [(name, name, str(i)) for i, name in enumerate(ALL_CLASSES, 1)] + [(NOT_A_FACE, "not a face", "n")]
    for start in range(0, len(pairs), 2):  # rows of two: on a phone the columns stack in key order
        for cell, (label, text, shortcut) in zip(keys.columns(2), pairs[start : start + 2]):
            cell.button(
                text,
                key=f"class-{label}",
                shortcut=shortcut,
                on_click=session.label,
                args=(label,),
                width="stretch",
                type="primary" if label == item["label"] else "secondary",
            )
    moves = keys.container(horizontal=True)
    moves.button("back", key="relabel_back", shortcut="b", on_click=session.back, width="stretch")
    moves.button("skip", key="relabel_skip", shortcut="s", on_click=session.skip, width="stretch")
    moves.button("undo", key="relabel_undo", shortcut="u", on_click=session.undo, width="stretch")
    panels = [bars_html(vote_counts(dataset, int(item["row"])), "FERPlus votes")] if dataset.has_ferplus else []
    panels += [model_panel(int(item["row"]))] if model is not None else []
    if panels:
        charts.html('<div style="display:flex;flex-direction:column;gap:12px">' + "".join(panels) + "</div>")
    if model is None and current_model_path() is not None:
        charts.caption("The model's chart shows here once its predictions are computed (below the keys).")


labelling()
if model is None and current_model_path() is not None:
    predictions_panel(dataset, current_model_path(), "relabel")  # a background job: the keys keep working

with st.expander("Annotator quality (multi-annotator consensus)"):
    st.caption(
        "cleanlab's CROWDLAB weighs FERPlus's ten vote slots, every studio annotator and the out-of-fold "
        "model into one consensus label per image, and scores each annotator by agreement with it. The vote "
        "slots (ferplus_1 ... ferplus_10) are not people; the studio's annotators are `annotator:NAME`."
    )
    if st.button("Score the annotators", key="relabel_annotators"):
        with st.spinner("Computing the consensus over every annotated image (about a minute on the full set) ..."):
            scored = load_consensus(dataset)
        st.session_state.relabel_annotator_quality = None if scored is None else scored[1]
        if scored is None:
            st.info(
                "Annotator quality needs out-of-fold probabilities: run `python -m core label-issues --compute` "
                "(they ship for the full FER2013 import)."
            )
    if st.session_state.get("relabel_annotator_quality") is not None:  # kept across key presses until rescored
        st.dataframe(st.session_state.relabel_annotator_quality, hide_index=True, width="stretch")

with st.expander("History and exports"):
    st.caption(
        "Each annotator's images and agreement (with the FERPlus majority, and with other annotators on the "
        "images both labelled):"
    )
    st.dataframe(
        annotator_summary(store, dataset),
        hide_index=True,
        width="stretch",
        column_config={
            column: st.column_config.NumberColumn(format="percent")
            for column in ("agrees with FERPlus", "agrees with others")
        },
    )
    everyone = st.checkbox("Show every annotator", value=False)
    st.dataframe(store.actions(annotator=None if everyone else who), hide_index=True, width="stretch")
    disagreements = store.disagreements()
    if not disagreements.empty:
        st.caption("Images that two annotators labelled differently:")
        st.dataframe(disagreements, hide_index=True, width="stretch")
    if st.button("Export current labels (FER2013 and FERPlus formats, one zip)", key="relabel_export"):
        try:
            exports = contained_path(data_dir() / "exports", [data_dir()])  # a symlink there cannot lead elsewhere
            st.session_state.relabel_export_zip = export_label_zip(dataset, exports, store)
        except (DataError, ValueError, OSError) as exc:
            st.error(f"Not exported: {escape_markdown(exc)}")
    if st.session_state.get("relabel_export_zip"):  # stays after a download (no rerun) and across key presses
        archive = st.session_state.relabel_export_zip
        st.download_button(
            f"Download {archive.name} (both csv files)",
            archive.read_bytes,
            file_name=archive.name,
            mime="application/zip",
            on_click="ignore",
            key="relabel_download",
        )  # read on click
