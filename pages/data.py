"""Data page: import a data set, its class counts (FER2013 vs FERPlus), label agreement, augmentation preview."""

import tempfile
from pathlib import Path

import numpy as np
import plotly.express as px
import streamlit as st

from app import auth
from app.label_issues import label_issues_panel
from app.progress import streamlit_progress
from app.state import cached_dataset, current_dataset
from app.text import IMPORT_HINT, escape_markdown, readable_date
from core.data.augment import preview_grid
from core.data.augment_options import AugmentOptions
from core.data.dataset import VOTE_COLUMNS, build_fer2013_dataset
from core.data.fer2013 import SPLITS
from core.data.ferplus import consensus_shares, fleiss_kappa
from core.data.folders import read_image_folders
from core.data.images import tile_faces
from core.data.stats import label_agreement_table
from core.data.store import save_dataset
from core.errors import DataError
from core.paths import contained_path, import_roots, safe_file_name, shared_data_dir

st.title("Data")
imported = current_dataset()
with st.expander("Import a data set", expanded=imported.is_sample):
    if "data_import_result" in st.session_state:
        st.success(st.session_state["data_import_result"])
    if not auth.may("import_data"):
        st.caption("Only an admin imports or replaces the data set.")
    replace = auth.may("import_data") and (
        imported.is_sample
        or st.checkbox(
            f"Replace the imported data set ({escape_markdown(imported.info.get('source'))}, {len(imported):,} images, "
            f"imported {readable_date(imported.info.get('created'))})",
            key="data_replace_confirm",
        )
    )
    shared = shared_data_dir() / "fer2013"  # FER_SHARED_DATA, the same folder the CLI and the tests read
    csv_tab, folder_tab = st.tabs(["FER2013 + FERPlus csv", "Image folders"])
    with csv_tab:
        fer_upload = st.file_uploader("fer2013.csv (or .csv.gz)", type=["csv", "gz"], key="data_fer_upload")
        plus_upload = st.file_uploader("fer2013new.csv (FERPlus votes, optional)", type=["csv"], key="data_plus_upload")
        fer_path = st.text_input(
            "... or a path on this server", value=str(shared / "fer2013.csv.gz"), key="data_fer_path"
        )
        plus_path = st.text_input(
            "FERPlus path on this server (optional)", value=str(shared / "fer2013new.csv"), key="data_plus_path"
        )
        start_csv = st.button("Import FER2013", type="primary", key="data_import_csv", disabled=not replace)
        csv_message = st.empty()  # an error shows next to the fields it is about
    with folder_tab:
        root = st.text_input("Folder holding train/ and test/ (or valid/)")
        labels = st.text_input("Class names for category_0..n folders (comma separated, optional)")
        start_folders = st.button("Import folders", type="primary", key="data_import_folders", disabled=not replace)
        folder_message = st.empty()
    roots = import_roots()
    st.caption(
        f"Paths on this server must lie inside {' or '.join(f'`{r}`' for r in roots)} "
        "(`FER_IMPORT_ROOTS` changes that)."
    )
    tmp = ""
    if start_csv or start_folders:
        auth.guard("import_data")  # here, not only in the disabled button: a replayed click ends at this check
    try:
        with tempfile.TemporaryDirectory() as tmp:
            dataset = None
            if start_csv:
                # upload names keep only their last part; typed paths must stay inside the import folders
                fer = Path(tmp) / safe_file_name(fer_upload.name) if fer_upload else contained_path(fer_path, roots)
                plus = (
                    Path(tmp) / safe_file_name(plus_upload.name)
                    if plus_upload
                    else contained_path(plus_path, roots)
                    if plus_path.strip()
                    else None
                )
                for upload, target in ((fer_upload, fer), (plus_upload, plus)):
                    if upload:
                        target.write_bytes(upload.getbuffer())
                dataset = build_fer2013_dataset(fer, plus, track=streamlit_progress("Reading the csv"))
            if start_folders:
                dataset = read_image_folders(
                    contained_path(root, roots),
                    labels.split(",") if labels else None,
                    track=streamlit_progress("Reading images"),
                )
            if dataset is not None:
                save_dataset(dataset)
                cached_dataset.clear()
                st.session_state["data_import_result"] = f"Imported {len(dataset):,} images."  # shown after the rerun
                st.rerun()
    except (DataError, ValueError, OSError) as exc:
        (csv_message if start_csv else folder_message).error(
            f"Nothing was imported: {escape_markdown(str(exc).replace(tmp + '/', '') if tmp else exc)}"
        )

