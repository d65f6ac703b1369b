"""A training run outlives the app that started it: the app's process group is interrupted and killed, and a new
app process still lists the run as running and draws new epochs on its curves.

Two versions: the Train page's own code starting the run in a launcher process (AppTest; always runs), and the
real `streamlit run` server driven by headless Chromium (skipped where Chromium or Playwright is missing).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import suppress
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core import job_status
from core.jobs import runner
from core.paths import REPO_ROOT
from core.run_folder import RunFolder

pytestmark = pytest.mark.slow
MAIN = str(REPO_ROOT / "app" / "main.py")
TRAIN = str(REPO_ROOT / "pages" / "train.py")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

# An "app process" that clicks Start training on the Train page (fer3, 500 epochs of 2 steps of 8: far more than
# the test watches), prints the run id, then idles like a server would.
LAUNCHER = f"""
import time
from streamlit.testing.v1 import AppTest
app = AppTest.from_file({MAIN!r}, default_timeout=120)
app.run()
app.switch_page({TRAIN!r})
app.run()
app.selectbox(key="train_classes").set_value("fer3")
app.number_input(key="train_epochs").set_value(500)
app.number_input(key="train_batch_size").set_value(8)
app.number_input(key="train_max_steps_per_epoch").set_value(2)
app.button[0].click().run()
print(app.query_params["run"], flush=True)
time.sleep(600)
"""


@pytest.fixture
def runs(tmp_path):
    """Empty data and runs folders for this test and every process it starts; runs left going are killed."""
    yield tmp_path / "runs"
    for run in runner.list_runs(tmp_path / "runs"):
        runner.kill(run["id"], tmp_path / "runs")


def epochs_logged(root: Path, run_id: str) -> int:
    return sum(r.get("kind") == "epoch" for r in RunFolder(root / run_id).records())


def wait_until(condition, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, "timed out"
        time.sleep(0.2)


def points(trace: dict) -> int:
    """How many points a Plotly trace draws (its x is a list, or numpy bytes in base64)."""
    x = trace["x"]
    return len(np.frombuffer(base64.b64decode(x["bdata"]), x["dtype"])) if isinstance(x, dict) else len(x)


def train_page(run_id: str) -> tuple[str, int]:
    """A fresh app lifetime renders the Train page: the run's state in the runs table, epochs on its loss curve."""
    app = AppTest.from_file(MAIN, default_timeout=120)
    app.query_params["run"] = run_id
    app.run()
    app.switch_page(TRAIN)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    table = app.dataframe[0].value
    state = table.loc[table["name"] == run_id, "state"].item()
    curve = json.loads(app.get("plotly_chart")[0].proto.spec)["data"][0]
    return state, points(curve)


def signal_group(group: int, *signals: int) -> None:
    """Send each signal to a whole process group, as a terminal's ctrl-C or a service manager does."""
    for number in signals:
        with suppress(ProcessLookupError):  # the group may already be gone
            os.killpg(group, number)
        time.sleep(0.5)


def test_run_started_by_the_page_survives_its_app_process_group(runs):
    launcher = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True
    )  # its own group, like an app started from a terminal
    try:
        run_id = launcher.stdout.readline().strip()
        assert run_id, "the launcher did not start a run"
        wait_until(lambda: epochs_logged(runs, run_id) >= 1)
        worker = runner.refresh_status(run_id, runs)["pid"]
        signal_group(launcher.pid, signal.SIGINT, signal.SIGTERM, signal.SIGKILL)
        assert launcher.wait(timeout=30) != 0  # the app process is gone ...
    finally:
        launcher.kill()
    assert runner.refresh_status(run_id, runs)["pid"] == worker  # ... its worker is not, and was never restarted
    state, before = train_page(run_id)
    assert state == job_status.TRAINING and before >= 1  # the table shows what the run is doing
    wait_until(lambda: epochs_logged(runs, run_id) > before)
    state, after = train_page(run_id)
    assert state == job_status.TRAINING and after > before


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_studio(port: int) -> subprocess.Popen:
    """`streamlit run app/main.py` in its own process group, answering on `port`."""
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            MAIN,
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=REPO_ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/_stcore/health"

    def healthy() -> bool:
        with suppress(OSError):
            return urllib.request.urlopen(url, timeout=2).status == 200
        return False

    wait_until(healthy, timeout=90)
    return server


def curve_points(page) -> int:
    """Epochs on the live loss curve, as the browser's Plotly holds them."""
    return page.evaluate(
        "() => { const plot = document.querySelector('[data-testid=stPlotlyChart] .js-plotly-plot');"
        " return plot && plot._fullData ? plot._fullData[0].x.length : 0; }"
    )


def test_real_server_killed_and_restarted_still_shows_the_run_growing(runs):
    if not Path(CHROMIUM).is_file():
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    port = free_port()
    first = start_studio(port)
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1400, "height": 1400})
            page.goto(f"http://127.0.0.1:{port}/train")
            page.get_by_text("Start training").wait_for(timeout=90_000)
            page.get_by_text("Advanced").click()  # batch size and steps per epoch are advanced options
            for label, value in (
                ("Epochs", "500"),
                ("Batch size", "8"),
                ("Steps per epoch at most (0: whole epochs)", "2"),
            ):
                field = page.get_by_role("spinbutton", name=label, exact=True)
                field.fill(value)
                field.press("Tab")
            page.get_by_text("Start training").click()
            wait_until(lambda: bool(runner.list_runs(runs)))
            run_id = runner.list_runs(runs)[0]["id"]
            wait_until(lambda: epochs_logged(runs, run_id) >= 1)
            worker = runner.refresh_status(run_id, runs)["pid"]
            os.killpg(first.pid, signal.SIGKILL)  # the app dies without a word, every process in its group with it
            first.wait(timeout=30)
            second = start_studio(port)
            try:
                page.goto(f"http://127.0.0.1:{port}/train?run={run_id}")
                page.get_by_text(f"Run {run_id}: running").wait_for(timeout=90_000)
                wait_until(lambda: curve_points(page) >= 1, timeout=60)
                before = curve_points(page)
                wait_until(lambda: curve_points(page) > before, timeout=90)  # the live view keeps drawing
                assert page.get_by_text(f"Run {run_id}: running").is_visible()
                assert runner.refresh_status(run_id, runs)["pid"] == worker  # the same worker all along
            finally:
                second.terminate()
                second.wait(timeout=30)
            browser.close()
    finally:
        first.kill()
