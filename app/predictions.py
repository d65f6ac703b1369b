"""The predictions job in the studio (Browse, Relabel): start it, watch its progress and ETA, cancel it.

The job is its own process (`core.jobs.prediction_job`), so no page waits for it and a restart of the studio
loses nothing; while it runs, the panel polls its status.json and reruns the page once the job has ended.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app.polling import poll_while
from app.text import escape_markdown, eta_text
from core.data.dataset import FerDataset
from core.inference.dataset_predictions import predictions_cache_path
from core.job_status import ACTIVE, ENDED_EARLY
from core.jobs import prediction_job


def predictions_panel(dataset: FerDataset, checkpoint: Path, key: str) -> None:
    """A Compute button (with why the last run ended, if it did), or the running job's progress, redrawn every
    second while it runs; once it has ended, the whole page reruns: with the cache, or with the button and why."""
    poll_while(lambda: job_running(dataset, checkpoint), predictions_view, 1, dataset, checkpoint, key)


def job_running(dataset: FerDataset, checkpoint: Path) -> bool:
    """Whether the job runs (a cached result counts as ended, even before the job's last status write)."""
    status = prediction_job.job_status(dataset, checkpoint)
    return (
        status is not None
        and status.get("state") in ACTIVE
        and not predictions_cache_path(dataset, checkpoint).is_file()
    )


def predictions_view(dataset: FerDataset, checkpoint: Path, key: str) -> None:
    """The panel's content: the progress of a running job, else the Compute button."""
    status = prediction_job.job_status(dataset, checkpoint)
    if job_running(dataset, checkpoint):
        job_progress(dataset, checkpoint, status, key)
        return
    if status is not None and status.get("state") in ENDED_EARLY:
        st.warning(
            f"The last run of the predictions was {status['state']}: "
            f"{escape_markdown(status.get('reason') or 'no reason recorded')}"
        )
    # on_click: the job is started before the rerun that follows, which then draws its progress
    st.button(
        "Compute the model's predictions",
        key=f"{key}_predict",
        on_click=prediction_job.start,
        args=(dataset, checkpoint),
        help="Runs the model over the whole data set once, in the background (cached on disk).",
    )


def job_progress(dataset: FerDataset, checkpoint: Path, status: dict, key: str) -> None:
    """The running job's progress bar with its ETA, and a Cancel button."""
    done = float(status.get("progress") or 0.0)
    words = f"{status.get('phase', 'starting')}: {done * len(dataset):,.0f} of {len(dataset):,} images"
    left = eta_text(status.get("eta_seconds"))
    st.progress(min(done, 1.0), text=f"Predicting every image once: {words}" + (f" · {left}" if left else ""))
    st.button("Cancel", key=f"{key}_cancel", on_click=prediction_job.cancel, args=(dataset, checkpoint))
