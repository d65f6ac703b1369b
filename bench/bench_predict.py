"""Benchmark: prediction latency on this machine (per face, per 640x480 frame, and the webcam loop's rate).

    python bench/bench_predict.py [--checkpoint checkpoints/fer2013_fernet.pt] [--frames 30]

Ratios compare against baselines measured in the same run: onnxruntime vs torch for the classifier, and the
detector on the full frame vs on a frame shrunk before detection (the webcam path's setting).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from core.export.onnx import export_onnx
from core.inference.catalog import default_checkpoint
from core.inference.faces import FaceDetector
from core.inference.predictor import Predictor
from core.paths import shared_data_dir


def median_ms(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def test_frame() -> Image.Image:
    """A 640x480 frame with one real face (about 150 px tall) from the shared photos."""
    face = Image.open(shared_data_dir() / "photos" / "happy.jpeg").convert("RGB")
    frame = Image.new("RGB", (640, 480), (90, 100, 110))
    frame.paste(face.resize((200, 200)), (220, 140))
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--frames", type=int, default=30)
    args = parser.parse_args()
    checkpoint = args.checkpoint or default_checkpoint()
    torch_predictor = Predictor.load(checkpoint, device="cpu")
    crop = np.random.default_rng(0).integers(
        0, 256, (1, torch_predictor.input_size, torch_predictor.input_size), dtype=np.uint8
    )
    with tempfile.TemporaryDirectory() as tmp:
        onnx_predictor = Predictor.load(export_onnx(checkpoint, Path(tmp) / "m.onnx"))
        torch_ms = median_ms(lambda: torch_predictor.classify_crops(crop, tta="none"), 200)
        onnx_ms = median_ms(lambda: onnx_predictor.classify_crops(crop, tta="none"), 200)
    print(f"{checkpoint} ({torch_predictor.meta['model']}), {torch.get_num_threads()} threads")
    print(
        f"classify one face (batch 1): torch {torch_ms:.2f} ms, onnxruntime {onnx_ms:.2f} ms "
        f"-> onnxruntime {torch_ms / onnx_ms:.1f}x faster"
    )
    frame = test_frame()
    full = FaceDetector(max_side=10_000)
    shrunk = FaceDetector(max_side=320)
    full_ms = median_ms(lambda: full.detect(frame), 20)
    shrunk_ms = median_ms(lambda: shrunk.detect(frame), 20)
    print(
        f"detect faces in a 640x480 frame: full size {full_ms:.0f} ms, shrunk to 320 px {shrunk_ms:.0f} ms "
        f"-> {full_ms / shrunk_ms:.1f}x faster, found {len(full.detect(frame))} / {len(shrunk.detect(frame))}"
    )
    end_to_end = median_ms(lambda: onnx_predictor.predict(frame), 20)
    print(f"end to end (detection at the default 640 px + classification, onnxruntime): {end_to_end:.0f} ms/frame")
    for side in (640, 320):
        onnx_predictor.detect_side = side
        start = time.perf_counter()
        for _ in range(args.frames):
            onnx_predictor.predict(frame)
        rate = args.frames / (time.perf_counter() - start)
        print(f"webcam loop, frames shrunk to {side} px for detection: {rate:.1f} frames/s over {args.frames} frames")


if __name__ == "__main__":
    main()
