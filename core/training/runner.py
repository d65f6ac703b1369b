"""The background runner: each training run is its own process, in a run folder that holds everything.

`runs/<id>/` is a run folder (`core.training.run_folder` names its files); its status.json says queued / running /
finished / failed / stopped, with pid, start time, ETA and the phase (queued, training, evaluating best.pt,
stopping…; `phase()` reads it). Everything lives on disk, so a browser refresh or an app restart loses nothing; the
worker runs in its own session, so killing the app (or ctrl-C in its terminal) leaves it running. One run at a time
per device: later runs wait, first come first served. A run whose process died without a word (kill -9, out of
memory, power loss) is reported as failed, never as running. status.json is changed under a lock file, so the app,
the worker and the CLI never lose each other's updates.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.training.config import TrainConfig
from core.files import exclusive_lock, write_json
from core.paths import REPO_ROOT, check_run_name, runs_dir
from core.processes import spawn, still_running
from core.training.server_paths import confine_server_paths
from core.training.run_folder import LAST, LOG, STATUS, STATUS_LOCK, RunFolder, is_run_folder

ACTIVE = ("queued", "running")
# what an active run is doing (status.json's `phase`, written by the worker; STOPPING by `stop`)
QUEUED, TRAINING, EVALUATING, HELDOUT, STOPPING = ("queued", "training", "evaluating best.pt",
                                                    "predicting the held-out fold", "stopping…")
LAUNCH_GRACE_S = 60  # a queued run without a pid yet is being launched (or its launcher died), for this long
LOCK_WAIT_S = 5.0  # status.json updates take microseconds; a lock held this long belongs to a frozen process


def read_status(run: Path) -> dict[str, Any]:
    try:
        return json.loads((run / STATUS).read_text())
    except (OSError, json.JSONDecodeError):
        return {"state": "failed", "reason": "status.json is missing or unreadable"}


@contextmanager
def status_lock(run: Path) -> Iterator[None]:
    """Serialise read-modify-writes of status.json: the app, the worker and the CLI update it at the same time.

    A holder that is frozen (SIGSTOP, a debugger) must not hang the app: after LOCK_WAIT_S it goes ahead unlocked,
    which can at worst lose one merge; every write stays atomic.
    """
    with exclusive_lock(run / STATUS_LOCK, wait=LOCK_WAIT_S):
        yield


def merge_status(run: Path, changes: dict[str, Any]) -> dict[str, Any]:
    """Apply `changes` to status.json; the caller holds status_lock."""
    status = {**read_status(run), **changes, "updated": time.time()}
    write_json(run / STATUS, status)
    return status


def update_status(run: Path, **changes: Any) -> dict[str, Any]:
    with status_lock(run):
        return merge_status(run, changes)


def queued_at(status: dict[str, Any]) -> float:
    """When a run joined the queue: a resumed run queues anew, a new one when it was created."""
    return status.get("queued") or status.get("created", 0)



def phase(status: dict[str, Any]) -> str:
    """What a run is doing now: its phase while active (stopping once a stop was asked), else its final state."""
    if status.get("state") not in ACTIVE:
        return status.get("state", "failed")
    if status.get("stop_requested"):
        return STOPPING
    return status.get("phase") or status["state"]


def is_alive(status: dict[str, Any]) -> bool:
    if not status.get("pid"):  # queued a moment ago and its launcher has not written the pid yet
        return status.get("state") == "queued" and time.time() - queued_at(status) < LAUNCH_GRACE_S
    return still_running(status["pid"], status.get("pid_start"))


def refresh_status(run_id: str, root: Path | None = None) -> dict[str, Any]:
    """The run's status; an active run whose process is gone is marked failed (or stopped), with the reason."""
    run = run_path(run_id, root)
    current = read_status(run)
    if current.get("state") in ACTIVE and not is_alive(current):
        current = settle_dead(run)
    return {"id": run.name, **current}


