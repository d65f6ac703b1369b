"""The background runner: each training run is its own process, in a run folder that holds everything.

`runs/<id>/` is a run folder (`core.run_folder` names its files); its status.json follows `core.job_status`
(queued / running / finished / failed / stopped, pid and start time, ETA, the phase: queued, training, evaluating
best.pt, stopping…). Everything lives on disk, so a browser refresh or an app restart loses nothing; the worker
(`core.jobs.worker`) runs in its own session, so killing the app (or ctrl-C in its terminal) leaves it running. One
run at a time per device: later runs wait, first come first served. A run whose process died without a word is
reported as failed, never as running.
"""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path
from typing import Any

from core.job_status import (
    ACTIVE,
    QUEUED,
    current_status,
    merge_status,
    read_status,
    request_stop,
    status_lock,
    write_status,
)
from core.job_status import kill as kill_job
from core.job_status import launch as launch_job
from core.paths import check_run_name, runs_dir
from core.run_folder import LAST, RunFolder, is_run_folder
from core.training.config import TrainConfig
from core.training.server_paths import confine_server_paths

WORKER = "core.jobs.worker"  # the module a run's process runs (`python -m`)


def refresh_status(run_id: str, root: Path | None = None) -> dict[str, Any]:
    """The run's status; an active run whose process is gone is marked failed (or stopped), with the reason."""
    run = run_path(run_id, root)
    return {"id": run.name, **current_status(run)}


def run_path(run_id: str, root: Path | None = None) -> Path:
    base = Path(root or runs_dir()).resolve()
    run = (base / run_id).resolve()
    if run.parent != base or not is_run_folder(run):
        raise ValueError(f"no run {run_id!r} in {base}")
    return run


def list_runs(root: Path | None = None) -> list[dict[str, Any]]:
    """Every run (newest first) with its status, config and last epoch record."""
    base = Path(root or runs_dir())
    # a symlinked folder could lead outside the runs folder: run_path refuses it, so the list leaves it out too
    folders = base.iterdir() if base.is_dir() else []
    runs = [p for p in folders if is_run_folder(p)]
    listed = [refresh_status(p.name, base) for p in runs]
    return sorted(listed, key=lambda s: s.get("created", 0), reverse=True)


def launch(run: Path, resume: bool) -> None:
    """Start the worker as its own process (a fresh interpreter, never a fork of this one)."""
    launch_job(run, [sys.executable, "-m", WORKER, str(run)] + (["--resume"] if resume else []))


def start_run(config: TrainConfig, run_id: str | None = None, root: Path | None = None) -> str:
    """Create a run folder for `config` and start (or queue) it; return its id. (A class set that cannot train on
    the data set is refused first by `core.jobs.label_sources.check_trainable`; the worker checks again.) Files the
    config names must lie in the folders a remote user may name (core.training.server_paths)."""
    from core.training.preflight import preflight  # lazy: torch, only when a run is started

    config = confine_server_paths(config)
    preflight(config)
    base = Path(root or runs_dir())
    run_id = run_id or f"{time.strftime('%Y%m%d-%H%M%S')}-{config.model}-{uuid.uuid4().hex[:4]}"
    run = base / check_run_name(run_id)
    if run.exists():
        raise ValueError(f"run {run_id!r} already exists in {base}")
    run.mkdir(parents=True)
    RunFolder(run).save_config(config)
    write_status(run, {"state": QUEUED, "phase": QUEUED, "created": time.time(), "device": config.device})
    launch(run, resume=False)
    return run_id


def resume(run_id: str, root: Path | None = None) -> None:
    """Continue a stopped or failed run from its last.pt."""
    run = run_path(run_id, root)
    refresh_status(run_id, root)  # a run that died unseen becomes failed first, so it can resume
    if not (run / LAST).is_file():
        raise ValueError(f"run {run_id} has no last.pt to resume from; start it again instead")
    with status_lock(run):  # checked and queued in one step: two clicks on Resume start one worker
        current = read_status(run)
        if current.get("state") in ACTIVE:
            raise ValueError(f"run {run_id} is {current['state']}; only stopped or failed runs resume")
        merge_status(
            run,
            {
                "state": QUEUED,
                "phase": QUEUED,
                "eta_seconds": None,
                "queued": time.time(),
                "reason": None,
                "finished": None,
                "pid": None,
                "pid_start": None,
                "stop_requested": None,
                "queue": None,
            },
        )
    launch(run, resume=True)


def stop(run_id: str, root: Path | None = None) -> None:
    """Ask a run to stop gracefully: it finishes the current step and writes last.pt."""
    request_stop(run_path(run_id, root), refresh_status(run_id, root))


def kill(run_id: str, root: Path | None = None) -> None:
    """End a run's process at once (SIGKILL); last.pt keeps the last finished epoch."""
    kill_job(run_path(run_id, root))
