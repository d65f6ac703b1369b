"""The predictions job in the studio (Browse, Relabel): start it, watch its progress and ETA, cancel it.

The job is its own process (`core.inference.prediction_job`), so no page waits for it and a restart of the studio
loses nothing; while it runs, the panel polls its status.json and reruns the page once the job has ended.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from app.text import escape_markdown, eta_text
from core.data.dataset import FerDataset
from core.inference import prediction_job
from core.inference.dataset_predictions import predictions_cache_path
from core.training.runner import ACTIVE


def predictions_panel(dataset: FerDataset, checkpoint: Path, key: str) -> None:
    """A Compute button (with why the last run ended, if it did), or the running job's progress."""
    status = prediction_job.job_status(dataset, checkpoint)
    if status is not None and status.get("state") in ACTIVE:
        job_progress(dataset, checkpoint, key)
        return
    if status is not None and status.get("state") in ("failed", "stopped"):
        st.warning(f"The last run of the predictions was {status['state']}: "
                   f"{escape_markdown(status.get('reason') or 'no reason recorded')}")
    # on_click: the job is started before the rerun that follows, which then draws its progress
    st.button("Compute the model's predictions", key=f"{key}_predict", on_click=prediction_job.start,
              args=(dataset, checkpoint),
              help="Runs the model over the whole data set once, in the background (cached on disk).")


@st.fragment(run_every=1)
def job_progress(dataset: FerDataset, checkpoint: Path, key: str) -> None:
    """The running job's progress bar with its ETA and a Cancel button, redrawn every second (only while it runs,
    so an idle page does not rerun); once the job has ended, the whole page reruns: with the cache, or with the
    Compute button and why it stopped."""
    status = prediction_job.job_status(dataset, checkpoint)
    if predictions_cache_path(dataset, checkpoint).is_file() or status is None or status.get("state") not in ACTIVE:
        st.rerun()
    done = float(status.get("progress") or 0.0)
    words = f"{status.get('phase', 'starting')}: {done * len(dataset):,.0f} of {len(dataset):,} images"
    left = eta_text(status.get("eta_seconds"))
    st.progress(min(done, 1.0), text=f"Predicting every image once: {words}" + (f" · {left}" if left else ""))
    st.button("Cancel", key=f"{key}_cancel", on_click=prediction_job.cancel, args=(dataset, checkpoint))
