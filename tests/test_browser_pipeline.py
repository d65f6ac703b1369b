"""The Gradio app's "In your browser" tab (app/gradio/browser.py): the exported page served by the app with the
isolation headers, a page that says why when it cannot be, and (slow) a share-link-like run: the app behind an
HTTP-only proxy, a fake camera, labelled frames drawn and no request reaching the server while the camera runs."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

import fake_camera
from app.gradio.browser import BROWSER_PATH, browser_routes, browser_site
from core.export.web import ISOLATION_HEADERS
from core.inference.catalog import default_live_checkpoint
from core.paths import shared_data_dir

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def client_for(routes) -> TestClient:
    return TestClient(Starlette(routes=routes))


def test_the_page_is_served_isolated_with_the_types_wasm_needs(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    for name in ("index.html", "runtime.wasm", "glue.mjs"):
        (site / name).write_text("x")
    monkeypatch.setattr("app.gradio.browser.browser_site", lambda checkpoint: site)
    client = client_for(browser_routes(tmp_path / "model.onnx"))
    page = client.get(f"{BROWSER_PATH}/index.html")
    assert page.status_code == 200
    assert {k: page.headers[k] for k in ISOLATION_HEADERS} == ISOLATION_HEADERS
    assert client.get(f"{BROWSER_PATH}/runtime.wasm").headers["content-type"] == "application/wasm"
    assert client.get(f"{BROWSER_PATH}/glue.mjs").headers["content-type"] == "text/javascript"


def test_a_failed_export_is_explained_on_the_page(tmp_path):
    page = client_for(browser_routes(tmp_path / "missing.onnx")).get(f"{BROWSER_PATH}/index.html")
    assert page.status_code == 200 and "could not be prepared" in page.text and "missing.onnx" in page.text
    assert "no model" in client_for(browser_routes(None)).get(f"{BROWSER_PATH}/index.html").text


def test_the_page_is_exported_once_per_model_file(tmp_path, monkeypatch):
    calls = []

    def fake_export(checkpoint, out):
        calls.append(out)
        Path(out).mkdir(parents=True)
        (Path(out) / "index.html").write_text("page")

    monkeypatch.setattr("app.gradio.browser.export_web", fake_export)
    monkeypatch.setenv("FER_DATA_DIR", str(tmp_path / "data"))
    model = tmp_path / "model.onnx"
    model.write_bytes(b"model")
    first = browser_site(model)
    assert browser_site(model) == first and len(calls) == 1 and (first / "index.html").is_file()


@pytest.mark.slow
def test_a_share_link_visitor_sees_labelled_frames_and_uploads_none(tmp_path):
    from http_proxy import http_proxy
    from test_live_browser import free_port, serve

    happy = shared_data_dir() / "photos" / "happy.jpeg"
    if not happy.is_file() or not Path(CHROMIUM).exists():
        pytest.skip("needs the shared photos and Chromium")
    if default_live_checkpoint() is None:
        pytest.skip("no shipped model")
    playwright_api = pytest.importorskip("playwright.sync_api")
    clip = fake_camera.write_clip(tmp_path / "happy.y4m", [happy], 1, frames=30)
    port = free_port()
    process = serve(
        [sys.executable, "-m", "app.gradio_app", "--port", str(port)],
        f"http://127.0.0.1:{port}/",
        tmp_path / "gradio.log",
    )
    try:
        with http_proxy(port) as url, playwright_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--no-sandbox",
                    "--use-fake-device-for-media-stream",
                    "--use-fake-ui-for-media-stream",
                    f"--use-file-for-fake-video-capture={clip}",
                    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
                ],
            )
            page = browser.new_page(viewport={"width": 1600, "height": 1100})  # every tab in the bar, none in "..."
            page.goto(url)
            page.get_by_role("tab", name="In your browser").click(timeout=180_000)  # a loaded machine draws slowly
            page.frame_locator("#fer-browser-frame").get_by_role("button", name="Start webcam").click(timeout=180_000)
            frame = next(f for f in page.frames if f.url.endswith("/browser/index.html"))
            frame.wait_for_function("window.ferStats.analyses >= 2 && window.ferStats.labelled >= 2", timeout=180_000)
            sent = []  # every request the page makes from now on, while the camera runs, and its body's size
            page.on("request", lambda request: sent.append((request.url, len(request.post_data_buffer or b""))))
            before = frame.evaluate("window.ferStats.labelled")
            time.sleep(3)
            stats = frame.evaluate("window.ferStats")
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert stats["labelled"] > before and stats["analyses"] >= 2 and stats["faces"] == 1
    # a 640x480 frame is tens of kB however it is encoded; the app's own status polls are a few hundred bytes
    assert all(size < 5000 for _, size in sent), sent
