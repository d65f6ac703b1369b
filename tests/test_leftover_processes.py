"""The session-end check (tests/leftover_processes.py) finds what the tests started, detached or not, and stops it."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.leftover_processes import MARKER, leftover_processes, stop

SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]


def test_the_session_is_marked():
    assert os.environ.get(MARKER), "conftest's session fixture did not mark the session"


def test_a_detached_process_is_found_by_its_inherited_marker_and_stopped():
    process = subprocess.Popen(SLEEPER, start_new_session=True)  # re-parented if we died: only the marker finds it
    try:
        assert process.pid in leftover_processes(grace=0)
    finally:
        stop({process.pid: "sleeper"}, grace=5)
    assert process.wait(timeout=10) is not None
    assert process.pid not in leftover_processes(grace=0)


def test_a_child_without_the_marker_is_found_as_a_child():
    env = {key: value for key, value in os.environ.items() if key != MARKER}
    process = subprocess.Popen(SLEEPER, env=env)
    try:
        assert process.pid in leftover_processes(grace=0)
    finally:
        stop({process.pid: "sleeper"}, grace=5)
        process.wait(timeout=10)


def test_an_ended_process_is_not_reported():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(timeout=60)
    assert process.pid not in leftover_processes(grace=0)
