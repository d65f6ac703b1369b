"""Real-browser test of the Predict page: numbered faces, a new upload replaces the last (the live mode is
tests/test_live_browser.py's; the live app's link is not checked here yet). Its own module: it starts its own
Chromium, which Playwright's sync API refuses while test_browser.py's shared browser is open in the same thread."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.browser_fixtures import ARTIFACTS, CHROMIUM, evidence, free_port, serve_studio, settle, stop_server

pytestmark = pytest.mark.slow


def test_predict_page_numbers_faces_and_a_new_upload_replaces_the_last(tmp_path, monkeypatch):
    """Upload a 6-face photo, then another: each time the latest is shown; faces are listed by number."""
    from playwright.sync_api import sync_playwright

    from app.gradio import server as gradio_server
    from core.paths import shared_data_dir

    photos = shared_data_dir() / "photos"
    if not (photos / "test.jpg").is_file() or not Path(CHROMIUM).is_file():
        pytest.skip("needs the shared photos and Chromium")
    gradio_port = free_port()
    server, url = serve_studio(tmp_path, FER_GRADIO_AUTOSTART="1", FER_GRADIO_PORT=str(gradio_port))
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = chromium.new_page(viewport={"width": 1280, "height": 720})
            page.set_default_timeout(120_000)  # two cores shared with the model and the Gradio app starting
            start = time.monotonic()

            def mark(step: str) -> None:  # pytest shows these when the test fails: where the time went
                print(f"{time.monotonic() - start:6.1f} s  {step}", flush=True)

            with evidence(page, tmp_path, "predict", server):
                page.goto(f"{url}/predict", timeout=180_000)
                page.locator("input[type=file]").wait_for(state="attached", timeout=180_000)  # the model loads first
                settle(page)  # as a person would: the page has finished drawing (the live app started) first
                mark("page drawn")
                page.locator("input[type=file]").set_input_files(str(photos / "test.jpg"))
                page.get_by_text("6 faces found").first.wait_for(timeout=120_000)
                mark("6 faces shown")
                for n in range(1, 7):
                    page.get_by_text(f"face {n}:").wait_for(timeout=10_000)
                settle(page)
                page.screenshot(path=str(ARTIFACTS / "predict_upload.png"), full_page=True)

                page.get_by_role("tab", name="Upload").click()
                page.locator("input[type=file]").set_input_files(str(photos / "angry.jpeg"))  # a new upload wins again
                page.get_by_text("1 face found").first.wait_for(timeout=120_000)
                mark("second upload shown")
                assert page.get_by_text("6 faces found").count() == 0

                settle(page)
                page.screenshot(path=str(ARTIFACTS / "predict_1280.png"), full_page=True)
                page.set_viewport_size({"width": 390, "height": 844})
                settle(page)
                page.screenshot(path=str(ARTIFACTS / "predict_390.png"), full_page=True)
            chromium.close()
    finally:
        stop_server(server, timeout=20)
        gradio_server.stop_gradio()  # the studio recorded its Gradio app in tmp_path/data, the test's data folder
