"""The in-browser pipeline as a share-link visitor sees it: the Gradio app reached through an HTTP-only proxy
(tests/http_proxy.py; Chromium's WebRTC limited to proxied UDP, i.e. none), its "In your browser" tab, a fake
camera (tests/fake_camera.py). Used by bench/bench_live.py; runs on its own too:

    python bench/browser_live.py [--seconds 10] [--faces 1 6] [--checkpoint checkpoints/fer2013_fernet.pt]

The page counts, on each frame it draws, the camera frame it shows (the frame number every fake-camera frame
carries) and whether labels were on it: annotated fps are distinct camera frames drawn with labels a second;
camera->screen is from that frame's arrival in a plain <video> of the same camera to its drawing on the page;
label age is how old the analysed frame behind the labels is (the analysis time plus the wait for the worker).
Two pages: the tab (an iframe: not cross-origin isolated, so one wasm thread) and the same page opened on its own
(COOP/COEP: threads).
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "tests"), str(REPO_ROOT / "bench")]

from http_proxy import http_proxy  # noqa: E402  (tests/http_proxy.py)

import fake_camera  # noqa: E402  (tests/fake_camera.py)

BROWSER_METER_JS = """([codeSource]) => {
  const code = eval(codeSource);
  const m = window.__meter = {ref: {}, frames: 0, labelled: 0, lat: [], ages: [],
    reset() { this.frames = 0; this.labelled = 0; this.lat = []; this.ages = []; this.t0 = performance.now(); }};
  m.reset();
  const ref = document.createElement('video');
  ref.muted = true; ref.srcObject = window.__camStream; ref.play();
  // the clip loops every few seconds: a frame number is matched with the other side's within WINDOW ms only, and
  // the page may draw a frame before the plain <video> shows it (a negative delay)
  const WINDOW = 1000, out = {};
  let lastRef = -1, lastOut = -1;
  const onRef = () => { const n = code(ref), now = performance.now();
                        if (n >= 0 && n !== lastRef) { m.ref[n] = now; lastRef = n;
                          if (out[n] !== undefined && now - out[n] < WINDOW) m.lat.push(out[n] - now); }
                        ref.requestVideoFrameCallback(onRef); };
  ref.requestVideoFrameCallback(onRef);
  window.ferOnDrawn = (canvas, labelled) => {
    const n = code(canvas);
    if (n < 0 || n === lastOut) return;
    lastOut = n; m.frames++;
    if (!labelled) return;
    m.labelled++; m.ages.push(window.ferStats.labelAgeMs);
    const now = performance.now();
    if (m.ref[n] !== undefined && now - m.ref[n] < WINDOW) m.lat.push(now - m.ref[n]); else out[n] = now;
  };
}"""
READ_JS = """() => ({labelled: window.__meter.labelled, frames: window.__meter.frames, lat: window.__meter.lat,
  ages: window.__meter.ages, ms: performance.now() - window.__meter.t0, threads: window.ferStats.threads,
  analyses: window.ferStats.analyses, analysisMs: window.ferStats.analysisMs})"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def open_tab(page, url: str):
    """The Gradio app's "In your browser" tab, webcam started; returns the page's frame."""
    page.goto(url)
    page.get_by_role("tab", name="In your browser").click(timeout=180_000)
    frame = page.frame_locator("#fer-browser-frame")
    frame.get_by_role("button", name="Start webcam").click(timeout=180_000)
    return next(f for f in page.frames if f.url.endswith("/browser/index.html"))


def open_page(page, url: str):
    """The same page opened on its own (cross-origin isolated), webcam started by ?camera."""
    page.goto(url + "browser/index.html?camera")
    return page.main_frame


def measure(browser, opener, url: str, seconds: float) -> dict:
    from bench_live import CAPTURE_JS

    page = browser.new_page(viewport={"width": 1600, "height": 1100})
    page.add_init_script(CAPTURE_JS)
    try:
        started = time.monotonic()
        frame = opener(page, url)
        frame.wait_for_function("window.ferStats && window.ferStats.analyses > 0", timeout=180_000)
        first = time.monotonic() - started
        frame.evaluate(BROWSER_METER_JS, [fake_camera.CODE_JS])
        time.sleep(2)  # warm-up
        frame.evaluate("() => window.__meter.reset()")
        time.sleep(seconds)
        r = frame.evaluate(READ_JS)
    finally:
        page.close()
    seconds_run = r["ms"] / 1000
    return {
        "fps": r["labelled"] / seconds_run,
        "drawn_fps": r["frames"] / seconds_run,
        "first_s": first,
        "lat_median": median(r["lat"]),
        "age_median": median(r["ages"]),
        "threads": r["threads"],
        "analysis_ms": r["analysisMs"],
    }


def print_row(name: str, faces: int, r: dict) -> None:
    print(
        f"{name:26s} {faces} face(s): {r['fps']:5.1f} annotated fps (drawn {r['drawn_fps']:4.1f}), camera->screen "
        f"median {r['lat_median']:4.0f} ms, labels {r['age_median']:4.0f} ms old, {r['threads']} wasm thread(s), "
        f"first labels {r['first_s']:4.1f} s",
        flush=True,
    )


def browser_rows(faces_list: list[int], seconds: float, work: Path, checkpoint: Path | None = None) -> list:
    """One row per page and face count, through the proxy; the app started and stopped here."""
    from bench_live import CHROMIUM, server
    from playwright.sync_api import sync_playwright

    from core.paths import shared_data_dir

    photos = [shared_data_dir() / "photos" / n for n in ("happy.jpeg", "angry.jpeg")]
    port, rows = free_port(), []
    command = [sys.executable, "-m", "app.gradio_app", "--port", str(port)]
    command += ["--checkpoint", str(checkpoint)] if checkpoint else []
    with server(command, f"http://127.0.0.1:{port}/", work / "gradio.log"), http_proxy(port) as url:
        for n in faces_list:
            clip = fake_camera.write_clip(work / f"faces{n}.y4m", photos[:1] if n == 1 else photos, n)
            args = [
                "--no-sandbox",
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
                f"--use-file-for-fake-video-capture={clip}",
                "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
            ]  # as through a tunnel: no WebRTC
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
                try:
                    pages = (("in your browser (tab)", open_tab), ("in your browser (own page)", open_page))
                    for name, opener in pages:
                        rows.append((name, n, measure(browser, opener, url, seconds)))
                        print_row(*rows[-1])
                finally:
                    browser.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--faces", type=int, nargs="+", default=[1])
    parser.add_argument("--checkpoint", type=Path, help="the model the app serves (default: the app's)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        browser_rows(args.faces, args.seconds, Path(tmp), args.checkpoint)


if __name__ == "__main__":
    main()
