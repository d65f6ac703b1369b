"""Benchmark: a model's probabilities over the data set (the predictions job's work), by backend.

    FER_DATA_DIR=<a full import> python bench/bench_dataset_predictions.py [--checkpoint C] [--images N]

Times torch fp32 (the baseline, measured in the same run: it is what `evaluate` computes), torch with bf16
autocast, onnxruntime and onnxruntime int8 (quantized on 1,000 Training faces of the data set, timed as set-up)
on the first N images of the current data set (all of them by default), in the job's
chunks, and says how often each agrees with fp32's argmax. Model set-up (loading, the ONNX export) is timed apart.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from core.data.store import load_dataset
from core.inference.catalog import default_checkpoint
from core.inference.dataset_predictions import BACKENDS, compute_probabilities, faces_predictor


def backend_rate(
    checkpoint: Path, backend: str, images: np.ndarray, workdir: Path, dataset
) -> tuple[np.ndarray, float, float]:
    """`backend`'s probabilities for `images` in the job's chunks, its images/s over them and its set-up seconds
    (loading, the ONNX export into `workdir`, int8's quantization on `dataset`, a warm-up batch), which the rate
    leaves out."""
    start = time.perf_counter()
    predict = faces_predictor(checkpoint, backend, workdir, dataset)
    predict(images[:64])  # warm-up: first-call allocations and oneDNN kernel selection
    setup = time.perf_counter() - start
    start = time.perf_counter()
    probabilities = compute_probabilities(images, predict)
    return probabilities, len(images) / (time.perf_counter() - start), setup


def time_job(dataset, checkpoint: Path) -> None:
    """What a click on "Compute the model's predictions" costs: process start, model set-up, every image, cache."""
    from core.inference.dataset_predictions import predictions_cache_path
    from core.job_status import ACTIVE
    from core.jobs import prediction_job

    predictions_cache_path(dataset, checkpoint).unlink(missing_ok=True)
    start = time.perf_counter()
    prediction_job.start(dataset, checkpoint)
    while (status := prediction_job.job_status(dataset, checkpoint) or {}).get("state") in (None, *ACTIVE):
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    print(
        f"predictions job, {len(dataset):,} images: {status['state']} on {status.get('backend')} in {seconds:.1f} s "
        f"from start to cache ({len(dataset) / seconds:.0f} images/s overall)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--images", type=int, default=None, help="the first N images (default: all)")
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument(
        "--job",
        action="store_true",
        help="instead: the studio's predictions job over the whole "
        "data set, as a process, from start to cache (its cache for this model is deleted first)",
    )
    args = parser.parse_args()
    checkpoint = args.checkpoint or default_checkpoint()
    dataset = load_dataset()
    if args.job:
        return time_job(dataset, checkpoint)
    images = np.asarray(dataset.images[: args.images or len(dataset)])
    print(f"{checkpoint}, {len(images):,} of {len(dataset):,} images")
    results = {}
    with tempfile.TemporaryDirectory() as workdir:
        for backend in args.backends.split(","):
            probabilities, rate, setup = backend_rate(checkpoint, backend, images, Path(workdir), dataset)
            results[backend] = (probabilities, rate)
            print(f"{backend:5s}: {rate:7.0f} images/s ({len(images) / rate:.1f} s; set-up {setup:.1f} s)", flush=True)
    if "fp32" not in results:
        return
    baseline, fp32_rate = results["fp32"]
    for backend, (probabilities, rate) in results.items():
        agree = float((probabilities.argmax(1) == baseline.argmax(1)).mean())
        print(
            f"{backend:5s}: {rate / fp32_rate:4.2f}x fp32's speed, argmax agrees with fp32 on {agree:.2%}, "
            f"max |p - p_fp32| {np.abs(probabilities - baseline).max():.1e}"
        )


if __name__ == "__main__":
    main()
