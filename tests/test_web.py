"""The exported web page (core/export/web.py + web/) in a real headless Chromium driven by Playwright.

Checks that the browser gives the same probabilities as Python onnxruntime for the same crops, that its gray
conversion and bilinear resize are PIL's to the byte, the upload path, a fake webcam, file:// and the ms per frame.
Skipped where Chromium, Playwright or npm (when web/node_modules is missing) is absent.
"""
from __future__ import annotations

import shutil
import statistics
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.data.preprocessing import Preprocessing, to_model_input, tta_probabilities
from core.paths import REPO_ROOT, shared_data_dir
from core.export.web import WEB_DIR, guide_box, serve_folder

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHOTOS = shared_data_dir() / "photos"
ARTIFACTS = REPO_ROOT / "tests" / "artifacts"  # screenshots, git-ignored


def softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


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
    """640x480 frames with a test photo, 288 px high, in the middle (the page's guide box), moving a little."""
    names = [n for n in ("happy.jpeg", "angry.jpeg") if (PHOTOS / n).is_file()]
    faces = [np.asarray(Image.open(PHOTOS / n).convert("RGB").resize((288, 288))) for n in names]
    frames = []
    for i in range(count):
        frame = np.full((480, 640, 3), 110, np.uint8)
        if faces:
            frame[96:384, 176 + i:464 + i] = faces[(i // 3) % len(faces)]
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
def session(site):
    import onnxruntime

    return onnxruntime.InferenceSession(str(site / "model.onnx"), providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def page(site, tmp_path_factory):
    """The page served over http, in a Chromium whose fake webcam plays a Y4M made from the test photos."""
    from playwright.sync_api import sync_playwright

    video = write_y4m(tmp_path_factory.mktemp("camera") / "face.y4m", camera_frames())
    server, url = serve_folder(site)
    args = CHROMIUM_ARGS + ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                            f"--use-file-for-fake-video-capture={video}"]
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


def normalised(crops: np.ndarray, meta: dict) -> np.ndarray:
    """As Predictor.classify_crops, with the spec the page was given: uint8 (N, S, S) -> float32 (N, 1, S, S)."""
    return to_model_input(crops, Preprocessing.from_dict(meta["preprocessing"]))


def site_meta(site: Path) -> dict:
    import json

    return json.loads((site / "config.json").read_text())


def test_crops_give_the_same_probabilities_as_python(page, site, session):
    from core.data.store import load_sample

    batch = normalised(np.asarray(load_sample().images[:16]), site_meta(site))
    expected = softmax(session.run(None, {"input": batch})[0])
    got = np.array(page.evaluate("([x, n]) => window.ferPredictCrops(Float32Array.from(x), n)",
                                 [batch.ravel().tolist(), len(batch)]))
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() < 1e-3


def test_everything_is_served_locally(page):
    remote = [u for u in page.requested if not u.startswith(("http://127.0.0.1:", "data:", "blob:"))]
    assert not remote
    assert any(u.endswith("/ort/ort-wasm-simd-threaded.wasm") for u in page.requested)


@pytest.mark.parametrize("side", [137, 48, 30])
def test_gray_resize_is_pils_to_the_byte(page, side):
    pixels = np.random.default_rng(side).integers(0, 256, size=(side, side), dtype=np.uint8)
    expected = np.asarray(Image.fromarray(pixels).resize((48, 48), Image.Resampling.BILINEAR))
    got = page.evaluate("([p, s]) => window.ferResizeGray(p, s, s, 48, 48)", [pixels.ravel().tolist(), side])
    assert np.array_equal(np.array(got, np.uint8).reshape(48, 48), expected)


def test_image_data_path_matches_python(page, site, session):
    """A colour 120x120 crop as ImageData: gray + resize + normalise in JS vs PIL + numpy."""
    rgb = np.random.default_rng(1).integers(0, 256, size=(120, 120, 3), dtype=np.uint8)
    gray = np.asarray(Image.fromarray(rgb).convert("L").resize((48, 48), Image.Resampling.BILINEAR))
    expected = softmax(session.run(None, {"input": normalised(gray[None], site_meta(site))})[0])[0]
    rgba = np.dstack([rgb, np.full((120, 120), 255, np.uint8)]).ravel().tolist()
    got = page.evaluate("(d) => window.ferPredictImageData(new ImageData(Uint8ClampedArray.from(d), 120, 120))", rgba)
    assert np.abs(np.array(got) - expected).max() < 1e-3


@pytest.mark.parametrize("tta", ["flip", "tencrop"])
def test_tta_views_are_the_predictors(page, site, session, tta):
    gray = np.random.default_rng(2).integers(0, 256, size=(48, 48), dtype=np.uint8)
    spec = Preprocessing.from_dict(site_meta(site)["preprocessing"]).with_tta(tta)
    expected = tta_probabilities(lambda x: session.run(None, {"input": x})[0], to_model_input(gray[None], spec),
                                 spec)[0]
    rgba = np.dstack([gray, gray, gray, np.full_like(gray, 255)]).ravel().tolist()
    got = page.evaluate("""async ([d, tta]) => {
        const spec = window.FER_CONFIG.preprocessing, recorded = spec.tta;
        spec.tta = tta;
        try { return await window.ferPredictImageData(new ImageData(Uint8ClampedArray.from(d), 48, 48)); }
        finally { spec.tta = recorded; }
    }""", [rgba, tta])
    assert np.abs(np.array(got) - expected).max() < 1e-5


def test_upload_predicts_the_guide_box_as_python_does(page, site, session):
    from core.data.images import open_image, to_gray

    photo = PHOTOS / "happy.jpeg"
    if not photo.is_file():
        pytest.skip(f"{photo} is missing")
    page.set_input_files("#file", str(photo))
    page.wait_for_function("window.ferLast && window.ferLast.source === 'upload'", timeout=30_000)
    last = page.evaluate("window.ferLast")
    gray = to_gray(open_image(photo))
    left, top, right, bottom = guide_box(*gray.size)
    assert (last["box"]["left"], last["box"]["top"], last["box"]["side"]) == (left, top, right - left)
    meta = site_meta(site)
    crop = np.asarray(gray.crop((left, top, right, bottom)).resize((48, 48), Image.Resampling.BILINEAR))
    expected = softmax(session.run(None, {"input": normalised(crop[None], meta)})[0])[0]
    got = np.array(last["probabilities"])
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "web_upload.png", full_page=True)
    print(f"\nupload: browser vs PIL max |diff| {np.abs(got - expected).max():.2e}")
    assert got.argmax() == expected.argmax()
    assert np.abs(got - expected).max() < 1e-2  # only JPEG decoding may differ between the browser and PIL
    assert page.locator("#bars .bar").count() == len(meta["classes"])
    assert meta["classes"][int(expected.argmax())] in page.inner_text("#top")


def test_fake_webcam_predicts_and_times_frames(page):
    page.click("#camera-start")
    page.wait_for_function("window.ferLast && window.ferLast.source === 'camera' && window.ferLast.frames >= 5",
                           timeout=60_000)
    last = page.evaluate("window.ferLast")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "web_webcam.png", full_page=True)
    assert abs(sum(last["probabilities"]) - 1) < 1e-4
    assert float(page.inner_text("#ms")) > 0
    assert "last 5 frames" in page.inner_text("#smoothing")
    page.click("#camera-stop")
    assert page.is_enabled("#camera-start")


