"""The sidebar on every page: which data set is loaded, who is annotating, and which model is in use."""
from __future__ import annotations

import streamlit as st

from app.state import annotator, current_model_path
from app.text import IMPORT_HINT, escape_markdown, readable_date
from core.data.dataset import FerDataset
from core.inference.catalog import list_checkpoints


def show_sidebar(dataset: FerDataset) -> None:
    """Which data set is loaded, who is annotating, and which model is in use."""
    with st.sidebar:
        if dataset.is_sample:
            st.warning(f"Showing the shipped **sample** ({len(dataset)} images). Import the full data set on "
                       "the Data page, or with:")
            st.code(IMPORT_HINT, language="bash", wrap_lines=True)
        else:
            st.success(f"Data set: **{escape_markdown(dataset.info.get('source'))}**, {len(dataset):,} images "
                       f"(imported {readable_date(dataset.info.get('created'))})")
        name = st.text_input("Annotator", value=annotator(), max_chars=64, placeholder="your name (for relabels)")
        if name.strip() != annotator():
            st.query_params["annotator"] = name.strip()
        entries = list_checkpoints()
        current = current_model_path()
        paths = [str(e.path) for e in entries]
        if entries:
            index = paths.index(str(current)) if current is not None and str(current) in paths else 0
            chosen = st.selectbox("Model", paths, index=index, format_func=lambda p: entries[paths.index(p)].label)
            if chosen != st.query_params.get("model"):
                st.query_params["model"] = chosen
        else:
            st.info("No trained model yet: train one on the Train page.")
