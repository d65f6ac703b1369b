"""The audit and map jobs in the studio: start one, watch its progress, cancel it (as app/predictions.py does for
the predictions job); the page reruns once the job has ended."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app.text import escape_markdown, eta_text
from core.data.dataset import FerDataset
from core.job_status import ACTIVE
from core.jobs import audit_job as job


def job_panel(dataset: FerDataset, kind: str, checkpoint: Path | None, label: str, key: str) -> None:
    """A start button (with why the last run ended, if it did), or the running job's progress."""
    folder = job.job_dir(dataset, kind, checkpoint if kind == "map" else None)
    status = job.job_status(folder)
    if status is not None and status.get("state") in ACTIVE:
        job_progress(folder, key)
        return
    if status is not None and status.get("state") in ("failed", "stopped"):
        st.warning(
            f"The last {kind} job was {status['state']}: "
            f"{escape_markdown(status.get('reason') or 'no reason recorded')}"
        )
    st.button(
        label,
        key=f"{key}_start",
        on_click=job.start,
        args=(dataset, kind, checkpoint),
        help="Runs in the background; the result is kept on disk.",
    )


@st.fragment(run_every=1)
def job_progress(folder: Path, key: str) -> None:
    status = job.job_status(folder)
    if status is None or status.get("state") not in ACTIVE:
        st.rerun()
    done = float(status.get("progress") or 0.0)
    left = eta_text(status.get("eta_seconds"))
    st.progress(min(done, 1.0), text=f"{status.get('phase', 'starting')}: {done:.0%}" + (f" · {left}" if left else ""))
    st.button("Cancel", key=f"{key}_cancel", on_click=job.cancel, args=(folder,))
