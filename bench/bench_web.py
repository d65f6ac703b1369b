"""Benchmark: the exported web page's whole pipeline per frame in headless Chromium (onnxruntime-web, wasm).

    python bench/bench_web.py [--checkpoint checkpoints/fer2013_fernet_int8.onnx] [--frames 20]

Exports the checkpoint with core.export.web, serves it on 127.0.0.1 and opens it in Debian's Chromium via
Playwright. Prints the median ms per 640x480 frame with one face (a shared photo), through the page's worker:
MTCNN at 320 px (the live setting) and at 640 px (uploads), the eye-aligned crop and the model with its TTA; against
a baseline measured in the same run: the Python Predictor (ONNX MTCNN, onnxruntime) on the same frame and settings.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from core.export.web import export_web, serve_folder
from core.inference.catalog import default_live_checkpoint
from core.paths import shared_data_dir

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SIDES = (320, 640)
# Three warm-up calls (V8 tiers the wasm up to optimised code while it runs), then `frames` timed calls, all inside
# the page so no Playwright round trip is counted.
TIMING_JS = """async ([pixels, frames, side]) => {
    const data = Uint8Array.from(pixels);
    const once = () => window.ferPredict(data, 640, 480, {maxSide: side, whole: false});
    for (let i = 0; i < 3; i++) await once();
    const times = [];
    for (let i = 0; i < frames; i++) {
        const start = performance.now();
        await once();
        times.push(performance.now() - start);
    }
    return times;
}"""


def camera_frame() -> Image.Image:
    """640x480, one face of 288 px in the middle (a shared photo), as the fake camera shows it."""
    frame = Image.new("RGB", (640, 480), (110, 110, 110))
    frame.paste(Image.open(shared_data_dir() / "photos" / "happy.jpeg").convert("RGB").resize((288, 288)), (176, 96))
    return frame


def browser_ms(site: Path, frame: Image.Image, frames: int, executable: str) -> dict[int, float]:
    """Median ms per frame in headless Chromium, per detection side."""
    from playwright.sync_api import sync_playwright

    pixels = np.asarray(frame.convert("RGBA")).ravel().tolist()
    server, url = serve_folder(site)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(url)
            page.wait_for_function("window.ferReady !== undefined", timeout=120_000)
            if page.evaluate("window.ferReady") is not True:
                raise RuntimeError(page.inner_text("#status"))
            result = {side: statistics.median(page.evaluate(TIMING_JS, [pixels, frames, side])) for side in SIDES}
            browser.close()
    finally:
        server.shutdown()
    return result


def python_ms(model: Path, frame: Image.Image, frames: int) -> dict[int, float]:
    """Baseline: the Python Predictor on the same frame, per detection side."""
    from core.inference.predictor import Predictor

    predictor, result = Predictor.load(model), {}
    for side in SIDES:
        predictor.detect_side = side
        for _ in range(3):
            predictor.predict(frame, whole=False)
        times = []
        for _ in range(frames):
            start = time.perf_counter()
            predictor.predict(frame, whole=False)
            times.append(time.perf_counter() - start)
        result[side] = statistics.median(times) * 1000
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None, help="a .pt or .onnx (default: the live default)")
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    checkpoint = args.checkpoint or default_live_checkpoint()
    if checkpoint is None:
        parser.error("no shipped checkpoint found: pass --checkpoint")
    frame = camera_frame()
    with tempfile.TemporaryDirectory() as tmp:
        site = export_web(checkpoint, Path(tmp) / "site")
        config = json.loads((site / "config.json").read_text())
        web = browser_ms(site, frame, args.frames, args.chromium)
        baseline = python_ms(site / "model.onnx", frame, args.frames)
    print(
        f"{checkpoint} ({config['model']}), onnxruntime-web {config['onnxruntime_web']} wasm, 1 thread (not "
        f"isolated), median of {args.frames} 640x480 frames with one face"
    )
    for side in SIDES:
        print(
            f"detect at {side} px + align + classify: browser {web[side]:.0f} ms/frame, Python "
            f"{baseline[side]:.0f} ms -> browser {web[side] / baseline[side]:.1f}x the Python time"
        )


if __name__ == "__main__":
    main()
