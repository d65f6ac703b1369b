"""The background runner: start, stop mid-epoch, kill -9 mid-epoch + resume, the queue, with a tiny model on tiny data.

Mid-epoch moments are made exact by single-stepping the worker (SIGCONT, SIGSTOP) and reading its status while it
cannot move; status.json's lock, launch window and concurrent writers are checked directly.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from core import job_status
from core.files import write_json
from core.job_status import ACTIVE, read_status, update_status
from core.jobs.runner import kill, list_runs, refresh_status, resume, start_run, stop
from core.models.checkpoint import load_checkpoint
from core.paths import SAMPLE_DIR
from core.training.config import TrainConfig


def tiny_config(epochs: int, steps: int = 2, device: str = "cpu") -> TrainConfig:
    return TrainConfig(
        model="fernet",
        model_options={"width": 0.25},
        classes="fer3",
        epochs=epochs,
        batch_size=8,
        max_steps_per_epoch=steps,
        print_freq=1,
        data_path=str(SAMPLE_DIR),
        device=device,
    )


def wait_for(run_id: str, root, condition, timeout: float = 120, every: float = 0.2) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        current = refresh_status(run_id, root)
        if condition(current):
            return current
        time.sleep(every)
    raise AssertionError(f"timed out; last status {current}")


def finished(s: dict) -> bool:
    return s["state"] not in ACTIVE


def holds_status_lock(run: Path) -> bool:
    """Whether some process holds the run's status lock (a worker frozen inside an update would)."""
    with open(run / ".status.lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return False
        except BlockingIOError:
            return True


def freeze_at(run_id: str, root, epoch: int, last_step: bool = False) -> dict:
    """Single-step the worker (SIGCONT, a moment, SIGSTOP) until it is frozen strictly inside `epoch` (some steps
    done, some left) or inside its last step; return the status read while frozen.

    Status says step k is done; frozen, the worker is at most inside step k + 1. So k in 1..steps - 2 is mid-epoch,
    and k = steps - 1 is the last step (a stop lands on it whether or not that step has finished). Steps take
    milliseconds, so near `epoch` it moves 1 ms at a time, never jumping over the moment.
    """

    def inside(s: dict) -> bool:
        if s["state"] != "running" or s.get("epoch") != epoch or "steps" not in s:
            return False
        return s.get("step") == s["steps"] - 1 if last_step else 1 <= s.get("step", 0) <= s["steps"] - 2

    pid = refresh_status(run_id, root)["pid"]
    deadline = time.time() + 120
    while time.time() < deadline:
        os.kill(pid, signal.SIGSTOP)
        frozen = refresh_status(run_id, root)
        if inside(frozen) and not holds_status_lock(Path(root) / run_id):
            return frozen
        assert frozen["state"] in ACTIVE and frozen.get("epoch", 0) <= epoch, f"went past epoch {epoch}: {frozen}"
        near = frozen["state"] == "running" and frozen.get("epoch", 1) in (epoch - 1, epoch)
        os.kill(pid, signal.SIGCONT)
        time.sleep(0.001 if near else 0.02)
    raise AssertionError(f"never caught the worker in epoch {epoch}")


def records(root, run_id: str) -> list[dict]:
    return [json.loads(line) for line in (Path(root) / run_id / "metrics.jsonl").read_text().splitlines()]


def assert_one_clean_history(root, run_id: str, epochs: int, steps: int) -> None:
    """metrics.jsonl reads like an uninterrupted run: every epoch once, every step of it once, in order."""
    logged = records(root, run_id)
    assert [r["epoch"] for r in logged if r["kind"] == "epoch"] == list(range(1, epochs + 1))
    assert all(not r["stopped"] and r["train_loss"] > 0 for r in logged if r["kind"] == "epoch")  # none empty
    assert [(r["epoch"], r["step"]) for r in logged if r["kind"] == "step"] == [
        (e, s) for e in range(1, epochs + 1) for s in range(1, steps + 1)
    ]


@pytest.mark.slow
def test_start_runs_to_the_end_with_everything_on_disk(tmp_path):
    run_id = start_run(tiny_config(epochs=2), root=tmp_path)
    final = wait_for(run_id, tmp_path, finished)
    assert final["state"] == "finished", (tmp_path / run_id / "log.txt").read_text()
    run = tmp_path / run_id
    for name in ("config.json", "metrics.jsonl", "log.txt", "status.json", "best.pt", "last.pt", "best_report.json"):
        assert (run / name).is_file(), name
    assert final["progress"] == 1.0 and final["pid"] > 0
    assert [r["id"] for r in list_runs(tmp_path)] == [run_id]


@pytest.mark.slow
def test_stop_mid_epoch_or_on_a_last_step_writes_last_pt_and_resume_finishes(tmp_path):
    run_id = start_run(tiny_config(epochs=4, steps=4), root=tmp_path)
    log = tmp_path / run_id / "log.txt"
    frozen = freeze_at(run_id, tmp_path, epoch=1)
    stop(run_id, tmp_path)  # SIGTERM waits while the worker is frozen, then arrives mid-step
    asked = refresh_status(run_id, tmp_path)
    assert job_status.phase(asked) == job_status.STOPPING and asked["eta_seconds"] is None
    os.kill(frozen["pid"], signal.SIGCONT)
    assert wait_for(run_id, tmp_path, finished)["state"] == "stopped", log.read_text()
    last = load_checkpoint(tmp_path / run_id / "last.pt")
    at = last["training_state"]["next_step"]
    assert last["epoch"] == 1 and last["training_state"]["next_epoch"] == 1
    assert frozen["step"] <= at <= frozen["step"] + 1 < 4  # stopped inside epoch 1
    resume(run_id, tmp_path)
    frozen = freeze_at(run_id, tmp_path, epoch=3, last_step=True)  # 3, not 2: status still says epoch 1 from before
    stop(run_id, tmp_path)
    os.kill(frozen["pid"], signal.SIGCONT)
    assert wait_for(run_id, tmp_path, finished)["state"] == "stopped", log.read_text()
    training = load_checkpoint(tmp_path / run_id / "last.pt")["training_state"]
    # frozen between reporting step 3 and checking for a stop, the stop is taken before step 4 (3, 3); frozen inside
    # step 4, epoch 3 ends whole and the stop is taken after the first step of epoch 4 (4, 1); never an empty epoch
    second = (training["next_epoch"], training["next_step"])
    assert second in ((3, 3), (4, 1))
    resume(run_id, tmp_path)
    assert wait_for(run_id, tmp_path, finished)["state"] == "finished", log.read_text()
    assert f"resuming from last.pt: epoch 1, step {at + 1}" in log.read_text()
    assert f"resuming from last.pt: epoch {second[0]}, step {second[1] + 1}" in log.read_text()
    assert_one_clean_history(tmp_path, run_id, epochs=4, steps=4)


@pytest.mark.slow
def test_stop_right_after_start_is_a_stop_not_a_failure(tmp_path):
    run_id = start_run(tiny_config(epochs=2), root=tmp_path)
    stop(run_id, tmp_path)  # the worker is still starting its interpreter
    stopped = wait_for(run_id, tmp_path, finished)
    assert stopped["state"] == "stopped", stopped
    assert not (tmp_path / run_id / "last.pt").exists()


@pytest.mark.slow
def test_kill_9_mid_epoch_shows_failed_then_resumes_from_last_pt(tmp_path):
    run_id = start_run(tiny_config(epochs=2, steps=4), root=tmp_path)
    frozen = freeze_at(run_id, tmp_path, epoch=2)
    os.kill(frozen["pid"], signal.SIGKILL)
    failed = wait_for(run_id, tmp_path, finished)
    assert failed["state"] == "failed" and "without reporting" in failed["reason"]
    last = load_checkpoint(tmp_path / run_id / "last.pt")
    assert last["epoch"] == 1 and last["training_state"]["next_epoch"] == 2  # the last whole epoch
    killed_steps = [r["step"] for r in records(tmp_path, run_id) if r["kind"] == "step" and r["epoch"] == 2]
    assert killed_steps and max(killed_steps) < 4  # it really died inside epoch 2
    resume(run_id, tmp_path)
    done = wait_for(run_id, tmp_path, finished)
    assert done["state"] == "finished", (tmp_path / run_id / "log.txt").read_text()
    assert "resuming from last.pt: epoch 2, step 1" in (tmp_path / run_id / "log.txt").read_text()
    assert load_checkpoint(tmp_path / run_id / "last.pt")["epoch"] == 2
    assert_one_clean_history(tmp_path, run_id, epochs=2, steps=4)


@pytest.mark.slow
def test_three_runs_at_once_one_runs_two_queue_all_finish_in_order(tmp_path):
    # "auto" is the CPU here, so all three share one device however it is spelled
    ids = [
        start_run(tiny_config(epochs=1, device=d), run_id=f"run{i}", root=tmp_path)
        for i, d in enumerate(("cpu", "auto", "cpu"))
    ]
    observed = set()
    deadline = time.time() + 240
    while time.time() < deadline:
        states = tuple(refresh_status(i, tmp_path)["state"] for i in ids)
        assert states.count("running") <= 1, states
        observed.add(states)
        if not set(states) & set(ACTIVE):
            break
        time.sleep(0.05)
    assert ("running", "queued", "queued") in observed, observed
    final = [refresh_status(i, tmp_path) for i in ids]
    assert [s["state"] for s in final] == ["finished"] * 3
    for before, after in zip(final, final[1:]):  # first come, first served, and never two at once
        assert before["finished"] <= after["started"]


@pytest.mark.slow
def test_kill_and_bad_ids(tmp_path):
    run_id = start_run(tiny_config(epochs=200), root=tmp_path)
    wait_for(run_id, tmp_path, lambda s: s["state"] == "running")
    kill(run_id, tmp_path)
    assert refresh_status(run_id, tmp_path)["reason"] == "killed by the user"
    with pytest.raises(ValueError, match="no run"):
        refresh_status("../../etc", tmp_path)


def queued_run(root: Path, **status_values) -> str:
    """A run folder as start_run leaves it before its worker's pid is known."""
    run = root / "run"
    run.mkdir()
    tiny_config(epochs=1).save(run / "config.json")
    write_json(run / "status.json", {"state": "queued", "device": "cpu", **status_values})
    return run.name


def test_a_run_being_launched_is_queued_and_one_whose_launcher_died_is_failed(tmp_path):
    run_id = queued_run(tmp_path, created=time.time())  # no pid yet: the launcher is between mkdir and Popen
    assert refresh_status(run_id, tmp_path)["state"] == "queued"
    update_status(tmp_path / run_id, created=time.time() - job_status.LAUNCH_GRACE_S - 1)
    assert refresh_status(run_id, tmp_path)["state"] == "failed"


def test_a_run_finishing_while_it_is_checked_stays_finished(tmp_path, monkeypatch):
    run_id = queued_run(tmp_path, created=time.time(), pid=2**22 + 1, pid_start="1")  # no such process

    def worker_reports_then_exits(current: dict) -> bool:
        update_status(tmp_path / run_id, state="finished")  # its last words land between the read and the check
        return False

    monkeypatch.setattr(job_status, "is_alive", worker_reports_then_exits)
    assert refresh_status(run_id, tmp_path)["state"] == "finished"


def test_status_updates_from_many_writers_at_once_lose_nothing(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    write_json(run / "status.json", {"state": "running"})

    def writer(n: int) -> None:
        for i in range(100):
            update_status(run, **{f"w{n}": i})

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {k: v for k, v in read_status(run).items() if k.startswith("w")} == {f"w{n}": 99 for n in range(6)}


def test_a_frozen_lock_holder_does_not_hang_status_updates(tmp_path, monkeypatch):
    monkeypatch.setattr(job_status, "LOCK_WAIT_S", 0.3)
    run = tmp_path / "run"
    run.mkdir()
    with open(run / ".status.lock", "a") as held:  # another open file: as a frozen worker holding the lock
        fcntl.flock(held, fcntl.LOCK_EX)
        started = time.monotonic()
        update_status(run, state="stopped")
        assert 0.3 <= time.monotonic() - started < 3
    assert read_status(run)["state"] == "stopped"


def test_the_worker_reports_its_phases_training_evaluating_finished(tmp_path, monkeypatch):
    """The worker in this process, every status update it makes recorded: the phases come in order, the ETA goes."""
    from core.jobs import worker
    from core.run_folder import RunFolder

    run = tmp_path / "phases"
    RunFolder(run).save_config(tiny_config(epochs=1))
    write_json(run / "status.json", {"state": "queued", "phase": job_status.QUEUED, "created": time.time()})
    phases = []

    def recording(path, **changes):
        phases.extend([changes["phase"]] if "phase" in changes else [])
        return update_status(path, **changes)

    monkeypatch.setattr(worker, "update_status", recording)
    assert worker.main([str(run)]) == 0
    assert phases == [job_status.TRAINING, job_status.EVALUATING, "finished"]
    final = read_status(run)
    assert final["phase"] == "finished" and final["eta_seconds"] is None and job_status.phase(final) == "finished"


def test_phase_of_a_status(tmp_path):
    assert job_status.phase({"state": "running", "phase": job_status.TRAINING}) == job_status.TRAINING
    assert (
        job_status.phase({"state": "running", "phase": job_status.TRAINING, "stop_requested": 1.0})
        == job_status.STOPPING
    )
    assert job_status.phase({"state": "queued"}) == "queued"
    assert job_status.phase({"state": "failed", "phase": job_status.EVALUATING}) == "failed"
