"""The Gradio prediction app as one long-lived background process that the Streamlit studio starts and finds again.

Streamlit reruns its script on every click, so `ensure_started` must be cheap and idempotent: it reads
`data_dir()/gradio.json` (pid, its kernel start time, port, url, started); if that process is still ours (serving,
or still within START_TIMEOUT of its start) its state is returned; otherwise the app is started with
`python -m app.gradio`, logging to `data_dir()/gradio.log`, and the caller does not wait: the Predict page
starts it when it loads and polls `readiness`, so the link is there by the time anyone wants it. `ensure_gradio`
is the same plus the wait, for callers that want the URL at once. A lock file serialises callers, so two browser
tabs never start two servers. The port is GRADIO_PORT (7860, or $FER_GRADIO_PORT); when another program holds
it, a free port is taken instead and the state's `note` says which. The app ends with the studio that started it
(`app.lifeline`).
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.files import exclusive_lock, write_json
from core.paths import REPO_ROOT, data_dir
from core.processes import process_start_time, still_running

GRADIO_PORT = int(os.environ.get("FER_GRADIO_PORT", "7860"))
# seconds before a silent app counts as hung and is started again: importing gradio and building the UI takes
# ~3 s idle but 23 s beside a training run on 2 cores, and more beside a browser; restarting a slow start too soon
# only starts it over (each rerun of the Predict page after the limit killed it and began again)
START_TIMEOUT = 180.0
# urllib would send even 127.0.0.1 through an HTTP(S)_PROXY from the environment; the app is always local
LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def state_file() -> Path:
    return data_dir() / "gradio.json"


def log_file() -> Path:
    return data_dir() / "gradio.log"


def read_state() -> dict[str, Any] | None:
    try:
        state = json.loads(state_file().read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return state if isinstance(state, dict) and state.get("pid") and state.get("url") else None


def is_ours(state: dict[str, Any]) -> bool:
    """The recorded process still runs (same pid *and* start time, so a recycled pid does not count)."""
    return still_running(state["pid"], state.get("pid_start"))


def answers(url: str, timeout: float = 2.0) -> bool:
    try:
        with LOCAL.open(url, timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


@contextmanager
def locked() -> Iterator[None]:
    data_dir().mkdir(parents=True, exist_ok=True)
    with exclusive_lock(data_dir() / "gradio.lock"):
        yield


def ensure_gradio(
    port: int = GRADIO_PORT, checkpoint: Path | None = None, host: str = "127.0.0.1", timeout: float = START_TIMEOUT
) -> str:
    """The URL of the running app, starting it first if needed (then waiting up to `timeout` s for it).

    An app that is already running is reused as it is, whatever port or checkpoint it was started with."""
    state = ensure_started(port, checkpoint, host)
    wait_until_answering(state, timeout)
    return state["url"]


def ensure_started(port: int = GRADIO_PORT, checkpoint: Path | None = None, host: str = "127.0.0.1") -> dict[str, Any]:
    """The state of our app process, started now if none runs, without waiting for it to answer (the studio's
    page starts it on load and polls `readiness`, so nothing blocks). When another program holds `port`, a free
    port is used instead and `note` in the returned state says so."""
    with locked():
        state = read_state()
        if state and is_ours(state):
            if answers(state["url"]) or time.time() - state.get("started", 0) < START_TIMEOUT:
                return state  # serving, or still starting
            stop_process(int(state["pid"]))  # alive but deaf long after its start: hung, or its port was taken
        if answers(local_url(host, port)) or not port_is_free(host, port):
            taken, port = port, free_port(host)
            return start(
                port,
                checkpoint,
                host,
                note=f"Port {taken} is used by another program, so the live app runs on port {port}.",
            )
        return start(port, checkpoint, host)


def port_is_free(host: str, port: int) -> bool:
    """Whether the app could listen on `port` (bound as uvicorn binds, with SO_REUSEADDR)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
            return True
        except OSError:
            return False


def free_port(host: str) -> int:
    """A port nobody listens on, chosen by the OS."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def readiness(state: dict[str, Any]) -> str:
    """ "ready" (its URL answers), "starting" (the process runs but does not answer yet) or "failed" (it ended;
    `log_tail` says why)."""
    if answers(state["url"], timeout=1.0):
        return "ready"
    return "starting" if is_ours(state) else "failed"


def start(port: int, checkpoint: Path | None, host: str, note: str | None = None) -> dict[str, Any]:
    """Launch the app in its own session (it outlives the Streamlit script run that started it, but not this
    process: it watches us, and our exit stops it)."""
    from app.lifeline import PARENT_ENV, parent_token

    command = [sys.executable, "-m", "app.gradio", "--host", host, "--port", str(port)]
    if checkpoint is not None:
        command += ["--checkpoint", str(Path(checkpoint).resolve())]
    with open(log_file(), "a") as log:
        log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(command)}\n")
        log.flush()
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=REPO_ROOT,
            start_new_session=True,
            env={**os.environ, PARENT_ENV: parent_token()},
        )
    state = {
        "pid": process.pid,
        "pid_start": process_start_time(process.pid),
        "port": port,
        "url": local_url(host, port),
        "started": time.time(),
        "checkpoint": str(checkpoint) if checkpoint else None,
        "note": note,
    }
    write_json(state_file(), state)
    atexit.register(stop_if_still, state["pid"], state["pid_start"])
    return state


def stop_if_still(pid: int, pid_start: str | None) -> None:
    """At the studio's exit: stop the app it started, if that very process still runs."""
    if still_running(pid, pid_start):
        stop_process(pid, grace=3.0)


def local_url(host: str, port: int) -> str:
    # an app listening on every interface is still reached, and checked, through the loopback address
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}/"


def wait_until_answering(state: dict[str, Any], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if answers(state["url"], timeout=1.0):
            return
        if not is_ours(state):
            state_file().unlink(missing_ok=True)
            raise RuntimeError(f"the Gradio app exited while starting; see {log_file()}:\n{log_tail()}")
        time.sleep(0.3)
    stop_process(int(state["pid"]))
    state_file().unlink(missing_ok=True)
    raise RuntimeError(
        f"the Gradio app did not answer at {state['url']} within {timeout:.0f} s; see {log_file()}:\n{log_tail()}"
    )


def log_tail(lines: int = 15) -> str:
    try:
        return "\n".join(log_file().read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop_process(pid: int, grace: float = 10.0) -> None:
    """SIGTERM the app's process group, SIGKILL it if it is still there after `grace` seconds."""
    try:
        group = os.getpgid(pid)
        os.killpg(group, signal.SIGTERM)
    except OSError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if process_start_time(pid) is None:
            return
        time.sleep(0.1)
    try:
        os.killpg(group, signal.SIGKILL)
    except OSError:
        pass


def stop_gradio() -> bool:
    """Stop the app if it runs; True when there was one to stop."""
    with locked():
        state = read_state()
        running = bool(state) and is_ours(state)
        if running:
            stop_process(int(state["pid"]))
        state_file().unlink(missing_ok=True)
        return running
