"""The label-issue job in the studio: start the K-fold cross-validation, watch its progress, then use its scores.

The job is the same one `python -m core label-issues --compute` starts: background runs through the runner, one
per fold, so closing the page or restarting the studio loses nothing.
"""

from __future__ import annotations

import dataclasses

import streamlit as st

from app.polling import poll_while
from app.state import current_label_quality
from core.data.dataset import FerDataset
from core.job_status import ACTIVE, ENDED_EARLY
from core.jobs import label_issues

EXPLANATION = (
    "Label quality compares how likely models that never saw the image (K-fold cross-validation) find "
    "its label against the likeliest other class (cleanlab's confident learning): low quality means the "
    "label is likely wrong."
)


def label_issues_panel(dataset: FerDataset) -> None:
    """Start the job, or show its progress, or say that the scores are in; refreshes itself every 5 s while the
    job runs (an idle page does no work)."""
    poll_while(lambda: job_running(label_issues.job_progress(dataset)), label_issues_view, 5, dataset)


def job_running(progress: list[dict] | None) -> bool:
    """Whether a fold run of a job (`label_issues.job_progress`) is queued or running."""
    return progress is not None and any(run.get("state") in ACTIVE for run in progress)


def label_issues_view(dataset: FerDataset) -> None:
    """The panel's content."""
    progress = label_issues.job_progress(dataset)
    st.caption(EXPLANATION)
    if current_label_quality() is not None:
        st.success(
            "Label quality is available for this data set: Browse filters and sorts by it, Relabel orders "
            "its queue by it."
        )
        return
    if progress is None:
        folds = st.number_input("Folds", 2, 10, label_issues.DEFAULT_FOLDS, key="label_issues_folds")
        epochs = st.number_input(
            "Epochs per fold", 1, 100, label_issues.DEFAULT_RECIPE.epochs, key="label_issues_epochs"
        )
        if st.button("Find wrong labels", key="label_issues_start"):
            label_issues.start_job(
                dataset, dataclasses.replace(label_issues.DEFAULT_RECIPE, epochs=int(epochs)), int(folds)
            )
            st.rerun()  # the whole page: the panel polls from now on
        return
    done = label_issues.folds_done(progress)
    st.progress(done / len(progress), text=f"cross-validation: {done:.1f} of {len(progress)} folds")
    for run in progress:
        if run.get("state") in ENDED_EARLY:
            st.warning(
                f"{run['id']}: {run['state']} ({run.get('reason') or 'no reason recorded'}); "
                "start the job again to resume it."
            )
