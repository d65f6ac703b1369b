"""The live webcam mode in a real browser: headless Chromium with a fake camera (a clip made from the shared photos)
sees labelled frames in the Gradio app's Live tab and on the studio's Predict page. No timings are asserted
(bench/bench_live.py measures them)."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from core.inference.draw import face_colour, rgb
from core.paths import REPO_ROOT, shared_data_dir
from tests import fake_camera
from tests.browser_fixtures import CHROMIUM, free_port, stop_server

pytestmark = pytest.mark.slow
SHIPPED = REPO_ROOT / "checkpoints" / "fer2013_fernet.pt"
FIRST_FACE = rgb(face_colour(1))  # the box and label colour of face 1
# share of the output frame in face 1's colour (the clip has none of it until a label is drawn)
LABEL_SHARE_JS = """([selector, colour]) => {
  const v = document.querySelector(selector);
  if (!v || !v.videoWidth) return 0;
  const c = document.createElement('canvas'); c.width = v.videoWidth; c.height = v.videoHeight;
  const g = c.getContext('2d'); g.drawImage(v, 0, 0);
  const px = g.getImageData(0, 0, c.width, c.height).data;
  let hits = 0;
  for (let i = 0; i < px.length; i += 4)
    if (Math.abs(px[i] - colour[0]) < 40 && Math.abs(px[i + 1] - colour[1]) < 40
        && Math.abs(px[i + 2] - colour[2]) < 60) hits++;
  return hits / (c.width * c.height);
}"""


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    happy = shared_data_dir() / "photos" / "happy.jpeg"
    if not happy.is_file():
        pytest.skip(f"{happy} not found (the real photos live in ../shared/data/photos)")
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return fake_camera.write_clip(tmp_path_factory.mktemp("camera") / "happy.y4m", [happy], 1, frames=30)


@pytest.fixture(scope="module")
def camera_browser(clip):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
                f"--use-file-for-fake-video-capture={clip}",
            ],
        )
        yield chromium
        chromium.close()


def serve(command: list[str], url: str, log: Path):
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + 120
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    while time.monotonic() < deadline:
        try:
            if opener.open(url, timeout=2).status == 200:
                return process
        except OSError:
            time.sleep(0.5)
        if process.poll() is not None:
            break
    process.kill()
    pytest.fail(f"{command} did not serve {url}:\n{log.read_text()[-2000:]}")


def wait_for_label(frame, selector: str, timeout: float = 120) -> float:
    deadline = time.monotonic() + timeout
    share = 0.0
    while time.monotonic() < deadline:
        share = frame.evaluate(LABEL_SHARE_JS, [selector, list(FIRST_FACE)])
        if share > 0.002:
            return share
        time.sleep(1)
    return share


def test_gradio_live_tab_shows_labelled_frames(camera_browser, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    server = serve(
        [sys.executable, "-m", "app.gradio_app", "--checkpoint", str(SHIPPED), "--port", str(port)],
        url,
        tmp_path / "gradio.log",
    )
    try:
        page = camera_browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(url)
        page.get_by_role("tab", name="Live").click()
        page.get_by_role("button", name="Start camera").click()
        assert wait_for_label(page.main_frame, "#fer-live-video") > 0.002, "no happy label drawn on the live video"
        page.wait_for_function(
            "() => document.querySelector('#fer-live-status').innerText.includes('1 face')", timeout=60_000
        )
        page.screenshot(path=str(REPO_ROOT / "tests" / "artifacts" / "gradio_live.png"))
        page.get_by_role("button", name="Stop").click()
        page.wait_for_function(
            "() => document.querySelector('#fer-live-status').innerText.includes('Stopped')", timeout=60_000
        )
    finally:
        stop_server(server, timeout=30)


def test_studio_predict_page_live_section_shows_labelled_frames(camera_browser, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    server = serve(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app/main.py",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        url,
        tmp_path / "st.log",
    )
    try:
        page = camera_browser.new_page(viewport={"width": 1280, "height": 1400})
        page.goto(url + f"predict?model={SHIPPED}")
        page.get_by_role("tab", name="Live webcam").click(timeout=120_000)  # the page's one live mode, in its tab
        page.frame_locator("iframe[title*='webrtc']").first.get_by_role("button", name="START").click(
            timeout=120_000
        )  # the page first loads the model, on busy cores
        page.wait_for_timeout(2000)
        frame = next(f for f in page.frames if "webrtc" in f.url)
        assert wait_for_label(frame, "video") > 0.002, "no happy label drawn on the studio's live video"
        page.screenshot(path=str(REPO_ROOT / "tests" / "artifacts" / "studio_live.png"))
    finally:
        stop_server(server, timeout=30)
