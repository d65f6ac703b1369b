"""The training ETA counts the evaluation after training, estimated from an epoch's PublicTest evaluation."""

from __future__ import annotations

import threading

from core.job_status import read_status
from core.jobs.worker import final_evaluation_seconds, progress_reporter
from core.training.config import TrainConfig


def test_the_final_evaluation_scales_an_epochs_evaluation_by_images_and_views():
    record = {"eval_seconds_per_image": 0.001, "images": 35887}
    assert final_evaluation_seconds(record, TrainConfig(tta="none")) == 35.887
    assert final_evaluation_seconds(record, TrainConfig(tta="flip")) == 2 * 35.887
    assert final_evaluation_seconds({"images": 10}, TrainConfig()) == 0.0  # no PublicTest: nothing measured


def test_the_eta_adds_the_final_evaluation(tmp_path, monkeypatch):
    now = {"t": 100.0}
    monkeypatch.setattr("core.job_status.time.time", lambda: now["t"])
    final = {"seconds": 120.0}
    report = progress_reporter(tmp_path, TrainConfig(epochs=2), threading.Event(), final)
    (tmp_path / "status.json").write_text("{}")
    report({"epoch": 1, "step": 1, "steps": 10, "loss": 1.0})
    now["t"] = 110.0
    report({"epoch": 1, "step": 2, "steps": 10, "loss": 1.0})
    assert read_status(tmp_path)["eta_seconds"] == 10 * 18 + 120  # 10 s a step, 18 steps left, then evaluation
