"""The predictions job (core/jobs/prediction_job.py) and its backends (core/inference/dataset_predictions.py)."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest
import torch

from core.data.preprocessing import Preprocessing
from core.data.store import load_sample
from core.inference.dataset_predictions import chosen_predictor, compute_probabilities, faces_predictor, load_cached
from core.job_status import STATUS, update_status
from core.jobs import prediction_job
from core.models.checkpoint import load_checkpoint, model_from_checkpoint
from core.models.probabilities import predict_probabilities


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


def evaluate_probabilities(checkpoint, faces: np.ndarray) -> np.ndarray:
    """What `evaluate` scores: predict_probabilities with the checkpoint's spec (TTA, temperature)."""
    payload = load_checkpoint(checkpoint)
    with torch.inference_mode():
        return predict_probabilities(
            model_from_checkpoint(payload),
            torch.from_numpy(np.array(faces)[:, None]),
            Preprocessing.from_payload(payload),
        ).numpy()


def wait_for(condition, timeout: float = 300) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, "timed out"
        time.sleep(0.2)


@pytest.mark.parametrize("backend, tolerance", [("fp32", 1e-6), ("onnx", 1e-4), ("bf16", 5e-2)])
def test_backends_compute_what_evaluate_scores(tmp_path, tiny_checkpoint, backend, tolerance):
    faces = np.asarray(load_sample().images[:96])
    expected = evaluate_probabilities(tiny_checkpoint, faces)
    got = compute_probabilities(faces, faces_predictor(tiny_checkpoint, backend, tmp_path), chunk=40)
    assert got.shape == expected.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=tolerance)


def test_the_int8_backend_is_quantized_on_the_data_set_and_keeps_most_top_classes(tmp_path, tiny_checkpoint):
    sample = load_sample()
    faces = np.asarray(sample.images[:96])
    expected = evaluate_probabilities(tiny_checkpoint, faces)
    got = compute_probabilities(faces, faces_predictor(tiny_checkpoint, "int8", tmp_path, sample), chunk=40)
    assert (tmp_path / "model_int8.onnx").is_file() and got.shape == expected.shape
    np.testing.assert_allclose(got.sum(axis=1), 1, atol=1e-5)
    assert (got.argmax(1) == expected.argmax(1)).mean() >= 0.9  # int8 rounding may flip a few close calls
    with pytest.raises(ValueError, match="Training faces"):
        faces_predictor(tiny_checkpoint, "int8", tmp_path)


def test_a_model_that_cannot_be_quantized_falls_back_unless_int8_was_asked_for(tmp_path, tiny_checkpoint, monkeypatch):
    def cannot_quantize(*args, **kwargs):
        raise RuntimeError("no int8 kernel for this operator")

    monkeypatch.setattr("core.export.quantize.quantize_classifier", cannot_quantize)
    monkeypatch.setattr("core.inference.dataset_predictions.default_backend", lambda: "int8")
    sample = load_sample()
    predict, backend = chosen_predictor(tiny_checkpoint, None, tmp_path, sample)
    assert backend in ("bf16", "onnx") and predict(np.asarray(sample.images[:4])).shape == (4, 7)
    with pytest.raises(RuntimeError, match="no int8 kernel"):
        chosen_predictor(tiny_checkpoint, "int8", tmp_path, sample)


def test_an_unknown_backend_is_refused(tmp_path, tiny_checkpoint):
    with pytest.raises(ValueError, match="backend must be one of"):
        faces_predictor(tiny_checkpoint, "fp8", tmp_path)


@pytest.mark.slow
def test_job_runs_in_its_own_process_and_caches(data_dir, tiny_checkpoint):
    sample = load_sample()
    first = prediction_job.start(sample, tiny_checkpoint, backend="fp32")
    assert first["state"] == "queued" and first["pid"]
    again = prediction_job.start(sample, tiny_checkpoint, backend="fp32")  # a second click: the same process
    assert again["pid"] == first["pid"]
    wait_for(lambda: prediction_job.job_status(sample, tiny_checkpoint)["state"] not in ("queued", "running"))
    status = prediction_job.job_status(sample, tiny_checkpoint)
    assert status["state"] == "finished", status
    assert status["progress"] == 1.0
    cached = load_cached(sample, tiny_checkpoint)
    np.testing.assert_allclose(cached, evaluate_probabilities(tiny_checkpoint, np.asarray(sample.images)), atol=1e-6)
    assert prediction_job.start(sample, tiny_checkpoint)["state"] == "finished"  # cached: nothing starts


def test_a_cancelled_job_stops_and_caches_nothing(data_dir, tiny_checkpoint):
    sample = load_sample()
    folder = prepared_job(sample, tiny_checkpoint)
    update_status(folder, stop_requested=time.time())  # asked on disk before the worker could be signalled
    assert prediction_job.run(folder, threading.Event()) == "stopped"
    assert json.loads((folder / STATUS).read_text())["reason"] == "cancelled"
    assert load_cached(sample, tiny_checkpoint) is None


def test_a_job_reports_progress_and_eta_after_each_chunk(data_dir, tiny_checkpoint, monkeypatch):
    sample = load_sample()
    folder = prepared_job(sample, tiny_checkpoint)
    seen = []
    original = prediction_job.update_status

    def spy(path, **changes):
        seen.append(changes)
        return original(path, **changes)

    monkeypatch.setattr(prediction_job, "update_status", spy)
    monkeypatch.setattr(
        prediction_job,
        "compute_probabilities",
        lambda images, predict, track: compute_probabilities(images, predict, track, chunk=100),
    )
    assert prediction_job.run(folder, threading.Event()) == "finished"
    fractions = [c["progress"] for c in seen if "progress" in c]
    assert fractions == sorted(fractions) and len(fractions) >= 4 and fractions[-1] == 1.0
    assert all(c["eta_seconds"] >= 0 for c in seen if "eta_seconds" in c and c["eta_seconds"] is not None)
    assert load_cached(sample, tiny_checkpoint).shape == (len(sample), 7)


def test_a_job_whose_process_died_is_reported_failed(data_dir, tiny_checkpoint):
    sample = load_sample()
    folder = prepared_job(sample, tiny_checkpoint)
    update_status(folder, state="running", pid=2**22 + 7, pid_start="1")  # no such process
    status = prediction_job.job_status(sample, tiny_checkpoint)
    assert status["state"] == "failed" and "ended without reporting" in status["reason"]


def test_a_job_for_a_replaced_data_set_fails_with_the_reason(data_dir, tiny_checkpoint):
    sample = load_sample()
    folder = prepared_job(sample, tiny_checkpoint)
    job = json.loads((folder / prediction_job.JOB).read_text())
    (folder / prediction_job.JOB).write_text(json.dumps({**job, "dataset_dir": str(data_dir / "gone")}))
    assert prediction_job.run(folder, threading.Event()) == "failed"
    assert "is gone" in prediction_job.job_status(sample, tiny_checkpoint)["reason"]


def prepared_job(sample, checkpoint):
    """A job folder as `start` writes it, without starting the process (the test runs `run` itself)."""
    folder = prediction_job.job_dir(sample, checkpoint)
    folder.mkdir(parents=True)
    (folder / prediction_job.JOB).write_text(
        json.dumps(
            {
                "checkpoint": str(checkpoint),
                "backend": "fp32",
                "dataset_dir": None,
                "images": len(sample),
                "cache": str(prediction_job.predictions_cache_path(sample, checkpoint)),
            }
        )
    )
    (folder / STATUS).write_text(json.dumps({"state": "queued", "created": time.time()}))
    return folder
