"""The background runner: start, stop, kill -9, resume and the queue, with a tiny model on tiny data."""
from __future__ import annotations

import os
import signal
import time

import pytest

from core.checkpoint import load_checkpoint
from core.config import TrainConfig
from core.paths import SAMPLE_DIR
from core.runner import kill, list_runs, resume, start_run, status, stop

pytestmark = pytest.mark.slow


def tiny_config(epochs: int, steps: int = 2) -> TrainConfig:
    return TrainConfig(model="fernet", model_options={"width": 0.25}, classes="fer3", epochs=epochs, batch_size=8,
                       max_steps_per_epoch=steps, print_freq=1, data_path=str(SAMPLE_DIR), device="cpu")


def wait_for(run_id: str, root, condition, timeout: float = 120) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        current = status(run_id, root)
        if condition(current):
            return current
        time.sleep(0.2)
    raise AssertionError(f"timed out; last status {current}")


def finished(s: dict) -> bool:
    return s["state"] not in ("queued", "running")


def test_start_runs_to_the_end_with_everything_on_disk(tmp_path):
    run_id = start_run(tiny_config(epochs=2), root=tmp_path)
    final = wait_for(run_id, tmp_path, finished)
    assert final["state"] == "finished", (tmp_path / run_id / "log.txt").read_text()
    run = tmp_path / run_id
    for name in ("config.json", "metrics.jsonl", "log.txt", "status.json", "best.pt", "last.pt", "best_report.json"):
        assert (run / name).is_file(), name
    assert final["progress"] == 1.0 and final["pid"] > 0
    assert [r["id"] for r in list_runs(tmp_path)] == [run_id]


def test_stop_is_graceful_and_resume_finishes(tmp_path):
    run_id = start_run(tiny_config(epochs=200), root=tmp_path)
    wait_for(run_id, tmp_path, lambda s: s.get("epoch", 0) >= 2)
    stop(run_id, tmp_path)
    stopped = wait_for(run_id, tmp_path, finished)
    assert stopped["state"] == "stopped"
    assert load_checkpoint(tmp_path / run_id / "last.pt")["epoch"] >= 2


def test_kill_9_shows_failed_with_a_reason_then_resumes(tmp_path):
    run_id = start_run(tiny_config(epochs=6, steps=3), root=tmp_path)
    running = wait_for(run_id, tmp_path, lambda s: s.get("epoch", 0) >= 2)
    os.kill(running["pid"], signal.SIGKILL)
    failed = wait_for(run_id, tmp_path, finished)
    assert failed["state"] == "failed" and "without reporting" in failed["reason"]
    assert load_checkpoint(tmp_path / run_id / "last.pt")["epoch"] >= 1
    resume(run_id, tmp_path)
    done = wait_for(run_id, tmp_path, finished)
    assert done["state"] == "finished", (tmp_path / run_id / "log.txt").read_text()
    assert load_checkpoint(tmp_path / run_id / "last.pt")["epoch"] == 6


def test_three_runs_queue_one_at_a_time(tmp_path):
    ids = [start_run(tiny_config(epochs=3), run_id=f"run{i}", root=tmp_path) for i in range(3)]
    seen_running = set()
    deadline = time.time() + 240
    while time.time() < deadline:
        states = [status(i, tmp_path)["state"] for i in ids]
        assert states.count("running") <= 1, states
        seen_running.update(i for i, s in zip(ids, states) if s == "running")
        if all(s == "finished" for s in states):
            break
        time.sleep(0.1)
    assert [status(i, tmp_path)["state"] for i in ids] == ["finished"] * 3
    starts = [status(i, tmp_path)["started"] for i in ids]
    assert starts == sorted(starts)  # first come, first served


def test_kill_and_bad_ids(tmp_path):
    run_id = start_run(tiny_config(epochs=200), root=tmp_path)
    wait_for(run_id, tmp_path, lambda s: s["state"] == "running")
    kill(run_id, tmp_path)
    assert status(run_id, tmp_path)["reason"] == "killed by the user"
    with pytest.raises(ValueError, match="no run"):
        status("../../etc", tmp_path)
