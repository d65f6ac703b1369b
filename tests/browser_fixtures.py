"""What the real-browser tests share: headless Chromium (Debian's) driven by Playwright, a studio server on a free port,
and the helpers to wait for Streamlit and to report a failure. `tests/conftest.py` registers the fixtures.

Screenshots land in tests/artifacts/. Skipped where Chromium or Playwright is missing (.ci/run installs both).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from core.paths import REPO_ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO_ROOT / "tests" / "artifacts"
STUDIO_LOG = "studio.log"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def need_browser() -> None:
    """Skip the calling test or fixture where Chromium or Playwright is missing."""
    if not Path(CHROMIUM).is_file():
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_studio(root: Path, **env: str) -> tuple[subprocess.Popen, str]:
    """`streamlit run app/main.py` on a free port with its own data and runs folders under `root`, once healthy."""
    env = {**os.environ, "FER_DATA_DIR": str(root / "data"), "FER_RUNS_DIR": str(root / "runs"), **env}
    port = free_port()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / STUDIO_LOG, "ab") as log:  # what the server printed: a failing test shows its tail
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app/main.py",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.5)
    return server, url


def stop_server(server: subprocess.Popen, timeout: float = 120) -> None:
    """Terminate a server and wait for it (a loaded machine can take a while to shut Streamlit down); kill it
    when it does not end in `timeout` seconds."""
    server.terminate()
    try:
        server.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


@contextmanager
def studio_server(root: Path, **env: str) -> Iterator[str]:
    """The studio over `root`'s data and runs (`serve_studio`), stopped afterwards even when the test fails."""
    server, url = serve_studio(root, **env)
    try:
        yield url
    finally:
        stop_server(server)


def settle(page) -> None:
    """Wait until Streamlit has finished rerunning (its 'running' status widget is gone)."""
    page.wait_for_timeout(300)
    page.wait_for_function("!document.querySelector('[data-testid=stStatusWidget]')", timeout=60_000)


def wait_until(condition, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, "timed out"
        time.sleep(0.2)


@contextmanager
def evidence(page, root: Path, name: str, server: subprocess.Popen | None = None):
    """On a failure inside, save a screenshot (tests/artifacts/NAME_failure.png) and add what the page said and
    the tail of the studio's log to the error, so a failure on CI can be read without rerunning it."""
    events: list[str] = []
    page.on("crash", lambda _: events.append("the page crashed"))
    page.on("pageerror", lambda error: events.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            events.append(f"console {message.type}: {message.text}") if message.type in ("error", "warning") else None
        ),
    )
    try:
        yield
    except Exception as exc:
        ARTIFACTS.mkdir(exist_ok=True)
        try:  # a crashed page cannot be photographed or read: say so rather than hide the first error
            page.screenshot(path=str(ARTIFACTS / f"{name}_failure.png"), full_page=True)
            text = page.locator("body").inner_text(timeout=10_000)[-3000:]
        except Exception as unreadable:
            text = f"(the page could not be read: {unreadable})"
        log = (root / STUDIO_LOG).read_text(errors="replace")[-4000:] if (root / STUDIO_LOG).is_file() else ""
        said = "\n".join(list(dict.fromkeys(events))[-30:])  # each message once
        if server is not None:
            said += f"\nthe studio's process: {'running' if server.poll() is None else f'ended ({server.poll()})'}"
        raise AssertionError(
            f"{exc}\n--- the page said:\n{text}\n--- the browser said:\n{said}\n--- the studio's log:\n{log}"
        ) from exc


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    """The Streamlit app on a free port, with its own empty data and runs folders, for one test module."""
    need_browser()
    root = tmp_path_factory.mktemp("studio")
    server, url = serve_studio(root)
    yield url, root
    stop_server(server, timeout=20)


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium for one test module. Module scope, not session: Playwright's sync API allows one running
    instance per thread, and the camera tests launch their own with a fake camera."""
    need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
