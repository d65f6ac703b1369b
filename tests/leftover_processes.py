"""Finding the processes a test session started that still run: its children, and anything that inherited the
session's marker in its environment (servers started in their own session are re-parented, so the tree alone would
miss them). Linux /proc only, no psutil needed."""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import pytest

MARKER = "FER_TEST_SESSION"
PROC = Path("/proc")


def mark_session(patch: pytest.MonkeyPatch) -> str:
    """Put a marker unique to this session into the environment every subprocess inherits."""
    token = uuid.uuid4().hex
    patch.setenv(MARKER, token)
    return token


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:  # the process ended meanwhile, or is not ours to read
        return b""


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, None when it is gone. The command name may hold spaces and ')'."""
    text = _read(PROC / str(pid) / "stat").decode(errors="replace")
    if not text:
        return None
    fields = text[text.rfind(")") + 2 :].split()
    return fields[0], int(fields[1])


def _running(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")  # zombies have ended; only their parent has not reaped them


def _command(pid: int) -> str:
    return _read(PROC / str(pid) / "cmdline").replace(b"\0", b" ").decode(errors="replace").strip()


def _alive_started_here(token: str, me: int) -> dict[int, str]:
    if not PROC.is_dir():
        return {}
    parents, marked = {}, set()
    needle = f"{MARKER}={token}".encode()
    for entry in PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        pid = int(entry.name)
        stat = _stat(pid)
        if stat is None or not _running(pid):
            continue
        parents[pid] = stat[1]
        if needle in _read(entry / "environ").split(b"\0"):
            marked.add(pid)
    descendants, frontier = set(), {me}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - descendants
        descendants |= frontier
    return {pid: _command(pid) for pid in sorted(marked | descendants)}


def leftover_processes(token: str | None = None, grace: float = 15.0) -> dict[int, str]:
    """{pid: command line} of the processes this session started (`token`: its marker, by default the one in the
    environment now) that are still alive after `grace` seconds (a server a fixture just stopped may take a few
    seconds to exit on a loaded machine)."""
    token, me = token or os.environ.get(MARKER, ""), os.getpid()
    deadline = time.monotonic() + grace
    while True:
        alive = _alive_started_here(token, me) if token else {}
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.5)


def stop(processes: dict[int, str], grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL for those still alive after `grace` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in processes:
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(_running(pid) for pid in processes):
            time.sleep(0.2)
