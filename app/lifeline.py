"""A background app that lives only as long as the studio that started it.

The studio starts the Gradio app in its own session (a ctrl-C in the studio's terminal must not tear a frame in
half), so nothing would stop it when the studio ends. Two things do: the studio's `atexit` stops it on a normal
exit, and the app itself watches the studio's process (pid and kernel start time, handed over in
FER_STOP_WITH) and ends within a second of it being gone, which covers kill -9 too. PR_SET_PDEATHSIG is no
help here: it fires when the *thread* that started the child ends, and Streamlit starts it from a script thread
that ends after every rerun.
"""

from __future__ import annotations

import os
import signal
import threading
import time

from core.processes import process_start_time, still_running

PARENT_ENV = "FER_STOP_WITH"
POLL_S = 1.0


def parent_token() -> str:
    """This process as the value of FER_STOP_WITH for a child: 'pid:start time'."""
    return f"{os.getpid()}:{process_start_time(os.getpid())}"


def watch_parent(token: str | None = None, poll_s: float = POLL_S) -> threading.Thread | None:
    """In the child: end this process (SIGTERM, then a hard exit after 5 s) once the process named by `token`
    (default: $FER_STOP_WITH) is gone. Returns the watching thread, or None when there is nothing to watch."""
    token = token if token is not None else os.environ.get(PARENT_ENV)
    if not token or ":" not in token:
        return None
    pid, start = token.split(":", 1)

    def watch() -> None:
        while still_running(int(pid), start):
            time.sleep(poll_s)
        print(f"the studio (pid {pid}) is gone: stopping", flush=True)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
        os._exit(0)

    thread = threading.Thread(target=watch, name="watch-parent", daemon=True)
    thread.start()
    return thread
