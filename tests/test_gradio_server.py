"""Starting the Gradio app from the studio: a port another program holds makes it take a free one and say which;
the studio's exit stops the app it started. (The app's real start and reuse: tests/test_gradio_app.py.)"""

from __future__ import annotations

import socket
import subprocess

import pytest

from app.gradio import server as gradio_server
from core.processes import process_start_time


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_DATA_DIR", str(tmp_path))
    return tmp_path


def test_a_port_clash_picks_a_free_port_and_says_which(data, monkeypatch):
    started = []
    monkeypatch.setattr(
        gradio_server,
        "start",
        lambda port, checkpoint, host, note=None: started.append((port, note)) or {"port": port, "note": note},
    )
    with socket.socket() as other:  # another program listening on the port
        other.bind(("127.0.0.1", 0))
        other.listen()
        taken = other.getsockname()[1]
        assert not gradio_server.port_is_free("127.0.0.1", taken)
        state = gradio_server.ensure_started(taken)
    ((port, note),) = started
    assert port != taken and gradio_server.port_is_free("127.0.0.1", port)
    assert note == f"Port {taken} is used by another program, so the live app runs on port {port}."
    assert state["note"] == note


def test_a_free_port_is_used_as_asked(data, monkeypatch):
    port = gradio_server.free_port("127.0.0.1")
    monkeypatch.setattr(gradio_server, "start", lambda port, checkpoint, host, note=None: {"port": port, "note": note})
    assert gradio_server.ensure_started(port) == {"port": port, "note": None}


def test_the_studios_exit_stops_the_app_it_started_and_nothing_else():
    app = subprocess.Popen(["sleep", "600"], start_new_session=True)
    start = process_start_time(app.pid)
    try:
        gradio_server.stop_if_still(app.pid, "another start time")  # a recycled pid: not ours, left alone
        assert app.poll() is None
        gradio_server.stop_if_still(app.pid, start)
        assert app.wait(timeout=10) is not None
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