dataset = current_dataset()
if dataset.is_sample:
    st.info(
        "This is the small stratified **sample** that ships with FER Studio. For all 35,887 images import "
        f"above, or run `{IMPORT_HINT}`."
    )
columns = st.columns(len(SPLITS) + 1)
columns[0].metric("images", f"{len(dataset):,}")
for column, split in zip(columns[1:], SPLITS):
    column.metric(split, f"{len(dataset.split_index(split)):,}")

if not dataset.is_sample:
    st.caption(f"{escape_markdown(dataset.info.get('source'))}, imported {readable_date(dataset.info.get('created'))}")
scale = st.radio(
    "Bars show", ["share of the split", "images (each split its own y-axis)"], horizontal=True, key="data_count_scale"
)
counts = dataset.count_table()
counts["share"] = counts["images"] / counts.groupby(["split", "labels"])["images"].transform("sum")
figure = px.bar(
    counts,
    x="class",
    y="share" if scale.startswith("share") else "images",
    color="labels",
    barmode="group",
    facet_col="split",
    hover_data=["images", "share"],
    title="Images per class and split: original (FER2013) labels vs FERPlus majority",
)
if scale.startswith("share"):
    figure.update_yaxes(tickformat=".0%")
else:
    figure.update_yaxes(matches=None, showticklabels=True)  # the test splits are an eighth of Training
st.plotly_chart(figure, width="stretch", key="data_counts_chart")

if dataset.has_ferplus:
    st.subheader("How much do the labels agree?")
    votes = dataset.meta[list(VOTE_COLUMNS)].to_numpy()
    shares = consensus_shares(votes)
    cells = st.columns(4)
    for cell, (name, share) in zip(cells, shares.items()):
        cell.metric(f"FERPlus {name}", f"{share:.1%}")
    cells[3].metric("Fleiss' kappa (FERPlus votes)", f"{fleiss_kappa(votes):.3f}")
    table = label_agreement_table(dataset)
    share = table.div(table.sum(axis=1), axis=0)
    heat = px.imshow(
        share,
        text_auto=".0%",
        color_continuous_scale="Blues",
        aspect="auto",
        labels={"x": "FERPlus majority", "y": "FER2013 label", "color": "share of row"},
        title="FER2013 label vs FERPlus majority in one class order: agreement is the diagonal (rows sum to 100%)",
    )
    heat.update_traces(
        customdata=table.to_numpy(),
        hovertemplate="FER2013 %{y}, FERPlus %{x}: %{customdata:,} images (%{z:.1%} of the row)<extra></extra>",
    )
    st.plotly_chart(heat, width="stretch", key="data_agreement_chart")

st.subheader("Which labels are wrong?")
label_issues_panel(dataset)

st.subheader("Augmentation preview")
pick, again = st.columns([3, 1], vertical_alignment="bottom")
classes = list(dataset.class_counts("fer2013").columns)  # class order
face_class = pick.selectbox("Face", ["any class", *classes], key="data_augment_class")
if again.button("Another face", key="data_augment_next"):
    st.session_state["data_augment_draw"] = st.session_state.get("data_augment_draw", 0) + 1
candidates = (
    np.flatnonzero(dataset.meta["label"].to_numpy() == face_class) if face_class in classes else np.arange(len(dataset))
)
index = int(np.random.default_rng(st.session_state.get("data_augment_draw", 0)).choice(candidates))
st.caption(f"Image {index:,}: {dataset.meta['label'][index]} ({dataset.meta['split'][index]})")
grid = preview_grid(np.asarray(dataset.images[index]), AugmentOptions(), n=16, seed=index)
st.image(tile_faces(grid, columns=8), width=8 * 96 + 14)  # one picture: 16 would be 16 requests and redraws
st.caption(
    "The original (top left), then 15 draws of the training transforms (shift, flip, rotation, scale, "
    "brightness/contrast, random erasing) applied to it, as the trainer does them: batched on tensors."
)

st.subheader("Example faces by original label")
for name, rows in dataset.meta.groupby("label").indices.items():
    st.caption(name)
    st.image(tile_faces(np.asarray(dataset.images[rows[:12]]), columns=12), width=12 * 72 + 22)
