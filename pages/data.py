"""Data page: import a data set, its class counts (FER2013 vs FERPlus), label agreement, augmentation preview."""
import tempfile
from pathlib import Path

import numpy as np
import plotly.express as px
import streamlit as st

from app.progress import streamlit_progress
from app.state import cached_dataset, current_dataset
from app.text import IMPORT_HINT, escape_markdown
from core.data.augment import AugmentOptions, preview_grid
from core.data.dataset import VOTE_COLUMNS, build_fer2013_dataset
from core.errors import DataError
from core.data.fer2013 import SPLITS
from core.data.ferplus import consensus_shares, fleiss_kappa
from core.data.stats import label_agreement_table
from core.data.folders import read_image_folders
from core.paths import contained_path, import_roots, safe_file_name
from core.data.store import save_dataset

st.title("Data")
with st.expander("Import a data set", expanded=current_dataset().is_sample):
    csv_tab, folder_tab = st.tabs(["FER2013 + FERPlus csv", "Image folders"])
    with csv_tab:
        fer_upload = st.file_uploader("fer2013.csv (or .csv.gz)", type=["csv", "gz"], key="data_fer_upload")
        plus_upload = st.file_uploader("fer2013new.csv (FERPlus votes, optional)", type=["csv"],
                                       key="data_plus_upload")
        fer_path = st.text_input("... or a path on this server", value="../shared/data/fer2013/fer2013.csv.gz",
                                key="data_fer_path")
        plus_path = st.text_input("FERPlus path on this server (optional)",
                                  value="../shared/data/fer2013/fer2013new.csv", key="data_plus_path")
        start_csv = st.button("Import FER2013", type="primary", key="data_import_csv")
    with folder_tab:
        root = st.text_input("Folder holding train/ and test/ (or valid/)")
        labels = st.text_input("Class names for category_0..n folders (comma separated, optional)")
        start_folders = st.button("Import folders", type="primary")
    roots = import_roots()
    st.caption(f"Paths on this server must lie inside {' or '.join(f'`{r}`' for r in roots)} "
               "(`FER_IMPORT_ROOTS` changes that).")
    tmp = ""
    try:
        with tempfile.TemporaryDirectory() as tmp:
            dataset = None
            if start_csv:
                # upload names keep only their last part; typed paths must stay inside the import folders
                fer = Path(tmp) / safe_file_name(fer_upload.name) if fer_upload else contained_path(fer_path, roots)
                plus = (Path(tmp) / safe_file_name(plus_upload.name) if plus_upload
                        else contained_path(plus_path, roots) if plus_path.strip() else None)
                for upload, target in ((fer_upload, fer), (plus_upload, plus)):
                    if upload:
                        target.write_bytes(upload.getbuffer())
                dataset = build_fer2013_dataset(fer, plus, track=streamlit_progress("Reading the csv"))
            if start_folders:
                dataset = read_image_folders(contained_path(root, roots), labels.split(",") if labels else None,
                                             track=streamlit_progress("Reading images"))
            if dataset is not None:
                save_dataset(dataset)
                cached_dataset.clear()
                st.success(f"Imported {len(dataset):,} images.")
                st.rerun()
    except (DataError, ValueError, OSError) as exc:
        st.error(f"Nothing was imported: {escape_markdown(str(exc).replace(tmp + '/', '') if tmp else exc)}")

dataset = current_dataset()
if dataset.is_sample:
    st.info("This is the small stratified **sample** that ships with FER Studio. For all 35,887 images import "
            f"above, or run `{IMPORT_HINT}`.")
columns = st.columns(len(SPLITS) + 1)
columns[0].metric("images", f"{len(dataset):,}")
for column, split in zip(columns[1:], SPLITS):
    column.metric(split, f"{len(dataset.split_index(split)):,}")

figure = px.bar(dataset.count_table(), x="class", y="images", color="labels", barmode="group", facet_col="split",
                title="Images per class and split: original (FER2013) labels vs FERPlus majority")
st.plotly_chart(figure, width="stretch")

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
    st.plotly_chart(px.imshow(share, text_auto=".0%", color_continuous_scale="Blues", aspect="auto",
                              labels={"x": "FERPlus majority", "y": "FER2013 label", "color": "share of row"},
                              title="FER2013 label vs FERPlus majority (rows sum to 100%)"), width="stretch")

st.subheader("Augmentation preview")
index = st.slider("Image", 0, len(dataset) - 1, 0)
grid = preview_grid(np.asarray(dataset.images[index]), AugmentOptions(), n=16, seed=index)
st.image(list(grid), width=96, caption=["original"] + [""] * 15)
st.caption("The training transforms (shift, flip, rotation, scale, brightness/contrast, random erasing) applied to "
           "one face, as the trainer does them: batched on tensors.")

st.subheader("Example faces by original label")
for name, rows in dataset.meta.groupby("label").indices.items():
    st.caption(name)
    st.image([dataset.images[i] for i in rows[:12]], width=72)
