"""Background processes recorded by pid: a pid alone can be reused, so its kernel start time is kept with it."""

from __future__ import annotations

import os
from pathlib import Path


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


def still_running(pid: int | None, pid_start: str | None) -> bool:
    """Whether the process recorded as (`pid`, `pid_start`) runs: same pid *and* start time."""
    if not pid:
        return False
    started = process_start_time(int(pid))
    return started is not None and started in (pid_start, "unknown")


def spawn(command: list[str], log: Path, cwd: Path) -> tuple[int, str | None]:
    """Start `command` as its own process in its own session, so it outlives the app that started it (and a
    ctrl-C there); its output is appended to `log`. Returns the (pid, kernel start time) to record."""
    import subprocess

    with open(log, "a") as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd, start_new_session=True
        )
    return process.pid, process_start_time(process.pid)
