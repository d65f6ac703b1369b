"""Map page: every face placed by a model's penultimate features (UMAP), coloured by label, FERPlus majority,
disagreement, split or duplicate group. Click a face to see it; a lasso (or box) selection opens in Browse.

The map is a background job (core/jobs/audit_job.py), cached per checkpoint and data set; this page only reads it.
"""

import numpy as np
import pandas as pd
import plotly.express as px
import streamlit as st

from app.audit_jobs import job_panel
from app.audit_state import current_audit
from app.state import current_dataset, current_model_path
from core.audit.face_map import load_cached_map

COLOURS = ("FER2013 label", "FERPlus majority", "FER2013 and FERPlus disagree", "split", "duplicate group")

dataset, checkpoint = current_dataset(), current_model_path()
st.title("Map")
with st.expander("Data audit: duplicates, leaks, image problems", expanded=current_audit() is None):
    found = current_audit()
    if found is None:
        st.caption(
            "The audit finds exact and near copies, test images with a copy in Training and broken images; "
            "Browse and Relabel then filter and rank by them (`python -m core audit` does the same)."
        )
    else:
        summary = found[0].summary
        duplicates, leaks = summary["duplicates"], summary["leaks"]
        columns = st.columns(4)
        columns[0].metric("Exact copies", f"{duplicates['exact']['extra_copies']:,}")
        columns[1].metric("Near-duplicate groups", f"{duplicates['near']['groups']:,}")
        columns[2].metric("Test images leaked from Training", f"{sum(leaks.values()):,}")
        columns[3].metric("Image problems", f"{summary['problems']['any']:,}")
    job_panel(dataset, "audit", None, "Run the audit" if found is None else "Run the audit again", "audit")
if checkpoint is None or checkpoint.suffix != ".pt":
    st.info("The map needs a .pt model: choose one in the sidebar.")
    st.stop()
coordinates = load_cached_map(dataset, checkpoint)
if coordinates is None:
    st.caption(
        f"Lay out all {len(dataset):,} faces by what **{checkpoint.stem}** sees in them (its penultimate "
        "features, then UMAP); computed once in the background and kept."
    )
    job_panel(dataset, "map", checkpoint, "Compute the map", "map")
    st.stop()


@st.cache_data(show_spinner=False, max_entries=4)
def map_frame(dataset_key: str, map_key: str, groups_key: float) -> pd.DataFrame:
    meta = dataset.meta
    frame = pd.DataFrame(
        {
            "x": coordinates[:, 0],
            "y": coordinates[:, 1],
            "row": np.arange(len(dataset)),
            "split": meta["split"].astype(str).to_numpy(),
            "FER2013 label": meta["label"].astype(str).to_numpy(),
        }
    )
    if dataset.has_ferplus:
        frame["FERPlus majority"] = meta["ferplus"].astype(str).replace("", "(none)").to_numpy()
        frame["FER2013 and FERPlus disagree"] = np.where(meta["disagree"].to_numpy(), "disagree", "agree")
    audited = current_audit()
    if audited is not None:
        group = audited[1].group
        frame["duplicate group"] = np.where(
            group >= 0, np.where(audited[1].conflicting_copy, "copy, labels conflict", "copy"), "no copy"
        )
    return frame


audited = current_audit()
frame = map_frame(str(dataset.info.get("created")), str(checkpoint), audited is not None)
colour = (
    st.segmented_control(
        "Colour by", [c for c in COLOURS if c in frame.columns], default="FER2013 label", key="map_colour"
    )
    or "FER2013 label"
)
figure = px.scatter(
    frame,
    x="x",
    y="y",
    color=colour,
    custom_data=["row"],
    render_mode="webgl",
    height=650,
    hover_data={"x": False, "y": False, "row": True, "split": True, "FER2013 label": True},
)
figure.update_traces(marker={"size": 3, "opacity": 0.7})
figure.update_layout(
    dragmode="lasso",
    margin={"l": 0, "r": 0, "t": 10, "b": 0},
    legend={"itemsizing": "constant"},
    xaxis={"visible": False},
    yaxis={"visible": False},
)
event = st.plotly_chart(
    figure, on_select="rerun", selection_mode=("points", "lasso", "box"), key="map_chart", width="stretch"
)
picked = sorted({int(point["customdata"][0]) for point in event.selection.points}) if event else []
if len(picked) == 1:
    row = picked[0]
    face, words = st.columns([1, 4])
    face.image(np.asarray(dataset.images[row]), width=144)
    words.markdown(
        f"**#{row}** · {dataset.meta['split'].iat[row]} · FER2013 {dataset.meta['label'].iat[row]}"
        + (f" · FERPlus {dataset.meta['ferplus'].iat[row] or '(none)'}" if dataset.has_ferplus else "")
    )
if picked and st.button(f"Open the {len(picked):,} selected faces in Browse", key="map_open"):
    st.switch_page("pages/browse.py", query_params={"rows": ",".join(map(str, picked))})
if not picked:
    st.caption("Click a face to see it; draw a lasso around faces to open them in Browse.")
