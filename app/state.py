"""What every page shares: the cached data set and model, and the choices kept in the URL. No ML logic here.

Choices a person makes (annotator name, model) live in the URL's query parameters, so a browser refresh or a
bookmark keeps them; everything else lives on disk through `core`.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.data.dataset import FerDataset
from core.data.store import current_dataset_dir, load_dataset


@st.cache_resource(show_spinner="Loading the data set ...")
def cached_dataset(folder_key: str) -> FerDataset:
    """One shared copy per imported data set; a new import changes the key and so reloads."""
    return load_dataset()


def current_dataset() -> FerDataset:
    """The data set in use (the shipped sample until something is imported)."""
    return cached_dataset(str(current_dataset_dir()))


@st.cache_resource(show_spinner="Loading the model ...")
def cached_predictor(path: str, mtime_ns: int):
    from core.inference.predictor import Predictor

    return Predictor.load(path)


def current_model_path() -> Path | None:
    """The model chosen in the sidebar (kept in the URL), else the default one."""
    from core.inference.catalog import default_checkpoint

    chosen = st.query_params.get("model")
    if chosen and Path(chosen).is_file():
        return Path(chosen)
    return default_checkpoint()


def current_predictor():
    path = current_model_path()
    return None if path is None else cached_predictor(str(path), path.stat().st_mtime_ns)


def annotator() -> str:
    return st.query_params.get("annotator", "").strip()


@st.cache_resource(show_spinner="Reading label quality ...")
def cached_label_quality(folder_key: str, stamp: float):
    """The label-issue finder's scores for the current data set as per-row arrays, or None (see core/labels/issues).
    `stamp` (the newest result file's time) makes a newly finished job show up without a restart."""
    from core.labels.issues import label_quality, load_issues

    dataset = current_dataset()
    table = load_issues(dataset)
    return None if table is None else label_quality(table, len(dataset))


def current_label_quality():
    from core.labels.issues import job_progress, results_stamp

    dataset = current_dataset()
    finished = sum(run.get("state") == "finished" for run in job_progress(dataset) or [])  # a job just completed
    return cached_label_quality(str(current_dataset_dir()), results_stamp(dataset) + finished)
