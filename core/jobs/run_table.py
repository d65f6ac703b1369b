"""The Train page's table of runs (name, model, classes, labels, best PublicTest accuracy, duration) and deleting a
run. Pure: no Streamlit."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from core.job_status import ACTIVE, phase
from core.jobs.runner import list_runs, refresh_status, run_path
from core.run_folder import RunFolder
from core.training.config import TrainConfig


def best_public_accuracy(folder: RunFolder) -> float | None:
    """The highest PublicTest accuracy of the run's epochs (the epoch best.pt holds), or None before one ends."""
    scores = [r["public_accuracy"] for r in folder.records("epoch") if r.get("public_accuracy") is not None]
    return max(scores) if scores else None


def duration_seconds(status: dict[str, Any]) -> float | None:
    """From the start of training to its end (or now, while it runs); None before it started."""
    started = status.get("started")
    if not started:
        return None
    return max((status.get("finished") or time.time()) - started, 0.0)


def run_rows(root: Path | None = None) -> list[dict[str, Any]]:
    """One row per run, newest first: what it trained and how it went."""
    rows = []
    for status in list_runs(root):
        folder = RunFolder(run_path(status["id"], root), create=False)
        try:
            config = TrainConfig.load(folder.config_path)
        except (OSError, ValueError, TypeError):  # a run folder whose config cannot be read still shows
            config = None
        rows.append(
            {
                "name": status["id"],
                "state": phase(status),
                "model": config.model if config else None,
                "classes": config.classes if config else None,
                "label source": config.label_source if config else None,
                "best PublicTest": best_public_accuracy(folder),
                "duration (min)": None if duration_seconds(status) is None else round(duration_seconds(status) / 60, 1),
                "has model": status.get("state") == "finished" and folder.best.is_file(),
            }
        )
    return rows


def delete_run(run_id: str, root: Path | None = None) -> None:
    """Remove a run's folder; refused while the run is queued or running (stop it first)."""

    run = run_path(run_id, root)
    if refresh_status(run_id, root).get("state") in ACTIVE:
        raise ValueError(f"run {run_id} is still active: stop it before deleting it")
    shutil.rmtree(run)
