"""Data page: which data set is loaded, its splits, original vs FERPlus class counts, and example faces."""
import plotly.express as px
import streamlit as st

from app.state import IMPORT_HINT, current_dataset
from core.fer2013 import SPLITS

dataset = current_dataset()
st.title("Data")
if dataset.is_sample:
    st.info("This is the small stratified **sample** that ships with FER Studio. For all 35,887 images run "
            f"`{IMPORT_HINT}` and reload.")

columns = st.columns(len(SPLITS) + 1)
columns[0].metric("images", f"{len(dataset):,}")
for column, split in zip(columns[1:], SPLITS):
    column.metric(split, f"{len(dataset.split_index(split)):,}")

figure = px.bar(dataset.count_table(), x="class", y="images", color="labels", barmode="group", facet_col="split",
                title="Images per class and split: original (FER2013) labels vs FERPlus majority")
st.plotly_chart(figure, width="stretch")

st.subheader("Example faces by original label")
for name, rows in dataset.meta.groupby("label").indices.items():
    st.caption(name)
    st.image([dataset.images[i] for i in rows[:12]], width=72)
