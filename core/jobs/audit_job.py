"""The audit and the map as background jobs, like the predictions job: their own process, progress, cancel, and
results on disk (the audit folder; the map cache), so a page never waits and a restart loses nothing.

`python -m core.jobs.audit_job JOB_DIR` is the process. A job folder holds job.json (what to do: kind "audit" or "map",
the data set folder, the checkpoint, the thresholds), status.json (the runner's format and helpers) and log.txt.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from core.audit.report import AuditSettings, audit_dir, run_audit, save_audit
from core.data.dataset import FerDataset
from core.files import exclusive_lock, write_json
from core.job_status import ACTIVE, LOG, STATUS, is_alive, read_status, request_stop, settle_dead, update_status
from core.jobs.prediction_job import load_job_dataset, status_track
from core.paths import REPO_ROOT
from core.processes import spawn

JOB = "job.json"
KINDS = ("audit", "map")


def job_dir(dataset: FerDataset, kind: str, checkpoint: Path | None = None) -> Path:
    """The job's folder in the data set's audit folder; a map job per checkpoint."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    name = (
        kind
        if checkpoint is None
        else f"{kind}-{hashlib.sha1(str(Path(checkpoint).resolve()).encode()).hexdigest()[:12]}"
    )
    return audit_dir(dataset) / "jobs" / name


def job_status(folder: Path) -> dict[str, Any] | None:
    """The job's status (None when never started); a dead active job is settled as failed first."""
    if not (folder / STATUS).is_file():
        return None
    status = read_status(folder)
    if status.get("state") in ACTIVE and not is_alive(status):
        status = settle_dead(folder)
    return status


def start(
    dataset: FerDataset, kind: str, checkpoint: Path | None = None, settings: AuditSettings | None = None
) -> dict[str, Any]:
    """Start the job unless it runs already (then this is a no-op); return its status."""
    from core.data.store import current_dataset_dir

    folder = job_dir(dataset, kind, checkpoint if kind == "map" else None)
    folder.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(folder / ".start.lock"):
        current = job_status(folder)
        if current is not None and current.get("state") in ACTIVE:
            return current
        source = None if dataset.is_sample else current_dataset_dir()
        settings = settings or AuditSettings(checkpoint=str(checkpoint) if checkpoint else None)
        write_json(
            folder / JOB,
            {
                "kind": kind,
                "dataset_dir": source and str(source),
                "images": len(dataset),
                "checkpoint": checkpoint and str(Path(checkpoint).resolve()),
                "hamming": settings.hamming,
                "cosine": settings.cosine,
            },
        )
        write_json(
            folder / STATUS,
            {"state": "queued", "phase": "starting", "created": time.time(), "progress": 0.0, "images": len(dataset)},
        )
        pid, pid_start = spawn([sys.executable, "-m", "core.jobs.audit_job", str(folder)], folder / LOG, REPO_ROOT)
        return update_status(folder, pid=pid, pid_start=pid_start)


def cancel(folder: Path) -> None:
    current = job_status(folder)
    if current is not None:
        request_stop(folder, current)


def phased_track(folder: Path, stop: threading.Event):
    """`status_track` that also writes which step (its description) is running."""
    track = status_track(folder, stop)

    def phased(items: Iterable, total: int, description: str) -> Iterator:
        update_status(folder, phase=description, progress=0.0)
        yield from track(items, total, description)

    return phased


def run(folder: Path, stop: threading.Event) -> str:
    update_status(folder, state="running", phase="loading", started=time.time())
    try:
        job = json.loads((folder / JOB).read_text())
        dataset = load_job_dataset(job)
        track = phased_track(folder, stop)
        checkpoint = Path(job["checkpoint"]) if job.get("checkpoint") else None
        if job["kind"] == "map":
            from core.audit.face_map import compute_map

            done = compute_map(dataset, checkpoint, track) is not None and not stop.is_set()
        else:
            features = None
            if checkpoint is not None:
                from core.audit.embeddings import dataset_features

                features = dataset_features(dataset, checkpoint, track)
            audit = run_audit(
                dataset, AuditSettings(job["hamming"], job["cosine"], job.get("checkpoint")), track, features
            )
            done = not stop.is_set()
            if done:
                save_audit(audit, audit_dir(dataset))
        if not done:
            update_status(folder, state="stopped", reason="cancelled", finished=time.time(), eta_seconds=None)
            return "stopped"
    except Exception as exc:
        if stop.is_set():  # a cancel cut a step short; what followed it had too few rows to work with
            update_status(folder, state="stopped", reason="cancelled", finished=time.time(), eta_seconds=None)
            return "stopped"
        traceback.print_exc()
        update_status(folder, state="failed", reason=f"{type(exc).__name__}: {exc}", finished=time.time())
        return "failed"
    update_status(folder, state="finished", progress=1.0, eta_seconds=0, finished=time.time())
    return "finished"


def main(argv: list[str] | None = None) -> int:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    parser = argparse.ArgumentParser(description="Run an audit or map job (a job folder's job.json).")
    parser.add_argument("folder", type=Path)
    return 0 if run(parser.parse_args(argv).folder, stop) != "failed" else 1


if __name__ == "__main__":
    sys.exit(main())