def test_inference_ms_per_frame(page, site, tmp_path):
    """50 single-face frames each give a probability row; an upload's readout shows the ms the page measured."""
    meta = site_meta(site)
    size = meta["preprocessing"]["input_size"]
    runs = page.evaluate("""async (size) => {
        const crop = new Float32Array(size * size), runs = [];
        for (let i = 0; i < 60; i++) {  // the first 10 warm up (V8 tiers the wasm up meanwhile)
            const start = performance.now();
            const rows = await window.ferPredictCrops(crop, 1);
            runs.push({ ms: performance.now() - start, rows });
        }
        return runs.slice(10);
    }""", size)
    assert len(runs) == 50 and all(len(r["rows"]) == 1 and len(r["rows"][0]) == len(meta["classes"]) for r in runs)
    assert all(abs(sum(r["rows"][0]) - 1) < 1e-4 for r in runs)
    median = statistics.median(r["ms"] for r in runs)
    print(f"\nonnxruntime-web (wasm, 1 thread), tiny fernet width 0.25: {median:.2f} ms per frame (median of 50)")
    Image.new("L", (96, 96), 128).save(tmp_path / "gray.png")
    before = page.evaluate("performance.now()")
    page.set_input_files("#file", str(tmp_path / "gray.png"))
    page.wait_for_function("(t) => window.ferLast && window.ferLast.time > t", arg=before, timeout=30_000)
    last = page.evaluate("window.ferLast")
    assert last["source"] == "upload" and last["ms"] > 0
    assert float(page.inner_text("#ms")) == pytest.approx(last["ms"], abs=0.05)  # shown as ms.toFixed(1)


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
