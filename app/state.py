"""What every page shares: the cached data set and model, and the choices kept in the URL. No ML logic here.

Choices a person makes (annotator name, model) live in the URL's query parameters, so a browser refresh or a
bookmark keeps them; everything else lives on disk through `core`.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.data.dataset import FerDataset
from core.data.filters import LabelQuality
from core.data.store import current_dataset_dir, load_dataset
from core.ensemble_format import is_model_file
from core.inference import catalog
from core.inference.dataset_predictions import predictions_cache_path
from core.inference.predictor import Predictor
from core.job_status import FINISHED
from core.jobs.label_issues import job_progress, load_issues, results_stamp
from core.paths import runs_dir


@st.cache_resource(show_spinner="Loading the data set ...")
def cached_dataset(folder_key: str) -> FerDataset:
    """One shared copy per imported data set; a new import changes the key and so reloads."""
    return load_dataset()


def current_dataset() -> FerDataset:
    """The data set in use (the shipped sample until something is imported)."""
    return cached_dataset(str(current_dataset_dir()))


@st.cache_resource(show_spinner="Loading the model ...")
def cached_predictor(path: str, mtime_ns: int):
    return Predictor.load(path)


def current_model_path() -> Path | None:
    """The model chosen in the sidebar (kept in the URL), else the default one. A path from the URL counts only
    inside the shipped checkpoints or the runs folder: the sidebar lists those, and a URL must not make the server
    load an arbitrary file."""
    chosen = st.query_params.get("model")
    if chosen and Path(chosen).is_file() and is_model_file(chosen):
        resolved = Path(chosen).resolve()
        if any(resolved.is_relative_to(folder.resolve()) for folder in (catalog.CHECKPOINTS_DIR, runs_dir())):
            return Path(chosen)
    return catalog.default_checkpoint()


def current_predictor():
    path = current_model_path()
    return None if path is None else cached_predictor(str(path), path.stat().st_mtime_ns)


def annotator() -> str:
    """Who label events are recorded under: the signed-in account, else the typed name (normalised), else ""."""
    from app.auth import annotator_name

    return annotator_name(st.query_params.get("annotator", ""))[0]


@st.cache_resource(show_spinner="Reading label quality ...")
def cached_issues(folder_key: str, stamp: float):
    """The label-issue table of the data set in use (`core.jobs.label_issues.load_issues`), or None; once per
    import and result (`stamp` changes when a job finishes or a result is written), since fingerprinting takes a
    while."""
    return load_issues(current_dataset())


def current_issues():
    dataset = current_dataset()
    finished = sum(run.get("state") == FINISHED for run in job_progress(dataset) or [])  # a job just completed
    return cached_issues(str(current_dataset_dir()), results_stamp(dataset) + finished)


def current_label_quality():
    """The label-issue table as per-row arrays (core/data/filters.LabelQuality), or None."""
    table = current_issues()
    return None if table is None else LabelQuality.from_table(table, len(current_dataset()))


@st.cache_resource(show_spinner=False, max_entries=4)
def cached_probabilities(cache_file: str):
    import numpy as np

    return np.load(cache_file)


def current_model_probabilities():
    """The chosen model's cached probabilities over the data set in use and its class names, or None when they
    were never computed (this never runs the model)."""
    path = current_model_path()
    if path is None:
        return None
    cache = predictions_cache_path(current_dataset(), path)
    if not cache.is_file():
        return None
    return cached_probabilities(str(cache)), list(current_predictor().classes)
