"""The Gradio app ends with the studio that started it, even when the studio is killed outright."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from app.lifeline import PARENT_ENV, parent_token, watch_parent
from core.paths import REPO_ROOT
from core.processes import process_start_time

CHILD = "import time; from app.lifeline import watch_parent; watch_parent(poll_s=0.1); time.sleep(120)"


def test_the_child_ends_within_a_second_or_so_of_its_parent_being_killed():
    studio = subprocess.Popen(["sleep", "600"])  # the stand-in studio
    token = f"{studio.pid}:{process_start_time(studio.pid)}"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        cwd=REPO_ROOT,
        start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), PARENT_ENV: token},
    )
    try:
        time.sleep(2)
        assert child.poll() is None  # alive while its parent is
        studio.kill()
        studio.wait()
        deadline = time.monotonic() + 15
        while child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert child.poll() is not None, "the child outlived its parent"
    finally:
        for process in (studio, child):
            if process.poll() is None:
                process.kill()
                process.wait()


def test_nothing_is_watched_without_a_parent_named():
    assert watch_parent("") is None and watch_parent("garbage") is None


def test_the_token_names_this_process():
    pid, start = parent_token().split(":", 1)
    assert int(pid) == os.getpid() and start == process_start_time(os.getpid())
