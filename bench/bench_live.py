"""Benchmark: the live webcam as a user sees it, in headless Chromium with a fake camera (640x480, 30 fps).

    python bench/bench_live.py [--seconds 10] [--faces 1 6] [--pause-trainer] [--rounds 3] [--plot docs/latency.png]
                               [--no-models] [--no-webcam] [--browser-only]

Two sections in one run: the models (bench/live_models.py: per-face latency and accuracy of every shipped model
by runtime, fp32 / int8 / tiny; the detector per frame, torch, ONNX and with tracking; `python -m core predict`
as a whole process with and without torch), then the webcam table. --pause-trainer pauses a trainer during the
webcam windows only: the models section takes minutes (exports, quantization, PrivateTest per runtime), so run it
on an idle machine.

For each path and face count: the clip is made from the shared photos (tests/fake_camera.py), the server is
started, Chromium opens the page with the clip as its camera, and the page counts annotated frames drawn
(requestVideoFrameCallback on the output <video>; new images for the old path) and, from the frame number each
frame carries, the delay from the camera frame shown to the same frame shown annotated. The in-browser pipeline
(bench/browser_live.py: the Gradio app's "In your browser" tab through an HTTP-only proxy, as a share link) is
measured in the same run. The baseline is the old frame-polling path (gr.Image streaming, STREAM_EVERY) measured
in the same run. With --pause-trainer a running
`core.jobs.worker` is paused (SIGSTOP, at most 85 s, always resumed) during each timing window.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "tests")]

from browser_live import browser_rows  # noqa: E402  (bench/browser_live.py)
from browser_live import print_row as print_browser_row  # noqa: E402
from live_models import models_section  # noqa: E402  (bench/live_models.py)

import fake_camera  # noqa: E402  (tests/fake_camera.py)
from core.paths import shared_data_dir  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
GRADIO_PORT, STREAMLIT_PORT = 7882, 8622
MAX_PAUSE = 85.0  # seconds; the trainer must never stay stopped longer than 90 s
LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# Keeps the camera stream the page opens, so the meter can watch the raw camera next to the annotated output.
CAPTURE_JS = """(() => {
  const media = navigator.mediaDevices;
  if (!media || !media.getUserMedia) return;
  const open = media.getUserMedia.bind(media);
  media.getUserMedia = async (constraints) => { const s = await open(constraints); window.__camStream = s; return s; };
})();"""

METER_JS = """([selector, codeSource]) => {
  const code = eval(codeSource);
  const m = window.__meter = {ref: {}, frames: 0, lat: [],
    reset() { this.frames = 0; this.lat = []; this.t0 = performance.now(); }};
  m.reset();
  const ref = document.createElement('video');
  ref.muted = true; ref.srcObject = window.__camStream; ref.play();
  let lastRef = -1, lastOut = -1;
  const onRef = () => { const n = code(ref); if (n >= 0 && n !== lastRef) { m.ref[n] = performance.now(); lastRef = n; }
                        ref.requestVideoFrameCallback(onRef); };
  ref.requestVideoFrameCallback(onRef);
  const seen = (el) => { const n = code(el); if (n < 0 || n === lastOut) return; lastOut = n; m.frames++;
                         if (m.ref[n] !== undefined) m.lat.push(performance.now() - m.ref[n]); };
  if (selector === 'img') {  // the old path: a new <img> source per processed frame
    let src = '';
    const poll = () => { const img = [...document.querySelectorAll('img')].find(i => i.naturalWidth === 640);
      if (img && img.complete && img.src !== src) { src = img.src; seen(img); } requestAnimationFrame(poll); };
    requestAnimationFrame(poll);
  } else {
    const out = document.querySelector(selector);
    const onOut = () => { seen(out); out.requestVideoFrameCallback(onOut); };
    out.requestVideoFrameCallback(onOut);
  }
}"""


def trainer_pids() -> list[int]:
    found = subprocess.run(["pgrep", "-f", "core.jobs.worker"], capture_output=True, text=True).stdout
    return [int(p) for p in found.split() if int(p) != os.getpid()]


@contextlib.contextmanager
def paused_trainer(enabled: bool) -> Iterator[None]:
    """SIGSTOP the background trainer for the block; SIGCONT after it, or after MAX_PAUSE s whatever happens."""
    pids = trainer_pids() if enabled else []
    resume = lambda: [os.kill(p, signal.SIGCONT) for p in pids if Path(f"/proc/{p}").exists()]  # noqa: E731
    watchdog = threading.Timer(MAX_PAUSE, resume)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    watchdog.start()
    try:
        yield
    finally:
        watchdog.cancel()
        resume()


def wait_for_url(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if LOCAL.open(url, timeout=2).status == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


@contextlib.contextmanager
def server(command: list[str], url: str, log: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    with open(log, "w") as out:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )
    try:
        wait_for_url(url)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def gradio_server(log: Path):
    return server(
        [sys.executable, "-m", "app.gradio", "--port", str(GRADIO_PORT)], f"http://127.0.0.1:{GRADIO_PORT}/", log
    )


def streamlit_server(log: Path):
    return server(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app/main.py",
            "--server.port",
            str(STREAMLIT_PORT),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        # the Predict page would start the Gradio app beside it, a process that outlives the bench
        f"http://127.0.0.1:{STREAMLIT_PORT}/",
        log,
        {"FER_GRADIO_AUTOSTART": "0"},
    )


def start_gradio_live(page, url: str):
    page.goto(url)
    page.get_by_role("tab", name="Live").click()
    page.get_by_role("button", name="Start camera").click()
    return page.main_frame, "#fer-live-video"


def start_gradio_polling(page, url: str):
    page.goto(url)
    page.get_by_role("tab", name="Webcam").click()
    page.get_by_role("button", name="Click to Access Webcam").click()
    page.locator("button:visible", has_text="Record").click()
    return page.main_frame, "img"


def start_streamlit_live(page, url: str):
    page.goto(url + "predict")
    frame = page.frame_locator("iframe[title*='webrtc']").first
    frame.get_by_role("button", name="START").click()
    return next(f for f in page.frames if "webrtc" in f.url), "video"


def first_output(frame, selector: str, timeout: float = 60) -> float:
    """Seconds until the output shows its first frame."""
    start = time.monotonic()
    check = (
        "() => [...document.querySelectorAll('img')].some(i => i.naturalWidth === 640)"
        if selector == "img"
        else f"() => {{ const v = document.querySelector({selector!r}); return v && v.videoWidth > 0 && "
        "v.currentTime > 0; }"
    )
    frame.wait_for_function(check, timeout=timeout * 1000)
    return time.monotonic() - start


def measure(browser_args: list[str], starter: Callable, url: str, seconds: float, pause: bool) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=browser_args)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.add_init_script(CAPTURE_JS)
            with paused_trainer(pause):
                started = time.monotonic()
                frame, selector = starter(page, url)
                first = first_output(frame, selector) + (time.monotonic() - started) * 0
                frame.evaluate(METER_JS, [selector, fake_camera.CODE_JS])
                time.sleep(2)  # warm-up: the video bitrate ramps up, the first analyses finish
                frame.evaluate("() => window.__meter.reset()")
                time.sleep(seconds)
                result = frame.evaluate(
                    "() => ({frames: window.__meter.frames, lat: window.__meter.lat, "
                    "ms: performance.now() - window.__meter.t0})"
                )
        finally:
            browser.close()
    latencies = sorted(result["lat"]) or [float("nan")]
    return {
        "fps": result["frames"] / (result["ms"] / 1000),
        "first_s": first,
        "lat_median": statistics.median(latencies),
        "lat_p90": latencies[int(0.9 * (len(latencies) - 1))],
    }


def run_paths(faces_list: list[int], seconds: float, pause: bool, work: Path) -> list[tuple[str, int, dict]]:
    photos = [shared_data_dir() / "photos" / n for n in ("happy.jpeg", "angry.jpeg")]
    clips = {n: fake_camera.write_clip(work / f"faces{n}.y4m", photos[:1] if n == 1 else photos, n) for n in faces_list}

    def args(clip: Path) -> list[str]:
        return [
            "--no-sandbox",
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={clip}",
        ]

    rows = []
    with gradio_server(work / "gradio.log") as url:
        for n in faces_list:
            for name, starter in (("gradio polling (old)", start_gradio_polling), ("gradio live", start_gradio_live)):
                rows.append((name, n, measure(args(clips[n]), starter, url, seconds, pause)))
                print_row(*rows[-1])
                time.sleep(10)  # let the trainer run between windows
    with streamlit_server(work / "streamlit.log") as url:
        for n in faces_list:
            rows.append(("studio live", n, measure(args(clips[n]), start_streamlit_live, url, seconds, pause)))
            print_row(*rows[-1])
            time.sleep(10)
    return rows


def print_row(name: str, faces: int, r: dict, baseline: dict | None = None) -> None:
    ratio = f"  {r['fps'] / baseline['fps']:.1f}x fps" if baseline else ""
    print(
        f"{name:22s} {faces} face(s): {r['fps']:5.1f} annotated fps, camera->screen median "
        f"{r['lat_median']:4.0f} ms, p90 {r['lat_p90']:4.0f} ms, first frame {r['first_s']:4.1f} s{ratio}",
        flush=True,
    )


def cpu_line() -> str:
    """The CPU's model name and the features that decide the per-face latencies (SIMD width, int8 dot products)."""
    from core.device import cpu_flags

    name = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            "unknown CPU",
        )
        if Path("/proc/cpuinfo").exists()
        else "unknown CPU"
    )
    wanted = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8")
    found = [f for f in wanted if f in cpu_flags()]
    return f"CPU: {name}, {os.cpu_count()} cores; features: {', '.join(found) or 'none of ' + ', '.join(wanted)}"


