"""A run trained from the command line (`python -m core train`): its folder claimed, and its status kept.

The folder is held with an exclusive lock for the whole run, so two commands with the same `--out` cannot both
write it; a folder that already holds a run is refused unless `--resume` asks to continue it. status.json is kept
with the runner's helpers (states, phases, pid), so the studio lists a CLI run like one it started: running while it
trains, finished, failed (with the reason) or stopped (ctrl-C; it resumes from last.pt).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from core import files
from core.errors import DataError
from core.job_status import ACTIVE, EVALUATING, STATUS, TRAINING, current_status, read_status, update_status
from core.processes import process_start_time
from core.run_folder import BEST, CONFIG, LAST, METRICS, RUN_LOCK, is_run_folder

RUN_FILES = (CONFIG, METRICS, BEST, LAST)  # any of them: the folder holds a run (a status.json alone: one refused)


def holds_run(out: Path) -> bool:
    return is_run_folder(out) or any((out / name).exists() for name in RUN_FILES)


def check_out(out: Path, resume: bool) -> None:
    """Refuse a folder that holds a run (unless resuming), a resume with nothing to resume, and a run still active."""
    if out.exists() and not out.is_dir():
        raise DataError("--out is a file, not a folder", path=out)
    if resume and not is_run_folder(out):
        raise DataError("holds no run to resume (no config.json)", path=out)
    if not resume and holds_run(out):
        raise DataError("already holds a run; pass --resume to continue it, or choose another --out", path=out)
    if resume and (out / STATUS).is_file():
        state = current_status(out).get("state")
        if state in ACTIVE:
            raise DataError(f"its run is {state} in another process; stop it first", path=out)


@contextmanager
def claimed_run(out: Path, resume: bool, device: str) -> Iterator[Callable[[], None]]:
    """Hold `out` while the block trains into it and keep its status.json; refused (DataError, nothing written in
    a folder that holds a run) when check_out says so or another process holds the folder. Yields `evaluating`,
    to call when training is done and best.pt is being evaluated."""
    out = Path(out)
    check_out(out, resume)  # before the folder is made: a refusal writes nothing
    out.mkdir(parents=True, exist_ok=True)
    with files.exclusive_lock(out / RUN_LOCK, wait=0) as had:
        if not had and files.fcntl is not None:
            raise DataError("another process is training into this folder", path=out)
        check_out(out, resume)  # again under the lock: the other process may have just finished its first epoch
        now = time.time()
        created = read_status(out).get("created", now) if resume else now
        update_status(
            out,
            state="running",
            phase=TRAINING,
            created=created,
            started=now,
            queued=now,
            pid=os.getpid(),
            pid_start=process_start_time(os.getpid()),
            device=device,
            source="cli",
            reason=None,
            finished=None,
            stop_requested=None,
            eta_seconds=None,
        )
        try:
            yield lambda: update_status(out, phase=EVALUATING, eta_seconds=None)
        except KeyboardInterrupt:
            update_status(out, state="stopped", phase="stopped", finished=time.time(), reason="interrupted (ctrl-C)")
            raise
        except BaseException as exc:
            update_status(
                out, state="failed", phase="failed", finished=time.time(), reason=f"{type(exc).__name__}: {exc}"
            )
            raise
        update_status(out, state="finished", phase="finished", finished=time.time(), eta_seconds=None)