def settle_dead(run: Path) -> dict[str, Any]:
    """Record the end of an active run whose process is gone; checked again under the lock, as it may just have
    reported. A stop that arrived before the worker could catch signals is a stop, anything else a failure."""
    with status_lock(run):
        current = read_status(run)
        if current.get("state") not in ACTIVE or is_alive(current):
            return current
        if current.get("stop_requested") and current["state"] == "queued":
            return merge_status(run, stopped_while_queued())
        return merge_status(run, {"state": "failed", "finished": time.time(),
                                  "reason": f"the worker process (pid {current.get('pid')}) ended without reporting: "
                                            "killed (e.g. kill -9), out of memory, or the machine stopped"})


def stopped_while_queued() -> dict[str, Any]:
    """The status of a run stopped before it could start training."""
    return {"state": "stopped", "finished": time.time(), "reason": "stopped while queued"}


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
    command = [sys.executable, "-m", "core.training.worker", str(run)] + (["--resume"] if resume else [])
    pid, pid_start = spawn(command, run / LOG, REPO_ROOT)  # its own session: survives the app that started it
    update_status(run, pid=pid, pid_start=pid_start)


def start_run(config: TrainConfig, run_id: str | None = None, root: Path | None = None, dataset=None) -> str:
    """Create a run folder for `config` and start (or queue) it; return its id.

    With the `dataset` the run will read, a class set that cannot train (a class without Training images) is
    refused here, before any folder is made; the worker checks again either way. Files the config names must lie
    in the folders a remote user may name (core.training.server_paths).
    """
    from core.training.preflight import preflight  # torch: only when a run is started

    config = confine_server_paths(config)
    preflight(config)
    if dataset is not None:
        from core.training.tensors import check_training_classes, with_label_source

        check_training_classes(with_label_source(dataset, config), config)
    base = Path(root or runs_dir())
    run_id = run_id or f"{time.strftime('%Y%m%d-%H%M%S')}-{config.model}-{uuid.uuid4().hex[:4]}"
    run = base / check_run_name(run_id)
    if run.exists():
        raise ValueError(f"run {run_id!r} already exists in {base}")
    run.mkdir(parents=True)
    RunFolder(run).save_config(config)
    write_json(run / STATUS, {"state": "queued", "phase": QUEUED, "created": time.time(), "device": config.device})
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
        merge_status(run, {"state": "queued", "phase": QUEUED, "eta_seconds": None, "queued": time.time(),
                           "reason": None, "finished": None, "pid": None, "pid_start": None, "stop_requested": None,
                           "queue": None})
    launch(run, resume=True)


def stop(run_id: str, root: Path | None = None) -> None:
    """Ask a run to stop gracefully: it finishes the current step and writes last.pt."""
    request_stop(run_path(run_id, root), refresh_status(run_id, root))


def request_stop(folder: Path, current: dict[str, Any]) -> None:
    """Tell the active process behind `folder` (a run, or a predictions job), whose status is `current`, to stop:
    SIGTERM, and a note in status.json."""
    if current.get("state") in ACTIVE:
        # on disk too: a worker still starting (no pid yet, or no signal handler yet) still learns of it
        update_status(folder, stop_requested=time.time(), phase=STOPPING, eta_seconds=None)
        if current.get("pid"):
            try:
                os.kill(current["pid"], signal.SIGTERM)
            except ProcessLookupError:
                pass  # it ended meanwhile; refresh_status() says how


def kill(run_id: str, root: Path | None = None) -> None:
    """End a run's process at once (SIGKILL); last.pt keeps the last finished epoch."""
    run = run_path(run_id, root)
    refresh_status(run_id, root)
    with status_lock(run):  # under the lock: a run that has just finished stays finished
        current = read_status(run)
        if current.get("state") not in ACTIVE:
            return
        if is_alive(current) and current.get("pid"):
            os.killpg(os.getpgid(current["pid"]), signal.SIGKILL)
        merge_status(run, {"state": "failed", "finished": time.time(), "reason": "killed by the user",
                           "stop_requested": time.time()})
