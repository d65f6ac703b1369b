"""Benchmark: the exported web page's inference time per frame in headless Chromium (onnxruntime-web, wasm).

    python bench/bench_web.py [--checkpoint checkpoints/fer2013_fernet.pt] [--frames 50]

Exports the checkpoint with core.export.web, serves it on 127.0.0.1 and opens it in Debian's Chromium via
Playwright. Prints the median ms per frame over --frames frames for the model alone (one face, what the page's
readout shows) and for a whole 288x288 guide-box crop (gray + PIL-exact resize + normalise + model), against a
baseline measured in the same run: Python onnxruntime on one thread, the same model, the same one face.
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from core.inference.catalog import default_checkpoint
from core.export.web import export_web, serve_folder

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# Ten warm-up calls (V8 tiers the wasm up to optimised code while it runs), then `frames` timed calls, all inside
# the page so no Playwright round trip is counted.
TIMING_JS = """async ([frames, size, kind]) => {
    const crop = new Float32Array(size * size);
    const pixels = new ImageData(288, 288);
    pixels.data.fill(128);
    const once = () => kind === "model" ? window.ferPredictCrops(crop, 1) : window.ferPredictImageData(pixels);
    for (let i = 0; i < 10; i++) await once();
    const times = [];
    for (let i = 0; i < frames; i++) {
        const start = performance.now();
        await once();
        times.push(performance.now() - start);
    }
    return times;
}"""


def browser_ms(site: Path, frames: int, size: int, executable: str) -> dict[str, float]:
    """Median ms per frame in headless Chromium for the model alone and for a whole crop."""
    from playwright.sync_api import sync_playwright

    server, url = serve_folder(site)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(url)
            page.wait_for_function("window.ferReady !== undefined", timeout=60_000)
            if page.evaluate("window.ferReady") is not True:
                raise RuntimeError(page.inner_text("#status"))
            result = {kind: statistics.median(page.evaluate(TIMING_JS, [frames, size, kind]))
                      for kind in ("model", "crop")}
            browser.close()
    finally:
        server.shutdown()
    return result


def python_ms(model: Path, frames: int, size: int) -> float:
    """Baseline: Python onnxruntime, one thread, one face per call."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    batch = np.zeros((1, 1, size, size), np.float32)
    session.run(None, {"input": batch})
    times = []
    for _ in range(frames):
        start = time.perf_counter()
        session.run(None, {"input": batch})
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None, help="a .pt checkpoint (default: the shipped one)")
    parser.add_argument("--frames", type=int, default=50)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    checkpoint = args.checkpoint or default_checkpoint()
    if checkpoint is None:
        parser.error("no shipped checkpoint found: pass --checkpoint")
    with tempfile.TemporaryDirectory() as tmp:
        site = export_web(checkpoint, Path(tmp) / "site")
        config = json.loads((site / "config.json").read_text())
        size = int(config["input_size"])
        web = browser_ms(site, args.frames, size, args.chromium)
        baseline = python_ms(site / "model.onnx", args.frames, size)
    print(f"{checkpoint} ({config['model']}, {size}x{size}), onnxruntime-web {config['onnxruntime_web']} "
          f"wasm 1 thread, median of {args.frames} frames")
    print(f"model alone (one face): browser {web['model']:.2f} ms/frame, Python onnxruntime 1 thread "
          f"{baseline:.2f} ms -> browser {web['model'] / baseline:.1f}x the Python time")
    print(f"whole crop (288x288 RGBA -> gray -> resize -> model): browser {web['crop']:.2f} ms/frame")


if __name__ == "__main__":
    main()