def webcam_section(faces_list: list[int], seconds: float, pause: bool, browser_only: bool = False) -> None:
    """The webcam table: each live path against the old polling path at the same face count, and the in-browser
    pipeline as a share-link visitor gets it."""
    with tempfile.TemporaryDirectory() as tmp:
        rows = [] if browser_only else run_paths(faces_list, seconds, pause, Path(tmp))
        with paused_trainer(pause):
            browsers = browser_rows(faces_list, seconds, Path(tmp))
    print("\nwebcam, 640x480 fake camera at 30 fps, headless Chromium (ratios against gradio polling):")
    baselines = {n: r for name, n, r in rows if name.startswith("gradio polling")}
    for name, n, r in rows:
        print_row(name, n, r, None if name.startswith("gradio polling") else baselines.get(n))
    for row in browsers:
        print_browser_row(*row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each timing window")
    parser.add_argument("--faces", type=int, nargs="+", default=[1, 6])
    parser.add_argument("--pause-trainer", action="store_true", help="SIGSTOP a running trainer while timing")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved latency rounds of the models section")
    parser.add_argument("--no-models", action="store_true", help="skip the models section")
    parser.add_argument("--plot", type=Path, help="models section: draw the FER2013 accuracy/latency curve here")
    parser.add_argument("--no-webcam", action="store_true", help="skip the webcam table")
    parser.add_argument("--browser-only", action="store_true", help="webcam table: the in-browser pipeline only")
    args = parser.parse_args()
    print(cpu_line(), flush=True)
    if args.seconds + 70 > MAX_PAUSE and args.pause_trainer:
        parser.error(f"--seconds too long: a timing window must stay under {MAX_PAUSE:.0f} s with start-up")
    if not args.no_models:
        models_section(args.rounds, args.plot)
    if not args.no_webcam:
        webcam_section(args.faces, args.seconds, args.pause_trainer, args.browser_only)


if __name__ == "__main__":
    main()
