"""Relabel page: a queue of disputed images, most disputed first; one key per class, plus skip, undo, not-a-face.

Every change is an event in the SQLite label store; the current label is derived from the events.
"""
import numpy as np
import streamlit as st

from app.charts import probabilities_chart, votes_chart
from app.state import annotator, current_dataset, current_model_path, current_predictor
from app.text import escape_markdown
from core.inference.dataset_predictions import dataset_probabilities
from core.data.classes import ALL_CLASSES
from core.errors import DataError
from core.labels.exports import export_fer2013_csv, export_ferplus_csv
from core.labels.relabels import NOT_A_FACE, RelabelStore
from core.paths import contained_path, data_dir
from core.labels.queue import QUEUE_EXPLANATION, disputed_queue

st.title("Relabel")
dataset, store, who = current_dataset(), RelabelStore(), annotator()
if not who:
    st.warning("Type your name as **Annotator** in the sidebar first: every change is recorded under it.")
    st.stop()
st.caption(f"Recording as **{escape_markdown(who)}**")
predictor = current_predictor()
use_model = predictor is not None and st.toggle("Let the model's disagreement raise images in the queue")
probabilities = dataset_probabilities(dataset, current_model_path()) if use_model else None
queue = disputed_queue(dataset, store.current_labels(), probabilities,
                       predictor.classes if use_model else None, include_done=False)
st.caption(QUEUE_EXPLANATION)
done = len(dataset) - len(queue)
st.progress(done / max(len(dataset), 1), text=f"{done:,} of {len(dataset):,} images relabeled; "
                                              f"{len(queue):,} left in the queue")
if queue.empty:
    st.success("The queue is empty: every image has a relabel.")
    st.stop()
position = min(int(st.query_params.get("pos", 0)), len(queue) - 1)
item = queue.iloc[position]


def record(label: str) -> None:
    store.relabel(item["image_id"], label, who, old_label=item["label"])


def move(step: int) -> None:
    st.query_params["pos"] = max(0, position + step)


def undo() -> None:
    store.undo(who)


face, details = st.columns([1, 2])
face.image(np.asarray(dataset.images[item["row"]]), width=288,
           caption=f"#{item['row']} {item['image_id']} ({item['split']}), queue position {position + 1}")
details.markdown(f"**Current label:** {item['label']} &nbsp; **FERPlus majority:** {item['ferplus'] or '—'}")
details.caption(item["reasons"])
if dataset.has_ferplus:
    details.plotly_chart(votes_chart(dataset, int(item["row"]), height=260), width="stretch")
if predictor is not None:
    face_result = predictor.predict(np.asarray(dataset.images[item["row"]]), whole=True).faces[0]
    details.plotly_chart(probabilities_chart(face_result.probabilities, f"Model: {face_result.label}", height=260),
                         width="stretch")

st.markdown("**Keys:** " + " · ".join(f"`{i}` {c}" for i, c in enumerate(ALL_CLASSES, 1))
            + " · `N` not a face · `S` skip · `U` undo your last change")
keys = st.columns(len(ALL_CLASSES) + 3)
for i, (cell, name) in enumerate(zip(keys, ALL_CLASSES), 1):
    cell.button(name, key=f"class-{name}", shortcut=str(i), on_click=record, args=(name,), width="stretch",
                type="primary" if name == item["label"] else "secondary")
keys[-3].button("not a face", shortcut="n", on_click=record, args=(NOT_A_FACE,), width="stretch")
keys[-2].button("skip", shortcut="s", on_click=move, args=(1,), width="stretch")
keys[-1].button("undo", key="relabel_undo", shortcut="u", on_click=undo, width="stretch")

with st.expander("History and exports"):
    everyone = st.checkbox("Show every annotator", value=False)
    st.dataframe(store.history(annotator=None if everyone else who), hide_index=True, width="stretch")
    disagreements = store.disagreements()
    if not disagreements.empty:
        st.caption("Images that two annotators labelled differently:")
        st.dataframe(disagreements, hide_index=True, width="stretch")
    if st.button("Export current labels (FER2013 and FERPlus formats)", key="relabel_export"):
        try:
            exports = contained_path(data_dir() / "exports", [data_dir()])  # a symlink there cannot lead elsewhere
        except DataError as exc:
            st.error(f"Not exported: {escape_markdown(exc)}")
            st.stop()
        exports.mkdir(parents=True, exist_ok=True)
        for path in (export_fer2013_csv(dataset, exports / "fer2013_relabeled.csv", store),
                     export_ferplus_csv(dataset, exports / "fer2013new_relabeled.csv", store)):
            st.download_button(f"Download {path.name}", path.read_bytes(), file_name=path.name)
