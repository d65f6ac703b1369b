"""The exported web page (core/export/web.py + web/) in a real headless Chromium driven by Playwright.

Checks that the page's pipeline (web/pipeline.js: MTCNN, eye-aligned crops, the classifier) finds the faces the
Python pipeline finds and gives the same probabilities on the project's photos, that its gray resize is PIL's to
the byte, the upload path, a fake webcam, file:// and that nothing loads from elsewhere.
Skipped where Chromium, Playwright or npm (when web/node_modules is missing) is absent.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.export.web import WEB_DIR, serve_folder
from core.paths import REPO_ROOT, shared_data_dir

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHOTOS = shared_data_dir() / "photos"
ARTIFACTS = REPO_ROOT / "tests" / "artifacts"  # screenshots, git-ignored


def write_y4m(path: Path, frames: list[np.ndarray], fps: int = 10) -> Path:
    """RGB uint8 frames (H, W, 3), even sides, as a Y4M 4:2:0 file (full-range BT.601, as JPEG) for Chromium's
    fake webcam."""
    height, width = frames[0].shape[:2]
    with open(path, "wb") as handle:
        handle.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            r, g, b = (frame[..., i].astype(np.float64) for i in range(3))
            y = 0.299 * r + 0.587 * g + 0.114 * b
            u = -0.168736 * r - 0.331264 * g + 0.5 * b + 128
            v = 0.5 * r - 0.418688 * g - 0.081312 * b + 128
            planes = [y] + [c.reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3)) for c in (u, v)]
            handle.write(b"FRAME\n" + b"".join(np.clip(p + 0.5, 0, 255).astype(np.uint8).tobytes() for p in planes))
    return path


def camera_frames(count: int = 6) -> list[np.ndarray]:
    """640x480 frames with a test photo, 288 px high, in the middle, moving a little."""
    names = [n for n in ("happy.jpeg", "angry.jpeg") if (PHOTOS / n).is_file()]
    faces = [np.asarray(Image.open(PHOTOS / n).convert("RGB").resize((288, 288))) for n in names]
    frames = []
    for i in range(count):
        frame = np.full((480, 640, 3), 110, np.uint8)
        if faces:
            frame[96:384, 176 + i : 464 + i] = faces[(i // 3) % len(faces)]
        frames.append(frame)
    return frames


@pytest.fixture(scope="module")
def site(tmp_path_factory, tiny_checkpoint) -> Path:
    """The session's tiny fernet (tests/conftest.py), exported as the web page."""
    if not Path(CHROMIUM).is_file():
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api")
    if shutil.which("npm") is None and not (WEB_DIR / "node_modules" / "onnxruntime-web").is_dir():
        pytest.skip("npm is not installed and web/node_modules is missing")
    from core.export.web import export_web

    return export_web(tiny_checkpoint, tmp_path_factory.mktemp("web") / "site")


