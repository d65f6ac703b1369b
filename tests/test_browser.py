"""Real-browser tests of the studio: headless Chromium (Debian's) driven by Playwright against the app on 127.0.0.1.

Screenshots land in tests/artifacts/. Skipped where Chromium or Playwright is missing (.ci/run installs both).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from core.data.classes import ALL_CLASSES
from core.labels.relabels import RelabelStore
from core.paths import REPO_ROOT

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO_ROOT / "tests" / "artifacts"


STUDIO_LOG = "studio.log"


@contextmanager
def evidence(page, root: Path, name: str, server: subprocess.Popen | None = None):
    """On a failure inside, save a screenshot (tests/artifacts/NAME_failure.png) and add what the page said and
    the tail of the studio's log to the error, so a failure on CI can be read without rerunning it."""
    events: list[str] = []
    page.on("crash", lambda _: events.append("the page crashed"))
    page.on("pageerror", lambda error: events.append(f"page error: {error}"))
    page.on("console", lambda message: events.append(f"console {message.type}: {message.text}")
            if message.type in ("error", "warning") else None)
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
        raise AssertionError(f"{exc}\n--- the page said:\n{text}\n--- the browser said:\n{said}\n"
                             f"--- the studio's log:\n{log}") from exc


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
        server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app/main.py", "--server.port",
                                   str(port), "--server.address", "127.0.0.1"], cwd=REPO_ROOT, env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.5)
    return server, url


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    """The Streamlit app on a free port, with its own empty data and runs folders."""
    if not Path(CHROMIUM).is_file():
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api")
    root = tmp_path_factory.mktemp("studio")
    server, url = serve_studio(root)
    yield url, root
    server.terminate()
    server.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"])
        yield chromium
        chromium.close()


def open_relabel(browser, url: str, who: str):
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(f"{url}/relabel?annotator={who}")
    page.locator("[data-image-id]").first.wait_for(timeout=90_000)
    return page


def wait_until(condition, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, "timed out"
        time.sleep(0.2)


def settle(page) -> None:
    """Wait until Streamlit has finished rerunning (its 'running' status widget is gone)."""
    page.wait_for_timeout(300)
    page.wait_for_function("!document.querySelector('[data-testid=stStatusWidget]')", timeout=60_000)


def press(page, key: str, store: RelabelStore, events: int) -> None:
    settle(page)
    page.locator("h1").first.click()  # focus the page, not an input, so shortcuts reach the buttons
    page.keyboard.press(key)
    wait_until(lambda: store.count() >= events)
    settle(page)


def shown_id(page) -> str:
    return page.locator("[data-image-id]").first.get_attribute("data-image-id")


def test_relabel_with_the_keyboard_back_and_undo(studio, browser):
    url, root = studio
    store = RelabelStore(root / "data" / "labels.sqlite")
    page = open_relabel(browser, url, "alice")
    first = shown_id(page)
    press(page, "1", store, 1)
    page.get_by_text(f"{first} → {ALL_CLASSES[0]} · U to undo").wait_for(timeout=60_000)
    press(page, "2", store, 2)
    assert store.count() == 2 and sorted(store.current_labels().values()) == sorted(ALL_CLASSES[:2])
    for _ in range(2):
        settle(page)
        page.locator("h1").first.click()
        page.keyboard.press("b")
    settle(page)
    assert shown_id(page) == first and store.count() == 2  # back writes nothing
    press(page, "u", store, 3)
    assert store.count() == 3 and list(store.current_labels().values()) == [ALL_CLASSES[0]]
    page.locator("[data-image-id]").first.wait_for(timeout=60_000)
    for name in ("surprise", "contempt", "undo"):  # full names, above the fold at 1280x720
        box = page.get_by_role("button", name=name).first.bounding_box()
        assert box is not None and box["y"] + box["height"] <= 720 and box["width"] > 60
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "relabel.png"))
    page.close()


def test_two_annotators_at_once_lose_nothing(studio, browser):
    url, root = studio
    store = RelabelStore(root / "data" / "labels.sqlite")
    before = store.count()
    pages = [open_relabel(browser, url, who) for who in ("carol", "dave")]
    for round_ in range(4):
        for page in pages:
            settle(page)
        for page in pages:  # back to back: both sessions write at the same moment
            page.locator("h1").first.click()
            page.keyboard.press(str(round_ % 7 + 1))
        wait_until(lambda: store.count() >= before + 2 * (round_ + 1))
    history = store.history()
    assert (history["annotator"] == "carol").sum() == 4 and (history["annotator"] == "dave").sum() == 4
    for page in pages:
        page.close()


def test_train_a_tiny_run_and_see_its_curve(studio, browser):
    url, _ = studio
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    page.goto(f"{url}/train")
    page.get_by_text("Start training").wait_for(timeout=90_000)
    page.get_by_text("Advanced").click()  # batch size and steps per epoch are advanced options
    for label, value in (("Epochs", "3"), ("Batch size", "8"), ("Steps per epoch at most (0: whole epochs)", "2")):
        field = page.get_by_role("spinbutton", name=label, exact=True)
        field.fill(value)
        field.press("Tab")
    page.get_by_text("Start training").click()
    page.locator("[data-testid=stPlotlyChart]").first.wait_for(timeout=180_000)
    page.get_by_text("finished").first.wait_for(timeout=180_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "train.png"), full_page=True)
    page.close()


def test_hostile_annotator_names_are_shown_as_text(studio, browser):
    url, _ = studio
    name = "<img src=x onerror=window.pwned=1>![t](http://evil.invalid/t)"  # within the 64 characters allowed
    page = browser.new_page()
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{url}/relabel?annotator={urllib.parse.quote(name)}")
    page.get_by_text("Recording as").wait_for(timeout=90_000)
    settle(page)
    shown = page.get_by_text("Recording as").inner_text()
    assert shown.replace("\u2060", "") == f"Recording as {name}"  # word joiners keep URLs from becoming links
    assert page.evaluate("window.pwned") is None
    assert page.locator("img[src*='evil.invalid'], a[href*='evil.invalid']").count() == 0
    assert {urllib.parse.urlsplit(u).hostname for u in requested if not u.startswith("data:")} == {"127.0.0.1"}
    page.close()
