"""Files that other processes read while we change them: atomic replacement and exclusive locks.

Readers (the studio, the worker, the CLI) must see an old file or a whole new one, never half of it, and two
writers must take turns; these are the only helpers that do either.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: no flock; writers there must not overlap
    fcntl = None


def write_atomically(
    path: str | Path, write: Callable[[Any], Any], *, durable: bool = True, binary: bool = False
) -> Path:
    """Let `write` fill a temporary file beside `path`, then rename it over `path`. `durable` flushes the file to
    disk first, so a power cut cannot leave an empty file behind the rename; progress files skip that cost.
    `binary` hands `write` a binary handle (torch.save, np.save)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")  # unique per process and thread
    try:
        with open(temporary, "wb") if binary else open(temporary, "w", newline="", encoding="utf-8") as handle:
            write(handle)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def write_json(path: str | Path, values: dict[str, Any]) -> Path:
    """Replace a small JSON state file (status, progress) atomically; not flushed, as it changes every few steps."""
    return write_atomically(path, lambda handle: json.dump(values, handle, indent=2), durable=False)


@contextmanager
def exclusive_lock(path: str | Path, wait: float | None = None) -> Iterator[bool]:
    """Hold an exclusive flock on `path` (a folder, or a lock file made if missing) while the block runs, and say
    whether it was had. The OS drops the lock when its holder dies, so a killed process never blocks the next.

    `wait=None` waits as long as it takes; otherwise, after `wait` seconds the block runs without the lock: a
    holder frozen that long (SIGSTOP, a debugger) must not hang everyone else.
    """
    path = Path(path)
    if fcntl is None:
        yield False
        return
    descriptor = os.open(path, os.O_RDONLY) if path.is_dir() else os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        yield take_lock(descriptor, wait)
    finally:
        os.close(descriptor)  # which releases the lock


def take_lock(descriptor: int, wait: float | None) -> bool:
    """flock `descriptor` exclusively: block when `wait` is None, else poll until `wait` seconds have passed."""
    if wait is None:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        return True
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