@pytest.fixture(scope="module")
def page(site, tmp_path_factory):
    """The page served over http, in a Chromium whose fake webcam plays a Y4M made from the test photos."""
    from playwright.sync_api import sync_playwright

    video = write_y4m(tmp_path_factory.mktemp("camera") / "face.y4m", camera_frames())
    server, url = serve_folder(site)
    args = CHROMIUM_ARGS + [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        tab = browser.new_page()
        tab.requested = []  # every URL the page asks for: all must be local (no CDN)
        tab.on("request", lambda request: tab.requested.append(request.url))
        tab.goto(url)
        tab.wait_for_function("window.ferReady !== undefined", timeout=60_000)
        assert tab.evaluate("window.ferReady") is True, tab.inner_text("#status")
        yield tab
        browser.close()
    server.shutdown()


def site_meta(site: Path) -> dict:
    import json

    return json.loads((site / "config.json").read_text())


@pytest.fixture(scope="module")
def predictor(site):
    from core.inference.predictor import Predictor

    return Predictor.load(site / "model.onnx")  # the ONNX MTCNN and the page's model, as the live app runs them


def python_faces(predictor, rgb, detect_side: int) -> list:
    predictor.detect_side = detect_side
    try:
        return predictor.predict(rgb).faces
    finally:
        predictor.detect_side = 640


def scenes() -> list[tuple[str, Image.Image, int]]:
    """The shared photos as they are (detected at 640 px, as uploads) and a 640x480 camera frame (at 320 px, live)."""
    from core.data.images import as_rgb, open_image

    photos = sorted(PHOTOS.glob("*.jp*g")) + sorted(PHOTOS.glob("*.png"))
    found = [(p.name, as_rgb(open_image(p)), 640) for p in photos]
    if photos:
        frame = np.full((480, 640, 3), 110, np.uint8)
        frame[100:388, 176:464] = np.asarray(as_rgb(open_image(photos[0])).resize((288, 288)))
        found.append(("camera frame", Image.fromarray(frame), 320))
    return found


def test_photos_give_the_python_pipelines_faces_and_probabilities(page, predictor):
    cases = scenes()
    if not cases:
        pytest.skip(f"no photos in {PHOTOS}")
    for name, rgb, side in cases:
        rgba = np.asarray(rgb.convert("RGBA"))
        got = page.evaluate(
            "([d, w, h, s]) => window.ferPredict(d, w, h, {maxSide: s})",
            [rgba.ravel().tolist(), rgb.width, rgb.height, side],
        )["faces"]
        expected = python_faces(predictor, rgb, side)
        assert len(got) == len(expected) > 0, name
        for js, py in zip(got, expected):
            assert np.abs(np.array(js["box"]) - np.array(py.box)).max() < 1.0, name
            assert js["label"] == py.label, name
            assert np.abs(np.array(js["probabilities"]) - np.array(list(py.probabilities.values()))).max() < 0.02, name


def test_aligned_crops_are_pils_to_a_grey_level(page, predictor):
    from core.inference.faces import face_crops, get_detector

    cases = scenes()
    if not cases:
        pytest.skip(f"no photos in {PHOTOS}")
    name, rgb, side = cases[0]
    rgba = np.asarray(rgb.convert("RGBA"))
    got = page.evaluate(
        "([d, w, h, s]) => window.ferPredict(d, w, h, {maxSide: s})",
        [rgba.ravel().tolist(), rgb.width, rgb.height, side],
    )["faces"][0]
    [face] = [
        f for f in get_detector("cpu", max_side=side, backend="onnx").detect(rgb) if abs(f.box[0] - got["box"][0]) < 1
    ]
    expected = face_crops(rgb, [face], predictor.input_size, align=True)[0]
    assert np.abs(np.array(got["crop"]).reshape(expected.shape) - expected.astype(int)).max() <= 1


def test_everything_is_served_locally(page):
    remote = [u for u in page.requested if not u.startswith(("http://127.0.0.1:", "data:", "blob:"))]
    assert not remote
    assert any(u.endswith("/ort/ort-wasm-simd-threaded.wasm") for u in page.requested)
    assert any(u.endswith("/mtcnn/onet.onnx") for u in page.requested)


@pytest.mark.parametrize("side", [137, 48, 30])
def test_gray_resize_is_pils_to_the_byte(page, side):
    pixels = np.random.default_rng(side).integers(0, 256, size=(side, side), dtype=np.uint8)
    expected = np.asarray(Image.fromarray(pixels).resize((48, 48), Image.Resampling.BILINEAR))
    got = page.evaluate("([p, s]) => window.ferResizeGray(p, s, s, 48, 48)", [pixels.ravel().tolist(), side])
    assert np.array_equal(np.array(got, np.uint8).reshape(48, 48), expected)


@pytest.mark.parametrize("tta", ["flip", "tencrop"])
def test_tta_views_are_the_predictors(page, predictor, tta):
    gray = np.random.default_rng(2).integers(0, 256, size=(48, 48), dtype=np.uint8)
    expected = predictor.predict(Image.fromarray(gray), whole=True, tta=tta).faces[0]
    rgba = np.dstack([gray, gray, gray, np.full_like(gray, 255)]).ravel().tolist()
    got = page.evaluate("([d, tta]) => window.ferPredict(d, 48, 48, {whole: true, tta})", [rgba, tta])["faces"][0]
    assert np.abs(np.array(got["probabilities"]) - np.array(list(expected.probabilities.values()))).max() < 1e-4


def test_upload_finds_the_faces_python_finds(page, site, predictor):
    from core.data.images import open_image

    photo = PHOTOS / "test.jpg"
    if not photo.is_file():
        pytest.skip(f"{photo} is missing")
    page.set_input_files("#file", str(photo))
    page.wait_for_function("window.ferLast && window.ferLast.source === 'upload'", timeout=60_000)
    got = page.evaluate("window.ferLast")["faces"]
    expected = predictor.predict(open_image(photo)).faces
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "web_upload.png", full_page=True)
    assert len(got) == len(expected)
    for js, py in zip(got, expected):  # only JPEG decoding may differ between the browser and PIL
        assert np.abs(np.array(js["box"]) - np.array(py.box)).max() < 3
        assert np.abs(np.array(js["probabilities"]) - np.array(list(py.probabilities.values()))).max() < 0.05
    assert page.locator("#bars .bar").count() == len(site_meta(site)["classes"])
    assert expected[0].label in page.inner_text("#top")


def test_fake_webcam_draws_labelled_frames(page):
    page.click("#camera-start")
    page.wait_for_function("window.ferStats.analyses >= 3 && window.ferStats.labelled >= 3", timeout=120_000)
    last = page.evaluate("window.ferLast")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "web_webcam.png", full_page=True)
    assert last["source"] == "camera" and len(last["faces"]) == 1
    assert abs(sum(last["faces"][0]["probabilities"]) - 1) < 1e-4
    page.wait_for_function(
        "document.getElementById('live-stats').textContent.includes('frames a second')", timeout=30_000
    )
    page.click("#camera-stop")
    assert page.is_enabled("#camera-start")


def test_file_url_explains_that_it_needs_a_server(page, site):
    tab = page.context.browser.new_page()
    tab.goto((site / "index.html").as_uri())
    tab.wait_for_function("window.ferReady !== undefined", timeout=30_000)
    assert tab.evaluate("window.ferReady") == "error"
    assert "http.server" in tab.inner_text("#status")
    tab.close()


def test_missing_npm_is_a_clear_error(tmp_path, monkeypatch):
    import core.export.web

    monkeypatch.setattr(core.export.web.shutil, "which", lambda name: None)
    with pytest.raises(FileNotFoundError, match="npm is not on PATH"):
        core.export.web.runtime_dist(tmp_path)
