"""A model's predictions over a data set as a background job, like a training run: its own process, progress and
ETA, cancel, and a result cached on disk (`dataset_predictions`' cache file), so it survives restarts of the studio.

`python -m core.jobs.prediction_job JOB_DIR` is the process. Its folder sits beside the cache file it will
write, `<data>/predictions/<key>.job/`: job.json (checkpoint, data set folder, backend), status.json and log.txt.
status.json follows `core.job_status` (states queued / running / finished / failed / stopped, pid and start time,
progress, eta_seconds), so a job whose process died unseen is reported as failed, never as running forever. It does
not queue behind training runs: it is short,
and waiting for a training run to end would hold it for hours.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from core.data.dataset import FerDataset
from core.data.store import current_dataset_dir, load_sample, read_dataset_dir
from core.files import exclusive_lock, write_json
from core.inference.dataset_predictions import (
    chosen_predictor,
    compute_probabilities,
    predictions_cache_path,
    save_cache,
)
from core.job_status import (
    ACTIVE,
    FAILED,
    FINISHED,
    LOADING,
    PREDICTING,
    QUEUED,
    RUNNING,
    STATUS,
    STOPPED,
    Eta,
    current_status,
    launch,
    read_status,
    request_stop,
    update_status,
    write_status,
)

JOB = "job.json"
MODULE = "core.jobs.prediction_job"  # what the job's process runs (`python -m`)


def job_dir(dataset: FerDataset, checkpoint: Path) -> Path:
    """The job's folder: named after the cache file, so the key (checkpoint, data set, version) is the same."""
    return predictions_cache_path(dataset, checkpoint).with_suffix(".job")


def job_status(dataset: FerDataset, checkpoint: Path) -> dict[str, Any] | None:
    """The job's status, or None when it was never started; an active job whose process is gone is settled as
    failed (or stopped) first, with the reason."""
    folder = job_dir(dataset, checkpoint)
    return current_status(folder) if (folder / STATUS).is_file() else None


def start(dataset: FerDataset, checkpoint: Path, backend: str | None = None) -> dict[str, Any]:
    """Start the job unless it runs already (then this is a no-op) or its result is cached; return its status.
    `backend` None lets the job's process pick (`dataset_predictions.default_backend`)."""
    folder = job_dir(dataset, checkpoint)
    folder.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(folder / ".start.lock"):  # two clicks, or two pages, start one process
        current = job_status(dataset, checkpoint)
        if current is not None and current.get("state") in ACTIVE:
            return current
        if predictions_cache_path(dataset, checkpoint).is_file():
            return {"state": FINISHED, "progress": 1.0}
        source = None if dataset.is_sample else current_dataset_dir()
        write_json(
            folder / JOB,
            {
                "checkpoint": str(Path(checkpoint).resolve()),
                "backend": backend,
                "dataset_dir": source and str(source),
                "images": len(dataset),
                "cache": str(predictions_cache_path(dataset, checkpoint)),
            },
        )
        write_status(
            folder,
            {
                "state": QUEUED,
                "phase": LOADING,
                "created": time.time(),
                "progress": 0.0,
                "images": len(dataset),
                "backend": backend,
            },
        )
        return launch(folder, [sys.executable, "-m", MODULE, str(folder)])


def cancel(dataset: FerDataset, checkpoint: Path) -> None:
    """Ask a running job to stop after its current chunk; nothing is cached."""
    current = job_status(dataset, checkpoint)
    if current is not None:
        request_stop(job_dir(dataset, checkpoint), current)


def status_track(folder: Path, stop: threading.Event):
    """A core `ProgressCallback` that writes progress and an ETA to status.json after every chunk, and ends early
    once a stop was asked (by signal, or on disk before the signal handler was in place)."""

    def track(items: Iterable, total: int, description: str) -> Iterator:
        eta = Eta(start=0)
        for done, item in enumerate(items):
            if stop.is_set() or read_status(folder).get("stop_requested"):
                stop.set()
                return
            if done:
                update_status(folder, **eta.report(done, total))
            yield item

    return track


def load_job_dataset(job: dict[str, Any]) -> FerDataset:
    folder = job.get("dataset_dir")
    if folder and not Path(folder).is_dir():
        raise ValueError(f"the data set {folder} is gone (a newer import replaced it); start the job again")
    return read_dataset_dir(Path(folder)) if folder else load_sample()


def run(folder: Path, stop: threading.Event) -> str:
    """The job's work: load, predict chunk by chunk, cache; returns the final state (also in status.json)."""
    update_status(folder, state=RUNNING, phase=LOADING, started=time.time())
    try:
        job = json.loads((folder / JOB).read_text())
        dataset, checkpoint = load_job_dataset(job), Path(job["checkpoint"])
        if str(predictions_cache_path(dataset, checkpoint)) != job["cache"]:
            raise ValueError("the checkpoint or the data set changed since the job was started; start it again")
        predict, backend = chosen_predictor(checkpoint, job["backend"], folder, dataset)
        update_status(folder, phase=PREDICTING, backend=backend)
        probabilities = compute_probabilities(dataset.images, predict, status_track(folder, stop))
        if stop.is_set():
            update_status(folder, state=STOPPED, reason="cancelled", finished=time.time(), eta_seconds=None)
            return STOPPED
        save_cache(dataset, checkpoint, probabilities)
    except Exception as exc:  # recorded for the page, with the traceback in log.txt
        traceback.print_exc()
        update_status(folder, state=FAILED, reason=f"{type(exc).__name__}: {exc}", finished=time.time())
        return FAILED
    update_status(folder, state=FINISHED, progress=1.0, eta_seconds=0, finished=time.time())
    return FINISHED


def main(argv: list[str] | None = None) -> int:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # first: a cancel during the imports still stops cleanly
    parser = argparse.ArgumentParser(description="Predict every image of a data set (a job folder's job.json).")
    parser.add_argument("folder", type=Path)
    return 0 if run(parser.parse_args(argv).folder, stop) != FAILED else 1


if __name__ == "__main__":
    sys.exit(main())
