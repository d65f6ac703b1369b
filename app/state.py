"""What every page shares: the cached data set and the sidebar. No ML logic lives here."""
from __future__ import annotations

import streamlit as st

from core.dataset import FerDataset
from core.store import current_dataset_dir, load_dataset

IMPORT_HINT = ("python -m core import-data --fer2013 ../shared/data/fer2013/fer2013.csv.gz "
               "--ferplus ../shared/data/fer2013/fer2013new.csv")


@st.cache_resource(show_spinner="Loading the data set ...")
def cached_dataset(folder_key: str) -> FerDataset:
    """One shared copy per imported data set; a new import changes the key and so reloads."""
    return load_dataset()


def current_dataset() -> FerDataset:
    """The data set in use (the shipped sample until something is imported)."""
    return cached_dataset(str(current_dataset_dir()))


def show_sidebar(dataset: FerDataset) -> None:
    """Which data set is loaded, and how to load the full one when it is the sample."""
    with st.sidebar:
        if dataset.is_sample:
            st.warning(f"Showing the shipped **sample** ({len(dataset)} images). Import the full data set with:")
            st.code(IMPORT_HINT, language="bash", wrap_lines=True)
        else:
            st.success(f"Data set: **{dataset.info.get('source')}**, {len(dataset):,} images "
                       f"(imported {dataset.info.get('created', '?')})")
