"""The status protocol of every background job (training runs, prediction jobs, the label-issue folds).

A job lives in a folder with status.json (its state, phase, pid and kernel start time, progress, ETA, why it ended)
and log.txt (its process's output). status.json is changed under a lock file, so the app, the job's process and the
CLI never lose each other's updates. A job whose process died without a word (kill -9, out of memory, power loss)
is settled as failed, never left running; a stop is asked on disk and by SIGTERM, so a process still starting
learns of it too. `Eta` turns progress into the seconds left, for every job the same way.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.files import exclusive_lock, write_json
from core.paths import REPO_ROOT
from core.processes import spawn, still_running

STATUS = "status.json"
STATUS_LOCK = ".status.lock"
LOG = "log.txt"

# status.json's `state`
QUEUED, RUNNING, FINISHED, FAILED, STOPPED = "queued", "running", "finished", "failed", "stopped"
ACTIVE = (QUEUED, RUNNING)
ENDED_EARLY = (STOPPED, FAILED)  # what a resume or a restart continues
# status.json's `phase`: what an active job is doing (QUEUED until it starts; STOPPING once a stop was asked)
TRAINING, EVALUATING, HELDOUT, STOPPING = "training", "evaluating best.pt", "predicting the held-out fold", "stopping…"
LOADING, PREDICTING = "loading the model", "predicting"

LAUNCH_GRACE_S = 60  # a queued job without a pid yet is being launched (or its launcher died), for this long
LOCK_WAIT_S = 5.0  # status.json updates take microseconds; a lock held this long belongs to a frozen process


def read_status(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / STATUS).read_text())
    except (OSError, json.JSONDecodeError):
        return {"state": FAILED, "reason": "status.json is missing or unreadable"}


@contextmanager
def status_lock(folder: Path) -> Iterator[None]:
    """Serialise read-modify-writes of status.json: the app, the job and the CLI update it at the same time.

    A holder that is frozen (SIGSTOP, a debugger) must not hang the app: after LOCK_WAIT_S it goes ahead unlocked,
    which can at worst lose one merge; every write stays atomic.
    """
    with exclusive_lock(folder / STATUS_LOCK, wait=LOCK_WAIT_S):
        yield


def write_status(folder: Path, status: dict[str, Any]) -> None:
    """A new job's first status.json (the folder is new: nothing to merge with)."""
    write_json(folder / STATUS, status)


def merge_status(folder: Path, changes: dict[str, Any]) -> dict[str, Any]:
    """Apply `changes` to status.json; the caller holds status_lock."""
    status = {**read_status(folder), **changes, "updated": time.time()}
    write_json(folder / STATUS, status)
    return status


def update_status(folder: Path, **changes: Any) -> dict[str, Any]:
    with status_lock(folder):
        return merge_status(folder, changes)


def queued_at(status: dict[str, Any]) -> float:
    """When a job joined the queue: a resumed one queues anew, a new one when it was created."""
    return status.get("queued") or status.get("created", 0)


def phase(status: dict[str, Any]) -> str:
    """What a job is doing now: its phase while active (stopping once a stop was asked), else its final state."""
    if status.get("state") not in ACTIVE:
        return status.get("state", FAILED)
    if status.get("stop_requested"):
        return STOPPING
    return status.get("phase") or status["state"]


def is_alive(status: dict[str, Any]) -> bool:
    if not status.get("pid"):  # queued a moment ago and its launcher has not written the pid yet
        return status.get("state") == QUEUED and time.time() - queued_at(status) < LAUNCH_GRACE_S
    return still_running(status["pid"], status.get("pid_start"))


def current_status(folder: Path) -> dict[str, Any]:
    """The job's status; an active job whose process is gone is settled as failed (or stopped) first."""
    status = read_status(folder)
    if status.get("state") in ACTIVE and not is_alive(status):
        status = settle_dead(folder)
    return status


def settle_dead(folder: Path) -> dict[str, Any]:
    """Record the end of an active job whose process is gone; checked again under the lock, as it may just have
    reported. A stop that arrived before the process could catch signals is a stop, anything else a failure."""
    with status_lock(folder):
        current = read_status(folder)
        if current.get("state") not in ACTIVE or is_alive(current):
            return current
        if current.get("stop_requested") and current["state"] == QUEUED:
            return merge_status(folder, stopped_while_queued())
        return merge_status(
            folder,
            {
                "state": FAILED,
                "finished": time.time(),
                "reason": f"the worker process (pid {current.get('pid')}) ended without "
                "reporting: killed (e.g. kill -9), out of memory, or the machine "
                "stopped",
            },
        )


def stopped_while_queued() -> dict[str, Any]:
    """The status of a job stopped before it could start its work."""
    return {"state": STOPPED, "finished": time.time(), "reason": "stopped while queued"}


def launch(folder: Path, command: list[str]) -> dict[str, Any]:
    """Start the job's process (a fresh interpreter in its own session, so it outlives the app that started it),
    its output appended to log.txt; record its pid and kernel start time."""
    pid, pid_start = spawn(command, folder / LOG, REPO_ROOT)
    return update_status(folder, pid=pid, pid_start=pid_start)


def request_stop(folder: Path, current: dict[str, Any]) -> None:
    """Tell the active process behind `folder`, whose status is `current`, to stop: SIGTERM, and a note in
    status.json."""
    if current.get("state") in ACTIVE:
        # on disk too: a process still starting (no pid yet, or no signal handler yet) still learns of it
        update_status(folder, stop_requested=time.time(), phase=STOPPING, eta_seconds=None)
        if current.get("pid"):
            try:
                os.kill(current["pid"], signal.SIGTERM)
            except ProcessLookupError:
                pass  # it ended meanwhile; current_status() says how


def kill(folder: Path) -> None:
    """End a job's process group at once (SIGKILL) and record it as failed, unless it has just ended."""
    current_status(folder)
    with status_lock(folder):  # under the lock: a job that has just finished stays finished
        current = read_status(folder)
        if current.get("state") not in ACTIVE:
            return
        if is_alive(current) and current.get("pid"):
            os.killpg(os.getpgid(current["pid"]), signal.SIGKILL)
        merge_status(
            folder,
            {"state": FAILED, "finished": time.time(), "reason": "killed by the user", "stop_requested": time.time()},
        )


class Eta:
    """Progress and the seconds left, from the pace since the first report (so start-up time is not counted);
    `Eta(start=0)` counts from now instead, for a job whose first report comes after its first piece of work."""

    def __init__(self, start: int | None = None) -> None:
        self.first = None if start is None else (start, time.time())

    def report(self, done: int, total: int) -> dict[str, Any]:
        """status.json's `progress` and `eta_seconds` (None until the pace is known)."""
        now = time.time()
        if self.first is None:
            self.first = (done, now)
        counted = done - self.first[0]
        pace = (now - self.first[1]) / counted if counted > 0 else None
        return {"progress": done / total, "eta_seconds": round(pace * (total - done)) if pace else None}
