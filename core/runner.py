"""The background runner: each training run is its own process, in a run folder that holds everything.

`runs/<id>/` has config.json, metrics.jsonl, log.txt, status.json (queued / running / finished / failed /
stopped, pid, start time, ETA), best.pt and last.pt. Everything lives on disk, so a browser refresh or an app
restart loses nothing. One run at a time per device: later runs wait, first come first served. A run whose
process died without a word (kill -9, out of memory, power loss) is reported as failed, never as running.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from core.config import TrainConfig
from core.paths import REPO_ROOT, runs_dir

ACTIVE = ("queued", "running")


def write_json(path: Path, values: dict[str, Any]) -> None:
    """Replace a JSON file atomically, so readers never see half of it."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(values, indent=2))
    os.replace(temporary, path)


def read_status(run: Path) -> dict[str, Any]:
    try:
        return json.loads((run / "status.json").read_text())
    except (OSError, json.JSONDecodeError):
        return {"state": "failed", "reason": "status.json is missing or unreadable"}


def update_status(run: Path, **changes: Any) -> dict[str, Any]:
    status = {**read_status(run), **changes, "updated": time.time()}
    write_json(run / "status.json", status)
    return status


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of a process (guards against pid reuse), or None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return None if fields[0] == "Z" else fields[19]  # zombies have ended
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
            return "unknown"
        except OSError:
            return None


def is_alive(status: dict[str, Any]) -> bool:
    pid = status.get("pid")
    if not pid:
        return False
    started = process_start_time(pid)
    return started is not None and started in (status.get("pid_start"), "unknown")


def status(run_id: str, root: Path | None = None) -> dict[str, Any]:
    """The run's status; an active run whose process is gone is marked failed, with the reason."""
    run = run_path(run_id, root)
    current = read_status(run)
    if current.get("state") in ACTIVE and not is_alive(current):
        current = update_status(run, state="failed", finished=time.time(),
                                reason=f"the worker process (pid {current.get('pid')}) ended without reporting: "
                                       "killed (e.g. kill -9), out of memory, or the machine stopped")
    return {"id": run.name, **current}


def run_path(run_id: str, root: Path | None = None) -> Path:
    base = Path(root or runs_dir()).resolve()
    run = (base / run_id).resolve()
    if run.parent != base or not (run / "config.json").is_file():
        raise ValueError(f"no run {run_id!r} in {base}")
    return run


def list_runs(root: Path | None = None) -> list[dict[str, Any]]:
    """Every run (newest first) with its status, config and last epoch record."""
    base = Path(root or runs_dir())
    runs = [p for p in base.iterdir() if (p / "config.json").is_file()] if base.is_dir() else []
    listed = [status(p.name, base) for p in runs]
    return sorted(listed, key=lambda s: s.get("created", 0), reverse=True)


def launch(run: Path, resume: bool) -> None:
    """Start the worker as its own process (a fresh interpreter, never a fork of this one)."""
    log = open(run / "log.txt", "a")
    command = [sys.executable, "-m", "core.worker", str(run)] + (["--resume"] if resume else [])
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               cwd=REPO_ROOT, start_new_session=True)  # survives the app that started it
    log.close()
    update_status(run, pid=process.pid, pid_start=process_start_time(process.pid))


def start_run(config: TrainConfig, run_id: str | None = None, root: Path | None = None) -> str:
    """Create a run folder for `config` and start (or queue) it; return its id."""
    base = Path(root or runs_dir())
    run_id = run_id or f"{time.strftime('%Y%m%d-%H%M%S')}-{config.model}-{uuid.uuid4().hex[:4]}"
    run = base / run_id
    if run.exists():
        raise ValueError(f"run {run_id!r} already exists in {base}")
    run.mkdir(parents=True)
    config.save(run / "config.json")
    write_json(run / "status.json", {"state": "queued", "created": time.time(), "device": config.device})
    launch(run, resume=False)
    return run_id


def resume(run_id: str, root: Path | None = None) -> None:
    """Continue a stopped or failed run from its last.pt."""
    run = run_path(run_id, root)
    current = status(run_id, root)
    if current["state"] in ACTIVE:
        raise ValueError(f"run {run_id} is {current['state']}; only stopped or failed runs resume")
    if not (run / "last.pt").is_file():
        raise ValueError(f"run {run_id} has no last.pt to resume from; start it again instead")
    update_status(run, state="queued", created=current.get("created", time.time()), reason=None, queued=time.time())
    launch(run, resume=True)


def stop(run_id: str, root: Path | None = None) -> None:
    """Ask a run to stop gracefully: it finishes the current step and writes last.pt."""
    current = status(run_id, root)
    if current["state"] in ACTIVE:
        os.kill(current["pid"], signal.SIGTERM)


def kill(run_id: str, root: Path | None = None) -> None:
    """End a run's process at once (SIGKILL); last.pt keeps the last finished epoch."""
    current = status(run_id, root)
    if current["state"] in ACTIVE:
        os.killpg(os.getpgid(current["pid"]), signal.SIGKILL)
        update_status(run_path(run_id, root), state="failed", finished=time.time(), reason="killed by the user")
