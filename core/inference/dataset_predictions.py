"""A model's predictions over a whole data set, computed once per (checkpoint, data set) and cached on disk.

The probabilities are what `evaluate` scores (`core.models.probabilities.predict_probabilities`, with the checkpoint's
TTA and temperature), up to each backend's rounding. Four backends compute them: torch fp32, torch with bf16
autocast (CPUs with bf16 units), onnxruntime on an ONNX export, and onnxruntime on that export quantized to int8
(core/export/quantize.py, its ranges taken on the data set's Training faces); `bench/bench_dataset_predictions.py`
measures them against each other. The studio runs this as a background job (`core.jobs.prediction_job`);
`dataset_probabilities` is the in-process path the CLI uses.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from core.data.dataset import FerDataset
from core.data.preprocessing import Preprocessing
from core.device import cpu_has_bf16, cpu_has_int8_dot
from core.ensemble_format import is_ensemble_file
from core.files import write_atomically
from core.inference.predictor import Predictor
from core.paths import data_dir
from core.progress import ProgressCallback, no_progress

# 3: computed in chunks by the chosen backend (2: the checkpoint's TTA and the spec's filter; 1 had no TTA). Keys
# name the checkpoint by its bytes (they used its path and time before, so those older caches are not found)
PREDICTIONS_VERSION = 3
BACKENDS = ("fp32", "bf16", "onnx", "int8")
CHUNK = 256  # images per progress step: 140 steps over the full set, each long enough to keep the model busy

FacesToProbabilities = Callable[[np.ndarray], np.ndarray]


def predictions_cache_path(dataset: FerDataset, checkpoint: Path) -> Path:
    """One cache file per (checkpoint contents, data set) pair, invalidated when either (or how we predict)
    changes. Keyed by the checkpoint's bytes, not its path: the same model in another checkout or a fresh clone
    finds its predictions."""
    key = f"{checkpoint_digest(Path(checkpoint))}:{dataset.info.get('created')}:{len(dataset)}:v{PREDICTIONS_VERSION}"
    return data_dir() / "predictions" / f"{hashlib.sha1(key.encode()).hexdigest()[:16]}.npy"


_DIGESTS: dict[tuple[str, int, int], str] = {}  # (path, size, mtime) -> digest: pages ask on every rerun


def checkpoint_digest(checkpoint: Path) -> str:
    """A SHA-1 of the checkpoint file's bytes (about 20 ms for the shipped 10 MB model), computed once per
    version of the file in this process."""
    stat = checkpoint.stat()
    key = (str(checkpoint.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        _DIGESTS[key] = hashlib.sha1(checkpoint.read_bytes()).hexdigest()
    return _DIGESTS[key]


def load_cached(dataset: FerDataset, checkpoint: Path) -> np.ndarray | None:
    """The cached probabilities (N, C), or None when they were never computed."""
    cache = predictions_cache_path(dataset, checkpoint)
    return np.load(cache) if cache.is_file() else None


def default_backend() -> str:
    """What bench/bench_dataset_predictions.py measured fastest here (README, Benchmarks): int8 on CPUs with int8
    dot-product units (3.6x bf16; fp32's argmax kept on 98.9 % of images, the rest close calls), else bf16 autocast
    on CPUs with bf16 units (fp32's argmax on >= 99.5 %), else onnxruntime."""
    return "int8" if cpu_has_int8_dot() else float_backend()


def float_backend() -> str:
    """The fastest backend without quantization: bf16 autocast on CPUs with bf16 units, else onnxruntime."""
    return "bf16" if cpu_has_bf16() else "onnx"


def faces_predictor(
    checkpoint: Path, backend: str | None, workdir: Path, dataset: FerDataset | None = None
) -> FacesToProbabilities:
    """A function from uint8 faces (n, H, W) to probabilities (n, C) on `backend` (None: `default_backend()`), with
    the checkpoint's TTA and temperature; "onnx" and "int8" write their exports into `workdir`, and "int8" takes
    its activation ranges on `dataset`'s Training faces."""
    backend = backend or default_backend()
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "int8" and dataset is None:
        raise ValueError("the int8 backend takes its activation ranges on a data set's Training faces: pass one")
    if backend in ("onnx", "int8"):
        return onnx_predictor(checkpoint, Path(workdir), dataset if backend == "int8" else None)
    # lazy: torch, only for the torch backends (the onnx ones serve without it)
    import torch

    from core.models.checkpoint import load_checkpoint, model_from_checkpoint
    from core.models.probabilities import predict_probabilities

    payload = load_checkpoint(checkpoint)
    spec, bf16 = Preprocessing.from_payload(payload), backend == "bf16"
    model = model_from_checkpoint(payload).eval()
    if bf16:
        model = model.to(memory_format=torch.channels_last)  # oneDNN's fast bf16 convolutions want this layout

    def predict(faces: np.ndarray) -> np.ndarray:
        batch = torch.from_numpy(np.array(faces)[:, None])  # a copy: memory-mapped faces are read-only
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            return predict_probabilities(model, batch, spec, batch_size=len(faces)).float().numpy()

    return predict


def chosen_predictor(
    checkpoint: Path, backend: str | None, workdir: Path, dataset: FerDataset
) -> tuple[FacesToProbabilities, str]:
    """`faces_predictor` and the backend it runs on. The default int8 backend quantizes the model first; a model
    onnxruntime cannot quantize falls back to the next default (with a logged warning, in a job's log.txt), so the
    predictions still come. A backend asked for by name never falls back."""
    chosen = backend or default_backend()
    if backend is None and is_ensemble_file(checkpoint):  # an ensemble runs its members in torch (no export)
        chosen = "bf16" if float_backend() == "bf16" else "fp32"
    try:
        return faces_predictor(checkpoint, chosen, workdir, dataset), chosen
    except Exception:
        if backend is not None or chosen != "int8":
            raise
        fallback = float_backend()
        logging.getLogger(__name__).warning("int8 quantization failed; predicting with %s", fallback, exc_info=True)
        return faces_predictor(checkpoint, fallback, workdir, dataset), fallback


def onnx_predictor(checkpoint: Path, workdir: Path, calibrate_on: FerDataset | None) -> FacesToProbabilities:
    """onnxruntime on the checkpoint's export, quantized to int8 on `calibrate_on`'s Training faces when given."""
    if calibrate_on is None:
        from core.export.onnx import export_onnx  # lazy: torch and onnx, to export

        return Predictor.load(export_onnx(checkpoint, workdir / "model.onnx")).classify_crops
    from core.export.quantize import quantize_checkpoint  # lazy: onnxruntime's quantization tools

    made = quantize_checkpoint(checkpoint, workdir / "model_int8.onnx", calibrate_on)
    return Predictor.load(made.path).classify_crops


def compute_probabilities(
    images: np.ndarray, predict: FacesToProbabilities, track: ProgressCallback = no_progress, chunk: int = CHUNK
) -> np.ndarray:
    """Probabilities for every image, one `chunk` at a time through `track`; fewer rows when `track` stops early
    (a cancelled job), so callers check the length before caching."""
    starts = range(0, len(images), chunk)
    parts = [predict(np.asarray(images[i : i + chunk])) for i in track(starts, len(starts), "predicting")]
    return np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, 0), np.float32)


def save_cache(dataset: FerDataset, checkpoint: Path, probabilities: np.ndarray) -> Path:
    if len(probabilities) != len(dataset):
        raise ValueError(f"{len(probabilities)} rows of probabilities for {len(dataset)} images")
    cache = predictions_cache_path(dataset, checkpoint)
    return write_atomically(cache, lambda handle: np.save(handle, probabilities), binary=True)


def dataset_probabilities(
    dataset: FerDataset, checkpoint: Path, backend: str | None = None, track: ProgressCallback = no_progress
) -> np.ndarray:
    """The model's class probabilities for every image (N, C), as `evaluate` scores them, computed in this process
    once and cached on disk (the studio starts `prediction_job` instead, so no page waits)."""
    cached = load_cached(dataset, checkpoint)
    if cached is not None:
        return cached
    with tempfile.TemporaryDirectory() as workdir:
        predict, _ = chosen_predictor(checkpoint, backend, Path(workdir), dataset)
        probabilities = compute_probabilities(dataset.images, predict, track)
    save_cache(dataset, checkpoint, probabilities)
    return probabilities
